//! Renovation requests as the shareholder and the office follow them: status history, the
//! whole conversation (supplement requests, supplements, comments) in order, the decision and
//! its conditions.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::renovation::{Party, RenovationStatus, party};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, Position, RecordedEvent};
use talo_events_schema::renovation::RenovationWorkType;
use uuid::Uuid;

use crate::engine::Projection;
use crate::open_items::OpenItems;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    SupplementRequest,
    Supplement,
    Comment,
}

/// One message of the conversation on a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationEntry {
    pub kind: EntryKind,
    pub text: String,
    pub attachments: Vec<String>,
    pub author: Actor,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenovationStep {
    pub status: RenovationStatus,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenovationRecord {
    pub renovation_id: Uuid,
    pub organisation_id: Uuid,
    pub ticket: String,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub shareholder_id: Uuid,
    pub work_types: Vec<RenovationWorkType>,
    pub description: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub contractors: Vec<String>,
    pub attachments: Vec<String>,
    pub status: RenovationStatus,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub conditions: Vec<String>,
    pub rejection_reason: Option<String>,
    pub inspection: Option<(bool, String)>,
    pub conversation: Vec<ConversationEntry>,
    pub history: Vec<RenovationStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredRenovations")]
pub struct RenovationsView {
    records: BTreeMap<Uuid, RenovationRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    /// Requests not closed: the office queue's. Not in snapshots (see [`OpenItems`]).
    #[serde(skip_serializing)]
    open: OpenItems,
}

/// A snapshot's fields, in the view's order.
#[derive(Deserialize)]
struct StoredRenovations {
    records: BTreeMap<Uuid, RenovationRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl From<StoredRenovations> for RenovationsView {
    fn from(stored: StoredRenovations) -> Self {
        let open = stored
            .records
            .values()
            .filter(|r| !r.status.is_closed())
            .map(|r| (r.organisation_id, r.renovation_id))
            .collect();
        RenovationsView {
            records: stored.records,
            by_organisation: stored.by_organisation,
            open,
        }
    }
}

impl Projection for RenovationsView {
    const NAME: &'static str = "renovations";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        if let DomainEvent::RenovationRequested(e) = decoded {
            self.by_organisation
                .entry(meta.organisation_id)
                .or_default()
                .insert(e.renovation_id);
            self.open.set(meta.organisation_id, e.renovation_id, true);
            self.records.insert(
                e.renovation_id,
                RenovationRecord {
                    renovation_id: e.renovation_id,
                    organisation_id: meta.organisation_id,
                    ticket: e.ticket.clone(),
                    property_id: e.property_id,
                    apartment_id: e.apartment_id,
                    shareholder_id: e.shareholder_id,
                    work_types: e.work_types.clone(),
                    description: e.description.clone(),
                    planned_start: e.planned_start,
                    planned_end: e.planned_end,
                    contractors: e.contractors.clone(),
                    attachments: e.attachments.clone(),
                    status: RenovationStatus::Submitted,
                    requested_at: at,
                    decided_at: None,
                    conditions: Vec::new(),
                    rejection_reason: None,
                    inspection: None,
                    conversation: Vec::new(),
                    history: vec![RenovationStep {
                        status: RenovationStatus::Submitted,
                        at,
                        actor: meta.actor,
                        position: event.position,
                    }],
                },
            );
            return;
        }
        let Some(id) = renovation_id(decoded) else {
            return;
        };
        let Some(r) = self.records.get_mut(&id) else {
            return;
        };
        let entry = |kind, text: &str, attachments: &[String]| ConversationEntry {
            kind,
            text: text.to_owned(),
            attachments: attachments.to_vec(),
            author: meta.actor,
            at,
        };
        match decoded {
            DomainEvent::RenovationSupplementRequested(e) => {
                r.conversation
                    .push(entry(EntryKind::SupplementRequest, &e.request, &[]))
            }
            DomainEvent::RenovationSupplemented(e) => {
                r.conversation
                    .push(entry(EntryKind::Supplement, &e.text, &e.attachments))
            }
            DomainEvent::RenovationCommentAdded(e) => {
                r.conversation.push(entry(EntryKind::Comment, &e.text, &[]))
            }
            DomainEvent::RenovationApproved(e) => {
                r.decided_at = Some(at);
                r.conditions.clone_from(&e.conditions);
            }
            DomainEvent::RenovationRejected(e) => {
                r.decided_at = Some(at);
                r.rejection_reason = Some(e.reason.clone());
            }
            DomainEvent::RenovationInspected(e) => {
                r.inspection = Some((e.approved, e.notes.clone()))
            }
            _ => {}
        }
        if let Some(status) = RenovationStatus::after(decoded) {
            r.status = status;
            self.open.set(r.organisation_id, id, !status.is_closed());
            r.history.push(RenovationStep {
                status,
                at,
                actor: meta.actor,
                position: event.position,
            });
        }
    }
}

fn renovation_id(event: &DomainEvent) -> Option<Uuid> {
    Some(match event {
        DomainEvent::RenovationSupplementRequested(e) => e.renovation_id,
        DomainEvent::RenovationSupplemented(e) => e.renovation_id,
        DomainEvent::RenovationCommentAdded(e) => e.renovation_id,
        DomainEvent::RenovationApproved(e) => e.renovation_id,
        DomainEvent::RenovationRejected(e) => e.renovation_id,
        DomainEvent::RenovationWorkStarted(e) => e.renovation_id,
        DomainEvent::RenovationWorkCompleted(e) => e.renovation_id,
        DomainEvent::RenovationInspected(e) => e.renovation_id,
        DomainEvent::RenovationWithdrawn(e) => e.renovation_id,
        _ => return None,
    })
}

impl RenovationsView {
    pub fn visible(
        &self,
        principal: &Principal,
        renovation_id: Uuid,
    ) -> Option<(&RenovationRecord, Party)> {
        let r = self
            .records
            .get(&renovation_id)
            .filter(|r| r.organisation_id == principal.organisation_id)?;
        Some((
            r,
            party(principal, r.property_id, r.apartment_id, r.shareholder_id)?,
        ))
    }

    /// The shareholder's own requests (current and former apartments), newest first.
    pub fn for_shareholder(&self, principal: &Principal) -> Vec<&RenovationRecord> {
        let mut records: Vec<&RenovationRecord> = self
            .in_organisation(principal.organisation_id)
            .filter(|r| {
                matches!(
                    party(principal, r.property_id, r.apartment_id, r.shareholder_id),
                    Some(Party::Shareholder | Party::PastShareholder)
                )
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.requested_at, r.renovation_id)));
        records
    }

    /// Open requests in the properties the principal's office serves, oldest first.
    pub fn queue(
        &self,
        principal: &Principal,
        status: Option<RenovationStatus>,
    ) -> Vec<&RenovationRecord> {
        let mut records: Vec<&RenovationRecord> = self
            .open
            .of(principal.organisation_id)
            .filter_map(|id| self.records.get(id))
            .filter(|r| principal.office_role_for(r.property_id).is_some())
            .filter(|r| status.is_none_or(|s| r.status == s))
            .collect();
        records.sort_by_key(|r| (r.requested_at, r.renovation_id));
        records
    }

    fn in_organisation(&self, organisation_id: Uuid) -> impl Iterator<Item = &RenovationRecord> {
        self.by_organisation
            .get(&organisation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::register::StaffRole;
    use talo_events_schema::renovation::*;

    use super::*;
    use crate::given::{Given, utc, ymd};

    #[test]
    fn the_queue_holds_the_requests_not_closed_also_after_a_snapshot() {
        let mut given = Given::new();
        let mut view = RenovationsView::default();
        let property = given.property("Testitalo");
        let apartment = given.apartment(property, "A 1");
        let (_, shareholder) = given.lease(apartment, ymd(2025, 1, 1), None);
        let requests: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let planned: NaiveDate = ymd(2026, 5, 1);
        for (n, &renovation_id) in requests.iter().enumerate() {
            given.fold(
                &mut view,
                utc(2026, 3, 2 + n as u32, 8),
                Some(property.0),
                RenovationRequested {
                    renovation_id,
                    ticket: format!("R-{n}"),
                    property_id: property.0,
                    apartment_id: apartment,
                    shareholder_id: shareholder,
                    work_types: vec![RenovationWorkType::Bathroom],
                    description: "Kylpyhuone".into(),
                    planned_start: planned,
                    planned_end: planned,
                    contractors: Vec::new(),
                    attachments: Vec::new(),
                },
            );
        }
        let at = utc(2026, 3, 10, 8);
        given.fold(
            &mut view,
            at,
            Some(property.0),
            RenovationApproved {
                renovation_id: requests[0],
                conditions: Vec::new(),
            },
        );
        given.fold(
            &mut view,
            at,
            Some(property.0),
            RenovationRejected {
                renovation_id: requests[1],
                reason: "Ei".into(),
            },
        );
        given.fold(
            &mut view,
            at,
            Some(property.0),
            RenovationWithdrawn {
                renovation_id: requests[2],
                reason: "Peruttu".into(),
            },
        );

        let manager = given.staff_everywhere(StaffRole::PropertyManager);
        let ids = |view: &RenovationsView, status| -> Vec<Uuid> {
            view.queue(&manager, status)
                .iter()
                .map(|r| r.renovation_id)
                .collect()
        };
        let snapshot: RenovationsView =
            rmp_serde::from_slice(&rmp_serde::to_vec(&view).unwrap()).unwrap();
        assert_eq!(
            snapshot, view,
            "the open requests are found again from the records"
        );
        for view in [&view, &snapshot] {
            assert_eq!(ids(view, None), vec![requests[0], requests[3]]);
            assert_eq!(
                ids(view, Some(RenovationStatus::Submitted)),
                vec![requests[3]]
            );
            assert!(ids(view, Some(RenovationStatus::Rejected)).is_empty());
        }
    }
}
