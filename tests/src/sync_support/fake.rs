//! An in-memory Google account and Zoho book behind the engine's ports, fast enough for
//! thousands of property-test cases. It keeps what the engine relies on and nothing more:
//! etags checked on update, sync tokens with tombstones (and expiry), `Modified_Time` with
//! second resolution and strict `If-Modified-Since`, upsert on `Email`, the list as a field
//! criterion, per-record failures and whole-call failures on demand. The HTTP emulators cover
//! the real adapters; this covers the engine's logic at scale.

use super::harness::{IN_LIST, LIST_FIELD, OUT_OF_LIST};
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use shared::store::Provider;
use shared::sync::engine::ports::*;
use shared::zoho::{zoho_time, PageCursor};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use time::OffsetDateTime;

const ZOHO_PAGE: usize = 200;
const GOOGLE_PAGE: usize = 1000;

#[derive(Debug, Clone)]
struct StoredPerson {
    data: Value,
    etag: u64,
    seq: u64,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct StoredRecord {
    fields: Map<String, Value>,
    modified: OffsetDateTime,
    deleted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
struct State {
    people: BTreeMap<u64, StoredPerson>,
    seq: u64,
    tokens_valid_from: u64,
    records: BTreeMap<u64, StoredRecord>,
    next_id: u64,
    clock: i64,
    /// (resourceName, Zoho id or email) → code: the next write touching it fails.
    record_faults: Vec<(String, String)>,
    call_faults: VecDeque<Provider>,
    pub calls: u64,
}

/// Both fake APIs; implements [`GooglePort`] and [`ZohoPort`].
pub struct FakeApis {
    state: Mutex<State>,
    pub group: String,
}

fn rn(n: u64) -> String {
    format!("people/c{n}")
}

fn rn_number(rn: &str) -> Option<u64> {
    rn.strip_prefix("people/c")?.parse().ok()
}

impl FakeApis {
    pub fn new(group: &str) -> Self {
        FakeApis { state: Mutex::new(State { next_id: 1000, clock: 1_700_000_000, ..State::default() }), group: group.to_string() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- what a user does ----

    pub fn user_adds_person(&self, mut person: Value, in_group: bool) -> String {
        if in_group {
            person["memberships"] = json!([{"contactGroupMembership": {"contactGroupResourceName": self.group}}]);
        }
        let mut s = self.lock();
        s.put_person(None, person, false)
    }

    /// Edits a live person's data; false if there is none.
    pub fn user_edits_person(&self, resource_name: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let mut s = self.lock();
        let Some(mut data) = rn_number(resource_name).and_then(|n| s.people.get(&n)).filter(|p| !p.deleted).map(|p| p.data.clone()) else { return false };
        edit(&mut data);
        s.put_person(Some(resource_name), data, false);
        true
    }

    pub fn user_sets_group(&self, resource_name: &str, in_group: bool) -> bool {
        let group = self.group.clone();
        self.user_edits_person(resource_name, |p| {
            p["memberships"] = if in_group { json!([{"contactGroupMembership": {"contactGroupResourceName": group}}]) } else { json!([]) };
        })
    }

    pub fn user_deletes_person(&self, resource_name: &str) -> bool {
        let mut s = self.lock();
        let Some(data) = rn_number(resource_name).and_then(|n| s.people.get(&n)).filter(|p| !p.deleted).map(|p| p.data.clone()) else { return false };
        s.put_person(Some(resource_name), data, true);
        true
    }

    pub fn user_adds_record(&self, mut fields: Value, in_list: bool) -> String {
        fields[LIST_FIELD] = json!(if in_list { IN_LIST } else { OUT_OF_LIST });
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let now = s.tick();
        s.records.insert(id, StoredRecord { fields: fields.as_object().cloned().unwrap_or_default(), modified: now, deleted_at: None });
        id.to_string()
    }

    pub fn user_edits_record(&self, id: &str, patch: &Value) -> bool {
        let mut s = self.lock();
        let now = s.tick();
        let Some(r) = id.parse::<u64>().ok().and_then(|n| s.records.get_mut(&n)).filter(|r| r.deleted_at.is_none()) else { return false };
        merge(&mut r.fields, patch);
        r.modified = now;
        true
    }

    pub fn user_deletes_record(&self, id: &str) -> bool {
        let mut s = self.lock();
        let now = s.tick();
        let Some(r) = id.parse::<u64>().ok().and_then(|n| s.records.get_mut(&n)).filter(|r| r.deleted_at.is_none()) else { return false };
        r.deleted_at = Some(now);
        true
    }

    // ---- faults and inspection ----

    pub fn expire_sync_tokens(&self) {
        let mut s = self.lock();
        s.tokens_valid_from = s.seq + 1;
    }

    /// The next write of the record or person named `id` (resourceName, Zoho id or email) fails.
    pub fn fail_record_once(&self, id: &str, code: &str) {
        self.lock().record_faults.push((id.to_string(), code.to_string()));
    }

    /// The next call to `provider` fails as a whole (as after the client's retries ran out).
    pub fn fail_next_call(&self, provider: Provider) {
        self.lock().call_faults.push_back(provider);
    }

    pub fn clear_faults(&self) {
        let mut s = self.lock();
        s.record_faults.clear();
        s.call_faults.clear();
    }

    /// resourceNames of deleted people.
    pub fn deleted_people(&self) -> Vec<String> {
        self.lock().people.iter().filter(|(_, p)| p.deleted).map(|(n, _)| rn(*n)).collect()
    }

    pub fn deleted_record_ids(&self) -> Vec<String> {
        self.lock().records.iter().filter(|(_, r)| r.deleted_at.is_some()).map(|(id, _)| id.to_string()).collect()
    }

    pub fn people(&self) -> Vec<Value> {
        let s = self.lock();
        s.people.iter().filter(|(_, p)| !p.deleted).map(|(n, p)| render(*n, p)).collect()
    }

    pub fn records(&self) -> Vec<Value> {
        let s = self.lock();
        s.records.iter().filter(|(_, r)| r.deleted_at.is_none()).map(|(id, r)| render_record(*id, r)).collect()
    }

    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    fn enter(&self, provider: Provider) -> Result<MutexGuard<'_, State>, PortError> {
        let mut s = self.lock();
        s.calls += 1;
        if s.call_faults.front() == Some(&provider) {
            s.call_faults.pop_front();
            return Err(PortError::Failed { provider, detail: "injected: HTTP 503 after retries".into(), retryable: true });
        }
        Ok(s)
    }
}

pub fn in_list(fields: &Map<String, Value>) -> bool {
    fields.get(LIST_FIELD).and_then(Value::as_str) != Some(OUT_OF_LIST)
}

fn merge(fields: &mut Map<String, Value>, patch: &Value) {
    for (k, v) in patch.as_object().into_iter().flatten() {
        if v.is_null() {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
}

fn render(n: u64, p: &StoredPerson) -> Value {
    if p.deleted {
        return json!({"resourceName": rn(n), "etag": format!("e{}", p.etag), "metadata": {"deleted": true}});
    }
    let mut v = p.data.clone();
    v["resourceName"] = json!(rn(n));
    v["etag"] = json!(format!("e{}", p.etag));
    v
}

fn render_record(id: u64, r: &StoredRecord) -> Value {
    let mut v = Value::Object(r.fields.clone());
    v["id"] = json!(id.to_string());
    v["Modified_Time"] = json!(zoho_time(r.modified));
    v
}

impl State {
    /// Zoho's clock as it reads now (what its `Date` header would say).
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.clock).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Zoho's clock: one second per write, so `Modified_Time` always moves.
    fn tick(&mut self) -> OffsetDateTime {
        self.clock += 1;
        OffsetDateTime::from_unix_timestamp(self.clock).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn put_person(&mut self, resource_name: Option<&str>, mut data: Value, deleted: bool) -> String {
        if let Some(obj) = data.as_object_mut() {
            for key in ["resourceName", "etag", "metadata"] {
                obj.remove(key);
            }
        }
        self.seq += 1;
        let n = resource_name.and_then(rn_number).unwrap_or(self.seq + 10_000);
        self.people.insert(n, StoredPerson { data, etag: self.seq, seq: self.seq, deleted });
        rn(n)
    }

    fn take_fault(&mut self, keys: &[String]) -> Option<RecordFailure> {
        let i = self.record_faults.iter().position(|(id, _)| keys.iter().any(|k| k.eq_ignore_ascii_case(id)))?;
        Some(RecordFailure::new(self.record_faults.remove(i).1))
    }
}

fn email_of_person(p: &Value) -> Option<String> {
    p.pointer("/emailAddresses/0/value").and_then(Value::as_str).map(|e| e.trim().to_lowercase())
}

#[async_trait]
impl GooglePort for FakeApis {
    async fn list_connections(&self, sync_token: Option<&str>, page_token: Option<&str>) -> Result<GooglePage, PortError> {
        let s = self.enter(Provider::Google)?;
        let since = match sync_token {
            None => None,
            Some(t) => match t.strip_prefix("tok-").and_then(|n| n.parse::<u64>().ok()) {
                Some(n) if n + 1 >= s.tokens_valid_from => Some(n),
                _ => return Err(PortError::SyncTokenExpired),
            },
        };
        let all: Vec<Value> = s.people.iter().filter(|(_, p)| match since { None => !p.deleted, Some(t) => p.seq > t }).map(|(n, p)| render(*n, p)).collect();
        let offset: usize = page_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (offset + GOOGLE_PAGE).min(all.len());
        let last = end >= all.len();
        Ok(GooglePage {
            people: all[offset.min(end)..end].to_vec(),
            next_page_token: (!last).then(|| end.to_string()),
            next_sync_token: last.then(|| format!("tok-{}", s.seq)),
        })
    }

    async fn get_people(&self, resource_names: &[String]) -> Result<BTreeMap<String, PersonRead>, PortError> {
        let s = self.enter(Provider::Google)?;
        Ok(resource_names
            .iter()
            .map(|name| {
                let live = rn_number(name).and_then(|n| s.people.get(&n).filter(|p| !p.deleted).map(|p| render(n, p)));
                (name.clone(), live.map_or(PersonRead::NotFound, PersonRead::Found))
            })
            .collect())
    }

    async fn create_contacts(&self, people: &[Value]) -> Result<Vec<RecordResult<Value>>, PortError> {
        let mut s = self.enter(Provider::Google)?;
        Ok(people
            .iter()
            .map(|p| {
                let keys: Vec<String> = email_of_person(p).into_iter().chain(p.pointer("/externalIds/0/value").and_then(Value::as_str).map(String::from)).collect();
                if let Some(f) = s.take_fault(&keys) {
                    return Err(f);
                }
                let name = s.put_person(None, p.clone(), false);
                let n = rn_number(&name).unwrap_or_default();
                Ok(render(n, &s.people[&n]))
            })
            .collect())
    }

    async fn update_contacts(&self, people: &BTreeMap<String, Value>, update_mask: &str) -> Result<BTreeMap<String, RecordResult<Value>>, PortError> {
        let mut s = self.enter(Provider::Google)?;
        let mut out = BTreeMap::new();
        for (name, body) in people {
            let current = rn_number(name).and_then(|n| s.people.get(&n).cloned()).filter(|p| !p.deleted);
            let result = match current {
                None => Err(RecordFailure::new("NOT_FOUND")),
                Some(p) if body.get("etag").and_then(Value::as_str) != Some(format!("e{}", p.etag).as_str()) => Err(RecordFailure::new("FAILED_PRECONDITION")),
                Some(p) => match s.take_fault(std::slice::from_ref(name)) {
                    Some(f) => Err(f),
                    None => {
                        let mut data = p.data.clone();
                        for field in update_mask.split(',').filter(|f| !f.is_empty()) {
                            match body.get(field) {
                                Some(v) => data[field] = v.clone(),
                                None => {
                                    if let Some(o) = data.as_object_mut() {
                                        o.remove(field);
                                    }
                                }
                            }
                        }
                        s.put_person(Some(name), data, false);
                        let n = rn_number(name).unwrap_or_default();
                        Ok(render(n, &s.people[&n]))
                    }
                },
            };
            out.insert(name.clone(), result);
        }
        Ok(out)
    }

    async fn delete_contacts(&self, resource_names: &[String]) -> Result<(), PortError> {
        let mut s = self.enter(Provider::Google)?;
        for name in resource_names {
            let live = rn_number(name).and_then(|n| s.people.get(&n)).filter(|p| !p.deleted).map(|p| p.data.clone());
            if let Some(data) = live {
                s.put_person(Some(name), data, true);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ZohoPort for FakeApis {
    async fn list_contacts(&self, query: &ZohoQuery, _fields: &[String], cursor: Option<&PageCursor>) -> Result<ZohoPage, PortError> {
        let s = self.enter(Provider::Zoho)?;
        let rows: Vec<Value> = s
            .records
            .iter()
            .filter(|(_, r)| r.deleted_at.is_none())
            .filter(|(_, r)| query.cvid.is_none() || in_list(&r.fields))
            .filter(|(_, r)| query.modified_since.is_none_or(|t| r.modified > t))
            .map(|(id, r)| render_record(*id, r))
            .collect();
        let page = match cursor {
            Some(PageCursor::Page(n)) => *n as usize,
            _ => 1,
        };
        let start = (page - 1) * ZOHO_PAGE;
        let end = (start + ZOHO_PAGE).min(rows.len());
        let next = (end < rows.len()).then(|| PageCursor::Page(page as u32 + 1));
        Ok(ZohoPage { records: rows[start.min(end)..end].to_vec(), next, server_time: Some(s.now()) })
    }

    async fn list_deleted(&self, since: Option<OffsetDateTime>, _page: u32) -> Result<ZohoDeletedPage, PortError> {
        let s = self.enter(Provider::Zoho)?;
        let records = s
            .records
            .iter()
            .filter_map(|(id, r)| r.deleted_at.filter(|t| since.is_none_or(|s| *t > s)).map(|t| ZohoTombstone { id: id.to_string(), deleted_at: Some(t) }))
            .collect();
        Ok(ZohoDeletedPage { records, next_page: None, server_time: Some(s.now()) })
    }

    async fn upsert_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let mut s = self.enter(Provider::Zoho)?;
        Ok(records
            .iter()
            .map(|body| {
                let email = body.get("Email").and_then(Value::as_str).map(|e| e.trim().to_lowercase());
                if let Some(f) = s.take_fault(&email.clone().into_iter().collect::<Vec<_>>()) {
                    return Err(f);
                }
                let existing = email.as_ref().and_then(|e| {
                    s.records.iter().find(|(_, r)| r.deleted_at.is_none() && r.fields.get("Email").and_then(Value::as_str).is_some_and(|x| x.trim().eq_ignore_ascii_case(e))).map(|(id, _)| *id)
                });
                let now = s.tick();
                let id = match existing {
                    Some(id) => id,
                    None => {
                        if body.get("Last_Name").and_then(Value::as_str).is_none_or(|l| l.trim().is_empty()) {
                            return Err(RecordFailure::new("MANDATORY_NOT_FOUND"));
                        }
                        let id = s.next_id;
                        s.next_id += 1;
                        s.records.insert(id, StoredRecord { fields: Map::new(), modified: now, deleted_at: None });
                        id
                    }
                };
                let r = s.records.get_mut(&id).ok_or_else(|| RecordFailure::new("INTERNAL_ERROR"))?;
                merge(&mut r.fields, body);
                r.modified = now;
                Ok(ZohoWritten { id: id.to_string(), modified_time: Some(zoho_time(now)) })
            })
            .collect())
    }

    async fn update_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let mut s = self.enter(Provider::Zoho)?;
        Ok(records
            .iter()
            .map(|body| {
                let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                if let Some(f) = s.take_fault(std::slice::from_ref(&id)) {
                    return Err(f);
                }
                let now = s.tick();
                let r = id.parse::<u64>().ok().and_then(|n| s.records.get_mut(&n)).filter(|r| r.deleted_at.is_none()).ok_or_else(|| RecordFailure::new("INVALID_DATA"))?;
                let mut patch = body.clone();
                if let Some(o) = patch.as_object_mut() {
                    o.remove("id");
                }
                merge(&mut r.fields, &patch);
                r.modified = now;
                Ok(ZohoWritten { id, modified_time: Some(zoho_time(now)) })
            })
            .collect())
    }

    async fn delete_contacts(&self, ids: &[String]) -> Result<Vec<RecordResult<()>>, PortError> {
        let mut s = self.enter(Provider::Zoho)?;
        let now = s.tick();
        Ok(ids
            .iter()
            .map(|id| {
                let r = id.parse::<u64>().ok().and_then(|n| s.records.get_mut(&n)).filter(|r| r.deleted_at.is_none()).ok_or_else(|| RecordFailure::new("INVALID_DATA"))?;
                r.deleted_at = Some(now);
                Ok(())
            })
            .collect())
    }
}
