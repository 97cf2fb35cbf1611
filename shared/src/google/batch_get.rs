//! `people:batchGet`: specific people by resourceName, 200 per call. Unlike a listing it is
//! read-your-writes and answers per person, so it is how the sync tells a deleted contact
//! (`NOT_FOUND`) from one a listing merely did not show.

use super::batch::ContactFailure;
use super::client::{Access, GoogleClient};
use super::error::{GoogleError, RpcStatus};
use super::person::Person;
use reqwest::Method;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Google's maximum of resource names per `people:batchGet`.
pub const BATCH_GET_MAX: usize = 200;

/// `google.rpc.Code` for NOT_FOUND.
const NOT_FOUND_CODE: i64 = 5;

/// What Google answered for one requested resourceName.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonRead {
    Found(Person),
    /// The contact does not exist (deleted): `status.code` 5.
    NotFound,
    /// Any other per-person error; says nothing about whether the contact exists.
    Failed(ContactFailure),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetPeopleResponse {
    #[serde(default)]
    responses: Vec<BatchGetEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchGetEntry {
    person: Option<Person>,
    requested_resource_name: Option<String>,
    status: Option<RpcStatus>,
    http_status_code: Option<u16>,
}

impl BatchGetEntry {
    /// The name this entry answers: the one requested (the person's own name may differ when
    /// Google relinked a contact and a profile).
    fn name(&self) -> Option<String> {
        self.requested_resource_name
            .clone()
            .or_else(|| self.person.as_ref()?.resource_name().map(str::to_string))
    }

    fn into_read(self) -> PersonRead {
        let failed_status = self.status.filter(|s| s.code != 0);
        match (failed_status, self.http_status_code, self.person) {
            (Some(s), _, _)
                if s.code == NOT_FOUND_CODE || s.status.as_deref() == Some("NOT_FOUND") =>
            {
                PersonRead::NotFound
            }
            (Some(s), _, _) => PersonRead::Failed(ContactFailure::from_rpc(&s)),
            (None, Some(404), _) => PersonRead::NotFound,
            (None, Some(code), _) if code >= 400 => PersonRead::Failed(ContactFailure {
                code: 2,
                status: format!("HTTP {code}"),
            }),
            (None, _, Some(person)) => PersonRead::Found(person),
            (None, _, None) => PersonRead::Failed(ContactFailure {
                code: 2,
                status: "NO_PERSON_RETURNED".into(),
            }),
        }
    }
}

impl GoogleClient {
    /// Reads the named people in calls of at most [`BATCH_GET_MAX`]; every distinct requested
    /// name gets an answer (`NO_RESULT_RETURNED` when Google's answer left it out).
    pub async fn batch_get_people(
        &self,
        resource_names: &[String],
        person_fields: &str,
    ) -> Result<BTreeMap<String, PersonRead>, GoogleError> {
        let distinct: Vec<&String> = resource_names
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut answers = BTreeMap::new();
        for chunk in distinct.chunks(BATCH_GET_MAX) {
            let mut query: Vec<(&str, String)> = vec![("personFields", person_fields.to_string())];
            query.extend(chunk.iter().map(|rn| ("resourceNames", (*rn).clone())));
            let response: GetPeopleResponse = self
                .call(
                    "people.getBatchGet",
                    Method::GET,
                    "/v1/people:batchGet",
                    &query,
                    None,
                    Access::Read,
                )
                .await?;
            for entry in response.responses {
                if let Some(name) = entry.name() {
                    answers.insert(name, entry.into_read());
                }
            }
            for rn in chunk {
                answers.entry((*rn).clone()).or_insert_with(|| {
                    PersonRead::Failed(ContactFailure {
                        code: 2,
                        status: "NO_RESULT_RETURNED".into(),
                    })
                });
            }
        }
        Ok(answers)
    }
}
