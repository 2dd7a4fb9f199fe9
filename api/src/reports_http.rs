//! `GET /reports/{name}.csv?from=...&until=...`: any operational report as a CSV file. The
//! parameters are the GraphQL input's fields by the same names; the token and the scope are the
//! same as GraphQL's, and so are the rows (both come from `reports::Report::run`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::document_http::{caller, error_response};
use crate::error::ApiError;
use crate::reports;
use crate::talo::Talo;

pub async fn download(
    State(talo): State<Arc<Talo>>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let talo_for_run = talo.clone();
    let run = move || {
        let talo = talo_for_run;
        let caller = caller(&talo, &headers)?;
        let name = file.strip_suffix(".csv").ok_or_else(|| {
            ApiError::NotFound(format!(
                "/reports/{file}: reports are downloaded as `<name>.csv`"
            ))
        })?;
        let now = talo.now();
        let principal = talo.principal(caller, now)?;
        let csv =
            reports::csv_for(name, &talo, principal, now, query.as_deref().unwrap_or(""))
                .ok_or_else(|| ApiError::NotFound(format!("/reports/{file}: no such report")))??;
        Ok::<_, ApiError>((name.to_owned(), csv))
    };
    // A download is a whole report, rendered too: on the blocking pool, whichever it is, as
    // files are asked for seldom and the long ones would hold up an async worker
    // (`Report::ON_BLOCKING_POOL`).
    let ran = tokio::task::spawn_blocking(run)
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("the report stopped: {e}"))));
    match ran {
        Ok((name, csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}
