//! Rental housing applications and offers through GraphQL: an offer accepted into a lease, an
//! offer that expires, and who may do what.

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_tests::*;

const APPLY: &str = "mutation($input: FileHousingApplicationInput!) { fileHousingApplication(input: $input) { application { id valid validUntil } } }";
const OFFER: &str = "mutation($input: MakeHousingOfferInput!) { makeHousingOffer(input: $input) { offer { id status apartmentId apartmentCode answerBy } } }";

/// A vacant apartment of the rental company (no lease in the demo).
fn vacant(server: &TestServer) -> uuid::Uuid {
    vacancies(server)[0]
}

/// The rental company's apartments without a lease.
fn vacancies(server: &TestServer) -> Vec<uuid::Uuid> {
    let view = server.talo.read_models.register.read();
    let register = view.organisation(server.org().organisation_id).unwrap();
    let rental = server.org().properties[demo::RENTAL];
    register
        .apartments
        .values()
        .filter(|a| a.property_id == rental)
        .filter(|a| {
            !register
                .contracts
                .values()
                .any(|c| c.apartment_id == a.apartment_id)
        })
        .map(|a| a.apartment_id)
        .collect()
}

async fn apply(server: &TestServer) -> Value {
    let input = json!({ "idempotencyKey": key(), "householdSize": 2, "desiredAreas": ["Herttoniemi"], "apartmentTypes": ["2h+k"], "maxRentCents": 95000, "moveInFrom": "2026-04-01" });
    server
        .as_role("applicant", APPLY, json!({ "input": input }))
        .await
        .data()["fileHousingApplication"]["application"]["id"]
        .clone()
}

async fn offer(server: &TestServer, application: &Value) -> Gql {
    offer_of(server, application, vacant(server)).await
}

async fn offer_of(server: &TestServer, application: &Value, apartment: uuid::Uuid) -> Gql {
    let answer_by = server.clock.now_utc() + Duration::days(3);
    let input = json!({ "idempotencyKey": key(), "applicationId": application, "apartmentId": apartment, "monthlyRentCents": 89000, "leaseStartsOn": "2026-04-01", "answerBy": answer_by });
    server
        .as_role("customer_service", OFFER, json!({ "input": input }))
        .await
}

async fn answer(server: &TestServer, role: &str, mutation: &str, offer: &Value) -> Gql {
    let query = format!(
        "mutation($input: HousingOfferStepInput!) {{ {mutation}(input: $input) {{ offer {{ status contractId }} }} }}"
    );
    server.as_role(role, &query, json!({ "input": { "idempotencyKey": key(), "offerId": offer, "reason": "Liian kaukana" } })).await
}

#[tokio::test]
async fn an_accepted_offer_becomes_the_applicants_lease() {
    let server = TestServer::start().await;
    let application = apply(&server).await;
    let made = offer(&server, &application).await;
    let offer_id = made.data()["makeHousingOffer"]["offer"]["id"].clone();
    assert_eq!(
        made.data()["makeHousingOffer"]["offer"]["status"],
        "PENDING"
    );
    let mine = server
        .as_role(
            "applicant",
            "{ myHousingOffers { id status monthlyRentCents } }",
            json!({}),
        )
        .await;
    assert_eq!(mine.data()["myHousingOffers"][0]["monthlyRentCents"], 89000);

    let accepted = answer(&server, "applicant", "acceptHousingOffer", &offer_id).await;
    assert_eq!(
        accepted.data()["acceptHousingOffer"]["offer"]["status"],
        "ACCEPTED"
    );
    let contract = accepted.data()["acceptHousingOffer"]["offer"]["contractId"].clone();
    assert!(contract.is_string());
    // The lease is in the register: from its start day the applicant is a resident there.
    server
        .clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 4, 1, 9, 0, 0).unwrap());
    let me = server
        .as_role(
            "applicant",
            "{ me { roles homes { apartmentId kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["roles"], json!(["RESIDENT"]));
    assert_eq!(
        me.data()["me"]["homes"][0]["apartmentId"],
        offered_apartment(&made)
    );
    // Answering twice is refused.
    answer(&server, "applicant", "declineHousingOffer", &offer_id)
        .await
        .assert_refused("CONFLICT", "housing.offer_answered");
}

#[tokio::test]
async fn an_application_gets_one_offer_at_a_time_and_none_once_housed() {
    let server = TestServer::start().await;
    let application = apply(&server).await;
    let apartments = vacancies(&server);
    let (first, second) = (apartments[0], apartments[1]);
    let made = offer_of(&server, &application, first).await;
    let offer_id = made.data()["makeHousingOffer"]["offer"]["id"].clone();
    offer_of(&server, &application, second)
        .await
        .assert_refused("CONFLICT", "housing.application_already_offered");
    answer(&server, "applicant", "acceptHousingOffer", &offer_id)
        .await
        .data();
    // Housed: the office's line no longer holds the application, and the applicant sees it
    // done by the offer they accepted, well before its validity ends.
    let line = server
        .as_role(
            "customer_service",
            "{ housingApplications(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let listed: Vec<&Value> = line.data()["housingApplications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["id"])
        .collect();
    assert!(!listed.contains(&&application), "{listed:?}");
    let mine = server
        .as_role(
            "applicant",
            "{ myHousingApplications { id valid housedByOfferId } }",
            json!({}),
        )
        .await;
    let record = mine.data()["myHousingApplications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == application)
        .cloned()
        .unwrap();
    assert_eq!(
        record,
        json!({ "id": application, "valid": false, "housedByOfferId": offer_id })
    );
    offer_of(&server, &application, second)
        .await
        .assert_refused("CONFLICT", "housing.application_housed");
}

/// Offers made at the very same moment: to one application of several apartments, and of one
/// apartment to several applications. One of each is made, the others refused with the rule,
/// so two acceptances can never sign two leases.
#[tokio::test]
async fn offers_made_at_once_still_go_one_at_a_time() {
    let server = TestServer::start().await;
    let application = apply(&server).await;
    let apartments = vacancies(&server);
    assert!(apartments.len() >= 3, "{apartments:?}");
    let to_one_application = futures::future::join_all(
        apartments
            .iter()
            .map(|apartment| offer_of(&server, &application, *apartment)),
    )
    .await;
    let made: Vec<&Gql> = to_one_application
        .iter()
        .filter(|answer| answer.body["errors"].is_null())
        .collect();
    assert_eq!(made.len(), 1, "{to_one_application:?}");
    for refused in to_one_application
        .iter()
        .filter(|answer| !answer.body["errors"].is_null())
    {
        refused.assert_refused("CONFLICT", "housing.application_already_offered");
    }

    let offered = offered_apartment(made[0]);
    let others = futures::future::join_all((0..apartments.len()).map(|_| apply(&server))).await;
    let of_one_apartment = futures::future::join_all(others.iter().map(|other| {
        offer_of(
            &server,
            other,
            apartments
                .iter()
                .copied()
                .find(|a| json!(a) != offered)
                .unwrap(),
        )
    }))
    .await;
    let made = of_one_apartment
        .iter()
        .filter(|answer| answer.body["errors"].is_null())
        .count();
    assert_eq!(made, 1, "{of_one_apartment:?}");
    for refused in of_one_apartment
        .iter()
        .filter(|answer| !answer.body["errors"].is_null())
    {
        refused.assert_refused("CONFLICT", "housing.apartment_already_offered");
    }
}

#[tokio::test]
async fn the_office_pages_through_its_offers_and_its_line_of_applications() {
    let server = TestServer::start().await;
    let (mut made, mut applications) = (Vec::new(), Vec::new());
    for apartment in vacancies(&server).into_iter().take(3) {
        let application = apply(&server).await;
        applications.push(application.clone());
        let offer = offer_of(&server, &application, apartment).await;
        made.push(offer.data()["makeHousingOffer"]["offer"]["id"].clone());
        server.clock.advance(Duration::minutes(5));
    }
    made.reverse();
    let query = "query($first: Int, $after: String) { housingOffers(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id } } }";
    // Customer service's office and the auditor see every offer, page by page.
    for role in ["customer_service", "auditor"] {
        let listed: Vec<Value> = server
            .every_page(role, query, "housingOffers", 1)
            .await
            .into_iter()
            .map(|node| node["id"].clone())
            .collect();
        assert_eq!(listed, made, "{role}");
        let total = server.as_role(role, query, json!({})).await;
        assert_eq!(total.data()["housingOffers"]["totalCount"], 3, "{role}");
    }
    server
        .assert_list_refuses_stray_cursors_and_page_sizes("customer_service", query)
        .await;
    // The line of applications pages oldest first; these three are its newest.
    let line = "query($first: Int, $after: String) { housingApplications(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id } } }";
    let listed: Vec<Value> = server
        .every_page("customer_service", line, "housingApplications", 1)
        .await
        .into_iter()
        .map(|node| node["id"].clone())
        .collect();
    assert_eq!(listed[listed.len() - 3..], applications);
    server
        .assert_list_refuses_stray_cursors_and_page_sizes("customer_service", line)
        .await;
}

/// The apartment an offer was made for.
fn offered_apartment(made: &Gql) -> Value {
    made.body["data"]["makeHousingOffer"]["offer"]["apartmentId"].clone()
}

#[tokio::test]
async fn an_unanswered_offer_expires() {
    let server = TestServer::start().await;
    let application = apply(&server).await;
    let offer_id =
        offer(&server, &application).await.data()["makeHousingOffer"]["offer"]["id"].clone();
    answer(&server, "customer_service", "expireHousingOffer", &offer_id)
        .await
        .assert_refused("CONFLICT", "housing.offer_not_due");
    server.clock.advance(Duration::days(4));
    let shown = server
        .as_role(
            "applicant",
            "query($id: UUID!) { housingOffer(id: $id) { status } }",
            json!({ "id": offer_id }),
        )
        .await;
    assert_eq!(
        shown.data()["housingOffer"]["status"],
        "EXPIRED",
        "past its deadline it shows as expired"
    );
    answer(&server, "applicant", "acceptHousingOffer", &offer_id)
        .await
        .assert_refused("CONFLICT", "housing.offer_expired");
    let expired = answer(&server, "customer_service", "expireHousingOffer", &offer_id).await;
    assert_eq!(
        expired.data()["expireHousingOffer"]["offer"]["status"],
        "EXPIRED"
    );
    // The apartment can be offered again.
    offer(&server, &application).await.data();
}

#[tokio::test]
async fn who_may_apply_offer_and_answer() {
    let server = TestServer::start().await;
    let application = apply(&server).await;
    let answer_by = server.clock.now_utc() + Duration::days(3);
    let input = |apartment: uuid::Uuid| json!({ "idempotencyKey": key(), "applicationId": application, "apartmentId": apartment, "monthlyRentCents": 89000, "leaseStartsOn": "2026-04-01", "answerBy": answer_by });
    server
        .as_role(
            "resident",
            OFFER,
            json!({ "input": input(vacant(&server)) }),
        )
        .await
        .assert_refused("FORBIDDEN", "housing.office_only");
    server
        .as_role(
            "customer_service",
            OFFER,
            json!({ "input": input(server.apartment(demo::RENTAL, "A 4")) }),
        )
        .await
        .assert_refused("CONFLICT", "housing.apartment_not_vacant");
    server
        .as_role(
            "customer_service",
            OFFER,
            json!({ "input": input(server.apartment(demo::COOPERATIVE, "A 2")) }),
        )
        .await
        .assert_refused("BAD_USER_INPUT", "housing.rental_apartments_only");
    let offer_id =
        offer(&server, &application).await.data()["makeHousingOffer"]["offer"]["id"].clone();
    offer(&server, &application)
        .await
        .assert_refused("CONFLICT", "housing.apartment_already_offered");
    answer(&server, "resident", "acceptHousingOffer", &offer_id)
        .await
        .assert_refused("NOT_FOUND", "housing.offer_not_visible");
    answer(&server, "customer_service", "acceptHousingOffer", &offer_id)
        .await
        .assert_refused("FORBIDDEN", "housing.applicant_only");
    let bad = json!({ "idempotencyKey": key(), "householdSize": 0, "desiredAreas": ["x"], "apartmentTypes": ["x"], "maxRentCents": 1, "moveInFrom": "2026-04-01" });
    server
        .as_role("applicant", APPLY, json!({ "input": bad }))
        .await
        .assert_refused("BAD_USER_INPUT", "housing.household_size");
    assert_eq!(
        server
            .as_role(
                "applicant",
                "{ housingApplications { totalCount } }",
                json!({})
            )
            .await
            .code(),
        "FORBIDDEN"
    );
    let listed = server
        .as_role(
            "customer_service",
            "{ housingApplications { totalCount } }",
            json!({}),
        )
        .await;
    assert!(
        listed.data()["housingApplications"]["totalCount"]
            .as_u64()
            .unwrap()
            >= 2,
        "the demo's and this one"
    );
}
