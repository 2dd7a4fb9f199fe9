//! Runs the README walkthroughs of operational reports and of auditors exactly as written.

use std::collections::BTreeMap;

use serde_json::json;
use talo_api::demo;
use talo_tests::*;

#[tokio::test]
async fn the_reports_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::new();
    let answers = readme::run(
        &server,
        "## Walkthrough: operational reports",
        &mut vars,
        |_, _| {},
    )
    .await;
    assert_eq!(answers.len(), 4);
    // The demo has open fault reports and threads in the queue, and its own history in the
    // flow and the money reports.
    assert!(!answers[0]["queueReport"].as_array().unwrap().is_empty());
    assert_eq!(answers[1]["serviceLevels"]["atRiskPercent"], 25);
    assert!(
        !answers[1]["serviceLevelReport"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(!answers[2]["flowReport"].as_array().unwrap().is_empty());
    assert!(!answers[3]["invoicingReport"].as_array().unwrap().is_empty());
    let rental = answers[3]["arrearsReport"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["propertyName"] == demo::RENTAL)
        .unwrap();
    assert!(
        rental["totalCents"].as_i64().unwrap() > 0,
        "the neighbour's February is overdue"
    );
}

#[tokio::test]
async fn the_auditors_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let answer = server
        .as_role("resident", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": apartment, "category": "PLUMBING", "description": "Hana vuotaa", "permissionToEnter": true } }))
        .await;
    let receipt = answer.body["extensions"]["receipts"][0].clone();
    let fault = answer.data()["reportFault"]["faultReport"]["id"].clone();
    let contract = server.contract_of("neighbour");
    let mut vars = BTreeMap::from([
        ("receipt".to_owned(), receipt),
        ("id".to_owned(), fault),
        ("contractId".to_owned(), json!(contract)),
        ("apartmentId".to_owned(), json!(apartment)),
    ]);
    let answers = readme::run(&server, "## Walkthrough: auditors", &mut vars, |_, _| {}).await;
    assert_eq!(answers.len(), 3);
    assert_eq!(
        answers[0]["verifyReceipt"],
        json!({ "valid": true, "reason": null })
    );
    let types: Vec<&str> = answers[1]["entityHistory"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["TicketNumberIssued", "FaultReported"]);
    let then = &answers[2]["auditAsOf"];
    assert_eq!(then["now"], "2026-02-15T12:00:00+00:00");
    assert_eq!(then["apartment"]["code"], "A 4");
    assert!(then["ledger"]["balanceCents"].is_i64(), "{then:#}");
}
