//! `make bench`: durable append throughput of the embedded store at 1, 16 and 256 concurrent
//! writers (one event per append) and with 100-event appends, next to raw SQLite doing the same
//! durable work in the same run, so the figures are comparable on whatever machine runs them.
//! The two comparisons the targets name (one writer against one event per transaction, 100-event
//! appends against 1,000 events per transaction) alternate in slices, so a drift of the disk's
//! speed falls on both sides alike.
//! Each line also gives the bytes the process caused to be written to storage per event
//! (`write_bytes` of `/proc/self/io`: the table, its indexes, the WAL and its checkpoints).

use std::sync::Arc;
use std::time::{Duration, Instant};

use talo_store::conformance::sample_event;
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};

/// Each measurement runs for about this long.
const RUN_FOR: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() {
    println!(
        "talo-store append throughput ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // The targets are ratios to raw SQLite, and this machine's fsync speed drifts by tens of
    // percent within a minute: each pair runs in alternating slices, so both sides see the
    // same disk.
    paired(1, 1, 1).await.print(
        "raw SQLite, 1 event per transaction:    ",
        "store,   1 writer  x 1 event:     ",
        "raw",
    );
    for writers in [16usize, 256] {
        let before = written_bytes();
        let (rate, commits, events) = store_appends(writers, 1).await;
        let written = per_event(before, events);
        println!(
            "store, {writers:>3} writers x 1 event:    {rate:>9.0} events/s ({commits:.1} appends per commit){written}"
        );
    }
    paired(1000, 16, 100).await.print(
        "raw SQLite, 1000 events per transaction:",
        "store,  16 writers x 100 events: ",
        "raw batched",
    );
}

/// Slices per side in a [`paired`] run.
const SLICES: u32 = 6;

/// One side of a paired run: events, seconds and bytes written over its slices.
#[derive(Default)]
struct Side {
    events: u64,
    seconds: f64,
    written: Option<u64>,
}

impl Side {
    fn rate(&self) -> f64 {
        self.events as f64 / self.seconds
    }

    /// Counts a slice that wrote `events` since `started`, when the process had written
    /// `before` bytes.
    fn add(&mut self, events: u64, started: Instant, before: Option<u64>) {
        self.events += events;
        self.seconds += started.elapsed().as_secs_f64();
        self.written = match (before, written_bytes()) {
            (Some(b), Some(a)) => Some(self.written.unwrap_or(0) + (a - b)),
            _ => None,
        };
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>9.0} events/s", self.rate())?;
        if let Some(written) = self.written.filter(|_| self.events > 0) {
            write!(
                f,
                ", {:.0} bytes written per event",
                written as f64 / self.events as f64
            )?;
        }
        Ok(())
    }
}

struct Pair {
    raw: Side,
    store: Side,
}

impl Pair {
    fn print(&self, raw_label: &str, store_label: &str, of: &str) {
        println!("{raw_label} {}", self.raw);
        let percent = self.store.rate() / self.raw.rate() * 100.0;
        println!("{store_label} {} = {percent:.0}% of {of}", self.store);
    }
}

/// Raw SQLite at `per_transaction` events per commit against the store at `writers` writers of
/// `per_append` events, in alternating slices of [`RUN_FOR`] / [`SLICES`].
async fn paired(per_transaction: usize, writers: usize, per_append: usize) -> Pair {
    let slice = RUN_FOR / SLICES;
    let dir = tempfile::tempdir().unwrap();
    let mut raw = RawSqlite::open(&dir.path().join("raw.sqlite"));
    let store = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    let mut pair = Pair {
        raw: Side::default(),
        store: Side::default(),
    };
    for _ in 0..SLICES {
        let (before, started) = (written_bytes(), Instant::now());
        let events = raw.insert_for(per_transaction, slice);
        pair.raw.add(events, started, before);
        let (before, started) = (written_bytes(), Instant::now());
        let events = appends_for(&store, writers, per_append, slice).await;
        pair.store.add(events, started, before);
    }
    store.close().await;
    pair
}

/// Bytes this process has caused to be written to storage so far, where Linux tells.
fn written_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// ", N bytes written per event" since `before`, or nothing where it cannot be read.
fn per_event(before: Option<u64>, events: u64) -> String {
    match (before, written_bytes()) {
        (Some(before), Some(after)) if events > 0 => {
            format!(
                ", {:.0} bytes written per event",
                (after - before) as f64 / events as f64
            )
        }
        _ => String::new(),
    }
}

/// Events per second, appends per commit, and events appended, on a new store.
async fn store_appends(writers: usize, per_append: usize) -> (f64, f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    let started = Instant::now();
    let total = appends_for(&store, writers, per_append, RUN_FOR).await;
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.stats();
    store.close().await;
    (
        total as f64 / elapsed,
        stats.appends as f64 / stats.commits.max(1) as f64,
        total,
    )
}

/// `writers` tasks appending `per_append` events at a time to a stream each, for `run_for`:
/// the events appended.
async fn appends_for(
    store: &Arc<SqliteEventStore>,
    writers: usize,
    per_append: usize,
    run_for: Duration,
) -> u64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut events = 0u64;
                let stream = format!("bench-{w}");
                while started.elapsed() < run_for {
                    let batch = (0..per_append)
                        .map(|n| sample_event("BenchEvent", n as u64))
                        .collect();
                    store
                        .append(&stream, ExpectedRevision::Any, batch)
                        .await
                        .unwrap();
                    events += per_append as u64;
                }
                events
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

/// Durable inserts of rows like the store's straight through rusqlite (WAL,
/// synchronous=FULL).
struct RawSqlite {
    conn: rusqlite::Connection,
    payload: String,
    next: i64,
}

impl RawSqlite {
    fn open(path: &std::path::Path) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE e (p INTEGER PRIMARY KEY, id BLOB UNIQUE, stream TEXT, rev INT, payload TEXT, UNIQUE(stream, rev));").unwrap();
        let payload = serde_json::to_string(&sample_event("BenchEvent", 0).payload).unwrap();
        RawSqlite {
            conn,
            payload,
            next: 0,
        }
    }

    /// Inserts `per_transaction` rows per commit for `run_for`: the rows inserted.
    fn insert_for(&mut self, per_transaction: usize, run_for: Duration) -> u64 {
        let started = Instant::now();
        let first = self.next;
        while started.elapsed() < run_for {
            self.conn.execute_batch("BEGIN").unwrap();
            for _ in 0..per_transaction {
                self.conn
                    .execute(
                        "INSERT INTO e (id, stream, rev, payload) VALUES (?1, 'bench', ?2, ?3)",
                        rusqlite::params![
                            uuid::Uuid::now_v7().as_bytes().to_vec(),
                            self.next,
                            self.payload
                        ],
                    )
                    .unwrap();
                self.next += 1;
            }
            self.conn.execute_batch("COMMIT").unwrap();
        }
        (self.next - first) as u64
    }
}
