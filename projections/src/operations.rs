//! The operational numbers over work items: queues now, promises kept, flow per period,
//! contractor performance and channel mix. Each function takes the items the caller may see
//! (the API applies the scope and filters) and computes exact integer figures; times are whole
//! seconds, rates per mille.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::calendar::PeriodSpan;
use talo_domain::service_level::PromiseState;
use talo_events_schema::envelope::Channel;
use talo_events_schema::service_level::{Milestone, WorkProcess};
use uuid::Uuid;

use crate::statistics::{median, per_mille, percentile};
use crate::work_items::WorkItem;

/// How long an open item has waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeBucket {
    /// Less than a day.
    UnderOneDay,
    /// One day up to a week.
    OneToSevenDays,
    /// A week up to 30 days.
    SevenToThirtyDays,
    /// 30 days or more.
    OverThirtyDays,
}

impl AgeBucket {
    pub fn of(created_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match (now - created_at).num_hours() {
            h if h < 24 => AgeBucket::UnderOneDay,
            h if h < 24 * 7 => AgeBucket::OneToSevenDays,
            h if h < 24 * 30 => AgeBucket::SevenToThirtyDays,
            _ => AgeBucket::OverThirtyDays,
        }
    }
}

/// Open items now, counted per process, property, status, age and assignee.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueRow {
    pub process: WorkProcess,
    pub property_id: Uuid,
    pub status: String,
    pub age: AgeBucket,
    pub handler_id: Option<Uuid>,
    pub contractor_company_id: Option<Uuid>,
    pub open_items: u32,
}

pub fn queue<'a>(items: impl Iterator<Item = &'a WorkItem>, now: DateTime<Utc>) -> Vec<QueueRow> {
    let mut counts: BTreeMap<_, u32> = BTreeMap::new();
    for item in items.filter(|i| i.is_open_at(now)) {
        let key = (
            item.process,
            item.property_id,
            item.status.clone(),
            AgeBucket::of(item.created_at, now),
            item.handler_id,
            item.contractor_company_id,
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(
            |((process, property_id, status, age, handler_id, contractor_company_id), n)| {
                QueueRow {
                    process,
                    property_id,
                    status,
                    age,
                    handler_id,
                    contractor_company_id,
                    open_items: n,
                }
            },
        )
        .collect()
}

/// How the promises of a set of items stand, per process, milestone and property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseRow {
    pub process: WorkProcess,
    pub milestone: Milestone,
    pub property_id: Uuid,
    /// Items with a promise that applies.
    pub promised: u32,
    pub met: u32,
    pub breached: u32,
    pub at_risk: u32,
    pub on_track: u32,
    /// `met / (met + breached)`.
    pub met_rate_per_mille: Option<u32>,
}

pub fn promises<'a>(
    items: impl Iterator<Item = &'a WorkItem>,
    now: DateTime<Utc>,
) -> Vec<PromiseRow> {
    let mut counts: BTreeMap<(WorkProcess, Milestone, Uuid), [u32; 4]> = BTreeMap::new();
    for item in items {
        for milestone in [Milestone::FirstResponse, Milestone::Resolution] {
            let Some(standing) = item.standing_of(milestone, now) else {
                continue;
            };
            let slot = match standing.state {
                PromiseState::Met => 0,
                PromiseState::Breached => 1,
                PromiseState::AtRisk => 2,
                PromiseState::OnTrack => 3,
            };
            counts
                .entry((item.process, milestone, item.property_id))
                .or_default()[slot] += 1;
        }
    }
    counts
        .into_iter()
        .map(
            |((process, milestone, property_id), [met, breached, at_risk, on_track])| PromiseRow {
                process,
                milestone,
                property_id,
                promised: met + breached + at_risk + on_track,
                met,
                breached,
                at_risk,
                on_track,
                met_rate_per_mille: per_mille(met, met + breached),
            },
        )
        .collect()
}

/// One period of one group in the flow report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow<K> {
    pub period_first_day: NaiveDate,
    /// The group (a property or contractor id, a category, ...); `None` for items without one
    /// (no contractor yet, say).
    pub group: Option<K>,
    pub created: u32,
    /// Items done in the period (a closing that is not a cancellation).
    pub closed: u32,
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
    /// Items open at the period's end.
    pub backlog_at_end: u32,
}

#[derive(Default)]
struct FlowCell {
    created: u32,
    closed: u32,
    cancelled: u32,
    to_first_response: Vec<i64>,
    to_close: Vec<i64>,
    closed_late: u32,
    reopened: u32,
    backlog_at_end: u32,
}

/// Flow over `spans` (consecutive periods), grouped by `group_of` (a cheap key: an id, a
/// borrowed name). Periods and groups with nothing to count are left out.
pub fn flow<'a, K: Ord + Clone>(
    items: impl Iterator<Item = &'a WorkItem>,
    spans: &[PeriodSpan],
    group_of: impl Fn(&'a WorkItem) -> Option<K>,
) -> Vec<FlowRow<K>> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Vec::new();
    };
    let span_of = |at: DateTime<Utc>| {
        if at < first.start || at >= last.end {
            return None;
        }
        let i = spans.partition_point(|s| s.end <= at);
        spans.get(i).map(|s| s.first_day)
    };
    let mut cells: BTreeMap<(NaiveDate, Option<K>), FlowCell> = BTreeMap::new();
    for item in items.filter(|i| i.created_at < last.end) {
        let group = group_of(item);
        if let Some(day) = span_of(item.created_at) {
            cell(&mut cells, day, &group).created += 1;
        }
        if let Some(t) = item.first_response_at
            && let Some(day) = span_of(t)
        {
            cell(&mut cells, day, &group)
                .to_first_response
                .push((t - item.created_at).num_seconds());
        }
        for closure in &item.closures {
            let Some(day) = span_of(closure.at) else {
                continue;
            };
            let c = cell(&mut cells, day, &group);
            if !closure.done {
                c.cancelled += 1;
                continue;
            }
            c.closed += 1;
            c.to_close
                .push((closure.at - item.created_at).num_seconds());
            if item.resolution_promise.is_some_and(|p| closure.at >= p.due) {
                c.closed_late += 1;
            }
            if closure.reopened_at.is_some() {
                c.reopened += 1;
            }
        }
        for span in spans {
            if item.open_just_before(span.end) {
                cell(&mut cells, span.first_day, &group).backlog_at_end += 1;
            }
        }
    }
    cells
        .into_iter()
        .map(|((period_first_day, group), mut c)| FlowRow {
            period_first_day,
            group,
            created: c.created,
            closed: c.closed,
            cancelled: c.cancelled,
            median_seconds_to_first_response: median(&mut c.to_first_response),
            p90_seconds_to_first_response: percentile(&mut c.to_first_response, 90),
            median_seconds_to_close: median(&mut c.to_close),
            p90_seconds_to_close: percentile(&mut c.to_close, 90),
            closed_late: c.closed_late,
            breach_rate_per_mille: per_mille(c.closed_late, c.closed),
            reopened: c.reopened,
            reopen_rate_per_mille: per_mille(c.reopened, c.closed),
            backlog_at_end: c.backlog_at_end,
        })
        .collect()
}

fn cell<'m, K: Ord + Clone>(
    cells: &'m mut BTreeMap<(NaiveDate, Option<K>), FlowCell>,
    day: NaiveDate,
    group: &Option<K>,
) -> &'m mut FlowCell {
    cells.entry((day, group.clone())).or_default()
}

/// One contractor company's work in a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractorRow {
    pub contractor_company_id: Uuid,
    /// Items given to the company in the range.
    pub assigned: u32,
    /// Items the company resolved in the range.
    pub resolved: u32,
    /// Of those, resolved by the end of the day the company promised.
    pub resolved_on_time: u32,
    pub on_time_rate_per_mille: Option<u32>,
    /// Of those, reopened since.
    pub reopened: u32,
    pub reopen_rate_per_mille: Option<u32>,
    /// Residents' confirmations in the range of fixes by the company.
    pub resident_confirmations: u32,
}

pub fn contractors<'a>(
    items: impl Iterator<Item = &'a WorkItem>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<ContractorRow> {
    let in_range = |t: DateTime<Utc>| from <= t && t < until;
    let mut rows: BTreeMap<Uuid, ContractorRow> = BTreeMap::new();
    for item in items {
        for a in item.assignments.iter().filter(|a| in_range(a.at)) {
            let r = rows
                .entry(a.contractor_company_id)
                .or_insert_with(|| new_contractor_row(a.contractor_company_id));
            r.assigned += 1;
        }
        for c in item.closures.iter().filter(|c| c.done && in_range(c.at)) {
            let Some(company) = c.contractor_company_id else {
                continue;
            };
            let r = rows
                .entry(company)
                .or_insert_with(|| new_contractor_row(company));
            r.resolved += 1;
            if !c.after_contractor_promise() {
                r.resolved_on_time += 1;
            }
            if c.reopened_at.is_some() {
                r.reopened += 1;
            }
        }
        // A confirmation is of the fix before it: the latest done closure's company.
        for confirmed in item.confirmations.iter().filter(|t| in_range(**t)) {
            let company = item
                .closures
                .iter()
                .rev()
                .find(|c| c.done && c.at <= *confirmed)
                .and_then(|c| c.contractor_company_id);
            if let Some(company) = company {
                rows.entry(company)
                    .or_insert_with(|| new_contractor_row(company))
                    .resident_confirmations += 1;
            }
        }
    }
    rows.into_values()
        .map(|mut r| {
            r.on_time_rate_per_mille = per_mille(r.resolved_on_time, r.resolved);
            r.reopen_rate_per_mille = per_mille(r.reopened, r.resolved);
            r
        })
        .collect()
}

fn new_contractor_row(contractor_company_id: Uuid) -> ContractorRow {
    ContractorRow {
        contractor_company_id,
        ..ContractorRow::default()
    }
}

/// Items that came in during one period at one property, by channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub period_first_day: NaiveDate,
    pub property_id: Uuid,
    pub total: u32,
    /// Counts in the order of [`Channel::ALL`].
    pub by_channel: [u32; 6],
    /// The portal's share of all items.
    pub portal_share_per_mille: Option<u32>,
}

pub fn channel_mix<'a>(
    items: impl Iterator<Item = &'a WorkItem>,
    spans: &[PeriodSpan],
) -> Vec<ChannelRow> {
    let mut counts: BTreeMap<(NaiveDate, Uuid), [u32; 6]> = BTreeMap::new();
    for item in items {
        let Some(span) = spans.iter().find(|s| s.contains(item.created_at)) else {
            continue;
        };
        let slot = Channel::ALL
            .iter()
            .position(|c| *c == item.channel)
            .unwrap_or(0);
        counts
            .entry((span.first_day, item.property_id))
            .or_default()[slot] += 1;
    }
    counts
        .into_iter()
        .map(|((period_first_day, property_id), by_channel)| {
            let total = by_channel.iter().sum();
            ChannelRow {
                period_first_day,
                property_id,
                total,
                by_channel,
                portal_share_per_mille: per_mille(by_channel[0], total),
            }
        })
        .collect()
}
