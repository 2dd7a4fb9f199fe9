//! The embedded store's hash chain and daily anchors, and their verification against a file
//! tampered with behind the store's back (edited, deleted, swapped and reordered events,
//! edited and deleted anchors, a removed tail), also when the log is long enough to be read in
//! chunks at once, and the backfill of a store written before the chain existed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use talo_events_schema::envelope::Position;
use talo_store::conformance::{sample_event, unique_stream};
use talo_store::{
    ChainBreak, ChainHash, ChainLink, ChainReport, DailyAnchor, EventStore, ExpectedRevision,
    RecordingClock, SqliteEventStore, SqliteOptions,
};
use tempfile::TempDir;

/// A store on a file in a temporary directory, recording at a time the test sets.
struct Fixture {
    dir: TempDir,
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: TempDir::new().expect("temporary directory"),
            now: Arc::new(Mutex::new(day(1))),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("events.sqlite")
    }

    fn open(&self) -> SqliteEventStore {
        let now = Arc::clone(&self.now);
        let mut options = SqliteOptions::new(self.path());
        options.clock = RecordingClock::new(move || *now.lock().unwrap());
        SqliteEventStore::open(options).expect("open the store")
    }

    fn set_time(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap() = at;
    }

    /// Ten events over three local days: 1-4 on 1 March, 5-8 on 2 March, 9-10 on 3 March, so
    /// anchors of 1 March at 4 and 2 March at 8. Closes the store.
    async fn three_days(&self) -> Vec<ChainLink> {
        let store = self.open();
        let stream = unique_stream("chained");
        for (d, appends) in [(1, [1, 3]), (2, [2, 2]), (3, [1, 1])] {
            self.set_time(day(d));
            for count in appends {
                let events = (0..count).map(|n| sample_event("Chained", n)).collect();
                store
                    .append(&stream, ExpectedRevision::Any, events)
                    .await
                    .expect("append");
            }
        }
        let links = store
            .read_chain(Position::START, 100)
            .await
            .expect("read the chain");
        store.close().await;
        links
    }

    /// Opens the file directly, as someone with access to the disk would.
    fn tamper(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.path()).expect("open the file");
        conn.execute_batch(sql).expect("tamper");
    }

    async fn verify(&self) -> ChainReport {
        let store = self.open();
        let report = store.verify_chain(|_, _| {}).await.expect("verify");
        store.close().await;
        report
    }
}

/// 10:00 UTC on the given day of March 2024 (noon in Helsinki).
fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, d, 10, 0, 0).unwrap()
}

fn march(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
}

fn broken_at(report: &ChainReport) -> &ChainBreak {
    report
        .first_break
        .as_ref()
        .unwrap_or_else(|| panic!("expected a break: {report:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_log_verifies_with_its_anchors() {
    let fixture = Fixture::new();
    let links = fixture.three_days().await;
    assert_eq!(links.len(), 10);
    assert_eq!(links[0].previous_hash, ChainHash::GENESIS);

    let store = fixture.open();
    let anchors = store.anchors(march(1), march(31)).await.expect("anchors");
    assert_eq!(
        anchors,
        vec![
            DailyAnchor {
                date: march(1),
                position: Position::sequence(4),
                hash: links[3].hash,
            },
            DailyAnchor {
                date: march(2),
                position: Position::sequence(8),
                hash: links[7].hash,
            },
        ],
        "each day's anchor is its last event; the current day has none yet"
    );
    assert_eq!(
        store.anchors(march(2), march(2)).await.expect("anchors"),
        anchors[1..]
    );
    let progress = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&progress);
    let report = store
        .verify_chain(move |done, total| heard.lock().unwrap().push((done, total)))
        .await
        .expect("verify");
    assert_eq!(
        report,
        ChainReport {
            events_verified: 10,
            head: Some(links[9]),
            anchors_checked: 2,
            first_break: None,
        }
    );
    assert_eq!(progress.lock().unwrap().last(), Some(&(10, 10)));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_continues_across_reopening_and_a_clock_stepping_back() {
    let fixture = Fixture::new();
    let links = fixture.three_days().await;
    let store = fixture.open();
    // The clock steps back a day: the event is still recorded on 3 March, so 2 March does not
    // end a second time.
    fixture.set_time(day(2));
    let result = store
        .append(
            &unique_stream("later"),
            ExpectedRevision::NoStream,
            vec![sample_event("Later", 0)],
        )
        .await
        .expect("append");
    let link = store
        .chain_link(result.position)
        .await
        .expect("link")
        .expect("the new event is chained");
    assert_eq!(link.previous_hash, links[9].hash);
    let event = store
        .read_all(Position::sequence(10), 1, &Default::default())
        .await
        .expect("read");
    assert_eq!(event[0].recorded_at, day(3), "recorded_at never goes back");
    fixture.set_time(day(4));
    store
        .append(
            &unique_stream("next-day"),
            ExpectedRevision::NoStream,
            vec![sample_event("NextDay", 0)],
        )
        .await
        .expect("append");
    let anchors = store.anchors(march(3), march(3)).await.expect("anchors");
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0].position, Position::sequence(11));
    store.close().await;

    let report = fixture.verify().await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events_verified, report.anchors_checked), (12, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_payload_is_found_at_its_position() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper(r#"UPDATE events SET payload = '{"n":99}' WHERE position = 6"#);
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::ContentChanged { position: 6, .. }
        ),
        "{report:?}"
    );
    assert_eq!(report.events_verified, 5, "everything before it holds");
    assert_eq!(report.head.map(|h| h.position), Some(Position::sequence(5)));
    assert!(broken_at(&report).to_string().contains("position 6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_read_in_chunks_at_once_verifies_and_names_its_first_break() {
    // 4,500 events, 1,500 a day: the verifier's readers take alternate chunks of a thousand
    // positions, the last one short.
    let fixture = Fixture::new();
    let store = fixture.open();
    let stream = unique_stream("long");
    for d in 1..=3 {
        fixture.set_time(day(d));
        for _ in 0..3 {
            let events = (0..500).map(|n| sample_event("Chained", n)).collect();
            store
                .append(&stream, ExpectedRevision::Any, events)
                .await
                .expect("append");
        }
    }
    let progress = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&progress);
    let report = store
        .verify_chain(move |done, total| heard.lock().unwrap().push((done, total)))
        .await
        .expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events_verified, report.anchors_checked), (4_500, 2));
    assert_eq!(
        *progress.lock().unwrap(),
        [1_000, 2_000, 3_000, 4_000, 4_500].map(|done| (done, 4_500))
    );
    store.close().await;

    // Two edits, in chunks read by different readers: the first in the log is the one named,
    // whichever reader hashed its chunk first.
    fixture.tamper(
        r#"UPDATE events SET payload = '{"n":99}' WHERE position = 3700;
           UPDATE events SET payload = '{"n":98}' WHERE position = 2400"#,
    );
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::ContentChanged { position: 2400, .. }
        ),
        "{report:?}"
    );
    assert_eq!((report.events_verified, report.anchors_checked), (2_399, 1));

    // A whole chunk deleted: the walk finds the gap where it begins.
    fixture.tamper("DELETE FROM events WHERE position > 1000 AND position <= 2000");
    let report = fixture.verify().await;
    assert_eq!(
        broken_at(&report),
        &ChainBreak::Gap {
            expected: 1_001,
            found: 2_001
        }
    );
    assert_eq!(report.events_verified, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_envelope_column_is_found_too() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE events SET actor_role = 'auditor' WHERE position = 2");
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::ContentChanged { position: 2, .. }
        ),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_event_is_a_gap_at_its_position() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("DELETE FROM events WHERE position = 3");
    let report = fixture.verify().await;
    assert_eq!(
        broken_at(&report),
        &ChainBreak::Gap {
            expected: 3,
            found: 4
        }
    );
    assert_eq!(broken_at(&report).position(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_event_with_the_positions_closed_up_breaks_the_chain_there() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper(
        "DELETE FROM anchors; DELETE FROM events WHERE position = 3; \
         UPDATE events SET position = position - 1 WHERE position > 3",
    );
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::PreviousHashMismatch { position: 3, .. }
        ),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_contents_are_found_at_the_first_of_the_two() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper(
        "UPDATE events SET payload = CASE position WHEN 6 THEN (SELECT payload FROM events WHERE position = 7) \
         ELSE (SELECT payload FROM events WHERE position = 6) END WHERE position IN (6, 7)",
    );
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::ContentChanged { position: 6, .. }
        ),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_events_break_the_previous_hash() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    // Whole rows, hashes included, change places.
    fixture.tamper(
        "UPDATE events SET position = 0 WHERE position = 6; \
         UPDATE events SET position = 6 WHERE position = 7; \
         UPDATE events SET position = 7 WHERE position = 0;",
    );
    let report = fixture.verify().await;
    assert!(
        matches!(
            broken_at(&report),
            ChainBreak::PreviousHashMismatch { position: 6, .. }
        ),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_anchor_is_found_at_the_day_it_ends() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE anchors SET hash = zeroblob(32) WHERE day = '2024-03-02'");
    let report = fixture.verify().await;
    match broken_at(&report) {
        ChainBreak::AnchorMismatch {
            date,
            position,
            anchored,
            ..
        } => {
            assert_eq!((*date, *position), (march(2), 8));
            assert_eq!(*anchored, Some(ChainHash::GENESIS));
        }
        other => panic!("expected an anchor mismatch, got {other:?}"),
    }
    assert_eq!(report.anchors_checked, 1, "the anchor of 1 March holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_or_deleted_anchor_is_found() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE anchors SET position = 3 WHERE day = '2024-03-01'");
    assert!(matches!(
        broken_at(&fixture.verify().await),
        ChainBreak::AnchorMismatch {
            position: 4,
            anchored_position: 3,
            ..
        }
    ));
    fixture.tamper("DELETE FROM anchors WHERE day = '2024-03-01'");
    assert_eq!(
        broken_at(&fixture.verify().await),
        &ChainBreak::AnchorMissing {
            date: march(1),
            position: 4
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_tail_is_found_by_the_anchor_past_it() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("DELETE FROM events WHERE position > 6");
    let report = fixture.verify().await;
    assert_eq!(
        broken_at(&report),
        &ChainBreak::AnchorUnexpected {
            date: march(2),
            position: 8,
            head: 6
        }
    );
    assert!(
        broken_at(&report)
            .to_string()
            .contains("past the end of the log"),
        "{}",
        broken_at(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_the_chain_is_chained_when_it_opens() {
    let fixture = Fixture::new();
    let links = fixture.three_days().await;
    // Back to the first schema: what a store written by an earlier build looks like.
    fixture.tamper(
        "DROP TABLE stream_index; DROP TABLE stream_index_through; \
         CREATE UNIQUE INDEX events_by_stream ON events (stream, revision); \
         ALTER TABLE events DROP COLUMN hash; ALTER TABLE events DROP COLUMN previous_hash; \
         DROP TABLE anchors; PRAGMA user_version = 1;",
    );
    assert_old_schema(&fixture.path());

    let store = fixture.open();
    assert_eq!(
        store
            .read_chain(Position::START, 100)
            .await
            .expect("read the chain"),
        links,
        "the backfill computes the same chain the writer did"
    );
    assert_eq!(
        store
            .anchors(march(1), march(31))
            .await
            .expect("anchors")
            .len(),
        2
    );
    store.close().await;
    let report = fixture.verify().await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events_verified, report.anchors_checked), (10, 2));
}

fn assert_old_schema(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let hash_columns: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('events') WHERE name IN ('hash', 'previous_hash')",
            [],
            |r| r.get(0),
        )
        .expect("table info");
    assert_eq!(hash_columns, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_column_or_anchor_is_a_break_not_a_failure() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE events SET correlation_id = x'0102' WHERE position = 5");
    match broken_at(&fixture.verify().await) {
        ChainBreak::Unreadable { position, detail } => {
            assert_eq!(*position, 5);
            assert!(detail.contains("correlation id"), "{detail}");
        }
        other => panic!("expected an unreadable event, got {other:?}"),
    }

    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE anchors SET day = 'first of March' WHERE day = '2024-03-01'");
    assert!(matches!(
        broken_at(&fixture.verify().await),
        ChainBreak::AnchorUnreadable { day, .. } if day == "first of March"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_with_an_unchained_tail_is_refused_at_open() {
    let fixture = Fixture::new();
    fixture.three_days().await;
    fixture.tamper("UPDATE events SET hash = NULL, previous_hash = NULL WHERE position = 10");
    match SqliteEventStore::open(SqliteOptions::new(fixture.path())) {
        Err(talo_store::StoreError::Backend(message)) => {
            assert!(message.contains("covers 9 events"), "{message}")
        }
        other => panic!("a partly chained log must be refused, got {other:?}"),
    }
}

/// Reading is not verifying, but a row edited into something the envelope cannot hold is
/// refused with its position and column, not read as some default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_past_reading_is_refused_naming_its_position_and_column() {
    for (edit, expected) in [
        (
            "UPDATE events SET actor_role = 'janitor' WHERE position = 2",
            "event at position 2: actor role: unknown `janitor`",
        ),
        (
            "UPDATE events SET channel = 'carrier pigeon' WHERE position = 2",
            "event at position 2: channel: unknown `carrier pigeon`",
        ),
    ] {
        let fixture = Fixture::new();
        fixture.three_days().await;
        fixture.tamper(edit);
        let store = fixture.open();
        let error = store
            .read_all(Position::START, 10, &talo_store::LogFilter::default())
            .await
            .expect_err("the edited row is refused");
        assert!(error.to_string().contains(expected), "{edit}: {error}");
        store.close().await;
    }
}
