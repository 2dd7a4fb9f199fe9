//! The README's own-finances and bank-statement walkthroughs, run exactly as written. Before
//! the second, the statement goes in through `POST /ledger/camt054`, as its `curl` step does.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo::RENTAL;
use talo_tests::TestServer;
use talo_tests::readme::run;

#[tokio::test]
async fn the_own_finances_walkthrough_runs_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::from([
        ("startsOn".to_owned(), json!("2026-04-01")),
        ("month".to_owned(), json!("2026-04")),
    ]);
    let answers = run(
        &server,
        "## Walkthrough: own finances",
        &mut vars,
        |data, vars| {
            if let Some(id) = data["myLedgers"][0]["contractId"].as_str() {
                vars.insert("contractId".into(), json!(id));
            }
        },
    )
    .await;
    assert_eq!(answers[0]["myLedgers"][0]["standing"]["status"], "DUE");
    assert_eq!(answers[2]["runMonthlyInvoicing"]["issuedCount"], 28);
    let unpaid = answers[3]["ledger"]["invoices"].as_array().unwrap();
    let april = unpaid
        .iter()
        .find(|i| {
            i["number"]
                .as_str()
                .is_some_and(|n| n.starts_with("LA-2026-"))
                && i["period"] == "2026-04"
        })
        .unwrap();
    let kinds: Vec<&str> = april["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["RENT", "WATER_ADVANCE", "PARKING"]);
    assert_eq!(april["vatCents"], 813);
    assert_eq!(april["virtualBarcode"].as_str().unwrap().len(), 54);
    assert!(april["virtualBarcodeRf"].as_str().unwrap().starts_with('5'));
}

#[tokio::test]
async fn the_bank_statement_walkthrough_runs_as_written() {
    let server = TestServer::start().await;
    let contracts = server
        .as_role(
            "property_manager",
            r#"mutation { runMonthlyInvoicing(month: "2026-04") { issued { contractId referenceDigits rfReference } } }"#,
            json!({}),
        )
        .await;
    let issued = contracts.data()["runMonthlyInvoicing"]["issued"]
        .as_array()
        .unwrap()
        .clone();
    server.clock.advance(Duration::days(2));
    let reference_of = |role: &str, field: &str| -> String {
        let person = server.org().person(role);
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        let contract = register
            .contracts
            .values()
            .find(|c| c.person_id == person)
            .unwrap()
            .contract_id;
        issued
            .iter()
            .find(|i| i["contractId"] == json!(contract))
            .unwrap()[field]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let xml = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/camt054_reference_payments.xml"),
    )
    .unwrap()
    .replace(
        "{{RESIDENT_REFERENCE}}",
        &reference_of("resident", "referenceDigits"),
    )
    .replace(
        "{{SHAREHOLDER_RF_REFERENCE}}",
        &reference_of("shareholder", "rfReference"),
    );
    let imported = server
        .request(
            "POST",
            "/ledger/camt054",
            Some(&server.token("customer_service")),
            Some("application/xml"),
            xml.into_bytes(),
        )
        .await;
    assert_eq!(imported.status, 200);
    assert_eq!(
        (
            imported.json()["matched"].as_u64(),
            imported.json()["unmatched"].as_u64()
        ),
        (Some(2), Some(2))
    );
    let mut vars = BTreeMap::from([
        (
            "propertyId".to_owned(),
            json!(server.org().properties[RENTAL]),
        ),
        ("from".to_owned(), json!("2026-03-01")),
        ("to".to_owned(), json!("2026-03-04")),
    ]);
    let answers = run(
        &server,
        "## Walkthrough: bank statements and arrears",
        &mut vars,
        |data: &Value, vars| {
            if let Some(rows) = data["arrears"]["rows"].as_array()
                && let Some(row) = rows.iter().find(|r| r["holderName"] == "Niko Naapuri")
            {
                vars.insert("contractId".into(), row["contractId"].clone());
            }
            if let Some(queue) = data["unmatchedPayments"].as_array()
                && let Some(p) = queue.iter().find(|p| p["payerName"] == "NAAPURI NIKO")
            {
                vars.insert("paymentId".into(), p["id"].clone());
            }
        },
    )
    .await;
    let before = answers[0]["arrears"]["rows"][0]["overdueCents"]
        .as_i64()
        .unwrap();
    let after = &answers[2]["allocateUnmatchedPayment"]["ledger"];
    assert_eq!(after["holderName"], "Niko Naapuri");
    assert_eq!(
        after["standing"]["overdueCents"].as_i64().unwrap(),
        before - 3_000
    );
    let payments = answers[3]["ledger"]["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amountCents"], 3_000);
    assert_eq!(payments[0]["source"], "UNMATCHED_QUEUE");
}
