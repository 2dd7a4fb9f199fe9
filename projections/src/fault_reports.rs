//! The fault report read model: every report with its status history and notes, and the views
//! over it: the resident's "my fault reports", the office queue, the contractor's work list and
//! the operational report per property or contractor.
//!
//! Who may see what is decided by `talo_domain::fault_report::viewer`, the same rule the
//! command side uses.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::calendar::{end_of_local_day, local_date};
use talo_domain::fault_report::{FaultReportAccess, FaultStatus, Viewer, viewer};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, Channel, Position, RecordedEvent};
use talo_events_schema::fault_report::*;
use uuid::Uuid;

use crate::engine::Projection;
use crate::statistics::{median, percentile};

/// One step in a report's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: FaultStatus,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub channel: Channel,
    pub position: Position,
    /// The reason, promise or summary that came with the step, if any.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub note_id: Uuid,
    pub text: String,
    pub visibility: NoteVisibility,
    pub author: Actor,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultReportRecord {
    pub fault_report_id: Uuid,
    pub organisation_id: Uuid,
    pub ticket: String,
    pub property_id: Uuid,
    pub location: FaultLocation,
    pub category: FaultCategory,
    pub description: String,
    pub permission_to_enter: bool,
    pub pets: PetsOnPremises,
    pub preferred_visit: Option<TimeWindow>,
    pub contact_phone: Option<String>,
    pub reporter_id: Uuid,
    pub reported_by: Actor,
    pub channel: Channel,
    pub status: FaultStatus,
    pub reported_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub contractor_company_id: Option<Uuid>,
    pub promised_by: Option<NaiveDate>,
    pub visit: Option<TimeWindow>,
    pub work_started_at: Option<DateTime<Utc>>,
    /// The latest resolution.
    pub resolved_at: Option<DateTime<Utc>>,
    pub work_summary: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: u32,
    pub history: Vec<StatusChange>,
    pub notes: Vec<Note>,
    pub last_position: Position,
}

impl FaultReportRecord {
    pub fn apartment_id(&self) -> Option<Uuid> {
        match self.location {
            FaultLocation::Apartment { apartment_id } => Some(apartment_id),
            FaultLocation::CommonArea { .. } => None,
        }
    }

    pub fn access(&self) -> FaultReportAccess {
        FaultReportAccess {
            property_id: self.property_id,
            apartment_id: self.apartment_id(),
            reporter_id: self.reporter_id,
            reported_on: local_date(self.reported_at),
            contractor_company_id: self.contractor_company_id,
        }
    }

    /// Past its promised-by day and not yet resolved.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && self.promised_by.is_some_and(|d| now >= end_of_local_day(d))
    }

    /// Resolved after the end of the promised-by day.
    pub fn resolved_late(&self) -> bool {
        match (self.resolved_at, self.promised_by) {
            (Some(resolved), Some(promised)) => resolved >= end_of_local_day(promised),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultReportsView {
    reports: BTreeMap<Uuid, FaultReportRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    /// The open reports of each organisation: the office queue and the contractors' work
    /// lists read these, not five years of closed reports.
    open_by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_apartment: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_reporter: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Projection for FaultReportsView {
    const NAME: &'static str = "fault_reports";
    /// 2: the open reports are indexed.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        if let DomainEvent::FaultReported(e) = decoded {
            let record = FaultReportRecord {
                fault_report_id: e.fault_report_id,
                organisation_id: meta.organisation_id,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                location: e.location.clone(),
                category: e.category,
                description: e.description.clone(),
                permission_to_enter: e.permission_to_enter,
                pets: e.pets.clone(),
                preferred_visit: e.preferred_visit,
                contact_phone: e.contact_phone.clone(),
                reporter_id: e.reporter_id,
                reported_by: meta.actor,
                channel: meta.channel,
                status: FaultStatus::Reported,
                reported_at: at,
                acknowledged_at: None,
                contractor_company_id: None,
                promised_by: None,
                visit: None,
                work_started_at: None,
                resolved_at: None,
                work_summary: None,
                closed_at: None,
                reopen_count: 0,
                history: vec![StatusChange {
                    status: FaultStatus::Reported,
                    at,
                    actor: meta.actor,
                    channel: meta.channel,
                    position: event.position,
                    detail: None,
                }],
                notes: Vec::new(),
                last_position: event.position,
            };
            self.by_organisation
                .entry(meta.organisation_id)
                .or_default()
                .insert(e.fault_report_id);
            self.open_by_organisation
                .entry(meta.organisation_id)
                .or_default()
                .insert(e.fault_report_id);
            if let Some(apartment) = record.apartment_id() {
                self.by_apartment
                    .entry(apartment)
                    .or_default()
                    .insert(e.fault_report_id);
            }
            self.by_reporter
                .entry(e.reporter_id)
                .or_default()
                .insert(e.fault_report_id);
            self.reports.insert(e.fault_report_id, record);
            return;
        }
        let Some(id) = fault_report_id(decoded) else {
            return;
        };
        let Some(r) = self.reports.get_mut(&id) else {
            return;
        };
        r.last_position = event.position;
        let detail = match decoded {
            DomainEvent::FaultReportAcknowledged(_) => {
                r.acknowledged_at.get_or_insert(at);
                None
            }
            DomainEvent::FaultReportAssigned(e) => {
                if r.contractor_company_id != Some(e.contractor_company_id) {
                    // The new contractor plans its own visit.
                    r.visit = None;
                }
                r.contractor_company_id = Some(e.contractor_company_id);
                r.promised_by = Some(e.promised_by);
                Some(format!("promised by {}", e.promised_by))
            }
            DomainEvent::FaultReportVisitScheduled(e) => {
                r.visit = Some(e.visit);
                None
            }
            DomainEvent::FaultReportWorkStarted(_) => {
                r.work_started_at.get_or_insert(at);
                None
            }
            DomainEvent::FaultReportResolved(e) => {
                r.resolved_at = Some(at);
                r.work_summary = Some(e.work_summary.clone());
                Some(e.work_summary.clone())
            }
            DomainEvent::FaultReportConfirmed(_) => {
                r.closed_at = Some(at);
                None
            }
            DomainEvent::FaultReportReopened(e) => {
                r.reopen_count += 1;
                // The old promise was kept or broken at the first fix; a new one comes with
                // the next assignment.
                r.promised_by = None;
                Some(e.reason.clone())
            }
            DomainEvent::FaultReportCancelled(e) => {
                r.closed_at = Some(at);
                Some(e.reason.clone())
            }
            DomainEvent::FaultReportNoteAdded(e) => {
                r.notes.push(Note {
                    note_id: e.note_id,
                    text: e.text.clone(),
                    visibility: e.visibility,
                    author: meta.actor,
                    at,
                });
                return;
            }
            _ => return,
        };
        if let Some(status) = FaultStatus::after(decoded) {
            r.status = status;
            r.history.push(StatusChange {
                status,
                at,
                actor: meta.actor,
                channel: meta.channel,
                position: event.position,
                detail,
            });
            let open = self
                .open_by_organisation
                .entry(r.organisation_id)
                .or_default();
            if status.is_open() {
                open.insert(id);
            } else {
                open.remove(&id);
            }
        }
    }
}

fn fault_report_id(event: &DomainEvent) -> Option<Uuid> {
    Some(match event {
        DomainEvent::FaultReportAcknowledged(e) => e.fault_report_id,
        DomainEvent::FaultReportAssigned(e) => e.fault_report_id,
        DomainEvent::FaultReportVisitScheduled(e) => e.fault_report_id,
        DomainEvent::FaultReportWorkStarted(e) => e.fault_report_id,
        DomainEvent::FaultReportNoteAdded(e) => e.fault_report_id,
        DomainEvent::FaultReportResolved(e) => e.fault_report_id,
        DomainEvent::FaultReportConfirmed(e) => e.fault_report_id,
        DomainEvent::FaultReportReopened(e) => e.fault_report_id,
        DomainEvent::FaultReportCancelled(e) => e.fault_report_id,
        _ => return None,
    })
}

/// Narrows the office queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub property_id: Option<Uuid>,
    pub status: Option<FaultStatus>,
    pub overdue_only: bool,
    pub unassigned_only: bool,
}

/// What the operational report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGrouping {
    Property,
    Contractor,
}

/// One row of the operational report. Times are whole seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationalRow {
    /// The property or contractor company; `None` groups reports with no contractor yet.
    pub key: Option<Uuid>,
    /// Reports filed in the range.
    pub reported: u32,
    /// Reports whose latest resolution falls in the range.
    pub resolved: u32,
    /// Of the reports filed in the range, from report to acknowledgement.
    pub median_seconds_to_acknowledge: Option<i64>,
    pub p90_seconds_to_acknowledge: Option<i64>,
    /// Of the reports resolved in the range, from report to latest resolution.
    pub median_seconds_to_resolve: Option<i64>,
    pub p90_seconds_to_resolve: Option<i64>,
    /// Of the reports resolved in the range, those resolved after their promised-by day.
    pub resolved_after_promise: u32,
    /// Of the reports resolved in the range, those that were reopened at least once.
    pub reopened: u32,
    /// `reopened / resolved` in per mille (0 when nothing was resolved).
    pub reopen_rate_per_mille: u32,
}

impl FaultReportsView {
    pub fn get(&self, fault_report_id: Uuid) -> Option<&FaultReportRecord> {
        self.reports.get(&fault_report_id)
    }

    /// A report as `principal` may see it, or `None` if it is not theirs to see.
    pub fn visible(
        &self,
        principal: &Principal,
        fault_report_id: Uuid,
    ) -> Option<(&FaultReportRecord, Viewer)> {
        let record = self.reports.get(&fault_report_id)?;
        if record.organisation_id != principal.organisation_id {
            return None;
        }
        Some((record, viewer(principal, &record.access())?))
    }

    /// The resident's own reports: those on their apartments and those they filed, newest first.
    pub fn for_occupant(&self, principal: &Principal) -> Vec<&FaultReportRecord> {
        let mut ids: BTreeSet<Uuid> = principal
            .homes
            .iter()
            .filter_map(|h| self.by_apartment.get(&h.apartment_id))
            .flatten()
            .copied()
            .collect();
        ids.extend(
            self.by_reporter
                .get(&principal.person_id)
                .into_iter()
                .flatten(),
        );
        let mut records: Vec<&FaultReportRecord> = ids
            .iter()
            .filter_map(|id| self.reports.get(id))
            .filter(|r| r.organisation_id == principal.organisation_id)
            .filter(|r| {
                matches!(
                    viewer(principal, &r.access()),
                    Some(Viewer::Occupant(_) | Viewer::PastReporter)
                )
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.reported_at, r.fault_report_id)));
        records
    }

    /// The office queue: open reports in the properties the principal works for, oldest first.
    pub fn queue(
        &self,
        principal: &Principal,
        filter: &QueueFilter,
        now: DateTime<Utc>,
    ) -> Vec<&FaultReportRecord> {
        let mut records: Vec<&FaultReportRecord> = self
            .open_in_organisation(principal.organisation_id)
            .filter(|r| principal.office_role_for(r.property_id).is_some())
            .filter(|r| filter.property_id.is_none_or(|p| r.property_id == p))
            .filter(|r| filter.status.is_none_or(|s| r.status == s))
            .filter(|r| !filter.overdue_only || r.is_overdue(now))
            .filter(|r| !filter.unassigned_only || r.contractor_company_id.is_none())
            .collect();
        records.sort_by_key(|r| (r.reported_at, r.fault_report_id));
        records
    }

    /// The contractor's work list: open reports assigned to the companies the principal works
    /// for, by promised-by day.
    pub fn work_list(&self, principal: &Principal) -> Vec<&FaultReportRecord> {
        let mut records: Vec<&FaultReportRecord> = self
            .open_in_organisation(principal.organisation_id)
            .filter(|r| {
                r.contractor_company_id
                    .is_some_and(|c| principal.works_for(c))
            })
            .collect();
        records.sort_by_key(|r| (r.promised_by, r.reported_at, r.fault_report_id));
        records
    }

    /// The operational report over `[from, until)` for the properties the principal works for
    /// (every property for an auditor), grouped by property or contractor.
    pub fn operational_report(
        &self,
        principal: &Principal,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        grouping: ReportGrouping,
    ) -> Vec<OperationalRow> {
        let in_range = |t: DateTime<Utc>| from <= t && t < until;
        let mut groups: BTreeMap<Option<Uuid>, Vec<&FaultReportRecord>> = BTreeMap::new();
        for r in self.in_organisation(principal.organisation_id) {
            let sees = principal.is_auditor() || principal.office_role_for(r.property_id).is_some();
            if !sees {
                continue;
            }
            let key = match grouping {
                ReportGrouping::Property => Some(r.property_id),
                ReportGrouping::Contractor => r.contractor_company_id,
            };
            groups.entry(key).or_default().push(r);
        }
        groups
            .into_iter()
            .filter_map(|(key, records)| {
                let reported: Vec<_> = records.iter().filter(|r| in_range(r.reported_at)).collect();
                let resolved: Vec<_> = records
                    .iter()
                    .filter(|r| r.resolved_at.is_some_and(in_range))
                    .collect();
                if reported.is_empty() && resolved.is_empty() {
                    return None;
                }
                let mut to_ack: Vec<i64> = reported
                    .iter()
                    .filter_map(|r| r.acknowledged_at.map(|a| (a - r.reported_at).num_seconds()))
                    .collect();
                let mut to_resolve: Vec<i64> = resolved
                    .iter()
                    .filter_map(|r| r.resolved_at.map(|a| (a - r.reported_at).num_seconds()))
                    .collect();
                let reopened = resolved.iter().filter(|r| r.reopen_count > 0).count() as u32;
                let resolved_count = resolved.len() as u32;
                Some(OperationalRow {
                    key,
                    reported: reported.len() as u32,
                    resolved: resolved_count,
                    median_seconds_to_acknowledge: median(&mut to_ack),
                    p90_seconds_to_acknowledge: percentile(&mut to_ack, 90),
                    median_seconds_to_resolve: median(&mut to_resolve),
                    p90_seconds_to_resolve: percentile(&mut to_resolve, 90),
                    resolved_after_promise: resolved.iter().filter(|r| r.resolved_late()).count()
                        as u32,
                    reopened,
                    reopen_rate_per_mille: (reopened * 1000)
                        .checked_div(resolved_count)
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    fn open_in_organisation(
        &self,
        organisation_id: Uuid,
    ) -> impl Iterator<Item = &FaultReportRecord> {
        self.open_by_organisation
            .get(&organisation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.reports.get(id))
    }

    fn in_organisation(&self, organisation_id: Uuid) -> impl Iterator<Item = &FaultReportRecord> {
        self.by_organisation
            .get(&organisation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.reports.get(id))
    }
}
