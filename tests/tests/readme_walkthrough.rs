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
