//! The business reports (money, bookings, communication) through GraphQL and their CSV
//! downloads: exact numbers over a known history with fixed business times, the CSV equal to
//! the GraphQL rows, who may read them, and refused input.
//!
//! The demo organisation's ledgers are part of the history: every contract started 400 days
//! before 2 March 2026 and is charged per square metre (apartment `n` has 3000 + 1150 × (n mod
//! 4) dm²); February was invoiced on 20 January and March on 20 February (due 6 March), and
//! February was paid on 3 February by everyone but the neighbour (A 5 of the rental company,
//! 769,00 € due 5 February). The rental company has ten leases (A 2-A 10 and B 11: rent 18 c
//! per dm² and water 22,00 €), 9139,00 € a month, the resident's (A 4) 562,00 €; the
//! cooperative eighteen shareholdings (all but A 4 and A 5: maintenance 4,6 c and financing
//! 2,1 c per dm², water 25,00 €), 6302,45 € a month, and its shareholder (B 12) paid 100,00 €
//! extra on 3 February, which went to March.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;
use uuid::Uuid;

/// Runs report `field` as `role` with `input`, selecting `fields`.
async fn report(server: &TestServer, role: &str, field: &str, fields: &str, input: Value) -> Gql {
    let input_type = format!("{}Input", field[..1].to_uppercase() + &field[1..]);
    let query = format!("query($input: {input_type}!) {{ {field}(input: $input) {{ {fields} }} }}");
    server
        .as_role(role, &query, json!({ "input": input }))
        .await
}

/// The rows of report `field`, asserting there was no error.
async fn rows(server: &TestServer, role: &str, field: &str, fields: &str, input: Value) -> Value {
    report(server, role, field, fields, input).await.data()[field].clone()
}

/// `/reports/{name}.csv?{query}` downloaded as `role`.
async fn download(server: &TestServer, role: &str, name: &str, query: &str) -> HttpAnswer {
    let token = server.token(role);
    server
        .request(
            "GET",
            &format!("/reports/{name}.csv?{query}"),
            Some(&token),
            None,
            vec![],
        )
        .await
}

/// The CSV of a download that must succeed.
async fn csv(server: &TestServer, role: &str, name: &str, query: &str) -> String {
    let answer = download(server, role, name, query).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    String::from_utf8(answer.bytes).unwrap()
}

/// A value for a query string: `:` and `+` escaped.
fn q(value: &str) -> String {
    value.replace(':', "%3A").replace('+', "%2B")
}

fn property(server: &TestServer, name: &str) -> Uuid {
    server.org().properties[name]
}

fn contract_of(server: &TestServer, role: &str) -> Uuid {
    server.contract_of(role)
}

const RECORD_PAYMENT: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { ledger { contractId } } }";
const SEPARATE: &str = "mutation($input: IssueSeparateInvoiceInput!) { issueSeparateInvoice(input: $input) { invoice { id dueOn } } }";

async fn pay(server: &TestServer, role: &str, amount_cents: i64) {
    server
        .as_role(
            "customer_service",
            RECORD_PAYMENT,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract_of(server, role), "amountCents": amount_cents } }),
        )
        .await
        .data();
}

const ARREARS: &str = "propertyId propertyName asOf contractsInArrears days0To30Cents days31To60Cents days61To90Cents over90Cents totalCents";
const INVOICING: &str =
    "propertyId propertyName periodStart invoices invoicedCents payments paidCents";
const PREPAYMENTS: &str = "propertyId propertyName contractsWithPrepayment prepaymentCents";

/// Arrears of one property as `[contracts, 0-30, 31-60, 61-90, over 90, total]`.
fn ageing(row: &Value) -> [i64; 6] {
    [
        "contractsInArrears",
        "days0To30Cents",
        "days31To60Cents",
        "days61To90Cents",
        "over90Cents",
        "totalCents",
    ]
    .map(|f| row[f].as_i64().unwrap())
}

/// On 2 March the resident pays 600,00 € (March's 562,00 €, 38,00 € in advance) and the
/// neighbour gets a 250,00 € separate invoice due 16 March.
async fn march_money(server: &TestServer) {
    pay(server, "resident", 60_000).await;
    let invoice = server
        .as_role(
            "property_manager",
            SEPARATE,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract_of(server, "neighbour"),
                "lines": [{ "kind": "DAMAGE", "description": "Ovi", "amountCents": 25_000, "vatRateBp": 0 }] } }),
        )
        .await;
    assert_eq!(
        invoice.data()["issueSeparateInvoice"]["invoice"]["dueOn"],
        "2026-03-16"
    );
}

#[tokio::test]
async fn arrears_by_age_per_property_today_and_on_a_past_day() {
    let server = TestServer::start().await;
    march_money(&server).await;
    let (rental, cooperative) = (
        property(&server, demo::RENTAL),
        property(&server, demo::COOPERATIVE),
    );
    // 2 March: only the neighbour's February, 25 days late.
    let today = rows(&server, "auditor", "arrearsReport", ARREARS, json!({})).await;
    assert_eq!(today[0]["propertyId"], json!(cooperative));
    assert_eq!(today[0]["propertyName"], demo::COOPERATIVE);
    assert_eq!(today[0]["asOf"], "2026-03-02");
    assert_eq!(ageing(&today[0]), [0, 0, 0, 0, 0, 0]);
    assert_eq!(today[1]["propertyId"], json!(rental));
    assert_eq!(ageing(&today[1]), [1, 76_900, 0, 0, 0, 76_900]);
    assert_eq!(today.as_array().unwrap().len(), 2);

    // 7 May: the neighbour pays February (oldest due first). March (due 6 March) is 62 days
    // late everywhere but at the resident's; the separate invoice 52 days.
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 5, 7, 7, 0, 0).unwrap());
    pay(&server, "neighbour", 76_900).await;
    let may = rows(
        &server,
        "property_manager",
        "arrearsReport",
        ARREARS,
        json!({}),
    )
    .await;
    assert_eq!(may[0]["asOf"], "2026-05-07");
    assert_eq!(ageing(&may[0]), [18, 0, 0, 630_245 - 10_000, 0, 620_245]);
    assert_eq!(
        ageing(&may[1]),
        [9, 0, 25_000, 913_900 - 56_200, 0, 882_700]
    );

    // As of 20 March the neighbour's payment had not come: February 43 days late, March 14
    // days, the separate invoice 4.
    let input = json!({ "asOf": "2026-03-20", "propertyId": rental });
    let march = rows(&server, "customer_service", "arrearsReport", ARREARS, input).await;
    assert_eq!(march.as_array().unwrap().len(), 1);
    assert_eq!(march[0]["asOf"], "2026-03-20");
    assert_eq!(
        ageing(&march[0]),
        [9, 857_700 + 25_000, 76_900, 0, 0, 959_600]
    );
    let file = csv(
        &server,
        "customer_service",
        "arrears",
        &format!("asOf=2026-03-20&propertyId={rental}"),
    )
    .await;
    assert_csv_equals_rows(&file, &march);
    // Today's CSV without parameters equals today's rows.
    let file = csv(&server, "auditor", "arrears", "").await;
    assert_csv_equals_rows(&file, &may);
}

#[tokio::test]
async fn arrears_on_a_day_after_today_are_refused() {
    let server = TestServer::start().await;
    let answer = report(
        &server,
        "auditor",
        "arrearsReport",
        ARREARS,
        json!({ "asOf": "2026-03-03" }),
    )
    .await;
    answer.assert_refused("BAD_USER_INPUT", "report.as_of");
    assert_eq!(answer.body["errors"][0]["extensions"]["field"], "asOf");
    let download = download(&server, "auditor", "arrears", "asOf=2026-03-03").await;
    assert_eq!(download.status, 400);
    assert_eq!(download.json()["errors"][0]["extensions"]["field"], "asOf");
}

#[tokio::test]
async fn invoiced_and_paid_per_property_and_month() {
    let server = TestServer::start().await;
    march_money(&server).await;
    let (rental, cooperative) = (
        property(&server, demo::RENTAL),
        property(&server, demo::COOPERATIVE),
    );
    // February and March in Helsinki.
    let (from, until) = ("2026-01-31T22:00:00Z", "2026-03-31T21:00:00Z");
    let input = json!({ "from": from, "until": until });
    let all = rows(&server, "auditor", "invoicingReport", INVOICING, input).await;
    let line = |row: &Value| {
        (
            row["propertyId"].as_str().unwrap().to_owned(),
            row["periodStart"].as_str().unwrap().to_owned(),
            ["invoices", "invoicedCents", "payments", "paidCents"]
                .map(|f| row[f].as_i64().unwrap()),
        )
    };
    let lines: Vec<_> = all.as_array().unwrap().iter().map(line).collect();
    assert_eq!(
        lines,
        vec![
            // March's invoices issued on 20 February; February paid on 3 February, with the
            // shareholder's 100,00 € extra.
            (
                cooperative.to_string(),
                "2026-02-01".to_owned(),
                [18, 630_245, 18, 640_245]
            ),
            (
                cooperative.to_string(),
                "2026-03-01".to_owned(),
                [0, 0, 0, 0]
            ),
            (
                rental.to_string(),
                "2026-02-01".to_owned(),
                [10, 913_900, 9, 913_900 - 76_900]
            ),
            (
                rental.to_string(),
                "2026-03-01".to_owned(),
                [1, 25_000, 1, 60_000]
            ),
        ]
    );
    let query = format!("from={}&until={}", q(from), q(until));
    assert_csv_equals_rows(&csv(&server, "auditor", "invoicing", &query).await, &all);

    // By week, one property: the week of 2 March holds the March money.
    let input = json!({ "from": "2026-03-01T22:00:00Z", "until": "2026-03-15T22:00:00Z", "period": "WEEK", "propertyId": rental });
    let weeks = rows(
        &server,
        "property_manager",
        "invoicingReport",
        INVOICING,
        input,
    )
    .await;
    let lines: Vec<_> = weeks.as_array().unwrap().iter().map(line).collect();
    assert_eq!(
        lines,
        vec![
            (
                rental.to_string(),
                "2026-03-02".to_owned(),
                [1, 25_000, 1, 60_000]
            ),
            (rental.to_string(), "2026-03-09".to_owned(), [0, 0, 0, 0]),
        ]
    );
    let query = format!(
        "from=2026-03-01T22%3A00%3A00Z&until=2026-03-15T22%3A00%3A00Z&period=WEEK&propertyId={rental}"
    );
    assert_csv_equals_rows(
        &csv(&server, "property_manager", "invoicing", &query).await,
        &weeks,
    );
}

#[tokio::test]
async fn prepayments_per_property_now() {
    let server = TestServer::start().await;
    march_money(&server).await;
    let all = rows(
        &server,
        "auditor",
        "prepaymentsReport",
        PREPAYMENTS,
        json!({}),
    )
    .await;
    let amounts: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["propertyName"].as_str().unwrap().to_owned(),
                r["contractsWithPrepayment"].as_i64().unwrap(),
                r["prepaymentCents"].as_i64().unwrap(),
            )
        })
        .collect();
    // The shareholder's extra went to March; the resident's 38,00 € is left over.
    assert_eq!(
        amounts,
        vec![
            (demo::COOPERATIVE.to_owned(), 0, 0),
            (demo::RENTAL.to_owned(), 1, 3_800),
        ]
    );
    assert_csv_equals_rows(&csv(&server, "auditor", "prepayments", "").await, &all);
    // The next invoice consumes it.
    server
        .as_role(
            "property_manager",
            SEPARATE,
            json!({ "input": { "idempotencyKey": key(), "contractId": contract_of(&server, "resident"),
                "lines": [{ "kind": "KEY", "description": "Avain", "amountCents": 3_000, "vatRateBp": 0 }] } }),
        )
        .await
        .data();
    let input = json!({ "propertyId": property(&server, demo::RENTAL) });
    let after = rows(
        &server,
        "customer_service",
        "prepaymentsReport",
        PREPAYMENTS,
        input,
    )
    .await;
    assert_eq!(after[0]["prepaymentCents"], 800);
    assert_eq!(after.as_array().unwrap().len(), 1);
}

const UTILISATION: &str = "propertyId propertyName resourceId resourceName kind unit slotsOffered slotsHeld utilisationPerMille";
const PARKING: &str =
    "propertyId propertyName resourceId resourceName spaces spacesHeld queueLength firstQueuedAt";

/// The token of whoever lives in the rental company's apartment `code`.
fn occupant_of(server: &TestServer, code: &str) -> (String, Uuid) {
    let apartment = server.apartment(demo::RENTAL, code);
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    let person = register
        .contracts
        .values()
        .find(|c| c.apartment_id == apartment)
        .unwrap()
        .person_id;
    (server.token_for(person), apartment)
}

/// The id of the rental company's resource named `name` (the demo defines them).
fn resource_named(server: &TestServer, name: &str) -> Uuid {
    let view = server.talo.read_models.bookings.read();
    view.of_property(server.org().organisation_id, property(server, demo::RENTAL))
        .find(|r| r.name == name)
        .unwrap()
        .resource_id
}

/// A booking mutation as the occupant of `code`; returns the booking's id.
async fn book(
    server: &TestServer,
    code: &str,
    mutation: &str,
    resource: Uuid,
    extra: Value,
) -> String {
    let (token, apartment) = occupant_of(server, code);
    let input_type = if mutation == "joinParkingQueue" {
        "JoinParkingQueueInput"
    } else {
        "BookInput"
    };
    let query = format!(
        "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ booking {{ id }} }} }}"
    );
    let input = merged(
        json!({ "idempotencyKey": key(), "resourceId": resource, "apartmentId": apartment }),
        extra,
    );
    let answer = server
        .gql(Some(&token), &query, json!({ "input": input }))
        .await;
    answer.data()[mutation]["booking"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn cancel(server: &TestServer, code: &str, resource: Uuid, booking: &str) {
    let (token, _) = occupant_of(server, code);
    server
        .gql(
            Some(&token),
            "mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { booking { id } } }",
            json!({ "input": { "idempotencyKey": key(), "resourceId": resource, "bookingId": booking } }),
        )
        .await
        .data();
}

fn at(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// The week of Monday 2 March in the rental company. The demo's A 5 has held sauna shift
/// thu-18 and parking space AP-1 since 10 February (resources defined on 31 January).
async fn booking_week(server: &TestServer) {
    let (sauna, parking, laundry) = (
        resource_named(server, "Saunavuorot"),
        resource_named(server, "Autopaikat"),
        resource_named(server, "Pesutupa"),
    );
    // Monday 2 March 10:00 local.
    book(
        server,
        "A 4",
        "bookSaunaShift",
        sauna,
        json!({ "shiftId": "tue-19" }),
    )
    .await;
    book(
        server,
        "A 4",
        "bookParkingSpace",
        parking,
        json!({ "space": "AP-2" }),
    )
    .await;
    let a6_space = book(
        server,
        "A 6",
        "bookParkingSpace",
        parking,
        json!({ "space": "AP-3" }),
    )
    .await;
    book(server, "A 7", "joinParkingQueue", parking, json!({})).await;
    // Laundry on Tuesday 18-20 local; Wednesday 7-8 booked and cancelled in advance.
    book(
        server,
        "A 4",
        "bookRoom",
        laundry,
        json!({ "startsAt": at(2026, 3, 3, 16), "endsAt": at(2026, 3, 3, 18) }),
    )
    .await;
    let early = book(
        server,
        "A 4",
        "bookRoom",
        laundry,
        json!({ "startsAt": at(2026, 3, 4, 5), "endsAt": at(2026, 3, 4, 6) }),
    )
    .await;
    cancel(server, "A 4", laundry, &early).await;
    server.clock.set(at(2026, 3, 2, 9));
    book(server, "A 8", "joinParkingQueue", parking, json!({})).await;
    // Wednesday: A 6 gives AP-3 up and it passes to A 7, first in the queue.
    server.clock.set(at(2026, 3, 4, 10));
    cancel(server, "A 6", parking, &a6_space).await;
    // Friday 19:00 local: A 6 takes that evening's fri-20.
    server.clock.set(at(2026, 3, 6, 17));
    book(
        server,
        "A 6",
        "bookSaunaShift",
        sauna,
        json!({ "shiftId": "fri-20" }),
    )
    .await;
    server.clock.set(at(2026, 3, 10, 8));
}

#[tokio::test]
async fn booking_utilisation_per_resource_over_two_weeks() {
    let server = TestServer::start().await;
    booking_week(&server).await;
    // Monday 23 February to Sunday 8 March, Helsinki.
    let (from, until) = ("2026-02-22T22:00:00Z", "2026-03-08T22:00:00Z");
    let all = rows(
        &server,
        "technical_manager",
        "bookingUtilisationReport",
        UTILISATION,
        json!({ "from": from, "until": until }),
    )
    .await;
    let lines: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resourceName"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                r["unit"].as_str().unwrap().to_owned(),
                r["slotsOffered"].as_i64().unwrap(),
                r["slotsHeld"].as_i64().unwrap(),
                r["utilisationPerMille"].clone(),
            )
        })
        .collect();
    let line = |name: &str, kind: &str, unit: &str, offered, held, rate: Value| {
        (
            name.to_owned(),
            kind.to_owned(),
            unit.to_owned(),
            offered,
            held,
            rate,
        )
    };
    assert_eq!(
        lines,
        vec![
            // Five weekly shifts × 2: thu-18 on 26 February and 5 March, tue-19 on 3 March,
            // fri-20 on 6 March.
            line("Saunavuorot", "SAUNA", "SHIFT", 10, 4, json!(400)),
            // Three spaces × 14 days: AP-1 all 14, AP-2 and AP-3 from 2 March (AP-3 passed on
            // from A 6 to A 7 on 4 March without a free day).
            line("Autopaikat", "PARKING", "SPACE_DAY", 42, 28, json!(666)),
            // 15 opening hours (7-22) × 14 days; two hours held, the cancelled one not.
            line("Pesutupa", "LAUNDRY", "HOUR", 210, 2, json!(9)),
        ]
    );
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|r| r["propertyName"] == demo::RENTAL)
    );
    let query = format!("from={}&until={}", q(from), q(until));
    assert_csv_equals_rows(
        &csv(&server, "technical_manager", "booking-utilisation", &query).await,
        &all,
    );
    // The cooperative has no resources; before the definition nothing was offered.
    let input = json!({ "from": "2026-01-01T00:00:00Z", "until": "2026-01-31T08:00:00Z" });
    let before = rows(
        &server,
        "auditor",
        "bookingUtilisationReport",
        UTILISATION,
        input,
    )
    .await;
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["slotsOffered"] == 0 && r["utilisationPerMille"].is_null())
    );
    assert_csv_equals_rows(
        &csv(
            &server,
            "auditor",
            "booking-utilisation",
            "from=2026-01-01T00%3A00%3A00Z&until=2026-01-31T08%3A00%3A00Z",
        )
        .await,
        &before,
    );
}

#[tokio::test]
async fn parking_queues_now() {
    let server = TestServer::start().await;
    booking_week(&server).await;
    let all = rows(
        &server,
        "customer_service",
        "parkingQueueReport",
        PARKING,
        json!({}),
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let row = &all[0];
    assert_eq!(
        row["resourceId"],
        json!(resource_named(&server, "Autopaikat"))
    );
    assert_eq!(
        (&row["spaces"], &row["spacesHeld"], &row["queueLength"]),
        (&json!(3), &json!(3), &json!(1))
    );
    // A 7 got AP-3; A 8 has waited since 2 March 09:00 UTC.
    assert_eq!(row["firstQueuedAt"], "2026-03-02T09:00:00+00:00");
    assert_csv_equals_rows(
        &csv(&server, "customer_service", "parking-queues", "").await,
        &all,
    );
    let cooperative = json!({ "propertyId": property(&server, demo::COOPERATIVE) });
    let none = rows(
        &server,
        "auditor",
        "parkingQueueReport",
        PARKING,
        cooperative,
    )
    .await;
    assert_eq!(none, json!([]));
}

const READS: &str = "announcementId propertyId propertyName title category publishAt withdrawn audience readers readPerMille";
const DELIVERY: &str = "propertyId propertyName channel notifications delivered gaveUp attempts failedAttempts failurePerMille";
const OFFERS: &str = "propertyId propertyName made accepted declined expired acceptedPerMille";

const PUBLISH: &str = "mutation($input: PublishAnnouncementInput!) { publishAnnouncement(input: $input) { announcement { id } } }";

async fn publish(server: &TestServer, title: &str, targets: Value) -> Value {
    let input = json!({ "idempotencyKey": key(), "title": title, "body": "Tiedote", "category": "MAINTENANCE", "targets": targets });
    server
        .as_role("property_manager", PUBLISH, json!({ "input": input }))
        .await
        .data()["publishAnnouncement"]["announcement"]["id"]
        .clone()
}

/// Monday 2 March: at 08:00 UTC one announcement to both properties, read by two in each; at
/// 09:00 one to the rental company's building B (only B 11 lives there), withdrawn the next day
/// unread.
async fn announcement_week(server: &TestServer) -> (Value, Value) {
    let (rental, cooperative) = (
        property(server, demo::RENTAL),
        property(server, demo::COOPERATIVE),
    );
    let both = publish(
        server,
        "Saunaremontti",
        json!([{ "propertyId": rental }, { "propertyId": cooperative }]),
    )
    .await;
    let building_b = {
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        register.apartments[&server.apartment(demo::RENTAL, "B 11")].building_id
    };
    server.clock.set(at(2026, 3, 2, 9));
    let stairs = publish(
        server,
        "Porraskäytävä B",
        json!([{ "propertyId": rental, "buildingId": building_b }]),
    )
    .await;
    let read = "mutation($input: AnnouncementStepInput!) { markAnnouncementRead(input: $input) { announcement { readByMe } } }";
    for role in ["resident", "neighbour", "shareholder", "board_chair"] {
        server
            .as_role(
                role,
                read,
                json!({ "input": { "idempotencyKey": key(), "announcementId": both } }),
            )
            .await
            .data();
    }
    server.clock.set(at(2026, 3, 3, 8));
    server
        .as_role(
            "property_manager",
            "mutation($input: AnnouncementStepInput!) { withdrawAnnouncement(input: $input) { announcement { id } } }",
            json!({ "input": { "idempotencyKey": key(), "announcementId": stairs, "reason": "Peruttu" } }),
        )
        .await
        .data();
    (both, stairs)
}

#[tokio::test]
async fn announcement_read_rates_per_targeted_property() {
    let server = TestServer::start().await;
    let (both, stairs) = announcement_week(&server).await;
    // The week of 2 March; the demo's water outage was published on 1 March.
    let (from, until) = ("2026-03-01T22:00:00Z", "2026-03-08T22:00:00Z");
    let all = rows(
        &server,
        "customer_service",
        "announcementReadsReport",
        READS,
        json!({ "from": from, "until": until }),
    )
    .await;
    let lines: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["announcementId"].clone(),
                r["propertyName"].as_str().unwrap().to_owned(),
                r["withdrawn"].as_bool().unwrap(),
                r["audience"].as_i64().unwrap(),
                r["readers"].as_i64().unwrap(),
                r["readPerMille"].clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            // Ten leases in the rental company, eighteen shareholdings in the cooperative.
            (
                both.clone(),
                demo::RENTAL.to_owned(),
                false,
                10,
                2,
                json!(200)
            ),
            (
                both.clone(),
                demo::COOPERATIVE.to_owned(),
                false,
                18,
                2,
                json!(111)
            ),
            (
                stairs.clone(),
                demo::RENTAL.to_owned(),
                true,
                1,
                0,
                json!(0)
            ),
        ]
    );
    assert_eq!(all[0]["title"], "Saunaremontti");
    assert_eq!(all[0]["category"], "MAINTENANCE");
    assert_eq!(all[0]["publishAt"], "2026-03-02T08:00:00+00:00");
    let query = format!("from={}&until={}", q(from), q(until));
    assert_csv_equals_rows(
        &csv(&server, "customer_service", "announcement-reads", &query).await,
        &all,
    );
    // The demo's outage is the only one published the day before.
    let input = json!({ "from": "2026-02-28T22:00:00Z", "until": "2026-03-01T22:00:00Z" });
    let before = rows(&server, "auditor", "announcementReadsReport", READS, input).await;
    assert_eq!(before.as_array().unwrap().len(), 1);
    assert_eq!(before[0]["title"], "Vesikatko A-rapussa");
}

#[tokio::test]
async fn housing_offers_made_and_how_they_ended() {
    let server = TestServer::start().await;
    let apply = "mutation($input: FileHousingApplicationInput!) { fileHousingApplication(input: $input) { application { id } } }";
    // Each offer goes to an application of its own: an application gets one offer at a time.
    let offer = |code: &'static str, answer_by| {
        let server = &server;
        async move {
            let input = json!({ "idempotencyKey": key(), "householdSize": 2, "desiredAreas": ["Herttoniemi"], "apartmentTypes": ["2h+k"], "maxRentCents": 95000, "moveInFrom": "2026-04-01" });
            let application = server
                .as_role("applicant", apply, json!({ "input": input }))
                .await
                .data()["fileHousingApplication"]["application"]["id"]
                .clone();
            let input = json!({ "idempotencyKey": key(), "applicationId": application, "apartmentId": server.apartment(demo::RENTAL, code), "monthlyRentCents": 89000, "leaseStartsOn": "2026-04-01", "answerBy": answer_by });
            server
                .as_role(
                    "customer_service",
                    "mutation($input: MakeHousingOfferInput!) { makeHousingOffer(input: $input) { offer { id } } }",
                    json!({ "input": input }),
                )
                .await
                .data()["makeHousingOffer"]["offer"]["id"]
                .clone()
        }
    };
    let step = |role: &'static str, mutation: &'static str, offer: Value| {
        let server = &server;
        async move {
            let query = format!(
                "mutation($input: HousingOfferStepInput!) {{ {mutation}(input: $input) {{ offer {{ status }} }} }}"
            );
            server
                .as_role(role, &query, json!({ "input": { "idempotencyKey": key(), "offerId": offer, "reason": "Liian kaukana" } }))
                .await
                .data()[mutation]["offer"]["status"]
                .clone()
        }
    };
    // Monday 2 March: three offers of vacant apartments.
    let accepted = offer("A 1", at(2026, 3, 5, 8)).await;
    let declined = offer("B 12", at(2026, 3, 5, 8)).await;
    let expired = offer("B 13", at(2026, 3, 4, 8)).await;
    server.clock.set(at(2026, 3, 3, 8));
    assert_eq!(
        step("applicant", "acceptHousingOffer", accepted).await,
        "ACCEPTED"
    );
    assert_eq!(
        step("applicant", "declineHousingOffer", declined).await,
        "DECLINED"
    );
    // Its deadline passed on 4 March; the office records it on the 6th.
    server.clock.set(at(2026, 3, 6, 8));
    assert_eq!(
        step("customer_service", "expireHousingOffer", expired).await,
        "EXPIRED"
    );
    // A fourth on 10 March, due 13 March and left unanswered, its expiry not recorded.
    server.clock.set(at(2026, 3, 10, 8));
    offer("B 14", at(2026, 3, 13, 8)).await;
    server.clock.set(at(2026, 3, 14, 8));

    let line = |r: &Value| {
        (
            r["propertyName"].as_str().unwrap().to_owned(),
            ["made", "accepted", "declined", "expired"].map(|f| r[f].as_i64().unwrap()),
            r["acceptedPerMille"].clone(),
        )
    };
    let (from, until) = ("2026-03-01T22:00:00Z", "2026-03-08T22:00:00Z");
    let first = rows(
        &server,
        "customer_service",
        "housingOffersReport",
        OFFERS,
        json!({ "from": from, "until": until }),
    )
    .await;
    let lines: Vec<_> = first.as_array().unwrap().iter().map(line).collect();
    assert_eq!(
        lines,
        vec![
            (demo::COOPERATIVE.to_owned(), [0, 0, 0, 0], Value::Null),
            (demo::RENTAL.to_owned(), [3, 1, 1, 1], json!(333)),
        ]
    );
    let query = format!("from={}&until={}", q(from), q(until));
    assert_csv_equals_rows(
        &csv(&server, "customer_service", "housing-offers", &query).await,
        &first,
    );
    let input = json!({ "from": "2026-03-08T22:00:00Z", "until": "2026-03-15T22:00:00Z", "propertyId": property(&server, demo::RENTAL) });
    let second = rows(&server, "auditor", "housingOffersReport", OFFERS, input).await;
    let lines: Vec<_> = second.as_array().unwrap().iter().map(line).collect();
    assert_eq!(
        lines,
        vec![(demo::RENTAL.to_owned(), [1, 0, 0, 1], json!(0))]
    );
}

/// Delivers SMS; fails email while `failing_email` is set.
#[derive(Default)]
struct EmailDown {
    failing_email: std::sync::Mutex<bool>,
}

impl talo_api::notifier::Transport for EmailDown {
    fn deliver(&self, n: &talo_api::notifier::Outgoing) -> Result<(), String> {
        let email = n.channel == talo_events_schema::notification::NotificationChannel::Email;
        if email && *self.failing_email.lock().unwrap() {
            return Err("mail server unreachable".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn notification_delivery_per_property_and_channel() {
    let transport = std::sync::Arc::new(EmailDown::default());
    *transport.failing_email.lock().unwrap() = true;
    let server = TestServer::with_notifications(transport.clone()).await;
    // Tuesday 3 March: the resident's fault report is acknowledged, which is told to them by
    // SMS and email; email fails once and goes through on the retry a minute later.
    server.clock.set(at(2026, 3, 3, 8));
    let id = report_as_resident(&server).await;
    step(
        &server,
        "customer_service",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        &id,
        json!({}),
    )
    .await
    .data();
    let resident = server.org().person("resident");
    let statuses = || {
        let view = server.talo.read_models.notifications.read();
        let mut statuses: Vec<String> = view
            .for_person(server.org().organisation_id, resident)
            .iter()
            .filter(|n| n.queued_at == at(2026, 3, 3, 8))
            .map(|n| format!("{:?} {:?} {}", n.channel, n.status, n.attempts))
            .collect();
        statuses.sort();
        statuses
    };
    server
        .eventually("SMS delivered, email failed", || {
            statuses() == ["Email Failed 1", "Sms Delivered 1"]
        })
        .await;
    *transport.failing_email.lock().unwrap() = false;
    server
        .clock
        .set(at(2026, 3, 3, 8) + chrono::Duration::minutes(2));
    server
        .eventually("email delivered", || {
            statuses() == ["Email Delivered 2", "Sms Delivered 1"]
        })
        .await;
    let (from, until) = ("2026-03-02T22:00:00Z", "2026-03-03T22:00:00Z");
    let all = rows(
        &server,
        "auditor",
        "notificationDeliveryReport",
        DELIVERY,
        json!({ "from": from, "until": until }),
    )
    .await;
    let lines: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["propertyName"].clone(),
                r["channel"].as_str().unwrap().to_owned(),
                [
                    "notifications",
                    "delivered",
                    "gaveUp",
                    "attempts",
                    "failedAttempts",
                ]
                .map(|f| r[f].as_i64().unwrap()),
                r["failurePerMille"].clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                json!(demo::RENTAL),
                "SMS".to_owned(),
                [1, 1, 0, 1, 0],
                json!(0)
            ),
            (
                json!(demo::RENTAL),
                "EMAIL".to_owned(),
                [1, 1, 0, 2, 1],
                json!(500)
            ),
        ]
    );
    assert_eq!(all[0]["propertyId"], json!(property(&server, demo::RENTAL)));
    let query = format!("from={}&until={}", q(from), q(until));
    assert_csv_equals_rows(
        &csv(&server, "auditor", "notification-delivery", &query).await,
        &all,
    );
    let input =
        json!({ "from": from, "until": until, "propertyId": property(&server, demo::COOPERATIVE) });
    let none = rows(
        &server,
        "auditor",
        "notificationDeliveryReport",
        DELIVERY,
        input,
    )
    .await;
    assert_eq!(none, json!([]));
}

/// Every report with a valid input, as GraphQL field, GraphQL input and CSV query string.
fn every_report() -> Vec<(&'static str, &'static str, Value, String)> {
    let range = json!({ "from": "2026-03-01T22:00:00Z", "until": "2026-03-08T22:00:00Z" });
    let query = "from=2026-03-01T22%3A00%3A00Z&until=2026-03-08T22%3A00%3A00Z".to_owned();
    vec![
        ("arrearsReport", "arrears", json!({}), String::new()),
        ("invoicingReport", "invoicing", range.clone(), query.clone()),
        ("prepaymentsReport", "prepayments", json!({}), String::new()),
        (
            "bookingUtilisationReport",
            "booking-utilisation",
            range.clone(),
            query.clone(),
        ),
        (
            "parkingQueueReport",
            "parking-queues",
            json!({}),
            String::new(),
        ),
        (
            "announcementReadsReport",
            "announcement-reads",
            range.clone(),
            query.clone(),
        ),
        (
            "notificationDeliveryReport",
            "notification-delivery",
            range.clone(),
            query.clone(),
        ),
        ("housingOffersReport", "housing-offers", range, query),
    ]
}

#[tokio::test]
async fn residents_boards_and_contractors_are_refused_every_report() {
    let server = TestServer::start().await;
    for role in ["resident", "board_chair", "contractor"] {
        for (field, name, input, query) in every_report() {
            let answer = report(&server, role, field, "__typename", input).await;
            assert_eq!(answer.code(), "FORBIDDEN", "{role} {field}");
            let download = download(&server, role, name, &query).await;
            assert_eq!(download.status, 403, "{role} {name}");
            assert_eq!(download.code(), "FORBIDDEN");
        }
    }
    // Office staff and auditors read them all.
    for role in [
        "property_manager",
        "technical_manager",
        "customer_service",
        "auditor",
    ] {
        for (field, name, input, query) in every_report() {
            report(&server, role, field, "__typename", input)
                .await
                .data();
            csv(&server, role, name, &query).await;
        }
    }
}

#[tokio::test]
async fn a_manager_of_one_property_sees_only_its_rows() {
    use talo_events_schema::register::StaffRole;
    let server = TestServer::start().await;
    announcement_week(&server).await;
    let (rental, cooperative) = (
        property(&server, demo::RENTAL),
        property(&server, demo::COOPERATIVE),
    );
    let person_id = server
        .staff_of_property("Kaija Koivukuja", StaffRole::PropertyManager, cooperative)
        .await;
    let token = server.token_for(person_id);
    let ask = |field: &'static str, fields: &'static str, input: Value| {
        let token = token.clone();
        let server = &server;
        async move {
            let input_type = format!("{}Input", field[..1].to_uppercase() + &field[1..]);
            let query =
                format!("query($input: {input_type}!) {{ {field}(input: $input) {{ {fields} }} }}");
            server
                .gql(Some(&token), &query, json!({ "input": input }))
                .await
                .data()[field]
                .clone()
        }
    };
    let arrears = ask("arrearsReport", ARREARS, json!({})).await;
    assert_eq!(arrears.as_array().unwrap().len(), 1);
    assert_eq!(arrears[0]["propertyId"], json!(cooperative));
    let answer = server
        .request("GET", "/reports/arrears.csv", Some(&token), None, vec![])
        .await;
    assert_csv_equals_rows(std::str::from_utf8(&answer.bytes).unwrap(), &arrears);
    // Asking for the other property gives nothing rather than its numbers.
    let other = ask(
        "prepaymentsReport",
        PREPAYMENTS,
        json!({ "propertyId": rental }),
    )
    .await;
    assert_eq!(other, json!([]));
    // The property's own numbers are summed over its contracts alone, as the auditor's row
    // for it shows them.
    let february = json!({ "from": "2026-01-31T22:00:00Z", "until": "2026-02-28T22:00:00Z" });
    let own = ask("invoicingReport", INVOICING, february.clone()).await;
    let everyone = rows(&server, "auditor", "invoicingReport", INVOICING, february).await;
    let auditors: Vec<&Value> = everyone
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["propertyId"] == json!(cooperative))
        .collect();
    assert_eq!(own.as_array().unwrap().iter().collect::<Vec<_>>(), auditors);
    assert!(own[0]["invoices"].as_u64().unwrap() > 0, "{own}");
    let range = json!({ "from": "2026-03-01T22:00:00Z", "until": "2026-03-08T22:00:00Z" });
    let reads = ask("announcementReadsReport", READS, range.clone()).await;
    assert_eq!(reads.as_array().unwrap().len(), 1);
    assert_eq!(reads[0]["propertyId"], json!(cooperative));
    assert_eq!(reads[0]["audience"], 18);
    let offers = ask("housingOffersReport", OFFERS, range).await;
    assert_eq!(offers.as_array().unwrap().len(), 1);
    assert_eq!(offers[0]["propertyName"], demo::COOPERATIVE);
}

#[tokio::test]
async fn a_range_ending_before_it_starts_is_refused_by_name() {
    let server = TestServer::start().await;
    let backwards = json!({ "from": "2026-03-08T22:00:00Z", "until": "2026-03-01T22:00:00Z" });
    for (field, name, input, _) in every_report() {
        if input.get("from").is_none() {
            continue;
        }
        let answer = report(&server, "auditor", field, "__typename", backwards.clone()).await;
        answer.assert_refused("BAD_USER_INPUT", "report.range");
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], "until",
            "{field}"
        );
        let download = download(
            &server,
            "auditor",
            name,
            "from=2026-03-08T22%3A00%3A00Z&until=2026-03-01T22%3A00%3A00Z",
        )
        .await;
        assert_eq!(download.status, 400, "{name}");
        let extensions = &download.json()["errors"][0]["extensions"];
        assert_eq!(
            (&extensions["field"], &extensions["rule"]),
            (&json!("until"), &json!("report.range")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_malformed_or_missing_csv_parameter_is_refused_by_name() {
    let server = TestServer::start().await;
    let cases = [
        (
            "housing-offers",
            "from=last-monday&until=2026-03-08T22%3A00%3A00Z",
            "from",
        ),
        ("invoicing", "from=2026-03-01T22%3A00%3A00Z", "until"),
        (
            "invoicing",
            "from=2026-03-01T22%3A00%3A00Z&until=2026-03-08T22%3A00%3A00Z&period=DAY",
            "period",
        ),
        ("arrears", "asOf=1.3.2026", "asOf"),
        ("prepayments", "propertyId=koivukuja", "propertyId"),
    ];
    for (name, query, field) in cases {
        let download = download(&server, "auditor", name, query).await;
        assert_eq!(download.status, 400, "{name}?{query}");
        let extensions = &download.json()["errors"][0]["extensions"];
        assert_eq!(
            (&extensions["field"], &extensions["rule"]),
            (&json!(field), &json!("query.format")),
            "{name}?{query}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The document archive.

const DOCUMENT_FIELDS: &str =
    "propertyId propertyName category added newVersions bytesAdded withdrawn liveAtEnd";

async fn upload_minutes(server: &TestServer, bytes: &[u8]) -> String {
    let path = format!(
        "/documents?propertyId={}&title=Pöytäkirja&category=minutes&audience=all_residents&filename=poytakirja.pdf&idempotencyKey={}",
        property(server, demo::COOPERATIVE),
        key()
    );
    let answer = server
        .request(
            "POST",
            &path.replace('ö', "%C3%B6").replace('ä', "%C3%A4"),
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            bytes.to_vec(),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    answer.json()["documentId"].as_str().unwrap().to_owned()
}

fn minutes_of(rows: &Value, property: Uuid) -> Option<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["propertyId"] == json!(property) && r["category"] == "MINUTES")
        .cloned()
}

#[tokio::test]
async fn the_archive_per_property_and_category_over_a_range() {
    let server = TestServer::start().await;
    let cooperative = property(&server, demo::COOPERATIVE);
    let start = server.clock.now_utc();
    let before = rows(
        &server,
        "property_manager",
        "documentsReport",
        DOCUMENT_FIELDS,
        json!({ "from": "2020-01-01T00:00:00Z", "until": start }),
    )
    .await;
    let live_before =
        minutes_of(&before, cooperative).map_or(0, |r| r["liveAtEnd"].as_u64().unwrap());

    server.clock.advance(chrono::Duration::hours(1));
    let kept = upload_minutes(&server, b"%PDF-1.4 kevatkokous 2026").await; // 25 bytes
    let dropped = upload_minutes(&server, b"%PDF-1.4 luonnos").await; // 16 bytes
    let version = server
        .request(
            "POST",
            &format!("/documents/{kept}/versions?filename=poytakirja-v2.pdf"),
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            b"%PDF-1.4 v2".to_vec(),
        )
        .await; // 11 bytes
    assert_eq!(version.status, 201);
    server
        .as_role("property_manager", "mutation($input: WithdrawDocumentInput!) { withdrawDocument(input: $input) { document { withdrawn } } }", json!({ "input": { "idempotencyKey": key(), "documentId": dropped, "reason": "Luonnos" } }))
        .await
        .data();

    let input = json!({ "from": start, "until": start + chrono::Duration::days(1), "propertyId": cooperative });
    let after = rows(
        &server,
        "property_manager",
        "documentsReport",
        DOCUMENT_FIELDS,
        input.clone(),
    )
    .await;
    assert_eq!(
        minutes_of(&after, cooperative).unwrap(),
        json!({ "propertyId": cooperative, "propertyName": demo::COOPERATIVE, "category": "MINUTES", "added": 2, "newVersions": 1, "bytesAdded": 52, "withdrawn": 1, "liveAtEnd": live_before + 1 })
    );
    let query = format!(
        "from={}&until={}&propertyId={cooperative}",
        q(input["from"].as_str().unwrap()),
        q(input["until"].as_str().unwrap())
    );
    assert_csv_equals_rows(
        &csv(&server, "property_manager", "documents", &query).await,
        &after,
    );
    report(
        &server,
        "resident",
        "documentsReport",
        DOCUMENT_FIELDS,
        input,
    )
    .await
    .assert_refused("FORBIDDEN", "report.forbidden");
}
