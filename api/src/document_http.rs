//! The document archive's file endpoints: `POST /documents` (a new document, the raw file as
//! the body), `POST /documents/{id}/versions` and `GET /documents/{id}/content`. Same token and
//! same rules as GraphQL; errors answer in GraphQL's error shape with a fitting HTTP status.
//! Listing and metadata changes are GraphQL (`graphql/documents.rs`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use talo_domain::document::{self, AddDocument, DocumentCommand, DocumentFile};
use talo_events_schema::document::{DocumentAudience, DocumentCategory};
use talo_events_schema::envelope::Channel;
use uuid::Uuid;

use crate::auth::Caller;
use crate::blobs::sha256_hex;
use crate::dispatch::{Outcome, Request};
use crate::error::ApiError;
use crate::talo::Talo;

/// Bytes read from disk per chunk of a download.
const CHUNK: usize = 64 * 1024;

/// An error as an HTTP answer: GraphQL's error shape, the status its code stands for.
pub fn error_response(error: &ApiError) -> Response {
    if let ApiError::Internal(cause) = error {
        tracing::error!(%cause, "internal error");
    }
    let code = error.code();
    let status = match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "CONFLICT" => StatusCode::CONFLICT,
        "PAYLOAD_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
        "UNSUPPORTED_MEDIA_TYPE" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "NOT_YET_VISIBLE" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut extensions = json!({ "code": code });
    if let Some(rule) = error.rule() {
        extensions["rule"] = json!(rule);
    }
    if let Some(field) = error.field() {
        extensions["field"] = json!(field);
    }
    let body = json!({ "data": null, "errors": [{ "message": error.to_string(), "extensions": extensions }] });
    (status, Json(body)).into_response()
}

pub(crate) fn caller(talo: &Talo, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(ApiError::unauthenticated)?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("authorization: not a valid header value".into()))?;
    talo.keys.verify_header(value)
}

/// Query parameters, each checked and named when missing or malformed.
struct Params(HashMap<String, String>);

impl Params {
    fn required(&self, name: &'static str) -> Result<&str, ApiError> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::bad_input(name, "query.required", "is required"))
    }

    fn uuid(&self, name: &'static str) -> Result<Uuid, ApiError> {
        Uuid::parse_str(self.required(name)?)
            .map_err(|_| ApiError::bad_input(name, "query.format", "must be a UUID"))
    }

    /// A snake_case name of a domain enum (`chair_only`); the GraphQL form (`CHAIR_ONLY`) too.
    fn named<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
        choices: &str,
    ) -> Result<T, ApiError> {
        let value = self.required(name)?.to_ascii_lowercase();
        serde_json::from_value(json!(value)).map_err(|_| {
            ApiError::bad_input(name, "query.format", format!("must be one of {choices}"))
        })
    }

    fn version(&self) -> Result<Option<u32>, ApiError> {
        match self.0.get("version") {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_input(
                        "version",
                        "query.format",
                        "must be a version number from 1",
                    )
                }),
        }
    }

    fn request(
        &self,
        caller: Caller,
        talo: &Talo,
        headers: &HeaderMap,
    ) -> Result<Request, ApiError> {
        let key = self.0.get("idempotencyKey").cloned().or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        if let Some(key) = &key
            && (key.trim().is_empty()
                || key.chars().count() > 100
                || key.chars().any(char::is_control))
        {
            return Err(ApiError::bad_input(
                "idempotencyKey",
                "idempotency_key.format",
                "must be 1-100 printable characters",
            ));
        }
        Ok(Request {
            caller,
            channel: Channel::Portal,
            occurred_at: talo.now(),
            idempotency_key: key.map(|k| k.trim().to_owned()),
            correlation_id: Uuid::now_v7(),
        })
    }
}

/// The uploaded body, or the error its reading ended in.
fn body(talo: &Talo, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Rejected(talo_domain::Rejection {
            kind: talo_domain::RejectionKind::TooLarge,
            rule: "document.too_large",
            field: Some("body"),
            message: format!(
                "body: must be at most {} bytes",
                talo.config.limits.max_document_bytes
            ),
        }),
        _ => ApiError::bad_input("body", "body.unreadable", rejection.body_text()),
    })
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Hashes the bytes off the async runtime.
async fn hash(bytes: Bytes) -> Result<(String, Bytes), ApiError> {
    tokio::task::spawn_blocking(move || (sha256_hex(&bytes), bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing: {e}")))
}

/// Writes the bytes under their hash (atomically, deduplicated).
async fn store(talo: Arc<Talo>, bytes: Bytes) -> Result<(), ApiError> {
    tokio::task::spawn_blocking(move || talo.blobs.put(&bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("storing: {e}")))?
        .map(|_| ())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The answer to an upload: which document, which version, which bytes.
fn uploaded(talo: &Talo, caller: Caller, document_id: Uuid, outcome: Outcome) -> Response {
    let found = talo.principal(caller, talo.now()).and_then(|principal| {
        let view = talo.read_models.documents.read();
        let (record, _) = view
            .visible(&principal, document_id)
            .ok_or_else(|| ApiError::Rejected(document::not_visible()))?;
        let version = record
            .versions
            .iter()
            .find(|v| v.position == outcome.position)
            .or_else(|| record.latest())
            .cloned()
            .ok_or_else(|| ApiError::Internal("a document without versions".into()))?;
        Ok(json!({
            "documentId": document_id,
            "version": version.version,
            "sha256": version.sha256,
            "sizeBytes": version.size_bytes,
            "contentType": version.content_type,
            "position": outcome.position.to_string(),
            "replayed": outcome.replayed,
        }))
    });
    match found {
        Ok(body) => {
            let status = if outcome.replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (status, Json(body)).into_response()
        }
        Err(e) => error_response(&e),
    }
}

/// `POST /documents?propertyId=…&title=…&category=…&audience=…&filename=…`, the file as the
/// body with its `Content-Type`.
pub async fn upload(
    State(talo): State<Arc<Talo>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let caller = caller(&talo, &headers)?;
        let params = Params(params);
        let property_id = params.uuid("propertyId")?;
        let title = params.required("title")?.to_owned();
        let category: DocumentCategory = params.named(
            "category",
            "picture, drawing, minutes, meeting_memo, financial_statement, other",
        )?;
        let audience: DocumentAudience =
            params.named("audience", "chair_only, board, shareholders, all_residents")?;
        let filename = params.required("filename")?.to_owned();
        let request = params.request(caller, &talo, &headers)?;
        let (sha256, bytes) = hash(body(&talo, raw)?).await?;
        let document_id = request.new_entity_id("document");
        let command = AddDocument {
            document_id,
            property_id,
            title,
            category,
            audience,
            file: DocumentFile {
                filename,
                content_type: content_type(&headers),
                size_bytes: bytes.len() as u64,
                sha256,
            },
        };
        let outcome = talo
            .dispatcher
            .add_document(
                &request,
                command,
                &talo.upload_limits(),
                store(talo.clone(), bytes),
            )
            .await?;
        Ok::<_, ApiError>((caller, document_id, outcome))
    };
    match run.await {
        Ok((caller, id, outcome)) => uploaded(&talo, caller, id, outcome),
        Err(e) => error_response(&e),
    }
}

/// `POST /documents/{id}/versions?filename=…`, the new file as the body.
pub async fn upload_version(
    State(talo): State<Arc<Talo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let caller = caller(&talo, &headers)?;
        let document_id = document_id(&id)?;
        let params = Params(params);
        let filename = params.required("filename")?.to_owned();
        let request = params.request(caller, &talo, &headers)?;
        let (sha256, bytes) = hash(body(&talo, raw)?).await?;
        let command = DocumentCommand::AddVersion {
            file: DocumentFile {
                filename,
                content_type: content_type(&headers),
                size_bytes: bytes.len() as u64,
                sha256,
            },
        };
        let outcome = talo
            .dispatcher
            .add_document_version(
                &request,
                document_id,
                command,
                &talo.upload_limits(),
                store(talo.clone(), bytes),
            )
            .await?;
        Ok::<_, ApiError>((caller, document_id, outcome))
    };
    match run.await {
        Ok((caller, id, outcome)) => uploaded(&talo, caller, id, outcome),
        Err(e) => error_response(&e),
    }
}

fn document_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::bad_input("id", "query.format", "must be a UUID"))
}

/// `GET /documents/{id}/content[?version=N]`: the bytes of the latest (or the given) version,
/// with the stored content type, if the caller may read the document now.
pub async fn download(
    State(talo): State<Arc<Talo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let found = (|| {
        let caller = caller(&talo, &headers)?;
        let document_id = document_id(&id)?;
        let wanted = Params(params).version()?;
        let principal = talo.principal(caller, talo.now())?;
        let view = talo.read_models.documents.read();
        let (record, _) = view
            .visible(&principal, document_id)
            .ok_or_else(|| ApiError::Rejected(document::not_visible()))?;
        let version = match wanted {
            None => record.latest(),
            Some(n) => record.version(n),
        }
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "version: the document has no version {}",
                wanted.unwrap_or(0)
            ))
        })?
        .clone();
        let path = talo
            .blobs
            .path(&version.sha256)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok::<_, ApiError>((version, path))
    })();
    let (version, path) = match found {
        Ok(found) => found,
        Err(e) => return error_response(&e),
    };
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            return error_response(&ApiError::Internal(format!(
                "content `{}`: {e}",
                path.display()
            )));
        }
    };
    let stream = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0u8; CHUNK];
            let n = file.read(&mut chunk)?;
            chunk.truncate(n);
            Ok::<_, std::io::Error>((file, chunk))
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        match read {
            Ok((_, chunk)) if chunk.is_empty() => None,
            Ok((file, chunk)) => Some((Ok(Bytes::from(chunk)), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    let text = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    headers.insert(header::CONTENT_TYPE, text(&version.content_type));
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(version.size_bytes),
    );
    headers.insert(header::ETAG, text(&format!("\"{}\"", version.sha256)));
    let ascii_name: String = version
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    headers.insert(
        header::CONTENT_DISPOSITION,
        text(&format!("attachment; filename=\"{ascii_name}\"")),
    );
    headers.insert("x-document-version", HeaderValue::from(version.version));
    response
}
