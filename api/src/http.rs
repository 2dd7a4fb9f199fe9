//! The HTTP surface: `/graphql` (POST), GraphiQL at `/`, `/healthz`, `/readyz`, `/metrics`,
//! the document archive's file endpoints (`document_http.rs`) and the bank statement import
//! (`ledger_http.rs`) and the reports as CSV (`reports_http.rs`).
//!
//! The token and the body are checked here, before GraphQL runs: a malformed token or body is
//! answered with a GraphQL-shaped error and never reaches a resolver, let alone the domain.
//! So is `Talo-After-Position` (`after_position.rs`): a request naming a position is answered
//! once this node's read models have passed it.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::after_position;
use crate::document_http;
use crate::graphql::session::RequestTime;
use crate::graphql::{TaloSchema, schema};
use crate::ledger_http;
use crate::receipts::{Receipt, ReceiptBook, receipt_for};
use crate::reports_http;
use crate::talo::Talo;

#[derive(Clone)]
struct AppState {
    talo: Arc<Talo>,
    schema: TaloSchema,
}

impl FromRef<AppState> for Arc<Talo> {
    fn from_ref(state: &AppState) -> Self {
        state.talo.clone()
    }
}

/// The whole HTTP application; tests call it with `oneshot`, `talo serve` binds it to a port.
pub fn app(talo: Arc<Talo>) -> Router {
    let max_body = talo.config.limits.max_body_bytes;
    // Files are larger than GraphQL requests: the upload routes have their own limit.
    let max_document = DefaultBodyLimit::max(talo.config.limits.max_document_bytes);
    let max_statement = DefaultBodyLimit::max(talo.config.limits.max_statement_bytes);
    let state = AppState {
        schema: schema(talo.clone()),
        talo,
    };
    Router::new()
        .route("/", get(graphiql))
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/documents",
            post(document_http::upload).layer(max_document),
        )
        .route(
            "/documents/{id}/versions",
            post(document_http::upload_version).layer(max_document),
        )
        .route("/documents/{id}/content", get(document_http::download))
        .route("/reports/{file}", get(reports_http::download))
        .route(
            "/ledger/camt054",
            post(ledger_http::import_camt054).layer(max_statement),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// A GraphQL-shaped error for requests refused before GraphQL runs.
fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "data": null, "errors": [{ "message": message.into(), "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let verified = value
                .to_str()
                .map_err(|_| {
                    crate::error::ApiError::Unauthenticated(
                        "authorization: not a valid header value".into(),
                    )
                })
                .and_then(|v| state.talo.keys.verify_header(v));
            match verified {
                Ok(caller) => Some(caller),
                Err(e) => {
                    state.talo.metrics.graphql_request(false);
                    return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string());
                }
            }
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            state.talo.metrics.graphql_request(false);
            let limit = state.talo.config.limits.max_body_bytes;
            return match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("body: must be at most {limit} bytes"),
                ),
                status => refuse(
                    status,
                    "BAD_REQUEST",
                    format!("body: {}", rejection.body_text()),
                ),
            };
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            state.talo.metrics.graphql_request(false);
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("body: not a GraphQL request ({e})"),
            );
        }
    };
    match after_position::requested(&headers) {
        Ok(None) => {}
        Ok(Some(position)) => {
            if let Err(lag) = after_position::wait(&state.talo, position).await {
                state.talo.metrics.graphql_request(false);
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "NOT_YET_VISIBLE",
                    after_position::not_yet_visible(position, &lag),
                );
            }
        }
        Err(e) => {
            state.talo.metrics.graphql_request(false);
            return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.to_string());
        }
    }
    let mut request = request.data(RequestTime(state.talo.now()));
    if let Some(caller) = caller {
        request = request.data(caller);
    }
    let book = ReceiptBook::default();
    let mut response = book.keep(state.schema.execute(request)).await;
    let receipts = receipts_of(&state.talo, &book).await;
    if !receipts.is_empty() {
        response.extensions.insert(
            "receipts".into(),
            async_graphql::Value::from_json(json!(receipts)).unwrap_or_default(),
        );
    }
    for error in &mut response.errors {
        // Parse and validation errors (depth, complexity, unknown fields) and input coercion
        // errors come from async-graphql without a code; give them one so clients can branch.
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let bad_value = error.message.starts_with("Invalid value for argument")
                || error.message.starts_with("Failed to parse");
            let code = if bad_value || !error.path.is_empty() {
                "BAD_USER_INPUT"
            } else {
                "GRAPHQL_VALIDATION_FAILED"
            };
            extensions.set("code", code);
        }
    }
    state
        .talo
        .metrics
        .graphql_request(response.errors.is_empty());
    Json(response).into_response()
}

/// The receipts of the commands a request ran. A receipt that cannot be read back (the store
/// failing right after the write) is left out rather than failing the answer.
async fn receipts_of(talo: &Talo, book: &ReceiptBook) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    for outcome in book.outcomes() {
        match receipt_for(talo.store.as_ref(), &outcome).await {
            Ok(Some(receipt)) => receipts.push(receipt),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "receipt not read back"),
        }
    }
    receipts
}

async fn readyz(State(state): State<AppState>) -> Response {
    let statuses = state.talo.read_models.statuses();
    let body = json!({
        "ready": state.talo.is_ready(),
        "read_models": statuses.iter().map(|s| json!({
            "name": s.name,
            "position": s.position.to_string(),
            "started_from": s.started_from.to_string(),
            "applied_since_start": s.applied_since_start,
            "failure": s.failure,
        })).collect::<Vec<_>>(),
    });
    let status = if state.talo.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state
        .talo
        .metrics
        .render(&state.talo.read_models.statuses());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
