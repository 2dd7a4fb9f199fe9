//! Work items: every fault report, message thread, service request and renovation request as
//! one shape (created, first response, closures and reopenings, who handles it, the promises in
//! force when it came in), so the operational reports measure every process the same way.
//!
//! Folded live from the log like any read model. The report functions in
//! [`crate::operations`] compute their numbers from this state at query time; nothing here
//! reads a clock.
//!
//! What counts as what, per process:
//! - first response: a fault acknowledged (or any later step), the office's first message in a
//!   thread, a service request taken up, a renovation's first staff action (a supplement asked,
//!   a comment, a decision); closing an item also answers it.
//! - done: a fault resolved, a thread closed, a service request completed or rejected, a
//!   renovation approved or rejected. Cancelled and withdrawn items are closed but not done,
//!   and the resolution promise does not apply to them.
//! - reopened: a fault reopened, a closed thread that the resident writes to again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::calendar::end_of_local_day;
use talo_domain::service_level::{PromiseState, ServiceLevels, assess};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{ActorRole, Channel, RecordedEvent};
use talo_events_schema::message_thread::{MessageSide, MessageThreadStatus};
use talo_events_schema::service_level::{Milestone, ServiceLevelTargetsSet, WorkProcess};
use uuid::Uuid;

use crate::engine::Projection;

/// One closing of an item: done (resolved, closed, decided) or not (cancelled, withdrawn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub done: bool,
    /// The contractor company holding the item when it closed, and its promised-by day.
    pub contractor_company_id: Option<Uuid>,
    pub promised_by: Option<NaiveDate>,
    pub reopened_at: Option<DateTime<Utc>>,
}

impl Closure {
    /// Done after the end of the contractor's promised-by day.
    pub fn after_contractor_promise(&self) -> bool {
        self.promised_by
            .is_some_and(|d| self.at >= end_of_local_day(d))
    }
}

/// A contractor company taking an item on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub contractor_company_id: Uuid,
    pub at: DateTime<Utc>,
    pub promised_by: NaiveDate,
}

/// A promise in force for one milestone of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub due: DateTime<Utc>,
    pub at_risk_percent: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub item_id: Uuid,
    pub process: WorkProcess,
    pub ticket: String,
    pub organisation_id: Uuid,
    pub property_id: Uuid,
    /// The process's own category in `snake_case` (a fault's category, a thread's topic, a
    /// request form's name, a renovation's first kind of work).
    pub category: String,
    /// How the item came in.
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
    /// The process's own status in `snake_case`, with every change.
    pub status: String,
    pub status_history: Vec<(DateTime<Utc>, String)>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// The office person handling the item (assigned, took it up, or answered first).
    pub handler_id: Option<Uuid>,
    pub contractor_company_id: Option<Uuid>,
    pub promised_by: Option<NaiveDate>,
    pub assignments: Vec<Assignment>,
    pub closures: Vec<Closure>,
    /// Times the resident confirmed a fix.
    pub confirmations: Vec<DateTime<Utc>>,
    pub first_response_promise: Option<Promise>,
    pub resolution_promise: Option<Promise>,
}

/// Where a milestone's promise stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseStanding {
    pub due: DateTime<Utc>,
    pub reached_at: Option<DateTime<Utc>>,
    pub state: PromiseState,
}

impl WorkItem {
    /// Open at `at`: created by then and not closed (or reopened since).
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        self.created_at <= at && self.closure_covering(at).is_none()
    }

    /// Open at the instant just before `t`: what a period ending at `t` leaves in the backlog.
    pub fn open_just_before(&self, t: DateTime<Utc>) -> bool {
        if self.created_at >= t {
            return false;
        }
        match self.closures.iter().rev().find(|c| c.at < t) {
            None => true,
            Some(c) => c.reopened_at.is_some_and(|r| r < t),
        }
    }

    pub fn is_open(&self) -> bool {
        self.closures.last().is_none_or(|c| c.reopened_at.is_some())
    }

    /// The closure in force at `at`, if the item was closed then.
    fn closure_covering(&self, at: DateTime<Utc>) -> Option<&Closure> {
        self.closures
            .iter()
            .rev()
            .find(|c| c.at <= at)
            .filter(|c| c.reopened_at.is_none_or(|r| r > at))
    }

    /// Assigned to someone: a handler in the office or a contractor.
    pub fn is_assigned(&self) -> bool {
        self.handler_id.is_some() || self.contractor_company_id.is_some()
    }

    /// How the first-response promise stands at `now` (`None` if there was none, or if the
    /// item was cancelled before anyone answered).
    pub fn first_response_standing(&self, now: DateTime<Utc>) -> Option<PromiseStanding> {
        let promise = self.first_response_promise?;
        let reached = self.first_response_at.filter(|t| *t <= now);
        if reached.is_none() && self.closure_covering(now).is_some_and(|c| !c.done) {
            return None;
        }
        Some(self.standing(promise, reached, now))
    }

    /// How the resolution promise stands at `now` (`None` if there was none, or if the item
    /// is cancelled or withdrawn). A reopened item is unresolved until it is done again.
    pub fn resolution_standing(&self, now: DateTime<Utc>) -> Option<PromiseStanding> {
        let promise = self.resolution_promise?;
        let reached = match self.closure_covering(now) {
            Some(c) if !c.done => return None,
            Some(c) => Some(c.at),
            None => None,
        };
        Some(self.standing(promise, reached, now))
    }

    pub fn standing_of(&self, milestone: Milestone, now: DateTime<Utc>) -> Option<PromiseStanding> {
        match milestone {
            Milestone::FirstResponse => self.first_response_standing(now),
            Milestone::Resolution => self.resolution_standing(now),
        }
    }

    fn standing(
        &self,
        promise: Promise,
        reached_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> PromiseStanding {
        PromiseStanding {
            due: promise.due,
            reached_at,
            state: assess(
                self.created_at,
                promise.due,
                reached_at,
                now,
                promise.at_risk_percent,
            ),
        }
    }

    fn respond(&mut self, at: DateTime<Utc>) {
        self.first_response_at.get_or_insert(at);
    }

    fn close(&mut self, at: DateTime<Utc>, done: bool) {
        if !self.is_open() {
            return;
        }
        self.respond(at);
        self.closures.push(Closure {
            at,
            done,
            contractor_company_id: self.contractor_company_id,
            promised_by: self.promised_by,
            reopened_at: None,
        });
    }

    fn reopen(&mut self, at: DateTime<Utc>) {
        if let Some(last) = self.closures.last_mut() {
            last.reopened_at.get_or_insert(at);
        }
    }

    fn set_status(&mut self, at: DateTime<Utc>, status: String) {
        if self.status != status {
            self.status = status.clone();
            self.status_history.push((at, status));
        }
    }
}

/// One organisation's items, indexed the ways the reports ask: by creation time, open now, and
/// by the time of every step, so a report over a month touches that month's items rather than
/// five years of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct OrganisationIndex {
    created: BTreeSet<(DateTime<Utc>, Slot)>,
    open: BTreeSet<Slot>,
    /// Every step after creation (responses, assignments, closures, reopenings, confirmations).
    activity: BTreeSet<(DateTime<Utc>, Slot)>,
}

/// An item's place in [`WorkItemsView::items`].
type Slot = u32;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkItemsView {
    /// In the order they came in; slots never move.
    items: Vec<WorkItem>,
    slots: HashMap<Uuid, Slot>,
    by_organisation: BTreeMap<Uuid, OrganisationIndex>,
    /// Per organisation, the promises in force (absent: the defaults).
    service_levels: BTreeMap<Uuid, ServiceLevelTargetsSet>,
    /// Request form names, for the service requests' category.
    form_names: BTreeMap<Uuid, String>,
}

/// A value's `snake_case` name as it is serialised in events.
fn name_of(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "other".to_owned(),
    }
}

fn is_staff(role: ActorRole) -> bool {
    matches!(
        role,
        ActorRole::PropertyManager
            | ActorRole::TechnicalManager
            | ActorRole::CustomerService
            | ActorRole::Contractor
    )
}

/// A new item's fields that differ per process.
struct NewItem {
    item_id: Uuid,
    process: WorkProcess,
    ticket: String,
    property_id: Uuid,
    category: String,
    status: &'static str,
}

impl Projection for WorkItemsView {
    const NAME: &'static str = "work_items";
    const VERSION: u32 = 2;
    /// About a fifth of a generated log: an auditor's past promises report reads only these.
    const EVENT_TYPES: Option<&'static [&'static str]> = Some(&[
        "ServiceLevelTargetsSet",
        "RequestFormPublished",
        "FaultReported",
        "FaultReportAcknowledged",
        "FaultReportAssigned",
        "FaultReportVisitScheduled",
        "FaultReportWorkStarted",
        "FaultReportResolved",
        "FaultReportConfirmed",
        "FaultReportReopened",
        "FaultReportCancelled",
        "MessageThreadStarted",
        "MessagePosted",
        "MessageThreadAssigned",
        "MessageThreadStatusChanged",
        "ServiceRequestFiled",
        "ServiceRequestTaken",
        "ServiceRequestCompleted",
        "ServiceRequestRejected",
        "ServiceRequestCancelled",
        "RenovationRequested",
        "RenovationSupplementRequested",
        "RenovationSupplemented",
        "RenovationCommentAdded",
        "RenovationApproved",
        "RenovationRejected",
        "RenovationWithdrawn",
    ]);

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        let new = match decoded {
            DomainEvent::ServiceLevelTargetsSet(e) => {
                self.service_levels.insert(meta.organisation_id, e.clone());
                return;
            }
            DomainEvent::RequestFormPublished(e) => {
                self.form_names.insert(e.form_id, e.name.clone());
                return;
            }
            DomainEvent::FaultReported(e) => NewItem {
                item_id: e.fault_report_id,
                process: WorkProcess::FaultReport,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                category: name_of(&e.category),
                status: "reported",
            },
            DomainEvent::MessageThreadStarted(e) => NewItem {
                item_id: e.message_thread_id,
                process: WorkProcess::MessageThread,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                category: name_of(&e.category),
                status: "new",
            },
            DomainEvent::ServiceRequestFiled(e) => NewItem {
                item_id: e.request_id,
                process: WorkProcess::ServiceRequest,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                category: self
                    .form_names
                    .get(&e.form_id)
                    .cloned()
                    .unwrap_or_else(|| "other".to_owned()),
                status: "filed",
            },
            DomainEvent::RenovationRequested(e) => NewItem {
                item_id: e.renovation_id,
                process: WorkProcess::Renovation,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                category: e
                    .work_types
                    .first()
                    .map_or_else(|| "other".to_owned(), name_of),
                status: "requested",
            },
            other => {
                self.step(other, event);
                return;
            }
        };
        let levels = self
            .service_levels
            .get(&meta.organisation_id)
            .map(ServiceLevels::from_event)
            .unwrap_or_default();
        let promise = |milestone| {
            levels.due(new.process, milestone, at).map(|due| Promise {
                due,
                at_risk_percent: levels.at_risk_percent,
            })
        };
        let item = WorkItem {
            item_id: new.item_id,
            process: new.process,
            ticket: new.ticket,
            organisation_id: meta.organisation_id,
            property_id: new.property_id,
            category: new.category,
            channel: meta.channel,
            created_at: at,
            status: new.status.to_owned(),
            status_history: vec![(at, new.status.to_owned())],
            first_response_at: None,
            handler_id: None,
            contractor_company_id: None,
            promised_by: None,
            assignments: Vec::new(),
            closures: Vec::new(),
            confirmations: Vec::new(),
            first_response_promise: promise(Milestone::FirstResponse),
            resolution_promise: promise(Milestone::Resolution),
        };
        if self.slots.contains_key(&new.item_id) {
            return;
        }
        let slot = self.items.len() as Slot;
        let index = self
            .by_organisation
            .entry(meta.organisation_id)
            .or_default();
        index.created.insert((at, slot));
        index.open.insert(slot);
        self.slots.insert(new.item_id, slot);
        self.items.push(item);
    }
}

impl WorkItemsView {
    /// A step of an item already known.
    fn step(&mut self, decoded: &DomainEvent, event: &RecordedEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        let staff = is_staff(meta.actor.role);
        let Some(slot) = item_of(decoded).and_then(|id| self.slots.get(&id).copied()) else {
            return;
        };
        let item = &mut self.items[slot as usize];
        match decoded {
            // Fault reports.
            DomainEvent::FaultReportAcknowledged(_) => {
                item.respond(at);
                item.handler_id.get_or_insert(meta.actor.person_id);
                item.set_status(at, "acknowledged".into());
            }
            DomainEvent::FaultReportAssigned(e) => {
                item.respond(at);
                item.contractor_company_id = Some(e.contractor_company_id);
                item.promised_by = Some(e.promised_by);
                item.assignments.push(Assignment {
                    contractor_company_id: e.contractor_company_id,
                    at,
                    promised_by: e.promised_by,
                });
                item.set_status(at, "assigned".into());
            }
            DomainEvent::FaultReportVisitScheduled(_) => {
                item.respond(at);
                item.set_status(at, "visit_scheduled".into());
            }
            DomainEvent::FaultReportWorkStarted(_) => {
                item.respond(at);
                item.set_status(at, "in_progress".into());
            }
            DomainEvent::FaultReportResolved(_) => {
                item.close(at, true);
                item.set_status(at, "resolved".into());
            }
            DomainEvent::FaultReportConfirmed(_) => {
                item.confirmations.push(at);
                item.set_status(at, "confirmed".into());
            }
            DomainEvent::FaultReportReopened(_) => {
                item.reopen(at);
                // A new promise comes with the next assignment.
                item.promised_by = None;
                item.set_status(at, "reopened".into());
            }
            DomainEvent::FaultReportCancelled(_) => {
                item.close(at, false);
                item.set_status(at, "cancelled".into());
            }
            // Message threads.
            DomainEvent::MessagePosted(e) if e.from == MessageSide::Staff => {
                item.respond(at);
                item.handler_id.get_or_insert(meta.actor.person_id);
            }
            DomainEvent::MessageThreadAssigned(e) => {
                item.handler_id = Some(e.handler_id);
            }
            DomainEvent::MessageThreadStatusChanged(e) => {
                if e.status == MessageThreadStatus::Closed {
                    item.close(at, true);
                } else if !item.is_open() {
                    item.reopen(at);
                }
                item.set_status(at, name_of(&e.status));
            }
            // Service requests.
            DomainEvent::ServiceRequestTaken(_) => {
                item.respond(at);
                item.handler_id = Some(meta.actor.person_id);
                item.set_status(at, "in_progress".into());
            }
            DomainEvent::ServiceRequestCompleted(_) => {
                item.close(at, true);
                item.set_status(at, "completed".into());
            }
            DomainEvent::ServiceRequestRejected(_) => {
                item.close(at, true);
                item.set_status(at, "rejected".into());
            }
            DomainEvent::ServiceRequestCancelled(_) => {
                item.close(at, false);
                item.set_status(at, "cancelled".into());
            }
            // Renovations.
            DomainEvent::RenovationSupplementRequested(_) => {
                item.respond(at);
                item.handler_id.get_or_insert(meta.actor.person_id);
                item.set_status(at, "supplement_requested".into());
            }
            DomainEvent::RenovationSupplemented(_) => {
                item.set_status(at, "requested".into());
            }
            DomainEvent::RenovationCommentAdded(_) if staff => {
                item.respond(at);
                item.handler_id.get_or_insert(meta.actor.person_id);
            }
            DomainEvent::RenovationApproved(_) => {
                item.handler_id.get_or_insert(meta.actor.person_id);
                item.close(at, true);
                item.set_status(at, "approved".into());
            }
            DomainEvent::RenovationRejected(_) => {
                item.handler_id.get_or_insert(meta.actor.person_id);
                item.close(at, true);
                item.set_status(at, "rejected".into());
            }
            DomainEvent::RenovationWithdrawn(_) => {
                item.close(at, false);
                item.set_status(at, "withdrawn".into());
            }
            _ => return,
        }
        let open = item.is_open();
        let Some(index) = self.by_organisation.get_mut(&item.organisation_id) else {
            return;
        };
        index.activity.insert((at, slot));
        if open {
            index.open.insert(slot);
        } else {
            index.open.remove(&slot);
        }
    }

    pub fn get(&self, item_id: Uuid) -> Option<&WorkItem> {
        self.slots.get(&item_id).map(|s| &self.items[*s as usize])
    }

    fn index(&self, organisation_id: Uuid) -> Option<&OrganisationIndex> {
        self.by_organisation.get(&organisation_id)
    }

    fn at(&self, slot: Slot) -> &WorkItem {
        &self.items[slot as usize]
    }

    /// The organisation's items created in `[from, until)`, oldest first.
    pub fn created_between(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = &WorkItem> {
        self.index(organisation_id)
            .into_iter()
            .flat_map(move |i| i.created.range((from, 0)..(until, 0)))
            .map(|(_, slot)| self.at(*slot))
    }

    /// Every item of the organisation, oldest first.
    pub fn in_organisation(&self, organisation_id: Uuid) -> impl Iterator<Item = &WorkItem> {
        self.index(organisation_id)
            .into_iter()
            .flat_map(|i| i.created.iter())
            .map(|(_, slot)| self.at(*slot))
    }

    /// The organisation's items open now.
    pub fn open_now(&self, organisation_id: Uuid) -> impl Iterator<Item = &WorkItem> {
        self.index(organisation_id)
            .into_iter()
            .flat_map(|i| i.open.iter())
            .map(|slot| self.at(*slot))
    }

    /// Items with a step (response, assignment, closing, reopening, confirmation) in
    /// `[from, until)`, each once.
    pub fn active_between(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = &WorkItem> {
        let slots: BTreeSet<Slot> = self
            .index(organisation_id)
            .into_iter()
            .flat_map(|i| i.activity.range((from, 0)..(until, 0)))
            .map(|(_, slot)| *slot)
            .collect();
        slots.into_iter().map(|slot| self.at(slot))
    }

    /// Every item that can count in a flow over `[from, until)`: created in it, with a step
    /// in it, or open at some moment of it (an item open at `from` is open now, or has a
    /// step since), each once.
    pub fn in_flow(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = &WorkItem> {
        let mut slots: BTreeSet<Slot> = BTreeSet::new();
        if let Some(i) = self.index(organisation_id) {
            slots.extend(i.created.range((from, 0)..(until, 0)).map(|(_, s)| *s));
            slots.extend(i.activity.range((from, 0)..).map(|(_, s)| *s));
            slots.extend(i.open.iter().filter(|s| self.at(**s).created_at < from));
        }
        slots.into_iter().map(|slot| self.at(slot))
    }

    /// The promises in force for the organisation now.
    pub fn service_levels(&self, organisation_id: Uuid) -> ServiceLevels {
        self.service_levels
            .get(&organisation_id)
            .map(ServiceLevels::from_event)
            .unwrap_or_default()
    }
}

fn item_of(event: &DomainEvent) -> Option<Uuid> {
    Some(match event {
        DomainEvent::FaultReportAcknowledged(e) => e.fault_report_id,
        DomainEvent::FaultReportAssigned(e) => e.fault_report_id,
        DomainEvent::FaultReportVisitScheduled(e) => e.fault_report_id,
        DomainEvent::FaultReportWorkStarted(e) => e.fault_report_id,
        DomainEvent::FaultReportResolved(e) => e.fault_report_id,
        DomainEvent::FaultReportConfirmed(e) => e.fault_report_id,
        DomainEvent::FaultReportReopened(e) => e.fault_report_id,
        DomainEvent::FaultReportCancelled(e) => e.fault_report_id,
        DomainEvent::MessagePosted(e) => e.message_thread_id,
        DomainEvent::MessageThreadAssigned(e) => e.message_thread_id,
        DomainEvent::MessageThreadStatusChanged(e) => e.message_thread_id,
        DomainEvent::ServiceRequestTaken(e) => e.request_id,
        DomainEvent::ServiceRequestCompleted(e) => e.request_id,
        DomainEvent::ServiceRequestRejected(e) => e.request_id,
        DomainEvent::ServiceRequestCancelled(e) => e.request_id,
        DomainEvent::RenovationSupplementRequested(e) => e.renovation_id,
        DomainEvent::RenovationSupplemented(e) => e.renovation_id,
        DomainEvent::RenovationCommentAdded(e) => e.renovation_id,
        DomainEvent::RenovationApproved(e) => e.renovation_id,
        DomainEvent::RenovationRejected(e) => e.renovation_id,
        DomainEvent::RenovationWithdrawn(e) => e.renovation_id,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use talo_events_schema::catalog::EVENT_TYPES;

    #[test]
    fn the_types_it_folds_are_event_types_each_named_once() {
        let known: BTreeSet<&str> = EVENT_TYPES.iter().map(|(name, _)| *name).collect();
        let folded = WorkItemsView::EVENT_TYPES.expect("a list");
        let unknown: Vec<&&str> = folded.iter().filter(|t| !known.contains(**t)).collect();
        assert!(unknown.is_empty(), "not event types: {unknown:?}");
        let named: BTreeSet<&&str> = folded.iter().collect();
        assert_eq!(named.len(), folded.len(), "a type named twice");
    }
}
