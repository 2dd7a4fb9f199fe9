//! A notification's message is read from the log, from the `NotificationQueued` that starts
//! its stream: found there, and refused naming the notification when its stream starts with
//! anything else (another notification's queueing too) or does not exist.

use std::sync::Arc;

use talo_events_schema::envelope::{EventMetadata, NewEvent};
use talo_events_schema::notification::{NotificationChannel, NotificationQueued, NotificationSent};
use talo_events_schema::{DomainEvent, streams};
use talo_projections::notifications::{MessageError, NotificationMessage, message};
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

fn new_event(payload: DomainEvent) -> NewEvent {
    let metadata = EventMetadata::system(Uuid::now_v7(), Uuid::now_v7(), chrono::Utc::now());
    NewEvent::of(Uuid::now_v7(), &payload, metadata)
}

async fn append(store: &dyn EventStore, id: Uuid, events: Vec<DomainEvent>) {
    store
        .append(
            &streams::notification(id),
            ExpectedRevision::NoStream,
            events.into_iter().map(new_event).collect(),
        )
        .await
        .expect("append");
}

fn queued(id: Uuid, subject: &str) -> DomainEvent {
    NotificationQueued {
        notification_id: id,
        person_id: Uuid::now_v7(),
        channel: NotificationChannel::Email,
        address: "resident@example.fi".into(),
        subject: subject.into(),
        body: "Katso lisätiedot asukasportaalista.".into(),
        cause_event_id: Uuid::now_v7(),
        cause_type: "FaultReportAcknowledged".into(),
    }
    .into()
}

#[tokio::test]
async fn messages_are_read_from_the_queued_event_that_starts_each_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).expect("open"),
    );
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    append(store.as_ref(), first, vec![queued(first, "Ensimmäinen")]).await;
    // Later events of the stream do not change what it says.
    append(
        store.as_ref(),
        second,
        vec![
            queued(second, "Toinen"),
            NotificationSent {
                notification_id: second,
                attempt: 1,
            }
            .into(),
        ],
    )
    .await;

    assert_eq!(
        message(store.as_ref(), first).await.expect("read"),
        NotificationMessage {
            address: "resident@example.fi".into(),
            subject: "Ensimmäinen".into(),
            body: "Katso lisätiedot asukasportaalista.".into(),
            cause_type: "FaultReportAcknowledged".into(),
        }
    );
    assert_eq!(
        message(store.as_ref(), second).await.expect("read").subject,
        "Toinen"
    );

    // A stream that starts with something else, one that starts with another notification's
    // queueing, and one that is not there.
    let stray = Uuid::now_v7();
    append(
        store.as_ref(),
        stray,
        vec![
            NotificationSent {
                notification_id: stray,
                attempt: 1,
            }
            .into(),
        ],
    )
    .await;
    let borrowed = Uuid::now_v7();
    append(store.as_ref(), borrowed, vec![queued(first, "Lainattu")]).await;
    let missing = Uuid::now_v7();
    for id in [stray, borrowed, missing] {
        let refused = message(store.as_ref(), id).await;
        assert!(
            matches!(refused, Err(MessageError::NotQueued(named)) if named == id),
            "{refused:?}"
        );
        let said = refused.unwrap_err().to_string();
        assert!(said.contains(&id.to_string()), "{said}");
    }
}
