//! A fault report's whole life through GraphQL, each step by the role that takes it, and how
//! it shows up for each of them: the resident's list, the office queue, the contractor's work
//! list, the operational report and the auditor's log.

use chrono::Duration;
use serde_json::json;
use talo_api::demo;
use talo_tests::*;

#[tokio::test]
async fn a_fault_report_lives_its_whole_life_and_every_role_sees_its_part() {
    let server = TestServer::start().await;
    let apartment = server.apartment(demo::RENTAL, "A 4");

    // The resident reports and gets a ticket number to quote.
    let filed = server
        .as_role("resident", ops::REPORT, json!({ "input": {
            "idempotencyKey": key(), "apartmentId": apartment, "category": "PLUMBING",
            "description": "Kylpyhuoneen lattiakaivo vuotaa", "permissionToEnter": true,
            "pets": { "present": true, "details": "arka kissa" }, "contactPhone": "+358 40 123 4567",
            "preferredVisit": { "startsAt": "2026-03-03T06:00:00Z", "endsAt": "2026-03-03T10:00:00Z" } } }))
        .await;
    let report = &filed.data()["reportFault"]["faultReport"];
    let id = report["id"].as_str().unwrap().to_owned();
    let ticket = report["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("VK-2026-"), "{ticket}");
    assert_eq!(report["status"], "REPORTED");
    assert_eq!(report["channel"], "PORTAL");

    // It is in the resident's list at once (read-your-writes) and in the office queue.
    let mine = server
        .as_role(
            "resident",
            "{ myFaultReports { totalCount edges { node { id ticket status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine.data()["myFaultReports"]["edges"][0]["node"]["ticket"],
        ticket.as_str()
    );
    let queue = server
        .as_role(
            "customer_service",
            r#"{ faultReportQueue(filter: {status: REPORTED}) { edges { node { id } } } }"#,
            json!({}),
        )
        .await;
    assert!(
        queue.data()["faultReportQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );

    // Not yet on any contractor's list.
    let work = server
        .as_role(
            "contractor",
            "{ contractorWorkList { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        !work.data()["contractorWorkList"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );

    server.clock.advance(Duration::hours(1));
    step(
        &server,
        "customer_service",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .data();
    server.clock.advance(Duration::hours(1));
    let contractor_id = server.org().contractors[demo::MAINTENANCE];
    let assigned = step(
        &server,
        "property_manager",
        "assignFaultReport",
        "AssignFaultReportInput",
        &id,
        json!({ "contractorCompanyId": contractor_id, "promisedBy": "2026-03-05" }),
    )
    .await;
    assert_eq!(
        assigned.data()["assignFaultReport"]["faultReport"]["status"],
        "ASSIGNED"
    );
    assert_eq!(
        assigned.data()["assignFaultReport"]["faultReport"]["promisedBy"],
        "2026-03-05"
    );

    // Now it is the contractor's work.
    let work = server.as_role("contractor", "{ contractorWorkList { edges { node { id ticket promisedBy pets { present details } } } } }", json!({})).await;
    let entry = work.data()["contractorWorkList"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .cloned()
        .expect("on the work list");
    assert_eq!(entry["node"]["pets"]["details"], "arka kissa");

    let visit = json!({ "visit": { "startsAt": "2026-03-03T07:00:00Z", "endsAt": "2026-03-03T08:00:00Z" }, "channel": "FIELD" });
    assert_eq!(
        step(
            &server,
            "contractor",
            "scheduleFaultReportVisit",
            "ScheduleFaultReportVisitInput",
            &id,
            visit
        )
        .await
        .data()["scheduleFaultReportVisit"]["faultReport"]["status"],
        "VISIT_SCHEDULED"
    );
    server.clock.advance(Duration::hours(22));
    step(
        &server,
        "contractor",
        "startFaultReportWork",
        "FaultReportStepInput",
        &id,
        json!({ "channel": "FIELD" }),
    )
    .await
    .data();
    step(&server, "contractor", "addFaultReportNote", "AddFaultReportNoteInput", &id, json!({ "text": "Kaivon tiiviste haurastunut", "visibility": "INTERNAL", "channel": "FIELD" })).await.data();
    step(
        &server,
        "contractor",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "Korjaamme tänään", "visibility": "SHARED", "channel": "FIELD" }),
    )
    .await
    .data();
    server.clock.advance(Duration::hours(2));
    let resolved = step(
        &server,
        "contractor",
        "resolveFaultReport",
        "ResolveFaultReportInput",
        &id,
        json!({ "workSummary": "Tiiviste vaihdettu", "channel": "FIELD" }),
    )
    .await;
    assert_eq!(
        resolved.data()["resolveFaultReport"]["faultReport"]["status"],
        "RESOLVED"
    );

    // The resident sees the shared note only; the office sees both.
    let as_resident = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    let notes = as_resident.data()["faultReport"]["notes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["text"], "Korjaamme tänään");
    let as_office = server
        .as_role("property_manager", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    assert_eq!(
        as_office.data()["faultReport"]["notes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    server.clock.advance(Duration::hours(3));
    let confirmed = step(
        &server,
        "resident",
        "confirmFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await;
    assert_eq!(
        confirmed.data()["confirmFaultReport"]["faultReport"]["status"],
        "CONFIRMED"
    );

    // The whole history, in order, with who did what through which channel.
    let full = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    let history: Vec<(String, String, String)> = full.data()["faultReport"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["status"].as_str().unwrap().into(),
                h["actorRole"].as_str().unwrap().into(),
                h["channel"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("REPORTED", "RESIDENT", "PORTAL"),
        ("ACKNOWLEDGED", "CUSTOMER_SERVICE", "PORTAL"),
        ("ASSIGNED", "PROPERTY_MANAGER", "PORTAL"),
        ("VISIT_SCHEDULED", "CONTRACTOR", "FIELD"),
        ("IN_PROGRESS", "CONTRACTOR", "FIELD"),
        ("RESOLVED", "CONTRACTOR", "FIELD"),
        ("CONFIRMED", "RESIDENT", "PORTAL"),
    ];
    assert_eq!(
        history,
        expected.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );

    // Off the queue and the work list once closed.
    assert!(!in_queue(&server, &id).await);
    let work = server
        .as_role(
            "contractor",
            "{ contractorWorkList { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        !work.data()["contractorWorkList"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );

    // The operational report counts it: acknowledged after 1 h, resolved after 26 h, on time.
    let report = server
        .as_role("property_manager", r#"query($from: DateTime!, $until: DateTime!) { faultReportOperationalReport(from: $from, until: $until, groupBy: CONTRACTOR) {
            keyId keyName reported resolved medianSecondsToAcknowledge medianSecondsToResolve resolvedAfterPromise reopenRatePerMille } }"#,
            json!({ "from": "2026-03-02T00:00:00Z", "until": "2026-03-09T00:00:00Z" }))
        .await;
    let rows = report.data()["faultReportOperationalReport"]
        .as_array()
        .unwrap()
        .clone();
    let row = rows
        .iter()
        .find(|r| r["keyId"] == contractor_id.to_string().as_str())
        .expect("a row for the contractor");
    assert_eq!(row["keyName"], demo::MAINTENANCE);
    assert_eq!(
        (row["reported"].as_u64(), row["resolved"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(row["medianSecondsToAcknowledge"], 3600);
    assert_eq!(row["medianSecondsToResolve"], 26 * 3600);
    assert_eq!(row["resolvedAfterPromise"], 0);

    // The auditor reads the report's events in order, with their envelopes.
    let log = server
        .as_role("auditor", r#"query($stream: String!) { auditLog(filter: {stream: $stream}) { edges { node { eventType revision position actorRole channel occurredAt } } } }"#,
            json!({ "stream": format!("fault-report-{id}") }))
        .await;
    let events = log.data()["auditLog"]["edges"].as_array().unwrap().clone();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "FaultReported",
            "FaultReportAcknowledged",
            "FaultReportAssigned",
            "FaultReportVisitScheduled",
            "FaultReportWorkStarted",
            "FaultReportNoteAdded",
            "FaultReportNoteAdded",
            "FaultReportResolved",
            "FaultReportConfirmed",
        ]
    );
    let revisions: Vec<u64> = events
        .iter()
        .map(|e| e["node"]["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, (0..9).collect::<Vec<u64>>());
    let positions: Vec<u64> = events
        .iter()
        .map(|e| e["node"]["position"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "global order: {positions:?}"
    );
}

#[tokio::test]
async fn customer_service_files_a_phoned_in_report_for_the_resident() {
    let server = TestServer::start().await;
    let resident = server.org().person("resident");
    let filed = server
        .as_role("customer_service", ops::REPORT, json!({ "input": {
            "idempotencyKey": key(), "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "HEATING",
            "description": "Patterit kylmiä", "onBehalfOf": resident, "channel": "PHONE" } }))
        .await;
    let report = &filed.data()["reportFault"]["faultReport"];
    assert_eq!(report["reporterId"], resident.to_string().as_str());
    assert_eq!(report["channel"], "PHONE");
    // The resident follows it in their own list.
    let mine = server
        .as_role(
            "resident",
            "{ myFaultReports { edges { node { id channel } } } }",
            json!({}),
        )
        .await;
    assert!(
        mine.data()["myFaultReports"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == report["id"])
    );
}

#[tokio::test]
async fn a_resident_reopens_a_fix_that_did_not_hold_and_the_contractor_works_it_again() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    start_and_resolve(&server, &id).await;
    assert!(
        !in_queue(&server, &id).await,
        "a resolved report is off the queue"
    );
    server.clock.advance(Duration::days(2));
    let reopened = step(
        &server,
        "resident",
        "reopenFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "Vuotaa taas" }),
    )
    .await;
    let report = &reopened.data()["reopenFaultReport"]["faultReport"];
    assert_eq!(
        (report["status"].as_str(), report["reopenCount"].as_u64()),
        (Some("REOPENED"), Some(1))
    );
    assert!(
        in_queue(&server, &id).await,
        "a reopened report is back on the queue"
    );
    let work = server
        .as_role(
            "contractor",
            "{ contractorWorkList { edges { node { id status } } } }",
            json!({}),
        )
        .await;
    assert!(
        work.data()["contractorWorkList"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );
    start_work(&server, &id).await;
}

#[tokio::test]
async fn the_reporter_cancels_before_work_starts() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let cancelled = step(
        &server,
        "resident",
        "cancelFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "Korjasin itse" }),
    )
    .await;
    assert_eq!(
        cancelled.data()["cancelFaultReport"]["faultReport"]["status"],
        "CANCELLED"
    );
    assert!(!in_queue(&server, &id).await);
}

#[tokio::test]
async fn an_overdue_report_shows_in_the_queue_as_overdue() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    let overdue =
        r#"{ faultReportQueue(filter: {overdueOnly: true}) { edges { node { id overdue } } } }"#;
    let before = server.as_role("property_manager", overdue, json!({})).await;
    assert!(
        !before.data()["faultReportQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );
    // Promised in three days: on the fourth it is overdue.
    server.clock.advance(Duration::days(4));
    let after = server.as_role("property_manager", overdue, json!({})).await;
    let entry = after.data()["faultReportQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .cloned()
        .expect("overdue in the queue");
    assert_eq!(entry["node"]["overdue"], true);
}

/// Whether the report is on customer service's queue.
async fn in_queue(server: &TestServer, id: &str) -> bool {
    let queue = server
        .as_role(
            "customer_service",
            "{ faultReportQueue { edges { node { id } } } }",
            json!({}),
        )
        .await;
    queue.data()["faultReportQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["id"] == id)
}
