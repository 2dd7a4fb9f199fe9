//! Read-your-writes across nodes: two Talo nodes fold one log; a mutation on the first is
//! seen on the second by a query sent with `Talo-After-Position`, even while the second
//! lags; a node that cannot get there in time says so, and a malformed header is refused.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use talo_api::demo;
use talo_events_schema::envelope::Position;
use talo_tests::*;

const MY_REPORTS: &str = "{ myFaultReports { totalCount } }";

const REPORT: &str = "query($id: UUID!) { faultReport(id: $id) { id status } }";

async fn report_fault(server: &TestServer) -> (String, String) {
    let filed = server
        .as_role(
            "resident",
            ops::REPORT,
            json!({ "input": {
                "idempotencyKey": key(), "apartmentId": server.apartment(demo::RENTAL, "A 4"),
                "category": "PLUMBING", "description": "Lattiakaivo vuotaa",
                "permissionToEnter": true, "pets": { "present": false } } }),
        )
        .await;
    let data = filed.data()["reportFault"].clone();
    let receipt_position = filed.body["extensions"]["receipts"]
        .as_array()
        .and_then(|r| r.last())
        .map(|r| {
            r["position"]
                .as_str()
                .expect("a receipt position")
                .to_owned()
        })
        .expect("the mutation's receipt");
    assert_eq!(
        data["position"].as_str(),
        Some(receipt_position.as_str()),
        "the answer and the receipt name one position"
    );
    (
        data["faultReport"]["id"]
            .as_str()
            .expect("an id")
            .to_owned(),
        receipt_position,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_node_is_read_on_another_after_its_position() {
    let first = TestServer::start().await;
    let (second, held) = first.lagging_second_node().await;
    let resident = first.token("resident");
    held.store(true, Ordering::SeqCst);

    let (id, position) = report_fault(&first).await;

    // Without the header the lagging node answers from where it is: not there yet.
    let stale = second
        .gql(Some(&resident), REPORT, json!({ "id": id }))
        .await;
    stale.assert_refused_code("NOT_FOUND");

    // With it, the same node answers once it has passed the write: here when its feed is
    // let go, a moment after the request arrived.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        held.store(false, Ordering::SeqCst);
    });
    let fresh = second
        .gql_with_headers(
            &resident,
            &[("Talo-After-Position", position.as_bytes())],
            REPORT,
            json!({ "id": id }),
        )
        .await;
    release.await.expect("the feed is let go");
    assert_eq!(fresh.data()["faultReport"]["id"], id.as_str());
    assert_eq!(fresh.data()["faultReport"]["status"], "REPORTED");

    // A position already passed costs nothing, and the header's name is case-insensitive.
    let again = first
        .gql_with_headers(
            &resident,
            &[("talo-after-position", position.as_bytes())],
            REPORT,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(again.data()["faultReport"]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_the_node_does_not_reach_in_time_is_refused_naming_it() {
    let server = TestServer::with_read_your_writes_timeout(Duration::from_millis(300)).await;
    let head = server.talo.store.head().await.expect("head");
    let beyond = Position::sequence(head.commit + 1_000_000).to_string();
    let started = std::time::Instant::now();
    let answer = server
        .gql_with_headers(
            &server.token("resident"),
            &[("Talo-After-Position", beyond.as_bytes())],
            MY_REPORTS,
            json!({}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waits the node's timeout"
    );
    assert_eq!(answer.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    answer.assert_refused_code("NOT_YET_VISIBLE");
    let message = answer.message();
    assert!(
        message.starts_with(&format!(
            "Talo-After-Position {beyond}: this node has not reached it yet"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("reached position {head}")),
        "says how far the node is: {message}"
    );
    assert!(answer.body["data"].is_null(), "nothing is answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_position_is_refused_naming_the_header_and_the_format() {
    let server = TestServer::start().await;
    let token = server.token("resident");
    for bad in [&b"yesterday"[..], b"12/x", b"\xfe\xff"] {
        let answer = server
            .gql_with_headers(
                &token,
                &[("Talo-After-Position", bad)],
                MY_REPORTS,
                json!({}),
            )
            .await;
        assert_eq!(answer.status, axum::http::StatusCode::BAD_REQUEST);
        answer.assert_refused_code("BAD_REQUEST");
        assert!(
            answer
                .message()
                .starts_with("Talo-After-Position: expected a position")
                && answer.message().contains("`commit/prepare`"),
            "{}",
            answer.message()
        );
    }
    let twice = server
        .gql_with_headers(
            &token,
            &[("Talo-After-Position", b"1"), ("Talo-After-Position", b"2")],
            MY_REPORTS,
            json!({}),
        )
        .await;
    twice.assert_refused_code("BAD_REQUEST");
    assert_eq!(
        twice.message(),
        "Talo-After-Position: give one position, not 2"
    );
}
