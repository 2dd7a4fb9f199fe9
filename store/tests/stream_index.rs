//! The embedded store's stream index in its two parts (see `store/src/sqlite_streams.rs`):
//! streams read the same whether their events' places are stored in the table, held in memory,
//! or both; the part in memory is rebuilt when the store opens after a crash; and a store from
//! before the table gets it when it opens.

use std::path::{Path, PathBuf};

use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::conformance::{sample_event, unique_stream};
use talo_store::{
    CurrentRevision, Direction, EventStore, ExpectedRevision, LogFilter, SqliteEventStore,
    SqliteOptions, StoreError, StreamFrom,
};
use tempfile::TempDir;

fn path(dir: &TempDir) -> PathBuf {
    dir.path().join("events.sqlite")
}

/// A store that never moves places to the table while it runs, only when it closes: what is
/// stored and what is in memory is then up to the test.
fn open(path: &Path) -> SqliteEventStore {
    open_flushing_at(path, usize::MAX)
}

/// A store that moves places to the table once `flush_at` wait.
fn open_flushing_at(path: &Path, flush_at: usize) -> SqliteEventStore {
    let mut options = SqliteOptions::new(path);
    options.stream_index_flush_at = flush_at;
    SqliteEventStore::open(options).expect("open the store")
}

async fn append(store: &SqliteEventStore, stream: &str, count: u64) {
    for n in 0..count {
        store
            .append(
                stream,
                ExpectedRevision::Any,
                vec![sample_event("Indexed", n)],
            )
            .await
            .expect("append");
    }
}

fn revisions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.revision).collect()
}

fn stored_places(path: &Path, stream: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open the file");
    conn.query_row(
        "SELECT count(*) FROM stream_index WHERE stream = ?1",
        [stream],
        |r| r.get(0),
    )
    .expect("count the stored places")
}

/// Stream `a` with revisions 0-5 stored and 6-9 in memory, `b` interleaved with it.
async fn half_stored(dir: &TempDir) -> (SqliteEventStore, String, String) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let store = open(&path(dir));
    for _ in 0..3 {
        append(&store, &a, 2).await;
        append(&store, &b, 1).await;
    }
    store.close().await;
    assert_eq!(
        stored_places(&path(dir), &a),
        6,
        "closing stores every place"
    );
    let store = open(&path(dir));
    for _ in 0..2 {
        append(&store, &a, 2).await;
        append(&store, &b, 1).await;
    }
    assert_eq!(
        stored_places(&path(dir), &a),
        6,
        "the newest places wait in memory"
    );
    (store, a, b)
}

async fn read(
    store: &SqliteEventStore,
    stream: &str,
    direction: Direction,
    from: StreamFrom,
    max: usize,
) -> Vec<u64> {
    revisions(
        &store
            .read_stream(stream, direction, from, max)
            .await
            .expect("read the stream"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reads_the_same_across_its_stored_and_its_recent_places() {
    let dir = TempDir::new().unwrap();
    let (store, a, b) = half_stored(&dir).await;
    use Direction::{Backwards, Forwards};
    use StreamFrom::{End, Revision, Start};

    assert_eq!(
        read(&store, &a, Forwards, Start, 100).await,
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(
        read(&store, &a, Forwards, Start, 7).await,
        (0..7).collect::<Vec<_>>()
    );
    assert_eq!(
        read(&store, &a, Forwards, Revision(4), 4).await,
        vec![4, 5, 6, 7]
    );
    assert_eq!(
        read(&store, &a, Forwards, Revision(7), 100).await,
        vec![7, 8, 9]
    );
    assert_eq!(
        read(&store, &a, Forwards, Revision(10), 100).await,
        Vec::<u64>::new()
    );
    assert_eq!(
        read(&store, &a, Backwards, End, 100).await,
        (0..10).rev().collect::<Vec<_>>()
    );
    assert_eq!(read(&store, &a, Backwards, End, 3).await, vec![9, 8, 7]);
    assert_eq!(
        read(&store, &a, Backwards, Revision(7), 4).await,
        vec![7, 6, 5, 4]
    );
    assert_eq!(
        read(&store, &a, Backwards, Revision(3), 100).await,
        vec![3, 2, 1, 0]
    );
    assert_eq!(
        read(&store, &b, Forwards, Start, 100).await,
        vec![0, 1, 2, 3, 4]
    );

    // Positions follow the log, whichever part each place came from.
    let events = store
        .read_stream(&a, Forwards, Start, 100)
        .await
        .expect("read");
    assert!(
        events
            .windows(2)
            .all(|w| w[0].position.commit < w[1].position.commit)
    );

    // The auditor's log filtered to one stream, forwards and backwards.
    let only_a = LogFilter {
        stream: Some(a.clone()),
        ..LogFilter::default()
    };
    let forwards = store
        .read_all(Position::START, 100, &only_a)
        .await
        .expect("read the log");
    assert_eq!(revisions(&forwards), (0..10).collect::<Vec<_>>());
    let backwards = store
        .read_all_backwards(None, 4, &only_a)
        .await
        .expect("read the log backwards");
    assert_eq!(revisions(&backwards), vec![9, 8, 7, 6]);
    let after_third = store
        .read_all(forwards[2].position, 5, &only_a)
        .await
        .expect("read the log");
    assert_eq!(revisions(&after_third), vec![3, 4, 5, 6, 7]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_checks_expected_revisions_against_both_parts() {
    let dir = TempDir::new().unwrap();
    let (store, a, _) = half_stored(&dir).await;
    let stale = store
        .append(
            &a,
            ExpectedRevision::Exact(5),
            vec![sample_event("Late", 0)],
        )
        .await;
    match stale {
        Err(StoreError::WrongExpectedVersion { current, .. }) => {
            assert_eq!(current, CurrentRevision::Current(9))
        }
        other => panic!("a stale expected revision must be refused, got {other:?}"),
    }
    let next = store
        .append(
            &a,
            ExpectedRevision::Exact(9),
            vec![sample_event("OnTime", 0)],
        )
        .await
        .expect("the right expected revision");
    assert_eq!(next.next_expected_revision, 10);
    store.close().await;

    // A stream whose places are all stored.
    let store = open(&path(&dir));
    let next = store
        .append(
            &a,
            ExpectedRevision::Exact(10),
            vec![sample_event("Later", 0)],
        )
        .await
        .expect("the right expected revision after reopening");
    assert_eq!(next.next_expected_revision, 11);
    store.close().await;
}

/// A crash after events were committed but before their places were stored: the store finds
/// them again when it opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_lost_with_the_memory_are_rebuilt_at_open() {
    let dir = TempDir::new().unwrap();
    let stream = unique_stream("crashed");
    let store = open(&path(&dir));
    append(&store, &stream, 6).await;
    store.close().await;
    let conn = rusqlite::Connection::open(path(&dir)).unwrap();
    conn.execute_batch(
        "DELETE FROM stream_index WHERE position > 2; UPDATE stream_index_through SET position = 2;",
    )
    .expect("forget the places after position 2");
    drop(conn);
    assert_eq!(stored_places(&path(&dir), &stream), 2);

    let store = open(&path(&dir));
    let all = store
        .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 100)
        .await
        .unwrap();
    assert_eq!(revisions(&all), (0..6).collect::<Vec<_>>());
    let next = store
        .append(
            &stream,
            ExpectedRevision::Exact(5),
            vec![sample_event("After", 0)],
        )
        .await
        .expect("appends go on at the right revision");
    assert_eq!(next.next_expected_revision, 6);
    store.close().await;
    assert_eq!(stored_places(&path(&dir), &stream), 7);
}

/// A store written by a build with an index on (stream, revision) instead of the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_the_stream_index_gets_it_when_it_opens() {
    let dir = TempDir::new().unwrap();
    let stream = unique_stream("older");
    let store = open(&path(&dir));
    append(&store, &stream, 4).await;
    store.close().await;
    let conn = rusqlite::Connection::open(path(&dir)).unwrap();
    conn.execute_batch(
        "DROP TABLE stream_index; DROP TABLE stream_index_through; \
         CREATE UNIQUE INDEX events_by_stream ON events (stream, revision); \
         PRAGMA user_version = 2;",
    )
    .expect("go back to the second schema");
    drop(conn);

    let store = open(&path(&dir));
    let next = store
        .append(
            &stream,
            ExpectedRevision::Exact(3),
            vec![sample_event("Newer", 0)],
        )
        .await
        .expect("the migrated store knows where the stream is");
    assert_eq!(next.next_expected_revision, 4);
    let all = store
        .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 100)
        .await
        .unwrap();
    assert_eq!(revisions(&all), (0..5).collect::<Vec<_>>());
    store.close().await;

    let conn = rusqlite::Connection::open(path(&dir)).unwrap();
    let index: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name = 'events_by_stream'",
            [],
            |r| r.get(0),
        )
        .ok();
    assert_eq!(index, None, "the old index is dropped");
    drop(conn);
    assert_eq!(stored_places(&path(&dir), &stream), 5);
}

/// A flush that fails (here: stopped by a trigger put in its way behind the store's back)
/// leaves the places in memory: reads and appends stay right, and a later flush stores them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_keeps_the_places_in_memory_until_one_succeeds() {
    let dir = TempDir::new().unwrap();
    let stream = unique_stream("blocked");
    let store = open_flushing_at(&path(&dir), 1);
    let tamper = |sql: &str| {
        let conn = rusqlite::Connection::open(path(&dir)).unwrap();
        conn.execute_batch(sql).expect("tamper");
    };
    store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![sample_event("Stored", 0)],
        )
        .await
        .expect("append");
    eventually_stored(&path(&dir), &stream, 1).await;

    tamper(
        "CREATE TRIGGER block_flush BEFORE UPDATE ON stream_index_through \
         BEGIN SELECT RAISE(ABORT, 'blocked'); END;",
    );
    for expected in [ExpectedRevision::Exact(0), ExpectedRevision::Exact(1)] {
        store
            .append(&stream, expected, vec![sample_event("Waiting", 0)])
            .await
            .expect("appends go on while flushes fail");
    }
    // The flushes run after the appends are answered: give them time to fail.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        stored_places(&path(&dir), &stream),
        1,
        "nothing more stored"
    );
    let all = store
        .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 100)
        .await
        .unwrap();
    assert_eq!(revisions(&all), vec![0, 1, 2]);

    tamper("DROP TRIGGER block_flush");
    store
        .append(
            &stream,
            ExpectedRevision::Exact(2),
            vec![sample_event("Freed", 0)],
        )
        .await
        .expect("append");
    eventually_stored(&path(&dir), &stream, 4).await;
    store.close().await;
}

/// Waits (up to ten seconds) for a flush, which runs after the append it follows is answered.
async fn eventually_stored(path: &Path, stream: &str, places: i64) {
    for _ in 0..1000 {
        if stored_places(path, stream) == places {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stored_places(path, stream), places, "places stored");
}

/// Another store opened on the same file (the auditor's `talo verify` does this) stores the
/// places it loaded when it closes. The first store's next flush finds the mark moved, starts
/// again from the table, and goes on storing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_after_another_store_stored_the_places_starts_again_from_the_table() {
    let dir = TempDir::new().unwrap();
    let stream = unique_stream("shared");
    let server = open_flushing_at(&path(&dir), 64);
    append(&server, &stream, 3).await;
    assert_eq!(
        stored_places(&path(&dir), &stream),
        0,
        "fewer than four wait"
    );

    let auditor = open(&path(&dir));
    auditor.close().await;
    assert_eq!(
        stored_places(&path(&dir), &stream),
        3,
        "the auditor stored them"
    );

    for expected in 2..10 {
        server
            .append(
                &stream,
                ExpectedRevision::Exact(expected),
                vec![sample_event("Later", 0)],
            )
            .await
            .expect("append");
    }
    let all = server
        .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 100)
        .await
        .unwrap();
    assert_eq!(revisions(&all), (0..11).collect::<Vec<_>>());
    server.close().await;
    assert_eq!(
        stored_places(&path(&dir), &stream),
        11,
        "every place stored once"
    );
}
