//! Batch writes: create (≤200), update (≤200), delete (≤500). Larger inputs are split; a contact
//! that fails is reported on its own and does not fail the rest (DESIGN rule 9).

use super::client::{Access, GoogleClient};
use super::error::{GoogleError, RpcStatus};
use super::person::Person;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub const BATCH_CREATE_MAX: usize = 200;
pub const BATCH_UPDATE_MAX: usize = 200;
pub const BATCH_DELETE_MAX: usize = 500;

/// Why one contact in a batch was not written. Google's message is left out (it can quote data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("contact not written: {status} (code {code})")]
pub struct ContactFailure {
    /// `google.rpc.Code` number (9 = FAILED_PRECONDITION, 3 = INVALID_ARGUMENT, ...).
    pub code: i64,
    /// The code's name, or the HTTP status text when Google failed the contact's own request.
    pub status: String,
}

impl ContactFailure {
    /// The contact changed since it was read: re-read it and merge, then update again.
    pub fn is_stale_etag(&self) -> bool {
        self.code == 9 || self.status == "FAILED_PRECONDITION"
    }

    pub(super) fn from_rpc(status: &RpcStatus) -> Self {
        ContactFailure {
            code: status.code,
            status: status
                .status
                .clone()
                .unwrap_or_else(|| rpc_code_name(status.code).into()),
        }
    }
}

fn rpc_code_name(code: i64) -> &'static str {
    match code {
        3 => "INVALID_ARGUMENT",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        13 => "INTERNAL",
        _ => "UNKNOWN",
    }
}

/// `PersonResponse`: the person, or a per-contact `status` with a non-zero code.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonResponse {
    person: Option<Person>,
    status: Option<RpcStatus>,
    http_status_code: Option<u16>,
}

impl PersonResponse {
    fn into_result(self) -> Result<Person, ContactFailure> {
        if let Some(status) = self.status.as_ref().filter(|s| s.code != 0) {
            return Err(ContactFailure::from_rpc(status));
        }
        if let Some(code) = self.http_status_code.filter(|c| *c >= 400) {
            return Err(ContactFailure {
                code: 2,
                status: format!("HTTP {code}"),
            });
        }
        self.person.ok_or(ContactFailure {
            code: 2,
            status: "NO_PERSON_RETURNED".into(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateResponse {
    #[serde(default)]
    created_people: Vec<PersonResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateResponse {
    #[serde(default)]
    update_result: BTreeMap<String, PersonResponse>,
}

/// A 400 for a whole batch means some contact in it is invalid, but not which; sending each alone
/// finds it and lets the others through.
fn is_whole_batch_rejection(error: &GoogleError) -> bool {
    matches!(
        error,
        GoogleError::Api {
            http_status: 400,
            ..
        }
    )
}

fn single_failure(error: GoogleError) -> Result<ContactFailure, GoogleError> {
    match error {
        GoogleError::Api {
            http_status: 400,
            status,
            ..
        } => {
            let code = match status.as_str() {
                "FAILED_PRECONDITION" => 9,
                "INVALID_ARGUMENT" => 3,
                _ => 2,
            };
            Ok(ContactFailure { code, status })
        }
        other => Err(other),
    }
}

impl GoogleClient {
    /// Creates contacts; results are in input order. `read_mask` must name at least one field so
    /// the created people (with resource names and etags) come back.
    pub async fn batch_create_contacts(
        &self,
        people: &[serde_json::Value],
        read_mask: &str,
    ) -> Result<Vec<Result<Person, ContactFailure>>, GoogleError> {
        let mut results = Vec::with_capacity(people.len());
        for chunk in people.chunks(BATCH_CREATE_MAX) {
            match self.create_chunk(chunk, read_mask).await {
                Ok(created) => results.extend(created),
                Err(e) if is_whole_batch_rejection(&e) && chunk.len() > 1 => {
                    for person in chunk {
                        match self
                            .create_chunk(std::slice::from_ref(person), read_mask)
                            .await
                        {
                            Ok(created) => results.extend(created),
                            Err(e) => results.push(Err(single_failure(e)?)),
                        }
                    }
                }
                Err(e) if chunk.len() == 1 => results.push(Err(single_failure(e)?)),
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }

    async fn create_chunk(
        &self,
        chunk: &[serde_json::Value],
        read_mask: &str,
    ) -> Result<Vec<Result<Person, ContactFailure>>, GoogleError> {
        let contacts: Vec<_> = chunk
            .iter()
            .map(|p| json!({ "contactPerson": p }))
            .collect();
        let body = json!({ "contacts": contacts, "readMask": read_mask });
        let response: CreateResponse = self
            .call(
                "people.batchCreateContacts",
                Method::POST,
                "/v1/people:batchCreateContacts",
                &[],
                Some(&body),
                Access::Write,
            )
            .await?;
        if response.created_people.len() != chunk.len() {
            return Err(GoogleError::Malformed {
                endpoint: "people.batchCreateContacts",
                detail: format!(
                    "{} results for {} contacts",
                    response.created_people.len(),
                    chunk.len()
                ),
            });
        }
        Ok(response
            .created_people
            .into_iter()
            .map(PersonResponse::into_result)
            .collect())
    }

    /// Updates contacts: `contacts` maps resourceName → person carrying the `etag` it was read
    /// with; the fields in `update_mask` are replaced (or cleared when absent). A stale etag is a
    /// per-contact [`ContactFailure::is_stale_etag`].
    pub async fn batch_update_contacts(
        &self,
        contacts: &BTreeMap<String, serde_json::Value>,
        update_mask: &str,
        read_mask: &str,
    ) -> Result<BTreeMap<String, Result<Person, ContactFailure>>, GoogleError> {
        let entries: Vec<_> = contacts.iter().collect();
        let mut results = BTreeMap::new();
        for chunk in entries.chunks(BATCH_UPDATE_MAX) {
            match self.update_chunk(chunk, update_mask, read_mask).await {
                Ok(updated) => results.extend(updated),
                Err(e) if is_whole_batch_rejection(&e) && chunk.len() > 1 => {
                    for entry in chunk {
                        match self
                            .update_chunk(std::slice::from_ref(entry), update_mask, read_mask)
                            .await
                        {
                            Ok(updated) => results.extend(updated),
                            Err(e) => {
                                results.insert(entry.0.clone(), Err(single_failure(e)?));
                            }
                        }
                    }
                }
                Err(e) if chunk.len() == 1 => {
                    results.insert(chunk[0].0.clone(), Err(single_failure(e)?));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }

    async fn update_chunk(
        &self,
        chunk: &[(&String, &serde_json::Value)],
        update_mask: &str,
        read_mask: &str,
    ) -> Result<BTreeMap<String, Result<Person, ContactFailure>>, GoogleError> {
        let contacts: serde_json::Map<_, _> = chunk
            .iter()
            .map(|(k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        let body =
            json!({ "contacts": contacts, "updateMask": update_mask, "readMask": read_mask });
        let response: UpdateResponse = self
            .call(
                "people.batchUpdateContacts",
                Method::POST,
                "/v1/people:batchUpdateContacts",
                &[],
                Some(&body),
                Access::Write,
            )
            .await?;
        let mut results: BTreeMap<_, _> = response
            .update_result
            .into_iter()
            .map(|(name, r)| (name, r.into_result()))
            .collect();
        for (name, _) in chunk {
            results
                .entry((*name).clone())
                .or_insert(Err(ContactFailure {
                    code: 2,
                    status: "NO_RESULT_RETURNED".into(),
                }));
        }
        Ok(results)
    }

    /// Deletes contacts in calls of at most 500.
    pub async fn batch_delete_contacts(
        &self,
        resource_names: &[String],
    ) -> Result<(), GoogleError> {
        for chunk in resource_names.chunks(BATCH_DELETE_MAX) {
            let body = json!({ "resourceNames": chunk });
            let _: serde_json::Value = self
                .call(
                    "people.batchDeleteContacts",
                    Method::POST,
                    "/v1/people:batchDeleteContacts",
                    &[],
                    Some(&body),
                    Access::Write,
                )
                .await?;
        }
        Ok(())
    }
}
