//! Concurrent writers lose no update, and a retried request with the same idempotency key
//! records once.

use serde_json::json;
use talo_api::demo;
use talo_events_schema::streams;
use talo_store::{Direction, StreamFrom};
use talo_tests::*;
use uuid::Uuid;

async fn stream_len(server: &TestServer, id: &str) -> usize {
    let stream = streams::fault_report(id.parse::<Uuid>().unwrap());
    server
        .talo
        .store
        .read_stream(&stream, Direction::Forwards, StreamFrom::Start, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_notes_on_one_report_all_land() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let writers = [
        ("resident", "SHARED"),
        ("customer_service", "INTERNAL"),
        ("property_manager", "SHARED"),
        ("technical_manager", "INTERNAL"),
    ];
    let mut tasks = Vec::new();
    for round in 0..5 {
        for (role, visibility) in writers {
            let text = format!("{role} {round}");
            tasks.push(step(
                &server,
                role,
                "addFaultReportNote",
                "AddFaultReportNoteInput",
                &id,
                json!({ "text": text, "visibility": visibility }),
            ));
        }
    }
    for answer in futures::future::join_all(tasks).await {
        answer.data();
    }
    let report = server
        .as_role("property_manager", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    let notes = report.data()["faultReport"]["notes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(notes, 20, "every concurrent note is kept");
    assert_eq!(stream_len(&server, &id).await, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_incompatible_steps_end_with_one_winner_and_a_named_refusal() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    // The resident cancels while the contractor starts work: exactly one can happen.
    let (cancel, start) = tokio::join!(
        step(
            &server,
            "resident",
            "cancelFaultReport",
            "FaultReportReasonInput",
            &id,
            json!({ "reason": "ei tarvita" })
        ),
        step(
            &server,
            "contractor",
            "startFaultReportWork",
            "FaultReportStepInput",
            &id,
            json!({})
        ),
    );
    let cancelled = cancel.body["errors"].is_null();
    let started = start.body["errors"].is_null();
    assert!(
        cancelled ^ started,
        "exactly one wins: {:#} {:#}",
        cancel.body,
        start.body
    );
    if cancelled {
        start.assert_refused("CONFLICT", "fault_report.closed");
    } else {
        cancel.assert_refused("CONFLICT", "fault_report.cancel_after_work_started");
    }
}

#[tokio::test]
async fn a_retried_report_with_the_same_key_is_recorded_once() {
    let server = TestServer::start().await;
    let input = json!({ "input": { "idempotencyKey": "retry-me-1", "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "OTHER", "description": "Ovikello rikki" } });
    let first = server.as_role("resident", ops::REPORT, input.clone()).await;
    let head = server.talo.store.head().await.unwrap();
    let second = server.as_role("resident", ops::REPORT, input).await;
    let (a, b) = (&first.data()["reportFault"], &second.data()["reportFault"]);
    assert_eq!(a["faultReport"]["id"], b["faultReport"]["id"]);
    assert_eq!(a["faultReport"]["ticket"], b["faultReport"]["ticket"]);
    assert_eq!(
        (a["replayed"].as_bool(), b["replayed"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        server.talo.store.head().await.unwrap(),
        head,
        "the retry recorded nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_step_record_it_once() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let mutation = ops::step("addFaultReportNote", "AddFaultReportNoteInput");
    let input = json!({ "input": { "idempotencyKey": "note-once", "faultReportId": id, "text": "Milloin tulette?" } });
    let answers = futures::future::join_all(
        (0..8).map(|_| server.as_role("resident", &mutation, input.clone())),
    )
    .await;
    let replayed = answers
        .iter()
        .filter(|a| a.data()["addFaultReportNote"]["replayed"] == true)
        .count();
    assert_eq!(replayed, 7);
    assert_eq!(stream_len(&server, &id).await, 2, "reported + one note");
}

#[tokio::test]
async fn a_key_reused_for_a_different_request_is_a_conflict() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let note = ops::step("addFaultReportNote", "AddFaultReportNoteInput");
    server
        .as_role(
            "customer_service",
            &note,
            json!({ "input": { "idempotencyKey": "k-1", "faultReportId": id, "text": "x" } }),
        )
        .await
        .data();
    let ack = ops::step("acknowledgeFaultReport", "FaultReportStepInput");
    let reused = server
        .as_role(
            "customer_service",
            &ack,
            json!({ "input": { "idempotencyKey": "k-1", "faultReportId": id } }),
        )
        .await;
    reused.assert_refused("CONFLICT", "idempotency.key_reused");
    // Another person may use the same key freely: keys are per person.
    server
        .as_role(
            "property_manager",
            &ack,
            json!({ "input": { "idempotencyKey": "k-1", "faultReportId": id } }),
        )
        .await
        .data();
}

#[tokio::test]
async fn idempotency_survives_a_restart() {
    let server = TestServer::start().await;
    let input = json!({ "input": { "idempotencyKey": "before-restart", "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "OTHER", "description": "x" } });
    let first = server.as_role("resident", ops::REPORT, input.clone()).await;
    let id = first.data()["reportFault"]["faultReport"]["id"].clone();
    let server = server.crash_and_restart().await;
    let again = server.as_role("resident", ops::REPORT, input).await;
    assert_eq!(again.data()["reportFault"]["faultReport"]["id"], id);
    assert_eq!(again.data()["reportFault"]["replayed"], true);
}

#[tokio::test]
async fn a_key_reused_on_another_report_is_a_conflict_not_a_silent_replay() {
    let server = TestServer::start().await;
    let first = report_as_resident(&server).await;
    let second = report_as_resident(&server).await;
    let ack = ops::step("acknowledgeFaultReport", "FaultReportStepInput");
    server
        .as_role(
            "customer_service",
            &ack,
            json!({ "input": { "idempotencyKey": "ack", "faultReportId": first } }),
        )
        .await
        .data();
    let reused = server
        .as_role(
            "customer_service",
            &ack,
            json!({ "input": { "idempotencyKey": "ack", "faultReportId": second } }),
        )
        .await;
    reused.assert_refused("CONFLICT", "idempotency.key_reused");
    let untouched = server
        .as_role(
            "customer_service",
            ops::FAULT_REPORT,
            json!({ "id": second }),
        )
        .await;
    assert_eq!(untouched.data()["faultReport"]["status"], "REPORTED");
}

#[tokio::test]
async fn retries_after_not_yet_visible_record_nothing_twice() {
    let server =
        TestServer::with_read_your_writes_timeout(std::time::Duration::from_millis(200)).await;
    let id = report_as_resident(&server).await;
    // The read models stop on an event this build cannot read, so nothing new becomes visible
    // and the idempotency read model cannot help: the retries must be recognised from the log.
    let mut alien = talo_store::conformance::sample_event("RoofBlownAway", 1);
    alien.metadata.organisation_id = server.org().organisation_id;
    server
        .talo
        .store
        .append("weather-1", talo_store::ExpectedRevision::Any, vec![alien])
        .await
        .unwrap();

    let note = ops::step("addFaultReportNote", "AddFaultReportNoteInput");
    let input = json!({ "input": { "idempotencyKey": "note-lagging", "faultReportId": id, "text": "Milloin?" } });
    for _ in 0..3 {
        let answer = server.as_role("resident", &note, input.clone()).await;
        assert_eq!(answer.code(), "NOT_YET_VISIBLE");
    }
    assert_eq!(
        stream_len(&server, &id).await,
        2,
        "reported + one note, however often retried"
    );

    let report = json!({ "input": { "idempotencyKey": "report-lagging", "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "OTHER", "description": "x" } });
    let tickets = format!("tickets-VK-{}", server.org().organisation_id);
    let tickets_before = server
        .talo
        .store
        .read_stream(&tickets, Direction::Forwards, StreamFrom::Start, 1000)
        .await
        .unwrap()
        .len();
    for _ in 0..3 {
        assert_eq!(
            server
                .as_role("resident", ops::REPORT, report.clone())
                .await
                .code(),
            "NOT_YET_VISIBLE"
        );
    }
    let tickets_after = server
        .talo
        .store
        .read_stream(&tickets, Direction::Forwards, StreamFrom::Start, 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(tickets_after, tickets_before + 1, "one report, one ticket");
}

/// Once armed, lets "another node" append a note to a report just before this node's own
/// append, so the expected revision no longer holds.
struct AnotherNodeWrites {
    armed: std::sync::Mutex<Option<talo_events_schema::envelope::NewEvent>>,
}

#[async_trait::async_trait]
impl StoreHooks for AnotherNodeWrites {
    async fn before_append(
        &self,
        store: &dyn talo_store::EventStore,
        stream: &str,
        expected: talo_store::ExpectedRevision,
    ) -> Result<(), talo_store::StoreError> {
        let competing = match expected {
            talo_store::ExpectedRevision::Exact(_) if stream.starts_with("fault-report-") => {
                self.armed.lock().unwrap().take()
            }
            _ => None,
        };
        if let Some(event) = competing {
            store
                .append(stream, talo_store::ExpectedRevision::Any, vec![event])
                .await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_write_that_loses_a_race_with_another_node_is_decided_again_and_both_land() {
    let armed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = armed.clone();
    let server = TestServer::on_store(move |inner| {
        let store = std::sync::Arc::new(HookedStore {
            inner,
            hooks: AnotherNodeWrites {
                armed: std::sync::Mutex::new(None),
            },
        });
        *slot.lock().unwrap() = Some(store.clone());
        store
    })
    .await;
    let store = armed.lock().unwrap().clone().unwrap();
    let id = report_as_resident(&server).await;
    let fault_report_id: Uuid = id.parse().unwrap();
    let mut competing = talo_store::conformance::sample_event("FaultReportNoteAdded", 1);
    competing.payload = talo_events_schema::DomainEvent::FaultReportNoteAdded(
        talo_events_schema::fault_report::FaultReportNoteAdded {
            fault_report_id,
            note_id: Uuid::now_v7(),
            text: "Toiselta palvelimelta".into(),
            visibility: talo_events_schema::fault_report::NoteVisibility::Shared,
        },
    )
    .to_json();
    competing.metadata.organisation_id = server.org().organisation_id;
    competing.metadata.actor = talo_events_schema::envelope::Actor {
        person_id: server.org().person("customer_service"),
        role: talo_events_schema::envelope::ActorRole::CustomerService,
    };
    *store.hooks.armed.lock().unwrap() = Some(competing);

    let mine = step(
        &server,
        "resident",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "Tältä palvelimelta" }),
    )
    .await;
    let notes: Vec<String> = mine.data()["addFaultReportNote"]["faultReport"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(notes, ["Toiselta palvelimelta", "Tältä palvelimelta"]);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("talo_commands_retried_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_reports_get_consecutive_distinct_ticket_numbers() {
    let server = TestServer::start().await;
    let reports = (0..40).map(|_| report_as_resident(&server));
    let ids = futures::future::join_all(reports).await;
    let view = server.talo.read_models.fault_reports.read();
    let mut numbers: Vec<u32> = ids
        .iter()
        .map(|id| {
            let ticket = &view.get(id.parse().unwrap()).unwrap().ticket;
            ticket.rsplit('-').next().unwrap().parse().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    let first = numbers[0];
    assert_eq!(
        numbers,
        (first..first + 40).collect::<Vec<_>>(),
        "no gaps, no repeats"
    );
}
