//! The embedded SQLite store against the conformance suite, and against what only it promises:
//! gapless positions, durability across close and reopen, and group commit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use talo_store::conformance::{self, sample_event, unique_stream};
use talo_store::{
    AppendResult, ChainLink, CurrentRevision, DailyAnchor, Direction, EventStore, ExpectedRevision,
    LogFilter, SqliteEventStore, SqliteOptions, StoreError, StreamFrom, Subscription,
};
use tempfile::TempDir;

/// A store in its own temporary directory, removed after the store is dropped.
struct TempStore {
    store: SqliteEventStore,
    _dir: TempDir,
}

impl TempStore {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(configure: impl FnOnce(&mut SqliteOptions)) -> Self {
        let dir = TempDir::new().expect("create a temporary directory");
        let mut options = SqliteOptions::new(db_path(dir.path()));
        configure(&mut options);
        TempStore {
            store: SqliteEventStore::open(options).expect("open the event store"),
            _dir: dir,
        }
    }
}

#[async_trait::async_trait]
impl EventStore for TempStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.store.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store
            .read_stream(stream, direction, from, max_count)
            .await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_all(after, max_count, filter).await
    }

    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store
            .read_all_backwards(before, max_count, filter)
            .await
    }

    async fn close(&self) {
        self.store.close().await
    }

    async fn head(&self) -> Result<Position, StoreError> {
        self.store.head().await
    }

    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError> {
        self.store.chain_link(position).await
    }

    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError> {
        self.store.read_chain(after, max_count).await
    }

    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
        self.store.chain_head().await
    }

    async fn anchors(
        &self,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError> {
        self.store.anchors(from, until).await
    }

    fn subscribe_all(&self, after: Position) -> Subscription {
        self.store.subscribe_all(after)
    }
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("data").join("events.db")
}

fn open(path: &Path) -> SqliteEventStore {
    SqliteEventStore::open(SqliteOptions::new(path)).expect("open the event store")
}

async fn read_everything(store: &impl EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(Position::START, 100_000, &LogFilter::default())
        .await
        .expect("read the log")
}

async fn append_one(store: &impl EventStore, stream: &str) -> AppendResult {
    store
        .append(
            stream,
            ExpectedRevision::Any,
            vec![sample_event("tested", 0)],
        )
        .await
        .expect("append")
}

/// Holds SQLite's write lock from a second connection, so the writer's next transaction
/// waits (within its busy timeout) and everything sent meanwhile queues up for one batch.
fn hold_write_lock(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open a second connection");
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    conn
}

fn release_write_lock(conn: rusqlite::Connection) {
    conn.execute_batch("ROLLBACK")
        .expect("release the write lock");
}

/// Long enough for spawned appends to reach the writer's queue on a loaded machine.
const SETTLE: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite() {
    conformance::run_all(|| async { TempStore::new() }).await;
}

/// The same promises while streams live partly in the stream index table and partly in
/// memory: the writer moves them to the table whenever it is idle or two events wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite_with_the_stream_index_flushed_after_almost_every_commit() {
    conformance::run_all(|| async { TempStore::with(|o| o.stream_index_flush_at = 2) }).await;
}

/// The same promises while the mention index follows the log two events at a time, so a
/// read by mention finds part of what it asks in the index and scans the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite_with_mentions_indexed_two_events_at_a_time() {
    conformance::run_all(|| async { TempStore::with(|o| o.mention_segment = 2) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn positions_are_gapless_after_concurrent_appends() {
    let store = TempStore::new();
    let tasks: Vec<_> = (0..32_u64)
        .map(|t| {
            let store = store.store.clone();
            tokio::spawn(async move {
                let stream = unique_stream(&format!("gapless-{t}"));
                let mut written = 0;
                for n in 0..10 {
                    let events: Vec<_> = (0..=(n + t) % 3)
                        .map(|i| sample_event("gapless", i))
                        .collect();
                    written += events.len() as u64;
                    store
                        .append(&stream, ExpectedRevision::Any, events)
                        .await
                        .expect("append");
                }
                written
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("append task");
    }
    let log = read_everything(&store).await;
    let positions: Vec<u64> = log.iter().map(|e| e.position.commit).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "positions are 1..=N"
    );
    assert!(log.iter().all(|e| e.position.prepare == e.position.commit));
    assert_eq!(store.head().await.expect("head"), Position::sequence(total));
    let stats = store.store.stats();
    assert_eq!((stats.appends, stats.events), (320, total));
    assert!(
        stats.commits < stats.appends,
        "concurrent appends share commits: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_positions_continue() {
    let dir = TempDir::new().expect("temporary directory");
    let path = db_path(dir.path());
    let stream = unique_stream("durable");

    let store = open(&path);
    assert_eq!(store.head().await.expect("head"), Position::START);
    for n in 0..5 {
        store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![sample_event("durable", n)],
            )
            .await
            .expect("append");
    }
    let before = read_everything(&store).await;
    store.close().await;

    let store = open(&path);
    assert_eq!(
        read_everything(&store).await,
        before,
        "every field survives reopening"
    );
    assert_eq!(store.head().await.expect("head"), Position::sequence(5));
    let result = store
        .append(
            &stream,
            ExpectedRevision::Exact(4),
            vec![sample_event("durable", 5)],
        )
        .await
        .expect("append after reopening");
    assert_eq!(result.position, Position::sequence(6), "positions continue");
    assert_eq!(result.next_expected_revision, 5, "revisions continue");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_store_lets_the_file_be_reopened() {
    let dir = TempDir::new().expect("temporary directory");
    let path = db_path(dir.path());
    let stream = unique_stream("dropped");
    for round in 1..=3_u64 {
        let store = open(&path);
        let clone = store.clone();
        let result = append_one(&clone, &stream).await;
        assert_eq!(result.position, Position::sequence(round));
        drop(store);
        drop(clone);
    }
    let store = open(&path);
    assert_eq!(read_everything(&store).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_refuses_work_and_ends_subscriptions() {
    let dir = TempDir::new().expect("temporary directory");
    let path = db_path(dir.path());
    let stream = unique_stream("closing");
    let store = open(&path);
    append_one(&store, &stream).await;

    let mut subscription = store.subscribe_all(Position::START);
    let first = subscription
        .next()
        .await
        .expect("an event")
        .expect("not an error");
    store.close().await;
    store.close().await;

    assert!(matches!(
        append_one_result(&store, &stream).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        store
            .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 10)
            .await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.head().await, Err(StoreError::Closed)));
    let ended = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("a closed store ends its subscriptions");
    assert!(matches!(ended, Some(Err(StoreError::Closed))), "{ended:?}");
    assert!(
        subscription.next().await.is_none(),
        "nothing after the error"
    );

    // A consumer resumes from its checkpoint on the reopened store.
    let store = open(&path);
    let mut resumed = store.subscribe_all(first.position);
    let result = append_one(&store, &stream).await;
    let next = tokio::time::timeout(Duration::from_secs(5), resumed.next())
        .await
        .expect("the resumed subscription delivers")
        .expect("an event")
        .expect("not an error");
    assert_eq!(next.position, result.position);
    assert_eq!(result.position, Position::sequence(2));
}

async fn append_one_result(
    store: &impl EventStore,
    stream: &str,
) -> Result<AppendResult, StoreError> {
    store
        .append(
            stream,
            ExpectedRevision::Any,
            vec![sample_event("tested", 0)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_puts_queued_appends_in_one_transaction() {
    let store = TempStore::new();
    let lock = hold_write_lock(store.store.path());

    let first = {
        let store = store.store.clone();
        tokio::spawn(async move { append_one(&store, &unique_stream("first")).await })
    };
    tokio::time::sleep(SETTLE).await;
    let queued: Vec<_> = (0..256)
        .map(|i| {
            let store = store.store.clone();
            tokio::spawn(async move { append_one(&store, &format!("queued-{i}")).await })
        })
        .collect();
    tokio::time::sleep(SETTLE).await;
    release_write_lock(lock);

    first.await.expect("first append");
    for task in queued {
        task.await.expect("queued append");
    }
    let stats = store.store.stats();
    assert_eq!(stats.appends, 257);
    assert!(
        stats.commits <= 3,
        "257 appends queued behind one should take about two commits: {stats:?}"
    );
    let positions: Vec<u64> = read_everything(&store)
        .await
        .iter()
        .map(|e| e.position.commit)
        .collect();
    assert_eq!(positions, (1..=257).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_requests_do_not_affect_their_batch() {
    let store = TempStore::new();
    let existing = unique_stream("existing");
    let original = vec![sample_event("original", 0), sample_event("original", 1)];
    let first_event = original[0].clone();
    let first = store
        .append(&existing, ExpectedRevision::NoStream, original.clone())
        .await
        .expect("first append");

    let lock = hold_write_lock(store.store.path());
    let blocker = {
        let store = store.store.clone();
        tokio::spawn(async move { append_one(&store, &unique_stream("blocker")).await })
    };
    tokio::time::sleep(SETTLE).await;

    let spawn = |stream: String, expected: ExpectedRevision, events: Vec<NewEvent>| {
        let store = store.store.clone();
        tokio::spawn(async move { store.append(&stream, expected, events).await })
    };
    let fresh = |n| vec![sample_event("fresh", n)];
    // Queued first, so the batch goes on after it. Found only when its second event is
    // inserted: what it wrote is rolled back to the request's savepoint, and the chain with it.
    let late_conflict = spawn(
        unique_stream("late"),
        ExpectedRevision::Any,
        vec![sample_event("fresh", 5), first_event.clone()],
    );
    tokio::time::sleep(SETTLE).await;
    let good_a = spawn(unique_stream("good"), ExpectedRevision::NoStream, fresh(0));
    let stale = spawn(existing.clone(), ExpectedRevision::Exact(0), fresh(1));
    let good_b = spawn(existing.clone(), ExpectedRevision::Exact(1), fresh(2));
    let conflict = spawn(
        unique_stream("elsewhere"),
        ExpectedRevision::Any,
        original.clone(),
    );
    let retry = spawn(existing.clone(), ExpectedRevision::NoStream, original);
    let missing = spawn(
        unique_stream("missing"),
        ExpectedRevision::StreamExists,
        fresh(3),
    );
    let good_c = spawn(unique_stream("good"), ExpectedRevision::Any, fresh(4));
    tokio::time::sleep(SETTLE).await;
    release_write_lock(lock);
    blocker.await.expect("blocker");

    let outcome = |task: tokio::task::JoinHandle<Result<AppendResult, StoreError>>| async move {
        task.await.expect("append task")
    };
    let (good_a, stale, good_b) = (
        outcome(good_a).await,
        outcome(stale).await,
        outcome(good_b).await,
    );
    let (conflict, retry, missing, good_c, late_conflict) = (
        outcome(conflict).await,
        outcome(retry).await,
        outcome(missing).await,
        outcome(good_c).await,
        outcome(late_conflict).await,
    );
    assert!(
        matches!(late_conflict, Err(StoreError::EventIdConflict { event_id }) if event_id == first_event.event_id),
        "{late_conflict:?}"
    );
    // The queue order of tasks spawned together is up to the scheduler, so the stale append
    // may be checked before or after the good one to the same stream.
    assert!(
        matches!(
            stale,
            Err(StoreError::WrongExpectedVersion {
                current: CurrentRevision::Current(1 | 2),
                ..
            })
        ),
        "{stale:?}"
    );
    assert!(matches!(conflict, Err(StoreError::EventIdConflict { .. })));
    assert_eq!(retry.expect("idempotent retry"), first);
    assert!(matches!(
        missing,
        Err(StoreError::WrongExpectedVersion {
            current: CurrentRevision::NoStream,
            ..
        })
    ));
    let good = [
        good_a.expect("good append a"),
        good_b.expect("good append b"),
        good_c.expect("good append c"),
    ];
    assert_eq!(good[1].next_expected_revision, 2);
    let stats = store.store.stats();
    assert_eq!(
        stats.appends, 5,
        "the first append, the blocker and three good ones"
    );
    assert_eq!(stats.commits, 3, "the queued requests shared one commit");
    let mut positions: Vec<u64> = good.iter().map(|r| r.position.commit).collect();
    positions.sort_unstable();
    assert_eq!(
        positions,
        vec![4, 5, 6],
        "accepted requests are numbered without gaps"
    );
    assert_eq!(read_everything(&store).await.len(), 6);
    // The next commit links to the last event written, not to what was rolled back.
    append_one(&store, &unique_stream("after")).await;
    let report = store.store.verify_chain(|_, _| {}).await.expect("verify");
    assert!(
        report.is_intact(),
        "the chain skips what was rolled back: {report:?}"
    );
    assert_eq!(report.events_verified, 7);
}

/// A lone appender commits on its own thread, concurrent ones through the writer thread's
/// batches; switching between the two keeps the log gapless and a stream's revisions in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_and_concurrent_appends_interleave_without_a_gap() {
    let store = std::sync::Arc::new(TempStore::new());
    let lone = unique_stream("lone");
    for round in 0..5 {
        // More than the appends in a row it takes to be taken for a lone writer.
        for _ in 0..50 {
            append_one(&*store, &lone).await;
        }
        let burst: Vec<_> = (0..32)
            .map(|i| {
                let store = std::sync::Arc::clone(&store);
                tokio::spawn(
                    async move { append_one(&*store, &format!("burst-{round}-{i}")).await },
                )
            })
            .collect();
        for task in burst {
            task.await.expect("burst append");
        }
    }
    let positions: Vec<u64> = read_everything(&*store)
        .await
        .iter()
        .map(|e| e.position.commit)
        .collect();
    assert_eq!(positions, (1..=410).collect::<Vec<_>>());
    let revisions: Vec<u64> = store
        .read_stream(&lone, Direction::Forwards, StreamFrom::Start, 1_000)
        .await
        .expect("read the lone stream")
        .iter()
        .map(|e| e.revision)
        .collect();
    assert_eq!(revisions, (0..250).collect::<Vec<_>>());
    let stats = store.store.stats();
    assert_eq!(stats.appends, 410);
    assert!(
        stats.commits < 410,
        "the bursts' appends shared commits: {stats:?}"
    );
}

/// Appends `batches` appends of 100 events to `stream`.
async fn append_hundreds(store: &impl EventStore, stream: &str, batches: u64) {
    for n in 0..batches {
        let events = (0..100)
            .map(|i| sample_event("paged", n * 100 + i))
            .collect();
        store
            .append(stream, ExpectedRevision::Any, events)
            .await
            .expect("append");
    }
}

/// A subscription far behind the head reads several pages at once; it must still deliver the
/// log in order, each event once, from a position in the middle of a page, while commits keep
/// arriving, and then follow the log live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_catches_up_over_many_pages_read_at_once() {
    let store = std::sync::Arc::new(TempStore::new());
    let stream = unique_stream("pages");
    append_hundreds(&*store, &stream, 55).await;
    let writer = {
        let store = std::sync::Arc::clone(&store);
        let stream = stream.clone();
        tokio::spawn(async move { append_hundreds(&*store, &stream, 20).await })
    };
    let mut subscription = store.subscribe_all(Position::sequence(1_234));
    let mut delivered = Vec::new();
    for expected in 1_235..=7_500 {
        let event = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("the subscription delivers")
            .expect("an event")
            .expect("not an error");
        assert_eq!(event.position, Position::sequence(expected));
        delivered.push(event);
    }
    writer.await.expect("writer");
    let log = store
        .read_all(Position::sequence(1_234), 10_000, &LogFilter::default())
        .await
        .expect("read the log");
    assert_eq!(
        delivered.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        log.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "the subscription delivers the log's events"
    );

    let result = append_one(&*store, &stream).await;
    let live = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("live event")
        .expect("an event")
        .expect("not an error");
    assert_eq!(live.position, result.position);
}

/// A store closed while a subscription reads ahead: what it delivers is the log's start
/// without a gap, then the error, then nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_closed_while_reading_ahead_ends_the_subscription_without_a_gap() {
    let store = TempStore::new();
    let stream = unique_stream("closing-pages");
    append_hundreds(&store, &stream, 60).await;
    let mut subscription = store.subscribe_all(Position::START);
    for expected in 1..=1_500 {
        let event = subscription
            .next()
            .await
            .expect("an event")
            .expect("not an error");
        assert_eq!(event.position, Position::sequence(expected));
    }
    store.store.close().await;
    let mut next = 1_501;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("a closed store ends its subscriptions")
            .expect("an error before the end");
        match item {
            Ok(event) => {
                assert_eq!(event.position, Position::sequence(next), "no gap");
                next += 1;
            }
            Err(e) => {
                assert!(matches!(e, StoreError::Closed), "{e:?}");
                break;
            }
        }
    }
    assert!(next <= 6_000, "the log did not end before the error");
    assert!(
        subscription.next().await.is_none(),
        "nothing after the error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_are_kept_to_the_microsecond() {
    let store = TempStore::new();
    let stream = unique_stream("micros");
    let mut event = sample_event("timed", 0);
    event.metadata.occurred_at =
        conformance::sample_occurred_at() + chrono::Duration::nanoseconds(789);
    store
        .append(&stream, ExpectedRevision::NoStream, vec![event])
        .await
        .expect("append");
    let read = read_everything(&store).await;
    assert_eq!(
        read[0].metadata.occurred_at,
        conformance::sample_occurred_at(),
        "nanoseconds are dropped, microseconds kept"
    );
    assert_eq!(read[0].recorded_at.timestamp_subsec_nanos() % 1000, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_revisions_read_without_overflow() {
    let store = TempStore::new();
    let stream = unique_stream("extreme");
    for _ in 0..3 {
        append_one(&store, &stream).await;
    }
    let forwards = store
        .read_stream(
            &stream,
            Direction::Forwards,
            StreamFrom::Revision(u64::MAX),
            10,
        )
        .await
        .expect("read");
    assert!(forwards.is_empty());
    let backwards = store
        .read_stream(
            &stream,
            Direction::Backwards,
            StreamFrom::Revision(u64::MAX),
            usize::MAX,
        )
        .await
        .expect("read");
    assert_eq!(backwards.len(), 3);
    let refused = store
        .append(
            &stream,
            ExpectedRevision::Exact(u64::MAX),
            vec![sample_event("x", 0)],
        )
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::WrongExpectedVersion {
            current: CurrentRevision::Current(2),
            ..
        })
    ));
    let after_everything = store
        .read_all(Position::sequence(u64::MAX), 10, &LogFilter::default())
        .await
        .expect("read");
    assert!(after_everything.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_is_migrated_once_and_newer_schemas_are_refused() {
    let dir = TempDir::new().expect("temporary directory");
    let path = db_path(dir.path());
    open(&path).close().await;
    open(&path).close().await;

    let conn = rusqlite::Connection::open(&path).expect("inspect the database");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, 3);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    conn.execute_batch("PRAGMA user_version = 99")
        .expect("pretend a newer build migrated the file");
    drop(conn);

    match SqliteEventStore::open(SqliteOptions::new(&path)) {
        Err(StoreError::Backend(message)) => {
            assert!(
                message.contains("99"),
                "the error names the version: {message}"
            )
        }
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}
