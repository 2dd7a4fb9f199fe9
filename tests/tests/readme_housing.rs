//! Runs the README walkthrough of housing applications and offers exactly as written.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::json;
use talo_api::demo;
use talo_tests::*;

#[tokio::test]
async fn the_housing_walkthrough_works_as_written() {
    let server = TestServer::start().await;
    let vacant = {
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        let rental = server.org().properties[demo::RENTAL];
        register
            .apartments
            .values()
            .filter(|a| a.property_id == rental)
            .find(|a| {
                !register
                    .contracts
                    .values()
                    .any(|c| c.apartment_id == a.apartment_id)
            })
            .unwrap()
            .apartment_id
    };
    let mut vars = BTreeMap::from([
        ("apartmentId".to_owned(), json!(vacant)),
        (
            "answerBy".to_owned(),
            json!(server.clock.now_utc() + Duration::days(3)),
        ),
    ]);
    let answers = readme::run(
        &server,
        "## Walkthrough: housing applications and offers",
        &mut vars,
        |data, vars| {
            if let Some(id) = data.pointer("/fileHousingApplication/application/id") {
                vars.insert("applicationId".into(), id.clone());
            }
            if let Some(id) = data.pointer("/makeHousingOffer/offer/id") {
                vars.insert("offerId".into(), id.clone());
            }
        },
    )
    .await;
    assert_eq!(answers.len(), 4);
    assert_eq!(
        answers[0]["fileHousingApplication"]["application"]["valid"],
        true
    );
    let listed = answers[1]["housingApplications"]["edges"]
        .as_array()
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|e| e["node"]["id"] == vars["applicationId"])
    );
    assert_eq!(answers[2]["makeHousingOffer"]["offer"]["status"], "PENDING");
    let accepted = &answers[3]["acceptHousingOffer"]["offer"];
    assert_eq!(accepted["status"], "ACCEPTED");
    assert!(accepted["contractId"].is_string());
}
