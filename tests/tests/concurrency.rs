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
