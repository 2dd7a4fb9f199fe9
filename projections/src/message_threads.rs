//! The message thread read model: every thread with its messages (and their read receipts),
//! internal notes and status history, and the views over it: a resident's threads for the inbox
//! and the customer-service work queue.
//!
//! Who may see what is decided by `talo_domain::message_thread::viewer`, the same rule the
//! command side uses; internal notes are kept here and filtered by the API for each viewer.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::calendar::local_date;
use talo_domain::message_thread::{MessageThreadAccess, Viewer, viewer};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, Channel, Position, RecordedEvent};
use talo_events_schema::message_thread::*;
use uuid::Uuid;

use crate::engine::Projection;
use crate::open_items::OpenItems;

/// One message with its receipts: delivered when it was recorded (its position and time),
/// read when the other side marked the thread read up to it or past it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message_id: Uuid,
    pub side: MessageSide,
    /// The person whose message it is (the resident, or the staff member who wrote it).
    pub sender_id: Uuid,
    /// Who recorded it: differs from the sender for contacts recorded on a resident's behalf.
    pub recorded_by: Actor,
    pub channel: Channel,
    pub body: String,
    pub delivered_at: DateTime<Utc>,
    pub position: Position,
    pub read_at: Option<DateTime<Utc>>,
    pub read_position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRecord {
    pub note_id: Uuid,
    pub text: String,
    pub author: Actor,
    pub channel: Channel,
    pub at: DateTime<Utc>,
    pub position: Position,
}

/// One change in a thread's life: its start, a status change, an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadChange {
    pub status: MessageThreadStatus,
    pub cause: Option<StatusChangeCause>,
    pub handler_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub channel: Channel,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageThreadRecord {
    pub message_thread_id: Uuid,
    pub organisation_id: Uuid,
    pub ticket: String,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub resident_id: Uuid,
    pub category: MessageCategory,
    pub subject: String,
    pub started_by: Actor,
    /// How the thread reached the organisation.
    pub channel: Channel,
    pub started_at: DateTime<Utc>,
    pub status: MessageThreadStatus,
    pub handler_id: Option<Uuid>,
    pub messages: Vec<MessageRecord>,
    pub notes: Vec<NoteRecord>,
    /// The start, every status change and every assignment, oldest first.
    pub history: Vec<ThreadChange>,
    pub last_message_at: DateTime<Utc>,
    pub last_position: Position,
}

impl MessageThreadRecord {
    pub fn access(&self) -> MessageThreadAccess {
        MessageThreadAccess {
            property_id: self.property_id,
            apartment_id: self.apartment_id,
            resident_id: self.resident_id,
            started_on: local_date(self.started_at),
        }
    }

    /// Since when the resident has been waiting for us: the first of the resident's messages
    /// after the office's last message, while the next move is ours (new or in progress).
    /// Counted from the first, not the latest, so writing "any news?" does not move a resident
    /// back in the queue.
    pub fn waiting_for_us_since(&self) -> Option<DateTime<Utc>> {
        if !matches!(
            self.status,
            MessageThreadStatus::New | MessageThreadStatus::InProgress
        ) {
            return None;
        }
        let answered = self
            .messages
            .iter()
            .rposition(|m| m.side == MessageSide::Staff)
            .map_or(0, |i| i + 1);
        self.messages[answered..]
            .iter()
            .find(|m| m.side == MessageSide::Resident)
            .map(|m| m.delivered_at)
    }

    /// Where the thread stands in the queue in `order`: (after the waiting ones, instant, id).
    pub fn queue_key(&self, order: ThreadQueueOrder) -> (bool, DateTime<Utc>, Uuid) {
        match order {
            ThreadQueueOrder::Age => (false, self.started_at, self.message_thread_id),
            ThreadQueueOrder::WaitingForUs => match self.waiting_for_us_since() {
                Some(since) => (false, since, self.message_thread_id),
                None => (true, self.started_at, self.message_thread_id),
            },
        }
    }

    /// Messages from the other side that the viewer's side has not read.
    pub fn unread_by(&self, side: MessageSide) -> usize {
        self.messages
            .iter()
            .filter(|m| m.side == side.other() && m.read_at.is_none())
            .count()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredThreads")]
pub struct MessageThreadsView {
    threads: BTreeMap<Uuid, MessageThreadRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_apartment: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_resident: BTreeMap<Uuid, BTreeSet<Uuid>>,
    /// Threads not closed: the work queue's. Not in snapshots (see [`OpenItems`]).
    #[serde(skip_serializing)]
    open: OpenItems,
}

/// A snapshot's fields, in the view's order.
#[derive(Deserialize)]
struct StoredThreads {
    threads: BTreeMap<Uuid, MessageThreadRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_apartment: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_resident: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl From<StoredThreads> for MessageThreadsView {
    fn from(stored: StoredThreads) -> Self {
        let open = stored
            .threads
            .values()
            .filter(|t| t.status != MessageThreadStatus::Closed)
            .map(|t| (t.organisation_id, t.message_thread_id))
            .collect();
        let StoredThreads {
            threads,
            by_organisation,
            by_apartment,
            by_resident,
        } = stored;
        MessageThreadsView {
            threads,
            by_organisation,
            by_apartment,
            by_resident,
            open,
        }
    }
}

impl Projection for MessageThreadsView {
    const NAME: &'static str = "message_threads";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        if let DomainEvent::MessageThreadStarted(e) = decoded {
            let record = MessageThreadRecord {
                message_thread_id: e.message_thread_id,
                organisation_id: meta.organisation_id,
                ticket: e.ticket.clone(),
                property_id: e.property_id,
                apartment_id: e.apartment_id,
                resident_id: e.resident_id,
                category: e.category,
                subject: e.subject.clone(),
                started_by: meta.actor,
                channel: meta.channel,
                started_at: at,
                status: MessageThreadStatus::New,
                handler_id: None,
                messages: Vec::new(),
                notes: Vec::new(),
                history: vec![ThreadChange {
                    status: MessageThreadStatus::New,
                    cause: None,
                    handler_id: None,
                    at,
                    actor: meta.actor,
                    channel: meta.channel,
                    position: event.position,
                }],
                last_message_at: at,
                last_position: event.position,
            };
            let id = e.message_thread_id;
            self.by_organisation
                .entry(meta.organisation_id)
                .or_default()
                .insert(id);
            self.by_apartment
                .entry(e.apartment_id)
                .or_default()
                .insert(id);
            self.by_resident
                .entry(e.resident_id)
                .or_default()
                .insert(id);
            self.open.set(meta.organisation_id, id, true);
            self.threads.insert(id, record);
            return;
        }
        let Some(id) = message_thread_id(decoded) else {
            return;
        };
        let Some(t) = self.threads.get_mut(&id) else {
            return;
        };
        t.last_position = event.position;
        let change = |status, cause, handler_id| ThreadChange {
            status,
            cause,
            handler_id,
            at,
            actor: meta.actor,
            channel: meta.channel,
            position: event.position,
        };
        match decoded {
            DomainEvent::MessagePosted(e) => {
                t.messages.push(MessageRecord {
                    message_id: e.message_id,
                    side: e.from,
                    sender_id: e.sender_id,
                    recorded_by: meta.actor,
                    channel: meta.channel,
                    body: e.body.clone(),
                    delivered_at: at,
                    position: event.position,
                    read_at: None,
                    read_position: None,
                });
                t.last_message_at = at;
            }
            DomainEvent::MessageThreadNoteAdded(e) => t.notes.push(NoteRecord {
                note_id: e.note_id,
                text: e.text.clone(),
                author: meta.actor,
                channel: meta.channel,
                at,
                position: event.position,
            }),
            DomainEvent::MessageThreadAssigned(e) => {
                t.handler_id = Some(e.handler_id);
                t.history.push(change(t.status, None, Some(e.handler_id)));
            }
            DomainEvent::MessageThreadStatusChanged(e) => {
                t.status = e.status;
                self.open.set(
                    t.organisation_id,
                    id,
                    e.status != MessageThreadStatus::Closed,
                );
                t.history
                    .push(change(e.status, Some(e.cause), t.handler_id));
            }
            DomainEvent::MessageThreadRead(e) => {
                let Some(up_to) = t
                    .messages
                    .iter()
                    .position(|m| m.message_id == e.up_to_message_id)
                else {
                    return;
                };
                for m in t.messages[..=up_to]
                    .iter_mut()
                    .filter(|m| m.side != e.reader_side && m.read_at.is_none())
                {
                    m.read_at = Some(at);
                    m.read_position = Some(event.position);
                }
            }
            _ => {}
        }
    }
}

fn message_thread_id(event: &DomainEvent) -> Option<Uuid> {
    Some(match event {
        DomainEvent::MessagePosted(e) => e.message_thread_id,
        DomainEvent::MessageThreadNoteAdded(e) => e.message_thread_id,
        DomainEvent::MessageThreadAssigned(e) => e.message_thread_id,
        DomainEvent::MessageThreadStatusChanged(e) => e.message_thread_id,
        DomainEvent::MessageThreadRead(e) => e.message_thread_id,
        _ => return None,
    })
}

/// Narrows the work queue.
#[derive(Debug, Clone, Default)]
pub struct ThreadQueueFilter {
    pub property_id: Option<Uuid>,
    pub category: Option<MessageCategory>,
    /// Exactly this status; without one, every thread that is not closed.
    pub status: Option<MessageThreadStatus>,
    pub assigned_to_me: bool,
    pub unassigned_only: bool,
}

/// How the work queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThreadQueueOrder {
    /// Oldest thread first.
    #[default]
    Age,
    /// Longest "waiting for us" first; threads not waiting for us after them, oldest first.
    WaitingForUs,
}

impl MessageThreadsView {
    pub fn get(&self, message_thread_id: Uuid) -> Option<&MessageThreadRecord> {
        self.threads.get(&message_thread_id)
    }

    /// A thread as `principal` may see it, or `None` if it is not theirs to see.
    pub fn visible(
        &self,
        principal: &Principal,
        message_thread_id: Uuid,
    ) -> Option<(&MessageThreadRecord, Viewer)> {
        let record = self.threads.get(&message_thread_id)?;
        if record.organisation_id != principal.organisation_id {
            return None;
        }
        Some((record, viewer(principal, &record.access())?))
    }

    /// The threads the principal takes part in as a resident (about their apartments, or with
    /// them), with how they see each: as a resident, or as staff if they also work for the
    /// property.
    pub fn for_resident(&self, principal: &Principal) -> Vec<(&MessageThreadRecord, Viewer)> {
        let mut ids: BTreeSet<Uuid> = principal
            .homes
            .iter()
            .filter_map(|h| self.by_apartment.get(&h.apartment_id))
            .flatten()
            .copied()
            .collect();
        ids.extend(
            self.by_resident
                .get(&principal.person_id)
                .into_iter()
                .flatten(),
        );
        ids.iter()
            .filter_map(|id| self.threads.get(id))
            .filter(|t| t.organisation_id == principal.organisation_id)
            .filter(|t| {
                let access = t.access();
                t.resident_id == principal.person_id
                    || principal
                        .occupant_role_since(access.apartment_id, access.started_on, false)
                        .is_some()
            })
            .filter_map(|t| Some((t, viewer(principal, &t.access())?)))
            .collect()
    }

    /// The customer-service work queue: threads of the properties the principal works for,
    /// filtered and ordered.
    pub fn queue(
        &self,
        principal: &Principal,
        filter: &ThreadQueueFilter,
        order: ThreadQueueOrder,
    ) -> Vec<&MessageThreadRecord> {
        let candidates: Box<dyn Iterator<Item = &Uuid>> = match filter.status {
            Some(MessageThreadStatus::Closed) => Box::new(
                self.by_organisation
                    .get(&principal.organisation_id)
                    .into_iter()
                    .flatten(),
            ),
            _ => Box::new(self.open.of(principal.organisation_id)),
        };
        let mut records: Vec<&MessageThreadRecord> = candidates
            .filter_map(|id| self.threads.get(id))
            .filter(|t| principal.office_role_for(t.property_id).is_some())
            .filter(|t| match filter.status {
                Some(s) => t.status == s,
                None => t.status != MessageThreadStatus::Closed,
            })
            .filter(|t| filter.property_id.is_none_or(|p| t.property_id == p))
            .filter(|t| filter.category.is_none_or(|c| t.category == c))
            .filter(|t| !filter.assigned_to_me || t.handler_id == Some(principal.person_id))
            .filter(|t| !filter.unassigned_only || t.handler_id.is_none())
            .collect();
        // The key scans a thread's messages ("waiting for us"): once per thread, not per
        // comparison.
        records.sort_by_cached_key(|t| t.queue_key(order));
        records
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::register::StaffRole;

    use super::*;
    use crate::given::{Given, utc};

    fn ids(threads: Vec<&MessageThreadRecord>) -> Vec<Uuid> {
        threads.iter().map(|t| t.message_thread_id).collect()
    }

    #[test]
    fn the_queue_holds_the_threads_not_closed_also_after_a_snapshot() {
        let mut given = Given::new();
        let mut view = MessageThreadsView::default();
        let property = given.property("Testitalo");
        let apartment = given.apartment(property, "A 1");
        let (_, resident) = given.lease(apartment, crate::given::ymd(2025, 1, 1), None);
        let threads: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        for (n, &message_thread_id) in threads.iter().enumerate() {
            given.fold(
                &mut view,
                utc(2026, 3, 2 + n as u32, 8),
                Some(property.0),
                MessageThreadStarted {
                    message_thread_id,
                    ticket: format!("V-{n}"),
                    property_id: property.0,
                    apartment_id: apartment,
                    resident_id: resident,
                    category: MessageCategory::General,
                    subject: "Kysymys".into(),
                },
            );
        }
        let change = |given: &mut Given, view: &mut MessageThreadsView, id, status, day| {
            given.fold(
                view,
                utc(2026, 3, day, 8),
                Some(property.0),
                MessageThreadStatusChanged {
                    message_thread_id: id,
                    status,
                    cause: StatusChangeCause::Staff,
                },
            );
        };
        use MessageThreadStatus::*;
        change(&mut given, &mut view, threads[0], Closed, 10);
        change(&mut given, &mut view, threads[1], WaitingForResident, 10);
        change(&mut given, &mut view, threads[2], Closed, 10);
        // The resident writes again: reopened.
        change(&mut given, &mut view, threads[2], New, 11);

        let clerk = given.staff_everywhere(StaffRole::CustomerService);
        let queue = |view: &MessageThreadsView, status| {
            let filter = ThreadQueueFilter {
                status,
                ..ThreadQueueFilter::default()
            };
            ids(view.queue(&clerk, &filter, ThreadQueueOrder::Age))
        };
        let snapshot: MessageThreadsView =
            rmp_serde::from_slice(&rmp_serde::to_vec(&view).unwrap()).unwrap();
        assert_eq!(
            snapshot, view,
            "the open threads are found again from the threads"
        );
        for view in [&view, &snapshot] {
            assert_eq!(queue(view, None), vec![threads[1], threads[2], threads[3]]);
            assert_eq!(queue(view, Some(Closed)), vec![threads[0]]);
            assert_eq!(queue(view, Some(WaitingForResident)), vec![threads[1]]);
            assert_eq!(queue(view, Some(New)), vec![threads[2], threads[3]]);
        }
        // Another organisation's clerk sees none of them.
        let elsewhere = Given::new().staff_everywhere(StaffRole::CustomerService);
        let theirs = view.queue(
            &elsewhere,
            &ThreadQueueFilter::default(),
            ThreadQueueOrder::Age,
        );
        assert!(theirs.is_empty());
    }
}
