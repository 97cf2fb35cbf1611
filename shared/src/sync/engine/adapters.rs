//! The ports over the real clients ([`GoogleClient`], [`ZohoClient`]). Errors keep only what the
//! clients' `Display` says (codes, endpoints; never contact data) and whether a retry helps.

use super::ports::*;
use crate::google::{self, GoogleClient, GoogleError, SYNC_PERSON_FIELDS};
use crate::store::Provider;
use crate::zoho::{ListQuery, PageCursor, RecordError as ZohoRecordError, ZohoClient, ZohoError};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

fn google_error(e: GoogleError) -> PortError {
    if matches!(e, GoogleError::SyncTokenExpired) {
        return PortError::SyncTokenExpired;
    }
    if e.needs_reconnect() {
        return PortError::ReconnectNeeded { provider: Provider::Google, detail: e.to_string() };
    }
    PortError::Failed { provider: Provider::Google, retryable: e.is_retryable(), detail: e.to_string() }
}

fn zoho_error(e: ZohoError) -> PortError {
    if e.needs_reconnect() {
        return PortError::ReconnectNeeded { provider: Provider::Zoho, detail: e.to_string() };
    }
    PortError::Failed { provider: Provider::Zoho, retryable: e.is_retryable(), detail: e.to_string() }
}

fn zoho_record_failure(e: &ZohoRecordError) -> RecordFailure {
    let code = match e {
        ZohoRecordError::DuplicateData { .. } => "DUPLICATE_DATA".to_string(),
        ZohoRecordError::InvalidData { .. } => "INVALID_DATA".to_string(),
        ZohoRecordError::MandatoryNotFound { .. } => "MANDATORY_NOT_FOUND".to_string(),
        ZohoRecordError::NoPermission => "NO_PERMISSION".to_string(),
        ZohoRecordError::Other { code } => code.clone(),
    };
    RecordFailure { code }
}

#[async_trait]
impl GooglePort for GoogleClient {
    async fn list_connections(&self, sync_token: Option<&str>, page_token: Option<&str>) -> Result<GooglePage, PortError> {
        let page = self.list_connections_page(SYNC_PERSON_FIELDS, sync_token, page_token).await.map_err(google_error)?;
        Ok(GooglePage {
            people: page.connections.into_iter().map(|p| p.into_json()).collect(),
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            next_sync_token: page.next_sync_token,
        })
    }

    async fn get_people(&self, resource_names: &[String]) -> Result<BTreeMap<String, PersonRead>, PortError> {
        let answers = self.batch_get_people(resource_names, SYNC_PERSON_FIELDS).await.map_err(google_error)?;
        Ok(answers
            .into_iter()
            .map(|(rn, read)| {
                let read = match read {
                    google::PersonRead::Found(person) => PersonRead::Found(person.into_json()),
                    google::PersonRead::NotFound => PersonRead::NotFound,
                    google::PersonRead::Failed(f) => PersonRead::Failed(RecordFailure::new(f.status)),
                };
                (rn, read)
            })
            .collect())
    }

    async fn create_contacts(&self, people: &[Value]) -> Result<Vec<RecordResult<Value>>, PortError> {
        let results = self.batch_create_contacts(people, SYNC_PERSON_FIELDS).await.map_err(google_error)?;
        Ok(results.into_iter().map(|r| r.map(|p| p.into_json()).map_err(|f| RecordFailure::new(f.status))).collect())
    }

    async fn update_contacts(&self, people: &BTreeMap<String, Value>, update_mask: &str) -> Result<BTreeMap<String, RecordResult<Value>>, PortError> {
        let results = self.batch_update_contacts(people, update_mask, SYNC_PERSON_FIELDS).await.map_err(google_error)?;
        Ok(results.into_iter().map(|(rn, r)| (rn, r.map(|p| p.into_json()).map_err(|f| RecordFailure::new(f.status)))).collect())
    }

    async fn delete_contacts(&self, resource_names: &[String]) -> Result<(), PortError> {
        self.batch_delete_contacts(resource_names).await.map_err(google_error)
    }
}

#[async_trait]
impl ZohoPort for ZohoClient {
    async fn list_contacts(&self, query: &ZohoQuery, fields: &[String], cursor: Option<&PageCursor>) -> Result<ZohoPage, PortError> {
        let mut list = ListQuery::new(fields);
        list.cvid = query.cvid.clone();
        list.modified_since = query.modified_since;
        let page = ZohoClient::list_contacts(self, &list, cursor).await.map_err(zoho_error)?;
        Ok(ZohoPage { records: page.records, next: page.next, server_time: page.server_time })
    }

    async fn list_deleted(&self, since: Option<OffsetDateTime>, page: u32) -> Result<ZohoDeletedPage, PortError> {
        let answer = ZohoClient::list_deleted(self, since, page).await.map_err(zoho_error)?;
        let records = answer.records.into_iter().map(|r| ZohoTombstone { deleted_at: r.deleted_at(), id: r.id }).collect();
        Ok(ZohoDeletedPage { records, next_page: answer.next_page, server_time: answer.server_time })
    }

    async fn upsert_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let results = ZohoClient::upsert_contacts(self, records).await.into_result().map_err(zoho_error)?;
        Ok(written(results))
    }

    async fn update_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let results = ZohoClient::update_contacts(self, records).await.into_result().map_err(zoho_error)?;
        Ok(written(results))
    }

    async fn delete_contacts(&self, ids: &[String]) -> Result<Vec<RecordResult<()>>, PortError> {
        let results = ZohoClient::delete_contacts(self, ids).await.into_result().map_err(zoho_error)?;
        Ok(results.into_iter().map(|r| r.map(|_| ()).map_err(|e| zoho_record_failure(&e))).collect())
    }
}

fn written(results: Vec<Result<crate::zoho::Written, ZohoRecordError>>) -> Vec<RecordResult<ZohoWritten>> {
    results
        .into_iter()
        .map(|r| r.map(|w| ZohoWritten { id: w.id, modified_time: w.modified_time }).map_err(|e| zoho_record_failure(&e)))
        .collect()
}
