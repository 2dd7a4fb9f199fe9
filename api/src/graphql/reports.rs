//! The operational reports as GraphQL queries: each resolver runs one `reports::Report` for the
//! caller, the same computation the CSV download runs.

use async_graphql::Context;

use crate::error::{ApiError, IntoGraphql};
use crate::graphql::session::Session;
use crate::reports::{self, Report};

/// Runs report `R` for the signed-in caller: on the blocking pool if it says it is long
/// ([`Report::ON_BLOCKING_POOL`]).
pub(crate) async fn run<R: Report>(
    ctx: &Context<'_>,
    input: R::Input,
) -> async_graphql::Result<Vec<R::Row>> {
    let session = Session::of(ctx).gql()?;
    let principal = session.principal().gql()?;
    let (talo, now) = (session.talo.clone(), session.now);
    if !R::ON_BLOCKING_POOL {
        return reports::run::<R>(&talo, principal, now, input).gql();
    }
    tokio::task::spawn_blocking(move || reports::run::<R>(&talo, principal, now, input))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("the report stopped: {e}"))))
        .gql()
}
