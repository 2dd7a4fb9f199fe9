//! Request forms and service requests: the organisation's current forms (every version kept,
//! so a request shows the questions it was answered on), each request with its answers,
//! status history and notes; the resident's own requests and the office queue.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::{CaseAccess, Principal, Viewer, case_viewer};
use talo_domain::calendar::local_date;
use talo_domain::request_form::ServiceRequestStatus;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, Channel, Position, RecordedEvent};
use talo_events_schema::request_form::*;
use uuid::Uuid;

use crate::engine::Projection;
use crate::fault_reports::Note;
use crate::open_items::OpenItems;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormVersion {
    pub version: u32,
    pub name: String,
    pub description: String,
    pub questions: Vec<Question>,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormRecord {
    pub form_id: Uuid,
    pub organisation_id: Uuid,
    pub versions: Vec<FormVersion>,
    pub retired: bool,
}

impl FormRecord {
    pub fn current(&self) -> Option<&FormVersion> {
        self.versions.last()
    }

    pub fn version(&self, version: u32) -> Option<&FormVersion> {
        self.versions.iter().find(|v| v.version == version)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStep {
    pub status: ServiceRequestStatus,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub channel: Channel,
    pub position: Position,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequestRecord {
    pub request_id: Uuid,
    pub organisation_id: Uuid,
    pub ticket: String,
    pub form_id: Uuid,
    pub form_version: u32,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub requester_id: Uuid,
    pub channel: Channel,
    pub answers: Vec<Answer>,
    pub status: ServiceRequestStatus,
    pub filed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The completion summary or the reason for rejection or cancellation.
    pub outcome: Option<String>,
    pub history: Vec<RequestStep>,
    pub notes: Vec<Note>,
}

impl ServiceRequestRecord {
    pub fn access(&self) -> CaseAccess {
        CaseAccess {
            property_id: self.property_id,
            apartment_id: Some(self.apartment_id),
            reporter_id: self.requester_id,
            reported_on: local_date(self.filed_at),
            contractor_company_id: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredServiceRequests")]
pub struct ServiceRequestsView {
    forms: BTreeMap<Uuid, FormRecord>,
    requests: BTreeMap<Uuid, ServiceRequestRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    /// Requests not closed: the office queue's. Not in snapshots (see [`OpenItems`]).
    #[serde(skip_serializing)]
    open: OpenItems,
}

/// A snapshot's fields, in the view's order.
#[derive(Deserialize)]
struct StoredServiceRequests {
    forms: BTreeMap<Uuid, FormRecord>,
    requests: BTreeMap<Uuid, ServiceRequestRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl From<StoredServiceRequests> for ServiceRequestsView {
    fn from(stored: StoredServiceRequests) -> Self {
        let open = stored
            .requests
            .values()
            .filter(|r| !r.status.is_closed())
            .map(|r| (r.organisation_id, r.request_id))
            .collect();
        ServiceRequestsView {
            forms: stored.forms,
            requests: stored.requests,
            by_organisation: stored.by_organisation,
            open,
        }
    }
}

impl Projection for ServiceRequestsView {
    const NAME: &'static str = "service_requests";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        match decoded {
            DomainEvent::RequestFormPublished(e) => {
                let form = self.forms.entry(e.form_id).or_insert_with(|| FormRecord {
                    form_id: e.form_id,
                    organisation_id: meta.organisation_id,
                    versions: Vec::new(),
                    retired: false,
                });
                form.versions.push(FormVersion {
                    version: e.version,
                    name: e.name.clone(),
                    description: e.description.clone(),
                    questions: e.questions.clone(),
                    published_at: at,
                });
            }
            DomainEvent::RequestFormRetired(e) => {
                if let Some(form) = self.forms.get_mut(&e.form_id) {
                    form.retired = true;
                }
            }
            DomainEvent::ServiceRequestFiled(e) => {
                self.by_organisation
                    .entry(meta.organisation_id)
                    .or_default()
                    .insert(e.request_id);
                self.open.set(meta.organisation_id, e.request_id, true);
                self.requests.insert(
                    e.request_id,
                    ServiceRequestRecord {
                        request_id: e.request_id,
                        organisation_id: meta.organisation_id,
                        ticket: e.ticket.clone(),
                        form_id: e.form_id,
                        form_version: e.form_version,
                        property_id: e.property_id,
                        apartment_id: e.apartment_id,
                        requester_id: e.requester_id,
                        channel: meta.channel,
                        answers: e.answers.clone(),
                        status: ServiceRequestStatus::Submitted,
                        filed_at: at,
                        closed_at: None,
                        outcome: None,
                        history: vec![RequestStep {
                            status: ServiceRequestStatus::Submitted,
                            at,
                            actor: meta.actor,
                            channel: meta.channel,
                            position: event.position,
                            detail: None,
                        }],
                        notes: Vec::new(),
                    },
                );
            }
            _ => {
                let Some((id, detail)) = request_step(decoded) else {
                    return;
                };
                let Some(r) = self.requests.get_mut(&id) else {
                    return;
                };
                if let DomainEvent::ServiceRequestNoteAdded(e) = decoded {
                    r.notes.push(Note {
                        note_id: e.note_id,
                        text: e.text.clone(),
                        visibility: e.visibility,
                        author: meta.actor,
                        at,
                    });
                    return;
                }
                if let Some(status) = ServiceRequestStatus::after(decoded) {
                    r.status = status;
                    self.open.set(r.organisation_id, id, !status.is_closed());
                    if status.is_closed() {
                        r.closed_at = Some(at);
                        r.outcome = detail.clone();
                    }
                    r.history.push(RequestStep {
                        status,
                        at,
                        actor: meta.actor,
                        channel: meta.channel,
                        position: event.position,
                        detail,
                    });
                }
            }
        }
    }
}

fn request_step(event: &DomainEvent) -> Option<(Uuid, Option<String>)> {
    Some(match event {
        DomainEvent::ServiceRequestTaken(e) => (e.request_id, None),
        DomainEvent::ServiceRequestNoteAdded(e) => (e.request_id, None),
        DomainEvent::ServiceRequestCompleted(e) => (e.request_id, Some(e.summary.clone())),
        DomainEvent::ServiceRequestRejected(e) => (e.request_id, Some(e.reason.clone())),
        DomainEvent::ServiceRequestCancelled(e) => (e.request_id, Some(e.reason.clone())),
        _ => return None,
    })
}

impl ServiceRequestsView {
    /// The organisation's forms that take requests, by name.
    pub fn forms(&self, organisation_id: Uuid) -> Vec<&FormRecord> {
        let mut forms: Vec<&FormRecord> = self
            .forms
            .values()
            .filter(|f| f.organisation_id == organisation_id && !f.retired)
            .collect();
        forms.sort_by_key(|f| f.current().map(|v| v.name.clone()));
        forms
    }

    pub fn form(&self, organisation_id: Uuid, form_id: Uuid) -> Option<&FormRecord> {
        self.forms
            .get(&form_id)
            .filter(|f| f.organisation_id == organisation_id)
    }

    pub fn visible(
        &self,
        principal: &Principal,
        request_id: Uuid,
    ) -> Option<(&ServiceRequestRecord, Viewer)> {
        let r = self
            .requests
            .get(&request_id)
            .filter(|r| r.organisation_id == principal.organisation_id)?;
        Some((r, case_viewer(principal, &r.access())?))
    }

    /// The resident's own requests, newest first.
    pub fn for_occupant(&self, principal: &Principal) -> Vec<&ServiceRequestRecord> {
        let mut records: Vec<&ServiceRequestRecord> = self
            .in_organisation(principal.organisation_id)
            .filter(|r| {
                matches!(
                    case_viewer(principal, &r.access()),
                    Some(Viewer::Occupant(_) | Viewer::PastReporter)
                )
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.filed_at, r.request_id)));
        records
    }

    /// Open requests in the properties the principal's office serves, oldest first.
    pub fn queue(
        &self,
        principal: &Principal,
        status: Option<ServiceRequestStatus>,
    ) -> Vec<&ServiceRequestRecord> {
        let mut records: Vec<&ServiceRequestRecord> = self
            .open
            .of(principal.organisation_id)
            .filter_map(|id| self.requests.get(id))
            .filter(|r| principal.office_role_for(r.property_id).is_some())
            .filter(|r| status.is_none_or(|s| r.status == s))
            .collect();
        records.sort_by_key(|r| (r.filed_at, r.request_id));
        records
    }

    fn in_organisation(
        &self,
        organisation_id: Uuid,
    ) -> impl Iterator<Item = &ServiceRequestRecord> {
        self.by_organisation
            .get(&organisation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.requests.get(id))
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::register::StaffRole;
    use talo_events_schema::request_form::*;

    use super::*;
    use crate::given::{Given, utc, ymd};

    #[test]
    fn the_queue_holds_the_requests_not_closed_also_after_a_snapshot() {
        let mut given = Given::new();
        let mut view = ServiceRequestsView::default();
        let property = given.property("Testitalo");
        let apartment = given.apartment(property, "A 1");
        let (_, requester) = given.lease(apartment, ymd(2025, 1, 1), None);
        let requests: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        for (n, &request_id) in requests.iter().enumerate() {
            given.fold(
                &mut view,
                utc(2026, 3, 2 + n as u32, 8),
                Some(property.0),
                ServiceRequestFiled {
                    request_id,
                    ticket: format!("P-{n}"),
                    form_id: Uuid::now_v7(),
                    form_version: 1,
                    property_id: property.0,
                    apartment_id: apartment,
                    requester_id: requester,
                    answers: Vec::new(),
                },
            );
        }
        let at = utc(2026, 3, 10, 8);
        let on = Some(property.0);
        let (done, taken) = (requests[0], requests[1]);
        given.fold(&mut view, at, on, ServiceRequestTaken { request_id: taken });
        given.fold(&mut view, at, on, ServiceRequestTaken { request_id: done });
        given.fold(
            &mut view,
            at,
            on,
            ServiceRequestCompleted {
                request_id: done,
                summary: "Avaimet luovutettu".into(),
            },
        );
        given.fold(
            &mut view,
            at,
            on,
            ServiceRequestRejected {
                request_id: requests[2],
                reason: "Ei".into(),
            },
        );
        given.fold(
            &mut view,
            at,
            on,
            ServiceRequestCancelled {
                request_id: requests[3],
                reason: "Peruttu".into(),
            },
        );

        let clerk = given.staff_everywhere(StaffRole::CustomerService);
        let ids = |view: &ServiceRequestsView, status| -> Vec<Uuid> {
            view.queue(&clerk, status)
                .iter()
                .map(|r| r.request_id)
                .collect()
        };
        let snapshot: ServiceRequestsView =
            rmp_serde::from_slice(&rmp_serde::to_vec(&view).unwrap()).unwrap();
        assert_eq!(
            snapshot, view,
            "the open requests are found again from the records"
        );
        for view in [&view, &snapshot] {
            assert_eq!(ids(view, None), vec![taken, requests[4]]);
            assert_eq!(
                ids(view, Some(ServiceRequestStatus::InProgress)),
                vec![taken]
            );
            assert!(ids(view, Some(ServiceRequestStatus::Completed)).is_empty());
        }
    }
}
