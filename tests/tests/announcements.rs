//! Announcements through GraphQL: targeted publishing, residents' current view, corrections
//! with history, withdrawal, read counts, and the resident committee's own-property rule.

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

const PUBLISH: &str = "mutation($input: PublishAnnouncementInput!) { publishAnnouncement(input: $input) { announcement { id title current publishedByRole } } }";
const LIST: &str = "{ announcements(first: 100) { nodes { id title body current readCount readByMe corrections { previousBody reason } } } }";

fn building_of(server: &TestServer, apartment: &str) -> uuid::Uuid {
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    register.apartments[&server.apartment(demo::RENTAL, apartment)].building_id
}

async fn titles(server: &TestServer, role: &str) -> Vec<String> {
    let list = server.as_role(role, LIST, json!({})).await;
    list.data()["announcements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

fn announcement(title: &str, targets: Value) -> Value {
    json!({ "idempotencyKey": key(), "title": title, "body": "Tiedote", "category": "MAINTENANCE", "targets": targets })
}

#[tokio::test]
async fn residents_see_current_announcements_for_their_own_building_only() {
    let server = TestServer::start().await;
    let rental = server.org().properties[demo::RENTAL];
    let building_b = building_of(&server, "B 11");
    let published = server.as_role("property_manager", PUBLISH, json!({ "input": announcement("Porraskäytävän siivous B", json!([{ "propertyId": rental, "buildingId": building_b }])) })).await;
    assert_eq!(
        published.data()["publishAnnouncement"]["announcement"]["publishedByRole"],
        "PROPERTY_MANAGER"
    );
    // The demo's water outage targets building A, where the resident lives.
    assert!(
        titles(&server, "resident")
            .await
            .contains(&"Vesikatko A-rapussa".to_owned())
    );
    assert!(
        !titles(&server, "resident")
            .await
            .contains(&"Porraskäytävän siivous B".to_owned()),
        "A 4 is not in building B"
    );
    assert!(
        titles(&server, "shareholder").await.is_empty(),
        "the cooperative's shareholder sees nothing of the rental company"
    );
    // Scheduled announcements appear when their time comes, and go when they expire.
    let later = server.clock.now_utc() + Duration::days(2);
    let scheduled = json!({ "idempotencyKey": key(), "title": "Kokouskutsu", "body": "Yhtiökokous", "category": "MEETING_NOTICE", "targets": [{ "propertyId": rental }], "publishAt": later, "expiresAt": later + Duration::days(1) });
    server
        .as_role("property_manager", PUBLISH, json!({ "input": scheduled }))
        .await
        .data();
    assert!(
        !titles(&server, "resident")
            .await
            .contains(&"Kokouskutsu".to_owned())
    );
    server.clock.advance(Duration::days(2));
    assert!(
        titles(&server, "resident")
            .await
            .contains(&"Kokouskutsu".to_owned())
    );
    server.clock.advance(Duration::days(2));
    assert!(
        !titles(&server, "resident")
            .await
            .contains(&"Kokouskutsu".to_owned())
    );
    assert!(
        titles(&server, "property_manager")
            .await
            .contains(&"Kokouskutsu".to_owned()),
        "staff keep seeing it"
    );
}

#[tokio::test]
async fn corrections_keep_history_withdrawals_hide_and_reads_are_counted_once() {
    let server = TestServer::start().await;
    let rental = server.org().properties[demo::RENTAL];
    let published = server
        .as_role(
            "property_manager",
            PUBLISH,
            json!({ "input": announcement("Saunavuorot", json!([{ "propertyId": rental }])) }),
        )
        .await;
    let id = published.data()["publishAnnouncement"]["announcement"]["id"].clone();
    let read = "mutation($input: AnnouncementStepInput!) { markAnnouncementRead(input: $input) { announcement { readByMe } } }";
    for _ in 0..2 {
        server
            .as_role(
                "resident",
                read,
                json!({ "input": { "idempotencyKey": key(), "announcementId": id } }),
            )
            .await
            .data();
    }
    server
        .as_role(
            "neighbour",
            read,
            json!({ "input": { "idempotencyKey": key(), "announcementId": id } }),
        )
        .await
        .data();
    let correct = "mutation($input: CorrectAnnouncementInput!) { correctAnnouncement(input: $input) { announcement { body readCount corrections { previousBody reason } } } }";
    let corrected = server.as_role("property_manager", correct, json!({ "input": { "idempotencyKey": key(), "announcementId": id, "title": "Saunavuorot", "body": "Uudet saunavuorot", "reason": "Kellonajat korjattu" } })).await;
    let after = &corrected.data()["correctAnnouncement"]["announcement"];
    assert_eq!(
        after["readCount"], 2,
        "two residents, the first counted once"
    );
    assert_eq!(
        after["corrections"],
        json!([{ "previousBody": "Tiedote", "reason": "Kellonajat korjattu" }])
    );
    // Residents see the current text, not the history or the counts.
    let seen = server
        .as_role(
            "resident",
            "query($id: UUID!) { announcement(id: $id) { body readCount corrections { reason } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        seen.data()["announcement"],
        json!({ "body": "Uudet saunavuorot", "readCount": null, "corrections": [] })
    );
    let withdraw = "mutation($input: AnnouncementStepInput!) { withdrawAnnouncement(input: $input) { announcement { current } } }";
    server
        .as_role(
            "resident",
            withdraw,
            json!({ "input": { "idempotencyKey": key(), "announcementId": id, "reason": "x" } }),
        )
        .await
        .assert_refused("FORBIDDEN", "announcement.publisher_only");
    server.as_role("property_manager", withdraw, json!({ "input": { "idempotencyKey": key(), "announcementId": id, "reason": "Peruttu" } })).await.data();
    assert!(
        !titles(&server, "resident")
            .await
            .contains(&"Saunavuorot".to_owned())
    );
    assert_eq!(
        server
            .as_role(
                "resident",
                "query($id: UUID!) { announcement(id: $id) { id } }",
                json!({ "id": id })
            )
            .await
            .code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_resident_committee_publishes_to_its_own_property_only() {
    let server = TestServer::start().await;
    // The demo neighbour sits on the rental company's resident committee.
    let rental = server.org().properties[demo::RENTAL];
    let cooperative = server.org().properties[demo::COOPERATIVE];
    let own = server
        .as_role(
            "neighbour",
            PUBLISH,
            json!({ "input": announcement("Pihatalkoot", json!([{ "propertyId": rental }])) }),
        )
        .await;
    assert_eq!(
        own.data()["publishAnnouncement"]["announcement"]["publishedByRole"],
        "RESIDENT_COMMITTEE"
    );
    let other = server
        .as_role(
            "neighbour",
            PUBLISH,
            json!({ "input": announcement("Pihatalkoot", json!([{ "propertyId": cooperative }])) }),
        )
        .await;
    other.assert_refused("FORBIDDEN", "announcement.committee_own_property_only");
    let resident = server
        .as_role(
            "resident",
            PUBLISH,
            json!({ "input": announcement("X", json!([{ "propertyId": rental }])) }),
        )
        .await;
    resident.assert_refused("FORBIDDEN", "announcement.publisher_only");
    let bad = json!({ "idempotencyKey": key(), "title": "X", "body": "Y", "category": "GENERAL", "targets": [{ "propertyId": rental }], "publishAt": "2026-03-05T00:00:00Z", "expiresAt": "2026-03-04T00:00:00Z" });
    server
        .as_role("property_manager", PUBLISH, json!({ "input": bad }))
        .await
        .assert_refused("BAD_USER_INPUT", "announcement.expires_after_publish");
    server
        .as_role(
            "auditor",
            PUBLISH,
            json!({ "input": announcement("X", json!([{ "propertyId": rental }])) }),
        )
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
}

const PAGE: &str = "query($first: Int, $after: String) { announcements(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id title publishAt } } }";

/// Every announcement `role` sees, `first` at a time.
async fn paged(server: &TestServer, role: &str, first: usize) -> Vec<Value> {
    server.every_page(role, PAGE, "announcements", first).await
}

#[tokio::test]
async fn announcements_page_newest_first_for_residents_and_staff() {
    let server = TestServer::start().await;
    let rental = server.org().properties[demo::RENTAL];
    // Five published at the same instant (their ids order them), then two a day apart.
    let mut titles_published = Vec::new();
    for n in 0..7 {
        if n >= 5 {
            server.clock.advance(Duration::days(1));
        }
        let title = format!("Tiedote {n}");
        server
            .as_role(
                "property_manager",
                PUBLISH,
                json!({ "input": announcement(&title, json!([{ "propertyId": rental }])) }),
            )
            .await
            .data();
        titles_published.push(title);
    }
    for role in ["resident", "property_manager"] {
        let whole = paged(&server, role, 100).await;
        let in_twos = paged(&server, role, 2).await;
        assert_eq!(in_twos, whole, "{role}: pages of two stitch into the list");
        let ids: std::collections::BTreeSet<&str> =
            whole.iter().map(|n| n["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), whole.len(), "{role}: each once");
        let keys: Vec<(&str, &str)> = whole
            .iter()
            .map(|n| (n["publishAt"].as_str().unwrap(), n["id"].as_str().unwrap()))
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] > w[1]),
            "{role}: newest first, then by id: {keys:?}"
        );
        let titles: Vec<&str> = whole.iter().map(|n| n["title"].as_str().unwrap()).collect();
        assert_eq!(
            titles[..2],
            ["Tiedote 6", "Tiedote 5"],
            "{role}: {titles:?}"
        );
        assert!(
            titles_published
                .iter()
                .all(|t| titles.contains(&t.as_str())),
            "{role}: {titles:?}"
        );
    }
    assert!(paged(&server, "shareholder", 2).await.is_empty());
}

#[tokio::test]
async fn announcements_refuse_a_stray_cursor_and_a_page_size_out_of_range() {
    let server = TestServer::start().await;
    server
        .assert_list_refuses_stray_cursors_and_page_sizes("resident", PAGE)
        .await;
}
