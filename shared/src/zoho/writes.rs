//! Insert, update, upsert (duplicate check on `Email`) and delete, split into calls of 100.
//! Zoho answers one result per record (HTTP 201/200, 207 when mixed, 400 when all failed):
//! one record's error does not fail the others.

use super::client::{Call, ZohoClient};
use super::error::{api_error, malformed, ApiException, ZohoError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

/// Zoho's cap on records per write call.
pub const BATCH_MAX: usize = 100;

/// Why Zoho refused one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A unique field (Contacts: `Email`) already belongs to another record.
    #[error("Zoho already has a record with this {field} (record {existing_id:?}); retrying will not help")]
    DuplicateData { field: String, existing_id: Option<String> },
    /// A value Zoho does not accept for the field (type, length, format), or an unknown id.
    #[error("Zoho rejected the value of {field}; retrying will not help")]
    InvalidData { field: String },
    /// A required field is missing (Contacts: `Last_Name`; updates: `id`).
    #[error("Zoho requires {field}, which is missing; retrying will not help")]
    MandatoryNotFound { field: String },
    #[error("the user's Zoho profile does not allow this write; retrying will not help")]
    NoPermission,
    /// Any other per-record code (`RECORD_LOCKED`, ...).
    #[error("Zoho refused the record ({code}); {}", if self.is_retryable() { "retrying later may help" } else { "retrying will not help" })]
    Other { code: String },
}

impl RecordError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, RecordError::Other { code } if code == "RECORD_LOCKED" || code == "INTERNAL_ERROR")
    }

    fn from_exception(e: &ApiException) -> Self {
        let field = e.subject().unwrap_or_default();
        match e.code.as_str() {
            "DUPLICATE_DATA" => RecordError::DuplicateData {
                field,
                existing_id: e.details.pointer("/duplicate_record/id").and_then(Value::as_str).map(str::to_string),
            },
            "INVALID_DATA" => RecordError::InvalidData { field: if field.is_empty() && e.details.get("id").is_some() { "id".into() } else { field } },
            "MANDATORY_NOT_FOUND" => RecordError::MandatoryNotFound { field },
            "NO_PERMISSION" => RecordError::NoPermission,
            other => RecordError::Other { code: other.to_string() },
        }
    }
}

/// What upsert did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertAction {
    Inserted,
    Updated,
}

/// A record Zoho wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: String,
    /// The record's new `Modified_Time` (our own write, to recognise when it echoes back).
    pub modified_time: Option<String>,
    /// Set for upserts.
    pub action: Option<UpsertAction>,
}

/// One result per input record, in input order.
pub type WriteResults = Vec<Result<Written, RecordError>>;

/// Results of the calls that went through, and why the rest was not sent.
#[derive(Debug)]
pub struct BatchOutcome<T> {
    /// One entry per record sent, in input order: all of them unless `stopped` is set.
    pub results: Vec<Result<T, RecordError>>,
    /// The call that failed as a whole (deadline, auth, permission...); the records after
    /// `results.len()` were not written by this call (the failed call's own records may or may
    /// not have been, if the connection broke after Zoho acted).
    pub stopped: Option<ZohoError>,
}

impl<T> BatchOutcome<T> {
    /// All results, or the error that stopped the batch.
    pub fn into_result(self) -> Result<Vec<Result<T, RecordError>>, ZohoError> {
        match self.stopped {
            Some(e) => Err(e),
            None => Ok(self.results),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WriteBody {
    data: Vec<Value>,
}

fn read_result(item: &Value) -> Result<Written, RecordError> {
    let exception: ApiException = serde_json::from_value(item.clone()).unwrap_or_default();
    if exception.status != "success" {
        return Err(RecordError::from_exception(&exception));
    }
    let details = item.get("details");
    let text = |k: &str| details.and_then(|d| d.get(k)).and_then(Value::as_str).map(str::to_string);
    let action = match item.get("action").and_then(Value::as_str) {
        Some("insert") => Some(UpsertAction::Inserted),
        Some("update") => Some(UpsertAction::Updated),
        _ => None,
    };
    Ok(Written { id: text("id").unwrap_or_default(), modified_time: text("Modified_Time"), action })
}

#[derive(Clone, Copy)]
enum WriteKind {
    Insert,
    Update,
    Upsert,
}

impl ZohoClient {
    /// Creates records (each needs `Last_Name`). Prefer [`Self::upsert_contacts`] for the
    /// sync's creates: a retried upsert finds the record instead of duplicating it.
    pub async fn insert_contacts(&self, records: &[Value]) -> BatchOutcome<Written> {
        self.write_batches(records, WriteKind::Insert).await
    }

    /// Updates records; each carries its `id`.
    pub async fn update_contacts(&self, records: &[Value]) -> BatchOutcome<Written> {
        self.write_batches(records, WriteKind::Update).await
    }

    /// Inserts or updates by `Email` (`duplicate_check_fields=["Email"]`).
    pub async fn upsert_contacts(&self, records: &[Value]) -> BatchOutcome<Written> {
        self.write_batches(records, WriteKind::Upsert).await
    }

    async fn write_batches(&self, records: &[Value], kind: WriteKind) -> BatchOutcome<Written> {
        let mut results = Vec::with_capacity(records.len());
        for chunk in records.chunks(BATCH_MAX) {
            match self.write_chunk(chunk, kind).await {
                Ok(chunk_results) => results.extend(chunk_results),
                Err(e) => return BatchOutcome { results, stopped: Some(e) },
            }
        }
        BatchOutcome { results, stopped: None }
    }

    async fn write_chunk(&self, chunk: &[Value], kind: WriteKind) -> Result<WriteResults, ZohoError> {
        let (endpoint, method, path, body) = match kind {
            WriteKind::Insert => ("Contacts.insert", Method::POST, "/crm/v8/Contacts", json!({"data": chunk})),
            WriteKind::Update => ("Contacts.update", Method::PUT, "/crm/v8/Contacts", json!({"data": chunk})),
            WriteKind::Upsert => ("Contacts.upsert", Method::POST, "/crm/v8/Contacts/upsert", json!({"data": chunk, "duplicate_check_fields": ["Email"]})),
        };
        let call = Call { endpoint, method, path, query: &[], if_modified_since: None, body: Some(&body) };
        let items = self.per_record_answer(call, chunk.len()).await?;
        Ok(items.iter().map(read_result).collect())
    }

    /// Sends a batch call and returns its `data` array (one element per record), whether the
    /// status is 200/201, 207 or a 400 with per-record errors; a top-level error is an `Err`.
    async fn per_record_answer(&self, call: Call<'_>, expected: usize) -> Result<Vec<Value>, ZohoError> {
        let endpoint = call.endpoint;
        let super::client::Answer { status, body: bytes, .. } = self.send(call).await?;
        let parsed = serde_json::from_slice::<WriteBody>(&bytes);
        match parsed {
            Ok(body) if status.is_success() || status.as_u16() == 400 => {
                if body.data.len() != expected {
                    return Err(ZohoError::Malformed { endpoint, detail: format!("{} results for {} records", body.data.len(), expected) });
                }
                Ok(body.data)
            }
            Err(e) if status.is_success() => Err(malformed(endpoint, &e)),
            _ => Err(api_error(endpoint, status.as_u16(), &bytes)),
        }
    }

    /// Deletes records by id (to Zoho's recycle bin). Results are the deleted ids.
    pub async fn delete_contacts(&self, ids: &[String]) -> BatchOutcome<String> {
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_MAX) {
            let query = [("ids", chunk.join(","))];
            let call = Call { method: Method::DELETE, ..Call::get("Contacts.delete", "/crm/v8/Contacts", &query) };
            match self.per_record_answer(call, chunk.len()).await {
                Ok(items) => results.extend(items.iter().map(|item| read_result(item).map(|w| w.id))),
                Err(e) => return BatchOutcome { results, stopped: Some(e) },
            }
        }
        BatchOutcome { results, stopped: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_record_codes_become_typed_errors() {
        let dup = json!({"code":"DUPLICATE_DATA","details":{"api_name":"Email","json_path":"$.data[1].Email","duplicate_record":{"id":"57","module":{"api_name":"Contacts"}}},"message":"duplicate data","status":"error"});
        assert_eq!(read_result(&dup), Err(RecordError::DuplicateData { field: "Email".into(), existing_id: Some("57".into()) }));
        let missing = json!({"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"});
        assert_eq!(read_result(&missing), Err(RecordError::MandatoryNotFound { field: "Last_Name".into() }));
        let ok = json!({"code":"SUCCESS","details":{"id":"58","Modified_Time":"2023-05-10T01:10:47-07:00"},"message":"record added","status":"success","action":"insert","duplicate_field":null});
        assert_eq!(read_result(&ok), Ok(Written { id: "58".into(), modified_time: Some("2023-05-10T01:10:47-07:00".into()), action: Some(UpsertAction::Inserted) }));
        let locked = json!({"code":"RECORD_LOCKED","details":{},"message":"locked","status":"error"});
        assert!(read_result(&locked).is_err_and(|e| e.is_retryable()));
    }
}
