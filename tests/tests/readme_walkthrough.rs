//! Runs the README's walkthrough exactly as written: every ```graphql block, as the role its
//! step names, with variables filled from earlier answers the way a person would copy them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

/// `(role, operation)` for every GraphQL block of the walkthrough, in order.
fn walkthrough() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = readme
        .split("## Walkthrough")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut role = String::new();
    let mut steps = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find("```graphql\n") {
        let before = &rest[..start];
        if let Some(i) = before.rfind("(token: `") {
            role = before[i + 9..].split('`').next().unwrap().to_owned();
        }
        let body = &rest[start + 11..];
        let end = body.find("```").unwrap();
        steps.push((role.clone(), body[..end].to_owned()));
        rest = &body[end + 3..];
    }
    steps
}

/// The variables an operation declares (`$name:`).
fn declared(operation: &str) -> Vec<String> {
    operation
        .split('$')
        .skip(1)
        .filter_map(|s| s.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .filter(|n| !n.contains(' '))
        .collect()
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let steps = walkthrough();
    assert_eq!(steps.len(), 14, "the walkthrough's operations: {steps:#?}");
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    vars.insert(
        "promisedBy".into(),
        json!((server.clock.now_utc() + Duration::days(3)).date_naive()),
    );
    vars.insert("from".into(), json!("2026-01-01T00:00:00Z"));
    vars.insert("until".into(), json!("2027-01-01T00:00:00Z"));
    let mut answers = Vec::new();
    for (role, operation) in &steps {
        let variables: serde_json::Map<String, Value> = declared(operation)
            .into_iter()
            .map(|name| {
                let value = vars
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| panic!("no value yet for ${name} in {operation}"));
                (name, value)
            })
            .collect();
        let answer = server
            .as_role(role, operation, Value::Object(variables))
            .await;
        let data = answer.data().clone();
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
        answers.push(data);
    }
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
