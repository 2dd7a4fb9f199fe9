//! Announcements: what each resident sees as current for their home, and what staff see of
//! their properties, with every correction kept and read counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::announcement::targets_home;
use talo_domain::register::Register;
use talo_events_schema::DomainEvent;
use talo_events_schema::announcement::{AnnouncementCategory, AnnouncementTarget};
use talo_events_schema::envelope::{Actor, RecordedEvent};
use uuid::Uuid;

use crate::engine::Projection;

/// An earlier text, replaced by a correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub at: DateTime<Utc>,
    pub by: Actor,
    pub previous_title: String,
    pub previous_body: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnouncementRecord {
    pub announcement_id: Uuid,
    pub organisation_id: Uuid,
    pub title: String,
    pub body: String,
    pub category: AnnouncementCategory,
    pub targets: Vec<AnnouncementTarget>,
    pub publish_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub published_by: Actor,
    pub withdrawn: Option<(DateTime<Utc>, String)>,
    pub corrections: Vec<Correction>,
    pub readers: BTreeSet<Uuid>,
}

impl AnnouncementRecord {
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.withdrawn.is_none()
            && self.publish_at <= now
            && self.expires_at.is_none_or(|t| now < t)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnnouncementsView {
    records: BTreeMap<Uuid, AnnouncementRecord>,
}

impl Projection for AnnouncementsView {
    const NAME: &'static str = "announcements";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        match decoded {
            DomainEvent::AnnouncementPublished(e) => {
                self.records.insert(
                    e.announcement_id,
                    AnnouncementRecord {
                        announcement_id: e.announcement_id,
                        organisation_id: meta.organisation_id,
                        title: e.title.clone(),
                        body: e.body.clone(),
                        category: e.category,
                        targets: e.targets.clone(),
                        publish_at: e.publish_at,
                        expires_at: e.expires_at,
                        published_by: meta.actor,
                        withdrawn: None,
                        corrections: Vec::new(),
                        readers: BTreeSet::new(),
                    },
                );
            }
            DomainEvent::AnnouncementCorrected(e) => {
                if let Some(r) = self.records.get_mut(&e.announcement_id) {
                    r.corrections.push(Correction {
                        at: meta.occurred_at,
                        by: meta.actor,
                        previous_title: std::mem::replace(&mut r.title, e.title.clone()),
                        previous_body: std::mem::replace(&mut r.body, e.body.clone()),
                        reason: e.reason.clone(),
                    });
                    r.expires_at = e.expires_at;
                }
            }
            DomainEvent::AnnouncementWithdrawn(e) => {
                if let Some(r) = self.records.get_mut(&e.announcement_id) {
                    r.withdrawn = Some((meta.occurred_at, e.reason.clone()));
                }
            }
            DomainEvent::AnnouncementRead(e) => {
                if let Some(r) = self.records.get_mut(&e.announcement_id) {
                    r.readers.insert(e.reader_id);
                }
            }
            _ => {}
        }
    }
}

impl AnnouncementsView {
    pub fn get(&self, organisation_id: Uuid, announcement_id: Uuid) -> Option<&AnnouncementRecord> {
        self.records
            .get(&announcement_id)
            .filter(|r| r.organisation_id == organisation_id)
    }

    /// Whether the principal manages announcements of any of the record's properties.
    pub fn is_staff_view(record: &AnnouncementRecord, principal: &Principal) -> bool {
        principal.is_auditor()
            || record.targets.iter().any(|t| {
                principal.office_role_for(t.property_id).is_some()
                    || principal.committees.contains(&t.property_id)
            })
    }

    /// What the principal may see: current announcements for their home, and everything of
    /// the properties they publish for. Newest first.
    pub fn visible_to(
        &self,
        principal: &Principal,
        register: &Register,
        now: DateTime<Utc>,
    ) -> Vec<&AnnouncementRecord> {
        let mut records: Vec<&AnnouncementRecord> = self
            .records
            .values()
            .filter(|r| r.organisation_id == principal.organisation_id)
            .filter(|r| {
                Self::is_staff_view(r, principal)
                    || (r.is_current(now) && targets_home(&r.targets, principal, register))
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.publish_at, r.announcement_id)));
        records
    }
}
