//! Runs the README's walkthrough exactly as written: every ```graphql block, as the role its
//! step names, with variables filled from earlier answers the way a person would copy them.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let heading = "## Walkthrough: one fault report through its whole life";
    let steps = readme::operations(heading);
    assert_eq!(steps.len(), 14, "the walkthrough's operations: {steps:#?}");
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    vars.insert(
        "promisedBy".into(),
        json!((server.clock.now_utc() + Duration::days(3)).date_naive()),
    );
    vars.insert("from".into(), json!("2026-01-01T00:00:00Z"));
    vars.insert("until".into(), json!("2027-01-01T00:00:00Z"));
    let answers = readme::run(&server, heading, &mut vars, |data, vars| {
        // What a person would copy from the answer.
        if let Some(apartment) = data.pointer("/me/homes/0/apartmentId") {
            vars.insert("apartmentId".into(), apartment.clone());
        }
        if let Some(id) = data.pointer("/reportFault/faultReport/id") {
            vars.insert("id".into(), id.clone());
            vars.insert(
                "stream".into(),
                json!(format!("fault-report-{}", id.as_str().unwrap())),
            );
        }
        if let Some(companies) = data
            .pointer("/me/contractorCompanies")
            .and_then(Value::as_array)
        {
            let maintenance = companies
                .iter()
                .find(|c| c["name"] == demo::MAINTENANCE)
                .unwrap();
            vars.insert("contractorId".into(), maintenance["id"].clone());
        }
    })
    .await;
    let ticket = answers[1]["reportFault"]["faultReport"]["ticket"]
        .as_str()
        .unwrap();
    assert!(ticket.starts_with("VK-2026-"));
    let queue = answers[2]["faultReportQueue"]["edges"].as_array().unwrap();
    assert!(queue.iter().any(|e| e["node"]["id"] == vars["id"]));
    assert_eq!(
        answers[3]["acknowledgeFaultReport"]["faultReport"]["status"],
        "ACKNOWLEDGED"
    );
    assert_eq!(
        answers[5]["assignFaultReport"]["faultReport"]["contractorName"],
        demo::MAINTENANCE
    );
    assert!(
        answers[6]["contractorWorkList"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == vars["id"])
    );
    assert_eq!(
        answers[9]["resolveFaultReport"]["faultReport"]["status"],
        "RESOLVED"
    );
    let seen_by_resident = &answers[10]["faultReport"];
    assert_eq!(
        seen_by_resident["notes"],
        json!([]),
        "the internal note stays internal"
    );
    assert_eq!(
        answers[11]["confirmFaultReport"]["faultReport"]["status"],
        "CONFIRMED"
    );
    let report = answers[12]["faultReportOperationalReport"]
        .as_array()
        .unwrap();
    assert!(
        report
            .iter()
            .any(|r| r["keyName"] == demo::RENTAL && r["resolved"].as_u64() >= Some(1))
    );
    let types: Vec<&str> = answers[13]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "FaultReported",
            "FaultReportAcknowledged",
            "FaultReportAssigned",
            "FaultReportWorkStarted",
            "FaultReportNoteAdded",
            "FaultReportResolved",
            "FaultReportConfirmed",
        ]
    );

    // The README's claim about retrying step 2.
    let (role, report_op) = &steps[1];
    let retry = server
        .as_role(
            role,
            report_op,
            json!({ "apartmentId": vars["apartmentId"] }),
        )
        .await;
    assert_eq!(retry.data()["reportFault"]["faultReport"]["id"], vars["id"]);
    assert_eq!(retry.data()["reportFault"]["replayed"], true);
}

#[tokio::test]
async fn the_readme_messages_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let heading = "## Walkthrough: messages";
    let steps = readme::operations(heading);
    assert_eq!(steps.len(), 18, "the walkthrough's operations: {steps:#?}");
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    let answers = readme::run(&server, heading, &mut vars, |data, vars| {
        // What a person would copy from the answer.
        if let Some(apartment) = data.pointer("/me/homes/0/apartmentId") {
            vars.insert("apartmentId".into(), apartment.clone());
        }
        if let Some(id) = data.pointer("/startMessageThread/messageThread/id") {
            vars.insert("id".into(), id.clone());
            vars.insert(
                "stream".into(),
                json!(format!("message-thread-{}", id.as_str().unwrap())),
            );
        }
        if let Some(person) = data.pointer("/me/personId") {
            vars.insert("handlerId".into(), person.clone());
        }
        if let Some(properties) = data.pointer("/me/properties").and_then(Value::as_array) {
            let rental = properties
                .iter()
                .find(|p| p["name"] == demo::RENTAL)
                .unwrap();
            let building_a = rental["buildings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["code"] == "A")
                .unwrap();
            vars.insert("buildingId".into(), building_a["id"].clone());
        }
        if let Some(id) = data.pointer("/sendBulkNotice/bulkNotice/id") {
            vars.insert("noticeId".into(), id.clone());
        }
    })
    .await;

    let started = &answers[1]["startMessageThread"];
    assert_eq!(started["replayed"], false);
    let ticket = started["messageThread"]["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("YT-2026-"), "{ticket}");
    assert_eq!(started["messageThread"]["status"], "NEW");
    assert_eq!(
        started["messageThread"]["messages"][0]["readAt"],
        Value::Null
    );
    let queue = answers[2]["messageThreadQueue"]["edges"]
        .as_array()
        .unwrap();
    assert!(queue.iter().any(|e| e["node"]["id"] == vars["id"]));
    assert_eq!(
        answers[3]["assignMessageThread"]["messageThread"]["handlerName"],
        "Kaisa Palvelu"
    );
    assert!(
        answers[4]["markMessageThreadRead"]["messageThread"]["messages"][0]["readAt"].is_string()
    );
    assert_eq!(
        answers[6]["postMessageThreadMessage"]["messageThread"]["status"],
        "WAITING_FOR_RESIDENT"
    );
    let seen_by_resident = &answers[7]["messageThread"];
    assert_eq!(
        seen_by_resident["notes"],
        json!([]),
        "the internal note stays internal"
    );
    assert_eq!(seen_by_resident["unreadCount"], 1);
    assert_eq!(
        answers[8]["markMessageThreadRead"]["messageThread"]["unreadCount"],
        0
    );
    let receipts = &answers[9]["messageThread"];
    assert!(receipts["messages"][1]["readAt"].is_string(), "{receipts}");
    assert_eq!(receipts["notes"].as_array().unwrap().len(), 1);
    assert_eq!(
        answers[10]["setMessageThreadStatus"]["messageThread"]["status"],
        "CLOSED"
    );
    let reopened = &answers[11]["postMessageThreadMessage"]["messageThread"];
    assert_eq!(reopened["status"], "NEW");
    let notice = &answers[13]["sendBulkNotice"]["bulkNotice"];
    assert_eq!(notice["target"]["buildingCode"], "A");
    assert_eq!(notice["readCount"], 0);
    assert!(notice["recipientCount"].as_u64().unwrap() >= 2);
    let inbox = answers[14]["myInbox"]["edges"].as_array().unwrap();
    assert!(inbox.iter().any(|e| e["node"]["id"] == vars["noticeId"]));
    assert!(inbox.iter().any(|e| e["node"]["ticket"] == ticket));
    assert!(answers[15]["markBulkNoticeRead"]["bulkNotice"]["readAt"].is_string());
    let counted = answers[16]["bulkNotices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["subject"] == "Vesikatko A-rapussa" && e["node"]["readCount"] == 1);
    assert!(counted.is_some(), "{:#}", answers[16]);
    let types: Vec<&str> = answers[17]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "MessageThreadStarted",
            "MessagePosted",
            "MessageThreadAssigned",
            "MessageThreadRead",
            "MessageThreadNoteAdded",
            "MessagePosted",
            "MessageThreadStatusChanged",
            "MessageThreadRead",
            "MessageThreadStatusChanged",
            "MessagePosted",
            "MessageThreadStatusChanged",
        ]
    );

    // The README's claim about sending step 2 again.
    let (role, start_op) = &steps[1];
    let retry = server
        .as_role(
            role,
            start_op,
            json!({ "apartmentId": vars["apartmentId"] }),
        )
        .await;
    assert_eq!(
        retry.data()["startMessageThread"]["messageThread"]["id"],
        vars["id"]
    );
    assert_eq!(retry.data()["startMessageThread"]["replayed"], true);
}
