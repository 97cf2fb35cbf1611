//! Stateful local emulators of the Google People API and the Zoho CRM API (with their OAuth
//! endpoints), shaped after the official specs in `../shared/reference/`.

pub mod common;
pub mod google;
pub mod zoho;
