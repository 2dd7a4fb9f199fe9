//! The GraphQL schema: one root per area merged into `Query` and `Mutation`. Resolvers stay
//! thin: read the session, parse input, build a command, dispatch, map the result.

pub mod announcements;
pub mod as_of;
pub mod audit;
pub mod bookings;
pub mod business_reports;
pub mod documents;
pub mod enums;
pub mod fault_reports;
pub mod housing;
pub mod ledger;
pub mod me;
pub mod messages;
pub mod notifications;
pub mod pagination;
pub mod property_register;
pub mod renovations;
pub mod reports;
pub mod service_requests;
pub mod session;
pub mod work_item_reports;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::talo::Talo;

#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    fault_reports::FaultReportQuery,
    messages::MessageQuery,
    audit::AuditQuery,
    service_requests::ServiceRequestQuery,
    renovations::RenovationQuery,
    announcements::AnnouncementQuery,
    documents::DocumentQuery,
    property_register::PropertyRegisterQuery,
    housing::HousingQuery,
    notifications::NotificationQuery,
    bookings::BookingQuery,
    ledger::LedgerQuery,
    work_item_reports::WorkItemReportQuery,
    as_of::AsOfQuery,
    business_reports::BusinessReportQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    fault_reports::FaultReportMutation,
    service_requests::ServiceRequestMutation,
    renovations::RenovationMutation,
    announcements::AnnouncementMutation,
    documents::DocumentMutation,
    property_register::PropertyRegisterMutation,
    messages::MessageMutation,
    housing::HousingMutation,
    bookings::BookingMutation,
    ledger::LedgerMutation,
    work_item_reports::ServiceLevelMutation,
);

pub type TaloSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with its limits; `talo` is available to every resolver.
pub fn schema(talo: Arc<Talo>) -> TaloSchema {
    let limits = talo.config.limits.clone();
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .data(talo)
        .finish()
}

/// The schema's SDL, committed as `api/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}
