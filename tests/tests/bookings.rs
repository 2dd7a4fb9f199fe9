//! Bookings through GraphQL: one holder per sauna shift even when two apartments book at the
//! same instant, every limit refused with its code and rule, parking charges in the contract's
//! ledger, the parking queue, and the demo's resources.

use serde_json::{Value, json};
use talo_api::demo;
use talo_events_schema::{DomainEvent, streams};
use talo_store::{Direction, StreamFrom};
use talo_tests::*;
use uuid::Uuid;

const RESOURCES: &str = r#"query($p: UUID!) { bookableResources(propertyId: $p) { id name kind priceCents queueLength
    shifts { shiftId free mine nextStartsAt } spaces { space free mine } } }"#;

const BOOKING_FIELDS: &str =
    "id status shiftId space startsOn startsAt endsAt priceCents apartmentCode queuePosition";

fn book(mutation: &str) -> String {
    format!(
        "mutation($input: BookInput!) {{ {mutation}(input: $input) {{ replayed booking {{ {BOOKING_FIELDS} }} }} }}"
    )
}

fn join_queue() -> String {
    format!(
        "mutation($input: JoinParkingQueueInput!) {{ joinParkingQueue(input: $input) {{ booking {{ {BOOKING_FIELDS} }} }} }}"
    )
}

fn cancel() -> String {
    format!(
        "mutation($input: CancelBookingInput!) {{ cancelBooking(input: $input) {{ booking {{ {BOOKING_FIELDS} }} }} }}"
    )
}

/// The id of the demo rental property's resource named `name`.
async fn resource(server: &TestServer, name: &str) -> String {
    let answer = server
        .as_role(
            "resident",
            RESOURCES,
            json!({ "p": server.org().properties[demo::RENTAL] }),
        )
        .await;
    answer.data()["bookableResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no resource {name}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn input(resource_id: &str, apartment: Uuid, extra: Value) -> Value {
    json!({ "input": merged(json!({ "idempotencyKey": key(), "resourceId": resource_id, "apartmentId": apartment }), extra) })
}

/// The charge-line events bookings wrote to a contract's ledger (which also holds the office's
/// own charge lines, invoices and payments).
async fn ledger(server: &TestServer, contract_id: Uuid) -> Vec<DomainEvent> {
    server
        .talo
        .store
        .read_stream(
            &streams::ledger(contract_id),
            Direction::Forwards,
            StreamFrom::Start,
            100,
        )
        .await
        .unwrap()
        .iter()
        .map(|e| {
            DomainEvent::from_json_text(&e.event_type, e.schema_version, e.payload.as_str())
                .unwrap()
        })
        .filter(|e| match e {
            DomainEvent::ChargeLineAdded(added) => added.booking_id.is_some(),
            DomainEvent::ChargeLineEnded(_) => true,
            _ => false,
        })
        .collect()
}

fn lease_of(server: &TestServer, person: Uuid) -> Uuid {
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    register
        .contracts
        .values()
        .find(|c| c.person_id == person)
        .unwrap()
        .contract_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apartments_booking_one_sauna_shift_at_once_end_with_exactly_one_holder() {
    let server = TestServer::start().await;
    let sauna = resource(&server, "Saunavuorot").await;
    let newcomer = server.move_in(server.apartment(demo::RENTAL, "B 11")).await;
    let newcomer_token = server.token_for(newcomer);
    let query = book("bookSaunaShift");
    let resident = server.as_role(
        "resident",
        &query,
        input(
            &sauna,
            server.apartment(demo::RENTAL, "A 4"),
            json!({ "shiftId": "tue-18" }),
        ),
    );
    let other = server.gql(
        Some(&newcomer_token),
        &query,
        input(
            &sauna,
            server.apartment(demo::RENTAL, "B 11"),
            json!({ "shiftId": "tue-18" }),
        ),
    );
    let (a, b) = tokio::join!(resident, other);
    let answers = [a, b];
    let won: Vec<_> = answers
        .iter()
        .filter(|g| g.body.get("errors").is_none_or(Value::is_null))
        .collect();
    assert_eq!(won.len(), 1, "exactly one wins: {answers:#?}");
    let lost = answers
        .iter()
        .find(|g| !g.body.get("errors").is_none_or(Value::is_null))
        .unwrap();
    lost.assert_refused("CONFLICT", "booking.slot_taken");
    let listed = server
        .as_role(
            "resident",
            RESOURCES,
            json!({ "p": server.org().properties[demo::RENTAL] }),
        )
        .await;
    let sauna_node = listed.data()["bookableResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Saunavuorot")
        .unwrap()
        .clone();
    let tue = sauna_node["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shiftId"] == "tue-18")
        .unwrap();
    assert_eq!(tue["free"], false);
    // Tuesday 3 March 18:00 in Helsinki is 16:00 UTC.
    assert_eq!(tue["nextStartsAt"], "2026-03-03T16:00:00+00:00");
}

#[tokio::test]
async fn every_limit_is_refused_with_its_code_and_rule() {
    let server = TestServer::start().await;
    let laundry = resource(&server, "Pesutupa").await;
    let sauna = resource(&server, "Saunavuorot").await;
    let home = server.apartment(demo::RENTAL, "A 4");
    let room = book("bookRoom");
    // The clock is 10:00 in Helsinki (08:00 UTC) on Monday 2 March; the laundry takes
    // bookings 7 days ahead, two at a time, cancellable until 3 hours before.
    let too_far = server
        .as_role(
            "resident",
            &room,
            input(
                &laundry,
                home,
                json!({ "startsAt": "2026-03-10T08:00:00Z", "endsAt": "2026-03-10T09:00:00Z" }),
            ),
        )
        .await;
    too_far.assert_refused("BAD_USER_INPUT", "booking.too_far_ahead");
    assert_eq!(too_far.body["errors"][0]["extensions"]["field"], "startsAt");
    let outside = server
        .as_role(
            "resident",
            &room,
            input(
                &laundry,
                home,
                json!({ "startsAt": "2026-03-03T21:00:00Z", "endsAt": "2026-03-03T22:00:00Z" }),
            ),
        )
        .await;
    outside.assert_refused("BAD_USER_INPUT", "booking.outside_hours");
    let soon = server
        .as_role(
            "resident",
            &room,
            input(
                &laundry,
                home,
                json!({ "startsAt": "2026-03-02T09:00:00Z", "endsAt": "2026-03-02T10:00:00Z" }),
            ),
        )
        .await;
    let soon_id = soon.data()["bookRoom"]["booking"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .as_role(
            "resident",
            &room,
            input(
                &laundry,
                home,
                json!({ "startsAt": "2026-03-04T09:00:00Z", "endsAt": "2026-03-04T10:00:00Z" }),
            ),
        )
        .await
        .data();
    server
        .as_role(
            "resident",
            &room,
            input(
                &laundry,
                home,
                json!({ "startsAt": "2026-03-05T09:00:00Z", "endsAt": "2026-03-05T10:00:00Z" }),
            ),
        )
        .await
        .assert_refused("CONFLICT", "booking.too_many");
    server
        .as_role(
            "neighbour",
            &room,
            input(
                &laundry,
                server.apartment(demo::RENTAL, "A 5"),
                json!({ "startsAt": "2026-03-04T09:00:00Z", "endsAt": "2026-03-04T11:00:00Z" }),
            ),
        )
        .await
        .assert_refused("CONFLICT", "booking.slot_taken");
    server
        .as_role("resident", &cancel(), json!({ "input": { "idempotencyKey": key(), "resourceId": laundry, "bookingId": soon_id } }))
        .await
        .assert_refused("CONFLICT", "booking.cancel_deadline_passed");
    server
        .as_role("neighbour", &cancel(), json!({ "input": { "idempotencyKey": key(), "resourceId": laundry, "bookingId": soon_id } }))
        .await
        .assert_refused("FORBIDDEN", "booking.not_own");
    // A shareholder of the other property, and a resident booking for someone else's home.
    server
        .as_role(
            "shareholder",
            &book("bookSaunaShift"),
            input(
                &sauna,
                server.apartment(demo::COOPERATIVE, "B 12"),
                json!({ "shiftId": "tue-19" }),
            ),
        )
        .await
        .assert_refused("FORBIDDEN", "booking.not_resident");
    server
        .as_role(
            "resident",
            &book("bookSaunaShift"),
            input(
                &sauna,
                server.apartment(demo::RENTAL, "A 5"),
                json!({ "shiftId": "tue-19" }),
            ),
        )
        .await
        .assert_refused("FORBIDDEN", "booking.not_resident");
    server
        .as_role(
            "resident",
            &book("bookSaunaShift"),
            input(&sauna, home, json!({ "shiftId": "thu-18" })),
        )
        .await
        .assert_refused("CONFLICT", "booking.slot_taken");
    server
        .as_role(
            "resident",
            &book("bookSaunaShift"),
            input(&sauna, home, json!({ "shiftId": "sun-07" })),
        )
        .await
        .assert_refused("NOT_FOUND", "booking.unknown_shift");
    server
        .as_role(
            "resident",
            &book("bookSaunaShift"),
            input(&sauna, home, json!({})),
        )
        .await
        .assert_refused("BAD_USER_INPUT", "booking.field_required");
    server
        .as_role(
            "auditor",
            &book("bookSaunaShift"),
            input(&sauna, home, json!({ "shiftId": "tue-19" })),
        )
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    // The hours of the day show what is taken.
    let hours = server
        .as_role("resident", "query($r: UUID!) { roomAvailability(resourceId: $r, date: \"2026-03-04\") { startsAt free } }", json!({ "r": laundry }))
        .await;
    let hours = hours.data()["roomAvailability"].as_array().unwrap().clone();
    assert_eq!(hours.len(), 15, "07:00-22:00");
    assert_eq!(
        hours[4],
        json!({ "startsAt": "2026-03-04T09:00:00+00:00", "free": false })
    );
    assert_eq!(hours[5]["free"], true);
}

#[tokio::test]
async fn a_parking_space_adds_its_monthly_charge_to_the_lease_and_cancelling_ends_it() {
    let server = TestServer::start().await;
    let parking = resource(&server, "Autopaikat").await;
    let home = server.apartment(demo::RENTAL, "A 4");
    let booked = server
        .as_role(
            "resident",
            &book("bookParkingSpace"),
            input(&parking, home, json!({})),
        )
        .await;
    let booking = booked.data()["bookParkingSpace"]["booking"].clone();
    assert_eq!(
        (booking["space"].as_str(), booking["priceCents"].as_i64()),
        (Some("AP-2"), Some(3500))
    );
    let booking_id: Uuid = booking["id"].as_str().unwrap().parse().unwrap();
    let lease = lease_of(&server, server.org().person("resident"));
    let events = ledger(&server, lease).await;
    let [DomainEvent::ChargeLineAdded(added)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            added.contract_id,
            added.charge_line_id,
            added.monthly_amount_cents,
            added.booking_id
        ),
        (lease, booking_id, 3500, Some(booking_id))
    );
    assert_eq!(added.kind, talo_events_schema::ledger::ChargeKind::Parking);
    assert_eq!(added.starts_on.to_string(), "2026-03-02");

    server.clock.advance(chrono::Duration::days(3));
    server
        .as_role("resident", &cancel(), json!({ "input": { "idempotencyKey": key(), "resourceId": parking, "bookingId": booking_id } }))
        .await
        .data();
    let events = ledger(&server, lease).await;
    let [_, DomainEvent::ChargeLineEnded(ended)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (ended.charge_line_id, ended.ends_on.to_string()),
        (booking_id, "2026-03-31".to_owned())
    );
}

#[tokio::test]
async fn a_retried_booking_books_and_charges_once() {
    let server = TestServer::start().await;
    let parking = resource(&server, "Autopaikat").await;
    let variables = input(&parking, server.apartment(demo::RENTAL, "A 4"), json!({}));
    let first = server
        .as_role("resident", &book("bookParkingSpace"), variables.clone())
        .await;
    let again = server
        .as_role("resident", &book("bookParkingSpace"), variables)
        .await;
    assert_eq!(again.data()["bookParkingSpace"]["replayed"], true);
    assert_eq!(
        first.data()["bookParkingSpace"]["booking"]["id"],
        again.data()["bookParkingSpace"]["booking"]["id"]
    );
    let lease = lease_of(&server, server.org().person("resident"));
    assert_eq!(ledger(&server, lease).await.len(), 1);
}

#[tokio::test]
async fn the_first_in_the_parking_queue_gets_the_freed_space_automatically() {
    let server = TestServer::start().await;
    let parking = resource(&server, "Autopaikat").await;
    let home = server.apartment(demo::RENTAL, "A 4");
    let resident_booking = server
        .as_role(
            "resident",
            &book("bookParkingSpace"),
            input(&parking, home, json!({ "space": "AP-2" })),
        )
        .await;
    let resident_booking = resident_booking.data()["bookParkingSpace"]["booking"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b11 = server.apartment(demo::RENTAL, "B 11");
    let first = server.move_in(b11).await;
    let first_token = server.token_for(first);
    server
        .gql(
            Some(&first_token),
            &book("bookParkingSpace"),
            input(&parking, b11, json!({ "space": "AP-3" })),
        )
        .await
        .data();
    let b12 = server.apartment(demo::RENTAL, "B 12");
    let waiting = server.move_in(b12).await;
    let waiting_token = server.token_for(waiting);
    server
        .gql(
            Some(&waiting_token),
            &book("bookParkingSpace"),
            input(&parking, b12, json!({})),
        )
        .await
        .assert_refused("CONFLICT", "booking.none_free");
    server
        .gql(
            Some(&waiting_token),
            &book("bookParkingSpace"),
            input(&parking, b12, json!({ "space": "AP-1" })),
        )
        .await
        .assert_refused("CONFLICT", "booking.slot_taken");
    let queued = server
        .gql(
            Some(&waiting_token),
            &join_queue(),
            input(&parking, b12, json!({})),
        )
        .await;
    let queued = queued.data()["joinParkingQueue"]["booking"].clone();
    assert_eq!(
        (queued["status"].as_str(), queued["queuePosition"].as_i64()),
        (Some("QUEUED"), Some(1))
    );
    server
        .gql(
            Some(&waiting_token),
            &join_queue(),
            input(&parking, b12, json!({})),
        )
        .await
        .assert_refused("CONFLICT", "booking.already_queued");
    let queue = server
        .as_role(
            "customer_service",
            &format!("query($r: UUID!) {{ parkingQueue(resourceId: $r) {{ {BOOKING_FIELDS} }} }}"),
            json!({ "r": parking }),
        )
        .await;
    assert_eq!(queue.data()["parkingQueue"].as_array().unwrap().len(), 1);
    server
        .as_role(
            "resident",
            "query($r: UUID!) { parkingQueue(resourceId: $r) { id } }",
            json!({ "r": parking }),
        )
        .await
        .assert_refused("FORBIDDEN", "booking.office_only");

    server
        .as_role("resident", &cancel(), json!({ "input": { "idempotencyKey": key(), "resourceId": parking, "bookingId": resident_booking } }))
        .await
        .data();
    let mine = server
        .gql(
            Some(&waiting_token),
            &format!("{{ myBookings {{ {BOOKING_FIELDS} }} }}"),
            json!({}),
        )
        .await;
    let mine = mine.data()["myBookings"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (
            mine[0]["status"].as_str(),
            mine[0]["space"].as_str(),
            mine[0]["startsOn"].as_str()
        ),
        (Some("ACTIVE"), Some("AP-2"), Some("2026-04-01"))
    );
    let events = ledger(&server, lease_of(&server, waiting)).await;
    let [DomainEvent::ChargeLineAdded(added)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (added.starts_on.to_string(), added.monthly_amount_cents),
        ("2026-04-01".to_owned(), 3500)
    );
}

#[tokio::test]
async fn the_demo_has_a_sauna_parking_and_a_laundry_and_the_office_sees_every_booking() {
    let server = TestServer::start().await;
    let property = server.org().properties[demo::RENTAL];
    let listed = server
        .as_role("neighbour", RESOURCES, json!({ "p": property }))
        .await;
    let resources = listed.data()["bookableResources"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<_> = resources
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SAUNA", "PARKING", "LAUNDRY"]);
    let thu = resources[0]["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shiftId"] == "thu-18")
        .unwrap()
        .clone();
    assert_eq!(
        (thu["free"].as_bool(), thu["mine"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        resources[1]["spaces"][0],
        json!({ "space": "AP-1", "free": false, "mine": true })
    );
    let all = server
        .as_role(
            "property_manager",
            &format!(
                "query($p: UUID!) {{ propertyBookings(propertyId: $p) {{ {BOOKING_FIELDS} }} }}"
            ),
            json!({ "p": property }),
        )
        .await;
    let all = all.data()["propertyBookings"].as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|b| b["apartmentCode"] == "A 5"));
    server
        .as_role(
            "resident",
            "query($p: UUID!) { propertyBookings(propertyId: $p) { id } }",
            json!({ "p": property }),
        )
        .await
        .assert_refused("FORBIDDEN", "booking.office_only");
    server
        .as_role("shareholder", RESOURCES, json!({ "p": property }))
        .await
        .assert_refused("FORBIDDEN", "booking.not_resident");
    // The neighbour's rented space is charged on their lease.
    let events = ledger(&server, lease_of(&server, server.org().person("neighbour"))).await;
    assert!(
        events.iter().any(
            |e| matches!(e, DomainEvent::ChargeLineAdded(a) if a.monthly_amount_cents == 3500)
        )
    );
    assert!(
        events.iter().any(
            |e| matches!(e, DomainEvent::ChargeLineAdded(a) if a.monthly_amount_cents == 1500)
        )
    );
}

#[tokio::test]
async fn only_the_office_defines_resources_and_definitions_are_checked() {
    let server = TestServer::start().await;
    let define = r#"mutation($input: DefineBookableResourceInput!) { defineBookableResource(input: $input) { resource { id kind spaces { space free } } } }"#;
    let property = server.org().properties[demo::COOPERATIVE];
    let parking = json!({ "input": { "idempotencyKey": key(), "propertyId": property, "kind": "PARKING", "name": "Autokatos", "priceCents": 2500, "spaces": ["K-1"] } });
    server
        .as_role("resident", define, parking.clone())
        .await
        .assert_refused("FORBIDDEN", "booking.define_forbidden");
    let made = server.as_role("property_manager", define, parking).await;
    assert_eq!(
        made.data()["defineBookableResource"]["resource"]["spaces"],
        json!([{ "space": "K-1", "free": true }])
    );
    server
        .as_role("property_manager", define, json!({ "input": { "idempotencyKey": key(), "propertyId": property, "kind": "SAUNA", "name": "Sauna" } }))
        .await
        .assert_refused("BAD_USER_INPUT", "booking.shifts_required");
}
