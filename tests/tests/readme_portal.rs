//! Runs the README walkthroughs of request forms, renovation requests and announcements
//! exactly as written.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

#[tokio::test]
async fn the_request_forms_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::new();
    let answers = readme::run(
        &server,
        "## Walkthrough: request forms",
        &mut vars,
        |data, vars| {
            if let Some(forms) = data.pointer("/requestForms").and_then(Value::as_array) {
                vars.insert(
                    "formId".into(),
                    forms.iter().find(|f| f["name"] == "Avaintilaus").unwrap()["id"].clone(),
                );
            }
            if let Some(apartment) = data.pointer("/me/homes/0/apartmentId") {
                vars.insert("apartmentId".into(), apartment.clone());
            }
            if let Some(id) = data.pointer("/fileServiceRequest/serviceRequest/id") {
                vars.insert("requestId".into(), id.clone());
            }
        },
    )
    .await;
    assert_eq!(answers.len(), 6);
    assert!(
        answers[1]["fileServiceRequest"]["serviceRequest"]["ticket"]
            .as_str()
            .unwrap()
            .starts_with("PY-2026-")
    );
    assert_eq!(
        answers[4]["completeServiceRequest"]["serviceRequest"]["status"],
        "COMPLETED"
    );
    let mine = answers[5]["myServiceRequests"]["edges"].as_array().unwrap();
    assert!(
        mine.iter()
            .any(|e| e["node"]["outcome"] == "Avaimet noudettavissa toimistolta")
    );
}

#[tokio::test]
async fn the_renovation_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let start = (server.clock.now_utc() + Duration::days(14)).date_naive();
    let mut vars = BTreeMap::from([
        ("plannedStart".to_owned(), json!(start)),
        ("plannedEnd".to_owned(), json!(start + Duration::days(14))),
    ]);
    let answers = readme::run(
        &server,
        "## Walkthrough: renovation requests",
        &mut vars,
        |data, vars| {
            if let Some(apartment) = data.pointer("/me/homes/0/apartmentId") {
                vars.insert("apartmentId".into(), apartment.clone());
            }
            if let Some(id) = data.pointer("/requestRenovation/renovation/id") {
                vars.insert("renovationId".into(), id.clone());
            }
        },
    )
    .await;
    assert_eq!(answers.len(), 5);
    let approved = &answers[4]["approveRenovation"]["renovation"];
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(
        approved["conversation"].as_array().unwrap().len(),
        2,
        "the supplement request and the supplement"
    );
}

#[tokio::test]
async fn the_announcements_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::new();
    let answers = readme::run(
        &server,
        "## Walkthrough: announcements",
        &mut vars,
        |data, vars| {
            if let Some(properties) = data.pointer("/me/properties").and_then(Value::as_array) {
                vars.insert(
                    "propertyId".into(),
                    properties
                        .iter()
                        .find(|p| p["name"] == demo::RENTAL)
                        .unwrap()["id"]
                        .clone(),
                );
            }
            if let Some(id) = data.pointer("/publishAnnouncement/announcement/id") {
                vars.insert("announcementId".into(), id.clone());
            }
        },
    )
    .await;
    assert_eq!(answers.len(), 5);
    let titles: Vec<&str> = answers[2]["announcements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Yhtiökokous"), "{titles:?}");
    assert_eq!(
        answers[3]["markAnnouncementRead"]["announcement"]["readByMe"],
        true
    );
    assert_eq!(answers[4]["announcement"]["readCount"], 1);
}
