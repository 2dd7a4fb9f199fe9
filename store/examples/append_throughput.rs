//! `make bench`: durable append throughput of the embedded store at 1, 16 and 256 concurrent
//! writers (one event per append) and with 100-event appends, next to raw SQLite doing the same
//! durable work in the same run, so the figures are comparable on whatever machine runs them.
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
    let (raw_single, written) = measured(|| raw_sqlite(1));
    println!("raw SQLite, 1 event per transaction:     {raw_single:>9.0} events/s{written}");
    let (raw_batched, written) = measured(|| raw_sqlite(1000));
    println!("raw SQLite, 1000 events per transaction: {raw_batched:>9.0} events/s{written}");
    for writers in [1usize, 16, 256] {
        let before = written_bytes();
        let (rate, commits, events) = store_appends(writers, 1).await;
        let written = per_event(before, events);
        println!(
            "store, {writers:>3} writers x 1 event:    {rate:>9.0} events/s ({commits:.1} appends per commit){written}"
        );
    }
    let before = written_bytes();
    let (rate, commits, events) = store_appends(16, 100).await;
    let written = per_event(before, events);
    println!(
        "store,  16 writers x 100 events:  {rate:>9.0} events/s ({commits:.1} appends per commit){written}"
    );
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

fn measured(run: impl FnOnce() -> (f64, u64)) -> (f64, String) {
    let before = written_bytes();
    let (rate, events) = run();
    (rate, per_event(before, events))
}

/// Events per second, appends per commit, and events appended.
async fn store_appends(writers: usize, per_append: usize) -> (f64, f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut events = 0usize;
                let stream = format!("bench-{w}");
                while started.elapsed() < RUN_FOR {
                    let batch = (0..per_append)
                        .map(|n| sample_event("BenchEvent", n as u64))
                        .collect();
                    store
                        .append(&stream, ExpectedRevision::Any, batch)
                        .await
                        .unwrap();
                    events += per_append;
                }
                events
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.stats();
    store.close().await;
    (
        total as f64 / elapsed,
        stats.appends as f64 / stats.commits.max(1) as f64,
        total as u64,
    )
}

/// Durable inserts of similar rows straight through rusqlite (WAL, synchronous=FULL): events
/// per second and events inserted.
fn raw_sqlite(per_transaction: usize) -> (f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("raw.sqlite")).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE e (p INTEGER PRIMARY KEY, id BLOB UNIQUE, stream TEXT, rev INT, payload TEXT, UNIQUE(stream, rev));").unwrap();
    let payload = serde_json::to_string(&sample_event("BenchEvent", 0).payload).unwrap();
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < RUN_FOR {
        conn.execute_batch("BEGIN").unwrap();
        for _ in 0..per_transaction {
            conn.execute(
                "INSERT INTO e (id, stream, rev, payload) VALUES (?1, 'bench', ?2, ?3)",
                rusqlite::params![uuid::Uuid::now_v7().as_bytes().to_vec(), n, payload],
            )
            .unwrap();
            n += 1;
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    (n as f64 / started.elapsed().as_secs_f64(), n as u64)
}
