//! The auditor's fold of the whole log through a cut (`as_of::fold_log`), on the embedded
//! store: it reads past the feed's pages, stops at the cut's position or at the head of the
//! log, admits events by the time they were recorded, and names the event it could not decode
//! unless the cut ends before it. A projection that names the types it folds reads only those,
//! across pages of matches, and never reads an event of another type.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{EventMetadata, NewEvent, Position, RecordedEvent};
use talo_events_schema::register::OrganisationRegistered;
use talo_events_schema::ticket::TicketNumberIssued;
use talo_projections::as_of::{Cut, fold_log};
use talo_projections::engine::{Projection, build_from_zero};
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

/// The same, read through a filter: the log's other types never reach it.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct NamedRegistrations(Vec<u64>);

impl Projection for NamedRegistrations {
    const NAME: &'static str = "named_registrations";
    const VERSION: u32 = 1;
    const EVENT_TYPES: Option<&'static [&'static str]> = Some(&["OrganisationRegistered"]);

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        if let DomainEvent::OrganisationRegistered(_) = decoded {
            self.0.push(event.position.commit);
        }
    }
}

fn ticket(n: u64) -> NewEvent {
    let payload = DomainEvent::TicketNumberIssued(TicketNumberIssued {
        prefix: "VK".to_owned(),
        year: 2026,
        number: n as u32,
        ticket: format!("VK-2026-{n:06}"),
        issued_for: Uuid::now_v7(),
    });
    let metadata = EventMetadata::system(Uuid::now_v7(), Uuid::now_v7(), chrono::Utc::now());
    NewEvent::of(Uuid::now_v7(), &payload, metadata)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_naming_its_types_reads_only_those_through_a_cut() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    let named = |cut: Cut| {
        let store = Arc::clone(&store);
        async move {
            fold_log::<NamedRegistrations>(&store, &cut)
                .await
                .map(|n| n.0)
        }
    };
    assert_eq!(named(Cut::default()).await.unwrap(), Vec::<u64>::new());

    // Registrations at 1-1200 and 3701-4700 with 2,500 ticket numbers between them, then a
    // ticket number whose payload is not one (4701) and 100 more registrations (4702-4801):
    // more matches than a page holds, and a page that ends in the middle of other types.
    append(
        store.as_ref(),
        "organisation-a",
        (1..=1_200).map(registered).collect(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after_first = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    append(
        store.as_ref(),
        "tickets-a",
        (1..=2_500).map(ticket).collect(),
    )
    .await;
    append(
        store.as_ref(),
        "organisation-b",
        (1..=1_000).map(registered).collect(),
    )
    .await;
    let mut not_a_ticket = ticket(0);
    not_a_ticket.payload = json!({ "n": 1 });
    append(store.as_ref(), "tickets-b", vec![not_a_ticket]).await;
    append(
        store.as_ref(),
        "organisation-c",
        (1..=100).map(registered).collect(),
    )
    .await;

    let registrations: Vec<u64> = (1..=1_200)
        .chain(3_701..=4_700)
        .chain(4_702..=4_801)
        .collect();
    assert_eq!(named(Cut::default()).await.unwrap(), registrations);
    // The whole log's fold stops at the ticket number it cannot decode; this one never read it.
    let whole = fold_log::<Registrations>(&store, &Cut::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(whole.contains("event at position 4701"), "{whole}");

    let until = |position: u64| Cut {
        until: Some(Position::sequence(position)),
        ..Cut::default()
    };
    let through_4000: Vec<u64> = (1..=1_200).chain(3_701..=4_000).collect();
    assert_eq!(named(until(4_000)).await.unwrap(), through_4000);
    // A cut among the ticket numbers: the page past it is not folded.
    assert_eq!(
        named(until(1_500)).await.unwrap(),
        (1..=1_200).collect::<Vec<_>>()
    );
    let known_after_first = Cut {
        known_at: Some(after_first),
        ..Cut::default()
    };
    assert_eq!(
        named(known_after_first).await.unwrap(),
        (1..=1_200).collect::<Vec<_>>()
    );
    // A rebuild to compare reads the same way.
    let rebuilt: NamedRegistrations = build_from_zero(store.as_ref(), Position::sequence(4_801))
        .await
        .unwrap();
    assert_eq!(rebuilt.0, registrations);

    // A registration that does not decode is read, and named.
    let mut broken = registered(0);
    broken.payload = json!({ "n": 1 });
    append(store.as_ref(), "organisation-d", vec![broken]).await;
    let error = named(Cut::default()).await.unwrap_err().to_string();
    assert!(
        error.contains("event at position 4802") && error.contains("OrganisationRegistered"),
        "{error}"
    );
    assert_eq!(named(until(4_801)).await.unwrap(), registrations);
}
