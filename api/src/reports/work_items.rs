//! The reports over work items (fault reports, message threads, service requests, renovation
//! requests): the queue now, every item with its promises, promises kept, flow per period,
//! contractor performance and channel mix. The numbers come from
//! `talo_projections::operations`; this module applies the scope and filters and names things.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::calendar::ReportingPeriod;
use talo_domain::service_level::PromiseState;
use talo_projections::operations;
use talo_projections::work_items::{PromiseStanding, WorkItem, WorkItemsView};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::enums::ChannelGql;
use crate::reports::names::Names;
use crate::reports::range::{rfc3339, rfc3339_opt};
use crate::reports::{Period, Report, ReportRange, ReportScope};
use crate::talo::Talo;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(
    name = "WorkProcess",
    remote = "talo_events_schema::service_level::WorkProcess"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkProcessGql {
    FaultReport,
    MessageThread,
    ServiceRequest,
    Renovation,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(
    name = "Milestone",
    remote = "talo_events_schema::service_level::Milestone"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MilestoneGql {
    FirstResponse,
    Resolution,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(
    name = "PromiseState",
    remote = "talo_domain::service_level::PromiseState"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PromiseStateGql {
    OnTrack,
    AtRisk,
    Met,
    Breached,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(name = "AgeBucket", remote = "talo_projections::operations::AgeBucket")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgeBucketGql {
    UnderOneDay,
    OneToSevenDays,
    SevenToThirtyDays,
    OverThirtyDays,
}

/// What the flow report groups by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlowGrouping {
    Property,
    /// The process's own category (a fault's category, a thread's topic, a form's name).
    Category,
    /// The contractor company holding the item (faults only have one).
    Contractor,
    /// The office person handling the item.
    Handler,
    Process,
}

fn keep(
    item: &WorkItem,
    scope: &ReportScope,
    property: Option<Uuid>,
    process: Option<WorkProcessGql>,
) -> bool {
    scope.includes(item.property_id, property)
        && process
            .is_none_or(|p| talo_events_schema::service_level::WorkProcess::from(p) == item.process)
}

fn read_items(talo: &Talo) -> talo_projections::engine::ReadGuard<'_, WorkItemsView> {
    talo.read_models.work_items.read()
}

// ---------------------------------------------------------------------------------------------
// The queue now.

/// Open items now. `from` and `until`, if given, narrow them to those created in that range.
#[derive(InputObject, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct QueueReportInput {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub property_id: Option<Uuid>,
    pub process: Option<WorkProcessGql>,
    /// Only items nobody in the office or at a contractor has been given.
    #[serde(default)]
    #[graphql(default)]
    pub unassigned_only: bool,
}

/// Open items counted per process, property, status, age and assignee.
#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct QueueReportRow {
    pub process: WorkProcessGql,
    pub property_id: Uuid,
    pub property_name: String,
    /// The process's own status, in `snake_case`.
    pub status: String,
    pub age: AgeBucketGql,
    pub handler_id: Option<Uuid>,
    pub handler_name: Option<String>,
    pub contractor_company_id: Option<Uuid>,
    pub contractor_name: Option<String>,
    pub open_items: u32,
}

pub struct QueueReport;

impl Report for QueueReport {
    const NAME: &'static str = "queue";
    type Input = QueueReportInput;
    type Row = QueueReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: QueueReportInput,
    ) -> Result<Vec<QueueReportRow>, ApiError> {
        let (from, until) = optional_range(input.from, input.until)?;
        let names = Names::of(talo, scope)?;
        let view = read_items(talo);
        let items = view
            .open_now(scope.organisation_id())
            .filter(|i| from <= i.created_at && i.created_at < until)
            .filter(|i| keep(i, scope, input.property_id, input.process))
            .filter(|i| !input.unassigned_only || !i.is_assigned());
        let rows = operations::queue(items, now);
        Ok(rows
            .into_iter()
            .map(|r| QueueReportRow {
                process: r.process.into(),
                property_id: r.property_id,
                property_name: names.property(r.property_id),
                status: r.status,
                age: r.age.into(),
                handler_id: r.handler_id,
                handler_name: r.handler_id.map(|p| names.person(p)),
                contractor_company_id: r.contractor_company_id,
                contractor_name: r.contractor_company_id.map(|c| names.contractor(c)),
                open_items: r.open_items,
            })
            .collect())
    }
}

/// An optional creation range: everything when neither end is given.
fn optional_range(
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = from.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let until = until.unwrap_or(DateTime::<Utc>::MAX_UTC);
    if until <= from {
        return Err(ApiError::bad_input(
            "until",
            "report.range",
            "must be after `from`",
        ));
    }
    Ok((from, until))
}

// ---------------------------------------------------------------------------------------------
// Every item with its promises.

/// Items created in `[from, until)`, each with its promises as they stand now.
#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemsReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
    pub process: Option<WorkProcessGql>,
    /// Only items still open now.
    #[serde(default)]
    #[graphql(default)]
    pub open_only: bool,
    #[serde(default)]
    #[graphql(default)]
    pub unassigned_only: bool,
    /// Only items with a promise in this state (either milestone): `BREACHED` or `AT_RISK`
    /// give the lists service recovery starts from.
    pub promise_state: Option<PromiseStateGql>,
}

#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemRow {
    pub item_id: Uuid,
    pub ticket: String,
    pub process: WorkProcessGql,
    pub property_id: Uuid,
    pub property_name: String,
    pub category: String,
    pub channel: ChannelGql,
    pub status: String,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    pub handler_id: Option<Uuid>,
    pub contractor_company_id: Option<Uuid>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub first_response_due: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_state: Option<PromiseStateGql>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub resolution_due: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_state: Option<PromiseStateGql>,
    pub reopen_count: u32,
}

pub struct WorkItemsReport;

impl Report for WorkItemsReport {
    const NAME: &'static str = "work-items";
    const ON_BLOCKING_POOL: bool = true;
    type Input = WorkItemsReportInput;
    type Row = WorkItemRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: WorkItemsReportInput,
    ) -> Result<Vec<WorkItemRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let names = Names::of(talo, scope)?;
        let wanted = input.promise_state.map(PromiseState::from);
        let view = read_items(talo);
        Ok(view
            .created_between(scope.organisation_id(), range.from, range.until)
            .filter(|i| keep(i, scope, input.property_id, input.process))
            .filter(|i| !input.open_only || i.is_open_at(now))
            .filter(|i| !input.unassigned_only || !i.is_assigned())
            .filter_map(|i| {
                let first = i.first_response_standing(now);
                let resolution = i.resolution_standing(now);
                let state = |s: Option<PromiseStanding>| s.map(|s| s.state);
                if wanted.is_some_and(|w| state(first) != Some(w) && state(resolution) != Some(w)) {
                    return None;
                }
                Some(WorkItemRow {
                    item_id: i.item_id,
                    ticket: i.ticket.clone(),
                    process: i.process.into(),
                    property_id: i.property_id,
                    property_name: names.property(i.property_id),
                    category: i.category.clone(),
                    channel: i.channel.into(),
                    status: i.status.clone(),
                    created_at: i.created_at,
                    handler_id: i.handler_id,
                    contractor_company_id: i.contractor_company_id,
                    first_response_due: i.first_response_promise.map(|p| p.due),
                    first_response_at: i.first_response_at,
                    first_response_state: state(first).map(Into::into),
                    resolution_due: i.resolution_promise.map(|p| p.due),
                    resolved_at: resolution.and_then(|s| s.reached_at),
                    resolution_state: state(resolution).map(Into::into),
                    reopen_count: i
                        .closures
                        .iter()
                        .filter(|c| c.reopened_at.is_some())
                        .count() as u32,
                })
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Promises kept.

/// The promises of items created in `[from, until)`, as they stand now.
#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevelReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
    pub process: Option<WorkProcessGql>,
}

#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevelReportRow {
    pub process: WorkProcessGql,
    pub milestone: MilestoneGql,
    pub property_id: Uuid,
    pub property_name: String,
    /// Items the promise applies to (not those cancelled before it was due).
    pub promised: u32,
    pub met: u32,
    pub breached: u32,
    pub at_risk: u32,
    pub on_track: u32,
    /// `met / (met + breached)` in per mille.
    pub met_rate_per_mille: Option<u32>,
}

pub struct ServiceLevelReport;

impl Report for ServiceLevelReport {
    const NAME: &'static str = "service-levels";
    type Input = ServiceLevelReportInput;
    type Row = ServiceLevelReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: ServiceLevelReportInput,
    ) -> Result<Vec<ServiceLevelReportRow>, ApiError> {
        let names = Names::of(talo, scope)?;
        service_level_rows(&read_items(talo), &names, scope, now, input)
    }
}

/// The promises report over any state of the work items: the live one, or one rebuilt as of
/// a past moment for an auditor.
pub fn service_level_rows(
    view: &WorkItemsView,
    names: &Names,
    scope: &ReportScope,
    now: DateTime<Utc>,
    input: ServiceLevelReportInput,
) -> Result<Vec<ServiceLevelReportRow>, ApiError> {
    let range = ReportRange::new(input.from, input.until)?;
    let items = view
        .created_between(scope.organisation_id(), range.from, range.until)
        .filter(|i| keep(i, scope, input.property_id, input.process));
    Ok(operations::promises(items, now)
        .into_iter()
        .map(|r| ServiceLevelReportRow {
            process: r.process.into(),
            milestone: r.milestone.into(),
            property_id: r.property_id,
            property_name: names.property(r.property_id),
            promised: r.promised,
            met: r.met,
            breached: r.breached,
            at_risk: r.at_risk,
            on_track: r.on_track,
            met_rate_per_mille: r.met_rate_per_mille,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Flow.

#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FlowReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub period: Period,
    pub group_by: FlowGrouping,
    pub property_id: Option<Uuid>,
    pub process: Option<WorkProcessGql>,
}

#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FlowReportRow {
    /// The first day of the week or month.
    pub period_start: NaiveDate,
    /// The group's key: a property, contractor or handler id, a category or a process; empty
    /// for items without one (no contractor yet).
    pub group: Option<String>,
    pub group_name: Option<String>,
    pub created: u32,
    /// Items done in the period.
    pub closed: u32,
    /// Items cancelled or withdrawn in the period.
    pub cancelled: u32,
    pub median_seconds_to_first_response: Option<i64>,
    pub p90_seconds_to_first_response: Option<i64>,
    pub median_seconds_to_close: Option<i64>,
    pub p90_seconds_to_close: Option<i64>,
    /// Of the items done in the period, those done after their resolution promise.
    pub closed_late: u32,
    pub breach_rate_per_mille: Option<u32>,
    /// Of the items done in the period, those reopened since.
    pub reopened: u32,
    pub reopen_rate_per_mille: Option<u32>,
    /// Items open at the end of the period.
    pub backlog_at_end: u32,
}

pub struct FlowReport;

/// What a flow row is grouped by, cheap to compare while counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FlowKey<'a> {
    Id(Uuid),
    Text(&'a str),
    Process(talo_events_schema::service_level::WorkProcess),
}

/// A process as its GraphQL enum value reads (`FAULT_REPORT`).
fn process_name(process: talo_events_schema::service_level::WorkProcess) -> String {
    serde_json::to_value(WorkProcessGql::from(process))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Report for FlowReport {
    const NAME: &'static str = "flow";
    type Input = FlowReportInput;
    type Row = FlowReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: FlowReportInput,
    ) -> Result<Vec<FlowReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let names = Names::of(talo, scope)?;
        let spans = ReportingPeriod::from(input.period).split(range.from, range.until);
        let view = read_items(talo);
        let items = view
            .in_flow(scope.organisation_id(), range.from, range.until)
            .filter(|i| keep(i, scope, input.property_id, input.process));
        let grouping = input.group_by;
        let rows = operations::flow(items, &spans, |i| match grouping {
            FlowGrouping::Property => Some(FlowKey::Id(i.property_id)),
            FlowGrouping::Category => Some(FlowKey::Text(&i.category)),
            FlowGrouping::Contractor => i.contractor_company_id.map(FlowKey::Id),
            FlowGrouping::Handler => i.handler_id.map(FlowKey::Id),
            FlowGrouping::Process => Some(FlowKey::Process(i.process)),
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let (group, group_name) = match r.group {
                    None => (None, None),
                    Some(FlowKey::Id(id)) => {
                        let name = match grouping {
                            FlowGrouping::Property => names.property(id),
                            FlowGrouping::Contractor => names.contractor(id),
                            _ => names.person(id),
                        };
                        (Some(id.to_string()), Some(name))
                    }
                    Some(FlowKey::Text(text)) => (Some(text.to_owned()), Some(text.to_owned())),
                    Some(FlowKey::Process(p)) => {
                        let name = process_name(p);
                        (Some(name.clone()), Some(name))
                    }
                };
                FlowReportRow {
                    period_start: r.period_first_day,
                    group,
                    group_name,
                    created: r.created,
                    closed: r.closed,
                    cancelled: r.cancelled,
                    median_seconds_to_first_response: r.median_seconds_to_first_response,
                    p90_seconds_to_first_response: r.p90_seconds_to_first_response,
                    median_seconds_to_close: r.median_seconds_to_close,
                    p90_seconds_to_close: r.p90_seconds_to_close,
                    closed_late: r.closed_late,
                    breach_rate_per_mille: r.breach_rate_per_mille,
                    reopened: r.reopened,
                    reopen_rate_per_mille: r.reopen_rate_per_mille,
                    backlog_at_end: r.backlog_at_end,
                }
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Contractor performance.

#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContractorReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContractorReportRow {
    pub contractor_company_id: Uuid,
    pub contractor_name: String,
    /// Fault reports given to the company in the range.
    pub assigned: u32,
    /// Fault reports the company resolved in the range.
    pub resolved: u32,
    /// Of those, resolved by the end of the day the company promised.
    pub resolved_on_time: u32,
    pub on_time_rate_per_mille: Option<u32>,
    /// Of those, reopened since.
    pub reopened: u32,
    pub reopen_rate_per_mille: Option<u32>,
    /// Residents' confirmations in the range of the company's fixes.
    pub resident_confirmations: u32,
}

pub struct ContractorReport;

impl Report for ContractorReport {
    const NAME: &'static str = "contractor-performance";
    type Input = ContractorReportInput;
    type Row = ContractorReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: ContractorReportInput,
    ) -> Result<Vec<ContractorReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let names = Names::of(talo, scope)?;
        let view = read_items(talo);
        let items = view
            .active_between(scope.organisation_id(), range.from, range.until)
            .filter(|i| keep(i, scope, input.property_id, None));
        Ok(operations::contractors(items, range.from, range.until)
            .into_iter()
            .map(|r| ContractorReportRow {
                contractor_company_id: r.contractor_company_id,
                contractor_name: names.contractor(r.contractor_company_id),
                assigned: r.assigned,
                resolved: r.resolved,
                resolved_on_time: r.resolved_on_time,
                on_time_rate_per_mille: r.on_time_rate_per_mille,
                reopened: r.reopened,
                reopen_rate_per_mille: r.reopen_rate_per_mille,
                resident_confirmations: r.resident_confirmations,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Channel mix.

#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ChannelMixReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub period: Period,
    pub property_id: Option<Uuid>,
    pub process: Option<WorkProcessGql>,
}

/// Items that came in during one period at one property, by channel: the portal's adoption
/// over time.
#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ChannelMixReportRow {
    pub period_start: NaiveDate,
    pub property_id: Uuid,
    pub property_name: String,
    pub total: u32,
    pub portal: u32,
    pub phone: u32,
    pub email: u32,
    pub office: u32,
    pub field: u32,
    pub system: u32,
    pub portal_share_per_mille: Option<u32>,
}

pub struct ChannelMixReport;

impl Report for ChannelMixReport {
    const NAME: &'static str = "channel-mix";
    type Input = ChannelMixReportInput;
    type Row = ChannelMixReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: ChannelMixReportInput,
    ) -> Result<Vec<ChannelMixReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let names = Names::of(talo, scope)?;
        let spans = ReportingPeriod::from(input.period).split(range.from, range.until);
        let view = read_items(talo);
        let items = view
            .created_between(scope.organisation_id(), range.from, range.until)
            .filter(|i| keep(i, scope, input.property_id, input.process));
        Ok(operations::channel_mix(items, &spans)
            .into_iter()
            .map(|r| {
                let [portal, phone, email, office, field, system] = r.by_channel;
                ChannelMixReportRow {
                    period_start: r.period_first_day,
                    property_id: r.property_id,
                    property_name: names.property(r.property_id),
                    total: r.total,
                    portal,
                    phone,
                    email,
                    office,
                    field,
                    system,
                    portal_share_per_mille: r.portal_share_per_mille,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_columns_follow_channel_order() {
        // The destructuring in the channel mix relies on this order.
        use talo_events_schema::envelope::Channel::*;
        assert_eq!(
            talo_events_schema::envelope::Channel::ALL,
            [Portal, Phone, Email, Office, Field, System]
        );
    }

    #[test]
    fn age_buckets_have_their_graphql_names_in_csv() {
        let bucket = talo_projections::operations::AgeBucket::OneToSevenDays;
        let v = serde_json::to_value(AgeBucketGql::from(bucket)).unwrap();
        assert_eq!(v, "ONE_TO_SEVEN_DAYS");
    }
}
