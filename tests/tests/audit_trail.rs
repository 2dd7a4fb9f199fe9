//! What auditors get: receipts for every command and their verification, an entity's whole
//! history in order, and state as of a past position, recorded time or business time
//! (including a back-dated payment).

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;
use uuid::Uuid;

const VERIFY: &str = r#"query($r: ReceiptInput!) { verifyReceipt(receipt: $r) { valid reason } }"#;

const HISTORY: &str = r#"query($id: UUID!, $first: Int, $after: String) {
  entityHistory(id: $id, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges { cursor node { eventType stream actorRole channel occurredAt recordedAt position } } } }"#;

const AS_OF: &str = r#"query($at: AsOfInput!, $contract: UUID!, $fault: UUID!, $apartment: UUID!, $levels: ServiceLevelReportInput!) {
  auditAsOf(at: $at) {
    now position
    ledger(contractId: $contract) { balanceCents overdueCents receivedCents
      openInvoices { invoiceNumber dueOn openCents }
      payments { paymentId amountCents bookedOn enteredAt recordedAt } }
    faultReport(id: $fault) { status reopenCount history { status at } }
    apartment(id: $apartment) { code residents { personId name } shareholders { personId } }
    serviceLevelReport(input: $levels) { process milestone met onTrack breached }
  } }"#;

fn receipts(answer: &Gql) -> Vec<Value> {
    answer.body["extensions"]["receipts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn every_command_answers_with_a_receipt_that_verifies_against_the_log() {
    let server = TestServer::start().await;
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let input = json!({ "input": { "idempotencyKey": key(), "apartmentId": apartment, "category": "PLUMBING", "description": "Hana vuotaa", "permissionToEnter": true } });
    let answer = server.as_role("resident", ops::REPORT, input.clone()).await;
    let id = answer.data()["reportFault"]["faultReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let receipt = receipts(&answer).pop().expect("a receipt");
    assert_eq!(receipt["stream"], format!("fault-report-{id}"));
    assert_eq!(
        (
            receipt["firstRevision"].as_u64(),
            receipt["lastRevision"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(receipt["eventIds"].as_array().unwrap().len(), 1);
    assert_eq!(
        receipt["position"],
        answer.data()["reportFault"]["position"]
    );
    assert!(receipt["hash"].as_str().unwrap().starts_with("sha256:"));
    let chain = receipt["chainHash"].as_str().unwrap();
    assert_eq!(chain.len(), 64, "the log's chain hash at the event");

    // The holder and the auditor can have it checked.
    for role in ["resident", "auditor"] {
        let checked = server.as_role(role, VERIFY, json!({ "r": receipt })).await;
        assert_eq!(
            checked.data()["verifyReceipt"],
            json!({ "valid": true, "reason": null }),
            "{role}"
        );
    }
    // A retry answers with the same receipt.
    let retry = server.as_role("resident", ops::REPORT, input).await;
    assert_eq!(receipts(&retry), vec![receipt.clone()]);
    // Reads have none.
    let read = server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await;
    assert!(receipts(&read).is_empty());

    // Forgeries fail, each with its reason.
    let forged = |field: &str, value: Value| merged(receipt.clone(), json!({ field: value }));
    let cases = [
        (
            forged("hash", json!(format!("sha256:{}", "0".repeat(64)))),
            "the events' content differs from the hash",
        ),
        (
            forged("eventIds", json!([Uuid::now_v7()])),
            "`eventIds` differs from the log",
        ),
        (
            forged("recordedAt", json!("2020-01-01T00:00:00Z")),
            "`recordedAt` differs from the log",
        ),
        (
            forged("stream", json!(format!("fault-report-{}", Uuid::now_v7()))),
            "the log holds no such events for this organisation",
        ),
        (
            forged("lastRevision", json!(5)),
            "the log holds no such events for this organisation",
        ),
    ];
    for (receipt, reason) in cases {
        let checked = server
            .as_role("auditor", VERIFY, json!({ "r": receipt }))
            .await;
        assert_eq!(
            checked.data()["verifyReceipt"],
            json!({ "valid": false, "reason": reason })
        );
    }
    // Another organisation cannot confirm this organisation's history.
    let two = TestServer::with_two_organisations().await;
    let answer = two.as_role("resident", ops::REPORT, json!({ "input": { "idempotencyKey": key(), "apartmentId": two.apartment(demo::RENTAL, "A 4"), "category": "PLUMBING", "description": "Hana", "permissionToEnter": true } })).await;
    let theirs = receipts(&answer).pop().unwrap();
    let checked = two
        .gql(
            Some(&two.token_in(1, "auditor")),
            VERIFY,
            json!({ "r": theirs }),
        )
        .await;
    assert_eq!(checked.data()["verifyReceipt"]["valid"], false);
    server
        .gql(None, VERIFY, json!({ "r": receipt }))
        .await
        .assert_refused_code("UNAUTHENTICATED");
}

/// A retry of a command with many later events on its stream answers with the receipt of
/// its own event, found further back than the few newest events a receipt reads first.
#[tokio::test]
async fn a_retry_after_many_later_changes_answers_with_its_own_receipt() {
    const SET: &str = r#"mutation($input: SetPropertyContactInput!) { setPropertyContact(input: $input) { replayed } }"#;
    let server = TestServer::start().await;
    let contact = |key: String, name: String| json!({ "input": { "idempotencyKey": key, "propertyId": server.org().properties[demo::RENTAL], "kind": "OTHER", "name": name, "phone": "+358 40 555 0111" } });
    let first = contact(key(), "Kerho".into());
    let answer = server.as_role("property_manager", SET, first.clone()).await;
    let receipt = receipts(&answer).pop().expect("a receipt");
    for n in 0..20 {
        server
            .as_role(
                "property_manager",
                SET,
                contact(key(), format!("Kerho {n}")),
            )
            .await
            .data();
    }
    let retry = server.as_role("property_manager", SET, first).await;
    assert_eq!(retry.data()["setPropertyContact"]["replayed"], true);
    assert_eq!(receipts(&retry), vec![receipt.clone()]);
    let checked = server
        .as_role("auditor", VERIFY, json!({ "r": receipt }))
        .await;
    assert_eq!(checked.data()["verifyReceipt"]["valid"], true);
}

#[tokio::test]
async fn an_entitys_history_lists_every_event_about_it_in_order() {
    let server = TestServer::start().await;
    let id = report_as_resident(&server).await;
    server.clock.advance(chrono::Duration::hours(2));
    acknowledge_and_assign(&server, &id).await;
    start_and_resolve(&server, &id).await;
    let history = server
        .as_role("auditor", HISTORY, json!({ "id": id }))
        .await;
    let edges = history.data()["entityHistory"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let types: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "TicketNumberIssued",
            "FaultReported",
            "FaultReportAcknowledged",
            "FaultReportAssigned",
            "FaultReportWorkStarted",
            "FaultReportResolved",
        ]
    );
    let reported = &edges[1]["node"];
    assert_eq!(
        (reported["actorRole"].as_str(), reported["channel"].as_str()),
        (Some("RESIDENT"), Some("PORTAL"))
    );
    assert_eq!(reported["occurredAt"], "2026-03-02T08:00:00+00:00");
    assert_eq!(edges[2]["node"]["actorRole"], "CUSTOMER_SERVICE");
    assert_eq!(edges[2]["node"]["occurredAt"], "2026-03-02T10:00:00+00:00");
    let positions: Vec<u64> = edges
        .iter()
        .map(|e| e["node"]["position"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in log order");

    // Pages continue where the last one stopped.
    let first = server
        .as_role("auditor", HISTORY, json!({ "id": id, "first": 4 }))
        .await;
    let page = &first.data()["entityHistory"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let cursor = page["edges"][3]["cursor"].clone();
    let rest = server
        .as_role(
            "auditor",
            HISTORY,
            json!({ "id": id, "first": 4, "after": cursor }),
        )
        .await;
    let rest = &rest.data()["entityHistory"];
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["edges"].as_array().unwrap().len(), 2);

    // A person's dealings: their contract, their reports.
    let resident = server.org().person("resident");
    let theirs = server
        .as_role("auditor", HISTORY, json!({ "id": resident, "first": 100 }))
        .await;
    let types: Vec<String> = theirs.data()["entityHistory"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventType"].as_str().unwrap().to_owned())
        .collect();
    for expected in ["PersonRegistered", "ContractSigned", "FaultReported"] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    server
        .as_role("property_manager", HISTORY, json!({ "id": id }))
        .await
        .assert_refused_code("FORBIDDEN");
}

#[tokio::test]
async fn state_as_of_a_position_a_recorded_time_or_a_business_time() {
    let server = TestServer::start().await;
    let contract = server.contract_of("neighbour");
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let start = server.talo.store.head().await.unwrap().to_string();
    let known_before = Utc::now();

    // A fault is reported, then acknowledged.
    let fault = report_as_resident(&server).await;
    let reported = server.talo.store.head().await.unwrap().to_string();
    server.clock.advance(chrono::Duration::hours(1));
    step(
        &server,
        "customer_service",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &fault,
        json!({}),
    )
    .await
    .data();
    let acknowledged = server.talo.store.head().await.unwrap().to_string();

    // On 20 March the office enters a payment the neighbour made on 10 March.
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 3, 20, 10, 0, 0).unwrap());
    let before_payment = Utc::now();
    let paid = server
        .as_role("customer_service", r#"mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { position } }"#,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": 5_000, "paidOn": "2026-03-10" } }))
        .await;
    let payment_position = paid.data()["recordPayment"]["position"]
        .as_str()
        .unwrap()
        .to_owned();
    // A new tenant moves into A 4 on 20 March.
    let newcomer = server.move_in(apartment).await;

    let levels = json!({ "from": "2026-03-02T08:00:00Z", "until": "2026-04-01T00:00:00Z", "process": "FAULT_REPORT" });
    let as_of = |at: Value| {
        let server = &server;
        let levels = levels.clone();
        let fault = fault.clone();
        async move {
            server
                .as_role("auditor", AS_OF, json!({ "at": at, "contract": contract, "fault": fault, "apartment": apartment, "levels": levels }))
                .await
                .data()["auditAsOf"]
                .clone()
        }
    };

    let at_start = as_of(json!({ "position": start })).await;
    assert_eq!(at_start["faultReport"], Value::Null, "not reported yet");
    assert_eq!(at_start["ledger"]["payments"], json!([]));
    let balance_before = at_start["ledger"]["balanceCents"].as_i64().unwrap();

    let at_reported = as_of(json!({ "position": reported })).await;
    assert_eq!(at_reported["faultReport"]["status"], "REPORTED");
    let first_response = |state: &Value| {
        state["serviceLevelReport"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["milestone"] == "FIRST_RESPONSE")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            first_response(&at_reported)["onTrack"].as_u64(),
            first_response(&at_reported)["met"].as_u64()
        ),
        (Some(1), Some(0))
    );

    let at_acknowledged = as_of(json!({ "position": acknowledged })).await;
    assert_eq!(at_acknowledged["faultReport"]["status"], "ACKNOWLEDGED");
    assert_eq!(
        at_acknowledged["faultReport"]["history"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        (
            first_response(&at_acknowledged)["onTrack"].as_u64(),
            first_response(&at_acknowledged)["met"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(
        at_acknowledged["ledger"]["payments"],
        json!([]),
        "the payment was not entered yet"
    );

    // Known after the entry: the payment is there, effective 10 March, entered 20 March.
    let now = as_of(json!({ "position": payment_position })).await;
    let payment = &now["ledger"]["payments"][0];
    assert_eq!(
        (
            payment["amountCents"].as_i64(),
            payment["bookedOn"].as_str(),
            payment["enteredAt"].as_str()
        ),
        (
            Some(5_000),
            Some("2026-03-10"),
            Some("2026-03-20T10:00:00+00:00")
        )
    );
    assert!(
        payment["recordedAt"].as_str().unwrap() > "2026-11-01",
        "recorded by the store's own clock"
    );
    assert_eq!(
        now["ledger"]["balanceCents"].as_i64(),
        Some(balance_before - 5_000)
    );

    // In effect on 9 March: not yet paid; on 15 March: paid, as known today.
    let on_9th =
        as_of(json!({ "position": payment_position, "effectiveAt": "2026-03-09T12:00:00Z" })).await;
    assert_eq!(on_9th["ledger"]["payments"], json!([]));
    assert_eq!(on_9th["now"], "2026-03-09T12:00:00+00:00");
    let on_15th =
        as_of(json!({ "position": payment_position, "effectiveAt": "2026-03-15T12:00:00Z" })).await;
    assert_eq!(on_15th["ledger"]["payments"].as_array().unwrap().len(), 1);

    // By recorded time: before the entry it was not known, whatever its date.
    let known_then = as_of(json!({ "knownAt": before_payment })).await;
    assert_eq!(known_then["ledger"]["payments"], json!([]));
    assert_eq!(known_then["faultReport"]["status"], "ACKNOWLEDGED");
    let known_at_start = as_of(json!({ "knownAt": known_before })).await;
    assert_eq!(known_at_start["faultReport"], Value::Null);

    // The apartment's residents on 19 and on 20 March.
    let resident = server.org().person("resident");
    let residents = |state: &Value| -> Vec<String> {
        state["apartment"]["residents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["personId"].as_str().unwrap().to_owned())
            .collect()
    };
    let on_19th = as_of(json!({ "effectiveAt": "2026-03-19T12:00:00Z" })).await;
    assert_eq!(residents(&on_19th), vec![resident.to_string()]);
    let on_20th = as_of(json!({ "effectiveAt": "2026-03-20T12:00:00Z" })).await;
    let mut expected = vec![resident.to_string(), newcomer.to_string()];
    expected.sort();
    let mut got = residents(&on_20th);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(on_20th["apartment"]["code"], "A 4");
}

#[tokio::test]
async fn as_of_needs_a_moment_and_is_for_auditors() {
    let server = TestServer::start().await;
    let q = "query($at: AsOfInput!) { auditAsOf(at: $at) { now } }";
    server
        .as_role("auditor", q, json!({ "at": {} }))
        .await
        .assert_refused("BAD_USER_INPUT", "as_of.required");
    server
        .as_role("auditor", q, json!({ "at": { "position": "soon" } }))
        .await
        .assert_refused("BAD_USER_INPUT", "as_of.position");
    server
        .as_role("auditor", q, json!({ "at": { "position": "999999999" } }))
        .await
        .assert_refused("BAD_USER_INPUT", "as_of.position");
    server
        .as_role("property_manager", q, json!({ "at": { "position": "1" } }))
        .await
        .assert_refused_code("FORBIDDEN");
}

const ANCHORS: &str = "query($from: NaiveDate!, $until: NaiveDate!) { chainAnchors(from: $from, until: $until) { date position hash } }";

#[tokio::test]
async fn each_days_chain_head_is_anchored_once_the_next_day_begins() {
    let server = TestServer::recorded_by_the_test_clock().await;
    let range = json!({ "from": "2026-03-01", "until": "2026-03-31" });
    let none_yet = server.as_role("auditor", ANCHORS, range.clone()).await;
    assert_eq!(
        none_yet.data()["chainAnchors"],
        json!([]),
        "2 March has not ended"
    );
    let last_of_the_day = server.talo.store.head().await.unwrap();

    server.clock.advance(chrono::Duration::days(1));
    report_as_resident(&server).await;
    let anchors = server.as_role("auditor", ANCHORS, range.clone()).await;
    let anchors = anchors.data()["chainAnchors"].as_array().unwrap().clone();
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0]["date"], "2026-03-02");
    assert_eq!(anchors[0]["position"], last_of_the_day.to_string());
    let link = server
        .talo
        .store
        .chain_link(last_of_the_day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(anchors[0]["hash"], link.hash.to_string());

    server
        .as_role("property_manager", ANCHORS, range)
        .await
        .assert_refused_code("FORBIDDEN");
    server
        .as_role(
            "auditor",
            ANCHORS,
            json!({ "from": "2026-03-31", "until": "2026-03-01" }),
        )
        .await
        .assert_refused("BAD_USER_INPUT", "anchors.range");
}
