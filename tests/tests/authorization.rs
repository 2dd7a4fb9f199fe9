//! Who may see and do what: tokens are checked before GraphQL runs, and every role sees only
//! its own part. Two organisations in one store never see each other.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;
use talo_api::auth::{Caller, TokenKeys};
use talo_api::demo;
use talo_tests::*;
use uuid::Uuid;

const ME: &str = "{ me { name roles } }";

#[tokio::test]
async fn no_token_malformed_token_and_foreign_token_are_unauthenticated() {
    let server = TestServer::start().await;
    let anonymous = server.gql(None, ME, json!({})).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");

    let malformed = server
        .post_raw(
            Some("Bearer not-a-token"),
            json!({ "query": ME }).to_string(),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );

    let wrong_scheme = server
        .post_raw(
            Some("Basic dXNlcjpwYXNz"),
            json!({ "query": ME }).to_string(),
        )
        .await;
    assert_eq!(wrong_scheme.status, StatusCode::UNAUTHORIZED);

    let foreign = TokenKeys::new(b"someone else's secret").mint(
        server.org().caller("resident"),
        chrono::Utc::now(),
        Duration::hours(1),
    );
    let forged = server.gql(Some(&foreign), ME, json!({})).await;
    assert_eq!(
        (forged.status, forged.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    assert!(
        forged.message().contains("bad signature"),
        "{}",
        forged.message()
    );

    let expired = server.talo.keys.mint(
        server.org().caller("resident"),
        chrono::Utc::now() - Duration::days(3),
        Duration::days(1),
    );
    let late = server.gql(Some(&expired), ME, json!({})).await;
    assert!(late.message().contains("expired"), "{}", late.message());
}

#[tokio::test]
async fn a_mutation_with_a_bad_token_records_nothing() {
    let server = TestServer::start().await;
    let head = server.talo.store.head().await.unwrap();
    let body = json!({ "query": ops::REPORT, "variables": { "input": { "idempotencyKey": key(), "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "OTHER", "description": "x" } } });
    let refused = server
        .post_raw(Some("Bearer eyJhbGciOiJub25lIn0.e30."), body.to_string())
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.talo.store.head().await.unwrap(), head);
}

#[tokio::test]
async fn a_signed_token_for_a_person_outside_the_register_is_forbidden() {
    let server = TestServer::start().await;
    let stranger = Caller {
        person_id: Uuid::now_v7(),
        organisation_id: server.org().organisation_id,
    };
    let token = server
        .talo
        .keys
        .mint(stranger, chrono::Utc::now(), Duration::hours(1));
    assert_eq!(
        server.gql(Some(&token), ME, json!({})).await.code(),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn residents_see_only_their_own_apartments_reports() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    let neighbour = server
        .as_role("neighbour", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    assert_eq!(neighbour.code(), "NOT_FOUND");
    let list = server
        .as_role(
            "neighbour",
            "{ myFaultReports { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        !list.data()["myFaultReports"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );
    // Nor act on them.
    let cancel = step(
        &server,
        "neighbour",
        "cancelFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(cancel.code(), "NOT_FOUND");
    // Nor report in someone else's apartment.
    let elsewhere = server
        .as_role("neighbour", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": server.apartment(demo::RENTAL, "A 4"), "category": "OTHER", "description": "x" } }))
        .await;
    elsewhere.assert_refused("FORBIDDEN", "fault_report.report_own_home_only");
}

#[tokio::test]
async fn contractors_see_only_reports_assigned_to_their_company() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    assert_eq!(
        server
            .as_role("contractor", ops::FAULT_REPORT, json!({ "id": id }))
            .await
            .code(),
        "NOT_FOUND"
    );
    acknowledge_and_assign(&server, &id).await;
    server
        .as_role("contractor", ops::FAULT_REPORT, json!({ "id": id }))
        .await
        .data();
    assert_eq!(
        server
            .as_role("other_contractor", ops::FAULT_REPORT, json!({ "id": id }))
            .await
            .code(),
        "NOT_FOUND"
    );
    let start = step(
        &server,
        "other_contractor",
        "startFaultReportWork",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await;
    assert_eq!(start.code(), "NOT_FOUND");
    let list = server
        .as_role(
            "other_contractor",
            "{ contractorWorkList { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(list.data()["contractorWorkList"]["totalCount"], 0);
}

#[tokio::test]
async fn roles_are_refused_what_is_not_theirs_with_forbidden() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    step(
        &server,
        "resident",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("FORBIDDEN", "fault_report.office_only");
    assert_eq!(
        server
            .as_role("resident", "{ faultReportQueue { totalCount } }", json!({}))
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        server
            .as_role(
                "resident",
                "{ contractorWorkList { totalCount } }",
                json!({})
            )
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        server
            .as_role(
                "property_manager",
                "{ auditLog { edges { node { eventType } } } }",
                json!({})
            )
            .await
            .code(),
        "FORBIDDEN"
    );
    let report = r#"{ faultReportOperationalReport(from: "2026-01-01T00:00:00Z", until: "2026-12-31T00:00:00Z", groupBy: PROPERTY) { reported } }"#;
    assert_eq!(
        server.as_role("resident", report, json!({})).await.code(),
        "FORBIDDEN"
    );
    acknowledge_and_assign(&server, &id).await;
    step(
        &server,
        "resident",
        "startFaultReportWork",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("FORBIDDEN", "fault_report.contractor_or_office_only");
}

#[tokio::test]
async fn the_auditor_reads_everything_and_writes_nothing() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    server
        .as_role("auditor", ops::FAULT_REPORT, json!({ "id": id }))
        .await
        .data();
    let head = server.talo.store.head().await.unwrap();
    step(
        &server,
        "auditor",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .assert_refused("FORBIDDEN", "auditor.read_only");
    step(
        &server,
        "auditor",
        "addFaultReportNote",
        "AddFaultReportNoteInput",
        &id,
        json!({ "text": "x", "visibility": "INTERNAL" }),
    )
    .await
    .assert_refused("FORBIDDEN", "auditor.read_only");
    let common = server
        .as_role("auditor", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "commonArea": { "propertyId": server.org().properties[demo::RENTAL], "area": "piha" }, "category": "OTHER", "description": "x" } }))
        .await;
    common.assert_refused("FORBIDDEN", "auditor.read_only");
    assert_eq!(
        server.talo.store.head().await.unwrap(),
        head,
        "nothing recorded"
    );
    let log = server
        .as_role(
            "auditor",
            "{ auditLog(first: 5) { edges { node { eventType } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        log.data()["auditLog"]["edges"][0]["node"]["eventType"],
        "OrganisationRegistered"
    );
    assert_eq!(log.data()["auditLog"]["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn two_organisations_in_one_store_never_see_each_others_people_reports_or_events() {
    let server = TestServer::with_two_organisations().await;
    let id = report_as_resident(&server).await;
    let other = |role: &str| server.token_in(1, role);

    // The other organisation's staff and auditor cannot see or touch the report.
    for role in [
        "property_manager",
        "customer_service",
        "auditor",
        "contractor",
    ] {
        let seen = server
            .gql(Some(&other(role)), ops::FAULT_REPORT, json!({ "id": id }))
            .await;
        assert_eq!(seen.code(), "NOT_FOUND", "{role} of the other organisation");
    }
    let ack = server
        .gql(
            Some(&other("customer_service")),
            &ops::step("acknowledgeFaultReport", "FaultReportStepInput"),
            json!({ "input": { "idempotencyKey": key(), "faultReportId": id } }),
        )
        .await;
    assert_eq!(ack.code(), "NOT_FOUND");
    let queue = server
        .gql(
            Some(&other("customer_service")),
            "{ faultReportQueue(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        !queue.data()["faultReportQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );

    // Their auditor's log holds only their own organisation's events.
    let first_org = server.orgs[0].organisation_id.to_string();
    let second_org = server.orgs[1].organisation_id.to_string();
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let page = server
            .gql(Some(&other("auditor")), "query($after: String) { auditLog(first: 100, after: $after) { edges { cursor node { organisationId stream } } pageInfo { hasNextPage } } }", json!({ "after": after }))
            .await;
        let data = page.data()["auditLog"].clone();
        for edge in data["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["organisationId"], second_org.as_str());
            assert!(
                !edge["node"]["stream"]
                    .as_str()
                    .unwrap()
                    .contains(&first_org)
            );
            seen += 1;
            after = Some(edge["cursor"].as_str().unwrap().to_owned());
        }
        if data["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert!(
        seen > 100,
        "the other organisation has its own history ({seen} events)"
    );

    // People: a token for the first organisation's resident, claiming the second organisation,
    // finds no such person there.
    let cross = Caller {
        person_id: server.orgs[0].person("resident"),
        organisation_id: server.orgs[1].organisation_id,
    };
    let token = server
        .talo
        .keys
        .mint(cross, chrono::Utc::now(), Duration::hours(1));
    assert_eq!(
        server.gql(Some(&token), ME, json!({})).await.code(),
        "FORBIDDEN"
    );

    // And the second organisation's reports start their own ticket series.
    let theirs = server
        .gql(Some(&other("resident")), ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": server.orgs[1].apartments[&format!("{}/A 4", demo::RENTAL)], "category": "OTHER", "description": "x" } }))
        .await;
    let ticket = theirs.data()["reportFault"]["faultReport"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let ours = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    assert_eq!(
        ticket, "VK-2026-000005",
        "demo history used 1-4 in each organisation"
    );
    assert_eq!(ours.data()["faultReport"]["ticket"], "VK-2026-000005");
}

#[tokio::test]
async fn a_new_tenant_sees_none_of_the_previous_tenants_reports_and_the_old_one_only_reads() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    acknowledge_and_assign(&server, &id).await;
    start_and_resolve(&server, &id).await;

    // The resident moves out; someone new moves in a day later.
    server.move_out(server.org().person("resident")).await;
    server.clock.advance(Duration::days(1));
    let newcomer = server.move_in(server.apartment(demo::RENTAL, "A 4")).await;

    let theirs = server
        .gql(
            Some(&server.token_for(newcomer)),
            ops::FAULT_REPORT,
            json!({ "id": id }),
        )
        .await;
    theirs.assert_refused("NOT_FOUND", "fault_report.not_visible");
    let list = server
        .gql(
            Some(&server.token_for(newcomer)),
            "{ myFaultReports { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(list.data()["myFaultReports"]["totalCount"], 0);

    // The former tenant keeps the report as a receipt but cannot act on it.
    let receipt = server
        .as_role(
            "resident",
            "{ myFaultReports { edges { node { id status } } } }",
            json!({}),
        )
        .await;
    assert!(
        receipt.data()["myFaultReports"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id.as_str())
    );
    step(
        &server,
        "resident",
        "reopenFaultReport",
        "FaultReportReasonInput",
        &id,
        json!({ "reason": "x" }),
    )
    .await
    .assert_refused("FORBIDDEN", "fault_report.no_longer_occupant");
}

#[tokio::test]
async fn a_co_occupant_sees_the_report_but_not_the_reporters_contact_details() {
    let server = TestServer::start().await;
    let flatmate = server.move_in(server.apartment(demo::RENTAL, "A 4")).await;
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let filed = server
        .as_role("resident", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": apartment, "category": "OTHER", "description": "x", "contactPhone": "+358 40 111 2222", "pets": { "present": true, "details": "koira" } } }))
        .await;
    let id = filed.data()["reportFault"]["faultReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let details = "query($id: UUID!) { faultReport(id: $id) { status contactPhone reporterId pets { details } } }";
    let seen = server
        .gql(
            Some(&server.token_for(flatmate)),
            details,
            json!({ "id": id }),
        )
        .await;
    let report = &seen.data()["faultReport"];
    assert_eq!(report["status"], "REPORTED");
    assert_eq!(
        (
            report["contactPhone"].is_null(),
            report["reporterId"].is_null(),
            report["pets"].is_null()
        ),
        (true, true, true)
    );
    let own = server
        .as_role("resident", details, json!({ "id": id }))
        .await;
    assert_eq!(
        own.data()["faultReport"]["contactPhone"],
        "+358 40 111 2222"
    );
    let office = server
        .as_role("customer_service", details, json!({ "id": id }))
        .await;
    assert_eq!(office.data()["faultReport"]["pets"]["details"], "koira");
}
