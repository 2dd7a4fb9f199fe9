//! The operational reports as GraphQL queries: each resolver runs one `reports::Report` for the
//! caller, the same computation the CSV download runs.

use async_graphql::Context;

use crate::error::IntoGraphql;
use crate::graphql::session::Session;
use crate::reports::{self, Report};

/// Runs report `R` for the signed-in caller.
pub(crate) fn run<R: Report>(
    ctx: &Context<'_>,
    input: R::Input,
) -> async_graphql::Result<Vec<R::Row>> {
    let session = Session::of(ctx).gql()?;
    let principal = session.principal().gql()?;
    reports::run::<R>(session.talo, principal, session.now, input).gql()
}
