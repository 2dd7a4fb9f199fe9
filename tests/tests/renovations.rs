//! Renovation requests through GraphQL: only a shareholder files; the manager asks for
//! supplements and decides; the conversation is part of the request.

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

const REQUEST: &str = "mutation($input: RequestRenovationInput!) { requestRenovation(input: $input) { renovation { id ticket status apartmentCode } } }";
const FIELDS: &str = "renovation { id status conditions conversation { kind text authorRole } }";

fn input(server: &TestServer, apartment: &str) -> Value {
    let start = (server.clock.now_utc() + Duration::days(20)).date_naive();
    json!({ "idempotencyKey": key(), "apartmentId": server.apartment(demo::COOPERATIVE, apartment), "workTypes": ["KITCHEN"], "description": "Keittiön uusiminen", "plannedStart": start, "plannedEnd": start + Duration::days(10), "contractors": ["Keittiöt Oy"] })
}

async fn step(server: &TestServer, role: &str, mutation: &str, id: &Value, fields: Value) -> Gql {
    let mut input = json!({ "idempotencyKey": key(), "renovationId": id });
    input
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let query = format!(
        "mutation($input: RenovationStepInput!) {{ {mutation}(input: $input) {{ {FIELDS} }} }}"
    );
    server
        .as_role(role, &query, json!({ "input": input }))
        .await
}

#[tokio::test]
async fn a_shareholder_asks_supplements_follow_and_the_work_is_approved_done_and_inspected() {
    let server = TestServer::start().await;
    let filed = server
        .as_role(
            "shareholder",
            REQUEST,
            json!({ "input": input(&server, "B 12") }),
        )
        .await;
    let renovation = filed.data()["requestRenovation"]["renovation"].clone();
    assert!(
        renovation["ticket"]
            .as_str()
            .unwrap()
            .starts_with("MT-2026-")
    );
    assert_eq!(renovation["apartmentCode"], "B 12");
    let id = renovation["id"].clone();
    let queue = server
        .as_role(
            "technical_manager",
            "{ renovationQueue { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        queue.data()["renovationQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id)
    );

    step(
        &server,
        "technical_manager",
        "requestRenovationSupplement",
        &id,
        json!({ "text": "Lisätkää sähkösuunnitelma" }),
    )
    .await
    .data();
    step(
        &server,
        "technical_manager",
        "approveRenovation",
        &id,
        json!({}),
    )
    .await
    .assert_refused("CONFLICT", "renovation.awaiting_supplement");
    step(
        &server,
        "shareholder",
        "supplementRenovation",
        &id,
        json!({ "text": "Liitteenä", "attachments": ["sahko.pdf"] }),
    )
    .await
    .data();
    step(
        &server,
        "customer_service",
        "commentRenovation",
        &id,
        json!({ "text": "Kiitos, välitetty" }),
    )
    .await
    .data();
    step(
        &server,
        "customer_service",
        "approveRenovation",
        &id,
        json!({}),
    )
    .await
    .assert_refused("FORBIDDEN", "renovation.manager_decides");
    let approved = step(
        &server,
        "technical_manager",
        "approveRenovation",
        &id,
        json!({ "conditions": ["Työt arkisin 8-18"] }),
    )
    .await;
    assert_eq!(
        approved.data()["approveRenovation"]["renovation"]["conditions"],
        json!(["Työt arkisin 8-18"])
    );
    step(
        &server,
        "shareholder",
        "startRenovationWork",
        &id,
        json!({}),
    )
    .await
    .data();
    step(
        &server,
        "shareholder",
        "completeRenovationWork",
        &id,
        json!({}),
    )
    .await
    .data();
    let inspected = step(
        &server,
        "technical_manager",
        "inspectRenovation",
        &id,
        json!({ "text": "Hyvä", "approved": true }),
    )
    .await;
    assert_eq!(
        inspected.data()["inspectRenovation"]["renovation"]["status"],
        "INSPECTED"
    );

    // The shareholder follows the whole conversation.
    let mine = server
        .as_role(
            "shareholder",
            "{ myRenovations { edges { node { id status conversation { kind authorRole } } } } }",
            json!({}),
        )
        .await;
    let node = mine.data()["myRenovations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id)
        .unwrap()["node"]
        .clone();
    let kinds: Vec<&str> = node["conversation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SUPPLEMENT_REQUEST", "SUPPLEMENT", "COMMENT"]);
    server.assert_work_items_rebuild_from_their_types().await;
}

#[tokio::test]
async fn a_tenant_cannot_file_a_renovation_request() {
    let server = TestServer::start().await;
    // The resident rents A 4 of the rental company; give a tenant a lease in the cooperative's A 2.
    let before = server.talo.store.head().await.unwrap();
    let tenant_in_rental = server.as_role("resident", REQUEST, json!({ "input": { "idempotencyKey": key(), "apartmentId": server.apartment(demo::RENTAL, "A 4"), "workTypes": ["SURFACES"], "description": "Maalaus", "plannedStart": "2026-04-01", "plannedEnd": "2026-04-02" } })).await;
    tenant_in_rental.assert_refused("FORBIDDEN", "renovation.shareholder_only");
    let neighbour = server
        .as_role(
            "neighbour",
            REQUEST,
            json!({ "input": input(&server, "B 12") }),
        )
        .await;
    neighbour.assert_refused("FORBIDDEN", "renovation.shareholder_only");
    assert_eq!(server.talo.store.head().await.unwrap(), before);
}

#[tokio::test]
async fn bad_requests_and_strangers_are_refused() {
    let server = TestServer::start().await;
    let mut backwards = input(&server, "B 12");
    backwards["plannedEnd"] = json!("2026-03-01");
    server
        .as_role("shareholder", REQUEST, json!({ "input": backwards }))
        .await
        .assert_refused("BAD_USER_INPUT", "renovation.schedule_order");
    let mut nothing = input(&server, "B 12");
    nothing["workTypes"] = json!([]);
    server
        .as_role("shareholder", REQUEST, json!({ "input": nothing }))
        .await
        .assert_refused("BAD_USER_INPUT", "renovation.work_type_required");
    let filed = server
        .as_role(
            "shareholder",
            REQUEST,
            json!({ "input": input(&server, "B 12") }),
        )
        .await;
    let id = filed.data()["requestRenovation"]["renovation"]["id"].clone();
    assert_eq!(
        server
            .as_role(
                "resident",
                "query($id: UUID!) { renovation(id: $id) { id } }",
                json!({ "id": id })
            )
            .await
            .code(),
        "NOT_FOUND"
    );
    step(
        &server,
        "auditor",
        "commentRenovation",
        &id,
        json!({ "text": "x" }),
    )
    .await
    .assert_refused("FORBIDDEN", "auditor.read_only");
    step(
        &server,
        "shareholder",
        "startRenovationWork",
        &id,
        json!({}),
    )
    .await
    .assert_refused("CONFLICT", "renovation.start_before_approval");
    step(
        &server,
        "shareholder",
        "withdrawRenovation",
        &id,
        json!({ "text": "Siirtyy" }),
    )
    .await
    .data();
    step(
        &server,
        "shareholder",
        "commentRenovation",
        &id,
        json!({ "text": "x" }),
    )
    .await
    .assert_refused("CONFLICT", "renovation.closed");
    server.assert_work_items_rebuild_from_their_types().await;
}
