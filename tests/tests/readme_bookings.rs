//! The README's bookings walkthrough, run exactly as written.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use talo_api::demo::RENTAL;
use talo_tests::TestServer;
use talo_tests::readme::run;

#[tokio::test]
async fn the_bookings_walkthrough_runs_as_written() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::from([
        (
            "propertyId".to_owned(),
            json!(server.org().properties[RENTAL]),
        ),
        (
            "apartmentId".to_owned(),
            json!(server.apartment(RENTAL, "A 4")),
        ),
    ]);
    let answers = run(
        &server,
        "## Walkthrough: bookings",
        &mut vars,
        |data, vars| {
            if let Some(resources) = data["bookableResources"].as_array() {
                for r in resources {
                    match r["name"].as_str() {
                        Some("Saunavuorot") => vars.insert("saunaId".into(), r["id"].clone()),
                        Some("Autopaikat") => vars.insert("parkingId".into(), r["id"].clone()),
                        _ => None,
                    };
                }
            }
            if let Some(id) = data["bookParkingSpace"]["booking"]["id"].as_str() {
                vars.insert("bookingId".into(), Value::from(id));
            }
        },
    )
    .await;
    assert_eq!(answers[1]["bookSaunaShift"]["booking"]["status"], "ACTIVE");
    assert_eq!(answers[2]["bookParkingSpace"]["booking"]["space"], "AP-2");
    assert_eq!(answers[3]["myBookings"].as_array().unwrap().len(), 2);
    assert_eq!(answers[4]["propertyBookings"].as_array().unwrap().len(), 4);
    assert_eq!(
        answers[5]["cancelBooking"]["booking"]["status"],
        "CANCELLED"
    );
}
