//! Stopping and starting on the same directory keeps everything; read models resume from their
//! checkpoints instead of replaying the log, and after a crash they catch up from the last
//! snapshot without applying anything twice.

use serde_json::{Value, json};
use talo_events_schema::envelope::Position;
use talo_projections::engine::build_from_zero;
use talo_projections::fault_reports::FaultReportsView;
use talo_projections::register::RegisterView;
use talo_tests::*;

async fn readyz(server: &TestServer) -> Value {
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// What the portal and the office see: fault reports, the queue, and the resident's ledgers
/// (whose documents are folded from the log, and whose standing comes from the read model).
async fn everything_visible(server: &TestServer) -> (Value, Value, Value) {
    let mine = server.as_role("resident", "{ myFaultReports(first: 100) { totalCount edges { node { id ticket status history { status position } notes { text } } } } }", json!({})).await;
    let queue = server
        .as_role(
            "property_manager",
            "{ faultReportQueue(first: 100) { totalCount edges { node { id status } } } }",
            json!({}),
        )
        .await;
    let ledgers = server
        .as_role(
            "resident",
            "{ myLedgers { contractId standing { status balanceCents overdueCents prepaymentCents } invoices { number status openCents dueOn } payments { id amountCents bookedOn } } }",
            json!({}),
        )
        .await;
    assert!(
        ledgers.data()["myLedgers"][0]["invoices"][0]["number"].is_string(),
        "the demo resident has invoices: {ledgers:?}"
    );
    (
        mine.data().clone(),
        queue.data().clone(),
        ledgers.data().clone(),
    )
}

#[tokio::test]
async fn a_clean_restart_keeps_everything_and_resumes_from_checkpoints() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    let before = everything_visible(&server).await;
    let head = server.talo.store.head().await.unwrap();

    let server = server.restart().await;
    let ready = readyz(&server).await;
    for model in ready["read_models"].as_array().unwrap() {
        assert_eq!(model["started_from"], head.to_string().as_str(), "{model}");
        assert_eq!(model["applied_since_start"], 0, "no replay: {model}");
    }
    assert_eq!(everything_visible(&server).await, before);

    // And it goes on working: the next ticket continues the series.
    start_work(&server, &id).await;
    let next = report_as_resident(&server).await;
    let ticket = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": next }))
        .await;
    assert_eq!(ticket.data()["faultReport"]["ticket"], "VK-2026-000006");
}

#[tokio::test]
async fn after_a_crash_read_models_catch_up_from_their_last_snapshot_exactly_once() {
    let server = TestServer::start().await;
    // The demo seeding leaves snapshots only if a policy threshold was hit; a clean restart
    // writes them for sure.
    let server = server.restart().await;
    let checkpoint = server.talo.store.head().await.unwrap();
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    step(
        &server,
        "customer_service",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "soitettu" }),
    )
    .await
    .data();
    let before = everything_visible(&server).await;
    let head = server.talo.store.head().await.unwrap();

    let server = server.crash_and_restart().await;
    let ready = readyz(&server).await;
    let missed = head.commit - checkpoint.commit;
    for model in ready["read_models"].as_array().unwrap() {
        assert_eq!(
            model["started_from"],
            checkpoint.to_string().as_str(),
            "{model}"
        );
        assert_eq!(
            model["applied_since_start"], missed,
            "each missed event once: {model}"
        );
    }
    assert_eq!(
        everything_visible(&server).await,
        before,
        "nothing applied twice or skipped"
    );
}

#[tokio::test]
async fn a_rebuild_from_zero_equals_the_live_read_models() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    let head = server.talo.store.head().await.unwrap();
    let rebuilt: FaultReportsView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.fault_reports.read(), rebuilt);
    let register: RegisterView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.register.read(), register);
    // Deleting a snapshot makes that read model rebuild from zero on the next start.
    server.talo.shutdown().await;
    std::fs::remove_file(server.dir.path().join("read-models/fault_reports.snapshot")).unwrap();
    let server = server.restart_without_shutdown().await;
    let ready = readyz(&server).await;
    let fault_reports = ready["read_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "fault_reports")
        .unwrap()
        .clone();
    assert_eq!(
        fault_reports["started_from"],
        Position::START.to_string().as_str()
    );
    assert_eq!(*server.talo.read_models.fault_reports.read(), rebuilt);
}

#[tokio::test]
async fn a_corrupt_snapshot_costs_a_rebuild_not_an_outage() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let before = everything_visible(&server).await;
    server.talo.shutdown().await;
    std::fs::write(
        server.dir.path().join("read-models/fault_reports.snapshot"),
        "{ torn write",
    )
    .unwrap();
    let server = server.restart_without_shutdown().await;
    let ready = readyz(&server).await;
    let model = ready["read_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "fault_reports")
        .unwrap()
        .clone();
    assert_eq!(model["started_from"], "0", "rebuilt from zero: {model}");
    assert_eq!(everything_visible(&server).await, before);
    server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await
        .data();
}

#[tokio::test]
async fn an_unreadable_event_stops_the_read_models_loudly_and_writes_report_not_yet_visible() {
    let server =
        TestServer::with_read_your_writes_timeout(std::time::Duration::from_millis(300)).await;
    let id = report_as_resident(&server).await;
    // An event this build cannot read (written by a newer release, say) lands in the log.
    let mut alien = talo_store::conformance::sample_event("RoofBlownAway", 1);
    alien.metadata.organisation_id = server.org().organisation_id;
    server
        .talo
        .store
        .append("weather-1", talo_store::ExpectedRevision::Any, vec![alien])
        .await
        .unwrap();

    let answer = step(
        &server,
        "resident",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "onko tietoa?" }),
    )
    .await;
    assert_eq!(answer.code(), "NOT_YET_VISIBLE", "{:#}", answer.body);
    assert!(
        answer.message().contains("recorded at position"),
        "{}",
        answer.message()
    );

    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("RoofBlownAway"),
        "the failure names the event: {body}"
    );
    // The note was kept: it is in the log even though the read models stopped before it.
    let stream = talo_events_schema::streams::fault_report(id.parse().unwrap());
    let events = server.stream_events(&stream).await;
    assert_eq!(events.last().unwrap().event_type, "FaultReportNoteAdded");

    // A restart on this log fails at once, naming the event, instead of serving a read model
    // that silently skipped it.
    server.talo.shutdown().await;
    let mut config = talo_api::Config::new(server.dir.path());
    config.read_your_writes_timeout = std::time::Duration::from_millis(300);
    let refused = talo_api::Talo::open(config)
        .await
        .err()
        .expect("start refused");
    assert!(refused.to_string().contains("RoofBlownAway"), "{refused}");
}

#[tokio::test]
async fn snapshots_that_do_not_match_the_log_are_not_trusted() {
    // Two installations; the second gets the first one's read-model snapshots, as after
    // restoring an older backup of the log next to newer snapshots.
    let first = TestServer::start().await;
    let theirs = report_as_resident(&first).await;
    first.talo.shutdown().await;
    let second = TestServer::start().await;
    let before = everything_visible(&second).await;
    second.talo.shutdown().await;
    for entry in std::fs::read_dir(first.dir.path().join("read-models")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            second
                .dir
                .path()
                .join("read-models")
                .join(entry.file_name()),
        )
        .unwrap();
    }
    let second = second.restart_without_shutdown().await;
    let ready = readyz(&second).await;
    for model in ready["read_models"].as_array().unwrap() {
        assert_eq!(
            model["started_from"], "0",
            "rebuilt from its own log: {model}"
        );
    }
    assert_eq!(everything_visible(&second).await, before);
    assert_eq!(
        second
            .as_role("auditor", ops::FAULT_REPORT, json!({ "id": theirs }))
            .await
            .code(),
        "NOT_FOUND"
    );
}
