//! The embedded event store: one SQLite file in WAL mode, written by a single group-committing
//! writer thread and read through a small pool of read-only connections.
//!
//! # Writing
//!
//! Every append is encoded on the caller's task and sent over a bounded channel to the writer
//! thread, which owns the only write connection. The writer takes one request, drains whatever
//! else is already queued (up to [`SqliteOptions::max_batch`]), checks and inserts each request
//! in one `BEGIN IMMEDIATE` transaction and commits once, so one fsync (`synchronous=FULL`)
//! acknowledges the whole batch. Each request is validated (idempotency, expected revision)
//! before any of its rows are inserted, so a rejected request leaves no trace and does not
//! affect the others. A database error, in contrast, rolls back and fails the whole batch: after
//! an I/O error SQLite may already have rolled the transaction back on its own, and continuing
//! would autocommit the rest of the batch behind the callers' backs.
//!
//! Positions are assigned by the writer alone, from `max(position) + 1` read inside each batch's
//! transaction, so the log is gapless in commit order.
//!
//! Where each stream is (its revisions and their positions) is not an index on the log: the
//! writer keeps the newest events' places in memory and moves them into a table in batches
//! ([`crate::sqlite_streams`]), so a commit touching many streams writes the log's pages and
//! not a page of the index per stream.
//!
//! # The hash chain
//!
//! The writer also hashes each event it inserts onto the chain (see [`crate::chain`]) in the
//! same transaction, and records the daily anchor when the first event of a later local day
//! arrives. The chain's tip (last position and hash, latest recording time, current day) is
//! kept in memory, read at open, and replaced only after a batch commits; a batch that finds
//! the log's head elsewhere than the tip re-reads it. `recorded_at` never goes backwards along
//! the log, even if the system clock does, so every day ends once. A store written before the
//! chain existed is chained at open, in one transaction ([`crate::sqlite_chain`]).
//!
//! # Reading
//!
//! Reads run on read-only connections; WAL lets them proceed while the writer commits. A
//! read of a few hundred rows at most (a command's look at its stream, a subscription's read
//! of the last commits, a chain link) runs on the calling task's own thread, and longer ones
//! on `spawn_blocking`: see [`ReadPool::run_sized`]. After each commit the writer publishes
//! the new head on a `watch` channel; [`SqliteEventStore::head`] reads it without touching
//! the database and subscriptions wait on it. Because positions are gapless and published
//! only after commit, "every event with a position above the last one seen" is exactly the
//! set a subscription still owes its reader.
//!
//! Timestamps are stored as microseconds since the epoch: sub-microsecond precision of
//! `occurred_at` is dropped.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use talo_events_schema::envelope::{
    Actor, ActorRole, Channel, EventMetadata, NewEvent, Position, RecordedEvent, StoredPayload,
};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use uuid::Uuid;

use crate::chain::{ChainLink, ChainedEvent, DailyAnchor};
use crate::sqlite_chain::{self, ChainTip};
use crate::sqlite_mentions::{self, MentionIndex, Replaying, Replays};
use crate::sqlite_streams::{PendingPlaces, StreamIndex};
use crate::verify::ChainReport;
use crate::{
    AppendResult, CurrentRevision, Direction, EventStore, ExpectedRevision, LogFilter, StoreError,
    StreamFrom, Subscription, validate_stream_name,
};

/// Schema migrations in order; `PRAGMA user_version` counts how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_events.sql"),
    include_str!("../migrations/0002_hash_chain.sql"),
    include_str!("../migrations/0003_stream_index.sql"),
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many events a subscription reads per query while catching up.
const SUBSCRIPTION_BATCH: usize = 1000;

/// How many pages a subscription that is catching up reads at once ([`SubscriptionState`]).
/// Three of the four read connections: two took a replay of ten million events from 1.55 to
/// 1.72 cores busy, three to 1.83 (BENCHMARKS.md, eleventh part); a read waiting for the fourth
/// meanwhile waits at most about a millisecond, the time one page takes.
const READ_AHEAD: usize = 3;

/// Reads of at most this many events run on the caller's thread ([`ReadPool::run_sized`]).
/// One group commit under 64 concurrent commands holds about 130 events (each fault report
/// with its ticket number), and the subscription that follows the log reads it in one go.
const SHORT_READ: usize = 256;

/// How many rows a read of at most `at_most` events after position `after` can find, with the
/// log's head at `head`: what decides where the read runs ([`ReadPool::run_sized`]).
fn rows_after(head: u64, after: u64, at_most: usize) -> usize {
    usize::try_from(head.saturating_sub(after)).map_or(at_most, |rows| rows.min(at_most))
}

/// The columns every read selects, in the order [`decode`] expects them.
macro_rules! select_events {
    ($($rest:literal),*) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, \
             occurred_at, recorded_at, actor_id, actor_role, channel, correlation_id, \
             causation_id, organisation_id, property_id, idempotency_key, payload FROM events",
            $($rest),*
        )
    };
}

const INSERT_EVENT: &str = "INSERT INTO events (position, event_id, stream, revision, \
     event_type, schema_version, occurred_at, recorded_at, actor_id, actor_role, channel, \
     correlation_id, causation_id, organisation_id, property_id, idempotency_key, payload, \
     previous_hash, hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// How to open a [`SqliteEventStore`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file; created (with its parent directories) if missing.
    pub path: PathBuf,
    /// Most append requests committed in one transaction.
    pub max_batch: usize,
    /// Most read-only connections, and so most reads running at once.
    pub read_connections: usize,
    /// Append requests that may wait for the writer before appenders are held back.
    pub queue_capacity: usize,
    /// Where the writer reads the time it records events at.
    pub clock: RecordingClock,
    /// The writer moves the places of recent events into the stream index table, at most
    /// this many at a time, once this many wait in memory (and from a sixteenth of it when no
    /// append is waiting): see `sqlite_streams.rs`. Appends wait while a flush runs.
    pub stream_index_flush_at: usize,
    /// Events per segment of the mention index, which a thread of its own keeps beside the
    /// store for reads by [`LogFilter::mentions`] (see `sqlite_mentions.rs`); 0 keeps none,
    /// and such reads scan the log.
    pub mention_segment: usize,
}

/// The clock the writer stamps `recorded_at` with: the system clock, or a fixed one in tests
/// of anything that depends on the recording day (the daily anchors).
#[derive(Clone)]
pub struct RecordingClock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl RecordingClock {
    pub fn system() -> Self {
        RecordingClock(Arc::new(Utc::now))
    }

    pub fn new(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        RecordingClock(Arc::new(now))
    }

    fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl fmt::Debug for RecordingClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordingClock")
    }
}

impl SqliteOptions {
    /// Options with defaults suited to a single server: batches of up to 256 appends, four
    /// read connections.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            max_batch: 256,
            read_connections: 4,
            queue_capacity: 4096,
            clock: RecordingClock::system(),
            stream_index_flush_at: 16_384,
            mention_segment: 8_192,
        }
    }
}

/// Counters of the writer since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteStats {
    /// Transactions committed that wrote at least one event (one fsync each).
    pub commits: u64,
    /// Append requests that wrote events.
    pub appends: u64,
    /// Events written.
    pub events: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    appends: AtomicU64,
    events: AtomicU64,
}

/// The embedded event store. Cheap to clone: clones share one writer and one read pool.
///
/// Only one store may have a given file open at a time (positions are assigned by its writer).
/// Call [`SqliteEventStore::close`] to stop the writer before reopening the file; dropping the
/// last clone also stops it, blocking the dropping thread until the last batch is committed.
#[derive(Clone)]
pub struct SqliteEventStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` once closed; appenders clone it so the lock is never held across an await.
    requests: RwLock<Option<mpsc::Sender<WriterJob>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer's connection and state: the writer thread's, and a lone appender's while
    /// the thread has nothing to do ([`SqliteEventStore::append_here`]). `None` once the
    /// writer has stopped.
    log: Arc<Mutex<Option<Writer>>>,
    /// Appends under way (from the call to its answer), and how many appends in a row found
    /// none other under way ([`Appending`]).
    appending: AtomicUsize,
    alone_in_a_row: AtomicUsize,
    readers: Arc<ReadPool>,
    streams: StreamIndex,
    mentions: Option<MentionIndex>,
    /// Subscriptions replaying the log, which the mention indexer waits for.
    replays: Replays,
    head: watch::Receiver<u64>,
    counters: Arc<Counters>,
}

impl fmt::Debug for SqliteEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteEventStore")
            .field("path", &self.inner.readers.path)
            .field("head", &*self.inner.head.borrow())
            .finish_non_exhaustive()
    }
}

impl SqliteEventStore {
    /// Opens (creating if needed) and migrates the database, then starts the writer thread.
    ///
    /// Blocking: it does file I/O and may wait for a previous writer's last commit. Call it
    /// at start-up or inside `spawn_blocking`.
    pub fn open(options: SqliteOptions) -> Result<Self, StoreError> {
        if let Some(parent) = options.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Backend(format!(
                    "create directory {} for the event store: {e}",
                    parent.display()
                ))
            })?;
        }
        let mut conn = Connection::open(&options.path).ctx("open the event store database")?;
        configure_writer(&conn)?;
        migrate(&mut conn)?;
        let backfilled = sqlite_chain::backfill(&mut conn)?;
        if backfilled > 0 {
            tracing::info!(
                events = backfilled,
                "chained the events stored before the hash chain"
            );
        }
        let tip = ChainTip::load(&conn)?;
        let head = to_u64(tip.position, "position")?;
        let streams = StreamIndex::load(&conn)?;

        let (head_tx, head_rx) = watch::channel(head);
        let replays = Replays::default();
        let mentions = match options.mention_segment {
            0 => None,
            segment => Some(MentionIndex::open(
                &options.path,
                &conn,
                segment,
                head_rx.clone(),
                replays.clone(),
            )?),
        };
        let (requests_tx, requests_rx) = mpsc::channel(options.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let log = Arc::new(Mutex::new(Some(Writer {
            conn,
            head: head_tx,
            counters: Arc::clone(&counters),
            tip,
            clock: options.clock.clone(),
            streams: streams.clone(),
            flush_at: options.stream_index_flush_at.max(1),
        })));
        let thread_log = Arc::clone(&log);
        let max_batch = options.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("talo-store-writer".to_owned())
            .spawn(move || run_writer(requests_rx, &thread_log, max_batch))
            .map_err(|e| StoreError::Backend(format!("start the event store writer: {e}")))?;
        tracing::debug!(path = %options.path.display(), head, "event store opened");

        Ok(SqliteEventStore {
            inner: Arc::new(Inner {
                requests: RwLock::new(Some(requests_tx)),
                writer: Mutex::new(Some(handle)),
                log,
                appending: AtomicUsize::new(0),
                alone_in_a_row: AtomicUsize::new(0),
                readers: Arc::new(ReadPool::new(
                    options.path,
                    options.read_connections,
                    mentions.as_ref().map(|m| m.path().to_owned()),
                )),
                streams,
                mentions,
                replays,
                head: head_rx,
                counters,
            }),
        })
    }

    /// Stops accepting appends, lets the writer commit what it already received, and waits
    /// for it to close the database. Reads, appends and subscriptions then fail with
    /// [`StoreError::Closed`]. Closing twice is harmless.
    pub async fn close(&self) {
        let handle = self.inner.shut_down();
        let inner = Arc::clone(&self.inner);
        let stopped = tokio::task::spawn_blocking(move || {
            inner.stop_indexing();
            handle.map(JoinHandle::join)
        });
        match stopped.await {
            Ok(None | Some(Ok(()))) => {}
            Ok(Some(Err(_))) => tracing::error!("event store writer panicked"),
            Err(e) => tracing::error!(error = %e, "waiting for the event store writer failed"),
        }
    }

    /// Every event at or below this position is in the mention index (`None` without one).
    pub fn mentions_indexed_through(&self) -> Option<u64> {
        self.inner
            .mentions
            .as_ref()
            .map(|m| u64::try_from(m.through()).unwrap_or(0))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.readers.path
    }

    /// What the writer has done since the store was opened.
    pub fn stats(&self) -> SqliteStats {
        let c = &self.inner.counters;
        SqliteStats {
            commits: c.commits.load(Ordering::Relaxed),
            appends: c.appends.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.readers.is_closed()
    }

    /// Commits a lone append on the calling thread, when no other append is under way and the
    /// writer thread is idle; gives the request back otherwise.
    ///
    /// Handing an append to the writer thread and its answer back costs two thread wake-ups,
    /// about 43 µs here (`BENCHMARKS.md`, eleventh part), which a single sequential writer
    /// pays on every append and raw SQLite's one-thread loop does not. The commit (and its
    /// fsync) then holds this thread, as a short read does: only one append at a time can,
    /// and under concurrent appends every request goes to the writer thread, which batches
    /// them. Only on a multi-threaded runtime, so other tasks keep a worker meanwhile. (A
    /// database locked by another process holds this thread up to the busy timeout, as it
    /// would hold the writer thread.)
    fn append_here(
        &self,
        request: AppendRequest,
        sender: &mpsc::Sender<WriterJob>,
        lone_writer: bool,
    ) -> Result<(), AppendRequest> {
        let multi_threaded = tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
            runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
        if !lone_writer || !multi_threaded || sender.capacity() != sender.max_capacity() {
            return Err(request);
        }
        let Ok(mut log) = self.inner.log.try_lock() else {
            return Err(request);
        };
        let Some(writer) = log.as_mut() else {
            // The writer has stopped: the queue answers `Closed`.
            return Err(request);
        };
        let mut batch = vec![request];
        writer.commit(&mut batch);
        let tidy = writer.streams.unflushed() >= writer.flush_at / 16;
        drop(log);
        if tidy {
            // The stream index is flushed on the writer thread, as after its own commits.
            let _ = sender.try_send(WriterJob::Tidy);
        }
        Ok(())
    }

    /// Walks the whole log in order, recomputing every event's hash and every daily anchor,
    /// and reports how far the chain holds and where it first breaks. `progress` hears
    /// (events verified, events in the log) as the walk goes.
    ///
    /// A break is an answer, not an error: the `Err` is for a store that cannot be read.
    pub async fn verify_chain(
        &self,
        mut progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<ChainReport, StoreError> {
        let pool = Arc::clone(&self.inner.readers);
        self.inner
            .readers
            .run(move |conn| sqlite_chain::verify(conn, &|| pool.open(), &mut progress))
            .await
    }
}

impl Inner {
    /// Drops the request sender (so the writer exits once the queue is drained) and closes
    /// the read pool; returns the writer thread to join, if nobody has taken it yet.
    fn shut_down(&self) -> Option<JoinHandle<()>> {
        drop(
            self.requests
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        self.readers.close();
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Stops the mention indexer and waits for it (at most the segment it is writing).
    fn stop_indexing(&self) {
        if let Some(mentions) = &self.mentions {
            mentions.stop();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_indexing();
        if let Some(handle) = self.shut_down()
            && handle.join().is_err()
        {
            tracing::error!("event store writer panicked");
        }
    }
}

#[async_trait::async_trait]
impl EventStore for SqliteEventStore {
    async fn close(&self) {
        SqliteEventStore::close(self).await
    }

    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_stream_name(stream)?;
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let mut seen = HashSet::with_capacity(events.len());
        if let Some(dup) = events.iter().find(|e| !seen.insert(e.event_id)) {
            return Err(StoreError::EventIdConflict {
                event_id: dup.event_id,
            });
        }
        let events = events
            .iter()
            .map(EncodedEvent::encode)
            .collect::<Result<Vec<_>, _>>()?;

        let sender = self
            .inner
            .requests
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::Closed)?;
        let (reply, response) = oneshot::channel();
        let request = AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        let appending = Appending::start(&self.inner.appending, &self.inner.alone_in_a_row);
        let request = match self.append_here(request, &sender, appending.lone_writer) {
            Ok(()) => return response.await.map_err(|_| StoreError::Closed)?,
            Err(request) => request,
        };
        sender
            .send(WriterJob::Append(request))
            .await
            .map_err(|_| StoreError::Closed)?;
        // Holding the clone while waiting would keep a closing writer alive for nothing.
        drop(sender);
        response.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let bound = match (direction, from) {
            // Nothing comes after the end.
            (Direction::Forwards, StreamFrom::End) => return Ok(Vec::new()),
            (_, StreamFrom::Start) => 0,
            (_, StreamFrom::Revision(n)) => clamp(n),
            (Direction::Backwards, StreamFrom::End) => i64::MAX,
        };
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let stream = stream.to_owned();
        let streams = self.inner.streams.clone();
        self.inner
            .readers
            .run_sized(max_count, move |conn| {
                read_stream(conn, &streams, &stream, direction, bound, max_count)
            })
            .await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let through = self.inner.streams.through();
        if let Some(index) = &self.inner.mentions {
            let indexed = index.through();
            if let Some(id) = filter.mentions {
                let filter = filter.clone();
                return self
                    .inner
                    .readers
                    .run(move |conn| {
                        read_mentioning(conn, &filter, id, after, max_count, indexed, through)
                    })
                    .await;
            }
            if filter.occurred_from.is_some() || filter.occurred_until.is_some() {
                let filter = filter.clone();
                return self
                    .inner
                    .readers
                    .run(move |conn| {
                        read_in_window(conn, &filter, after, max_count, indexed, through)
                    })
                    .await;
            }
        }
        let (sql, params) = log_query(filter, LogBound::After(after), max_count, through);
        let rows = rows_after(*self.inner.head.borrow(), after.commit, max_count);
        self.inner
            .readers
            .run_sized(rows, move |conn| {
                query_events(conn, &sql, rusqlite::params_from_iter(params), max_count)
            })
            .await
    }

    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let through = self.inner.streams.through();
        let (sql, params) = log_query(filter, LogBound::Before(before), max_count, through);
        self.inner
            .readers
            .run(move |conn| {
                query_events(conn, &sql, rusqlite::params_from_iter(params), max_count)
            })
            .await
    }

    async fn head(&self) -> Result<Position, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        Ok(Position::sequence(*self.inner.head.borrow()))
    }

    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError> {
        let at = clamp(position.commit);
        let links = self
            .inner
            .readers
            .run_sized(1, move |conn| {
                sqlite_chain::read_links(conn, CHAIN_LINK_AT, [at])
            })
            .await?;
        Ok(links.into_iter().next())
    }

    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let params = [clamp(after.commit), clamp_usize(max_count)];
        self.inner
            .readers
            .run(move |conn| sqlite_chain::read_links(conn, CHAIN_AFTER, params))
            .await
    }

    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
        let links = self
            .inner
            .readers
            .run_sized(1, |conn| sqlite_chain::read_links(conn, CHAIN_HEAD, []))
            .await?;
        Ok(links.into_iter().next())
    }

    async fn anchors(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError> {
        if from > until {
            return Ok(Vec::new());
        }
        self.inner
            .readers
            .run(move |conn| sqlite_chain::read_anchors(conn, from, until))
            .await
    }

    fn subscribe_all(&self, after: Position) -> Subscription {
        let state = SubscriptionState {
            readers: Arc::clone(&self.inner.readers),
            head: self.inner.head.clone(),
            last: after.commit,
            buffer: VecDeque::new(),
            ahead: VecDeque::new(),
            replays: self.inner.replays.clone(),
            replaying: None,
            done: false,
        };
        Box::pin(futures::stream::unfold(state, SubscriptionState::next))
    }
}

const CHAIN_LINK_AT: &str = "SELECT position, hash, previous_hash FROM events WHERE position = ?1";
const CHAIN_AFTER: &str = "SELECT position, hash, previous_hash FROM events WHERE position > ?1 \
     ORDER BY position LIMIT ?2";
const CHAIN_HEAD: &str =
    "SELECT position, hash, previous_hash FROM events ORDER BY position DESC LIMIT 1";

/// A stream's stored part (see `sqlite_streams.rs`): its events at or below `?3`, from
/// revision `?2` on, at most `?4`, read through the stream index table. The columns are
/// those of [`select_events!`], qualified.
macro_rules! select_stored_events {
    ($($rest:literal),*) => {
        concat!(
            "SELECT e.position, e.event_id, e.stream, e.revision, e.event_type, \
             e.schema_version, e.occurred_at, e.recorded_at, e.actor_id, e.actor_role, \
             e.channel, e.correlation_id, e.causation_id, e.organisation_id, e.property_id, \
             e.idempotency_key, e.payload \
             FROM stream_index i CROSS JOIN events e ON e.position = i.position \
             WHERE i.stream = ?1 AND i.position <= ?3 AND ",
            $($rest),*
        )
    };
}
const READ_STORED_FORWARDS: &str =
    select_stored_events!("i.revision >= ?2 ORDER BY i.revision LIMIT ?4");
const READ_STORED_BACKWARDS: &str =
    select_stored_events!("i.revision <= ?2 ORDER BY i.revision DESC LIMIT ?4");
const READ_AT: &str = select_events!(" WHERE position = ?1");

/// Reads a stream from revision `bound` on (forwards) or down (backwards): the places in
/// memory and the stored ones, as of one moment.
fn read_stream(
    conn: &Connection,
    streams: &StreamIndex,
    stream: &str,
    direction: Direction,
    bound: i64,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let (through, recent) = streams.recent(stream);
    let stored = |events: &mut Vec<RecordedEvent>, sql: &str| -> Result<(), StoreError> {
        let limit = clamp_usize(max_count - events.len());
        let params = rusqlite::params![stream, bound, through, limit];
        events.extend(query_events(conn, sql, params, max_count - events.len())?);
        Ok(())
    };
    let mut events = Vec::new();
    match direction {
        Direction::Forwards => {
            stored(&mut events, READ_STORED_FORWARDS)?;
            for &(_, position) in recent.iter().filter(|(r, _)| *r >= bound) {
                if events.len() == max_count {
                    break;
                }
                events.push(read_at(conn, position)?);
            }
        }
        Direction::Backwards => {
            for &(_, position) in recent.iter().rev().filter(|(r, _)| *r <= bound) {
                if events.len() == max_count {
                    break;
                }
                events.push(read_at(conn, position)?);
            }
            if events.len() < max_count {
                stored(&mut events, READ_STORED_BACKWARDS)?;
            }
        }
    }
    Ok(events)
}

/// The event at `position`, which the stream index says is there.
fn read_at(conn: &Connection, position: i64) -> Result<RecordedEvent, StoreError> {
    query_events(conn, READ_AT, [position], 1)?
        .pop()
        .ok_or_else(|| {
            StoreError::Backend(format!(
                "the stream index places an event at position {position}, but the log has none there"
            ))
        })
}

enum LogBound {
    After(Position),
    Before(Option<Position>),
    /// These positions, in ascending order.
    Among(Vec<i64>),
    /// After the first, up to and including the second.
    Within(i64, i64),
}

/// [`EventStore::read_all`] for a filter with a business-time window (and no `mentions`), on a
/// connection with the mention index attached: of the events at or below `indexed`, only the
/// segments whose business times meet the window are read; the events after it are scanned.
fn read_in_window(
    conn: &Connection,
    filter: &LogFilter,
    after: Position,
    max_count: usize,
    indexed: i64,
    through: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let after = clamp(after.commit);
    let spans = sqlite_mentions::spans_meeting(
        conn,
        after,
        indexed,
        filter.occurred_from.map(|t| t.timestamp_micros()),
        filter.occurred_until.map(|t| t.timestamp_micros()),
    )?;
    let bounds = spans
        .into_iter()
        .map(|(first, last)| LogBound::Within((first - 1).max(after), last))
        .chain([LogBound::Within(after.max(indexed), i64::MAX)]);
    let mut found = Vec::new();
    for bound in bounds {
        read_more(conn, &mut found, max_count, filter, bound, through)?;
        if found.len() == max_count {
            break;
        }
    }
    Ok(found)
}

/// Reads into `found` the events within `bound` that pass `filter`, until it holds `max_count`.
fn read_more(
    conn: &Connection,
    found: &mut Vec<RecordedEvent>,
    max_count: usize,
    filter: &LogFilter,
    bound: LogBound,
    through: i64,
) -> Result<(), StoreError> {
    let wanted = max_count.saturating_sub(found.len());
    let (sql, params) = log_query(filter, bound, wanted, through);
    found.extend(query_events(
        conn,
        &sql,
        rusqlite::params_from_iter(params),
        wanted,
    )?);
    Ok(())
}

/// [`EventStore::read_all`] for a filter with `mentions`, on a connection with the mention
/// index attached: the index names the events at or below `indexed`, which are read by
/// position and narrowed by the rest of the filter; the events after it are scanned.
fn read_mentioning(
    conn: &Connection,
    filter: &LogFilter,
    id: Uuid,
    after: Position,
    max_count: usize,
    indexed: i64,
    through: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    /// Positions looked up at a time: every parameter of the read that follows is one.
    const LOOKUP: usize = 512;
    let envelope = LogFilter {
        mentions: None,
        ..filter.clone()
    };
    let mut found = Vec::new();
    let mut from = clamp(after.commit);
    while from < indexed && found.len() < max_count {
        let asked = (max_count - found.len()).min(LOOKUP);
        let positions = sqlite_mentions::positions(conn, id, from, indexed, asked)?;
        let Some(&last) = positions.last() else {
            break;
        };
        let exhausted = positions.len() < asked;
        let among = LogBound::Among(positions);
        read_more(conn, &mut found, max_count, &envelope, among, through)?;
        from = last;
        if exhausted {
            break;
        }
    }
    if found.len() < max_count {
        let tail = LogBound::Within(from.max(indexed), i64::MAX);
        read_more(conn, &mut found, max_count, filter, tail, through)?;
    }
    Ok(found)
}

/// Builds a read of the global log from fixed SQL fragments; every value is a parameter.
/// `through` is how far the stream index table was complete when the read was asked for (any
/// earlier value is as right, only slower).
fn log_query(
    filter: &LogFilter,
    bound: LogBound,
    max_count: usize,
    through: i64,
) -> (String, Vec<Value>) {
    let mut sql = String::from(select_events!());
    let mut params = Vec::new();
    let backwards = match bound {
        LogBound::After(after) => {
            sql.push_str(" WHERE position > ?");
            params.push(Value::Integer(clamp(after.commit)));
            false
        }
        LogBound::Before(before) => {
            sql.push_str(" WHERE position < ?");
            params.push(Value::Integer(before.map_or(i64::MAX, |p| clamp(p.commit))));
            true
        }
        LogBound::Within(after, last) => {
            sql.push_str(" WHERE position > ? AND position <= ?");
            params.extend([Value::Integer(after), Value::Integer(last)]);
            false
        }
        LogBound::Among(positions) => {
            sql.push_str(" WHERE position IN (");
            for (i, position) in positions.into_iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                params.push(Value::Integer(position));
            }
            sql.push(')');
            false
        }
    };
    if let Some(org) = filter.organisation_id {
        sql.push_str(" AND organisation_id = ?");
        params.push(Value::Blob(org.as_bytes().to_vec()));
    }
    if let Some(stream) = &filter.stream {
        // The stored places, and the few events after them looked at one by one.
        sql.push_str(
            " AND position IN (SELECT position FROM stream_index WHERE stream = ? AND position <= ? \
             UNION ALL SELECT position FROM events WHERE position > ? AND stream = ?)",
        );
        params.extend([
            Value::Text(stream.clone()),
            Value::Integer(through),
            Value::Integer(through),
            Value::Text(stream.clone()),
        ]);
    }
    if !filter.event_types.is_empty() {
        sql.push_str(" AND event_type IN (?");
        sql.push_str(&", ?".repeat(filter.event_types.len() - 1));
        sql.push(')');
        params.extend(filter.event_types.iter().cloned().map(Value::Text));
    }
    if let Some(id) = filter.mentions {
        // As `LogFilter::mentions` says, evaluated by SQLite row by row: the rows that do not
        // mention the id are never copied out (without the mention index, an entity's history
        // scans the whole log). `GLOB` rather than `instr`: a quarter faster over ten million
        // payloads, and as exact (case-sensitive, and an id's text holds none of its
        // wildcards).
        sql.push_str(
            " AND (substr(stream, -36) = ? OR actor_id = ? OR property_id = ? \
             OR payload GLOB ?)",
        );
        let text = id.to_string();
        params.extend([
            Value::Text(text.clone()),
            Value::Blob(id.as_bytes().to_vec()),
            Value::Blob(id.as_bytes().to_vec()),
            Value::Text(format!("*\"{text}\"*")),
        ]);
    }
    if let Some(from) = filter.occurred_from {
        sql.push_str(" AND occurred_at >= ?");
        params.push(Value::Integer(from.timestamp_micros()));
    }
    if let Some(until) = filter.occurred_until {
        sql.push_str(" AND occurred_at < ?");
        params.push(Value::Integer(until.timestamp_micros()));
    }
    sql.push_str(if backwards {
        " ORDER BY position DESC LIMIT ?"
    } else {
        " ORDER BY position LIMIT ?"
    });
    params.push(Value::Integer(clamp_usize(max_count)));
    (sql, params)
}

struct SubscriptionState {
    readers: Arc<ReadPool>,
    head: watch::Receiver<u64>,
    /// Position of the last event handed to the buffer.
    last: u64,
    buffer: VecDeque<RecordedEvent>,
    /// Pages being read ahead while catching up, in log order: each covers the
    /// `SUBSCRIPTION_BATCH` positions after the one before it, the first those after `last`.
    ahead: VecDeque<PageRead>,
    /// Counted among the store's replays while reading ahead, so the mention indexer waits
    /// for it rather than take one of the cores it reads and folds on.
    replays: Replays,
    replaying: Option<Replaying>,
    /// An error was yielded; the stream ends.
    done: bool,
}

/// A page of the log being read on the blocking pool: the `SUBSCRIPTION_BATCH` positions up to
/// and including `through`.
struct PageRead {
    through: u64,
    read: tokio::task::JoinHandle<Result<Vec<RecordedEvent>, StoreError>>,
}

impl SubscriptionState {
    async fn next(mut self) -> Option<(Result<RecordedEvent, StoreError>, Self)> {
        if self.done {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some((Ok(event), self));
            }
            let last = self.last;
            // `wait_for` checks the current value first, so a commit published before this
            // call is not missed.
            let head = self
                .head
                .wait_for(|head| *head > last)
                .await
                .map(|head| *head);
            let Ok(head) = head else {
                return self.fail(StoreError::Closed);
            };
            self.read_ahead(head);
            if let Some(page) = self.ahead.pop_front() {
                let events = page.read.await.unwrap_or_else(|e| {
                    Err(StoreError::Backend(format!("event store read task: {e}")))
                });
                match events {
                    // Every position of the page is committed (it ends at or before the
                    // head), so whatever it found is all there is in it.
                    Ok(events) => {
                        self.last = page.through;
                        self.buffer.extend(events);
                        continue;
                    }
                    Err(e) => return self.fail(e),
                }
            }
            // Following the log live, a read finds the few events of the last commits.
            self.replaying = None;
            let rows = rows_after(head, last, SUBSCRIPTION_BATCH);
            let events = self
                .readers
                .run_sized(rows, move |conn| {
                    query_events(
                        conn,
                        READ_LOG_AFTER,
                        rusqlite::params![clamp(last), clamp_usize(SUBSCRIPTION_BATCH)],
                        SUBSCRIPTION_BATCH,
                    )
                })
                .await;
            match events {
                Ok(events) => match events.last() {
                    Some(newest) => {
                        self.last = newest.position.commit;
                        self.buffer.extend(events);
                    }
                    // Waiting again would spin: the head said there is more.
                    None => {
                        return self.fail(StoreError::Backend(format!(
                            "the log ends at {last} but its head was announced past it"
                        )));
                    }
                },
                Err(e) => return self.fail(e),
            }
        }
    }

    /// Starts reading the next pages while more than a page behind `head`, so that reading
    /// the log (a replay's one sequential stage, about 1 µs per event) runs on both cores
    /// while earlier pages are decoded and folded (BENCHMARKS.md, eleventh part).
    fn read_ahead(&mut self, head: u64) {
        let batch = SUBSCRIPTION_BATCH as u64;
        while self.ahead.len() < READ_AHEAD {
            let after = self.ahead.back().map_or(self.last, |page| page.through);
            let through = after + batch;
            if through > head {
                return;
            }
            let readers = Arc::clone(&self.readers);
            let read = tokio::spawn(async move {
                readers
                    .run(move |conn| {
                        query_events(
                            conn,
                            READ_LOG_BETWEEN,
                            rusqlite::params![clamp(after), clamp(through)],
                            SUBSCRIPTION_BATCH,
                        )
                    })
                    .await
            });
            self.ahead.push_back(PageRead { through, read });
            if self.replaying.is_none() {
                self.replaying = Some(self.replays.start());
            }
        }
    }

    fn fail(mut self, error: StoreError) -> Option<(Result<RecordedEvent, StoreError>, Self)> {
        self.done = true;
        self.replaying = None;
        self.buffer.clear();
        // Reads under way finish on their own; their pages are not wanted.
        self.ahead.clear();
        Some((Err(error), self))
    }
}

const READ_LOG_AFTER: &str = select_events!(" WHERE position > ?1 ORDER BY position LIMIT ?2");
const READ_LOG_BETWEEN: &str =
    select_events!(" WHERE position > ?1 AND position <= ?2 ORDER BY position");

/// Read-only connections, opened on demand and kept for reuse.
struct ReadPool {
    path: PathBuf,
    /// Attached to every connection as `mention_index` ([`crate::sqlite_mentions`]).
    mention_index: Option<PathBuf>,
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may exist; closed when the store closes.
    permits: Arc<Semaphore>,
}

impl ReadPool {
    fn new(path: PathBuf, connections: usize, mention_index: Option<PathBuf>) -> Self {
        ReadPool {
            path,
            mention_index,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(connections.max(1))),
        }
    }

    /// Runs a read of at most `rows` rows: on the calling thread when that is at most
    /// [`SHORT_READ`], else on the blocking pool.
    ///
    /// A short read on cached pages takes from a few to a few hundred microseconds, and
    /// handing it to the blocking pool and back wakes two threads. Under 64 concurrent
    /// `reportFault` mutations the server spent a fifth of its time switching threads: each
    /// command reads its stream, and the read models' subscription reads the log after every
    /// commit; served here they took about a fifth more requests/s (BENCHMARKS.md, eighth
    /// part). A short read that finds its pages on disk, or waits out a busy database, holds
    /// one async worker meanwhile; a long one (a page of a replay) would hold it for
    /// milliseconds, so it goes to the pool.
    async fn run_sized<T, F>(self: &Arc<Self>, rows: usize, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        if rows > SHORT_READ {
            return self.run(read).await;
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        self.with_connection(read)
    }

    /// Runs a read on the blocking pool.
    async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            pool.with_connection(read)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("event store read task: {e}")))?
    }

    /// Runs `read` on an idle connection (or a new one), then gives the connection back.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.checkout()?;
        let result = read(&conn);
        self.checkin(conn);
        result
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.lock_idle().pop() {
            return Ok(conn);
        }
        self.open()
    }

    /// A new read connection, outside the pool's count: for the chain verifier's readers.
    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ctx("open a read connection")?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("configure a read connection")?;
        keep_plans(&conn)?;
        if let Some(index) = &self.mention_index {
            sqlite_mentions::attach(&conn, index)?;
        }
        Ok(conn)
    }

    fn checkin(&self, conn: Connection) {
        // Checked under the lock so a concurrent close cannot leave a connection behind.
        let mut idle = self.lock_idle();
        if !self.permits.is_closed() {
            idle.push(conn);
        }
    }

    fn close(&self) {
        let mut idle = self.lock_idle();
        self.permits.close();
        idle.clear();
    }

    fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the vector half-updated.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct AppendRequest {
    stream: String,
    expected: ExpectedRevision,
    events: Vec<EncodedEvent>,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// A [`NewEvent`] in its column representation, prepared off the writer thread.
struct EncodedEvent {
    event_id: Uuid,
    event_type: String,
    schema_version: i64,
    occurred_at: i64,
    actor_id: Uuid,
    actor_role: &'static str,
    channel: &'static str,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    organisation_id: Uuid,
    property_id: Option<Uuid>,
    idempotency_key: Option<String>,
    payload: String,
}

impl EncodedEvent {
    fn encode(event: &NewEvent) -> Result<Self, StoreError> {
        let m = &event.metadata;
        let payload = serde_json::to_string(&event.payload).map_err(|e| {
            StoreError::Backend(format!("encode payload of event {}: {e}", event.event_id))
        })?;
        Ok(EncodedEvent {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            schema_version: i64::from(event.schema_version),
            occurred_at: m.occurred_at.timestamp_micros(),
            actor_id: m.actor.person_id,
            actor_role: m.actor.role.as_str(),
            channel: m.channel.as_str(),
            correlation_id: m.correlation_id,
            causation_id: m.causation_id,
            organisation_id: m.organisation_id,
            property_id: m.property_id,
            idempotency_key: m.idempotency_key.clone(),
            payload,
        })
    }
}

/// What became of one request in a batch.
enum Outcome {
    Written {
        result: AppendResult,
        events: i64,
    },
    /// An identical earlier append: nothing written, its result returned.
    AlreadyAppended(AppendResult),
    Rejected(StoreError),
}

/// What the writer thread is asked to do.
enum WriterJob {
    Append(AppendRequest),
    /// Flush the stream index if it is due: sent after an append committed elsewhere
    /// ([`SqliteEventStore::append_here`]).
    Tidy,
}

/// The writer's connection and what it knows of the log: used by one thread at a time, under
/// [`Inner::log`].
struct Writer {
    conn: Connection,
    head: watch::Sender<u64>,
    counters: Arc<Counters>,
    /// The chain as of the last commit; a batch extends a copy and keeps it only once
    /// committed.
    tip: ChainTip,
    clock: RecordingClock,
    streams: StreamIndex,
    flush_at: usize,
}

/// Appends in a row that must each have found no other under way before one is taken for a
/// lone writer's ([`SqliteEventStore::append_here`]). Under concurrent commands an append
/// often finds none under way for a moment; committing it alone then costs the others a
/// whole fsync's wait (`reportFault` at 16 and 64 connections fell from 5,000-6,700 to about
/// 3,000 requests/s when one such was enough; BENCHMARKS.md, eleventh part).
const LONE_WRITER_AFTER: usize = 32;

/// Tracks one append under way.
struct Appending<'a> {
    count: &'a AtomicUsize,
    /// Whether this append and the `LONE_WRITER_AFTER` before it each found no other under way.
    lone_writer: bool,
}

impl<'a> Appending<'a> {
    fn start(count: &'a AtomicUsize, alone_in_a_row: &AtomicUsize) -> Self {
        let lone_writer = if count.fetch_add(1, Ordering::AcqRel) == 0 {
            alone_in_a_row.fetch_add(1, Ordering::Relaxed) >= LONE_WRITER_AFTER
        } else {
            alone_in_a_row.store(0, Ordering::Relaxed);
            false
        };
        Appending { count, lone_writer }
    }
}

impl Drop for Appending<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock_writer(log: &Mutex<Option<Writer>>) -> std::sync::MutexGuard<'_, Option<Writer>> {
    // A panic in a commit leaves the transaction rolled back when its guard drops, and the
    // next batch re-reads the tip if the head moved.
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The writer thread: commits queued appends in batches of up to `max_batch`, until the
/// queue is closed and drained.
fn run_writer(
    mut requests: mpsc::Receiver<WriterJob>,
    log: &Mutex<Option<Writer>>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = requests.blocking_recv() {
        // Collected once the lock is held: whatever queued while a lone appender committed
        // joins this batch.
        let mut guard = lock_writer(log);
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if let WriterJob::Append(request) = job {
                batch.push(request);
            }
            if batch.len() < max_batch {
                next = requests.try_recv().ok();
            }
        }
        let Some(writer) = guard.as_mut() else { break };
        if !batch.is_empty() {
            writer.commit(&mut batch);
        }
        writer.store_stream_index(|| requests.is_empty());
    }
    let mut guard = lock_writer(log);
    if let Some(writer) = guard.as_mut() {
        // The next open then has nothing to rebuild.
        while writer.streams.unflushed() > 0 && writer.flush_stream_index() {}
    }
    // Closes the database; a lone appender finds `None` and goes to the (closed) queue.
    *guard = None;
    tracing::debug!("event store writer stopped");
}

impl Writer {
    /// Under load, one bounded flush per batch once enough places wait, which keeps pace with
    /// the appends; when nothing waits to be appended, flushes until (almost) nothing is left,
    /// letting any request that arrives go first.
    fn store_stream_index(&mut self, idle: impl Fn() -> bool) {
        if self.streams.unflushed() >= self.flush_at && !self.flush_stream_index() {
            return;
        }
        loop {
            let waiting = self.streams.unflushed();
            let idle = idle();
            if waiting == 0 || waiting < self.flush_at / 16 || !idle {
                return;
            }
            if !self.flush_stream_index() {
                return;
            }
        }
    }

    /// One bounded flush; whether it succeeded.
    fn flush_stream_index(&mut self) -> bool {
        let started = std::time::Instant::now();
        match self
            .streams
            .flush(&mut self.conn, self.tip.position, self.flush_at)
        {
            Ok(moved) => {
                tracing::debug!(moved, elapsed = ?started.elapsed(), "flushed the stream index");
                true
            }
            // The places stay in memory, so reads stay right; the next flush tries again.
            Err(e) => {
                tracing::error!(error = %e, "stream index flush failed");
                false
            }
        }
    }

    /// Writes and commits one batch and answers every request in it.
    fn commit(&mut self, batch: &mut Vec<AppendRequest>) {
        let requests = batch.len();
        match self.write(batch) {
            Ok(outcomes) => {
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    let answer = match outcome {
                        Outcome::Written { result, .. } | Outcome::AlreadyAppended(result) => {
                            Ok(result)
                        }
                        Outcome::Rejected(e) => Err(e),
                    };
                    // The appender may have stopped waiting; its write stands regardless.
                    let _ = request.reply.send(answer);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests, "event store batch rolled back");
                let message = e.to_string();
                for request in batch.drain(..) {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    /// Runs the batch in one transaction; an `Err` means nothing of it was committed.
    fn write(&mut self, batch: &[AppendRequest]) -> Result<Vec<Outcome>, StoreError> {
        let tx = BatchTransaction::begin(&self.conn)?;
        // Cached, not parsed again for every commit: a lone writer commits thousands a second.
        let head: i64 = tx
            .prepare_cached("SELECT coalesce(max(position), 0) FROM events")
            .ctx("prepare the head read")?
            .query_row([], |r| r.get(0))
            .ctx("read the head of the log")?;
        if head != self.tip.position {
            // Only after a commit whose outcome was unclear: the tip and the places of the
            // recent events are re-read, not guessed. The tip last, so that if either read
            // fails, the next batch finds the head moved again and retries both.
            let tip = ChainTip::load(&tx)?;
            self.streams.reload(&tx)?;
            self.tip = tip;
        }
        let mut chain = self.tip;
        // Never earlier than anything recorded before, so local days only move forwards along
        // the log and each day ends once.
        let recorded_at = self
            .clock
            .now()
            .timestamp_micros()
            .max(chain.latest_recorded_at);
        // Converted before writing: once committed, nothing may fail any more.
        let mut head_after = to_u64(head, "position")?;
        let mut next = head + 1;
        let mut outcomes = Vec::with_capacity(batch.len());
        let (mut appends, mut events) = (0_u64, 0_u64);
        let mut places = PendingPlaces::default();
        let streams = &self.streams;
        for request in batch {
            let outcome = append_one(
                &tx,
                streams,
                &mut places,
                request,
                next,
                recorded_at,
                &mut chain,
            )?;
            if let Outcome::Written { events: n, .. } = outcome {
                next += n;
                appends += 1;
                events += n as u64;
                head_after += n as u64;
            }
            outcomes.push(outcome);
        }
        tx.commit()?;
        self.tip = chain;
        // Before anyone hears of the commit, so a read after an acknowledged append finds it.
        self.streams.add(places);

        if events > 0 {
            let head = head_after;
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
            self.counters.appends.fetch_add(appends, Ordering::Relaxed);
            self.counters.events.fetch_add(events, Ordering::Relaxed);
            self.head.send_replace(head);
            tracing::debug!(
                requests = batch.len(),
                appends,
                events,
                head,
                "committed append batch"
            );
        }
        Ok(outcomes)
    }
}

/// The transaction of one append batch: `BEGIN IMMEDIATE` and `COMMIT` from the statement
/// cache, where rusqlite's own transaction parses both again every time, and a lone writer
/// commits thousands of batches a second. Rolls back when dropped uncommitted.
struct BatchTransaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> BatchTransaction<'c> {
    fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        run_cached(conn, "BEGIN IMMEDIATE", "begin an append batch")?;
        Ok(BatchTransaction { conn, open: true })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        run_cached(self.conn, "COMMIT", "commit an append batch")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for BatchTransaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for BatchTransaction<'_> {
    fn drop(&mut self) {
        // A failed COMMIT may have rolled back on its own already (SQLite does on some I/O
        // errors); only a transaction still open is rolled back here.
        if self.open
            && !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "roll back an append batch");
        }
    }
}

/// Checks one request against the log (as left by the earlier requests of the batch) and
/// inserts its events at `first_position` onwards if it is accepted.
fn append_one(
    conn: &Connection,
    streams: &StreamIndex,
    places: &mut PendingPlaces,
    request: &AppendRequest,
    first_position: i64,
    recorded_at: i64,
    chain: &mut ChainTip,
) -> Result<Outcome, StoreError> {
    let events = &request.events;
    let Some(first) = events.first() else {
        return Ok(Outcome::Rejected(StoreError::EmptyAppend));
    };
    let mut find = conn
        .prepare_cached("SELECT stream, revision, position FROM events WHERE event_id = ?1")
        .ctx("prepare the event id lookup")?;
    let mut lookup = |id: Uuid| -> Result<Option<(String, i64, i64)>, StoreError> {
        find.query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .ctx("look up an event id")
    };

    if let Some((stream, first_revision, mut position)) = lookup(first.event_id)? {
        if stream != request.stream {
            return Ok(conflict(first.event_id));
        }
        let mut revision = first_revision;
        for event in &events[1..] {
            match lookup(event.event_id)? {
                Some((s, r, p)) if s == request.stream && r == revision + 1 => {
                    revision = r;
                    position = p;
                }
                _ => return Ok(conflict(event.event_id)),
            }
        }
        return Ok(Outcome::AlreadyAppended(AppendResult {
            next_expected_revision: to_u64(revision, "revision")?,
            position: Position::sequence(to_u64(position, "position")?),
        }));
    }
    let current = streams.current_revision(conn, places, &request.stream)?;
    let current = match current {
        Some(revision) => CurrentRevision::Current(to_u64(revision, "revision")?),
        None => CurrentRevision::NoStream,
    };
    let accepted = match (request.expected, current) {
        (ExpectedRevision::Any, _)
        | (ExpectedRevision::NoStream, CurrentRevision::NoStream)
        | (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
        (ExpectedRevision::Exact(expected), CurrentRevision::Current(actual)) => expected == actual,
        _ => false,
    };
    if !accepted {
        return Ok(Outcome::Rejected(StoreError::WrongExpectedVersion {
            stream: request.stream.clone(),
            expected: request.expected,
            current,
        }));
    }

    let first_revision = match current {
        CurrentRevision::NoStream => 0,
        CurrentRevision::Current(r) => clamp(r) + 1,
    };
    // Only the first id is looked up (an identical retry starts with it). A later id already
    // in the log is found by its unique index as the event is inserted, and what the request
    // inserted is rolled back to its savepoint: one index search per event instead of two
    // (BENCHMARKS.md, eleventh part). A lone event's id was the one looked up: it needs no
    // savepoint. (An append at a wrong revision whose later event's id is known is refused for
    // the revision, where it was refused for the id before; either answer is true.)
    let guarded = events.len() > 1;
    let chain_before = *chain;
    let mut own_places = Vec::with_capacity(events.len());
    if guarded {
        run_cached(
            conn,
            "SAVEPOINT append_request",
            "open the request's savepoint",
        )?;
    }
    let mut insert = conn
        .prepare_cached(INSERT_EVENT)
        .ctx("prepare the event insert")?;
    let mut last = (first_revision, first_position);
    for (i, event) in (0_i64..).zip(events) {
        last = (first_revision + i, first_position + i);
        let (previous_hash, hash) = chain.extend(
            conn,
            &ChainedEvent {
                position: last.1 as u64,
                event_id: event.event_id,
                stream: &request.stream,
                revision: last.0 as u64,
                event_type: &event.event_type,
                schema_version: event.schema_version as u32,
                occurred_at: event.occurred_at,
                recorded_at,
                actor_id: event.actor_id,
                actor_role: event.actor_role,
                channel: event.channel,
                correlation_id: event.correlation_id,
                causation_id: event.causation_id,
                organisation_id: event.organisation_id,
                property_id: event.property_id,
                idempotency_key: event.idempotency_key.as_deref(),
                payload: &event.payload,
            },
        )?;
        let inserted = insert.execute(rusqlite::params![
            last.1,
            event.event_id.as_bytes(),
            request.stream,
            last.0,
            event.event_type,
            event.schema_version,
            event.occurred_at,
            recorded_at,
            event.actor_id.as_bytes(),
            event.actor_role,
            event.channel,
            event.correlation_id.as_bytes(),
            event.causation_id.as_ref().map(Uuid::as_bytes),
            event.organisation_id.as_bytes(),
            event.property_id.as_ref().map(Uuid::as_bytes),
            event.idempotency_key,
            event.payload,
            previous_hash.0.as_slice(),
            hash.0.as_slice(),
        ]);
        match inserted {
            Ok(_) => own_places.push(last),
            Err(e) if guarded && is_unique_violation(&e) => {
                run_cached(
                    conn,
                    "ROLLBACK TO append_request",
                    "roll back the request's savepoint",
                )?;
                run_cached(
                    conn,
                    "RELEASE append_request",
                    "release the request's savepoint",
                )?;
                *chain = chain_before;
                return Ok(conflict(event.event_id));
            }
            Err(e) => return Err(e).ctx("insert an event"),
        }
    }
    if guarded {
        run_cached(
            conn,
            "RELEASE append_request",
            "release the request's savepoint",
        )?;
    }
    for place in own_places {
        places.push(&request.stream, place);
    }
    Ok(Outcome::Written {
        result: AppendResult {
            next_expected_revision: to_u64(last.0, "revision")?,
            position: Position::sequence(to_u64(last.1, "position")?),
        },
        events: last.1 - first_position + 1,
    })
}

/// Runs a statement without parameters from the statement cache.
fn run_cached(conn: &Connection, sql: &str, what: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .ctx(what)?;
    Ok(())
}

/// Whether an insert failed on a unique index: the events' only one is on the event id (the
/// position is the rowid, and the writer assigns it past the head).
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn conflict(event_id: Uuid) -> Outcome {
    Outcome::Rejected(StoreError::EventIdConflict { event_id })
}

/// Turns on SQLite's query planner stability guarantee. Without it, SQLite (the bundled 3.54)
/// plans a statement with a bound `LIMIT ?` for the value bound, and so prepares it again every
/// time another value is bound: the stream and log reads did, on every call, which cost a quarter
/// of the server's CPU under `reportFault` load. Plans for these queries do not depend on the
/// values.
fn keep_plans(conn: &Connection) -> Result<(), StoreError> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .ctx("turn on the query planner stability guarantee")?;
    Ok(())
}

fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .ctx("set the busy timeout")?;
    keep_plans(conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .ctx("switch to WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "the event store needs WAL but the database is in `{mode}` journal mode"
        )));
    }
    // Durable on acknowledgement: the WAL is fsynced on every commit.
    conn.pragma_update(None, "synchronous", "FULL")
        .ctx("set synchronous=FULL")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin migrations")?;
    let applied: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("read the schema version")?;
    let known = MIGRATIONS.len();
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > known {
        return Err(StoreError::Backend(format!(
            "the database schema is at version {applied} but this build only knows {known}"
        )));
    }
    for (version, sql) in (1_i64..).zip(MIGRATIONS).skip(applied) {
        tx.execute_batch(sql)
            .ctx(&format!("apply migration {version}"))?;
        tx.pragma_update(None, "user_version", version)
            .ctx("record the schema version")?;
        tracing::info!(version, "applied event store migration");
    }
    tx.commit().ctx("commit migrations")
}

fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    max_count: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).ctx("prepare a read")?;
    let mut rows = stmt.query(params).ctx("read events")?;
    let mut events = Vec::with_capacity(max_count.min(SUBSCRIPTION_BATCH));
    while let Some(row) = rows.next().ctx("read events")? {
        events.push(decode(row)?);
    }
    Ok(events)
}

/// Turns a row of [`select_events!`] back into an event.
fn decode(row: &Row<'_>) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.get(0).ctx("read position")?;
    let corrupt = |what: &str, detail: &dyn fmt::Display| {
        StoreError::Backend(format!("event at position {position}: {what}: {detail}"))
    };
    let uuid = |idx: usize, what: &str| -> Result<Option<Uuid>, StoreError> {
        let value = row.get_ref(idx).map_err(|e| corrupt(what, &e))?;
        match value.as_blob_or_null().map_err(|e| corrupt(what, &e))? {
            Some(bytes) => Uuid::from_slice(bytes)
                .map(Some)
                .map_err(|e| corrupt(what, &e)),
            None => Ok(None),
        }
    };
    let required = |idx: usize, what: &str| -> Result<Uuid, StoreError> {
        uuid(idx, what)?.ok_or_else(|| corrupt(what, &"missing"))
    };
    let micros = |idx: usize, what: &str| -> Result<DateTime<Utc>, StoreError> {
        let v: i64 = row.get(idx).map_err(|e| corrupt(what, &e))?;
        DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(what, &"out of range"))
    };
    let text = |idx: usize, what: &str| -> Result<String, StoreError> {
        row.get(idx).map_err(|e| corrupt(what, &e))
    };

    // Parsed from the row's own text: a replay reads millions of rows, and an owned copy of
    // each name only to parse it was two allocations per event.
    let borrowed = |idx: usize, what: &str| -> Result<&str, StoreError> {
        let value = row.get_ref(idx).map_err(|e| corrupt(what, &e))?;
        value.as_str().map_err(|e| corrupt(what, &e))
    };
    let revision: i64 = row.get(3).map_err(|e| corrupt("revision", &e))?;
    let schema_version: i64 = row.get(5).map_err(|e| corrupt("schema version", &e))?;
    let role = borrowed(9, "actor role")?;
    let channel = borrowed(10, "channel")?;
    let idempotency_key: Option<String> =
        row.get(15).map_err(|e| corrupt("idempotency key", &e))?;
    let payload = text(16, "payload")?;

    Ok(RecordedEvent {
        event_id: required(1, "event id")?,
        stream: text(2, "stream")?,
        revision: to_u64(revision, "revision")?,
        position: Position::sequence(to_u64(position, "position")?),
        event_type: text(4, "event type")?,
        schema_version: u32::try_from(schema_version).map_err(|e| corrupt("schema version", &e))?,
        recorded_at: micros(7, "recorded at")?,
        metadata: EventMetadata {
            occurred_at: micros(6, "occurred at")?,
            actor: Actor {
                person_id: required(8, "actor id")?,
                role: ActorRole::parse(role)
                    .ok_or_else(|| corrupt("actor role", &format_args!("unknown `{role}`")))?,
            },
            channel: Channel::parse(channel)
                .ok_or_else(|| corrupt("channel", &format_args!("unknown `{channel}`")))?,
            correlation_id: required(11, "correlation id")?,
            causation_id: uuid(12, "causation id")?,
            organisation_id: required(13, "organisation id")?,
            property_id: uuid(14, "property id")?,
            idempotency_key,
        },
        payload: StoredPayload::from_stored(payload),
    })
}

/// Adds what the database was doing to a rusqlite error.
pub(crate) trait DbContext<T> {
    fn ctx(self, what: &str) -> Result<T, StoreError>;
}

impl<T> DbContext<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backend(format!("{what}: {e}")))
    }
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Backend(format!("negative {what} {value}")))
}

/// SQLite integers are signed; revisions and positions never get near the top of either.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn clamp_usize(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// How often one cached statement with a bound `LIMIT` was prepared again over five reads
    /// with five limits.
    fn reprepares(conn: &Connection) -> i32 {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t(x INTEGER PRIMARY KEY)")
            .unwrap();
        for limit in 1..=5 {
            let mut stmt = conn
                .prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
                .unwrap();
            let _rows: Vec<i64> = stmt
                .query_map(rusqlite::params![0, limit], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        }
        let stmt = conn
            .prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
            .unwrap();
        stmt.get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn an_append_batch_dropped_uncommitted_leaves_nothing_and_the_next_one_commits() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(x INTEGER)").unwrap();
        let count = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        {
            let tx = BatchTransaction::begin(&conn).unwrap();
            tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
            // As when an insert of the batch fails: the batch is abandoned.
        }
        assert!(conn.is_autocommit(), "the abandoned batch is still open");
        assert_eq!(count(&conn), 0);

        let tx = BatchTransaction::begin(&conn).unwrap();
        tx.execute("INSERT INTO t VALUES (2)", []).unwrap();
        tx.commit().unwrap();
        assert_eq!(count(&conn), 1);
        // A batch cannot begin inside another: the cached BEGIN fails with a clear error.
        let outer = BatchTransaction::begin(&conn).unwrap();
        let inner = BatchTransaction::begin(&outer).err().unwrap();
        assert!(
            inner.to_string().contains("begin an append batch"),
            "{inner}"
        );
    }

    #[test]
    fn read_connections_keep_their_plans_whatever_limit_is_bound() {
        let dir = std::env::temp_dir().join(format!("talo-plans-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.sqlite");
        Connection::open(&path).unwrap();
        // Without the guarantee SQLite prepares the statement again at each new limit: the
        // cost this guards against.
        let plain = Connection::open(&path).unwrap();
        assert!(
            reprepares(&plain) >= 4,
            "SQLite no longer re-plans on a bound LIMIT"
        );

        let pool = ReadPool::new(path.clone(), 1, None);
        let reader = pool.checkout().unwrap();
        // The reader is read-only: the table came from the plain connection.
        assert_eq!(reprepares(&reader), 0);

        let writer = Connection::open(&path).unwrap();
        configure_writer(&writer).unwrap();
        assert_eq!(reprepares(&writer), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_short_read_runs_on_the_callers_thread_and_a_long_one_on_the_pool() {
        let dir = std::env::temp_dir().join(format!("talo-short-reads-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.sqlite");
        Connection::open(&path).unwrap();
        let pool = Arc::new(ReadPool::new(path, 2, None));
        let thread_of = |rows: usize| {
            pool.run_sized(rows, |conn| {
                // A real read, so the connection is shown to work on either thread.
                let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).unwrap();
                assert_eq!(one, 1);
                Ok(std::thread::current().id())
            })
        };
        let here = std::thread::current().id();
        assert_eq!(thread_of(1).await.unwrap(), here);
        assert_eq!(thread_of(SHORT_READ).await.unwrap(), here);
        assert_ne!(thread_of(SHORT_READ + 1).await.unwrap(), here);
        // Both kinds give their connection back: one read at a time needs one connection.
        for _ in 0..4 {
            thread_of(1).await.unwrap();
            thread_of(1000).await.unwrap();
        }
        assert_eq!(pool.lock_idle().len(), 1);

        pool.close();
        assert!(matches!(thread_of(1).await, Err(StoreError::Closed)));
        assert!(matches!(thread_of(1000).await, Err(StoreError::Closed)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
