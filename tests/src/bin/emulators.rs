//! Runs the emulators for the local demo and `make emulators`:
//! Google on `GOOGLE_EMULATOR_PORT` (default 8071), Zoho on `ZOHO_EMULATOR_PORT` (default 8072).
//! `--seed` loads the sample contacts.

use clap::Parser;
use sync_tests::emulators::google::{
    seed_sample, GoogleEmulator, CLIENT_ID, CLIENT_SECRET, DEFAULT_ACCOUNT,
};
use sync_tests::emulators::zoho::{self, ZohoEmulator};

#[derive(Parser)]
#[command(about = "Google and Zoho emulators for local runs")]
struct Args {
    #[arg(long, env = "GOOGLE_EMULATOR_PORT", default_value_t = 8071)]
    google_port: u16,
    #[arg(long, env = "ZOHO_EMULATOR_PORT", default_value_t = 8072)]
    zoho_port: u16,
    /// Load sample contacts and a contact group / list into each emulator.
    #[arg(long)]
    seed: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();

    let google = GoogleEmulator::start(args.google_port).await?;
    if args.seed {
        seed_sample(&google.state, DEFAULT_ACCOUNT);
    }
    println!(
        "google emulator: {} (client {CLIENT_ID} / {CLIENT_SECRET}, account {DEFAULT_ACCOUNT})",
        google.base_url
    );

    // ---- Zoho emulator: start it here on args.zoho_port (ZOHO_EMULATOR_PORT) ----
    let zoho = ZohoEmulator::start(args.zoho_port).await?;
    let zoho_account = if args.seed {
        zoho.seed_sample()?.admin
    } else {
        // Without a user nobody could approve the consent screen.
        let admin = "admin@zoho.emulator.test";
        zoho.add_user(zoho::NewUser::new(admin));
        admin.to_string()
    };
    println!(
        "zoho emulator: {} (client {} / {}, account {zoho_account}; tokens: POST {}/__emulator/zoho/users/{zoho_account}/tokens)",
        zoho.base_url,
        zoho::DEFAULT_CLIENT_ID,
        zoho::DEFAULT_CLIENT_SECRET,
        zoho.base_url
    );
    // ---- end Zoho ----

    tokio::signal::ctrl_c().await?;
    Ok(())
}
