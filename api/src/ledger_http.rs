//! `POST /ledger/camt054`: imports a bank statement of reference payments (ISO 20022 camt.054,
//! the XML as the body) for the caller's organisation. Same token and rules as GraphQL (the
//! property manager or customer service); errors answer in GraphQL's error shape. The answer
//! lists every payment of the file with what became of it; importing the same file again
//! records nothing new.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use talo_events_schema::envelope::Channel;
use uuid::Uuid;

use crate::camt054;
use crate::dispatch::Request;
use crate::document_http::{caller, error_response};
use crate::error::ApiError;
use crate::ledger::{ImportOutcome, ImportedPayment};
use crate::talo::Talo;

fn outcome_json(imported: &ImportedPayment) -> Value {
    let p = &imported.payment;
    let mut row = json!({
        "path": p.path,
        "externalId": p.external_id,
        "amountCents": p.amount_cents,
        "currency": p.currency,
        "bookedOn": p.booked_on,
        "reference": p.reference,
        "payerName": p.payer_name,
    });
    let (outcome, extra) = match &imported.outcome {
        ImportOutcome::Matched {
            contract_id,
            payment_id,
        } => (
            "matched",
            json!({ "contractId": contract_id, "paymentId": payment_id }),
        ),
        ImportOutcome::Unmatched { payment_id, reason } => (
            "unmatched",
            json!({ "paymentId": payment_id, "reason": reason }),
        ),
        ImportOutcome::AlreadyRecorded { payment_id } => {
            ("already_recorded", json!({ "paymentId": payment_id }))
        }
        ImportOutcome::Ignored { why } => ("ignored", json!({ "message": why })),
        ImportOutcome::Refused { message } => ("refused", json!({ "message": message })),
    };
    row["outcome"] = json!(outcome);
    if let (Some(row), Value::Object(extra)) = (row.as_object_mut(), extra) {
        row.extend(extra);
    }
    row
}

/// `POST /ledger/camt054`, the statement's XML as the body.
pub async fn import_camt054(
    State(talo): State<Arc<Talo>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let caller = caller(&talo, &headers)?;
        let bytes = raw.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::Rejected(talo_domain::Rejection {
                kind: talo_domain::RejectionKind::TooLarge,
                rule: "camt054.too_large",
                field: Some("body"),
                message: format!(
                    "body: must be at most {} bytes",
                    talo.config.limits.max_statement_bytes
                ),
            }),
            _ => ApiError::bad_input("body", "body.unreadable", rejection.body_text()),
        })?;
        let request = Request {
            caller,
            channel: Channel::System,
            occurred_at: talo.now(),
            idempotency_key: None,
            correlation_id: Uuid::now_v7(),
        };
        // Who may import is checked before the file is read.
        talo.dispatcher.check_statement_importer(&request)?;
        let xml = std::str::from_utf8(&bytes).map_err(|e| {
            ApiError::bad_input("body", "camt054.encoding", format!("not UTF-8 text ({e})"))
        })?;
        let statement =
            camt054::parse(xml).map_err(|e| ApiError::bad_input("body", e.rule, e.message))?;
        talo.dispatcher
            .import_statement(&request, statement, &talo.config.bank_account)
            .await
    };
    match run.await {
        Ok(imported) => {
            let count = |name: &str| {
                imported
                    .iter()
                    .filter(|i| outcome_json(i)["outcome"] == name)
                    .count()
            };
            let body = json!({
                "matched": count("matched"),
                "unmatched": count("unmatched"),
                "alreadyRecorded": count("already_recorded"),
                "ignored": count("ignored"),
                "refused": count("refused"),
                "payments": imported.iter().map(outcome_json).collect::<Vec<_>>(),
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(e) => error_response(&e),
    }
}
