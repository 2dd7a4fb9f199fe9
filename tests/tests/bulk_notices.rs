//! Bulk notices through GraphQL: one message from the office to every current occupant of a
//! property, a building or a list of apartments; exactly those people get it in their inbox,
//! the audience stays as it was on the day it was sent, and the office counts who has read it.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_projections::bulk_notices::BulkNoticesView;
use talo_projections::engine::build_from_zero;
use talo_tests::*;
use uuid::Uuid;

const SEND: &str = "mutation($input: SendBulkNoticeInput!) { sendBulkNotice(input: $input) {
    position replayed bulkNotice { id subject target { kind buildingCode apartmentCodes } recipientsOn recipientCount readCount
    recipients { personId name apartmentCodes readAt } } } }";

const NOTICE: &str = "query($id: UUID!) { bulkNotice(id: $id) { id subject body readAt recipientCount readCount recipients { personId readAt } } }";

const MARK_READ: &str = "mutation($input: MarkBulkNoticeReadInput!) { markBulkNoticeRead(input: $input) { replayed position bulkNotice { readAt readCount } } }";

const INBOX: &str = "{ myInbox(first: 100) { edges { node { __typename ... on BulkNotice { id subject readAt recipientCount } } } } }";

/// Sends a notice as `role` to `target` (`propertyId`, `buildingId` or `apartmentIds`).
async fn send(server: &TestServer, role: &str, target: Value) -> Gql {
    let input = merged(
        json!({
            "idempotencyKey": key(),
            "subject": "Vesikatko",
            "body": "Vesi katkaistaan tiistaina klo 9-12 putkitöiden vuoksi.",
        }),
        target,
    );
    server.as_role(role, SEND, json!({ "input": input })).await
}

async fn send_ok(server: &TestServer, target: Value) -> (String, BTreeSet<Uuid>) {
    let sent = send(server, "property_manager", target).await;
    let notice = &sent.data()["sendBulkNotice"]["bulkNotice"];
    let recipients = notice["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["personId"].as_str().unwrap().parse().unwrap())
        .collect();
    (notice["id"].as_str().unwrap().to_owned(), recipients)
}

/// Everyone with a contract today on an apartment `keep` accepts, read from the register.
fn occupants(server: &TestServer, keep: impl Fn(&str, &str) -> bool) -> BTreeSet<Uuid> {
    let today = server.clock.now_utc().date_naive();
    server
        .talo
        .with_register(server.org().caller("property_manager"), |r| {
            Ok(r.contracts
                .values()
                .filter(|c| c.is_active_on(today))
                .filter(|c| {
                    let apartment = &r.apartments[&c.apartment_id];
                    keep(&r.properties[&apartment.property_id].name, &apartment.code)
                })
                .map(|c| c.person_id)
                .collect())
        })
        .unwrap()
}

/// The notices in `person`'s inbox.
async fn inbox_notices(server: &TestServer, person: Uuid) -> Vec<String> {
    let inbox = server
        .gql(Some(&server.token_for(person)), INBOX, json!({}))
        .await;
    inbox.data()["myInbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["__typename"] == "BulkNotice")
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every person of the organisation with a contract today, for checking who did not get it.
fn everyone(server: &TestServer) -> BTreeSet<Uuid> {
    occupants(server, |_, _| true)
}

/// Asserts that exactly `expected` have the notice in their inboxes, and nobody else does.
async fn assert_reached_exactly(server: &TestServer, id: &str, expected: &BTreeSet<Uuid>) {
    for person in everyone(server) {
        let has = inbox_notices(server, person).await.contains(&id.to_owned());
        assert_eq!(has, expected.contains(&person), "person {person}");
    }
}

#[tokio::test]
async fn a_notice_to_a_property_reaches_exactly_its_current_occupants() {
    let server = TestServer::start().await;
    let rental = server.org().properties[demo::RENTAL];
    let (id, recipients) = send_ok(&server, json!({ "propertyId": rental })).await;
    let expected = occupants(&server, |property, _| property == demo::RENTAL);
    assert_eq!(recipients, expected);
    assert!(expected.contains(&server.org().person("resident")));
    assert!(expected.contains(&server.org().person("neighbour")));
    assert!(!expected.contains(&server.org().person("shareholder")));
    assert_reached_exactly(&server, &id, &expected).await;
    // The cooperative's people cannot open it either.
    for role in ["shareholder", "board_chair", "contractor"] {
        assert_eq!(
            server
                .as_role(role, NOTICE, json!({ "id": id }))
                .await
                .code(),
            "NOT_FOUND",
            "{role}"
        );
    }
}

#[tokio::test]
async fn a_notice_to_a_building_skips_the_neighbours_in_the_other_building() {
    let server = TestServer::start().await;
    let building_a = server
        .talo
        .with_register(server.org().caller("property_manager"), |r| {
            Ok(r.apartments[&server.apartment(demo::COOPERATIVE, "A 1")].building_id)
        })
        .unwrap();
    let sent = send(
        &server,
        "customer_service",
        json!({ "buildingId": building_a }),
    )
    .await;
    let notice = &sent.data()["sendBulkNotice"]["bulkNotice"];
    assert_eq!(notice["target"]["kind"], "building");
    assert_eq!(notice["target"]["buildingCode"], "A");
    let id = notice["id"].as_str().unwrap().to_owned();
    let expected = occupants(&server, |property, code| {
        property == demo::COOPERATIVE && code.starts_with("A ")
    });
    assert!(
        expected.contains(&server.org().person("board_chair")),
        "A 1"
    );
    assert!(
        !expected.contains(&server.org().person("shareholder")),
        "the shareholder's B 12 is in the other building"
    );
    assert_reached_exactly(&server, &id, &expected).await;
}

#[tokio::test]
async fn a_notice_to_a_list_of_apartments_reaches_only_their_occupants() {
    let server = TestServer::start().await;
    let a4 = server.apartment(demo::RENTAL, "A 4");
    let a6 = server.apartment(demo::RENTAL, "A 6");
    let (id, recipients) = send_ok(&server, json!({ "apartmentIds": [a4, a6, a4] })).await;
    let expected = occupants(&server, |property, code| {
        property == demo::RENTAL && (code == "A 4" || code == "A 6")
    });
    assert_eq!(expected.len(), 2, "one person in each");
    assert_eq!(recipients, expected);
    assert!(expected.contains(&server.org().person("resident")));
    assert!(!expected.contains(&server.org().person("neighbour")), "A 5");
    assert_reached_exactly(&server, &id, &expected).await;
    let answer = server
        .as_role("property_manager", NOTICE, json!({ "id": id }))
        .await;
    assert_eq!(
        answer.data()["bulkNotice"]["recipientCount"],
        expected.len()
    );
    // All of one property, and somebody must live there.
    send(
        &server,
        "property_manager",
        json!({ "apartmentIds": [a4, server.apartment(demo::COOPERATIVE, "B 12")] }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "bulk_notice.one_property");
    let empty = server
        .talo
        .with_register(server.org().caller("property_manager"), |r| {
            let today = server.clock.now_utc().date_naive();
            Ok(r.apartments
                .values()
                .find(|a| r.occupants(a.apartment_id, today).next().is_none())
                .map(|a| a.apartment_id)
                .unwrap())
        });
    send(
        &server,
        "property_manager",
        json!({ "apartmentIds": [empty.unwrap()] }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "bulk_notice.no_recipients");
    send(
        &server,
        "property_manager",
        json!({ "apartmentIds": [a4], "buildingId": Uuid::now_v7() }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "bulk_notice.one_target");
}

#[tokio::test]
async fn the_office_counts_who_has_read_a_notice_and_each_recipient_reads_it_once() {
    let server = TestServer::start().await;
    let a4 = server.apartment(demo::RENTAL, "A 4");
    let a5 = server.apartment(demo::RENTAL, "A 5");
    let (id, recipients) = send_ok(&server, json!({ "apartmentIds": [a4, a5] })).await;
    assert_eq!(recipients.len(), 2);
    let counts = |answer: &Gql| {
        let n = &answer.data()["bulkNotice"];
        (n["recipientCount"].clone(), n["readCount"].clone())
    };
    let office = server
        .as_role("customer_service", NOTICE, json!({ "id": id }))
        .await;
    assert_eq!(counts(&office), (json!(2), json!(0)));

    // The resident sees it, unread, without the audience.
    let mine = server
        .as_role("resident", NOTICE, json!({ "id": id }))
        .await;
    let n = &mine.data()["bulkNotice"];
    assert_eq!(
        (&n["readAt"], &n["recipientCount"], &n["recipients"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    server.clock.advance(Duration::minutes(15));
    let read = server
        .as_role(
            "resident",
            MARK_READ,
            json!({ "input": { "idempotencyKey": key(), "bulkNoticeId": id } }),
        )
        .await;
    let read = &read.data()["markBulkNoticeRead"];
    assert_eq!(read["bulkNotice"]["readAt"], "2026-03-02T08:15:00+00:00");
    assert_eq!(read["bulkNotice"]["readCount"], Value::Null);
    // Again: nothing new is recorded and the count does not move.
    let head = server.talo.store.head().await.unwrap();
    server
        .as_role(
            "resident",
            MARK_READ,
            json!({ "input": { "idempotencyKey": key(), "bulkNoticeId": id } }),
        )
        .await
        .data();
    assert_eq!(server.talo.store.head().await.unwrap(), head);
    let office = server
        .as_role("customer_service", NOTICE, json!({ "id": id }))
        .await;
    assert_eq!(counts(&office), (json!(2), json!(1)));
    let per_recipient: Vec<(String, Value)> = office.data()["bulkNotice"]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["personId"].as_str().unwrap().to_owned(),
                r["readAt"].clone(),
            )
        })
        .collect();
    assert!(per_recipient.contains(&(
        server.org().person("resident").to_string(),
        json!("2026-03-02T08:15:00+00:00")
    )));
    assert!(per_recipient.contains(&(server.org().person("neighbour").to_string(), Value::Null)));

    // The office's list carries the counts too.
    let list = server
        .as_role(
            "property_manager",
            "query($p: UUID) { bulkNotices(propertyId: $p) { totalCount edges { node { id recipientCount readCount } } } }",
            json!({ "p": server.org().properties[demo::RENTAL] }),
        )
        .await;
    let row = list.data()["bulkNotices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (&row["node"]["recipientCount"], &row["node"]["readCount"]),
        (&json!(2), &json!(1))
    );
    // Only recipients mark it read; others do not find it.
    let mark_as = |role: &'static str| {
        let server = &server;
        let id = id.clone();
        async move {
            server
                .as_role(
                    role,
                    MARK_READ,
                    json!({ "input": { "idempotencyKey": key(), "bulkNoticeId": id } }),
                )
                .await
        }
    };
    mark_as("customer_service")
        .await
        .assert_refused("FORBIDDEN", "bulk_notice.recipient_only");
    mark_as("auditor")
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    mark_as("shareholder")
        .await
        .assert_refused("NOT_FOUND", "bulk_notice.not_visible");
    // The auditor reads the counts, and the residents have no list.
    let audited = server.as_role("auditor", NOTICE, json!({ "id": id })).await;
    assert_eq!(counts(&audited), (json!(2), json!(1)));
    assert_eq!(
        server
            .as_role("resident", "{ bulkNotices { totalCount } }", json!({}))
            .await
            .code(),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn the_audience_is_fixed_when_the_notice_is_sent() {
    let server = TestServer::start().await;
    let a4 = server.apartment(demo::RENTAL, "A 4");
    let (id, _) = send_ok(&server, json!({ "apartmentIds": [a4] })).await;
    // The resident moves out and a new tenant moves in the next day.
    let resident = server.org().person("resident");
    server.move_out(resident).await;
    server.clock.advance(Duration::days(1));
    let newcomer = server.move_in(a4).await;
    assert!(
        inbox_notices(&server, resident).await.contains(&id),
        "it was theirs"
    );
    assert!(
        !inbox_notices(&server, newcomer).await.contains(&id),
        "it was sent before they lived there"
    );
    let office = server
        .as_role("property_manager", NOTICE, json!({ "id": id }))
        .await;
    let recipients: Vec<&str> = office.data()["bulkNotice"]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["personId"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, [resident.to_string()]);
    // A notice sent now reaches the new tenant instead.
    let (later, _) = send_ok(&server, json!({ "apartmentIds": [a4] })).await;
    assert!(inbox_notices(&server, newcomer).await.contains(&later));
    assert!(!inbox_notices(&server, resident).await.contains(&later));
}

#[tokio::test]
async fn only_the_propertys_office_sends_notices_and_a_retry_sends_once() {
    let server = TestServer::with_two_organisations().await;
    let rental = server.org().properties[demo::RENTAL];
    for role in ["resident", "contractor", "board_chair"] {
        send(&server, role, json!({ "propertyId": rental }))
            .await
            .assert_refused("FORBIDDEN", "bulk_notice.office_only");
    }
    send(&server, "auditor", json!({ "propertyId": rental }))
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    // Another organisation's manager does not find our property.
    let input = json!({ "input": { "idempotencyKey": key(), "propertyId": rental, "subject": "x", "body": "y" } });
    let theirs = server
        .gql(Some(&server.token_in(1, "property_manager")), SEND, input)
        .await;
    theirs.assert_refused("NOT_FOUND", "bulk_notice.property_unknown");

    let input = json!({ "input": { "idempotencyKey": "notice-once", "propertyId": rental, "subject": "Anteeksi", "body": "Lupasimme korjata hissin perjantaina, emmekä pitäneet lupaustamme." } });
    let first = server
        .as_role("property_manager", SEND, input.clone())
        .await;
    let head = server.talo.store.head().await.unwrap();
    let retry = server.as_role("property_manager", SEND, input).await;
    assert_eq!(retry.data()["sendBulkNotice"]["replayed"], true);
    assert_eq!(
        retry.data()["sendBulkNotice"]["bulkNotice"]["id"],
        first.data()["sendBulkNotice"]["bulkNotice"]["id"]
    );
    assert_eq!(server.talo.store.head().await.unwrap(), head);

    let rebuilt: BulkNoticesView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.bulk_notices.read(), rebuilt);
}
