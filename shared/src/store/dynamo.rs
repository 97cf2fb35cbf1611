//! The state store on DynamoDB (single table, see [`super::schema`] and `docs/store.md`).
//!
//! Entities are stored as a JSON `data` attribute next to their keys; the attributes that
//! conditions read (lease holder and expiry, OAuth state expiry) are native attributes.
//! The lease shares the connection's cursor item, so one conditional write takes the lease and
//! reads the cursors, and one transaction ends a run (run record, cursors, lease).
//! Links have two kinds of pointer items (resourceName → Zoho id, email → Zoho id) in the same
//! partition, so every lookup is a strongly consistent read: a link saved before a crash is
//! found after it.

use super::schema::*;
use super::*;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, PutRequest,
    ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB's limits per request.
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
/// How many times unprocessed batch items are sent again before giving up (with backoff).
const UNPROCESSED_ATTEMPTS: u32 = 8;
const RUN_TTL_DAYS: i64 = 90;
/// How many email queries `links_by_emails` keeps in flight at once.
const EMAIL_QUERY_CONCURRENCY: usize = 16;

/// Attributes of the cursor item: the cursors (JSON) and the lease on the connection.
const DATA: &str = "data";
const HOLDER: &str = "holder";
const LEASE_UNTIL: &str = "lease_until";
/// The position of the cursor item's update in `finish_run`'s transaction (after the run's
/// put): DynamoDB reports why it cancelled a transaction item by item, in order.
const FINISH_LEASE_UPDATE: usize = 1;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    /// Builds the client from the environment (region, credentials, `AWS_ENDPOINT_URL`) and the
    /// table from `STATE_TABLE`. Call once per cold start.
    pub async fn from_env() -> Result<Self, StoreError> {
        let table = std::env::var(TABLE_ENV).map_err(|_| StoreError::Unavailable {
            operation: "configure",
            detail: format!("environment variable {TABLE_ENV} is not set"),
        })?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(DynamoStore::new(Client::new(&config), table))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, pk: String, sk: String, op: &'static str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(op, e))?;
        Ok(out.item)
    }

    /// All items of one partition whose sort key starts with `prefix`, following pagination
    /// past DynamoDB's 1 MB page.
    async fn query_prefix(&self, pk: String, prefix: &str, op: &'static str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix.to_string()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(op, e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Writes and deletes in batches of 25, sending unprocessed items again with backoff.
    async fn batch_write(&self, requests: Vec<WriteRequest>, op: &'static str) -> StoreResult<()> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > 0 {
                    if attempt >= UNPROCESSED_ATTEMPTS {
                        return Err(StoreError::Unavailable {
                            operation: op,
                            detail: format!("{} batch items still unprocessed after {attempt} attempts", pending.len()),
                        });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| unavailable(op, e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// Reads keys in batches of 100 (strongly consistent), asking again for unprocessed keys.
    async fn batch_get(&self, keys: Vec<Item>, op: &'static str) -> StoreResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > 0 {
                    if attempt >= UNPROCESSED_ATTEMPTS {
                        return Err(StoreError::Unavailable {
                            operation: op,
                            detail: format!("{} batch keys still unprocessed after {attempt} attempts", pending.len()),
                        });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Malformed { what: "batch get request", detail: e.to_string() })?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| unavailable(op, e))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }
}

/// Creates the table exactly as [`table_schema`] describes it (tests and first-time setup;
/// production tables come from Terraform, which `make infra-check` compares with the same schema).
pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
    let schema = table_schema();
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Malformed { what: "table schema", detail: e.to_string() })
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| StoreError::Malformed { what: "table schema", detail: e.to_string() })
    };
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(schema.key.hash_key)?)
        .attribute_definitions(attr(schema.key.range_key)?)
        .key_schema(key(schema.key.hash_key, KeyType::Hash)?)
        .key_schema(key(schema.key.range_key, KeyType::Range)?);
    for index in &schema.global_secondary_indexes {
        request = request
            .attribute_definitions(attr(index.hash_key)?)
            .attribute_definitions(attr(index.range_key)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.hash_key, KeyType::Hash)?)
                    .key_schema(key(index.range_key, KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(|e| StoreError::Malformed { what: "table schema", detail: e.to_string() })?,
            );
    }
    request.send().await.map_err(|e| unavailable("create table", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(schema.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(|e| StoreError::Malformed { what: "table schema", detail: e.to_string() })?,
        )
        .send()
        .await
        .map_err(|e| unavailable("enable TTL", e))?;
    Ok(())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn backoff(attempt: u32) -> Duration {
    let base = 25u64 << attempt.min(6);
    Duration::from_millis(base + rand::random::<u64>() % base)
}

fn unavailable<E, R>(operation: &'static str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    // The code and message of a service error name the problem without echoing item values.
    let detail = match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            format!("{}: {}", err.code().unwrap_or("unknown"), err.message().unwrap_or(""))
        }
        other => aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string(),
    };
    StoreError::Unavailable { operation, detail }
}

fn is_condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

/// The old item DynamoDB returns with a failed condition (`ReturnValuesOnConditionCheckFailure`).
fn condition_failed_item(e: &SdkError<UpdateItemError, impl std::fmt::Debug>) -> Option<&Item> {
    match e.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
        _ => None,
    }
}

/// Whether a transaction was cancelled because the condition of its item `index` failed.
fn transaction_condition_failed(e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>, index: usize) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
            t.cancellation_reasons().get(index).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
        }
        _ => false,
    }
}

/// The cursors of a cursor item. The item may hold only a lease (taken before any cursors were
/// stored), and then the cursors are the defaults.
fn cursors_of(item: Option<&Item>) -> StoreResult<Cursors> {
    match item {
        Some(item) if item.contains_key(DATA) => data(item, "cursors"),
        _ => Ok(Cursors::default()),
    }
}

fn cursor_key(connection_id: &str) -> Item {
    key(conn_pk(connection_id), CURSOR_SK.into())
}

fn run_item(run: &RunRecord) -> StoreResult<Item> {
    let mut item = key(conn_pk(&run.connection_id), run_sk(run.started_at, &run.run_id));
    item.insert(DATA.into(), s(to_json(run, "run")?));
    item.insert(TTL_ATTRIBUTE.into(), n(run.started_at / 1000 + RUN_TTL_DAYS * 86_400));
    Ok(item)
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn data<T: serde::de::DeserializeOwned>(item: &Item, what: &'static str) -> StoreResult<T> {
    let raw = get_s(item, "data").ok_or(StoreError::Malformed { what, detail: "no data attribute".into() })?;
    serde_json::from_str(raw).map_err(|e| StoreError::Malformed { what, detail: e.to_string() })
}

fn to_json<T: Serialize>(value: &T, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Malformed { what, detail: e.to_string() })
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

fn put(item: Item) -> StoreResult<WriteRequest> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Malformed { what: "batch put", detail: e.to_string() })?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn delete(key: Item) -> StoreResult<WriteRequest> {
    let del = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| StoreError::Malformed { what: "batch delete", detail: e.to_string() })?;
    Ok(WriteRequest::builder().delete_request(del).build())
}

fn link_items(link: &Link) -> StoreResult<Vec<Item>> {
    let pk = conn_pk(&link.connection_id);
    let mut main = key(pk.clone(), link_sk(&link.zoho_id));
    main.insert("data".into(), s(to_json(link, "link")?));
    let mut google = key(pk.clone(), link_google_sk(&link.google_resource_name));
    google.insert("zoho_id".into(), s(link.zoho_id.clone()));
    let mut items = vec![main, google];
    if let Some(email) = &link.email {
        let mut by_email = key(pk, link_email_sk(email, &link.zoho_id));
        by_email.insert("zoho_id".into(), s(link.zoho_id.clone()));
        items.push(by_email);
    }
    Ok(items)
}

/// Pointer keys of `old` that `new` no longer has (a changed resourceName or email).
fn stale_pointer_keys(old: &Link, new: Option<&Link>) -> Vec<Item> {
    let pk = conn_pk(&old.connection_id);
    let mut keys = Vec::new();
    if new.map(|n| &n.google_resource_name) != Some(&old.google_resource_name) {
        keys.push(key(pk.clone(), link_google_sk(&old.google_resource_name)));
    }
    if let Some(email) = &old.email {
        if new.and_then(|n| n.email.as_ref()) != Some(email) {
            keys.push(key(pk, link_email_sk(email, &old.zoho_id)));
        }
    }
    keys
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, c: &Connection) -> StoreResult<()> {
        let mut item = key(conn_pk(&c.id), META_SK.into());
        item.insert("data".into(), s(to_json(c, "connection")?));
        if c.enabled {
            // Sparse index: only enabled connections are listed for the tick.
            item.insert(GSI1_PK.into(), s(freq_gsi_pk(c.frequency.key())));
            item.insert(GSI1_SK.into(), s(conn_pk(&c.id)));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("put connection", e))?;
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>> {
        self.get(conn_pk(id), META_SK.into(), "get connection")
            .await?
            .map(|item| data(&item, "connection"))
            .transpose()
    }

    async fn list_connections_by_frequency(&self, frequency: Frequency) -> StoreResult<Vec<Connection>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", GSI1_PK)
                .expression_attribute_values(":k", s(freq_gsi_pk(frequency.key())))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("list connections", e))?;
            for item in page.items.unwrap_or_default() {
                let c: Connection = data(&item, "connection")?;
                // The index is eventually consistent: re-check what it says.
                if c.enabled && c.frequency == frequency {
                    out.push(c);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn save_links(&self, links: &[Link]) -> StoreResult<()> {
        // The last write for a Zoho id wins; one batch may not touch a key twice.
        let mut latest: BTreeMap<(&str, &str), &Link> = BTreeMap::new();
        for link in links {
            latest.insert((&link.connection_id, &link.zoho_id), link);
        }
        let mut by_connection: BTreeMap<&str, Vec<&Link>> = BTreeMap::new();
        for ((conn, _), link) in latest {
            by_connection.entry(conn).or_default().push(link);
        }
        for (conn, links) in by_connection {
            let ids: Vec<String> = links.iter().map(|l| l.zoho_id.clone()).collect();
            let existing: HashMap<String, Link> = self
                .links_by_zoho_ids(conn, &ids)
                .await?
                .into_iter()
                .map(|l| (l.zoho_id.clone(), l))
                .collect();
            let mut requests = Vec::new();
            for link in links {
                if let Some(old) = existing.get(&link.zoho_id) {
                    for k in stale_pointer_keys(old, Some(link)) {
                        requests.push(delete(k)?);
                    }
                }
                for item in link_items(link)? {
                    requests.push(put(item)?);
                }
            }
            self.batch_write(requests, "save links").await?;
        }
        Ok(())
    }

    async fn delete_links(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<()> {
        let existing = self.links_by_zoho_ids(connection_id, zoho_ids).await?;
        let mut requests = Vec::new();
        for old in &existing {
            requests.push(delete(key(conn_pk(connection_id), link_sk(&old.zoho_id)))?);
            for k in stale_pointer_keys(old, None) {
                requests.push(delete(k)?);
            }
        }
        self.batch_write(requests, "delete links").await
    }

    async fn link_by_zoho_id(&self, connection_id: &str, zoho_id: &str) -> StoreResult<Option<Link>> {
        self.get(conn_pk(connection_id), link_sk(zoho_id), "get link")
            .await?
            .map(|item| data(&item, "link"))
            .transpose()
    }

    async fn links_by_zoho_ids(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<Vec<Link>> {
        let mut unique: Vec<&String> = zoho_ids.iter().collect();
        unique.sort();
        unique.dedup();
        let keys = unique.into_iter().map(|id| key(conn_pk(connection_id), link_sk(id))).collect();
        self.batch_get(keys, "get links")
            .await?
            .iter()
            .map(|item| data(item, "link"))
            .collect()
    }

    async fn link_by_resource_name(&self, connection_id: &str, resource_name: &str) -> StoreResult<Option<Link>> {
        let Some(pointer) = self
            .get(conn_pk(connection_id), link_google_sk(resource_name), "get link by resourceName")
            .await?
        else {
            return Ok(None);
        };
        let Some(zoho_id) = get_s(&pointer, "zoho_id") else {
            return Err(StoreError::Malformed { what: "link pointer", detail: "no zoho_id".into() });
        };
        let link = self.link_by_zoho_id(connection_id, zoho_id).await?;
        Ok(link.filter(|l| l.google_resource_name == resource_name))
    }

    async fn links_by_email(&self, connection_id: &str, email: &str) -> StoreResult<Vec<Link>> {
        let Some(email) = normalize_email(email) else { return Ok(Vec::new()) };
        let pointers = self
            .query_prefix(conn_pk(connection_id), &link_email_prefix(&email), "get links by email")
            .await?;
        let ids: Vec<String> = pointers.iter().filter_map(|p| get_s(p, "zoho_id").map(String::from)).collect();
        let mut links = self.links_by_zoho_ids(connection_id, &ids).await?;
        links.retain(|l| l.email.as_deref() == Some(email.as_str()));
        links.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
        Ok(links)
    }

    async fn links_by_resource_names(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<Vec<Link>> {
        let wanted: BTreeSet<&str> = resource_names.iter().map(String::as_str).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let keys = wanted.iter().map(|rn| key(conn_pk(connection_id), link_google_sk(rn))).collect();
        let pointers = self.batch_get(keys, "get links by resourceNames").await?;
        let ids = pointers
            .iter()
            .map(|p| {
                get_s(p, "zoho_id")
                    .map(String::from)
                    .ok_or(StoreError::Malformed { what: "link pointer", detail: "no zoho_id".into() })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut links = self.links_by_zoho_ids(connection_id, &ids).await?;
        // As in `link_by_resource_name`: a pointer is trusted only if its link agrees.
        links.retain(|l| wanted.contains(l.google_resource_name.as_str()));
        links.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
        Ok(links)
    }

    async fn links_by_emails(&self, connection_id: &str, emails: &[String]) -> StoreResult<Vec<Link>> {
        let wanted: BTreeSet<String> = emails.iter().filter_map(|e| normalize_email(e)).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // One query per email (pointers are keyed by email), a few at a time so that many new
        // emails do not cost one round trip each in sequence.
        let mut ids = Vec::new();
        let pending: Vec<&String> = wanted.iter().collect();
        for chunk in pending.chunks(EMAIL_QUERY_CONCURRENCY) {
            let mut queries = tokio::task::JoinSet::new();
            for email in chunk {
                let store = self.clone();
                let pk = conn_pk(connection_id);
                let prefix = link_email_prefix(email);
                queries.spawn(async move { store.query_prefix(pk, &prefix, "get links by emails").await });
            }
            while let Some(joined) = queries.join_next().await {
                let pointers = joined.map_err(|e| StoreError::Unavailable {
                    operation: "get links by emails",
                    detail: format!("query task failed: {e}"),
                })??;
                ids.extend(pointers.iter().filter_map(|p| get_s(p, "zoho_id").map(String::from)));
            }
        }
        // `links_by_zoho_ids` reads each id once, so a link found by two emails comes back once.
        let mut links = self.links_by_zoho_ids(connection_id, &ids).await?;
        // A pointer left by an email change interrupted mid-save must not find the link.
        links.retain(|l| l.email.as_ref().is_some_and(|e| wanted.contains(e)));
        links.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
        Ok(links)
    }

    async fn all_links(&self, connection_id: &str) -> StoreResult<Vec<Link>> {
        self.query_prefix(conn_pk(connection_id), LINK_PREFIX, "list links")
            .await?
            .iter()
            .map(|item| data(item, "link"))
            .collect()
    }
}

#[async_trait]
impl PendingCreateStore for DynamoStore {
    async fn save_pending_creates(&self, pending: &[PendingCreate]) -> StoreResult<()> {
        // The last marker for a key wins; one batch may not touch a key twice.
        let mut latest: BTreeMap<(&str, &str), &PendingCreate> = BTreeMap::new();
        for p in pending {
            latest.insert((&p.connection_id, &p.google_resource_name), p);
        }
        let mut requests = Vec::with_capacity(latest.len());
        for p in latest.into_values() {
            let mut item = key(conn_pk(&p.connection_id), pending_sk(&p.google_resource_name));
            item.insert("data".into(), s(to_json(p, "pending create")?));
            item.insert(TTL_ATTRIBUTE.into(), n(p.expires_at / 1000 + 1));
            requests.push(put(item)?);
        }
        self.batch_write(requests, "save pending creates").await
    }

    async fn pending_creates(&self, connection_id: &str, now: EpochMillis) -> StoreResult<Vec<PendingCreate>> {
        let items = self.query_prefix(conn_pk(connection_id), PENDING_PREFIX, "list pending creates").await?;
        let mut pending = Vec::with_capacity(items.len());
        for item in &items {
            let p: PendingCreate = data(item, "pending create")?;
            // TTL deletion lags: an expired marker still in the table is not returned.
            if p.expires_at > now {
                pending.push(p);
            }
        }
        pending.sort_by(|a, b| a.google_resource_name.cmp(&b.google_resource_name));
        Ok(pending)
    }

    async fn delete_pending_creates(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<()> {
        let mut unique: Vec<&String> = resource_names.iter().collect();
        unique.sort();
        unique.dedup();
        let requests = unique
            .into_iter()
            .map(|rn| delete(key(conn_pk(connection_id), pending_sk(rn))))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests, "delete pending creates").await
    }
}

#[async_trait]
impl CursorStore for DynamoStore {
    async fn get_cursors(&self, connection_id: &str) -> StoreResult<Cursors> {
        let item = self.get(conn_pk(connection_id), CURSOR_SK.into(), "get cursors").await?;
        cursors_of(item.as_ref())
    }

    async fn put_cursors(&self, connection_id: &str, cursors: &Cursors) -> StoreResult<()> {
        // An update, not a put: the item also holds the lease, which a put would drop.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(cursor_key(connection_id)))
            .update_expression("SET #data = :data")
            .expression_attribute_names("#data", DATA)
            .expression_attribute_values(":data", s(to_json(cursors, "cursors")?))
            .send()
            .await
            .map_err(|e| unavailable("put cursors", e))?;
        Ok(())
    }
}

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn acquire_lease(
        &self,
        connection_id: &str,
        holder: &str,
        expires_at: EpochMillis,
        now: EpochMillis,
    ) -> StoreResult<Result<Lease, LeaseError>> {
        // One conditional update of the cursor item: it takes the lease and, with ALL_NEW,
        // returns the cursors. No TTL attribute here: TTL would delete the cursors too.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(cursor_key(connection_id)))
            .update_expression("SET #holder = :me, #until = :until")
            .condition_expression("attribute_not_exists(#until) OR #until < :now OR #holder = :me")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":until", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Ok(Lease {
                connection_id: connection_id.into(),
                holder: holder.into(),
                expires_at,
                cursors: cursors_of(out.attributes.as_ref())?,
            })),
            Err(e) if is_condition_failed(&e) => {
                let returned = condition_failed_item(&e).and_then(|item| get_n(item, LEASE_UNTIL));
                let until = match returned {
                    Some(until) => until,
                    // DynamoDB returns the old item with the failure; read it only if it did not.
                    None => self
                        .get(conn_pk(connection_id), CURSOR_SK.into(), "get lease")
                        .await?
                        .and_then(|item| get_n(&item, LEASE_UNTIL))
                        // Released in between: it was held as of now.
                        .unwrap_or(now),
                };
                Ok(Err(LeaseError::Held { expires_at: until }))
            }
            Err(e) => Err(unavailable("acquire lease", e)),
        }
    }

    async fn release_lease(&self, connection_id: &str, holder: &str) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(cursor_key(connection_id)))
            .update_expression("REMOVE #holder, #until")
            .condition_expression("#holder = :me")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else holds it now, or nobody does: nothing of ours to release.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable("release lease", e)),
        }
    }

    async fn finish_run(&self, run: &RunRecord, holder: &str, cursors: Option<&Cursors>) -> StoreResult<bool> {
        let malformed = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Malformed {
            what: "finish run request",
            detail: e.to_string(),
        };
        let put_run = Put::builder()
            .table_name(&self.table)
            .set_item(Some(run_item(run)?))
            .build()
            .map_err(malformed)?;
        let mut end_lease = Update::builder()
            .table_name(&self.table)
            .set_key(Some(cursor_key(&run.connection_id)))
            .condition_expression("#holder = :me")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(holder));
        end_lease = match cursors {
            Some(c) => end_lease
                .update_expression("SET #data = :data REMOVE #holder, #until")
                .expression_attribute_names("#data", DATA)
                .expression_attribute_values(":data", s(to_json(c, "cursors")?)),
            None => end_lease.update_expression("REMOVE #holder, #until"),
        };
        // The lease update is item FINISH_LEASE_UPDATE: cancellation reasons come by position.
        let items = vec![
            TransactWriteItem::builder().put(put_run).build(),
            TransactWriteItem::builder().update(end_lease.build().map_err(malformed)?).build(),
        ];
        // The SDK gives the request an idempotency token, so its own retries of a transaction
        // that did go through are not cancelled by the lease it already released.
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if transaction_condition_failed(&e, FINISH_LEASE_UPDATE) => {
                // The lease is no longer ours: the run is still worth keeping, the cursors are not
                // (another run owns the connection's progress now).
                self.put_run(run).await?;
                Ok(false)
            }
            Err(e) => Err(unavailable("finish run", e)),
        }
    }
}

#[async_trait]
impl RunStore for DynamoStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(run_item(run)?))
            .send()
            .await
            .map_err(|e| unavailable("put run", e))?;
        Ok(())
    }

    async fn latest_runs(&self, connection_id: &str, limit: usize) -> StoreResult<Vec<RunRecord>> {
        let mut runs = Vec::new();
        let mut start: Option<Item> = None;
        while runs.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(conn_pk(connection_id)))
                .expression_attribute_values(":prefix", s(RUN_PREFIX))
                .scan_index_forward(false)
                .limit((limit - runs.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("list runs", e))?;
            for item in page.items.unwrap_or_default() {
                runs.push(data(&item, "run")?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        runs.truncate(limit);
        Ok(runs)
    }
}

#[async_trait]
impl OAuthStateStore for DynamoStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        let mut item = key(oauth_pk(&state.state), OAUTH_SK.into());
        item.insert("data".into(), s(to_json(state, "oauth state")?));
        item.insert("expires_at_ms".into(), n(state.expires_at));
        item.insert(TTL_ATTRIBUTE.into(), n(state.expires_at / 1000 + 1));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(StoreError::Conflict("OAuth state already exists".into())),
            Err(e) => Err(unavailable("put OAuth state", e)),
        }
    }

    async fn consume_oauth_state(
        &self,
        state: &str,
        now: EpochMillis,
    ) -> StoreResult<Result<OAuthState, OAuthStateError>> {
        // One conditional delete: of two concurrent callbacks with the same state, one wins.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(oauth_pk(state)))
            .key(SK, s(OAUTH_SK))
            .condition_expression("attribute_exists(#pk) AND expires_at_ms > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(item) => Ok(Ok(data(&item, "oauth state")?)),
                None => Ok(Err(OAuthStateError::UnknownOrUsed)),
            },
            Err(e) if is_condition_failed(&e) => Ok(Err(OAuthStateError::UnknownOrUsed)),
            Err(e) => Err(unavailable("consume OAuth state", e)),
        }
    }
}
