//! The DynamoDB single-table layout, in one place. Tests create tables from it, and
//! `make infra-check` compares `infra/` with it (`cargo run -p shared --example store_schema`
//! prints it as JSON). Item shapes are documented in `docs/store.md`.

use serde::Serialize;

/// Environment variable that names the table in every function.
pub const TABLE_ENV: &str = "STATE_TABLE";

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Sparse index of enabled connections by frequency: `gsi1pk = FREQ#<key>`, `gsi1sk = CONN#<id>`.
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// DynamoDB's TTL attribute (epoch seconds): OAuth states, old runs and pending creates expire
/// by it. Never on the cursor item: the lease lives there, and TTL would delete the cursors.
/// Reads still check it, because TTL deletion can lag by days.
pub const TTL_ATTRIBUTE: &str = "expires_at_s";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeySchema {
    pub hash_key: &'static str,
    pub range_key: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IndexSchema {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
    pub projection: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableSchema {
    pub table_env: &'static str,
    pub key: KeySchema,
    /// Every key attribute is a string.
    pub attribute_type: &'static str,
    pub global_secondary_indexes: Vec<IndexSchema>,
    pub ttl_attribute: &'static str,
    pub billing_mode: &'static str,
}

pub fn table_schema() -> TableSchema {
    TableSchema {
        table_env: TABLE_ENV,
        key: KeySchema { hash_key: PK, range_key: SK },
        attribute_type: "S",
        global_secondary_indexes: vec![IndexSchema {
            name: GSI1,
            hash_key: GSI1_PK,
            range_key: GSI1_SK,
            projection: "ALL",
        }],
        ttl_attribute: TTL_ATTRIBUTE,
        billing_mode: "PAY_PER_REQUEST",
    }
}

// Key prefixes. Every item of a connection shares its partition, so one query reads them.
pub(crate) fn conn_pk(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}
pub(crate) const META_SK: &str = "META";
/// The connection's cursors and its lease (`holder`, `lease_until`), one item.
pub(crate) const CURSOR_SK: &str = "CURSOR";
pub(crate) const LINK_PREFIX: &str = "LINK#Z#";
pub(crate) fn link_sk(zoho_id: &str) -> String {
    format!("{LINK_PREFIX}{zoho_id}")
}
/// Pointer item: resourceName → Zoho id (unique per connection).
pub(crate) fn link_google_sk(resource_name: &str) -> String {
    format!("LINKG#{resource_name}")
}
/// Pointer item: email → Zoho id (several links may share an email). The `#` after the email
/// keeps `a@x.com` from matching `a@x.com.au`.
pub(crate) fn link_email_prefix(email: &str) -> String {
    format!("LINKE#{email}#")
}
pub(crate) fn link_email_sk(email: &str, zoho_id: &str) -> String {
    format!("{}{zoho_id}", link_email_prefix(email))
}
pub(crate) const PENDING_PREFIX: &str = "PENDING#";
/// A create in Zoho not yet linked, by the person's resourceName (one per person).
pub(crate) fn pending_sk(resource_name: &str) -> String {
    format!("{PENDING_PREFIX}{resource_name}")
}
pub(crate) const RUN_PREFIX: &str = "RUN#";
/// Runs sort by start time: zero-padded millis, then the run id.
pub(crate) fn run_sk(started_at: i64, run_id: &str) -> String {
    format!("{RUN_PREFIX}{started_at:015}#{run_id}")
}
pub(crate) fn oauth_pk(state: &str) -> String {
    format!("OAUTH#{state}")
}
pub(crate) const OAUTH_SK: &str = "STATE";
pub(crate) fn freq_gsi_pk(key: &str) -> String {
    format!("FREQ#{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_keys_sort_by_start_time() {
        assert!(run_sk(9_999, "b") < run_sk(10_000, "a"));
    }

    #[test]
    fn email_prefix_does_not_match_a_longer_email() {
        assert!(!link_email_sk("a@x.com.au", "1").starts_with(&link_email_prefix("a@x.com")));
        assert!(link_email_sk("a@x.com", "1").starts_with(&link_email_prefix("a@x.com")));
    }
}
