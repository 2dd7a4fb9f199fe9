//! Every invalid step and every bad input comes back with its error code, the rule it broke and
//! (for input) the field, and records nothing.

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

async fn recorded(server: &TestServer) -> talo_events_schema::envelope::Position {
    server.talo.store.head().await.unwrap()
}

#[tokio::test]
async fn steps_out_of_order_are_conflicts_naming_the_rule() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let contractor = server.org().contractors[demo::MAINTENANCE];
    let before = recorded(&server).await;
    let cases: [(&str, &str, &str, Value, &str); 5] = [
        (
            "property_manager",
            "assignFaultReport",
            "AssignFaultReportInput",
            json!({ "contractorCompanyId": contractor, "promisedBy": "2026-03-09" }),
            "fault_report.assign_before_acknowledge",
        ),
        (
            "property_manager",
            "scheduleFaultReportVisit",
            "ScheduleFaultReportVisitInput",
            json!({ "visit": { "startsAt": "2026-03-03T07:00:00Z", "endsAt": "2026-03-03T08:00:00Z" } }),
            "fault_report.not_assigned",
        ),
        (
            "property_manager",
            "resolveFaultReport",
            "ResolveFaultReportInput",
            json!({ "workSummary": "x" }),
            "fault_report.resolve_before_work",
        ),
        (
            "resident",
            "confirmFaultReport",
            "FaultReportStepInput",
            json!({}),
            "fault_report.confirm_unresolved",
        ),
        (
            "resident",
            "reopenFaultReport",
            "FaultReportReasonInput",
            json!({ "reason": "x" }),
            "fault_report.reopen_unresolved",
        ),
    ];
    for (role, mutation, input, fields, rule) in cases {
        step(&server, role, mutation, input, &id, fields)
            .await
            .assert_refused("CONFLICT", rule);
    }
    assert_eq!(
        recorded(&server).await,
        before,
        "refused steps record nothing"
    );
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
    step(
        &server,
        "customer_service",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.acknowledge_once");
    step(
        &server,
        "contractor",
        "startFaultReportWork",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("NOT_FOUND", "fault_report.not_visible");
}

#[tokio::test]
async fn work_started_blocks_cancelling_and_reassigning() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    start_work(&server, &id).await;
    let before = recorded(&server).await;
    step(
        &server,
        "resident",
        "cancelFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "x" }),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.cancel_after_work_started");
    step(
        &server,
        "contractor",
        "startFaultReportWork",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.start_once");
    let again = json!({ "contractorCompanyId": server.org().contractors[demo::PLUMBERS], "promisedBy": "2026-03-09" });
    step(
        &server,
        "property_manager",
        "assignFaultReport",
        "AssignFaultReportInput",
        &id,
        again,
    )
    .await
    .assert_refused("CONFLICT", "fault_report.assign_after_work_started");
    assert_eq!(
        recorded(&server).await,
        before,
        "refused steps record nothing"
    );
}

#[tokio::test]
async fn closed_reports_take_no_steps_and_reopening_has_a_window() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    start_and_resolve(&server, &id).await;
    server.clock.advance(Duration::days(15));
    step(
        &server,
        "resident",
        "reopenFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "taas" }),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.reopen_window_passed");
    step(
        &server,
        "resident",
        "confirmFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .data();
    step(
        &server,
        "resident",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "kiitos" }),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.closed");
    step(
        &server,
        "resident",
        "cancelFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "x" }),
    )
    .await
    .assert_refused("CONFLICT", "fault_report.closed");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_rule() {
    let server = TestServer::start().await;
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let before = recorded(&server).await;
    let report = |input: Value| server.as_role("resident", ops::REPORT, json!({ "input": input }));

    let blank = report(json!({ "idempotencyKey": key(), "apartmentId": apartment, "category": "OTHER", "description": " " })).await;
    blank.assert_refused("BAD_USER_INPUT", "text.required");
    assert_eq!(
        blank.body["errors"][0]["extensions"]["field"],
        "description"
    );

    let phone = report(json!({ "idempotencyKey": key(), "apartmentId": apartment, "category": "OTHER", "description": "x", "contactPhone": "soita" })).await;
    phone.assert_refused("BAD_USER_INPUT", "fault_report.phone_format");
    assert!(
        phone.message().starts_with("contact_phone:"),
        "{}",
        phone.message()
    );

    let both = report(json!({ "idempotencyKey": key(), "apartmentId": apartment, "commonArea": { "propertyId": apartment, "area": "sauna" }, "category": "OTHER", "description": "x" })).await;
    both.assert_refused("BAD_USER_INPUT", "fault_report.one_location");

    let no_key = report(json!({ "idempotencyKey": "  ", "apartmentId": apartment, "category": "OTHER", "description": "x" })).await;
    no_key.assert_refused("BAD_USER_INPUT", "idempotency_key.format");

    let window = report(json!({ "idempotencyKey": key(), "apartmentId": apartment, "category": "OTHER", "description": "x", "preferredVisit": { "startsAt": "2026-03-03T10:00:00Z", "endsAt": "2026-03-03T09:00:00Z" } })).await;
    window.assert_refused("BAD_USER_INPUT", "time_window.ends_after_start");

    let unknown_apartment = report(json!({ "idempotencyKey": key(), "apartmentId": uuid::Uuid::now_v7(), "category": "OTHER", "description": "x" })).await;
    assert_eq!(unknown_apartment.code(), "NOT_FOUND");

    let bad_enum = report(json!({ "idempotencyKey": key(), "apartmentId": apartment, "category": "VOLCANO", "description": "x" })).await;
    assert_eq!(bad_enum.code(), "BAD_USER_INPUT", "{}", bad_enum.message());
    let bad_uuid = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": "not-a-uuid" }))
        .await;
    assert_eq!(bad_uuid.code(), "BAD_USER_INPUT");

    assert_eq!(
        recorded(&server).await,
        before,
        "refused input records nothing"
    );

    let id = report_as_resident(&server).await;
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
    let past = json!({ "contractorCompanyId": server.org().contractors[demo::MAINTENANCE], "promisedBy": "2026-03-01" });
    step(
        &server,
        "property_manager",
        "assignFaultReport",
        "AssignFaultReportInput",
        &id,
        past,
    )
    .await
    .assert_refused("BAD_USER_INPUT", "fault_report.promise_in_past");
    let unknown =
        json!({ "contractorCompanyId": uuid::Uuid::now_v7(), "promisedBy": "2026-03-09" });
    step(
        &server,
        "property_manager",
        "assignFaultReport",
        "AssignFaultReportInput",
        &id,
        unknown,
    )
    .await
    .assert_refused("NOT_FOUND", "fault_report.contractor_unknown");
    step(
        &server,
        "resident",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "salaa", "visibility": "INTERNAL" }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "fault_report.resident_notes_shared");
    let on_behalf = server
        .as_role("customer_service", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": apartment, "category": "OTHER", "description": "x", "onBehalfOf": server.org().person("resident") } }))
        .await;
    on_behalf.assert_refused("BAD_USER_INPUT", "fault_report.on_behalf_channel");
    let unknown_report = step(
        &server,
        "resident",
        "confirmFaultReport",
        "FaultReportStepInput",
        &uuid::Uuid::now_v7().to_string(),
        json!({}),
    )
    .await;
    assert_eq!(unknown_report.code(), "NOT_FOUND");
}
