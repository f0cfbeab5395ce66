//! Group commit: one writer task per process takes every queued write request, runs each in
//! its own savepoint inside one transaction, chains their audit entries, signs a checkpoint
//! of the new head, commits once (one fsync for the whole batch), and only then answers the
//! callers. Durability is not weakened: a caller hears "done" only after the commit that
//! holds its change and the checkpoint covering it.
//!
//! With several instances on one PostgreSQL database, each batch takes a transaction-scoped
//! advisory lock first, so batches from different instances are serialized and the chain
//! head read at the start of a batch is the true head.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Executor, Row};
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditEntry, Checkpoint, GENESIS, PendingEntry};
use crate::db::{Db, ts};
use crate::{Backend, Result, StoreConfig, StoreError};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Finisher = Box<dyn FnOnce(Option<&str>) + Send>;
type JobFn = Box<dyn for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, (bool, Finisher)> + Send>;

struct Job {
    /// The job only reads on the connection and hands its rows to [`WriteCtx::defer`]; it
    /// needs no savepoint, and its rows are inserted with its neighbours' in multi-row
    /// statements.
    deferred: bool,
    run: JobFn,
}

/// A value of a deferred row.
pub(crate) enum Val {
    S(String),
    N(Option<String>),
    I(i64),
}

/// A table, its columns, and the rows for it.
type TableRows = (&'static str, &'static [&'static str], Vec<Vec<Val>>);

/// Rows waiting to be inserted, grouped by table (in first-use order, which respects the
/// foreign keys: a declaration's row is deferred before its revision's).
#[derive(Default)]
pub(crate) struct Deferred {
    tables: Vec<TableRows>,
    /// `(production, use.ref)` of declarations deferred in this batch.
    pub refs: std::collections::HashSet<(String, String)>,
}

impl Deferred {
    fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.2.is_empty())
    }
}

/// What a write operation sees: the batch's connection (inside a transaction), the time,
/// and the audit entries it records.
pub(crate) struct WriteCtx {
    pub conn: AnyConnection,
    pub backend: Backend,
    pub now: DateTime<Utc>,
    pending: Vec<PendingEntry>,
    /// Events raised by this batch's writes, stored before the commit.
    pub(crate) events: Vec<crate::outbox::PendingEvent>,
    /// Where people reach the pages, for links in events.
    pub(crate) public_url: Option<String>,
    deferred: Deferred,
    /// Per-batch cache of production records, their studio's tools and their packs, cleared whenever an
    /// operation that may change them runs.
    #[allow(clippy::type_complexity)]
    pub cache: std::collections::HashMap<
        String,
        (
            crate::model::Production,
            Vec<crate::model::Tool>,
            Vec<std::sync::Arc<greenlight_core::pack::Pack>>,
        ),
    >,
}

impl WriteCtx {
    /// Hands rows to the batch; they are inserted before the commit, before the next
    /// operation that is not deferred, and before the audit entries.
    /// A row has exactly one value per column: the compiler checks it.
    pub fn defer<const N: usize>(
        &mut self,
        table: &'static str,
        columns: &'static [&'static str; N],
        row: [Val; N],
    ) {
        let row = Vec::from(row);
        match self.deferred.tables.iter_mut().find(|t| t.0 == table) {
            Some(t) => t.2.push(row),
            None => self.deferred.tables.push((table, columns, vec![row])),
        }
    }

    /// References deferred in this batch (for duplicate checks).
    pub fn deferred_refs(&mut self) -> &mut std::collections::HashSet<(String, String)> {
        &mut self.deferred.refs
    }

    async fn flush(&mut self) -> Result<()> {
        let tables = std::mem::take(&mut self.deferred.tables);
        self.deferred.refs.clear();
        for (table, columns, rows) in tables {
            // Stay well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
            let per = (30_000 / columns.len()).max(1);
            for chunk in rows.chunks(per) {
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES {}",
                    columns.join(", "),
                    crate::db::values_list(chunk.len(), columns.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in chunk {
                    for v in row {
                        q = match v {
                            Val::S(s) => q.bind(s.clone()),
                            Val::N(s) => q.bind(s.clone()),
                            Val::I(i) => q.bind(*i),
                        };
                    }
                }
                q.execute(&mut self.conn).await?;
            }
        }
        Ok(())
    }
    /// Records an audit entry for this operation (chained when the batch commits).
    #[allow(clippy::too_many_arguments)] // one argument per audit field, named at every call
    pub fn audit(
        &mut self,
        actor: Option<&str>,
        org_id: Option<&str>,
        action: impl Into<String>,
        entity: &'static str,
        entity_id: &str,
        before_digest: Option<String>,
        after_digest: Option<String>,
    ) {
        self.pending.push(PendingEntry {
            at: self.now,
            actor: actor.map(str::to_owned),
            org_id: org_id.map(str::to_owned),
            action: action.into(),
            entity,
            entity_id: entity_id.to_owned(),
            before_digest,
            after_digest,
        });
    }
}

/// Counters of the write path, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Write requests handled (committed or refused).
    pub requests: u64,
    /// Audit entries appended.
    pub audit_entries: u64,
    /// Total time spent in COMMIT (including the fsync), microseconds.
    pub commit_micros: u64,
    /// Total time from BEGIN to COMMIT, microseconds.
    pub batch_micros: u64,
    /// Batches that failed as a whole.
    pub failed_batches: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    audit_entries: AtomicU64,
    commit_micros: AtomicU64,
    batch_micros: AtomicU64,
    failed_batches: AtomicU64,
}

pub(crate) struct WriterHandle {
    stop: Arc<tokio::sync::Notify>,
    sender: mpsc::Sender<Job>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl WriterHandle {
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            audit_entries: c.audit_entries.load(Ordering::Relaxed),
            commit_micros: c.commit_micros.load(Ordering::Relaxed),
            batch_micros: c.batch_micros.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Tells the writer to commit what is queued and stop, and waits for it.
    pub async fn close(&self) {
        self.stop.notify_one();
        if let Some(h) = self.done.lock().await.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), h).await;
        }
    }

    /// Queues `f` and waits until the batch holding it committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        self.submit_job(false, f).await
    }

    /// Like [`WriterHandle::write`], for an operation that only reads on the connection and
    /// defers its rows with [`WriteCtx::defer`] (no savepoint; multi-row inserts).
    pub async fn write_deferred<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        self.submit_job(true, f).await
    }

    async fn submit_job<T, F>(&self, deferred: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel::<Result<T>>();
        let run: JobFn = Box::new(move |ctx: &mut WriteCtx| {
            Box::pin(async move {
                let result = f(ctx).await;
                let failed = result.is_err();
                let fin = Box::new(move |batch_error: Option<&str>| {
                    let _ = reply.send(match batch_error {
                        None => result,
                        Some(msg) => Err(StoreError::Backend(msg.to_owned())),
                    });
                }) as Finisher;
                (failed, fin)
            })
        });
        self.sender
            .send(Job { deferred, run })
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the writer stopped before committing".into()))?
    }
}

pub(crate) fn spawn(db: Db, config: StoreConfig) -> WriterHandle {
    // The checkpoint log exists from the first start on, so a log that is missing later was
    // removed (verification reports that as tampering).
    if config.signing_key.is_some()
        && let Some(path) = &config.checkpoint_log
        && let Err(e) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        tracing::error!(error = %e, path = %path.display(), "could not create the checkpoint log");
    }
    let (sender, rx) = mpsc::channel::<Job>(4096);
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let task = tokio::spawn(run(db, config, rx, counters.clone(), stop.clone()));
    WriterHandle {
        stop,
        sender,
        done: tokio::sync::Mutex::new(Some(task)),
        counters,
    }
}

async fn run(
    db: Db,
    config: StoreConfig,
    mut rx: mpsc::Receiver<Job>,
    counters: Arc<Counters>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut conn: Option<AnyConnection> = None;
    let max_batch = config.max_batch.max(1);
    let mut stopping = false;
    let (log, appender) = match config.checkpoint_log.clone().map(spawn_log_appender) {
        Some((tx, handle)) => (Some(tx), Some(handle)),
        None => (None, None),
    };
    loop {
        // Once asked to stop, commit what is already queued, then end.
        let first = if stopping {
            match rx.try_recv() {
                Ok(j) => j,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                j = rx.recv() => match j {
                    Some(j) => j,
                    None => break,
                },
                _ = stop.notified() => {
                    stopping = true;
                    continue;
                }
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        counters
            .requests
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let c = match conn.take() {
            Some(c) => c,
            None => match db.dedicated().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "writer cannot connect");
                    // Dropping the jobs drops their reply channels: each caller hears
                    // that the write was not committed.
                    drop(jobs);
                    counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        let mut ctx = WriteCtx {
            conn: c,
            backend: db.backend,
            now: Utc::now(),
            pending: Vec::new(),
            events: Vec::new(),
            public_url: config.public_url.clone(),
            deferred: Deferred::default(),
            cache: Default::default(),
        };
        let started = Instant::now();
        match run_batch(&mut ctx, &config, jobs, &counters, log.as_ref()).await {
            Ok(()) => {
                counters.batches.fetch_add(1, Ordering::Relaxed);
                conn = Some(ctx.conn);
            }
            Err(e) => {
                tracing::error!(error = %e, "write batch failed");
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                // Drop the connection: it may be broken or mid-transaction.
                let _ = ctx.conn.execute("ROLLBACK").await;
            }
        }
        counters
            .batch_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
    // Let the log appender write what it holds before the process may exit.
    drop(log);
    if let Some(h) = appender {
        let _ = tokio::task::spawn_blocking(move || h.join()).await;
    }
}

async fn run_batch(
    ctx: &mut WriteCtx,
    config: &StoreConfig,
    jobs: Vec<Job>,
    counters: &Counters,
    log: Option<&std::sync::mpsc::Sender<Checkpoint>>,
) -> Result<()> {
    match ctx.backend {
        Backend::Sqlite => {
            ctx.conn.execute("BEGIN IMMEDIATE").await?;
        }
        Backend::Postgres => {
            ctx.conn.execute("BEGIN").await?;
            // Serializes batches of every instance on this database (audit chain head).
            ctx.conn
                .execute("SELECT 1 FROM (SELECT pg_advisory_xact_lock(7340002)) AS l")
                .await?;
        }
    }
    let mut finishers: Vec<Finisher> = Vec::with_capacity(jobs.len());
    for job in jobs {
        ctx.now = Utc::now();
        let mark = ctx.pending.len();
        let event_mark = ctx.events.len();
        if job.deferred {
            // Reads only; a failure leaves nothing behind but its audit entries and events,
            // dropped here.
            let (failed, fin) = (job.run)(ctx).await;
            if failed {
                ctx.pending.truncate(mark);
                ctx.events.truncate(event_mark);
            }
            finishers.push(fin);
            continue;
        }
        // An ordinary operation sees every row deferred before it, and may change what the
        // cache holds.
        if !ctx.deferred.is_empty()
            && let Err(e) = ctx.flush().await
        {
            return abort(ctx, finishers, e).await;
        }
        ctx.cache.clear();
        if let Err(e) = ctx.conn.execute("SAVEPOINT op").await {
            return abort(ctx, finishers, e.into()).await;
        }
        // A job that failed leaves nothing behind: its savepoint and audit entries go.
        let (failed, fin) = (job.run)(ctx).await;
        let step = if failed {
            ctx.pending.truncate(mark);
            ctx.events.truncate(event_mark);
            ctx.conn
                .execute("ROLLBACK TO SAVEPOINT op")
                .await
                .map(|_| ())
        } else {
            Ok(())
        };
        finishers.push(fin);
        let step = match step {
            Ok(()) => ctx.conn.execute("RELEASE SAVEPOINT op").await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = step {
            return abort(ctx, finishers, e.into()).await;
        }
        ctx.cache.clear();
    }
    if !ctx.deferred.is_empty()
        && let Err(e) = ctx.flush().await
    {
        return abort(ctx, finishers, e).await;
    }
    if !ctx.events.is_empty()
        && let Err(e) = crate::outbox::flush_events(ctx, config.mail_notifications).await
    {
        return abort(ctx, finishers, e).await;
    }
    let mut checkpoint: Option<Checkpoint> = None;
    if !ctx.pending.is_empty() {
        match append_entries(ctx, config).await {
            Ok(c) => checkpoint = Some(c),
            Err(e) => return abort(ctx, finishers, e).await,
        }
    }
    let commit_started = Instant::now();
    if let Err(e) = ctx.conn.execute("COMMIT").await {
        return abort(ctx, finishers, e.into()).await;
    }
    counters.commit_micros.fetch_add(
        commit_started.elapsed().as_micros() as u64,
        Ordering::Relaxed,
    );
    counters
        .audit_entries
        .fetch_add(ctx.pending.len() as u64, Ordering::Relaxed);
    ctx.pending.clear();
    if let (Some(cp), Some(log)) = (checkpoint, log) {
        // After the commit: a crash before the append leaves the log behind the database,
        // which verification accepts; the reverse (a logged checkpoint the database never
        // committed) would read as truncation. The append and its fsync run on their own
        // thread so the next batch does not wait for a second fsync.
        let _ = log.send(cp);
    }
    for f in finishers {
        f(None);
    }
    Ok(())
}

/// A thread that appends checkpoints to the log file, as many per write and fsync as have
/// queued up. It ends when the writer drops its sender.
fn spawn_log_appender(
    path: std::path::PathBuf,
) -> (
    std::sync::mpsc::Sender<Checkpoint>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<Checkpoint>();
    let handle = std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            if let Err(e) = crate::audit::append_checkpoint_log(&path, &batch) {
                tracing::error!(error = %e, path = %path.display(), "could not append to the checkpoint log");
            }
        }
    });
    (tx, handle)
}

async fn abort(ctx: &mut WriteCtx, finishers: Vec<Finisher>, e: StoreError) -> Result<()> {
    let msg = format!("the write was not committed: {e}");
    ctx.pending.clear();
    ctx.deferred = Deferred::default();
    let _ = ctx.conn.execute("ROLLBACK").await;
    for f in finishers {
        f(Some(&msg));
    }
    Err(e)
}

async fn append_entries(ctx: &mut WriteCtx, config: &StoreConfig) -> Result<Checkpoint> {
    let Some(key) = &config.signing_key else {
        return Err(StoreError::Unavailable(
            "no audit signing key is configured; writes are refused".into(),
        ));
    };
    let head = sqlx::query("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut ctx.conn)
        .await?;
    let (mut seq, mut prev) = match head {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS.to_owned()),
    };
    let pending = std::mem::take(&mut ctx.pending);
    let mut entries = Vec::with_capacity(pending.len());
    for p in &pending {
        seq += 1;
        let mut e = AuditEntry {
            seq,
            at: ts(p.at),
            actor: p.actor.clone(),
            org_id: p.org_id.clone(),
            action: p.action.clone(),
            entity: p.entity.to_owned(),
            entity_id: p.entity_id.clone(),
            before_digest: p.before_digest.clone(),
            after_digest: p.after_digest.clone(),
            prev_hash: prev,
            hash: String::new(),
            redacted: false,
        };
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        entries.push(e);
    }
    ctx.pending = pending;
    for chunk in entries.chunks(200) {
        let sql = format!(
            "INSERT INTO audit_entries (seq, at, actor, org_id, action, entity, entity_id, before_digest, after_digest, prev_hash, hash) VALUES {}",
            crate::db::values_list(chunk.len(), 11)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.seq)
                .bind(e.at.clone())
                .bind(e.actor.clone())
                .bind(e.org_id.clone())
                .bind(e.action.clone())
                .bind(e.entity.clone())
                .bind(e.entity_id.clone())
                .bind(e.before_digest.clone())
                .bind(e.after_digest.clone())
                .bind(e.prev_hash.clone())
                .bind(e.hash.clone());
        }
        q.execute(&mut ctx.conn).await?;
    }
    let last = entries
        .last()
        .expect("append_entries is called with pending entries");
    let cp = key.checkpoint(last.seq, &last.hash, &ts(ctx.now));
    sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, public_key, signature) VALUES ($1, $2, $3, $4, $5)")
        .bind(cp.seq)
        .bind(cp.hash.clone())
        .bind(cp.at.clone())
        .bind(cp.public_key.clone())
        .bind(cp.signature.clone())
        .execute(&mut ctx.conn)
        .await?;
    Ok(cp)
}
