//! The AWS side of the tests: SDK clients pointed at `moto_server` (started by
//! `scripts/with-moto.sh`, which sets `AWS_ENDPOINT_URL`), fresh tables made from the store's
//! schema, and a recording proxy in front of moto.
//!
//! The proxy counts DynamoDB requests per operation (for tests and benchmarks) and, on request,
//! answers batch calls the way DynamoDB does under load: it forwards only part of a batch and
//! returns the rest as `UnprocessedItems` / `UnprocessedKeys`, which moto itself never does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use shared::store::dynamo::{create_table, DynamoStore};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// The moto endpoint, or a clear message saying how to run the test.
pub fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run DynamoDB tests through `make test` or `scripts/with-moto.sh cargo test ...`")
    })
}

/// SDK configuration for `endpoint` with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

#[derive(Default)]
pub struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    /// Requests seen, by DynamoDB operation (`Query`, `BatchWriteItem`, ...).
    counts: Mutex<BTreeMap<String, u64>>,
    /// How many more BatchWriteItem / BatchGetItem calls get half their items back unprocessed.
    withhold_writes: AtomicU32,
    withhold_reads: AtomicU32,
    /// Items and keys returned as unprocessed so far.
    withheld_total: AtomicU32,
    /// Capacity units estimated from item sizes, by operation (moto reports fixed units).
    capacity: Mutex<BTreeMap<String, Capacity>>,
}

/// DynamoDB request units of the requests seen, estimated from the item sizes in the request
/// and response bodies with DynamoDB's on-demand rules ([`crate::aws::estimate_capacity`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub read_units: f64,
    pub write_units: f64,
}

impl ProxyState {
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn count(&self, operation: &str) -> u64 {
        self.counts().get(operation).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    pub fn reset_counts(&self) {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.capacity.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Estimated request units by operation since the last reset.
    pub fn capacity(&self) -> BTreeMap<String, Capacity> {
        self.capacity.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The next `n` BatchWriteItem calls process only half their items.
    pub fn withhold_next_writes(&self, n: u32) {
        self.withhold_writes.store(n, Ordering::SeqCst);
    }

    /// The next `n` BatchGetItem calls read only half their keys.
    pub fn withhold_next_reads(&self, n: u32) {
        self.withhold_reads.store(n, Ordering::SeqCst);
    }

    pub fn withheld_total(&self) -> u32 {
        self.withheld_total.load(Ordering::SeqCst)
    }
}

/// A DynamoDB store on its own fresh table, reached through a recording proxy.
pub struct TestTable {
    pub store: DynamoStore,
    pub proxy: Arc<ProxyState>,
    pub table: String,
    /// The proxy's URL: give it as `AWS_ENDPOINT_URL` to a function binary to count its
    /// DynamoDB and Secrets Manager requests too.
    pub endpoint: String,
}

pub async fn fresh_table() -> TestTable {
    let upstream = moto_endpoint();
    let proxy = Arc::new(ProxyState { upstream, ..Default::default() });
    let app = Router::new().fallback(forward).with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let endpoint = format!("http://{addr}");
    let config = sdk_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("state-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table in moto");
    proxy.reset_counts();
    TestTable { store: DynamoStore::new(client, table.clone()), proxy, table, endpoint }
}

async fn forward(State(proxy): State<Arc<ProxyState>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let operation = target.rsplit('.').next().unwrap_or("").to_string();
    *proxy.counts.lock().unwrap_or_else(|p| p.into_inner()).entry(operation.clone()).or_insert(0) += 1;

    let budget = match operation.as_str() {
        "BatchWriteItem" => Some(&proxy.withhold_writes),
        "BatchGetItem" => Some(&proxy.withhold_reads),
        _ => None,
    };
    let withhold =
        budget.is_some_and(|b| b.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok());
    let (body, withheld) = if withhold { split_batch(&operation, &body) } else { (body.to_vec(), None) };

    let sent = body.clone();
    let mut request = proxy.http.post(&proxy.upstream).body(body);
    for (name, value) in headers.iter() {
        // The body may have changed: let reqwest recompute length and host.
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = upstream.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        // The checksum covers moto's body; a rewritten body must not carry it.
        if name != "x-amz-crc32" && name != "content-length" && name != "transfer-encoding" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    if status.is_success() {
        let units = estimate_capacity(&operation, &sent, &bytes);
        if units != Capacity::default() {
            let mut capacity = proxy.capacity.lock().unwrap_or_else(|p| p.into_inner());
            let entry = capacity.entry(operation.clone()).or_default();
            entry.read_units += units.read_units;
            entry.write_units += units.write_units;
        }
    }
    let bytes = match withheld {
        Some(w) if status.is_success() => {
            proxy.withheld_total.fetch_add(w.count, Ordering::SeqCst);
            merge_unprocessed(&operation, &bytes, w)
        }
        _ => bytes.to_vec(),
    };
    (status, out_headers, bytes).into_response()
}

struct Withheld {
    table: String,
    items: Vec<Value>,
    consistent_read: Option<Value>,
    count: u32,
}

/// Keeps the first half of each batch and returns the second half as withheld.
fn split_batch(operation: &str, body: &[u8]) -> (Vec<u8>, Option<Withheld>) {
    let Ok(mut request) = serde_json::from_slice::<Value>(body) else { return (body.to_vec(), None) };
    let Some(items) = request.get_mut("RequestItems").and_then(Value::as_object_mut) else {
        return (body.to_vec(), None);
    };
    let Some((table, entry)) = items.iter_mut().next() else { return (body.to_vec(), None) };
    let table = table.clone();
    let (list, consistent_read) = if operation == "BatchWriteItem" {
        (entry.as_array_mut(), None)
    } else {
        let consistent = entry.get("ConsistentRead").cloned();
        (entry.get_mut("Keys").and_then(Value::as_array_mut), consistent)
    };
    let Some(list) = list else { return (body.to_vec(), None) };
    if list.len() < 2 {
        return (body.to_vec(), None);
    }
    let keep = list.len() / 2;
    let rest = list.split_off(keep);
    let count = rest.len() as u32;
    let body = serde_json::to_vec(&request).unwrap_or_else(|_| body.to_vec());
    (body, Some(Withheld { table, items: rest, consistent_read, count }))
}

fn merge_unprocessed(operation: &str, body: &[u8], w: Withheld) -> Vec<u8> {
    let Ok(mut response) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
    let (field, value) = if operation == "BatchWriteItem" {
        ("UnprocessedItems", Value::Array(w.items))
    } else {
        let mut keys = serde_json::json!({ "Keys": w.items });
        if let Some(c) = w.consistent_read {
            keys["ConsistentRead"] = c;
        }
        ("UnprocessedKeys", keys)
    };
    if let Some(obj) = response.as_object_mut() {
        let entry = obj.entry(field).or_insert_with(|| serde_json::json!({}));
        if let Some(map) = entry.as_object_mut() {
            map.insert(w.table, value);
        }
    }
    serde_json::to_vec(&response).unwrap_or_else(|_| body.to_vec())
}

/// Request units of one DynamoDB call, from the items it wrote (request) or read (response):
/// writes 1 unit per started KB of each item; reads 1 unit per started 4 KB (a Query sums its
/// items first, a GetItem/BatchGetItem rounds each item), half for eventually consistent reads,
/// at least one (half) unit per read call. A delete or a conditional write is counted as the
/// size of the item it sends (a delete: 1 unit), since the old item's size is not in the bodies.
pub fn estimate_capacity(operation: &str, request: &[u8], response: &[u8]) -> Capacity {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);
    let write_units = |item: Option<&Value>| item.map_or(1.0, |i| (item_size(i) as f64 / 1024.0).ceil().max(1.0));
    let read_units = |bytes: usize, consistent: bool| {
        let units = (bytes as f64 / 4096.0).ceil().max(1.0);
        if consistent {
            units
        } else {
            units / 2.0
        }
    };
    let consistent = |v: &Value| v.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
    match operation {
        "PutItem" => Capacity { write_units: write_units(parse(request).get("Item")), ..Capacity::default() },
        "DeleteItem" | "UpdateItem" => Capacity { write_units: 1.0, ..Capacity::default() },
        "BatchWriteItem" => {
            let request = parse(request);
            let units = request
                .get("RequestItems")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|tables| tables.values())
                .filter_map(Value::as_array)
                .flatten()
                .map(|w| write_units(w.pointer("/PutRequest/Item")))
                .sum();
            Capacity { write_units: units, ..Capacity::default() }
        }
        "GetItem" => {
            let size = parse(response).get("Item").map_or(0, item_size);
            Capacity { read_units: read_units(size, consistent(&parse(request))), ..Capacity::default() }
        }
        "Query" | "Scan" => {
            let size = parse(response).get("Items").and_then(Value::as_array).map_or(0, |items| items.iter().map(item_size).sum());
            Capacity { read_units: read_units(size, consistent(&parse(request))), ..Capacity::default() }
        }
        "BatchGetItem" => {
            let request = parse(request);
            let strong = request.get("RequestItems").and_then(Value::as_object).is_some_and(|t| t.values().any(consistent));
            let units = parse(response)
                .get("Responses")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|tables| tables.values())
                .filter_map(Value::as_array)
                .flatten()
                .map(|item| read_units(item_size(item), strong))
                .sum();
            Capacity { read_units: units, ..Capacity::default() }
        }
        _ => Capacity::default(),
    }
}

/// DynamoDB's item size: attribute names plus values (strings and binary by length, numbers
/// about one byte per two digits, 3 bytes of overhead per map or list plus 1 per element).
pub fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |attrs| attrs.iter().map(|(name, value)| name.len() + value_size(value)).sum())
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else { return 0 };
    let text = |v: &Value| v.as_str().map_or(0, str::len);
    match kind.as_str() {
        "S" => text(inner),
        "B" => text(inner) * 3 / 4,
        "N" => text(inner).div_ceil(2) + 1,
        "BOOL" | "NULL" => 1,
        "SS" | "BS" => inner.as_array().map_or(0, |a| a.iter().map(text).sum()),
        "NS" => inner.as_array().map_or(0, |a| a.iter().map(|n| text(n).div_ceil(2) + 1).sum()),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum()),
        "L" => 3 + inner.as_array().map_or(0, |l| l.iter().map(|v| value_size(v) + 1).sum()),
        _ => 0,
    }
}
