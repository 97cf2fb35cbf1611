//! Sample data for the local run and `make emulators`: a "CRM Sync" label and a few realistic
//! contacts, some in the label and one outside it.

use super::state::GoogleState;
use serde_json::{json, Value};

/// The label the sample contacts are in.
pub const SAMPLE_GROUP_NAME: &str = "CRM Sync";

/// A contact in the shape the People API accepts.
pub fn sample_person(
    given: &str,
    family: &str,
    email: &str,
    phone: &str,
    company: &str,
    title: &str,
) -> Value {
    json!({
        "names": [{ "givenName": given, "familyName": family }],
        "emailAddresses": [{ "value": email, "type": "work" }],
        "phoneNumbers": [{ "value": phone, "type": "mobile" }],
        "organizations": [{ "name": company, "title": title, "type": "work" }],
    })
}

/// Seeds `account` with the sample label and contacts; returns the label's resource name.
pub fn seed_sample(state: &GoogleState, account: &str) -> String {
    let group = state.create_group(account, SAMPLE_GROUP_NAME);
    let mut ada = sample_person(
        "Ada",
        "Lovelace",
        "ada@analytical.example",
        "+44 20 7946 0001",
        "Analytical Engines Ltd",
        "Founder",
    );
    ada["addresses"] = json!([{ "streetAddress": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "United Kingdom", "countryCode": "GB", "type": "work" }]);
    ada["biographies"] =
        json!([{ "value": "Met at the 1843 notes review.", "contentType": "TEXT_PLAIN" }]);
    ada["birthdays"] = json!([{ "date": { "year": 1815, "month": 12, "day": 10 } }]);
    let in_label = vec![
        ada,
        sample_person(
            "Grace",
            "Hopper",
            "grace@cobol.example",
            "+1 202 555 0142",
            "Navy Computing Lab",
            "Rear Admiral",
        ),
        sample_person(
            "Alan",
            "Turing",
            "alan@bletchley.example",
            "+44 1908 640404",
            "Bletchley Park",
            "Cryptanalyst",
        ),
    ];
    let people = state.seed_people(account, in_label);
    state.add_to_group(account, &group, &people);
    state.seed_people(
        account,
        vec![sample_person(
            "Katherine",
            "Johnson",
            "katherine@langley.example",
            "+1 757 555 0199",
            "NASA Langley",
            "Mathematician",
        )],
    );
    group
}
