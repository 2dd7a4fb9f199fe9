//! The work-item reports as queries (each runs the `reports::work_items` report of the same
//! name, as the CSV download does), and the organisation's service-level promises: read by
//! office staff and auditors, set by an organisation-wide property manager.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use talo_events_schema::envelope::Channel;
use talo_events_schema::service_level::{ServiceLevelTarget, ServiceLevelTargetsSet};

use crate::error::IntoGraphql;
use crate::graphql::reports::run;
use crate::graphql::session::Session;
use crate::reports::ReportScope;
use crate::reports::work_items::*;

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "PromiseUnit",
    remote = "talo_events_schema::service_level::PromiseUnit"
)]
pub enum PromiseUnitGql {
    WorkingDays,
    CalendarDays,
}

/// One promise: `milestone` of `process` within `amount` `unit`s of the item's creation, by
/// the end of that day in the property's calendar.
#[derive(SimpleObject, InputObject, Clone, Copy, Debug)]
#[graphql(input_name = "ServiceLevelTargetInput")]
pub struct ServiceLevelTargetGql {
    pub process: WorkProcessGql,
    pub milestone: MilestoneGql,
    pub amount: u32,
    pub unit: PromiseUnitGql,
}

impl From<ServiceLevelTarget> for ServiceLevelTargetGql {
    fn from(t: ServiceLevelTarget) -> Self {
        ServiceLevelTargetGql {
            process: t.process.into(),
            milestone: t.milestone.into(),
            amount: t.amount,
            unit: t.unit.into(),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct ServiceLevels {
    pub targets: Vec<ServiceLevelTargetGql>,
    /// An open item is at risk once less than this share of its allowed time remains.
    pub at_risk_percent: u32,
}

#[derive(InputObject, Debug)]
pub struct SetServiceLevelsInput {
    pub idempotency_key: String,
    /// The whole set: a process or milestone left out has no promise from now on.
    pub targets: Vec<ServiceLevelTargetGql>,
    pub at_risk_percent: u32,
}

#[derive(SimpleObject, Debug)]
pub struct ServiceLevelsPayload {
    pub service_levels: ServiceLevels,
    pub position: String,
    pub replayed: bool,
}

fn current(session: &Session<'_>) -> ServiceLevels {
    let levels = session
        .talo
        .read_models
        .work_items
        .read()
        .service_levels(session.caller.organisation_id);
    ServiceLevels {
        targets: levels.targets.into_iter().map(Into::into).collect(),
        at_risk_percent: levels.at_risk_percent,
    }
}

#[derive(Default)]
pub struct WorkItemReportQuery;

#[Object]
impl WorkItemReportQuery {
    /// The promises in force for new items (until set, the defaults).
    async fn service_levels(&self, ctx: &Context<'_>) -> Result<ServiceLevels> {
        let session = Session::of(ctx).gql()?;
        ReportScope::of(session.principal().gql()?).gql()?;
        Ok(current(&session))
    }

    /// Open items now per process, property, status, age and assignee. CSV: `/reports/queue.csv`.
    async fn queue_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: QueueReportInput,
    ) -> Result<Vec<QueueReportRow>> {
        run::<QueueReport>(ctx, input).await
    }

    /// Items created in a range, each with its promises: due, met, breached or at risk.
    /// CSV: `/reports/work-items.csv`.
    async fn work_items_report(
        &self,
        ctx: &Context<'_>,
        input: WorkItemsReportInput,
    ) -> Result<Vec<WorkItemRow>> {
        run::<WorkItemsReport>(ctx, input).await
    }

    /// Promises met, breached, at risk and on track per process, milestone and property.
    /// CSV: `/reports/service-levels.csv`.
    async fn service_level_report(
        &self,
        ctx: &Context<'_>,
        input: ServiceLevelReportInput,
    ) -> Result<Vec<ServiceLevelReportRow>> {
        run::<ServiceLevelReport>(ctx, input).await
    }

    /// Created, closed, response and closing times, breaches, reopenings and backlog per week
    /// or month and group. CSV: `/reports/flow.csv`.
    async fn flow_report(
        &self,
        ctx: &Context<'_>,
        input: FlowReportInput,
    ) -> Result<Vec<FlowReportRow>> {
        run::<FlowReport>(ctx, input).await
    }

    /// Per contractor company: assigned, resolved, on time, reopened, confirmed by residents.
    /// CSV: `/reports/contractor-performance.csv`.
    async fn contractor_performance_report(
        &self,
        ctx: &Context<'_>,
        input: ContractorReportInput,
    ) -> Result<Vec<ContractorReportRow>> {
        run::<ContractorReport>(ctx, input).await
    }

    /// How items came in (portal, phone, email, office...) per period and property.
    /// CSV: `/reports/channel-mix.csv`.
    async fn channel_mix_report(
        &self,
        ctx: &Context<'_>,
        input: ChannelMixReportInput,
    ) -> Result<Vec<ChannelMixReportRow>> {
        run::<ChannelMixReport>(ctx, input).await
    }
}

#[derive(Default)]
pub struct ServiceLevelMutation;

#[Object]
impl ServiceLevelMutation {
    /// Sets the organisation's promises for items created from now on; items already open
    /// keep the promise they came in with.
    async fn set_service_levels(
        &self,
        ctx: &Context<'_>,
        input: SetServiceLevelsInput,
    ) -> Result<ServiceLevelsPayload> {
        let session = Session::of(ctx).gql()?;
        let request = session
            .request(Channel::Portal, &input.idempotency_key)
            .gql()?;
        let command = ServiceLevelTargetsSet {
            targets: input
                .targets
                .iter()
                .map(|t| ServiceLevelTarget {
                    process: t.process.into(),
                    milestone: t.milestone.into(),
                    amount: t.amount,
                    unit: t.unit.into(),
                })
                .collect(),
            at_risk_percent: input.at_risk_percent,
        };
        let outcome = session
            .talo
            .dispatcher
            .set_service_levels(&request, command)
            .await
            .gql()?;
        Ok(ServiceLevelsPayload {
            service_levels: current(&session),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    }
}
