//! A read model's projection is not held off by a reader that takes and releases the read lock
//! in a loop, as a report reading the ledgers a slice of contracts at a time does: once the
//! projection waits to write, new reads wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{EventMetadata, NewEvent, RecordedEvent};
use talo_events_schema::register::OrganisationRegistered;
use talo_projections::engine::{Projection, Running, SnapshotPolicy};
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

/// Counts the organisations registered.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Organisations {
    count: u64,
}

impl Projection for Organisations {
    const NAME: &'static str = "organisations";
    const VERSION: u32 = 1;

    fn apply(&mut self, _: &RecordedEvent, decoded: &DomainEvent) {
        if let DomainEvent::OrganisationRegistered(_) = decoded {
            self.count += 1;
        }
    }
}

async fn register(store: &dyn EventStore, n: u64) {
    let organisation_id = Uuid::now_v7();
    let payload = DomainEvent::OrganisationRegistered(OrganisationRegistered {
        organisation_id,
        name: format!("Organisation {n}"),
        business_id: "1572860-0".to_owned(),
        fault_reopen_window_days: 14,
    });
    let metadata = EventMetadata::system(organisation_id, Uuid::now_v7(), chrono::Utc::now());
    store
        .append(
            &format!("organisation-{n}"),
            ExpectedRevision::NoStream,
            vec![NewEvent::of(Uuid::now_v7(), &payload, metadata)],
        )
        .await
        .expect("append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_taking_the_lock_in_a_loop_does_not_hold_off_the_projection() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).expect("open"),
    );
    register(store.as_ref(), 0).await;
    let running = Arc::new(
        Running::<Organisations>::start(
            store.clone(),
            dir.path().to_path_buf(),
            SnapshotPolicy::default(),
        )
        .await,
    );
    let first = store.head().await.expect("head");
    running
        .wait_for(first, Duration::from_secs(10))
        .await
        .expect("caught up");

    // The reader: a slice's worth of reading under the lock (a millisecond), again and again
    // without pause, counting the slices read once the next event is in the log, until the
    // projection has folded it or for ten seconds at most.
    let (appended, folded) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let reader = std::thread::spawn({
        let (running, appended, folded) = (running.clone(), appended.clone(), folded.clone());
        move || {
            let started = Instant::now();
            let mut slices_after = 0u32;
            while !folded.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
                let counting = appended.load(Ordering::SeqCst);
                let view = running.read();
                let slice = Instant::now() + Duration::from_millis(1);
                while Instant::now() < slice {
                    std::hint::black_box(view.count);
                }
                drop(view);
                slices_after += u32::from(counting);
            }
            slices_after
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    register(store.as_ref(), 1).await;
    appended.store(true, Ordering::SeqCst);
    let second = store.head().await.expect("head");
    running
        .wait_for(second, Duration::from_secs(20))
        .await
        .expect("the next event folded");
    folded.store(true, Ordering::SeqCst);
    let slices = reader.join().expect("the reader");
    // Once the projection waits, at most the slice being read goes first; the rest is the
    // feed bringing the event, well under 200 slices even on a busy machine. A reader let back
    // in before the woken projection runs read on for hundreds or thousands.
    assert!(
        slices < 200,
        "{slices} slices were read before the projection folded the event"
    );
    assert_eq!(running.read().count, 2);
    running.shutdown().await;
}
