//! The conformance suite: the behaviour every [`EventStore`] backend must show, written once
//! against the trait so the embedded store and a cluster backend are held to the same contract.
//!
//! A backend's tests call [`run_all`] with a factory for fresh, empty stores, or call single
//! cases (each a `pub async fn` taking one fresh store). Failures panic with a message naming
//! what was expected. The suite needs a multi-threaded tokio runtime for its concurrency
//! cases.
//!
//! Backends differ in two documented ways, and [`run_all_with`] takes a [`Contract`] saying
//! which: whether an event id reused in *another* stream is caught (the embedded store
//! indexes every id; a KurrentDB cluster has no index by event id), and what an event's chain
//! link ties it to (the store says, [`EventStore::chain_scope`]).
//!
//! The generic cases only claim that positions strictly increase; that the embedded store's
//! positions are also gapless is checked in its own tests. Stream names are unique per case
//! and reads of the global log start at the store's head when the case began, so the suite
//! also works against a store that is not literally empty.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use serde_json::json;
use talo_events_schema::envelope::{
    Actor, ActorRole, Channel, EventMetadata, NewEvent, Position, RecordedEvent,
};
use uuid::Uuid;

use crate::chain::{ChainHash, recorded_event_hash};
use crate::stream_chain::recorded_event_stream_hash;
use crate::{
    AppendResult, ChainScope, CurrentRevision, Direction, EventStore, ExpectedRevision, LogFilter,
    StoreError, StreamFrom, Subscription,
};

/// What a backend promises beyond the common contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// An event id appended to one stream is refused in any other stream.
    pub ids_unique_across_streams: bool,
}

impl Contract {
    /// The embedded store: every promise.
    pub const EMBEDDED: Contract = Contract {
        ids_unique_across_streams: true,
    };

    /// A KurrentDB cluster: event ids are recognised within their stream only.
    pub const CLUSTER: Contract = Contract {
        ids_unique_across_streams: false,
    };
}

/// How long a subscription may take to deliver an event before a case fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a subscription must stay quiet to show it delivers nothing extra.
const QUIET_PERIOD: Duration = Duration::from_millis(100);

/// The page size the suite reads the global log with.
const PAGE: usize = 500;

/// The organisation of [`sample_event`]s.
pub const SAMPLE_ORGANISATION: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

/// The person who causes [`sample_event`]s.
pub const SAMPLE_PERSON: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

/// Business time of [`sample_event`]s: whole microseconds, as every backend stores them.
pub fn sample_occurred_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
        .single()
        .expect("a fixed, valid date")
        + chrono::Duration::microseconds(123_456)
}

/// Fixed metadata: a property manager at the office, acting for [`SAMPLE_ORGANISATION`].
pub fn sample_metadata() -> EventMetadata {
    EventMetadata {
        occurred_at: sample_occurred_at(),
        actor: Actor {
            person_id: SAMPLE_PERSON,
            role: ActorRole::PropertyManager,
        },
        channel: Channel::Office,
        correlation_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0003),
        causation_id: None,
        organisation_id: SAMPLE_ORGANISATION,
        property_id: None,
        idempotency_key: None,
    }
}

/// A new event of `event_type` with a fresh UUID v7 id, [`sample_metadata`] and `{"n": n}` as
/// its payload.
pub fn sample_event(event_type: &str, n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        metadata: sample_metadata(),
        payload: json!({ "n": n }),
    }
}

/// A stream name no other case (or earlier run against the same cluster) uses.
pub fn unique_stream(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

/// Runs every case of the embedded store's contract, each on a fresh store from
/// `make_store`.
pub async fn run_all<S, F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: EventStore,
{
    run_all_with(Contract::EMBEDDED, make_store).await;
}

/// Runs every case of `contract`, each on a fresh store from `make_store`.
pub async fn run_all_with<S, F, Fut>(contract: Contract, make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: EventStore,
{
    append_to_new_stream(make_store().await).await;
    no_stream_twice_is_rejected(make_store().await).await;
    exact_revision_is_checked(make_store().await).await;
    stream_exists_is_checked(make_store().await).await;
    any_always_appends(make_store().await).await;
    revisions_count_per_stream(make_store().await).await;
    positions_increase_across_streams(make_store().await).await;
    idempotent_retry_returns_original_result(make_store().await).await;
    if contract.ids_unique_across_streams {
        conflicting_event_ids_are_rejected(make_store().await).await;
    } else {
        conflicting_event_ids_in_one_stream_are_rejected(make_store().await).await;
    }
    empty_append_is_rejected(make_store().await).await;
    invalid_stream_names_are_rejected(make_store().await).await;
    read_stream_in_both_directions(make_store().await).await;
    unknown_stream_reads_empty(make_store().await).await;
    read_all_in_pages_sees_every_event_once(make_store().await).await;
    read_all_filters(make_store().await).await;
    read_all_backwards(make_store().await).await;
    head_tracks_the_last_commit(make_store().await).await;
    subscription_catches_up_then_goes_live(make_store().await).await;
    subscription_from_the_middle(make_store().await).await;
    subscription_keeps_up_with_concurrent_commits(make_store().await).await;
    events_round_trip_exactly(make_store().await).await;
    many_concurrent_writers(make_store().await).await;
    concurrent_exact_appends_have_one_winner(make_store().await).await;
    let store = make_store().await;
    match store.chain_scope() {
        ChainScope::GlobalLog => events_are_chained(store).await,
        ChainScope::PerStream => streams_are_chained(store).await,
    }
    anchors_name_links_of_the_chain(make_store().await).await;
}

/// Appending with `NoStream` creates the stream at revision 0.
pub async fn append_to_new_stream<S: EventStore>(store: S) {
    let stream = unique_stream("new");
    let events = vec![sample_event("created", 0), sample_event("updated", 1)];
    let result = store
        .append(&stream, ExpectedRevision::NoStream, events.clone())
        .await
        .expect("append to a new stream with NoStream");
    assert_eq!(
        result.next_expected_revision, 1,
        "two events in a new stream end at revision 1"
    );
    let read = read_whole_stream(&store, &stream).await;
    assert_eq!(
        ids(&read),
        event_ids(&events),
        "the stream holds what was appended"
    );
    assert_eq!(revisions(&read), vec![0, 1], "revisions start at 0");
    assert!(
        read[0].position < read[1].position,
        "positions increase within an append"
    );
    assert_eq!(
        read[1].position, result.position,
        "the append reports the position of its last event"
    );
    assert!(
        read.iter().all(|e| e.stream == stream),
        "events carry their stream"
    );
}

/// A second `NoStream` append sees the stream at revision 0 and is refused.
pub async fn no_stream_twice_is_rejected<S: EventStore>(store: S) {
    let stream = unique_stream("twice");
    append_ok(&store, &stream, ExpectedRevision::NoStream, 1).await;
    let result = store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![sample_event("again", 1)],
        )
        .await;
    assert_wrong_version(
        result,
        &stream,
        ExpectedRevision::NoStream,
        CurrentRevision::Current(0),
    );
    assert_eq!(
        read_whole_stream(&store, &stream).await.len(),
        1,
        "a refused append writes nothing"
    );
}

/// `Exact(n)` succeeds only when the stream ends at `n`; a refusal reports where it ends.
pub async fn exact_revision_is_checked<S: EventStore>(store: S) {
    let stream = unique_stream("exact");
    let missing = unique_stream("exact-missing");
    assert_wrong_version(
        store
            .append(
                &missing,
                ExpectedRevision::Exact(0),
                vec![sample_event("x", 0)],
            )
            .await,
        &missing,
        ExpectedRevision::Exact(0),
        CurrentRevision::NoStream,
    );
    append_ok(&store, &stream, ExpectedRevision::NoStream, 1).await;
    let result = append_ok(&store, &stream, ExpectedRevision::Exact(0), 2).await;
    assert_eq!(
        result.next_expected_revision, 2,
        "Exact(0) + two events ends at 2"
    );
    for wrong in [0, 1, 3, 100] {
        assert_wrong_version(
            store
                .append(
                    &stream,
                    ExpectedRevision::Exact(wrong),
                    vec![sample_event("stale", wrong)],
                )
                .await,
            &stream,
            ExpectedRevision::Exact(wrong),
            CurrentRevision::Current(2),
        );
    }
    let result = append_ok(&store, &stream, ExpectedRevision::Exact(2), 1).await;
    assert_eq!(result.next_expected_revision, 3);
    assert_eq!(
        revisions(&read_whole_stream(&store, &stream).await),
        vec![0, 1, 2, 3],
        "refused appends left no events behind"
    );
}

/// `StreamExists` is refused on a missing stream and accepted on an existing one.
pub async fn stream_exists_is_checked<S: EventStore>(store: S) {
    let stream = unique_stream("exists");
    assert_wrong_version(
        store
            .append(
                &stream,
                ExpectedRevision::StreamExists,
                vec![sample_event("x", 0)],
            )
            .await,
        &stream,
        ExpectedRevision::StreamExists,
        CurrentRevision::NoStream,
    );
    assert!(
        read_whole_stream(&store, &stream).await.is_empty(),
        "a refused StreamExists append must not create the stream"
    );
    append_ok(&store, &stream, ExpectedRevision::NoStream, 1).await;
    let result = append_ok(&store, &stream, ExpectedRevision::StreamExists, 1).await;
    assert_eq!(result.next_expected_revision, 1);
}

/// `Any` creates a missing stream and appends to an existing one.
pub async fn any_always_appends<S: EventStore>(store: S) {
    let stream = unique_stream("any");
    let first = append_ok(&store, &stream, ExpectedRevision::Any, 1).await;
    assert_eq!(
        first.next_expected_revision, 0,
        "Any on a missing stream starts it at 0"
    );
    let second = append_ok(&store, &stream, ExpectedRevision::Any, 3).await;
    assert_eq!(second.next_expected_revision, 3);
    assert!(second.position > first.position);
}

/// Every stream numbers its own events from 0, however appends to streams interleave.
pub async fn revisions_count_per_stream<S: EventStore>(store: S) {
    let streams = [unique_stream("rev-a"), unique_stream("rev-b")];
    for round in 0..4_u64 {
        for stream in &streams {
            let result = append_ok(&store, stream, ExpectedRevision::Any, 2).await;
            assert_eq!(
                result.next_expected_revision,
                round * 2 + 1,
                "stream {stream} after {} appends of two",
                round + 1
            );
        }
    }
    for stream in &streams {
        assert_eq!(
            revisions(&read_whole_stream(&store, stream).await),
            (0..8).collect::<Vec<_>>(),
            "stream {stream} is numbered 0..8 without gaps"
        );
    }
}

/// Positions strictly increase in commit order, across streams.
pub async fn positions_increase_across_streams<S: EventStore>(store: S) {
    let start = head(&store).await;
    let streams = [
        unique_stream("pos-a"),
        unique_stream("pos-b"),
        unique_stream("pos-c"),
    ];
    let mut reported = Vec::new();
    for i in 0..9 {
        reported.push(
            append_ok(&store, &streams[i % 3], ExpectedRevision::Any, 1)
                .await
                .position,
        );
    }
    assert!(
        reported.first().is_some_and(|p| *p > start),
        "the first append lands after the head it started from"
    );
    assert_strictly_increasing(&reported, "positions reported by successive appends");
    let log = read_log_after(&store, start).await;
    assert_eq!(
        positions(&log),
        reported,
        "the log holds the appends at the positions they reported"
    );
}

/// Repeating an append with the same event ids returns the first result and writes nothing,
/// whatever revision the retry expects, also when the retries race.
pub async fn idempotent_retry_returns_original_result<S: EventStore>(store: S) {
    let store = Arc::new(store);
    let stream = unique_stream("retry");
    let events: Vec<_> = (0..3).map(|n| sample_event("retried", n)).collect();
    let original = store
        .append(&stream, ExpectedRevision::NoStream, events.clone())
        .await
        .expect("first append");
    append_ok(
        &*store,
        &unique_stream("retry-other"),
        ExpectedRevision::Any,
        1,
    )
    .await;
    let head_before = head(&*store).await;

    for expected in [
        ExpectedRevision::NoStream,
        ExpectedRevision::Any,
        ExpectedRevision::StreamExists,
        ExpectedRevision::Exact(2),
        ExpectedRevision::Exact(77),
    ] {
        let retry = store
            .append(&stream, expected, events.clone())
            .await
            .unwrap_or_else(|e| panic!("a retry expecting {expected:?} must succeed: {e}"));
        assert_eq!(
            retry, original,
            "a retry expecting {expected:?} returns the original result"
        );
    }
    let prefix = store
        .append(&stream, ExpectedRevision::NoStream, events[..2].to_vec())
        .await
        .expect("a retry of the first events of an append");
    let stored = read_whole_stream(&*store, &stream).await;
    assert_eq!(
        prefix,
        AppendResult {
            next_expected_revision: 1,
            position: stored[1].position,
        },
        "a retry of a prefix reports the last event of that prefix"
    );
    assert_eq!(head(&*store).await, head_before, "retries move no head");
    assert_eq!(
        ids(&stored),
        event_ids(&events),
        "retries add nothing to the stream"
    );

    let racing_stream = unique_stream("retry-race");
    let racing: Vec<_> = (0..2).map(|n| sample_event("raced", n)).collect();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, stream, events) =
                (Arc::clone(&store), racing_stream.clone(), racing.clone());
            tokio::spawn(async move {
                store
                    .append(&stream, ExpectedRevision::NoStream, events)
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            task.await
                .expect("append task")
                .expect("racing identical appends all succeed"),
        );
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "racing identical appends report one result: {results:?}"
    );
    assert_eq!(
        ids(&read_whole_stream(&*store, &racing_stream).await),
        event_ids(&racing),
        "racing identical appends write the events once"
    );
}

/// Event ids reused in any other shape than an identical retry are refused, in any stream.
pub async fn conflicting_event_ids_are_rejected<S: EventStore>(store: S) {
    conflicting_event_ids(store, true).await;
}

/// Event ids reused in their own stream in any other shape than an identical retry are
/// refused (for a backend that cannot look ids up across streams).
pub async fn conflicting_event_ids_in_one_stream_are_rejected<S: EventStore>(store: S) {
    conflicting_event_ids(store, false).await;
}

async fn conflicting_event_ids<S: EventStore>(store: S, across_streams: bool) {
    let stream = unique_stream("ids");
    let other = unique_stream("ids-other");
    let original: Vec<_> = (0..2).map(|n| sample_event("original", n)).collect();
    store
        .append(&stream, ExpectedRevision::NoStream, original.clone())
        .await
        .expect("first append");
    let head_before = head(&store).await;
    let (a, b) = (original[0].clone(), original[1].clone());
    let fresh = || sample_event("fresh", 9);
    let duplicate = fresh();

    let (stream_ref, other_ref) = (stream.as_str(), other.as_str());
    let attempts: Vec<(&str, &str, Vec<NewEvent>)> = vec![
        (
            "a known id followed by a new one",
            stream_ref,
            vec![a.clone(), fresh()],
        ),
        ("known ids in another stream", other_ref, original.clone()),
        (
            "a known id alone in another stream",
            other_ref,
            vec![a.clone()],
        ),
        (
            "known ids in another order",
            stream_ref,
            vec![b.clone(), a.clone()],
        ),
        (
            "a new id followed by a known one",
            stream_ref,
            vec![fresh(), a.clone()],
        ),
        (
            "a known id that is not the first",
            stream_ref,
            vec![b, fresh()],
        ),
        (
            "the same id twice in one append",
            stream_ref,
            vec![duplicate.clone(), duplicate],
        ),
    ];
    for (what, target, events) in attempts {
        if target == other_ref && !across_streams {
            continue;
        }
        let sent = event_ids(&events);
        match store.append(target, ExpectedRevision::Any, events).await {
            Err(StoreError::EventIdConflict { event_id }) => assert!(
                sent.contains(&event_id),
                "{what}: the conflict names one of the appended ids"
            ),
            other => panic!("{what}: expected EventIdConflict, got {other:?}"),
        }
    }
    assert_eq!(
        head(&store).await,
        head_before,
        "conflicting appends write nothing"
    );
    assert_eq!(
        ids(&read_whole_stream(&store, &stream).await),
        event_ids(&original)
    );
    assert!(read_whole_stream(&store, &other).await.is_empty());
}

/// An append without events is refused.
pub async fn empty_append_is_rejected<S: EventStore>(store: S) {
    let head_before = head(&store).await;
    let result = store
        .append(&unique_stream("empty"), ExpectedRevision::Any, Vec::new())
        .await;
    assert!(
        matches!(result, Err(StoreError::EmptyAppend)),
        "expected EmptyAppend, got {result:?}"
    );
    assert_eq!(head(&store).await, head_before);
}

/// Stream names outside the allowed alphabet are refused before anything is written.
pub async fn invalid_stream_names_are_rejected<S: EventStore>(store: S) {
    let too_long = "s".repeat(201);
    for name in [
        "",
        "$all",
        "$system-stream",
        "has space",
        "a/b",
        "ä-stream",
        too_long.as_str(),
    ] {
        let result = store
            .append(name, ExpectedRevision::Any, vec![sample_event("x", 0)])
            .await;
        assert!(
            matches!(result, Err(StoreError::InvalidStreamName(_))),
            "stream name {name:?}: expected InvalidStreamName, got {result:?}"
        );
    }
}

/// Stream reads honour direction, inclusive starting revision and `max_count`.
pub async fn read_stream_in_both_directions<S: EventStore>(store: S) {
    let stream = unique_stream("read");
    let noise = unique_stream("read-noise");
    for _ in 0..5 {
        append_ok(&store, &stream, ExpectedRevision::Any, 2).await;
        append_ok(&store, &noise, ExpectedRevision::Any, 1).await;
    }
    use Direction::{Backwards, Forwards};
    use StreamFrom::{End, Revision, Start};
    let cases: Vec<(Direction, StreamFrom, usize, Vec<u64>)> = vec![
        (Forwards, Start, 100, (0..10).collect()),
        (Forwards, Start, 3, vec![0, 1, 2]),
        (Forwards, Revision(4), 3, vec![4, 5, 6]),
        (Forwards, Revision(8), 10, vec![8, 9]),
        (Forwards, Revision(10), 10, vec![]),
        (Forwards, End, 10, vec![]),
        (Forwards, Start, 0, vec![]),
        (Backwards, End, 3, vec![9, 8, 7]),
        (Backwards, End, 100, (0..10).rev().collect()),
        (Backwards, Revision(4), 10, vec![4, 3, 2, 1, 0]),
        (Backwards, Revision(20), 2, vec![9, 8]),
        (Backwards, Start, 10, vec![0]),
        (Backwards, End, 0, vec![]),
    ];
    for (direction, from, max_count, expected) in cases {
        let read = store
            .read_stream(&stream, direction, from, max_count)
            .await
            .expect("read a stream");
        assert_eq!(
            revisions(&read),
            expected,
            "read_stream({direction:?}, {from:?}, max {max_count})"
        );
        assert!(
            read.iter().all(|e| e.stream == stream),
            "read_stream returns only the stream's own events"
        );
    }
}

/// A stream that was never written reads as empty, in both directions.
pub async fn unknown_stream_reads_empty<S: EventStore>(store: S) {
    append_ok(&store, &unique_stream("known"), ExpectedRevision::Any, 1).await;
    let unknown = unique_stream("unknown");
    for direction in [Direction::Forwards, Direction::Backwards] {
        for from in [StreamFrom::Start, StreamFrom::End, StreamFrom::Revision(3)] {
            let read = store
                .read_stream(&unknown, direction, from, 10)
                .await
                .expect("reading an unknown stream is not an error");
            assert!(read.is_empty(), "unknown stream {direction:?} {from:?}");
        }
    }
}

/// Paging through the log after a position sees every event once, in order.
pub async fn read_all_in_pages_sees_every_event_once<S: EventStore>(store: S) {
    let start = head(&store).await;
    let streams = [unique_stream("page-a"), unique_stream("page-b")];
    let mut appended = Vec::new();
    for i in 0..12 {
        let events: Vec<_> = (0..=(i % 3)).map(|n| sample_event("paged", n)).collect();
        appended.extend(event_ids(&events));
        store
            .append(&streams[i as usize % 2], ExpectedRevision::Any, events)
            .await
            .expect("append");
    }
    let mut seen = Vec::new();
    let mut after = start;
    loop {
        let page = store
            .read_all(after, 4, &LogFilter::default())
            .await
            .expect("read a page of the log");
        assert!(page.len() <= 4, "a page holds at most max_count events");
        let Some(last) = page.last() else { break };
        assert!(
            page.first().is_some_and(|e| e.position > after),
            "a page starts strictly after its position"
        );
        after = last.position;
        seen.extend(page);
    }
    assert_eq!(ids(&seen), appended, "every event once, in append order");
    assert_strictly_increasing(&positions(&seen), "positions of the log");
    assert_eq!(after, head(&store).await, "the last page ends at the head");
    assert!(
        store
            .read_all(after, 10, &LogFilter::default())
            .await
            .expect("read after the head")
            .is_empty(),
        "nothing after the head"
    );
    assert!(
        store
            .read_all(start, 0, &LogFilter::default())
            .await
            .expect("read nothing")
            .is_empty(),
        "max_count 0 reads nothing"
    );
}

/// Every filter field narrows the log exactly as [`LogFilter::matches`] says, forwards,
/// backwards and with a limit.
pub async fn read_all_filters<S: EventStore>(store: S) {
    let start = head(&store).await;
    let orgs = [Uuid::now_v7(), Uuid::now_v7()];
    let streams = [unique_stream("filter-a"), unique_stream("filter-b")];
    let types = ["filter-opened", "filter-closed", "filter-noted"];
    let base = sample_occurred_at();
    // An entity named in payloads (0, 5, 10, 15, 20; 7 in upper case, which is not its id),
    // acting (1, 8, 15, 22), as the property (3) and by its own stream (23).
    let subject = Uuid::now_v7();
    let subjects_stream = format!("filter-subject-{subject}");
    for i in 0..24_u64 {
        let mut event = sample_event(types[(i % 3) as usize], i);
        event.metadata.organisation_id = orgs[(i % 2) as usize];
        event.metadata.occurred_at = base + chrono::Duration::hours(i as i64);
        if i % 5 == 0 {
            event.payload = json!({ "n": i, "about": subject });
        }
        if i == 7 {
            // Not its id: ids are written in lower case, and a match is exact.
            event.payload = json!({ "n": i, "about": subject.to_string().to_uppercase() });
        }
        if i % 7 == 1 {
            event.metadata.actor.person_id = subject;
        }
        if i == 3 {
            event.metadata.property_id = Some(subject);
        }
        let stream = match i {
            23 => &subjects_stream,
            _ => &streams[((i / 2) % 2) as usize],
        };
        store
            .append(stream, ExpectedRevision::Any, vec![event])
            .await
            .expect("append");
    }
    let all = read_log_after(&store, start).await;
    assert_eq!(all.len(), 24);

    let hour = |h: i64| base + chrono::Duration::hours(h);
    let filters = [
        LogFilter {
            organisation_id: Some(orgs[0]),
            ..LogFilter::default()
        },
        LogFilter {
            stream: Some(streams[1].clone()),
            ..LogFilter::default()
        },
        LogFilter {
            event_types: vec![types[0].to_owned()],
            ..LogFilter::default()
        },
        LogFilter {
            event_types: vec![types[0].to_owned(), types[2].to_owned()],
            ..LogFilter::default()
        },
        LogFilter {
            occurred_from: Some(hour(5)),
            ..LogFilter::default()
        },
        LogFilter {
            occurred_until: Some(hour(5)),
            ..LogFilter::default()
        },
        LogFilter {
            occurred_from: Some(hour(3)),
            occurred_until: Some(hour(11)),
            ..LogFilter::default()
        },
        LogFilter {
            organisation_id: Some(orgs[1]),
            stream: Some(streams[0].clone()),
            event_types: vec![types[0].to_owned(), types[1].to_owned()],
            occurred_from: Some(hour(1)),
            occurred_until: Some(hour(20)),
            mentions: None,
        },
        LogFilter {
            mentions: Some(subject),
            ..LogFilter::default()
        },
        LogFilter {
            mentions: Some(subject),
            event_types: vec![types[0].to_owned()],
            ..LogFilter::default()
        },
        LogFilter {
            mentions: Some(Uuid::now_v7()),
            ..LogFilter::default()
        },
        LogFilter {
            organisation_id: Some(Uuid::now_v7()),
            ..LogFilter::default()
        },
        LogFilter {
            event_types: vec!["filter-never".to_owned()],
            ..LogFilter::default()
        },
    ];
    let counts: Vec<usize> = filters
        .iter()
        .map(|f| all.iter().filter(|e| f.matches(e)).count())
        .collect();
    assert_eq!(
        counts,
        vec![12, 11, 8, 16, 19, 5, 8, 3, 10, 3, 0, 0, 0],
        "the fixture gives every filter something to do"
    );

    for filter in &filters {
        let expected: Vec<_> = all.iter().filter(|e| filter.matches(e)).cloned().collect();
        let forwards = store
            .read_all(start, 1000, filter)
            .await
            .expect("filtered read");
        assert_eq!(ids(&forwards), ids(&expected), "read_all with {filter:?}");

        let limited = store
            .read_all(start, 2, filter)
            .await
            .expect("filtered read");
        assert_eq!(
            ids(&limited),
            ids(&expected[..expected.len().min(2)]),
            "read_all with max 2 and {filter:?}"
        );

        let backwards = store
            .read_all_backwards(None, 1000, filter)
            .await
            .expect("filtered backwards read");
        let mut reversed = ids(&expected);
        reversed.reverse();
        let ours: Vec<_> = backwards
            .iter()
            .filter(|e| e.position > start)
            .cloned()
            .collect();
        assert_eq!(ids(&ours), reversed, "read_all_backwards with {filter:?}");
    }
}

/// The log reads backwards from the end or from before a position.
pub async fn read_all_backwards<S: EventStore>(store: S) {
    let start = head(&store).await;
    let stream = unique_stream("backwards");
    for _ in 0..10 {
        append_ok(&store, &stream, ExpectedRevision::Any, 1).await;
    }
    let all = read_log_after(&store, start).await;
    let filter = LogFilter::default();

    let last_three = store
        .read_all_backwards(None, 3, &filter)
        .await
        .expect("read backwards from the end");
    assert_eq!(
        positions(&last_three),
        positions(&all[7..]).into_iter().rev().collect::<Vec<_>>(),
        "the last three events, newest first"
    );

    let before_fifth = store
        .read_all_backwards(Some(all[4].position), 100, &filter)
        .await
        .expect("read backwards from a position");
    let ours: Vec<_> = before_fifth
        .into_iter()
        .filter(|e| e.position > start)
        .collect();
    assert_eq!(
        positions(&ours),
        positions(&all[..4]).into_iter().rev().collect::<Vec<_>>(),
        "strictly before the fifth event, newest first"
    );

    let before_first = store
        .read_all_backwards(Some(all[0].position), 100, &filter)
        .await
        .expect("read backwards from the first event");
    assert!(
        before_first.iter().all(|e| e.position <= start),
        "nothing of this case comes before its first event"
    );
    assert!(
        store
            .read_all_backwards(None, 0, &filter)
            .await
            .expect("read nothing backwards")
            .is_empty(),
        "max_count 0 reads nothing"
    );
}

/// The head is the position of the last committed event and moves only on writes.
pub async fn head_tracks_the_last_commit<S: EventStore>(store: S) {
    let start = head(&store).await;
    let stream = unique_stream("head");
    let events = vec![sample_event("headed", 0), sample_event("headed", 1)];
    let result = store
        .append(&stream, ExpectedRevision::NoStream, events.clone())
        .await
        .expect("append");
    assert!(result.position > start);
    assert_eq!(head(&store).await, result.position, "head after an append");

    let refused = store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![sample_event("x", 0)],
        )
        .await;
    assert!(refused.is_err(), "second NoStream append is refused");
    let retried = store
        .append(&stream, ExpectedRevision::NoStream, events)
        .await
        .expect("idempotent retry");
    assert_eq!(retried, result);
    assert_eq!(
        head(&store).await,
        result.position,
        "refusals and retries leave the head"
    );
}

/// A subscription delivers the stored events, then new ones as they commit, each once.
pub async fn subscription_catches_up_then_goes_live<S: EventStore>(store: S) {
    let start = head(&store).await;
    let stream = unique_stream("sub");
    let stored: Vec<_> = (0..3).map(|n| sample_event("stored", n)).collect();
    store
        .append(&stream, ExpectedRevision::NoStream, stored.clone())
        .await
        .expect("append before subscribing");

    let mut subscription = store.subscribe_all(start);
    let caught_up = next_events(&mut subscription, 3).await;
    assert_eq!(
        ids(&caught_up),
        event_ids(&stored),
        "catch-up delivers the stored events"
    );

    let live: Vec<_> = (3..5).map(|n| sample_event("live", n)).collect();
    let result = store
        .append(&stream, ExpectedRevision::Exact(2), live.clone())
        .await
        .expect("append while subscribed");
    let delivered = next_events(&mut subscription, 2).await;
    assert_eq!(
        ids(&delivered),
        event_ids(&live),
        "live events follow the catch-up"
    );
    assert_eq!(delivered[1].position, result.position);
    assert_eq!(revisions(&delivered), vec![3, 4]);
    assert_quiet(&mut subscription).await;
}

/// A subscription from a position delivers only what comes after it.
pub async fn subscription_from_the_middle<S: EventStore>(store: S) {
    let start = head(&store).await;
    let stream = unique_stream("sub-middle");
    for _ in 0..6 {
        append_ok(&store, &stream, ExpectedRevision::Any, 1).await;
    }
    let all = read_log_after(&store, start).await;
    let mut subscription = store.subscribe_all(all[2].position);
    let caught_up = next_events(&mut subscription, 3).await;
    assert_eq!(
        ids(&caught_up),
        ids(&all[3..]),
        "only events after the position"
    );

    let result = append_ok(&store, &stream, ExpectedRevision::Exact(5), 1).await;
    let live = next_events(&mut subscription, 1).await;
    assert_eq!(live[0].position, result.position);
    assert_quiet(&mut subscription).await;

    let mut from_head = store.subscribe_all(head(&store).await);
    assert_quiet(&mut from_head).await;
    let result = append_ok(&store, &stream, ExpectedRevision::Any, 1).await;
    assert_eq!(
        next_events(&mut from_head, 1).await[0].position,
        result.position,
        "a subscription from the head delivers the next commit"
    );
}

/// Commits arriving while a subscription is reading are neither missed nor repeated.
pub async fn subscription_keeps_up_with_concurrent_commits<S: EventStore>(store: S) {
    let store = Arc::new(store);
    let start = head(&*store).await;
    let mut subscription = store.subscribe_all(start);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let stream = unique_stream(&format!("sub-writer-{w}"));
                let mut ids = Vec::new();
                for n in 0..25 {
                    let event = sample_event("concurrent", n);
                    ids.push(event.event_id);
                    store
                        .append(&stream, ExpectedRevision::Any, vec![event])
                        .await
                        .expect("append while a subscription reads");
                }
                ids
            })
        })
        .collect();
    let delivered = next_events(&mut subscription, 200).await;
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.expect("writer task"));
    }
    assert_strictly_increasing(&positions(&delivered), "subscription positions");
    assert_eq!(
        ids(&delivered).into_iter().collect::<HashSet<_>>(),
        written,
        "the subscription delivers every committed event"
    );
    assert_eq!(
        ids(&delivered),
        ids(&read_log_after(&*store, start).await),
        "the subscription delivers the log's order"
    );
    assert_quiet(&mut subscription).await;
}

/// What goes in comes out: every metadata field, `None` and `Some`, microsecond timestamps,
/// every role and channel, and any JSON payload.
pub async fn events_round_trip_exactly<S: EventStore>(store: S) {
    let start = head(&store).await;
    let stream = unique_stream("round-trip");
    let full = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "round-tripped".to_owned(),
        schema_version: 3,
        metadata: EventMetadata {
            occurred_at: Utc
                .with_ymd_and_hms(1999, 12, 31, 23, 59, 59)
                .single()
                .expect("valid date")
                + chrono::Duration::microseconds(999_999),
            actor: Actor {
                person_id: Uuid::now_v7(),
                role: ActorRole::BoardChair,
            },
            channel: Channel::Phone,
            correlation_id: Uuid::now_v7(),
            causation_id: Some(Uuid::now_v7()),
            organisation_id: Uuid::now_v7(),
            property_id: Some(Uuid::now_v7()),
            idempotency_key: Some("key-ÄÖ-🔑".to_owned()),
        },
        payload: json!({
            "text": "Kylpyhuoneen lattiakaivo vuotaa – 🚿 \"lainaus\" \\ \n rivi",
            "integers": [0, -1, 9_007_199_254_740_993_i64, u64::MAX],
            "numbers": [1.5, -0.25, 1e-7],
            "nested": { "empty": {}, "list": [], "null": null, "flag": true },
            "ääkköset": "öljy",
        }),
    };
    let bare = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "round-tripped".to_owned(),
        schema_version: 1,
        metadata: EventMetadata {
            occurred_at: Utc
                .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
                .single()
                .expect("valid date")
                + chrono::Duration::microseconds(1),
            actor: Actor::SYSTEM,
            channel: Channel::System,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            organisation_id: Uuid::now_v7(),
            property_id: None,
            idempotency_key: None,
        },
        payload: json!(null),
    };
    let mut events = vec![full, bare];
    for (i, role) in ActorRole::ALL.into_iter().enumerate() {
        let mut event = sample_event("role-and-channel", i as u64);
        event.metadata.actor.role = role;
        event.metadata.channel = Channel::ALL[i % Channel::ALL.len()];
        event.payload = json!(format!("scalar {i}"));
        events.push(event);
    }

    let before = Utc::now();
    store
        .append(&stream, ExpectedRevision::NoStream, events.clone())
        .await
        .expect("append events to round-trip");
    let after = Utc::now();

    let from_stream = read_whole_stream(&store, &stream).await;
    let from_log = read_log_after(&store, start).await;
    let mut subscription = store.subscribe_all(start);
    let from_subscription = next_events(&mut subscription, events.len()).await;
    for (source, read) in [
        ("read_stream", &from_stream),
        ("read_all", &from_log),
        ("subscribe_all", &from_subscription),
    ] {
        assert_eq!(read.len(), events.len(), "{source}: every event comes back");
        for (i, (sent, got)) in events.iter().zip(read.iter()).enumerate() {
            assert_eq!(got.event_id, sent.event_id, "{source}: event {i} id");
            assert_eq!(got.stream, stream, "{source}: event {i} stream");
            assert_eq!(got.revision, i as u64, "{source}: event {i} revision");
            assert_eq!(got.event_type, sent.event_type, "{source}: event {i} type");
            assert_eq!(
                got.schema_version, sent.schema_version,
                "{source}: event {i} schema version"
            );
            assert_eq!(got.metadata, sent.metadata, "{source}: event {i} metadata");
            assert_eq!(
                got.payload.to_value().ok().as_ref(),
                Some(&sent.payload),
                "{source}: event {i} payload"
            );
            let slack = chrono::Duration::seconds(5);
            assert!(
                got.recorded_at >= before - slack && got.recorded_at <= after + slack,
                "{source}: event {i} recorded_at {} is the time of the append",
                got.recorded_at
            );
        }
    }
    assert_eq!(from_stream, from_log, "stream and log reads agree");
    assert_eq!(
        from_log, from_subscription,
        "log reads and subscriptions agree"
    );
}

/// Many tasks appending at once, to their own streams and to one contended stream: every
/// acknowledged event is stored exactly once, every stream is numbered without gaps, and
/// the global order agrees with every stream's order.
pub async fn many_concurrent_writers<S: EventStore>(store: S) {
    const TASKS: u64 = 64;
    const OWN_APPENDS: u64 = 20;
    /// Own appends number `n` with `n % 7 == 3` are followed by one to the shared stream.
    const SHARED_APPENDS: u64 = 3;
    let store = Arc::new(store);
    let start = head(&*store).await;
    let shared = unique_stream("shared");

    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = Arc::clone(&store);
            let shared = shared.clone();
            tokio::spawn(async move {
                let own = unique_stream(&format!("writer-{t}"));
                let mut acknowledged = Vec::new();
                for n in 0..OWN_APPENDS {
                    let expected = match n {
                        0 => ExpectedRevision::NoStream,
                        _ => ExpectedRevision::Exact(n - 1),
                    };
                    let event = sample_event("own", n);
                    let id = event.event_id;
                    let result = store
                        .append(&own, expected, vec![event])
                        .await
                        .unwrap_or_else(|e| panic!("append {n} to {own}: {e}"));
                    assert_eq!(result.next_expected_revision, n, "{own} revision");
                    acknowledged.push((own.clone(), id, result));
                    if n % 7 == 3 {
                        let event = sample_event("shared", t);
                        let id = event.event_id;
                        let result = append_with_retries(&*store, &shared, event).await;
                        acknowledged.push((shared.clone(), id, result));
                    }
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("writer task"));
    }
    assert_eq!(
        acknowledged.len() as u64,
        TASKS * (OWN_APPENDS + SHARED_APPENDS),
        "every task finished its appends"
    );

    let log = read_log_after(&*store, start).await;
    assert_strictly_increasing(&positions(&log), "positions of the log");
    let logged: HashSet<_> = ids(&log).into_iter().collect();
    assert_eq!(logged.len(), log.len(), "no event is stored twice");
    let acked: HashSet<_> = acknowledged.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(
        logged, acked,
        "the log holds exactly the acknowledged events"
    );

    let mut next_revision: HashMap<&str, u64> = HashMap::new();
    for event in &log {
        let next = next_revision.entry(event.stream.as_str()).or_default();
        assert_eq!(
            event.revision, *next,
            "stream {} is numbered without gaps in log order",
            event.stream
        );
        *next += 1;
    }
    assert_eq!(
        next_revision.get(shared.as_str()).copied(),
        Some(TASKS * SHARED_APPENDS),
        "every contended append landed once"
    );

    let by_id: HashMap<Uuid, &RecordedEvent> = log.iter().map(|e| (e.event_id, e)).collect();
    for (stream, id, result) in &acknowledged {
        let event = by_id[id];
        assert_eq!(&event.stream, stream, "acknowledged event {id} stream");
        assert_eq!(
            (event.revision, event.position),
            (result.next_expected_revision, result.position),
            "acknowledged event {id} is where its append said"
        );
    }
}

/// Appenders racing with the same `Exact` revision on one stream: one wins each round, the
/// others are told the revision the winner left.
pub async fn concurrent_exact_appends_have_one_winner<S: EventStore>(store: S) {
    const RACERS: usize = 16;
    const ROUNDS: u64 = 5;
    let store = Arc::new(store);
    let stream = unique_stream("race");
    append_ok(&*store, &stream, ExpectedRevision::NoStream, 1).await;
    for round in 0..ROUNDS {
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|r| {
                let (store, stream, barrier) =
                    (Arc::clone(&store), stream.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .append(
                            &stream,
                            ExpectedRevision::Exact(round),
                            vec![sample_event("racing", r as u64)],
                        )
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            match racer.await.expect("racer task") {
                Ok(result) => {
                    winners += 1;
                    assert_eq!(result.next_expected_revision, round + 1);
                }
                Err(StoreError::WrongExpectedVersion {
                    expected, current, ..
                }) => {
                    assert_eq!(expected, ExpectedRevision::Exact(round));
                    assert_eq!(
                        current,
                        CurrentRevision::Current(round + 1),
                        "a loser is told the revision the winner left"
                    );
                }
                Err(e) => panic!("round {round}: unexpected error {e}"),
            }
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one Exact({round}) append wins"
        );
    }
    assert_eq!(
        revisions(&read_whole_stream(&*store, &stream).await),
        (0..=ROUNDS).collect::<Vec<_>>()
    );
}

/// Every event is on the hash chain: each link's previous hash is the hash of the link before
/// it, each hash covers the event as read back (the encoding of [`crate::chain`]), the head is
/// the last link, and a link is found by its position.
pub async fn events_are_chained<S: EventStore>(store: S) {
    let start = head(&store).await;
    let start_link = store.chain_head().await.expect("chain head");
    assert_eq!(
        start_link.map(|l| l.position),
        (start != Position::START).then_some(start),
        "the chain head is the last event's link"
    );
    let stream = unique_stream("chained");
    for n in 0..3 {
        let mut second = sample_event("chained", n + 10);
        second.metadata.idempotency_key = Some(format!("key-{n}"));
        second.metadata.causation_id = Some(Uuid::now_v7());
        store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![sample_event("chained", n), second],
            )
            .await
            .expect("append");
    }
    let events = read_log_after(&store, start).await;
    let links = store.read_chain(start, PAGE).await.expect("read the chain");
    assert_eq!(
        links.iter().map(|l| l.position).collect::<Vec<_>>(),
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        "one link per event, in log order"
    );
    let mut previous = start_link.map_or(ChainHash::GENESIS, |l| l.hash);
    for (link, event) in links.iter().zip(&events) {
        assert_eq!(link.previous_hash, previous, "link at {}", link.position);
        assert_eq!(
            link.hash,
            recorded_event_hash(event, &previous),
            "the hash at {} covers the event and its predecessor",
            link.position
        );
        previous = link.hash;
        assert_eq!(
            store.chain_link(link.position).await.expect("chain link"),
            Some(*link)
        );
    }
    let distinct: HashSet<ChainHash> = links.iter().map(|l| l.hash).collect();
    assert_eq!(distinct.len(), links.len(), "every hash differs");
    assert_eq!(
        store.chain_head().await.expect("chain head"),
        links.last().copied()
    );
    let mut paged = Vec::new();
    let mut after = start;
    loop {
        let page = store.read_chain(after, 2).await.expect("read the chain");
        let Some(last) = page.last() else { break };
        after = last.position;
        paged.extend(page);
    }
    assert_eq!(
        paged, links,
        "reading the chain in pages sees every link once"
    );
    let past = Position::sequence(head(&store).await.commit + 1000);
    assert_eq!(store.chain_link(past).await.expect("chain link"), None);
    assert!(
        store
            .read_chain(start, 0)
            .await
            .expect("empty read")
            .is_empty()
    );
}

/// Every event is on its stream's hash chain ([`crate::stream_chain`]): each link's previous
/// hash is the hash of its stream's event before it (genesis for revision 0), each hash
/// covers the event as read back, the head is the last event's link, and a link is found by
/// its position.
pub async fn streams_are_chained<S: EventStore>(store: S) {
    let start = head(&store).await;
    let streams = [unique_stream("chained-a"), unique_stream("chained-b")];
    for n in 0..3 {
        for stream in &streams {
            let mut second = sample_event("chained", n + 10);
            second.metadata.idempotency_key = Some(format!("key-{n}"));
            second.metadata.causation_id = Some(Uuid::now_v7());
            store
                .append(
                    stream,
                    ExpectedRevision::Any,
                    vec![sample_event("chained", n), second],
                )
                .await
                .expect("append");
        }
    }
    let events = read_log_after(&store, start).await;
    let links = store.read_chain(start, PAGE).await.expect("read the chain");
    assert_eq!(
        links.iter().map(|l| l.position).collect::<Vec<_>>(),
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        "one link per event, in log order"
    );
    let mut previous: HashMap<&str, ChainHash> = HashMap::new();
    for (link, event) in links.iter().zip(&events) {
        let expected = previous
            .get(event.stream.as_str())
            .copied()
            .unwrap_or(ChainHash::GENESIS);
        assert_eq!(
            link.previous_hash, expected,
            "{} revision {}: the previous hash is its stream's last",
            event.stream, event.revision
        );
        assert_eq!(
            link.hash,
            recorded_event_stream_hash(event, &expected),
            "the hash at {} covers the event and its stream's predecessor",
            link.position
        );
        previous.insert(&event.stream, link.hash);
        assert_eq!(
            store.chain_link(link.position).await.expect("chain link"),
            Some(*link)
        );
    }
    assert_eq!(
        store.chain_head().await.expect("chain head"),
        links.last().copied()
    );
    assert!(
        store
            .read_chain(start, 0)
            .await
            .expect("empty read")
            .is_empty()
    );
}

/// Daily anchors name links of the chain, one per day, oldest first; a range read includes
/// both ends and an inverted range reads empty. A store that chains each stream has no
/// single chain to anchor, and no anchors.
pub async fn anchors_name_links_of_the_chain<S: EventStore>(store: S) {
    let stream = unique_stream("anchored");
    append_ok(&store, &stream, ExpectedRevision::Any, 1).await;
    let anchors = store
        .anchors(NaiveDate::MIN, NaiveDate::MAX)
        .await
        .expect("anchors");
    if store.chain_scope() == ChainScope::PerStream {
        assert_eq!(
            anchors,
            Vec::new(),
            "a stream-chained store keeps no anchors"
        );
        return;
    }
    for pair in anchors.windows(2) {
        assert!(pair[0].date < pair[1].date, "one anchor per day, in order");
        assert!(pair[0].position < pair[1].position);
    }
    for anchor in &anchors {
        let link = store.chain_link(anchor.position).await.expect("chain link");
        assert_eq!(link.map(|l| l.hash), Some(anchor.hash), "{anchor:?}");
        let one_day = store
            .anchors(anchor.date, anchor.date)
            .await
            .expect("anchors");
        assert_eq!(one_day, vec![*anchor]);
    }
    let today = Utc::now().date_naive();
    let inverted = store
        .anchors(today, today - chrono::Days::new(1))
        .await
        .expect("anchors");
    assert!(inverted.is_empty());
}

/// Appends `event` to a contended stream, re-reading the expected revision from each refusal.
async fn append_with_retries<S: EventStore>(
    store: &S,
    stream: &str,
    event: NewEvent,
) -> AppendResult {
    let mut expected = match store
        .read_stream(stream, Direction::Backwards, StreamFrom::End, 1)
        .await
        .expect("read the contended stream's end")
        .first()
    {
        Some(last) => ExpectedRevision::Exact(last.revision),
        None => ExpectedRevision::NoStream,
    };
    loop {
        match store.append(stream, expected, vec![event.clone()]).await {
            Ok(result) => return result,
            Err(StoreError::WrongExpectedVersion { current, .. }) => {
                expected = match current {
                    CurrentRevision::NoStream => ExpectedRevision::NoStream,
                    CurrentRevision::Current(n) => ExpectedRevision::Exact(n),
                };
            }
            Err(e) => panic!("append to contended stream {stream}: {e}"),
        }
    }
}

async fn append_ok<S: EventStore + ?Sized>(
    store: &S,
    stream: &str,
    expected: ExpectedRevision,
    count: u64,
) -> AppendResult {
    let events = (0..count).map(|n| sample_event("sampled", n)).collect();
    store
        .append(stream, expected, events)
        .await
        .unwrap_or_else(|e| panic!("append to {stream} expecting {expected:?}: {e}"))
}

async fn head<S: EventStore + ?Sized>(store: &S) -> Position {
    store.head().await.expect("read the head")
}

async fn read_whole_stream<S: EventStore + ?Sized>(store: &S, stream: &str) -> Vec<RecordedEvent> {
    store
        .read_stream(stream, Direction::Forwards, StreamFrom::Start, 100_000)
        .await
        .unwrap_or_else(|e| panic!("read stream {stream}: {e}"))
}

/// Everything in the log after `after`, read page by page.
async fn read_log_after<S: EventStore + ?Sized>(store: &S, after: Position) -> Vec<RecordedEvent> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let from = events.last().map_or(after, |e| e.position);
        let page = store
            .read_all(from, PAGE, &LogFilter::default())
            .await
            .expect("read the log");
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

async fn next_events(subscription: &mut Subscription, count: usize) -> Vec<RecordedEvent> {
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        match tokio::time::timeout(DELIVERY_TIMEOUT, subscription.next()).await {
            Ok(Some(Ok(event))) => events.push(event),
            Ok(Some(Err(e))) => panic!("subscription failed after {} events: {e}", events.len()),
            Ok(None) => panic!(
                "subscription ended after {} of {count} events",
                events.len()
            ),
            Err(_) => panic!(
                "subscription delivered {} of {count} events within {DELIVERY_TIMEOUT:?}",
                events.len()
            ),
        }
    }
    events
}

async fn assert_quiet(subscription: &mut Subscription) {
    if let Ok(item) = tokio::time::timeout(QUIET_PERIOD, subscription.next()).await {
        panic!("subscription delivered more than was committed: {item:?}");
    }
}

#[track_caller]
fn assert_wrong_version(
    result: Result<AppendResult, StoreError>,
    stream: &str,
    expected: ExpectedRevision,
    current: CurrentRevision,
) {
    match result {
        Err(StoreError::WrongExpectedVersion {
            stream: s,
            expected: e,
            current: c,
        }) => {
            assert_eq!(s, stream, "WrongExpectedVersion names the stream");
            assert_eq!(e, expected, "WrongExpectedVersion repeats the expectation");
            assert_eq!(
                c, current,
                "WrongExpectedVersion reports where the stream is"
            );
        }
        other => panic!(
            "append to {stream} expecting {expected:?} should be refused with the stream at \
             {current:?}, got {other:?}"
        ),
    }
}

#[track_caller]
fn assert_strictly_increasing(positions: &[Position], what: &str) {
    if let Some(w) = positions.windows(2).find(|w| w[0] >= w[1]) {
        panic!(
            "{what} must strictly increase, but {} is followed by {}",
            w[0], w[1]
        );
    }
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

fn event_ids(events: &[NewEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

fn revisions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.revision).collect()
}

fn positions(events: &[RecordedEvent]) -> Vec<Position> {
    events.iter().map(|e| e.position).collect()
}
