//! Own finances and the ledger through GraphQL and `POST /ledger/camt054`: a month's invoicing
//! (once per contract, whatever the number of runs), invoices with references and virtual
//! barcodes, a bank statement matched by reference (and imported twice), the unmatched payments
//! queue, arrears turning into a prepayment as the resident sees it, the arrears list with
//! ageing, separate, deposit and final invoices, charge lines from bookings, and every refusal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo::{COOPERATIVE, RENTAL};
use talo_domain::decision::Decision;
use talo_domain::reference::Reference;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::ledger::{ChargeKind, ChargeLineAdded};
use talo_events_schema::register::StaffRole;
use talo_projections::engine::build_from_zero;
use talo_projections::ledger::LedgersView;
use talo_tests::{Gql, HttpAnswer, NowUtc, TestServer, key};
use uuid::Uuid;

const RUN: &str = r#"mutation($month: String!, $propertyId: UUID) {
  runMonthlyInvoicing(month: $month, propertyId: $propertyId) {
    month issuedCount alreadyInvoicedCount nothingToInvoiceCount failedCount
    contracts { contractId outcome invoiceId message }
    issued { id contractId number kind period dueOn totalCents reference referenceDigits rfReference }
  }
}"#;

const LEDGER: &str = r#"query($id: UUID!, $from: NaiveDate, $to: NaiveDate) {
  ledger(contractId: $id) {
    contractId kind apartmentCode propertyName holderName canManage
    standing { asOf status balanceCents overdueCents dueLaterCents prepaymentCents invoicedCents receivedCents
      ageing { days0To30Cents days31To60Cents days61To90Cents over90Cents totalCents } }
    chargeLines { id kind description monthlyAmountCents vatRateBp startsOn endsOn bookingId active }
    invoices { id number kind period issuedOn dueOn status reference referenceDigits rfReference iban
      totalCents vatCents paidCents openCents paidOn daysPastDue prepaymentAppliedCents
      lines { kind description amountCents vatRateBp vatCents }
      payments { paymentId bookedOn amountCents }
      virtualBarcode virtualBarcodeRf }
    payments(from: $from, to: $to) { id source externalId amountCents bookedOn reference payerName prepaymentCents
      allocations { invoiceId invoiceNumber amountCents } }
  }
}"#;

const MY_LEDGERS: &str = r#"query { myLedgers { contractId apartmentCode canManage
  standing { status balanceCents overdueCents dueLaterCents prepaymentCents }
  invoices { number status openCents dueOn virtualBarcode } } }"#;

const RECORD_PAYMENT: &str = r#"mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) { replayed ledger { standing { status balanceCents overdueCents prepaymentCents } payments { id amountCents bookedOn } } }
}"#;

const UNMATCHED: &str = r#"query($all: Boolean) { unmatchedPayments(includeAllocated: $all) {
  id externalId amountCents bookedOn reference payerName reason allocatedToContractId } }"#;

const ARREARS: &str = r#"query($propertyId: UUID!) { arrears(propertyId: $propertyId) {
  propertyName asOf
  rows { contractId apartmentCode holderName overdueCents oldestDueOn
    ageing { days0To30Cents days31To60Cents days61To90Cents over90Cents totalCents } }
  total { days0To30Cents days31To60Cents days61To90Cents over90Cents totalCents } } }"#;

const ADD_CHARGE_LINE: &str = r#"mutation($input: AddChargeLineInput!) {
  addChargeLine(input: $input) { replayed ledger { chargeLines { id kind description monthlyAmountCents startsOn endsOn } } }
}"#;

/// The contract of a demo role's person (each named role has one).
fn contract_of(server: &TestServer, role: &str) -> Uuid {
    let person = server.org().person(role);
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    register
        .contracts
        .values()
        .find(|c| c.person_id == person)
        .unwrap()
        .contract_id
}

fn contract_count(server: &TestServer) -> usize {
    let view = server.talo.read_models.register.read();
    view.organisation(server.org().organisation_id)
        .unwrap()
        .contracts
        .len()
}

/// How many contracts the property has.
fn contracts_on(server: &TestServer, property: Uuid) -> usize {
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    register
        .contracts
        .values()
        .filter(|c| register.apartments[&c.apartment_id].property_id == property)
        .count()
}

async fn run_month(server: &TestServer, role: &str, month: &str) -> Gql {
    server.as_role(role, RUN, json!({ "month": month })).await
}

async fn ledger(server: &TestServer, role: &str, contract: Uuid) -> Value {
    server
        .as_role(role, LEDGER, json!({ "id": contract }))
        .await
        .data()["ledger"]
        .clone()
}

/// The invoice of a period on a contract's ledger.
fn invoice_for<'a>(ledger: &'a Value, period: &str) -> &'a Value {
    ledger["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["period"] == period)
        .unwrap_or_else(|| panic!("no invoice for {period}: {ledger:#}"))
}

fn fixture(resident_reference: &str, shareholder_rf: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/camt054_reference_payments.xml");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("{{RESIDENT_REFERENCE}}", resident_reference)
        .replace("{{SHAREHOLDER_RF_REFERENCE}}", shareholder_rf)
        .into_bytes()
}

async fn import(server: &TestServer, role: &str, xml: Vec<u8>) -> HttpAnswer {
    server
        .request(
            "POST",
            "/ledger/camt054",
            Some(&server.token(role)),
            Some("application/xml"),
            xml,
        )
        .await
}

/// April invoiced, the clock on 4 March, and the sample statement with the resident's April
/// reference and the shareholder's April RF reference.
async fn statement_for_april(server: &TestServer) -> Vec<u8> {
    run_month(server, "property_manager", "2026-04")
        .await
        .data();
    server.clock.advance(Duration::days(2));
    let resident = ledger(server, "property_manager", contract_of(server, "resident")).await;
    let shareholder = ledger(
        server,
        "property_manager",
        contract_of(server, "shareholder"),
    )
    .await;
    fixture(
        invoice_for(&resident, "2026-04")["reference"]
            .as_str()
            .unwrap(),
        invoice_for(&shareholder, "2026-04")["rfReference"]
            .as_str()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_month_is_invoiced_once_for_every_contract() {
    let server = TestServer::start().await;
    let contracts = contract_count(&server);
    let first = run_month(&server, "property_manager", "2026-04").await;
    let run = &first.data()["runMonthlyInvoicing"];
    assert_eq!(run["month"], "2026-04");
    assert_eq!(run["issuedCount"], contracts, "{run:#}");
    assert_eq!(run["failedCount"], 0);
    for invoice in run["issued"].as_array().unwrap() {
        assert_eq!(invoice["kind"], "MONTHLY");
        assert_eq!(invoice["dueOn"], "2026-04-05");
        let digits = invoice["referenceDigits"].as_str().unwrap();
        assert!(Reference::parse("reference", digits).is_ok(), "{digits}");
        let rf = invoice["rfReference"].as_str().unwrap();
        let parsed = Reference::parse("reference", rf).unwrap();
        assert_eq!(
            parsed.national().as_deref(),
            Some(digits),
            "RF made from the national one"
        );
        assert!(invoice["number"].as_str().unwrap().starts_with("LA-2026-"));
    }
    // Invoiced many at once, each contract once, numbered without gaps or repeats.
    let mut invoiced: Vec<&str> = run["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contractId"].as_str().unwrap())
        .collect();
    invoiced.sort();
    invoiced.dedup();
    assert_eq!(invoiced.len(), contracts);
    assert_numbered_in_one_series(&run["issued"]);
    let again = run_month(&server, "customer_service", "2026-04").await;
    let again = &again.data()["runMonthlyInvoicing"];
    assert_eq!(
        (
            again["issuedCount"].as_u64(),
            again["alreadyInvoicedCount"].as_u64()
        ),
        (Some(0), Some(contracts as u64))
    );
    let resident = ledger(&server, "resident", contract_of(&server, "resident")).await;
    let aprils: Vec<&Value> = resident["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["period"] == "2026-04")
        .collect();
    assert_eq!(aprils.len(), 1, "one April invoice after two runs");
}

/// The invoices' numbers, in any order, are consecutive in their series.
fn assert_numbered_in_one_series(issued: &Value) {
    let mut numbers: Vec<u64> = issued
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let number = i["number"].as_str().unwrap();
            number.rsplit('-').next().unwrap().parse().unwrap()
        })
        .collect();
    numbers.sort();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {numbers:?}"
    );
}

#[tokio::test]
async fn two_runs_of_a_month_at_once_invoice_each_contract_once() {
    let server = TestServer::start().await;
    let contracts = contract_count(&server);
    let (manager, office) = tokio::join!(
        run_month(&server, "property_manager", "2026-04"),
        run_month(&server, "customer_service", "2026-04"),
    );
    let (manager, office) = (
        &manager.data()["runMonthlyInvoicing"],
        &office.data()["runMonthlyInvoicing"],
    );
    for run in [manager, office] {
        assert_eq!(run["failedCount"], 0, "{run:#}");
        assert_eq!(
            run["issuedCount"].as_u64().unwrap() + run["alreadyInvoicedCount"].as_u64().unwrap(),
            contracts as u64,
            "{run:#}"
        );
    }
    assert_eq!(
        manager["issuedCount"].as_u64().unwrap() + office["issuedCount"].as_u64().unwrap(),
        contracts as u64,
        "one invoice per contract between them"
    );
    let mut all: Vec<Value> = manager["issued"].as_array().unwrap().clone();
    all.extend(office["issued"].as_array().unwrap().iter().cloned());
    assert_numbered_in_one_series(&Value::Array(all));
    let resident = ledger(&server, "resident", contract_of(&server, "resident")).await;
    let aprils = resident["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["period"] == "2026-04")
        .count();
    assert_eq!(aprils, 1);
}

/// Counts the reads of ledger streams while `counting` is set; refuses nothing.
struct LedgerReads {
    counting: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
}

impl talo_tests::StoreHooks for LedgerReads {
    fn refuse_read(&self, stream: &str) -> Option<talo_store::StoreError> {
        if stream.starts_with("ledger-") && self.counting.load(Ordering::SeqCst) {
            self.reads.fetch_add(1, Ordering::SeqCst);
        }
        None
    }
}

/// A demo server whose ledger stream reads are counted while `counting` is set.
async fn counting_ledger_reads() -> (TestServer, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let (counting, reads) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let hooks = LedgerReads {
        counting: counting.clone(),
        reads: reads.clone(),
    };
    let server =
        TestServer::on_store(move |inner| Arc::new(talo_tests::HookedStore { inner, hooks })).await;
    (server, counting, reads)
}

#[tokio::test]
async fn a_repeated_run_reads_no_ledger_stream_of_a_contract_invoiced_already() {
    let (server, counting, reads) = counting_ledger_reads().await;
    let contracts = contract_count(&server);
    let first = run_month(&server, "property_manager", "2026-04").await;
    assert_eq!(
        first.data()["runMonthlyInvoicing"]["issuedCount"],
        contracts
    );
    server
        .eventually("the ledgers show every April invoice", || {
            let org = server.org().organisation_id;
            let view = server.talo.read_models.ledgers.read();
            view.ledgers_of(org)
                .filter(|l| {
                    let april = talo_domain::ledger::monthly_invoice_id(
                        l.contract_id,
                        talo_domain::money::Month::parse("month", "2026-04").unwrap(),
                    );
                    l.account.has_invoice(april)
                })
                .count()
                == contracts
        })
        .await;
    counting.store(true, Ordering::SeqCst);
    let again = run_month(&server, "customer_service", "2026-04").await;
    let again = &again.data()["runMonthlyInvoicing"];
    assert_eq!(again["alreadyInvoicedCount"], contracts, "{again:#}");
    let first_ids: Vec<&Value> = first.data()["runMonthlyInvoicing"]["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["invoiceId"])
        .collect();
    let again_ids: Vec<&Value> = again["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["invoiceId"])
        .collect();
    assert_eq!(again_ids, first_ids, "the same invoices named");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "no ledger stream read again"
    );
    // A month not invoiced yet still reads each contract's ledger.
    run_month(&server, "property_manager", "2026-05")
        .await
        .data();
    assert!(reads.load(Ordering::SeqCst) >= contracts);
}

#[tokio::test]
async fn an_invoice_carries_lines_references_and_virtual_barcodes() {
    let server = TestServer::start().await;
    run_month(&server, "property_manager", "2026-04")
        .await
        .data();
    let resident = ledger(&server, "resident", contract_of(&server, "resident")).await;
    assert_eq!(
        (
            resident["canManage"].as_bool(),
            resident["apartmentCode"].as_str()
        ),
        (Some(false), Some("A 4"))
    );
    let april = invoice_for(&resident, "2026-04");
    let lines = april["lines"].as_array().unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["RENT", "WATER_ADVANCE"]
    );
    assert_eq!(lines[0]["description"], "Vuokra 4/2026");
    let total = april["totalCents"].as_i64().unwrap();
    assert_eq!(
        total,
        lines
            .iter()
            .map(|l| l["amountCents"].as_i64().unwrap())
            .sum::<i64>()
    );
    assert_eq!(april["iban"], "FI79 4405 2020 0360 82");
    // Version 4: 4, the account's 16 digits, euros, cents, 000, the reference in 20, YYMMDD.
    let digits = april["referenceDigits"].as_str().unwrap();
    let v4 = april["virtualBarcode"].as_str().unwrap();
    let expected = format!(
        "4{}{:06}{:02}000{:0>20}260405",
        "7944052020036082",
        total / 100,
        total % 100,
        digits
    );
    assert_eq!(v4, expected);
    let v5 = april["virtualBarcodeRf"].as_str().unwrap();
    let rf: String = april["rfReference"].as_str().unwrap().replace(' ', "");
    assert_eq!(v5.len(), 54);
    assert_eq!(
        &v5[..25],
        &format!(
            "5{}{:06}{:02}",
            "7944052020036082",
            total / 100,
            total % 100
        )
    );
    assert_eq!(&v5[25..27], &rf[2..4], "the RF check digits");
    assert_eq!(&v5[27..48], format!("{:0>21}", &rf[4..]));
    assert_eq!(april["status"], "OPEN");
    // The one invoice also answers on its own.
    let one = server
        .as_role(
            "resident",
            "query($id: UUID!) { invoice(id: $id) { number totalCents virtualBarcode lines { description } } }",
            json!({ "id": april["id"] }),
        )
        .await;
    assert_eq!(one.data()["invoice"]["virtualBarcode"], v4);
    // The office finds it among the organisation's contracts, not its own.
    let office = server
        .as_role(
            "property_manager",
            "query($id: UUID!) { invoice(id: $id) { number totalCents } }",
            json!({ "id": april["id"] }),
        )
        .await;
    assert!(april["number"].is_string(), "{april}");
    assert_eq!(office.data()["invoice"]["number"], april["number"]);
    const NUMBER: &str = "query($id: UUID!) { invoice(id: $id) { number } }";
    let number_as = async |role: &str| {
        server
            .as_role(role, NUMBER, json!({ "id": april["id"] }))
            .await
    };
    // The neighbour is told there is no such invoice.
    assert_eq!(number_as("neighbour").await.code(), "NOT_FOUND");
    // An auditor reads every ledger, and so finds it too; a contractor reads none.
    assert_eq!(
        number_as("auditor").await.data()["invoice"]["number"],
        april["number"]
    );
    assert_eq!(number_as("contractor").await.code(), "NOT_FOUND");
    // Customer service of the resident's property finds it; of the other property only, not.
    let home = server
        .as_role(
            "property_manager",
            "query($c: UUID!) { ledger(contractId: $c) { propertyId } }",
            json!({ "c": server.contract_of("resident") }),
        )
        .await
        .data()["ledger"]["propertyId"]
        .clone();
    for name in [RENTAL, COOPERATIVE] {
        let property_id = server.org().properties[name];
        let keeper = server
            .staff_of_property("Kaisu Kiinteistö", StaffRole::CustomerService, property_id)
            .await;
        let token = server.token_for(keeper);
        let answer = server
            .gql(Some(&token), NUMBER, json!({ "id": april["id"] }))
            .await;
        if json!(property_id) == home {
            assert_eq!(answer.data()["invoice"]["number"], april["number"]);
        } else {
            assert_eq!(answer.code(), "NOT_FOUND", "{name}");
        }
    }
}

#[tokio::test]
async fn a_bank_statement_is_matched_by_reference_and_imported_once() {
    let server = TestServer::start().await;
    let xml = statement_for_april(&server).await;
    let resident_contract = contract_of(&server, "resident");
    let before = ledger(&server, "resident", resident_contract).await;
    let march_open = invoice_for(&before, "2026-03")["openCents"]
        .as_i64()
        .unwrap();
    let april_total = invoice_for(&before, "2026-04")["totalCents"]
        .as_i64()
        .unwrap();

    let answer = import(&server, "customer_service", xml.clone()).await;
    assert_eq!(answer.status, 200, "{:#}", answer.json());
    let report = answer.json();
    assert_eq!(
        (
            &report["matched"],
            &report["unmatched"],
            &report["ignored"],
            &report["alreadyRecorded"],
            &report["refused"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(0), &json!(0)),
        "{report:#}"
    );
    let outcomes: Vec<&str> = report["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["matched", "matched", "unmatched", "unmatched", "ignored"]
    );
    assert_eq!(report["payments"][2]["reason"], "reference_unknown");
    assert_eq!(report["payments"][3]["reason"], "reference_invalid");
    assert_eq!(report["payments"][3]["externalId"], "20260304REF00002");

    // 1000,00 €: the March invoice first (oldest due), the rest to April.
    let after = ledger(&server, "resident", resident_contract).await;
    assert_eq!(invoice_for(&after, "2026-03")["status"], "PAID");
    assert_eq!(invoice_for(&after, "2026-03")["paidOn"], "2026-03-04");
    assert_eq!(
        invoice_for(&after, "2026-04")["openCents"]
            .as_i64()
            .unwrap(),
        april_total - (100_000 - march_open)
    );
    let payment = &after["payments"][0];
    assert_eq!(
        (
            &payment["source"],
            &payment["externalId"],
            &payment["amountCents"],
            &payment["payerName"]
        ),
        (
            &json!("BANK_STATEMENT"),
            &json!("20260304REF00001A001"),
            &json!(100_000),
            &json!("ASUKAS AINO")
        )
    );
    assert_eq!(payment["allocations"].as_array().unwrap().len(), 2);
    // The RF reference found the shareholder's April invoice.
    let shareholder = ledger(
        &server,
        "property_manager",
        contract_of(&server, "shareholder"),
    )
    .await;
    assert_eq!(shareholder["payments"][0]["amountCents"], 25_000);

    // The same file again records nothing new.
    let head = server.talo.store.head().await.unwrap();
    let again = import(&server, "customer_service", xml).await.json();
    assert_eq!(
        (
            &again["matched"],
            &again["unmatched"],
            &again["alreadyRecorded"]
        ),
        (&json!(0), &json!(0), &json!(4)),
        "{again:#}"
    );
    assert_eq!(
        server.talo.store.head().await.unwrap(),
        head,
        "nothing appended"
    );
    let queue = server
        .as_role("customer_service", UNMATCHED, json!({}))
        .await;
    // The demo's own queued payment and the two from the file, each once.
    assert_eq!(
        queue.data()["unmatchedPayments"].as_array().unwrap().len(),
        3
    );
}

/// A statement of one entry per payment: bank id, reference (if any) and amount, all credits
/// booked on 4 March in euros to the demo's account.
fn statement_of(payments: &[(String, Option<String>, i64)]) -> Vec<u8> {
    let entries: String = payments
        .iter()
        .map(|(bank_id, reference, cents)| {
            let reference = reference
                .as_ref()
                .map(|r| format!("<RmtInf><Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd></RmtInf>"))
                .unwrap_or_default();
            format!(
                "<Ntry><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
                 <BookgDt><Dt>2026-03-04</Dt></BookgDt><AcctSvcrRef>{bank_id}</AcctSvcrRef>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>MAKSAJA</Nm></Dbtr></RltdPties>{reference}</TxDtls></NtryDtls></Ntry>",
                cents / 100,
                cents % 100
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"><BkToCstmrDbtCdtNtfctn>\
         <GrpHdr><MsgId>M</MsgId><CreDtTm>2026-03-04T06:00:00+02:00</CreDtTm></GrpHdr>\
         <Ntfctn><Id>N</Id><Acct><Id><IBAN>FI7944052020036082</IBAN></Id></Acct>{entries}</Ntfctn>\
         </BkToCstmrDbtCdtNtfctn></Document>"
    )
    .into_bytes()
}

/// A statement paying every contract's April invoice is recorded many contracts at once, but
/// each contract's payments, and the unmatched queue's, in the statement's order; a bank id
/// listed twice is recorded once, even when its second listing names no invoice.
#[tokio::test]
async fn a_large_statement_keeps_each_contracts_payments_in_order() {
    let server = TestServer::start().await;
    let run = run_month(&server, "property_manager", "2026-04").await;
    let issued = run.data()["runMonthlyInvoicing"]["issued"]
        .as_array()
        .unwrap()
        .clone();
    assert!(issued.len() >= 10, "{issued:?}");
    server.clock.advance(Duration::days(2));
    let resident = contract_of(&server, "resident");
    let resident_reference = issued
        .iter()
        .find(|i| i["contractId"] == json!(resident))
        .unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut payments: Vec<(String, Option<String>, i64)> = issued
        .iter()
        .enumerate()
        .map(|(n, invoice)| {
            (
                format!("APR-{n}"),
                Some(invoice["reference"].as_str().unwrap().to_owned()),
                invoice["totalCents"].as_i64().unwrap(),
            )
        })
        .collect();
    let paid = payments.len();
    payments.extend([
        (
            "EXTRA-1".to_owned(),
            Some(resident_reference.clone()),
            1_000,
        ),
        ("QUEUE-1".to_owned(), Some("12328".to_owned()), 4_500),
        ("EXTRA-2".to_owned(), Some(resident_reference), 2_000),
        // The first payment again, its reference mangled: the same bank id, so not queued.
        ("APR-0".to_owned(), Some("12345".to_owned()), 99_999),
        ("QUEUE-2".to_owned(), None, 3_000),
    ]);
    let xml = statement_of(&payments);
    let answer = import(&server, "customer_service", xml.clone()).await;
    assert_eq!(answer.status, 200, "{:#}", answer.json());
    let report = answer.json();
    let outcomes: Vec<(&str, &str)> = report["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["externalId"].as_str().unwrap(),
                p["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected: Vec<(&str, &str)> = payments[..paid]
        .iter()
        .map(|(id, _, _)| (id.as_str(), "matched"))
        .collect();
    expected.extend([
        ("EXTRA-1", "matched"),
        ("QUEUE-1", "unmatched"),
        ("EXTRA-2", "matched"),
        ("APR-0", "already_recorded"),
        ("QUEUE-2", "unmatched"),
    ]);
    assert_eq!(outcomes, expected);

    // Every payment on the contract its reference names; the resident's two extra payments
    // after the first, in the statement's order.
    for (n, invoice) in issued.iter().enumerate() {
        let contract: Uuid = serde_json::from_value(invoice["contractId"].clone()).unwrap();
        let ledger = ledger(&server, "property_manager", contract).await;
        let payment = ledger["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["externalId"] == format!("APR-{n}"))
            .unwrap_or_else(|| panic!("APR-{n} not on its contract: {ledger:#}"));
        assert_eq!(payment["amountCents"], invoice["totalCents"]);
    }
    let ledger = ledger(&server, "resident", resident).await;
    let first = issued
        .iter()
        .position(|i| i["contractId"] == json!(resident))
        .unwrap();
    let first = format!("APR-{first}");
    let this_statement = [first.as_str(), "EXTRA-1", "EXTRA-2"];
    // Newest first.
    let recorded: Vec<&str> = ledger["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["externalId"].as_str())
        .filter(|id| this_statement.contains(id))
        .collect();
    assert_eq!(recorded, ["EXTRA-2", "EXTRA-1", first.as_str()]);
    let queued: Vec<Value> = server
        .as_role("customer_service", UNMATCHED, json!({}))
        .await
        .data()["unmatchedPayments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["externalId"].clone())
        .collect();
    assert!(!queued.contains(&json!("APR-0")), "{queued:?}");
    assert!(queued.contains(&json!("QUEUE-1")) && queued.contains(&json!("QUEUE-2")));

    // The whole statement again: nothing new.
    let head = server.talo.store.head().await.unwrap();
    let again = import(&server, "customer_service", xml).await.json();
    assert_eq!(again["alreadyRecorded"], json!(payments.len()), "{again:#}");
    assert_eq!(server.talo.store.head().await.unwrap(), head);
}

#[tokio::test]
async fn an_unmatched_payment_waits_until_the_office_allocates_it() {
    let server = TestServer::start().await;
    let xml = statement_for_april(&server).await;
    import(&server, "customer_service", xml).await;
    let queue = server
        .as_role("customer_service", UNMATCHED, json!({}))
        .await;
    let waiting = queue.data()["unmatchedPayments"]
        .as_array()
        .unwrap()
        .clone();
    let naapuri = waiting
        .iter()
        .find(|p| p["payerName"] == "NAAPURI NIKO")
        .unwrap();
    assert_eq!(
        (
            &naapuri["amountCents"],
            &naapuri["reference"],
            &naapuri["reason"]
        ),
        (&json!(3_000), &json!("12345"), &json!("REFERENCE_INVALID"))
    );
    // The neighbour mistyped the reference; customer service allocates it to his lease.
    let neighbour = contract_of(&server, "neighbour");
    let before = ledger(&server, "neighbour", neighbour).await["standing"]["balanceCents"]
        .as_i64()
        .unwrap();
    const ALLOCATE: &str = r#"mutation($input: AllocateUnmatchedPaymentInput!) {
      allocateUnmatchedPayment(input: $input) { replayed ledger { standing { balanceCents } payments { source amountCents externalId } } } }"#;
    let input =
        json!({ "idempotencyKey": key(), "paymentId": naapuri["id"], "contractId": neighbour });
    let allocated = server
        .as_role("customer_service", ALLOCATE, json!({ "input": input }))
        .await;
    let after = &allocated.data()["allocateUnmatchedPayment"]["ledger"];
    assert_eq!(
        after["standing"]["balanceCents"].as_i64().unwrap(),
        before - 3_000
    );
    assert_eq!(after["payments"][0]["source"], "UNMATCHED_QUEUE");
    assert_eq!(after["payments"][0]["externalId"], "20260304REF00002");
    // The same request again is a replay; the payment cannot go to a second contract.
    let replay = server
        .as_role("customer_service", ALLOCATE, json!({ "input": input }))
        .await;
    assert_eq!(replay.data()["allocateUnmatchedPayment"]["replayed"], true);
    let elsewhere = server
        .as_role(
            "customer_service",
            ALLOCATE,
            json!({ "input": { "idempotencyKey": key(), "paymentId": naapuri["id"], "contractId": contract_of(&server, "resident") } }),
        )
        .await;
    elsewhere.assert_refused("CONFLICT", "ledger.unmatched_payment_allocated");
    let open = server
        .as_role("customer_service", UNMATCHED, json!({}))
        .await;
    assert!(
        !open.data()["unmatchedPayments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == naapuri["id"])
    );
    let all = server
        .as_role("auditor", UNMATCHED, json!({ "all": true }))
        .await;
    let listed = all.data()["unmatchedPayments"].as_array().unwrap();
    let it = listed.iter().find(|p| p["id"] == naapuri["id"]).unwrap();
    assert_eq!(it["allocatedToContractId"], json!(neighbour));
    let unknown = server
        .as_role(
            "customer_service",
            ALLOCATE,
            json!({ "input": { "idempotencyKey": key(), "paymentId": Uuid::now_v7(), "contractId": neighbour } }),
        )
        .await;
    unknown.assert_refused("NOT_FOUND", "ledger.unmatched_payment_unknown");
    for role in ["resident", "contractor"] {
        let refused = server.as_role(role, UNMATCHED, json!({})).await;
        assert_eq!(refused.code(), "FORBIDDEN", "{role}");
    }
}

#[tokio::test]
async fn the_resident_sees_arrears_and_then_a_prepayment() {
    let server = TestServer::start().await;
    // The demo's neighbour left February unpaid: due 5 February, 25 days late on 2 March.
    let mine = server.as_role("neighbour", MY_LEDGERS, json!({})).await;
    let mine = &mine.data()["myLedgers"][0];
    assert_eq!(mine["canManage"], false);
    let standing = &mine["standing"];
    assert_eq!(standing["status"], "ARREARS");
    let overdue = standing["overdueCents"].as_i64().unwrap();
    let due_later = standing["dueLaterCents"].as_i64().unwrap();
    assert!(overdue > 0 && due_later > 0, "{standing:#}");
    assert_eq!(
        standing["balanceCents"].as_i64().unwrap(),
        overdue + due_later
    );
    let statuses: Vec<&str> = mine["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["OPEN", "OVERDUE"],
        "March open, February overdue"
    );
    // He pays everything and 100,00 € more at the office.
    let contract = contract_of(&server, "neighbour");
    let paid = server
        .as_role(
            "customer_service",
            RECORD_PAYMENT,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": overdue + due_later + 10_000, "payerName": "Niko Naapuri" } }),
        )
        .await;
    let after = &paid.data()["recordPayment"]["ledger"]["standing"];
    assert_eq!(
        (
            &after["status"],
            &after["balanceCents"],
            &after["prepaymentCents"],
            &after["overdueCents"]
        ),
        (
            &json!("PREPAID"),
            &json!(-10_000),
            &json!(10_000),
            &json!(0)
        )
    );
    let mine = server.as_role("neighbour", MY_LEDGERS, json!({})).await;
    assert_eq!(mine.data()["myLedgers"][0]["standing"]["status"], "PREPAID");
    assert!(
        mine.data()["myLedgers"][0]["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "PAID" && i["virtualBarcode"].is_null())
    );
    // April consumes the prepayment when it is issued.
    run_month(&server, "property_manager", "2026-04")
        .await
        .data();
    let after_april = ledger(&server, "neighbour", contract).await;
    let april = invoice_for(&after_april, "2026-04");
    assert_eq!(april["prepaymentAppliedCents"], 10_000);
    assert_eq!(
        april["openCents"].as_i64().unwrap(),
        april["totalCents"].as_i64().unwrap() - 10_000
    );
    assert_eq!(after_april["standing"]["status"], "DUE");
    // Payments by date range: today's, not last month's.
    let today = server.today();
    let in_range = server
        .as_role(
            "neighbour",
            LEDGER,
            json!({ "id": contract, "from": today, "to": today }),
        )
        .await;
    assert_eq!(
        in_range.data()["ledger"]["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let february = server
        .as_role(
            "neighbour",
            LEDGER,
            json!({ "id": contract, "from": "2026-02-01", "to": "2026-02-28" }),
        )
        .await;
    assert!(
        february.data()["ledger"]["payments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let backwards = server
        .as_role(
            "neighbour",
            LEDGER,
            json!({ "id": contract, "from": today, "to": "2026-01-01" }),
        )
        .await;
    backwards.assert_refused("BAD_USER_INPUT", "ledger.date_range");
}

#[tokio::test]
async fn the_arrears_list_ages_what_is_overdue() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let neighbour = contract_of(&server, "neighbour");
    let report = server
        .as_role("property_manager", ARREARS, json!({ "propertyId": rental }))
        .await;
    let report = &report.data()["arrears"];
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the neighbour is late: {report:#}");
    assert_eq!(rows[0]["contractId"], json!(neighbour));
    assert_eq!(rows[0]["holderName"], "Niko Naapuri");
    let february = rows[0]["overdueCents"].as_i64().unwrap();
    assert_eq!(rows[0]["ageing"]["days0To30Cents"].as_i64(), Some(february));
    assert_eq!(report["total"]["totalCents"].as_i64(), Some(february));
    // 40 days later February is 63 days late and March (due 5 March) 37.
    server.clock.advance(Duration::days(40));
    let later = server
        .as_role("customer_service", ARREARS, json!({ "propertyId": rental }))
        .await;
    let later = &later.data()["arrears"];
    let neighbour_row = later["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["contractId"] == json!(neighbour))
        .unwrap();
    assert_eq!(
        neighbour_row["ageing"]["days61To90Cents"].as_i64(),
        Some(february)
    );
    assert!(neighbour_row["ageing"]["days31To60Cents"].as_i64().unwrap() > 0);
    assert_eq!(neighbour_row["oldestDueOn"], "2026-02-05");
    // Everyone's March is late now: the list is the whole property.
    assert_eq!(
        later["rows"].as_array().unwrap().len(),
        contracts_on(&server, rental),
        "{later:#}"
    );
    // Residents and other staff do not get the list; an unknown property is not found.
    for (role, code) in [
        ("resident", "FORBIDDEN"),
        ("technical_manager", "FORBIDDEN"),
        ("contractor", "FORBIDDEN"),
    ] {
        let refused = server
            .as_role(role, ARREARS, json!({ "propertyId": rental }))
            .await;
        assert_eq!(refused.code(), code, "{role}");
    }
    assert!(
        server
            .as_role("auditor", ARREARS, json!({ "propertyId": rental }))
            .await
            .body["errors"]
            .is_null()
    );
    let unknown = server
        .as_role(
            "property_manager",
            ARREARS,
            json!({ "propertyId": Uuid::now_v7() }),
        )
        .await;
    assert_eq!(unknown.code(), "NOT_FOUND");
}

#[tokio::test]
async fn separate_deposit_and_final_invoices() {
    let server = TestServer::start().await;
    let contract = contract_of(&server, "resident");
    const SEPARATE: &str = r#"mutation($input: IssueSeparateInvoiceInput!) {
      issueSeparateInvoice(input: $input) { replayed invoice { id number kind dueOn totalCents vatCents lines { kind vatCents } } } }"#;
    let input = json!({ "idempotencyKey": key(), "contractId": contract, "lines": [
        { "kind": "KEY", "description": "Lisäavain", "amountCents": 4500, "vatRateBp": 2550 },
        { "kind": "SAUNA", "description": "Saunavuoro 3/2026", "amountCents": 1200, "vatRateBp": 1400 } ] });
    let separate = server
        .as_role("customer_service", SEPARATE, json!({ "input": input }))
        .await;
    let invoice = &separate.data()["issueSeparateInvoice"]["invoice"];
    assert_eq!(
        (&invoice["kind"], &invoice["totalCents"], &invoice["dueOn"]),
        (&json!("SEPARATE"), &json!(5_700), &json!("2026-03-16"))
    );
    // 45,00 € at 25,5 % → 9,14 €; 12,00 € at 14 % → 1,47 €.
    assert_eq!(invoice["vatCents"], 914 + 147);
    let replay = server
        .as_role("customer_service", SEPARATE, json!({ "input": input }))
        .await;
    assert_eq!(replay.data()["issueSeparateInvoice"]["replayed"], true);
    assert_eq!(
        replay.data()["issueSeparateInvoice"]["invoice"]["id"],
        invoice["id"]
    );

    const DEPOSIT: &str = r#"mutation($input: IssueSecurityDepositInvoiceInput!) {
      issueSecurityDepositInvoice(input: $input) { invoice { kind totalCents lines { kind description } } } }"#;
    let deposit = server
        .as_role("property_manager", DEPOSIT, json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": 112_400 } }))
        .await;
    assert_eq!(
        deposit.data()["issueSecurityDepositInvoice"]["invoice"]["kind"],
        "SECURITY_DEPOSIT"
    );
    let twice = server
        .as_role("property_manager", DEPOSIT, json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": 112_400 } }))
        .await;
    twice.assert_refused("CONFLICT", "ledger.deposit_already_invoiced");
    let on_shareholding = server
        .as_role("property_manager", DEPOSIT, json!({ "input": { "idempotencyKey": key(), "contractId": contract_of(&server, "shareholder"), "amountCents": 100 } }))
        .await;
    on_shareholding.assert_refused("BAD_USER_INPUT", "ledger.deposit_needs_lease");

    // The lease ends on 15 April: April's invoice is the final one, for 15 of 30 days.
    server
        .register(talo_domain::register::RegisterCommand::EndContract(
            talo_events_schema::register::ContractEnded {
                contract_id: contract,
                ends_on: chrono::NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(),
            },
        ))
        .await;
    run_month(&server, "property_manager", "2026-04")
        .await
        .data();
    let ledger = ledger(&server, "resident", contract).await;
    let april = invoice_for(&ledger, "2026-04");
    let march = invoice_for(&ledger, "2026-03");
    assert_eq!(april["kind"], "FINAL");
    assert_eq!(april["lines"][0]["description"], "Vuokra 4/2026 (15/30 pv)");
    assert_eq!(
        april["lines"][0]["amountCents"].as_i64().unwrap(),
        march["lines"][0]["amountCents"].as_i64().unwrap() / 2
    );
    // Nothing in May.
    server.clock.advance(Duration::days(30));
    let may = run_month(&server, "property_manager", "2026-05").await;
    let may = &may.data()["runMonthlyInvoicing"];
    let resident_run = may["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contractId"] == json!(contract));
    assert!(
        resident_run.is_none(),
        "an ended contract is not in the run"
    );
}

#[tokio::test]
async fn every_active_charge_line_is_invoiced_whoever_added_it() {
    let server = TestServer::start().await;
    let contract = contract_of(&server, "shareholder");
    // A priced booking adds a parking space from April, as the booking side does.
    let booking = Uuid::now_v7();
    let request = talo_api::dispatch::Request {
        caller: server.org().caller("customer_service"),
        channel: Channel::Portal,
        occurred_at: server.clock.now_utc(),
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    server
        .talo
        .dispatcher
        .ledger_step(&request, contract, "ChargeLineAdded", |_, _| {
            Ok(Decision {
                events: vec![
                    ChargeLineAdded {
                        contract_id: contract,
                        charge_line_id: Uuid::now_v7(),
                        kind: ChargeKind::Parking,
                        description: "Autopaikka P7".into(),
                        monthly_amount_cents: 4_000,
                        vat_rate_bp: 2550,
                        starts_on: chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                        booking_id: Some(booking),
                    }
                    .into(),
                ],
                role: ActorRole::CustomerService,
            })
        })
        .await
        .unwrap();
    // The office adds a sauna shift by hand too.
    let added = server
        .as_role(
            "property_manager",
            ADD_CHARGE_LINE,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "kind": "SAUNA", "description": "Saunavuoro ti 19", "monthlyAmountCents": 1500, "vatRateBp": 1400, "startsOn": "2026-04-01" } }),
        )
        .await;
    let lines = added.data()["addChargeLine"]["ledger"]["chargeLines"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(lines.len(), 5, "three from the demo, parking and sauna");
    run_month(&server, "property_manager", "2026-04")
        .await
        .data();
    let ledger = ledger(&server, "shareholder", contract).await;
    let april = invoice_for(&ledger, "2026-04");
    let kinds: Vec<&str> = april["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "MAINTENANCE_CHARGE",
            "FINANCING_CHARGE",
            "WATER_ADVANCE",
            "PARKING",
            "SAUNA"
        ]
    );
    // 40,00 € at 25,5 % → 8,13 €; 15,00 € at 14 % → 1,84 €.
    assert_eq!(april["vatCents"], 813 + 184);
    assert!(ledger["chargeLines"][3]["bookingId"] == json!(booking));
    // Ended from April on, the sauna is not in May.
    let sauna = lines.iter().find(|l| l["kind"] == "SAUNA").unwrap();
    const END: &str = r#"mutation($input: EndChargeLineInput!) { endChargeLine(input: $input) { ledger { chargeLines { id endsOn } } } }"#;
    server
        .as_role("property_manager", END, json!({ "input": { "idempotencyKey": key(), "contractId": contract, "chargeLineId": sauna["id"], "endsOn": "2026-04-30" } }))
        .await
        .data();
    let again = server
        .as_role("property_manager", END, json!({ "input": { "idempotencyKey": key(), "contractId": contract, "chargeLineId": sauna["id"], "endsOn": "2026-04-30" } }))
        .await;
    again.assert_refused("CONFLICT", "ledger.charge_line_ended");
    server.clock.advance(Duration::days(30));
    run_month(&server, "property_manager", "2026-05")
        .await
        .data();
    let ledger = self::ledger(&server, "shareholder", contract).await;
    let may = invoice_for(&ledger, "2026-05");
    assert_eq!(
        may["lines"].as_array().unwrap().len(),
        4,
        "parking yes, sauna no"
    );
}

#[tokio::test]
async fn a_run_for_one_property_invoices_only_its_contracts() {
    let server = TestServer::start().await;
    let cooperative = server.org().properties[COOPERATIVE];
    let run = server
        .as_role(
            "customer_service",
            RUN,
            json!({ "month": "2026-04", "propertyId": cooperative }),
        )
        .await;
    let run = &run.data()["runMonthlyInvoicing"];
    let (in_cooperative, in_rental) = (
        contracts_on(&server, cooperative),
        contracts_on(&server, server.org().properties[RENTAL]),
    );
    assert_eq!(run["issuedCount"], in_cooperative, "{run:#}");
    let everything = run_month(&server, "property_manager", "2026-04").await;
    let everything = &everything.data()["runMonthlyInvoicing"];
    assert_eq!(
        (
            &everything["issuedCount"],
            &everything["alreadyInvoicedCount"]
        ),
        (&json!(in_rental), &json!(in_cooperative))
    );
}

#[tokio::test]
async fn payments_by_hand_are_checked() {
    let server = TestServer::start().await;
    let resident = contract_of(&server, "resident");
    let server = &server;
    let pay = |input: Value| async move {
        server
            .as_role(
                "customer_service",
                RECORD_PAYMENT,
                json!({ "input": input }),
            )
            .await
    };
    let march =
        invoice_for(&ledger(server, "resident", resident).await, "2026-03")["referenceDigits"]
            .as_str()
            .unwrap()
            .to_owned();
    // By reference alone: it finds the contract.
    let by_reference = pay(json!({ "idempotencyKey": key(), "reference": march, "amountCents": 100, "paidOn": "2026-03-01" })).await;
    assert_eq!(
        by_reference.data()["recordPayment"]["ledger"]["payments"][0]["amountCents"],
        100
    );
    let cases = [
        (
            json!({ "reference": "12329", "amountCents": 100 }),
            "BAD_USER_INPUT",
            "ledger.reference_check_digit",
        ),
        (
            json!({ "reference": "RF00 1234", "amountCents": 100 }),
            "BAD_USER_INPUT",
            "ledger.reference_check_digit",
        ),
        (
            json!({ "reference": "hello", "amountCents": 100 }),
            "BAD_USER_INPUT",
            "ledger.reference_format",
        ),
        (
            json!({ "reference": "12328", "amountCents": 100 }),
            "NOT_FOUND",
            "ledger.reference_unknown",
        ),
        (
            json!({ "contractId": Uuid::now_v7(), "amountCents": 100 }),
            "NOT_FOUND",
            "ledger.contract_unknown",
        ),
        (
            json!({ "amountCents": 100 }),
            "BAD_USER_INPUT",
            "ledger.payment_target",
        ),
        (
            json!({ "contractId": resident, "amountCents": 0 }),
            "BAD_USER_INPUT",
            "ledger.amount_positive",
        ),
        (
            json!({ "contractId": resident, "amountCents": 100, "paidOn": "2026-03-03" }),
            "BAD_USER_INPUT",
            "ledger.payment_in_future",
        ),
        (
            json!({ "contractId": contract_of(server, "neighbour"), "reference": march, "amountCents": 100 }),
            "BAD_USER_INPUT",
            "ledger.reference_other_contract",
        ),
    ];
    for (fields, code, rule) in cases {
        let mut input = fields.clone();
        input["idempotencyKey"] = json!(key());
        pay(input).await.assert_refused(code, rule);
    }
    let bad =
        pay(json!({ "idempotencyKey": key(), "reference": "12329", "amountCents": 100 })).await;
    assert!(
        bad.message().starts_with("reference: `12329`"),
        "{}",
        bad.message()
    );
}

#[tokio::test]
async fn only_the_office_changes_ledgers() {
    let server = TestServer::start().await;
    let resident = contract_of(&server, "resident");
    let add = |role: &'static str, kind: &'static str| {
        let server = &server;
        async move {
            server
                .as_role(role, ADD_CHARGE_LINE, json!({ "input": { "idempotencyKey": key(), "contractId": resident, "kind": kind, "description": "Vuokra", "monthlyAmountCents": 100, "startsOn": "2026-04-01" } }))
                .await
        }
    };
    add("resident", "RENT")
        .await
        .assert_refused("FORBIDDEN", "ledger.keeper_only");
    add("technical_manager", "RENT")
        .await
        .assert_refused("FORBIDDEN", "ledger.keeper_only");
    add("auditor", "RENT")
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    add("neighbour", "RENT")
        .await
        .assert_refused("NOT_FOUND", "ledger.contract_unknown");
    add("contractor", "RENT")
        .await
        .assert_refused("NOT_FOUND", "ledger.contract_unknown");
    add("property_manager", "MAINTENANCE_CHARGE")
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.charge_kind_contract");
    for (role, rule) in [
        ("resident", "ledger.keeper_only"),
        ("technical_manager", "ledger.keeper_only"),
        ("auditor", "auditor.read_only"),
    ] {
        run_month(&server, role, "2026-04")
            .await
            .assert_refused("FORBIDDEN", rule);
    }
    run_month(&server, "property_manager", "2026-4")
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.month_format");
    run_month(&server, "property_manager", "2026-06")
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.month_too_far_ahead");
    let unknown_property = server
        .as_role(
            "property_manager",
            RUN,
            json!({ "month": "2026-04", "propertyId": Uuid::now_v7() }),
        )
        .await;
    unknown_property.assert_refused("NOT_FOUND", "ledger.property_unknown");
    // Residents read their own ledger only; the auditor reads all.
    assert_eq!(
        server
            .as_role("neighbour", LEDGER, json!({ "id": resident }))
            .await
            .code(),
        "NOT_FOUND"
    );
    assert!(
        server
            .as_role("auditor", LEDGER, json!({ "id": resident }))
            .await
            .body["errors"]
            .is_null()
    );
    let anonymous = server.gql(None, LEDGER, json!({ "id": resident })).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_statement_that_cannot_be_read_is_refused_naming_what_is_wrong() {
    let server = TestServer::start().await;
    let refused = |answer: &HttpAnswer| {
        let body = answer.json();
        (
            answer.status.as_u16(),
            body["errors"][0]["extensions"]["rule"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let broken = import(
        &server,
        "customer_service",
        b"<Document><Ntfctn></Document>".to_vec(),
    )
    .await;
    let (status, rule, message) = refused(&broken);
    assert_eq!((status, rule.as_str()), (400, "camt054.xml_malformed"));
    assert!(
        message.starts_with("body: not well-formed XML:") && message.contains("1:"),
        "{message}"
    );
    let xml = String::from_utf8(fixture("12328", "RF18539007547034")).unwrap();
    let no_amount = xml.replacen(r#"<Amt Ccy="EUR">30.00</Amt>"#, "", 1);
    let (status, rule, message) =
        refused(&import(&server, "customer_service", no_amount.into_bytes()).await);
    assert_eq!(
        (status, rule.as_str(), message.as_str()),
        (
            400,
            "camt054.element_missing",
            "body: Ntfctn[1]/Ntry[2]/Amt: missing"
        )
    );
    let bad_amount = xml.replacen("1000.00", "1000,00", 1);
    let (_, rule, message) =
        refused(&import(&server, "customer_service", bad_amount.into_bytes()).await);
    assert_eq!(rule, "camt054.amount_format");
    assert!(
        message
            .starts_with("body: Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[1]/AmtDtls/TxAmt/Amt: `1000,00`"),
        "{message}"
    );
    let other_account = xml.replace("FI7944052020036082", "FI5810171000000122");
    let (_, rule, _) =
        refused(&import(&server, "customer_service", other_account.into_bytes()).await);
    assert_eq!(rule, "camt054.other_account");
    let pain = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>"#;
    let (_, rule, _) =
        refused(&import(&server, "customer_service", pain.as_bytes().to_vec()).await);
    assert_eq!(rule, "camt054.not_camt054");
    let (status, rule, _) = refused(&import(&server, "customer_service", vec![0xff, 0xfe]).await);
    assert_eq!((status, rule.as_str()), (400, "camt054.encoding"));
    // Who may import: not residents, auditors or contractors; not without a token.
    for (role, rule) in [
        ("resident", "ledger.keeper_only"),
        ("auditor", "auditor.read_only"),
        ("contractor", "ledger.keeper_only"),
    ] {
        let (status, got, _) = refused(&import(&server, role, xml.clone().into_bytes()).await);
        assert_eq!((status, got.as_str()), (403, rule), "{role}");
    }
    let anonymous = server
        .request(
            "POST",
            "/ledger/camt054",
            None,
            Some("application/xml"),
            xml.into_bytes(),
        )
        .await;
    assert_eq!(
        (anonymous.status.as_u16(), anonymous.code()),
        (401, "UNAUTHENTICATED".to_owned())
    );
    // Nothing of the refused files was recorded.
    let queue = server
        .as_role("customer_service", UNMATCHED, json!({}))
        .await;
    assert_eq!(
        queue.data()["unmatchedPayments"].as_array().unwrap().len(),
        1,
        "the demo's own"
    );
}

#[tokio::test]
async fn the_ledgers_read_model_rebuilds_to_the_same_state() {
    let server = TestServer::start().await;
    let xml = statement_for_april(&server).await;
    import(&server, "customer_service", xml).await;
    let head = server.talo.store.head().await.unwrap();
    let rebuilt: LedgersView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.ledgers.read(), rebuilt);
    let before = ledger(&server, "resident", contract_of(&server, "resident")).await;
    let server = server.crash_and_restart().await;
    assert_eq!(
        ledger(&server, "resident", contract_of(&server, "resident")).await,
        before
    );
}

#[tokio::test]
async fn invoice_and_charge_line_input_is_checked_by_field() {
    let server = TestServer::start().await;
    let contract = contract_of(&server, "resident");
    const SEPARATE: &str = r#"mutation($input: IssueSeparateInvoiceInput!) { issueSeparateInvoice(input: $input) { invoice { id } } }"#;
    let separate = |fields: Value| {
        let server = &server;
        async move {
            let mut input = json!({ "idempotencyKey": key(), "contractId": contract, "lines": [
                { "kind": "DAMAGE", "description": "Oven korjaus", "amountCents": 25000, "vatRateBp": 2550 } ] });
            if let (Some(input), Value::Object(extra)) = (input.as_object_mut(), fields) {
                input.extend(extra);
            }
            server
                .as_role("customer_service", SEPARATE, json!({ "input": input }))
                .await
        }
    };
    separate(json!({ "lines": [] }))
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.lines_count");
    separate(json!({ "dueOn": "2026-03-01" }))
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.due_in_past");
    separate(json!({ "lines": [{ "kind": "KEY", "description": "Avain", "amountCents": 100, "vatRateBp": 12000 }] }))
        .await
        .assert_refused("BAD_USER_INPUT", "ledger.vat_rate_range");
    separate(json!({ "contractId": Uuid::now_v7() }))
        .await
        .assert_refused("NOT_FOUND", "ledger.contract_unknown");
    let add = server
        .as_role(
            "property_manager",
            ADD_CHARGE_LINE,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "kind": "RENT", "description": "Vuokra", "monthlyAmountCents": 0, "startsOn": "2026-04-01" } }),
        )
        .await;
    add.assert_refused("BAD_USER_INPUT", "ledger.amount_positive");
    assert_eq!(
        add.body["errors"][0]["extensions"]["field"],
        "monthly_amount_cents"
    );
    const END: &str = r#"mutation($input: EndChargeLineInput!) { endChargeLine(input: $input) { ledger { contractId } } }"#;
    server
        .as_role("property_manager", END, json!({ "input": { "idempotencyKey": key(), "contractId": contract, "chargeLineId": Uuid::now_v7(), "endsOn": "2026-04-30" } }))
        .await
        .assert_refused("NOT_FOUND", "ledger.charge_line_unknown");
}

/// A ledger opened once is kept, folded through its stream's last event; opened again after a
/// payment it shows the payment, the same as the ledger the payment was decided on.
#[tokio::test]
async fn a_ledger_opened_again_shows_what_was_recorded_since() {
    let server = TestServer::start().await;
    let contract = contract_of(&server, "resident");
    let before = ledger(&server, "resident", contract).await;
    let paid = server
        .as_role(
            "customer_service",
            RECORD_PAYMENT,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": 1_234, "payerName": "Aino Asukas" } }),
        )
        .await;
    let decided = paid.data()["recordPayment"]["ledger"].clone();
    let after = ledger(&server, "resident", contract).await;
    let ids = |l: &Value| -> Vec<Value> {
        let mut ids: Vec<Value> = l["payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].clone())
            .collect();
        ids.sort_by_key(|id| id.to_string());
        ids
    };
    assert_eq!(ids(&after).len(), ids(&before).len() + 1);
    assert_eq!(ids(&after), ids(&decided));
    for field in ["status", "balanceCents", "overdueCents", "prepaymentCents"] {
        assert_eq!(
            after["standing"][field], decided["standing"][field],
            "{field}"
        );
    }
}

/// Monthly runs and a statement import decide on kept ledgers and keep what they record
/// without reading it back: every ledger kept so equals the one folded from its whole stream.
#[tokio::test]
async fn ledgers_kept_by_runs_and_imports_are_the_ledgers_in_the_log() {
    let server = TestServer::start().await;
    let xml = statement_for_april(&server).await;
    let contracts: Vec<Uuid> = {
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        register.contracts.keys().copied().collect()
    };
    // Kept from the start: each ledger read once before anything is written.
    for contract in &contracts {
        server.talo.dispatcher.ledger(*contract).await.unwrap();
    }
    let kept_before = server.talo.dispatcher.ledgers.len();
    import(&server, "customer_service", xml).await;
    run_month(&server, "property_manager", "2026-05")
        .await
        .data();
    assert_eq!(server.talo.dispatcher.ledgers.len(), kept_before);
    let mut compared = 0;
    for contract in &contracts {
        let kept = server.talo.dispatcher.ledgers.get(*contract).unwrap();
        let stream = talo_events_schema::streams::ledger(*contract);
        let history = server
            .talo
            .store
            .read_stream(
                &stream,
                talo_store::Direction::Forwards,
                talo_store::StreamFrom::Start,
                10_000,
            )
            .await
            .unwrap();
        let decoded = talo_api::dispatch::decode_all(&history).unwrap();
        let folded = talo_domain::ledger::Ledger::fold(decoded.iter().map(|(e, _)| e));
        assert_eq!(*kept.ledger, folded, "{contract}");
        assert_eq!(kept.next_revision, history.len() as u64, "{contract}");
        assert_eq!(
            kept.last_position,
            history.last().map(|e| e.position),
            "{contract}"
        );
        compared += usize::from(!history.is_empty());
    }
    assert!(compared >= 10, "{compared}");
}

#[tokio::test]
async fn a_ledger_whose_stream_cannot_be_read_is_an_error_not_a_partial_ledger() {
    let server = TestServer::start().await;
    let resident = contract_of(&server, "resident");
    let before = ledger(&server, "resident", resident).await;
    assert!(before["invoices"].as_array().is_some_and(|i| !i.is_empty()));
    // An invoice this build cannot read (a newer release's payload, say) on the resident's
    // contract: the ledger's documents are folded from this stream on every request.
    let mut unreadable = talo_store::conformance::sample_event("InvoiceIssued", 1);
    unreadable.metadata.organisation_id = server.org().organisation_id;
    let stream = talo_events_schema::streams::ledger(resident);
    server
        .talo
        .store
        .append(&stream, talo_store::ExpectedRevision::Any, vec![unreadable])
        .await
        .unwrap();

    let answer = server
        .as_role("resident", LEDGER, json!({ "id": resident }))
        .await;
    // Not a ledger without that invoice: an error (its details go to the server's log).
    assert_eq!(answer.code(), "INTERNAL", "{:#}", answer.body);
    assert!(answer.body["data"].is_null(), "{:#}", answer.body);
    // Another contract's ledger still opens, and nothing recorded was lost.
    let neighbour = contract_of(&server, "neighbour");
    assert!(ledger(&server, "neighbour", neighbour).await["invoices"].is_array());
    let events = server.stream_events(&stream).await;
    let invoices = before["invoices"].as_array().unwrap().len();
    let issued = events
        .iter()
        .filter(|e| e.event_type == "InvoiceIssued")
        .count();
    assert_eq!(issued, invoices + 1, "every invoice is still in the log");
}

/// A ledger's list of invoices as a portal shows it: everything here is answered from the
/// contract's account in the ledgers read model.
const LISTED: &str = r#"query($id: UUID!) { ledger(contractId: $id) { ...Listed } myLedgers { ...Listed } }
fragment Listed on ContractLedger { __typename contractId kind apartmentId apartmentCode propertyId
  propertyName holderName startsOn endsOn canManage
  standing { asOf status balanceCents overdueCents dueLaterCents prepaymentCents invoicedCents
    receivedCents ageing { days0To30Cents days31To60Cents days61To90Cents over90Cents totalCents } }
  all: invoices { ...Money } unpaid: invoices(filter: UNPAID) { ...Money }
  paid: invoices(filter: PAID) { ...Money } }
fragment Money on Invoice { __typename id contractId number issuedOn dueOn status totalCents
  paidCents openCents daysPastDue prepaymentAppliedCents }"#;

/// The same list and one field of the documents (which only the contract's stream has) asked
/// beside it, at the ledger's level or in a fragment on its invoices.
fn listed_with_documents() -> [(String, &'static str); 2] {
    [
        (
            LISTED.replace(
                "fragment Listed on ContractLedger {",
                "fragment Listed on ContractLedger { chargeLines { id }",
            ),
            "chargeLines",
        ),
        (
            LISTED.replace(
                "all: invoices { ...Money }",
                "all: invoices { ...Money ...Printed }",
            ) + "\nfragment Printed on Invoice { referenceDigits }",
            "referenceDigits",
        ),
    ]
}

/// `answer` without `field` wherever it is.
fn without(answer: &Value, field: &str) -> Value {
    match answer {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| *name != field)
                .map(|(name, value)| (name.clone(), without(value, field)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| without(v, field)).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_invoice_list_is_answered_from_the_account_as_the_documents_answer_it() {
    let (server, counting, reads) = counting_ledger_reads().await;
    let contract = contract_of(&server, "neighbour");
    // The list from the account against the list from the documents, as the neighbour sees
    // it; and how many ledger streams the account's list read.
    let compare = async |when: &str| -> Value {
        reads.store(0, Ordering::SeqCst);
        counting.store(true, Ordering::SeqCst);
        let listed = server
            .as_role("neighbour", LISTED, json!({ "id": contract }))
            .await
            .data()
            .clone();
        counting.store(false, Ordering::SeqCst);
        assert_eq!(reads.load(Ordering::SeqCst), 0, "{when}: no stream read");
        assert_eq!(listed["myLedgers"][0], listed["ledger"], "{when}");
        for (query, field) in listed_with_documents() {
            let documents = server
                .as_role("neighbour", &query, json!({ "id": contract }))
                .await
                .data()
                .clone();
            assert!(
                !documents["ledger"]
                    .to_string()
                    .contains(&format!("\"{field}\":null")),
                "{when}: {field} answered: {documents:#}"
            );
            assert_eq!(without(&documents, field), listed, "{when}, with {field}");
        }
        listed["ledger"].clone()
    };

    // February overdue, March open.
    let before = compare("in arrears").await;
    assert_eq!(before["standing"]["status"], "ARREARS");
    let statuses = |l: &Value, list: &str| -> Vec<String> {
        l[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(&before, "all"), ["OPEN", "OVERDUE"]);
    assert_eq!(statuses(&before, "unpaid"), ["OPEN", "OVERDUE"]);
    assert!(statuses(&before, "paid").is_empty());
    assert!(
        before["all"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["number"].as_str().is_some_and(|n| n.starts_with("LA-")))
    );
    let owed = before["standing"]["balanceCents"].as_i64().unwrap();

    // February paid and March in part: shown in the list as soon as the payment is recorded.
    let overdue = before["standing"]["overdueCents"].as_i64().unwrap();
    server
        .as_role(
            "customer_service",
            RECORD_PAYMENT,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": overdue + 1_000, "payerName": "Niko Naapuri" } }),
        )
        .await
        .data();
    let part = compare("paid in part").await;
    assert_eq!(statuses(&part, "all"), ["OPEN", "PAID"]);
    assert_eq!(part["all"][0]["paidCents"], 1_000);
    assert_eq!(part["standing"]["balanceCents"], owed - overdue - 1_000);

    // The rest and 100,00 € more: prepaid, and April's invoice consumes it when issued.
    server
        .as_role(
            "customer_service",
            RECORD_PAYMENT,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract, "amountCents": owed - overdue - 1_000 + 10_000, "payerName": "Niko Naapuri" } }),
        )
        .await
        .data();
    let prepaid = compare("prepaid").await;
    assert_eq!(prepaid["standing"]["status"], "PREPAID");
    assert_eq!(statuses(&prepaid, "paid"), ["PAID", "PAID"]);
    run_month(&server, "property_manager", "2026-04")
        .await
        .data();
    let april = compare("April issued").await;
    assert_eq!(april["all"][0]["prepaymentAppliedCents"], 10_000);
    assert_eq!(
        april["all"][0]["openCents"].as_i64().unwrap(),
        april["all"][0]["totalCents"].as_i64().unwrap() - 10_000
    );

    // One page's two fragments asking for `myLedgers` are answered from one source: both
    // read the documents when either needs them (the answers are merged invoice by invoice).
    // Under two aliases they are two lists, each read as it asks.
    let reads_for = async |query: &str| -> (usize, Value) {
        reads.store(0, Ordering::SeqCst);
        counting.store(true, Ordering::SeqCst);
        let answer = server
            .as_role("neighbour", query, json!({}))
            .await
            .data()
            .clone();
        counting.store(false, Ordering::SeqCst);
        (reads.load(Ordering::SeqCst), answer)
    };
    let listing =
        "fragment Listing on Query { myLedgers { standing { status } invoices { id status } } }";
    let details = "fragment Details on Query { myLedgers { invoices { id referenceDigits } } }";
    let (alone, _) = reads_for(&format!("query {{ ...Listing }} {listing}")).await;
    assert_eq!(alone, 0, "the list alone is read from the account");
    let (both, merged) = reads_for(&format!(
        "query {{ ...Listing ...Details }} {listing} {details}"
    ))
    .await;
    assert_eq!(both, 2, "each occurrence reads the documents");
    let invoices = merged["myLedgers"][0]["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), april["all"].as_array().unwrap().len());
    assert!(
        invoices
            .iter()
            .all(|i| i["status"].is_string() && i["referenceDigits"].is_string())
    );
    let (aliased, _) = reads_for(
        "query { list: myLedgers { invoices { id status } } details: myLedgers { invoices { referenceDigits } } }",
    )
    .await;
    assert_eq!(
        aliased, 1,
        "only the aliased list that needs them reads the documents"
    );

    // The office's view of the same ledger, from the account too.
    reads.store(0, Ordering::SeqCst);
    counting.store(true, Ordering::SeqCst);
    let office = server
        .as_role("property_manager", LISTED, json!({ "id": contract }))
        .await;
    counting.store(false, Ordering::SeqCst);
    assert_eq!(reads.load(Ordering::SeqCst), 0);
    let office = &office.data()["ledger"];
    assert_eq!(office["canManage"], true);
    assert_eq!(without(office, "canManage"), without(&april, "canManage"));
    // And a field of the documents reads the stream.
    counting.store(true, Ordering::SeqCst);
    let (query, _) = &listed_with_documents()[0];
    server
        .as_role("property_manager", query, json!({ "id": contract }))
        .await
        .data();
    assert!(reads.load(Ordering::SeqCst) > 0, "the documents are read");

    // One invoice by its id: its money from the account, as the list has it; its lines from
    // the documents.
    let first = &april["all"][0];
    let (money_reads, money) = reads_for(&format!(
        r#"{{ invoice(id: "{}") {{ id number dueOn status totalCents paidCents openCents }} }}"#,
        first["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        money_reads, 0,
        "an invoice's money is read from the account"
    );
    for field in [
        "id",
        "number",
        "dueOn",
        "status",
        "totalCents",
        "paidCents",
        "openCents",
    ] {
        assert_eq!(money["invoice"][field], first[field], "{field}");
    }
    let (lines_reads, lines) = reads_for(&format!(
        r#"{{ invoice(id: "{}") {{ number lines {{ description }} }} }}"#,
        first["id"].as_str().unwrap()
    ))
    .await;
    assert!(
        lines_reads > 0,
        "an invoice's lines are read from the documents"
    );
    assert_eq!(lines["invoice"]["number"], first["number"]);
    assert!(!lines["invoice"]["lines"].as_array().unwrap().is_empty());
}
