//! Announcements: what each resident sees as current for their home, and what staff see of
//! their properties, with every correction kept and read counts; for reports, how many of the
//! people an announcement reached in a property read it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::announcement::targets_home;
use talo_domain::calendar::local_date;
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

/// How an announcement did in one targeted property.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// People with a contract (lease or shareholding) on a targeted apartment of the property
    /// on some day it was shown: from its publishing day to today, its expiry or its
    /// withdrawal, whichever came first. Everyone who could have read it, so `readers` never
    /// exceeds it.
    pub audience: u32,
    /// Those of the audience who opened it.
    pub readers: u32,
}

impl AnnouncementsView {
    /// The organisation's announcements published in `[from, until)`, oldest first.
    pub fn published_between(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&AnnouncementRecord> {
        let mut records: Vec<&AnnouncementRecord> = self
            .records
            .values()
            .filter(|r| {
                r.organisation_id == organisation_id && from <= r.publish_at && r.publish_at < until
            })
            .collect();
        records.sort_by_key(|r| (r.publish_at, r.announcement_id));
        records
    }
}

impl AnnouncementRecord {
    /// The properties it targets, each once, in target order.
    pub fn properties(&self) -> Vec<Uuid> {
        let mut properties: Vec<Uuid> = Vec::new();
        for t in &self.targets {
            if !properties.contains(&t.property_id) {
                properties.push(t.property_id);
            }
        }
        properties
    }

    /// Its audience and readers in `property_id` as of `now` (see [`Reach`]).
    pub fn reach(&self, register: &Register, property_id: Uuid, now: DateTime<Utc>) -> Reach {
        let shown_until = [
            Some(now),
            self.expires_at,
            self.withdrawn.as_ref().map(|w| w.0),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now);
        if shown_until < self.publish_at {
            return Reach::default();
        }
        let (first, last) = (local_date(self.publish_at), local_date(shown_until));
        let targeted = |apartment_id: &Uuid| {
            register.apartments.get(apartment_id).is_some_and(|a| {
                self.targets.iter().any(|t| {
                    t.property_id == property_id
                        && a.property_id == property_id
                        && t.building_id.is_none_or(|b| a.building_id == b)
                })
            })
        };
        let audience: BTreeSet<Uuid> = register
            .contracts
            .values()
            .filter(|c| c.starts_on <= last && c.ends_on.is_none_or(|end| first <= end))
            .filter(|c| targeted(&c.apartment_id))
            .map(|c| c.person_id)
            .collect();
        Reach {
            audience: audience.len() as u32,
            readers: audience.intersection(&self.readers).count() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::announcement::*;

    use super::*;
    use crate::given::{Given, utc, ymd};

    #[test]
    fn the_audience_is_everyone_living_there_while_it_was_shown() {
        let mut given = Given::new();
        let mut view = AnnouncementsView::default();
        let property = given.property("Testitalo");
        let (a1, a2, a3) = (
            given.apartment(property, "A 1"),
            given.apartment(property, "A 2"),
            given.apartment(property, "A 3"),
        );
        let (_, stays) = given.lease(a1, ymd(2025, 1, 1), None);
        // Moves out on 5 March: saw it and did not read it.
        given.lease(a2, ymd(2025, 1, 1), Some(ymd(2026, 3, 5)));
        // Moves in after the withdrawal: never saw it.
        given.lease(a3, ymd(2026, 3, 20), None);
        let announcement_id = Uuid::now_v7();
        given.fold(
            &mut view,
            utc(2026, 3, 2, 8),
            Some(property.0),
            AnnouncementPublished {
                announcement_id,
                title: "Vesikatko".into(),
                body: "Vesi on poikki".into(),
                category: AnnouncementCategory::Outage,
                targets: vec![AnnouncementTarget {
                    property_id: property.0,
                    building_id: None,
                }],
                publish_at: utc(2026, 3, 2, 8),
                expires_at: None,
            },
        );
        given.fold(
            &mut view,
            utc(2026, 3, 3, 8),
            Some(property.0),
            AnnouncementRead {
                announcement_id,
                reader_id: stays,
            },
        );
        given.fold(
            &mut view,
            utc(2026, 3, 10, 8),
            Some(property.0),
            AnnouncementWithdrawn {
                announcement_id,
                reason: "Korjattu".into(),
            },
        );
        let org = given.organisation_id;
        let published = view.published_between(org, utc(2026, 3, 1, 0), utc(2026, 3, 3, 0));
        assert_eq!(published.len(), 1);
        assert!(
            view.published_between(org, utc(2026, 3, 2, 9), utc(2026, 3, 9, 0))
                .is_empty()
        );
        let record = published[0];
        assert_eq!(record.properties(), vec![property.0]);
        let now = utc(2026, 4, 1, 8);
        assert_eq!(
            record.reach(&given.register, property.0, now),
            Reach {
                audience: 2,
                readers: 1
            }
        );
        // On its first evening only those living there then.
        assert_eq!(
            record
                .reach(&given.register, property.0, utc(2026, 3, 2, 18))
                .audience,
            2
        );
        assert_eq!(
            record.reach(&given.register, Uuid::now_v7(), now),
            Reach::default()
        );
    }
}
