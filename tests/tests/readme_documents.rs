//! The README's document and property-register walkthroughs, run exactly as written: the upload
//! goes through the HTTP endpoint first, as the README's `curl` step does.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use talo_api::demo::{COOPERATIVE, RENTAL};
use talo_tests::TestServer;
use talo_tests::readme::run;

#[tokio::test]
async fn the_documents_walkthrough_runs_as_written() {
    let server = TestServer::start().await;
    let property = server.org().properties[COOPERATIVE];
    let uploaded = server
        .request(
            "POST",
            &format!("/documents?propertyId={property}&title=Tilinp%C3%A4%C3%A4t%C3%B6s&category=financial_statement&audience=board&filename=tilinpaatos-2025.pdf&idempotencyKey=walkthrough-upload"),
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            b"%PDF-1.4 tilinpaatos".to_vec(),
        )
        .await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.json());
    let id = uploaded.json()["documentId"].clone();
    let mut vars = BTreeMap::from([
        ("propertyId".to_owned(), json!(property)),
        ("id".to_owned(), id.clone()),
        (
            "stream".to_owned(),
            json!(format!("document-{}", id.as_str().unwrap())),
        ),
    ]);
    let answers = run(&server, "## Walkthrough: documents", &mut vars, |_, _| {}).await;
    let listed = answers[0]["documents"]["edges"].as_array().unwrap();
    assert!(listed.iter().any(|e| e["node"]["id"] == id));
    assert_eq!(
        answers[1]["changeDocumentAudience"]["document"]["audience"],
        "SHAREHOLDERS"
    );
    assert_eq!(answers[2]["document"]["latestVersion"], 1);
    assert_eq!(
        answers[3]["withdrawDocument"]["document"]["withdrawn"],
        true
    );
    let types: Vec<&str> = answers[4]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "DocumentAdded",
            "DocumentAudienceChanged",
            "DocumentWithdrawn"
        ]
    );
}

#[tokio::test]
async fn the_property_register_walkthrough_runs_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::from([(
        "propertyId".to_owned(),
        json!(server.org().properties[RENTAL]),
    )]);
    let answers = run(
        &server,
        "## Walkthrough: property register and contacts",
        &mut vars,
        |data, vars| {
            if let Some(contacts) = data["property"]["contacts"].as_array()
                && let Some(caretaker) = contacts.iter().find(|c| c["kind"] == "CARETAKER")
                && !vars.contains_key("contactId")
            {
                vars.insert("contactId".into(), caretaker["id"].clone());
            }
        },
    )
    .await;
    let caretakers: Vec<&Value> = answers[2]["property"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "CARETAKER")
        .collect();
    assert_eq!(caretakers.len(), 1);
    assert_eq!(caretakers[0]["name"], "Kalle Kiinteistö");
}
