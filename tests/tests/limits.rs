//! Limits against abuse, each with a clear error, and the operational endpoints.

use axum::http::StatusCode;
use serde_json::json;
use talo_tests::*;

#[tokio::test]
async fn a_query_nested_too_deep_is_refused() {
    let server = TestServer::start().await;
    let levels = 14;
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(levels),
        "} ".repeat(levels)
    );
    let answer = server.as_role("resident", &deep, json!({})).await;
    assert_eq!(answer.code(), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        answer.message().contains("nested too deep"),
        "{}",
        answer.message()
    );
}

#[tokio::test]
async fn a_query_too_complex_is_refused() {
    let server = TestServer::start().await;
    let fields = (0..1100)
        .map(|i| format!("a{i}: me {{ name }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let answer = server
        .as_role("resident", &format!("{{ {fields} }}"), json!({}))
        .await;
    assert_eq!(answer.code(), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        answer.message().contains("too complex"),
        "{}",
        answer.message()
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_graphql() {
    let server = TestServer::start().await;
    let huge =
        json!({ "query": "{ me { name } }", "variables": { "padding": "x".repeat(70 * 1024) } })
            .to_string();
    let answer = server
        .post_raw(Some(&format!("Bearer {}", server.token("resident"))), huge)
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
    assert!(
        answer.message().starts_with("body:"),
        "{}",
        answer.message()
    );
}

#[tokio::test]
async fn a_malformed_body_is_a_bad_request() {
    let server = TestServer::start().await;
    let answer = server.post_raw(None, "{\"query\": ".into()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    let not_graphql = server.post_raw(None, "[1, 2]".into()).await;
    assert_eq!(not_graphql.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn page_sizes_and_cursors_are_checked() {
    let server = TestServer::start().await;
    let too_big = server
        .as_role(
            "property_manager",
            "{ faultReportQueue(first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    too_big.assert_refused("BAD_USER_INPUT", "page.size");
    let zero = server
        .as_role(
            "property_manager",
            "{ faultReportQueue(first: 0) { totalCount } }",
            json!({}),
        )
        .await;
    zero.assert_refused("BAD_USER_INPUT", "page.size");
    let cursor = server
        .as_role(
            "property_manager",
            r#"{ faultReportQueue(after: "nonsense") { totalCount } }"#,
            json!({}),
        )
        .await;
    cursor.assert_refused("BAD_USER_INPUT", "page.cursor");
    let audit = server
        .as_role(
            "auditor",
            r#"{ auditLog(after: "x/y") { edges { cursor } } }"#,
            json!({}),
        )
        .await;
    audit.assert_refused("BAD_USER_INPUT", "page.cursor");
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        report_as_resident(&server).await;
    }
    let query = "query($after: String) { faultReportQueue(first: 2, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage } } }";
    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    let total = loop {
        let page = server
            .as_role("customer_service", query, json!({ "after": after }))
            .await;
        let data = page.data()["faultReportQueue"].clone();
        for edge in data["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].as_str().unwrap().to_owned());
            after = Some(edge["cursor"].as_str().unwrap().to_owned());
        }
        if data["pageInfo"]["hasNextPage"] != true {
            break data["totalCount"].as_u64().unwrap() as usize;
        }
    };
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (total, total));
    assert!(total >= 5);
}

#[tokio::test]
async fn health_readiness_metrics_and_graphiql_are_served() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await, (StatusCode::OK, "ok".into()));
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ready.contains("\"ready\":true"), "{ready}");
    report_as_resident(&server).await;
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("talo_events_appended_total{event_type=\"FaultReported\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("talo_projection_position{projection=\"fault_reports\"}"),
        "{metrics}"
    );
    let (status, page) = server.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("graphiql"), "GraphiQL page");
}
