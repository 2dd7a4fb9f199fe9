//! The embedded store's mention index (`store/src/sqlite_mentions.rs`): reads by
//! `LogFilter::mentions` answer from it up to its mark and scan the log after it, and a file
//! that is not the log's is rebuilt.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::conformance::{sample_event, unique_stream};
use talo_store::{EventStore, ExpectedRevision, LogFilter, SqliteEventStore, SqliteOptions};
use tempfile::TempDir;
use uuid::Uuid;

fn open(dir: &Path, segment: usize) -> SqliteEventStore {
    let mut options = SqliteOptions::new(dir.join("events.sqlite"));
    options.mention_segment = segment;
    SqliteEventStore::open(options).expect("open the store")
}

fn index_file(dir: &Path) -> PathBuf {
    dir.join("events.sqlite-mentions")
}

/// Waits until the indexer has indexed every event at or below `position`.
async fn indexed(store: &SqliteEventStore, position: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.mentions_indexed_through().expect("an index") < position {
        assert!(
            Instant::now() < deadline,
            "the indexer did not reach {position}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Forty events in two organisations, naming `subject` in the payload (as a value, in a list
/// and as a key), as the actor, as the property, by its own stream, and in forms that are
/// not its id (upper case, inside a longer string).
async fn fill(store: &SqliteEventStore, subject: Uuid, orgs: [Uuid; 2]) {
    let streams = [unique_stream("mention-a"), unique_stream("mention-b")];
    let own = format!("fault-report-{subject}");
    for i in 0..40_u64 {
        let mut event = sample_event(["opened", "noted"][(i % 2) as usize], i);
        event.metadata.organisation_id = orgs[(i % 3 == 0) as usize];
        event.payload = match i % 6 {
            0 => json!({ "n": i, "about": subject }),
            1 => json!({ "n": i, "items": [{ "ref": subject }] }),
            2 => json!({ "n": i, "by": { subject.to_string(): true } }),
            3 => json!({ "n": i, "about": subject.to_string().to_uppercase() }),
            4 => json!({ "n": i, "text": format!("see {subject}") }),
            _ => json!({ "n": i }),
        };
        if i % 7 == 3 {
            event.metadata.actor.person_id = subject;
        }
        if i % 11 == 5 {
            event.metadata.property_id = Some(subject);
        }
        let stream = if i % 9 == 8 {
            own.as_str()
        } else {
            streams[(i % 2) as usize].as_str()
        };
        store
            .append(stream, ExpectedRevision::Any, vec![event])
            .await
            .expect("append");
    }
}

async fn everything(store: &SqliteEventStore) -> Vec<RecordedEvent> {
    store
        .read_all(Position::START, 10_000, &LogFilter::default())
        .await
        .expect("read the log")
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// Every page of every read by `filter`, from several places, against `LogFilter::matches`.
async fn reads_agree(store: &SqliteEventStore, filters: &[LogFilter]) {
    let all = everything(store).await;
    for filter in filters {
        let expected: Vec<_> = all.iter().filter(|e| filter.matches(e)).cloned().collect();
        for after in [0, 1, 5, 17, 32, 36, 39, 40] {
            let after = Position::sequence(after);
            let from: Vec<_> = expected
                .iter()
                .filter(|e| e.position > after)
                .cloned()
                .collect();
            for limit in [1, 2, 3, 1000] {
                let read = store.read_all(after, limit, filter).await.expect("read");
                assert_eq!(
                    ids(&read),
                    ids(&from[..from.len().min(limit)]),
                    "after {after}, at most {limit}, {filter:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_by_mention_agree_with_the_filter_below_and_above_the_index_mark() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path(), 8);
    let subject = Uuid::now_v7();
    let orgs = [Uuid::now_v7(), Uuid::now_v7()];
    fill(&store, subject, orgs).await;
    // Five whole segments of eight: the whole log is indexed.
    indexed(&store, 40).await;
    let mention = |org: Option<Uuid>, types: &[&str]| LogFilter {
        organisation_id: org,
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        mentions: Some(subject),
        ..LogFilter::default()
    };
    let filters = [
        mention(None, &[]),
        mention(Some(orgs[1]), &[]),
        mention(None, &["noted"]),
        mention(Some(orgs[0]), &["opened"]),
        LogFilter {
            mentions: Some(Uuid::now_v7()),
            ..LogFilter::default()
        },
    ];
    let all = everything(&store).await;
    assert_eq!(
        all.iter().filter(|e| filters[0].matches(e)).count(),
        28,
        "the fixture names the subject in every way it can be named"
    );
    reads_agree(&store, &filters).await;

    // Three more events: the log's tail after the last whole segment is scanned.
    fill_tail(&store, subject).await;
    assert_eq!(store.mentions_indexed_through(), Some(40));
    reads_agree(&store, &filters).await;
    store.close().await;
}

async fn fill_tail(store: &SqliteEventStore, subject: Uuid) {
    for i in 0..3 {
        let mut event = sample_event("noted", i);
        event.payload = json!({ "about": subject });
        store
            .append(&unique_stream("tail"), ExpectedRevision::Any, vec![event])
            .await
            .expect("append");
    }
}

/// A read below the mark takes the index's word: with a mention taken out of the file, the
/// event is no longer found (so the reads above did come from the index).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_below_the_mark_come_from_the_index() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path(), 8);
    let subject = Uuid::now_v7();
    fill(&store, subject, [Uuid::now_v7(), Uuid::now_v7()]).await;
    indexed(&store, 40).await;
    let filter = LogFilter {
        mentions: Some(subject),
        ..LogFilter::default()
    };
    let before = store.read_all(Position::START, 100, &filter).await.unwrap();
    let first = before[0].position.commit;
    let index = rusqlite::Connection::open(index_file(dir.path())).unwrap();
    let removed = index
        .execute(
            "DELETE FROM mentions WHERE entity = ?1 AND position = ?2",
            rusqlite::params![&subject.as_bytes()[..], first as i64],
        )
        .unwrap();
    assert_eq!(removed, 1);
    let after = store.read_all(Position::START, 100, &filter).await.unwrap();
    assert_eq!(ids(&after), ids(&before[1..]));
    store.close().await;
}

/// The index survives a reopen and goes on from its mark; an index file beside a log it was
/// not made from is rebuilt rather than believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_goes_on_after_a_reopen_and_another_logs_index_is_rebuilt() {
    let first_dir = TempDir::new().unwrap();
    let subject = Uuid::now_v7();
    let store = open(first_dir.path(), 8);
    fill(&store, subject, [Uuid::now_v7(), Uuid::now_v7()]).await;
    indexed(&store, 40).await;
    store.close().await;

    let store = open(first_dir.path(), 8);
    assert_eq!(
        store.mentions_indexed_through(),
        Some(40),
        "kept across a reopen"
    );
    fill(&store, subject, [Uuid::now_v7(), Uuid::now_v7()]).await;
    indexed(&store, 80).await;
    let filter = LogFilter {
        mentions: Some(subject),
        ..LogFilter::default()
    };
    let all = everything(&store).await;
    let expected: Vec<_> = all.iter().filter(|e| filter.matches(e)).cloned().collect();
    assert_eq!(expected.len(), 56);
    let read = store
        .read_all(Position::START, 1000, &filter)
        .await
        .unwrap();
    assert_eq!(ids(&read), ids(&expected));
    store.close().await;

    // Another log of as many events, given the first one's index file.
    let other_dir = TempDir::new().unwrap();
    let other_subject = Uuid::now_v7();
    let store = open(other_dir.path(), 0);
    fill(&store, other_subject, [Uuid::now_v7(), Uuid::now_v7()]).await;
    fill(&store, other_subject, [Uuid::now_v7(), Uuid::now_v7()]).await;
    store.close().await;
    std::fs::copy(index_file(first_dir.path()), index_file(other_dir.path())).unwrap();
    let store = open(other_dir.path(), 8);
    indexed(&store, 80).await;
    assert!(
        store
            .read_all(Position::START, 1000, &filter)
            .await
            .unwrap()
            .is_empty(),
        "the first log's subject is not in this log"
    );
    let other = LogFilter {
        mentions: Some(other_subject),
        ..LogFilter::default()
    };
    assert_eq!(
        store
            .read_all(Position::START, 1000, &other)
            .await
            .unwrap()
            .len(),
        56
    );
    store.close().await;
}

/// Forty events an hour apart (two of them back-dated and post-dated far from their
/// neighbours), read by business-time windows below and above the index's mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_a_business_time_window_agree_with_the_filter() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path(), 8);
    let org = Uuid::now_v7();
    let base = talo_store::conformance::sample_occurred_at();
    let hour = |h: i64| base + chrono::Duration::hours(h);
    for i in 0..40_i64 {
        let mut event = sample_event("noted", i as u64);
        event.metadata.organisation_id = if i % 4 == 0 { org } else { Uuid::now_v7() };
        event.metadata.occurred_at = match i {
            // A payment booked at the bank long before it was entered, and one dated ahead.
            20 => hour(-5),
            33 => hour(100),
            _ => hour(i),
        };
        store
            .append(&unique_stream("window"), ExpectedRevision::Any, vec![event])
            .await
            .expect("append");
    }
    indexed(&store, 40).await;
    let window = |from: Option<i64>, until: Option<i64>| LogFilter {
        occurred_from: from.map(hour),
        occurred_until: until.map(hour),
        ..LogFilter::default()
    };
    let filters = [
        window(Some(3), Some(11)),
        window(Some(18), Some(19)),
        window(None, Some(2)),
        window(Some(35), None),
        window(Some(99), Some(101)),
        window(Some(200), Some(300)),
        LogFilter {
            organisation_id: Some(org),
            ..window(Some(10), Some(30))
        },
    ];
    reads_agree(&store, &filters).await;

    // Take the segment holding hours 8 to 15 out of every window: its events are no longer
    // read, so reads below the mark do skip the segments the window does not meet.
    let index = rusqlite::Connection::open(index_file(dir.path())).unwrap();
    let moved = index
        .execute(
            "UPDATE segments SET occurred_min = 0, occurred_max = 0 WHERE first = 9",
            [],
        )
        .unwrap();
    assert_eq!(moved, 1);
    let read = store
        .read_all(Position::START, 100, &window(Some(3), Some(11)))
        .await
        .unwrap();
    let hours: Vec<i64> = read
        .iter()
        .map(|e| (e.metadata.occurred_at - base).num_hours())
        .collect();
    assert_eq!(hours, vec![3, 4, 5, 6, 7]);
    store.close().await;
}

/// While a subscription reads the log far behind its head (a replay), the indexer waits for it
/// rather than take one of the cores the replay reads and folds on; once the replay follows
/// the log live, the index is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_waits_while_the_log_is_replayed() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path(), 0);
    let stream = unique_stream("replayed");
    // Three and a half pages of the log: a subscription from the start reads three pages
    // ahead, then the rest as it follows the log live.
    for batch in 0..35_u64 {
        let events = (0..100).map(|i| sample_event("noted", batch * 100 + i));
        store
            .append(&stream, ExpectedRevision::Any, events.collect())
            .await
            .expect("append");
    }
    store.close().await;

    let store = open(dir.path(), 8);
    let mut replay = store.subscribe_all(Position::START);
    replay.next().await.expect("an event").expect("read");
    let mark = store.mentions_indexed_through().expect("an index");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        store.mentions_indexed_through(),
        Some(mark),
        "the indexer went on beside a replay"
    );
    assert!(
        mark < 3_496,
        "indexed through {mark} before the replay began"
    );

    for _ in 1..3_500 {
        replay.next().await.expect("an event").expect("read");
    }
    indexed(&store, 3_496).await;
    store.close().await;
}
