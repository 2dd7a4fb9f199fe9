//! The operational reports as GraphQL queries: each resolver runs one `reports::Report` for the
//! caller, the same computation the CSV download runs.

use async_graphql::Context;

use crate::error::{ApiError, IntoGraphql};
use crate::graphql::session::Session;
use crate::reports::{self, Report};

/// Runs report `R` for the signed-in caller, on the blocking pool: a report over a large
/// organisation is tens to hundreds of milliseconds of CPU, and on an async worker it would
/// hold up every request and projection task queued behind it there (with a report asked
/// without pause, other requests' p99 was 70-100 ms on two cores).
pub(crate) async fn run<R: Report>(
    ctx: &Context<'_>,
    input: R::Input,
) -> async_graphql::Result<Vec<R::Row>> {
    let session = Session::of(ctx).gql()?;
    let principal = session.principal().gql()?;
    let (talo, now) = (session.talo.clone(), session.now);
    tokio::task::spawn_blocking(move || reports::run::<R>(&talo, principal, now, input))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("the report stopped: {e}"))))
        .gql()
}
