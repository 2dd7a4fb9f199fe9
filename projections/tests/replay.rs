//! Replaying history against persisted snapshots: a deterministic projection rebuilt from zero
//! equals its live snapshot; one whose `apply` depends on something outside the events (here a
//! process-wide counter) is reported as different; a projection without a snapshot is rebuilt
//! and said to have nothing to compare; and the replay covers every read model Talo runs, from
//! one read of the log, each read model to its own snapshot's checkpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{EventMetadata, NewEvent, RecordedEvent};
use talo_events_schema::register::OrganisationRegistered;
use talo_projections::engine::{Projection, Running, SnapshotPolicy};
use talo_projections::replay::{ReplayOutcome, compare};
use talo_projections::{ReadModels, ReadModelsOptions};
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

/// Counts organisations by name: a pure fold of the events.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct NamesCounted {
    by_name: BTreeMap<String, u64>,
}

impl Projection for NamesCounted {
    const NAME: &'static str = "names_counted";
    const VERSION: u32 = 1;

    fn apply(&mut self, _: &RecordedEvent, decoded: &DomainEvent) {
        if let DomainEvent::OrganisationRegistered(e) = decoded {
            *self.by_name.entry(e.name.clone()).or_default() += 1;
        }
    }
}

/// Draws a number from outside the events for each one, so no two folds agree.
static DRAWS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Flaky {
    seen: Vec<u64>,
}

impl Projection for Flaky {
    const NAME: &'static str = "flaky";
    const VERSION: u32 = 1;

    fn apply(&mut self, _: &RecordedEvent, _: &DomainEvent) {
        self.seen.push(DRAWS.fetch_add(1, Ordering::Relaxed));
    }
}

fn registered(n: u64) -> NewEvent {
    let organisation_id = Uuid::now_v7();
    let payload = DomainEvent::OrganisationRegistered(OrganisationRegistered {
        organisation_id,
        name: format!("Organisation {}", n % 2),
        business_id: "1572860-0".to_owned(),
        fault_reopen_window_days: 14,
    });
    let metadata = EventMetadata::system(organisation_id, Uuid::now_v7(), chrono::Utc::now());
    NewEvent::of(Uuid::now_v7(), &payload, metadata)
}

fn store_in(dir: &std::path::Path) -> Arc<dyn EventStore> {
    Arc::new(SqliteEventStore::open(SqliteOptions::new(dir.join("events.sqlite"))).expect("open"))
}

/// Registers organisations `numbers`, each in its own stream.
async fn append_registered(store: &dyn EventStore, numbers: std::ops::Range<u64>) {
    for n in numbers {
        store
            .append(
                &format!("organisation-{n}"),
                ExpectedRevision::NoStream,
                vec![registered(n)],
            )
            .await
            .expect("append");
    }
}

/// Every read model Talo runs, over `store`, with snapshots in `snapshots`.
async fn start_all(store: &Arc<dyn EventStore>, snapshots: &std::path::Path) -> ReadModels {
    ReadModels::start(
        store.clone(),
        &ReadModelsOptions {
            dir: snapshots.to_path_buf(),
            snapshots: SnapshotPolicy::default(),
        },
    )
    .await
    .expect("start")
}

/// A store with five events, and `P` run live over it until its snapshot is written.
async fn live<P: Projection>(dir: &std::path::Path) -> Arc<dyn EventStore> {
    let store = store_in(dir);
    append_registered(store.as_ref(), 0..5).await;
    let snapshots = dir.join("read-models");
    std::fs::create_dir_all(&snapshots).expect("snapshot directory");
    let running = Running::<P>::start(store.clone(), snapshots, SnapshotPolicy::default()).await;
    let head = store.head().await.expect("head");
    running
        .wait_for(head, Duration::from_secs(10))
        .await
        .expect("caught up");
    running.shutdown().await;
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deterministic_projection_replays_equal_to_its_snapshot() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = live::<NamesCounted>(dir.path()).await;
    let outcome = compare::<NamesCounted>(store.as_ref(), &dir.path().join("read-models"))
        .await
        .expect("compare");
    assert_eq!(
        outcome,
        ReplayOutcome::Equal {
            position: store.head().await.expect("head")
        }
    );
    assert!(!outcome.is_difference());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_that_depends_on_more_than_its_events_is_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = live::<Flaky>(dir.path()).await;
    let outcome = compare::<Flaky>(store.as_ref(), &dir.path().join("read-models"))
        .await
        .expect("compare");
    assert!(outcome.is_difference(), "{outcome:?}");
    assert_eq!(
        outcome,
        ReplayOutcome::Differs {
            position: store.head().await.expect("head"),
            path: "$.seen[0]".to_owned()
        }
    );
    assert!(outcome.to_string().contains("DIFFERS"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_snapshot_there_is_nothing_to_compare() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = live::<NamesCounted>(dir.path()).await;
    let outcome = compare::<NamesCounted>(store.as_ref(), &dir.path().join("elsewhere"))
        .await
        .expect("compare");
    assert_eq!(
        outcome,
        ReplayOutcome::NoSnapshot {
            position: store.head().await.expect("head")
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_another_log_is_not_compared() {
    let dir = tempfile::tempdir().expect("temporary directory");
    live::<NamesCounted>(dir.path()).await;
    let other = tempfile::tempdir().expect("temporary directory");
    let other_store = live::<NamesCounted>(other.path()).await;
    let outcome = compare::<NamesCounted>(other_store.as_ref(), &dir.path().join("read-models"))
        .await
        .expect("compare");
    assert!(
        matches!(outcome, ReplayOutcome::SnapshotNotOfThisLog { .. }),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_covers_every_read_model_that_runs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store_in(dir.path());
    let snapshots = dir.path().join("read-models");
    let running = start_all(&store, &snapshots).await;
    let running_names: Vec<&str> = running.statuses().iter().map(|s| s.name).collect();
    running.shutdown().await;
    let mut heard = Vec::new();
    let replayed = ReadModels::replay(store.clone(), &snapshots, |r| heard.push(r.name)).await;
    let replayed_names: Vec<&str> = replayed.iter().map(|r| r.name).collect();
    assert_eq!(replayed_names, running_names);
    assert_eq!(ReadModels::COUNT, running_names.len());
    assert_eq!(heard, running_names);
    for replay in replayed {
        assert!(
            matches!(replay.outcome, Ok(ReplayOutcome::NoSnapshot { .. })),
            "{replay:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_read_of_the_log_replays_each_read_model_to_its_own_checkpoint() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store_in(dir.path());
    append_registered(store.as_ref(), 0..5).await;
    let snapshots = dir.path().join("read-models");
    let running = start_all(&store, &snapshots).await;
    let checkpoint = store.head().await.expect("head");
    running
        .wait_for(checkpoint, Duration::from_secs(10))
        .await
        .expect("caught up");
    running.shutdown().await;
    // Events after the snapshots, and one read model without a snapshot: it is rebuilt to the
    // head, the others only to their checkpoints.
    append_registered(store.as_ref(), 5..8).await;
    let head = store.head().await.expect("head");
    std::fs::remove_file(snapshots.join("register.snapshot")).expect("remove a snapshot");

    let replayed = ReadModels::replay(store.clone(), &snapshots, |_| {}).await;
    assert_eq!(replayed.len(), ReadModels::COUNT);
    for replay in replayed {
        let expected = if replay.name == "register" {
            ReplayOutcome::NoSnapshot { position: head }
        } else {
            ReplayOutcome::Equal {
                position: checkpoint,
            }
        };
        assert_eq!(
            replay.outcome.expect(replay.name),
            expected,
            "{}",
            replay.name
        );
    }
}
