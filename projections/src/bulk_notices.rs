//! The bulk notice read model: every notice with the recipients recorded when it was sent and
//! when each read it; the views over it: a recipient's notices for the inbox, and the office's
//! list with read counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::bulk_notice::{Viewer, viewer};
use talo_events_schema::DomainEvent;
use talo_events_schema::bulk_notice::NoticeTarget;
use talo_events_schema::envelope::{Actor, Channel, Position, RecordedEvent};
use uuid::Uuid;

use crate::engine::Projection;

/// A recipient and when they read the notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipientRecord {
    pub person_id: Uuid,
    /// The apartments through which they got it (usually one).
    pub apartment_ids: Vec<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub read_position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkNoticeRecord {
    pub bulk_notice_id: Uuid,
    pub organisation_id: Uuid,
    pub property_id: Uuid,
    pub target: NoticeTarget,
    pub subject: String,
    pub body: String,
    pub sent_by: Actor,
    pub channel: Channel,
    pub sent_at: DateTime<Utc>,
    pub position: Position,
    pub recipients_on: NaiveDate,
    /// By person id.
    pub recipients: BTreeMap<Uuid, RecipientRecord>,
}

impl BulkNoticeRecord {
    pub fn read_count(&self) -> usize {
        self.recipients
            .values()
            .filter(|r| r.read_at.is_some())
            .count()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkNoticesView {
    notices: BTreeMap<Uuid, BulkNoticeRecord>,
    by_organisation: BTreeMap<Uuid, BTreeSet<Uuid>>,
    by_recipient: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Projection for BulkNoticesView {
    const NAME: &'static str = "bulk_notices";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        match decoded {
            DomainEvent::BulkNoticeSent(e) => {
                let mut recipients: BTreeMap<Uuid, RecipientRecord> = BTreeMap::new();
                for r in &e.recipients {
                    recipients
                        .entry(r.person_id)
                        .or_insert_with(|| RecipientRecord {
                            person_id: r.person_id,
                            apartment_ids: Vec::new(),
                            read_at: None,
                            read_position: None,
                        })
                        .apartment_ids
                        .push(r.apartment_id);
                }
                for person in recipients.keys() {
                    self.by_recipient
                        .entry(*person)
                        .or_default()
                        .insert(e.bulk_notice_id);
                }
                self.by_organisation
                    .entry(meta.organisation_id)
                    .or_default()
                    .insert(e.bulk_notice_id);
                self.notices.insert(
                    e.bulk_notice_id,
                    BulkNoticeRecord {
                        bulk_notice_id: e.bulk_notice_id,
                        organisation_id: meta.organisation_id,
                        property_id: e.property_id,
                        target: e.target.clone(),
                        subject: e.subject.clone(),
                        body: e.body.clone(),
                        sent_by: meta.actor,
                        channel: meta.channel,
                        sent_at: meta.occurred_at,
                        position: event.position,
                        recipients_on: e.recipients_on,
                        recipients,
                    },
                );
            }
            DomainEvent::BulkNoticeRead(e) => {
                let recipient = self
                    .notices
                    .get_mut(&e.bulk_notice_id)
                    .and_then(|n| n.recipients.get_mut(&meta.actor.person_id));
                if let Some(r) = recipient
                    && r.read_at.is_none()
                {
                    r.read_at = Some(meta.occurred_at);
                    r.read_position = Some(event.position);
                }
            }
            _ => {}
        }
    }
}

impl BulkNoticesView {
    /// A notice as `principal` may see it, or `None` if it is not theirs to see.
    pub fn visible(
        &self,
        principal: &Principal,
        bulk_notice_id: Uuid,
    ) -> Option<(&BulkNoticeRecord, Viewer)> {
        let record = self.notices.get(&bulk_notice_id)?;
        if record.organisation_id != principal.organisation_id {
            return None;
        }
        let is_recipient = record.recipients.contains_key(&principal.person_id);
        Some((record, viewer(principal, record.property_id, is_recipient)?))
    }

    /// The notices sent to the principal, newest first.
    pub fn for_recipient(&self, principal: &Principal) -> Vec<&BulkNoticeRecord> {
        let mut records: Vec<&BulkNoticeRecord> = self
            .by_recipient
            .get(&principal.person_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.notices.get(id))
            .filter(|n| n.organisation_id == principal.organisation_id)
            .collect();
        records.sort_by_key(|n| std::cmp::Reverse((n.sent_at, n.bulk_notice_id)));
        records
    }

    /// The notices of the properties the principal works for (every property for an auditor),
    /// newest first.
    pub fn sent(&self, principal: &Principal, property_id: Option<Uuid>) -> Vec<&BulkNoticeRecord> {
        let mut records: Vec<&BulkNoticeRecord> = self
            .by_organisation
            .get(&principal.organisation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.notices.get(id))
            .filter(|n| property_id.is_none_or(|p| n.property_id == p))
            .filter(|n| {
                principal.is_auditor() || principal.office_role_for(n.property_id).is_some()
            })
            .collect();
        records.sort_by_key(|n| std::cmp::Reverse((n.sent_at, n.bulk_notice_id)));
        records
    }
}
