//! The embedded state store for local runs: one SQLite file (rusqlite, bundled), with the same
//! semantics as the DynamoDB store — the lease and the one-time OAuth state included — as the
//! contract suite checks.

use super::*;
use rusqlite::{params, Connection as Db, OptionalExtension};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY, frequency TEXT NOT NULL, enabled INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS connections_by_frequency ON connections (frequency, enabled);
CREATE TABLE IF NOT EXISTS links (
    connection_id TEXT NOT NULL, zoho_id TEXT NOT NULL, google_resource_name TEXT NOT NULL,
    email TEXT, data TEXT NOT NULL, PRIMARY KEY (connection_id, zoho_id));
CREATE INDEX IF NOT EXISTS links_by_resource_name ON links (connection_id, google_resource_name);
CREATE INDEX IF NOT EXISTS links_by_email ON links (connection_id, email);
CREATE TABLE IF NOT EXISTS pending_creates (
    connection_id TEXT NOT NULL, google_resource_name TEXT NOT NULL, expires_at INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (connection_id, google_resource_name));
CREATE TABLE IF NOT EXISTS cursors (
    connection_id TEXT PRIMARY KEY, data TEXT NOT NULL, holder TEXT, lease_until INTEGER);
CREATE TABLE IF NOT EXISTS runs (
    connection_id TEXT NOT NULL, started_at INTEGER NOT NULL, run_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (connection_id, started_at, run_id));
CREATE TABLE IF NOT EXISTS oauth_states (state TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, data TEXT NOT NULL);
";

pub struct SqliteStore {
    // SQLite calls are short and local; a plain mutex keeps one writer at a time.
    db: Mutex<Db>,
}

impl SqliteStore {
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let db = Db::open(path).map_err(|e| err("open", e))?;
        Self::init(db)
    }

    pub fn in_memory() -> StoreResult<Self> {
        let db = Db::open_in_memory().map_err(|e| err("open", e))?;
        Self::init(db)
    }

    fn init(db: Db) -> StoreResult<Self> {
        db.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| err("open", e))?;
        db.execute_batch(SCHEMA).map_err(|e| err("create schema", e))?;
        migrate_lease_onto_cursors(&db)?;
        Ok(SqliteStore { db: Mutex::new(db) })
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The links `sql` finds for each of `keys` (its `?2`), each link once, in Zoho id order.
    fn links_for_each(&self, connection_id: &str, keys: &BTreeSet<String>, op: &'static str, sql: &str) -> StoreResult<Vec<Link>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let db = self.db();
        let mut found: BTreeMap<String, Link> = BTreeMap::new();
        for key in keys {
            for link in decode_all::<Link>(texts(&db, op, sql, &[&connection_id, key])?, "link")? {
                found.insert(link.zoho_id.clone(), link);
            }
        }
        Ok(found.into_values().collect())
    }
}

/// Files made before the lease moved onto the cursors have a `leases` table and cursors without
/// lease columns. Their leases are dropped: a local store has one run at a time.
fn migrate_lease_onto_cursors(db: &Db) -> StoreResult<()> {
    let columns = texts(db, "migrate schema", "SELECT name FROM pragma_table_info('cursors')", &[])?;
    if !columns.iter().any(|c| c == "holder") {
        db.execute_batch(
            "ALTER TABLE cursors ADD COLUMN holder TEXT;
             ALTER TABLE cursors ADD COLUMN lease_until INTEGER;",
        )
        .map_err(|e| err("migrate schema", e))?;
    }
    db.execute_batch("DROP TABLE IF EXISTS leases;").map_err(|e| err("migrate schema", e))
}

/// Saves a run record, replacing the one with the same start and id.
fn insert_run(db: &Db, run: &RunRecord) -> StoreResult<()> {
    db.execute(
        "INSERT OR REPLACE INTO runs (connection_id, started_at, run_id, data) VALUES (?1, ?2, ?3, ?4)",
        params![run.connection_id, run.started_at, run.run_id, encode(run, "run")?],
    )
    .map_err(|e| err("put run", e))?;
    Ok(())
}

fn err(operation: &'static str, e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable { operation, detail: e.to_string() }
}

fn decode<T: serde::de::DeserializeOwned>(raw: &str, what: &'static str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Malformed { what, detail: e.to_string() })
}

fn encode<T: Serialize>(value: &T, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Malformed { what, detail: e.to_string() })
}

fn decode_all<T: serde::de::DeserializeOwned>(rows: Vec<String>, what: &'static str) -> StoreResult<Vec<T>> {
    rows.iter().map(|raw| decode(raw, what)).collect()
}

/// Runs a query returning one text column per row.
fn texts(db: &Db, op: &'static str, sql: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<Vec<String>> {
    let mut stmt = db.prepare_cached(sql).map_err(|e| err(op, e))?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0)).map_err(|e| err(op, e))?;
    rows.collect::<Result<_, _>>().map_err(|e| err(op, e))
}

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn put_connection(&self, c: &Connection) -> StoreResult<()> {
        let data = encode(c, "connection")?;
        self.db()
            .execute(
                "INSERT OR REPLACE INTO connections (id, frequency, enabled, data) VALUES (?1, ?2, ?3, ?4)",
                params![c.id, c.frequency.key(), c.enabled, data],
            )
            .map_err(|e| err("put connection", e))?;
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>> {
        let rows = texts(&self.db(), "get connection", "SELECT data FROM connections WHERE id = ?1", &[&id])?;
        rows.first().map(|raw| decode(raw, "connection")).transpose()
    }

    async fn list_connections_by_frequency(&self, frequency: Frequency) -> StoreResult<Vec<Connection>> {
        let rows = texts(
            &self.db(),
            "list connections",
            "SELECT data FROM connections WHERE frequency = ?1 AND enabled = 1 ORDER BY id",
            &[&frequency.key()],
        )?;
        decode_all(rows, "connection")
    }
}

#[async_trait]
impl LinkStore for SqliteStore {
    async fn save_links(&self, links: &[Link]) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| err("save links", e))?;
        for link in links {
            tx.execute(
                "INSERT OR REPLACE INTO links (connection_id, zoho_id, google_resource_name, email, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![link.connection_id, link.zoho_id, link.google_resource_name, link.email, encode(link, "link")?],
            )
            .map_err(|e| err("save links", e))?;
        }
        tx.commit().map_err(|e| err("save links", e))
    }

    async fn delete_links(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| err("delete links", e))?;
        for id in zoho_ids {
            tx.execute("DELETE FROM links WHERE connection_id = ?1 AND zoho_id = ?2", params![connection_id, id])
                .map_err(|e| err("delete links", e))?;
        }
        tx.commit().map_err(|e| err("delete links", e))
    }

    async fn link_by_zoho_id(&self, connection_id: &str, zoho_id: &str) -> StoreResult<Option<Link>> {
        let rows = texts(
            &self.db(),
            "get link",
            "SELECT data FROM links WHERE connection_id = ?1 AND zoho_id = ?2",
            &[&connection_id, &zoho_id],
        )?;
        rows.first().map(|raw| decode(raw, "link")).transpose()
    }

    async fn links_by_zoho_ids(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<Vec<Link>> {
        let db = self.db();
        let mut out = Vec::new();
        let mut ids: Vec<&String> = zoho_ids.iter().collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let rows = texts(
                &db,
                "get links",
                "SELECT data FROM links WHERE connection_id = ?1 AND zoho_id = ?2",
                &[&connection_id, id],
            )?;
            out.extend(decode_all::<Link>(rows, "link")?);
        }
        Ok(out)
    }

    async fn link_by_resource_name(&self, connection_id: &str, resource_name: &str) -> StoreResult<Option<Link>> {
        let rows = texts(
            &self.db(),
            "get link by resourceName",
            "SELECT data FROM links WHERE connection_id = ?1 AND google_resource_name = ?2 ORDER BY zoho_id LIMIT 1",
            &[&connection_id, &resource_name],
        )?;
        rows.first().map(|raw| decode(raw, "link")).transpose()
    }

    async fn links_by_email(&self, connection_id: &str, email: &str) -> StoreResult<Vec<Link>> {
        let Some(email) = normalize_email(email) else { return Ok(Vec::new()) };
        let rows = texts(
            &self.db(),
            "get links by email",
            "SELECT data FROM links WHERE connection_id = ?1 AND email = ?2 ORDER BY zoho_id",
            &[&connection_id, &email],
        )?;
        decode_all(rows, "link")
    }

    async fn links_by_resource_names(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<Vec<Link>> {
        let wanted: BTreeSet<String> = resource_names.iter().cloned().collect();
        // The same choice as `link_by_resource_name` makes.
        let sql = "SELECT data FROM links WHERE connection_id = ?1 AND google_resource_name = ?2 ORDER BY zoho_id LIMIT 1";
        self.links_for_each(connection_id, &wanted, "get links by resourceNames", sql)
    }

    async fn links_by_emails(&self, connection_id: &str, emails: &[String]) -> StoreResult<Vec<Link>> {
        let wanted: BTreeSet<String> = emails.iter().filter_map(|e| normalize_email(e)).collect();
        self.links_for_each(connection_id, &wanted, "get links by emails", "SELECT data FROM links WHERE connection_id = ?1 AND email = ?2")
    }

    async fn all_links(&self, connection_id: &str) -> StoreResult<Vec<Link>> {
        let rows = texts(
            &self.db(),
            "list links",
            "SELECT data FROM links WHERE connection_id = ?1 ORDER BY zoho_id",
            &[&connection_id],
        )?;
        decode_all(rows, "link")
    }
}

#[async_trait]
impl PendingCreateStore for SqliteStore {
    async fn save_pending_creates(&self, pending: &[PendingCreate]) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| err("save pending creates", e))?;
        for p in pending {
            tx.execute(
                "INSERT OR REPLACE INTO pending_creates (connection_id, google_resource_name, expires_at, data)
                 VALUES (?1, ?2, ?3, ?4)",
                params![p.connection_id, p.google_resource_name, p.expires_at, encode(p, "pending create")?],
            )
            .map_err(|e| err("save pending creates", e))?;
        }
        tx.commit().map_err(|e| err("save pending creates", e))
    }

    async fn pending_creates(&self, connection_id: &str, now: EpochMillis) -> StoreResult<Vec<PendingCreate>> {
        let rows = texts(
            &self.db(),
            "list pending creates",
            "SELECT data FROM pending_creates WHERE connection_id = ?1 AND expires_at > ?2 ORDER BY google_resource_name",
            &[&connection_id, &now],
        )?;
        decode_all(rows, "pending create")
    }

    async fn delete_pending_creates(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| err("delete pending creates", e))?;
        for rn in resource_names {
            tx.execute(
                "DELETE FROM pending_creates WHERE connection_id = ?1 AND google_resource_name = ?2",
                params![connection_id, rn],
            )
            .map_err(|e| err("delete pending creates", e))?;
        }
        tx.commit().map_err(|e| err("delete pending creates", e))
    }
}

#[async_trait]
impl CursorStore for SqliteStore {
    async fn get_cursors(&self, connection_id: &str) -> StoreResult<Cursors> {
        let rows = texts(&self.db(), "get cursors", "SELECT data FROM cursors WHERE connection_id = ?1", &[&connection_id])?;
        Ok(rows.first().map(|raw| decode(raw, "cursors")).transpose()?.unwrap_or_default())
    }

    async fn put_cursors(&self, connection_id: &str, cursors: &Cursors) -> StoreResult<()> {
        // An upsert of `data` alone: the row also holds the lease, which a replace would drop.
        self.db()
            .execute(
                "INSERT INTO cursors (connection_id, data) VALUES (?1, ?2)
                 ON CONFLICT (connection_id) DO UPDATE SET data = excluded.data",
                params![connection_id, encode(cursors, "cursors")?],
            )
            .map_err(|e| err("put cursors", e))?;
        Ok(())
    }
}

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn acquire_lease(
        &self,
        connection_id: &str,
        holder: &str,
        expires_at: EpochMillis,
        now: EpochMillis,
    ) -> StoreResult<Result<Lease, LeaseError>> {
        let db = self.db();
        // A connection's first lease makes its cursors row; the default cursors it gets read
        // back exactly as "none stored" do.
        let default_cursors = encode(&Cursors::default(), "cursors")?;
        // The same condition as DynamoDB's: free, expired, or already ours. RETURNING gives the
        // cursors only when the lease was taken.
        let taken: Option<String> = db
            .query_row(
                "INSERT INTO cursors (connection_id, data, holder, lease_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
                 WHERE cursors.lease_until IS NULL OR cursors.lease_until < ?5 OR cursors.holder = excluded.holder
                 RETURNING data",
                params![connection_id, default_cursors, holder, expires_at, now],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err("acquire lease", e))?;
        if let Some(raw) = taken {
            return Ok(Ok(Lease {
                connection_id: connection_id.into(),
                holder: holder.into(),
                expires_at,
                cursors: decode(&raw, "cursors")?,
            }));
        }
        let current: Option<i64> = db
            .query_row("SELECT lease_until FROM cursors WHERE connection_id = ?1", [connection_id], |r| r.get(0))
            .optional()
            .map_err(|e| err("get lease", e))?
            .flatten();
        Ok(Err(LeaseError::Held { expires_at: current.unwrap_or(now) }))
    }

    async fn release_lease(&self, connection_id: &str, holder: &str) -> StoreResult<()> {
        self.db()
            .execute(
                "UPDATE cursors SET holder = NULL, lease_until = NULL WHERE connection_id = ?1 AND holder = ?2",
                params![connection_id, holder],
            )
            .map_err(|e| err("release lease", e))?;
        Ok(())
    }

    async fn finish_run(&self, run: &RunRecord, holder: &str, cursors: Option<&Cursors>) -> StoreResult<bool> {
        let cursors = cursors.map(|c| encode(c, "cursors")).transpose()?;
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| err("finish run", e))?;
        // Cursors and lease change only while the lease is ours; the run is saved either way.
        let released = tx
            .execute(
                "UPDATE cursors SET data = COALESCE(?3, data), holder = NULL, lease_until = NULL
                 WHERE connection_id = ?1 AND holder = ?2",
                params![run.connection_id, holder, cursors],
            )
            .map_err(|e| err("finish run", e))?;
        insert_run(&tx, run)?;
        tx.commit().map_err(|e| err("finish run", e))?;
        Ok(released == 1)
    }
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        insert_run(&self.db(), run)
    }

    async fn latest_runs(&self, connection_id: &str, limit: usize) -> StoreResult<Vec<RunRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = texts(
            &self.db(),
            "list runs",
            "SELECT data FROM runs WHERE connection_id = ?1 ORDER BY started_at DESC, run_id DESC LIMIT ?2",
            &[&connection_id, &limit],
        )?;
        decode_all(rows, "run")
    }
}

#[async_trait]
impl OAuthStateStore for SqliteStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        let result = self.db().execute(
            "INSERT INTO oauth_states (state, expires_at, data) VALUES (?1, ?2, ?3)",
            params![state.state, state.expires_at, encode(state, "oauth state")?],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(StoreError::Conflict("OAuth state already exists".into()))
            }
            Err(e) => Err(err("put OAuth state", e)),
        }
    }

    async fn consume_oauth_state(
        &self,
        state: &str,
        now: EpochMillis,
    ) -> StoreResult<Result<OAuthState, OAuthStateError>> {
        let rows = texts(
            &self.db(),
            "consume OAuth state",
            "DELETE FROM oauth_states WHERE state = ?1 AND expires_at > ?2 RETURNING data",
            &[&state, &now],
        )?;
        match rows.first() {
            Some(raw) => Ok(Ok(decode(raw, "oauth state")?)),
            None => Ok(Err(OAuthStateError::UnknownOrUsed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store file from before the lease moved onto the cursors keeps its cursors and takes
    /// leases on them.
    #[tokio::test]
    async fn an_older_file_is_migrated() {
        let path = std::env::temp_dir().join(format!("store-migration-{}.sqlite", uuid::Uuid::new_v4().simple()));
        let stored = Cursors { google_sync_token: Some("st".into()), first_sync_done: true, ..Cursors::default() };
        {
            let db = Db::open(&path).expect("create old file");
            db.execute_batch(
                "CREATE TABLE cursors (connection_id TEXT PRIMARY KEY, data TEXT NOT NULL);
                 CREATE TABLE leases (connection_id TEXT PRIMARY KEY, holder TEXT NOT NULL, lease_until INTEGER NOT NULL);
                 INSERT INTO leases VALUES ('c1', 'old-run', 9999999999999);",
            )
            .expect("old schema");
            db.execute("INSERT INTO cursors VALUES ('c1', ?1)", [encode(&stored, "cursors").expect("encode")])
                .expect("old cursors");
        }
        let store = SqliteStore::open(&path).expect("open and migrate");
        assert_eq!(store.get_cursors("c1").await.expect("read"), stored);
        let lease = store.acquire_lease("c1", "tick", 2_000, 1_000).await.expect("acquire").expect("free");
        assert_eq!(lease.cursors, stored);
        drop(store);
        // Opening a migrated file again changes nothing.
        let store = SqliteStore::open(&path).expect("reopen");
        assert!(store.acquire_lease("c1", "other", 3_000, 1_500).await.expect("acquire").is_err(), "lease kept");
        drop(store);
        let _ = std::fs::remove_file(&path);
    }
}
