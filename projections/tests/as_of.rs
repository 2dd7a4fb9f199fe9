//! The auditor's fold of the whole log through a cut (`as_of::fold_log`), on the embedded
//! store: it reads past the feed's pages, stops at the cut's position or at the head of the
//! log, admits events by the time they were recorded, and names the event it could not decode
//! unless the cut ends before it.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{EventMetadata, NewEvent, Position, RecordedEvent};
use talo_events_schema::register::OrganisationRegistered;
use talo_projections::as_of::{Cut, fold_log};
use talo_projections::engine::Projection;
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

/// The positions of the organisations registered, in the order folded.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Registrations(Vec<u64>);

impl Projection for Registrations {
    const NAME: &'static str = "registrations";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        if let DomainEvent::OrganisationRegistered(_) = decoded {
            self.0.push(event.position.commit);
        }
    }
}

fn registered(n: u64) -> NewEvent {
    let organisation_id = Uuid::now_v7();
    let payload = DomainEvent::OrganisationRegistered(OrganisationRegistered {
        organisation_id,
        name: format!("Organisation {n}"),
        business_id: "1572860-0".to_owned(),
        fault_reopen_window_days: 14,
    });
    let metadata = EventMetadata::system(organisation_id, Uuid::now_v7(), chrono::Utc::now());
    NewEvent::of(Uuid::now_v7(), &payload, metadata)
}

async fn append(store: &dyn EventStore, stream: &str, events: Vec<NewEvent>) {
    store
        .append(stream, ExpectedRevision::NoStream, events)
        .await
        .expect("appended");
}

async fn fold(store: &Arc<dyn EventStore>, cut: Cut) -> Registrations {
    fold_log(store, &cut).await.expect("folds")
}

fn positions(range: std::ops::RangeInclusive<u64>) -> Registrations {
    Registrations(range.collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_log_is_folded_through_a_cut_across_the_feeds_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    assert_eq!(fold(&store, Cut::default()).await, Registrations::default());

    // Three appends of a thousand: the feed reads the log a thousand positions a page, several
    // pages at once while catching up.
    append(
        store.as_ref(),
        "organisation-a",
        (1..=1_000).map(registered).collect(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after_first = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for stream in ["organisation-b", "organisation-c"] {
        append(
            store.as_ref(),
            stream,
            (1..=1_000).map(registered).collect(),
        )
        .await;
    }

    assert_eq!(fold(&store, Cut::default()).await, positions(1..=3_000));
    let through_2500 = Cut {
        until: Some(Position::sequence(2_500)),
        ..Cut::default()
    };
    assert_eq!(fold(&store, through_2500).await, positions(1..=2_500));
    let known_after_first = Cut {
        known_at: Some(after_first),
        ..Cut::default()
    };
    assert_eq!(fold(&store, known_after_first).await, positions(1..=1_000));
    // A cut past the head folds what there is.
    let past_the_head = Cut {
        until: Some(Position::sequence(9_999)),
        ..Cut::default()
    };
    assert_eq!(fold(&store, past_the_head).await, positions(1..=3_000));

    // An event whose payload is not an organisation's registration, though it says it is.
    let mut broken = registered(0);
    broken.payload = json!({ "n": 1 });
    append(store.as_ref(), "organisation-d", vec![broken]).await;
    let error = fold_log::<Registrations>(&store, &Cut::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("event at position 3001") && error.contains("OrganisationRegistered"),
        "{error}"
    );
    // A cut that ends before it never reads it.
    let before_it = Cut {
        until: Some(Position::sequence(3_000)),
        ..Cut::default()
    };
    assert_eq!(fold(&store, before_it).await, positions(1..=3_000));
}
