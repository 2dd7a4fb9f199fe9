//! Request forms with question sets and the service requests filed on them, through GraphQL.

use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

const FORMS: &str = "{ requestForms { id name version questions { questionId label required type options min max } } }";
const FILE: &str = "mutation($input: FileServiceRequestInput!) { fileServiceRequest(input: $input) { replayed serviceRequest { id ticket status formVersion answers { questionId label value } } } }";
const STEP: &str = "serviceRequest { id status outcome notes { text visibility } }";

async fn key_form(server: &TestServer) -> Value {
    let forms = server.as_role("resident", FORMS, json!({})).await;
    forms.data()["requestForms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Avaintilaus")
        .cloned()
        .expect("the demo key order form")
}

fn key_answers() -> Value {
    json!([{ "questionId": "key_type", "choice": "asunto" }, { "questionId": "key_count", "number": 2 }, { "questionId": "pickup_date", "date": "2026-03-10" }])
}

async fn file(server: &TestServer, role: &str, answers: Value) -> Gql {
    let form = key_form(server).await;
    let input = json!({ "idempotencyKey": key(), "formId": form["id"], "apartmentId": server.apartment(demo::RENTAL, "A 4"), "answers": answers });
    server.as_role(role, FILE, json!({ "input": input })).await
}

async fn step(server: &TestServer, role: &str, mutation: &str, id: &Value, fields: Value) -> Gql {
    let mut input = json!({ "idempotencyKey": key(), "requestId": id });
    input
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let query = format!(
        "mutation($input: ServiceRequestStepInput!) {{ {mutation}(input: $input) {{ {STEP} }} }}"
    );
    server
        .as_role(role, &query, json!({ "input": input }))
        .await
}

#[tokio::test]
async fn a_resident_files_a_key_order_and_the_office_handles_it_like_a_fault_report() {
    let server = TestServer::start().await;
    let filed = file(&server, "resident", key_answers()).await;
    let request = filed.data()["fileServiceRequest"]["serviceRequest"].clone();
    assert!(request["ticket"].as_str().unwrap().starts_with("PY-2026-"));
    assert_eq!(request["status"], "SUBMITTED");
    assert_eq!(
        request["answers"][1],
        json!({ "questionId": "key_count", "label": "Montako avainta?", "value": "2" })
    );

    let queue = server
        .as_role(
            "customer_service",
            "{ serviceRequestQueue { edges { node { id status } } } }",
            json!({}),
        )
        .await;
    assert!(
        queue.data()["serviceRequestQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == request["id"])
    );
    assert_eq!(
        step(
            &server,
            "customer_service",
            "takeServiceRequest",
            &request["id"],
            json!({})
        )
        .await
        .data()["takeServiceRequest"]["serviceRequest"]["status"],
        "IN_PROGRESS"
    );
    step(
        &server,
        "customer_service",
        "addServiceRequestNote",
        &request["id"],
        json!({ "text": "Avaimet tilattu lukkoliikkeestä", "visibility": "INTERNAL" }),
    )
    .await
    .data();
    step(
        &server,
        "customer_service",
        "addServiceRequestNote",
        &request["id"],
        json!({ "text": "Avaimet noudettavissa torstaina" }),
    )
    .await
    .data();
    let done = step(
        &server,
        "customer_service",
        "completeServiceRequest",
        &request["id"],
        json!({ "text": "Luovutettu" }),
    )
    .await;
    assert_eq!(
        done.data()["completeServiceRequest"]["serviceRequest"]["status"],
        "COMPLETED"
    );

    // The resident follows it and never sees the internal note.
    let mine = server
        .as_role(
            "resident",
            "{ myServiceRequests { edges { node { id status outcome notes { text } } } } }",
            json!({}),
        )
        .await;
    let node = mine.data()["myServiceRequests"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == request["id"])
        .unwrap()["node"]
        .clone();
    assert_eq!(node["outcome"], "Luovutettu");
    assert_eq!(
        node["notes"],
        json!([{ "text": "Avaimet noudettavissa torstaina" }])
    );
    server.assert_work_items_rebuild_from_their_types().await;
}

#[tokio::test]
async fn a_missing_required_answer_is_refused_naming_the_question() {
    let server = TestServer::start().await;
    let before = server.talo.store.head().await.unwrap();
    let missing = file(
        &server,
        "resident",
        json!([{ "questionId": "key_count", "number": 1 }]),
    )
    .await;
    missing.assert_refused("BAD_USER_INPUT", "request_form.answer_required");
    assert!(
        missing.message().contains("`key_type`") && missing.message().contains("Mihin avain?"),
        "{}",
        missing.message()
    );
    assert_eq!(missing.body["errors"][0]["extensions"]["field"], "answers");
    file(&server, "resident", json!([{ "questionId": "key_type", "choice": "asunto" }, { "questionId": "key_count", "number": 9 }])).await.assert_refused("BAD_USER_INPUT", "request_form.answer_out_of_range");
    file(&server, "resident", json!([{ "questionId": "key_type", "choice": "kellari" }, { "questionId": "key_count", "number": 1 }])).await.assert_refused("BAD_USER_INPUT", "request_form.answer_option");
    file(&server, "resident", json!([{ "questionId": "key_type", "number": 1 }, { "questionId": "key_count", "number": 1 }])).await.assert_refused("BAD_USER_INPUT", "request_form.answer_type");
    file(
        &server,
        "resident",
        json!([{ "questionId": "key_type", "choice": "asunto", "number": 1 }]),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "request_form.one_value");
    assert_eq!(
        server.talo.store.head().await.unwrap(),
        before,
        "refused filings record nothing and use no ticket number"
    );
}

#[tokio::test]
async fn answers_are_checked_against_the_version_they_were_filed_on() {
    let server = TestServer::start().await;
    let form = key_form(&server).await;
    let filed = file(&server, "resident", key_answers()).await;
    let request_id = filed.data()["fileServiceRequest"]["serviceRequest"]["id"].clone();
    // Version 2 renames a question and makes a new one required.
    let publish = "mutation($input: PublishRequestFormInput!) { publishRequestForm(input: $input) { form { id version } } }";
    let questions = json!([
        { "questionId": "key_type", "label": "Mihin avain tarvitaan?", "required": true, "type": "SINGLE_CHOICE", "options": ["asunto", "varasto"] },
        { "questionId": "key_count", "label": "Avainten määrä", "required": true, "type": "NUMBER", "min": 1, "max": 3 },
        { "questionId": "reason", "label": "Syy", "required": true, "type": "TEXT" },
    ]);
    let v2 = server.as_role("property_manager", publish, json!({ "input": { "idempotencyKey": key(), "formId": form["id"], "name": "Avaintilaus", "questions": questions } })).await;
    assert_eq!(v2.data()["publishRequestForm"]["form"]["version"], 2);
    // The old request still shows the questions of version 1.
    let old = server
        .as_role(
            "resident",
            "query($id: UUID!) { serviceRequest(id: $id) { formVersion answers { label } } }",
            json!({ "id": request_id }),
        )
        .await;
    assert_eq!(old.data()["serviceRequest"]["formVersion"], 1);
    assert_eq!(
        old.data()["serviceRequest"]["answers"][0]["label"],
        "Mihin avain?"
    );
    // A new filing must answer version 2.
    file(&server, "resident", key_answers())
        .await
        .assert_refused("BAD_USER_INPUT", "request_form.unknown_question");
    // Residents do not define forms.
    server
        .as_role(
            "resident",
            publish,
            json!({ "input": { "idempotencyKey": key(), "name": "X", "questions": questions } }),
        )
        .await
        .assert_refused("FORBIDDEN", "request_form.organisation_staff_only");
}

#[tokio::test]
async fn who_may_file_and_handle() {
    let server = TestServer::start().await;
    file(&server, "neighbour", key_answers())
        .await
        .assert_refused("FORBIDDEN", "service_request.own_home_only");
    let filed = file(&server, "resident", key_answers()).await;
    let id = filed.data()["fileServiceRequest"]["serviceRequest"]["id"].clone();
    step(&server, "resident", "takeServiceRequest", &id, json!({}))
        .await
        .assert_refused("FORBIDDEN", "service_request.office_only");
    step(
        &server,
        "neighbour",
        "addServiceRequestNote",
        &id,
        json!({ "text": "x" }),
    )
    .await
    .assert_refused("NOT_FOUND", "service_request.not_visible");
    step(&server, "auditor", "takeServiceRequest", &id, json!({}))
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    step(
        &server,
        "resident",
        "addServiceRequestNote",
        &id,
        json!({ "text": "x", "visibility": "INTERNAL" }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "service_request.resident_notes_shared");
    step(
        &server,
        "customer_service",
        "takeServiceRequest",
        &id,
        json!({}),
    )
    .await
    .data();
    step(
        &server,
        "resident",
        "cancelServiceRequest",
        &id,
        json!({ "text": "Löytyi" }),
    )
    .await
    .assert_refused("CONFLICT", "service_request.cancel_after_taken");
    assert_eq!(
        server
            .as_role(
                "resident",
                "{ serviceRequestQueue { totalCount } }",
                json!({})
            )
            .await
            .code(),
        "FORBIDDEN"
    );
    server.assert_work_items_rebuild_from_their_types().await;
}

#[tokio::test]
async fn a_retried_filing_records_once() {
    let server = TestServer::start().await;
    let form = key_form(&server).await;
    let input = json!({ "idempotencyKey": "keys-once", "formId": form["id"], "apartmentId": server.apartment(demo::RENTAL, "A 4"), "answers": key_answers() });
    let first = server
        .as_role("resident", FILE, json!({ "input": input.clone() }))
        .await;
    let again = server
        .as_role("resident", FILE, json!({ "input": input }))
        .await;
    assert_eq!(
        first.data()["fileServiceRequest"]["serviceRequest"]["ticket"],
        again.data()["fileServiceRequest"]["serviceRequest"]["ticket"]
    );
    assert_eq!(again.data()["fileServiceRequest"]["replayed"], true);
}
