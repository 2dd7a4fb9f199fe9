//! Announcements: what each resident sees as current for their home, and what staff see of
//! their properties, with every correction kept and read counts; for reports, how many of the
//! people an announcement reached in a property read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use talo_domain::access::Principal;
use talo_domain::announcement::targets_home;
use talo_domain::calendar::local_date;
use talo_domain::register::{Contract, Register};
use talo_events_schema::DomainEvent;
use talo_events_schema::announcement::{AnnouncementCategory, AnnouncementTarget};
use talo_events_schema::envelope::{Actor, RecordedEvent};
use talo_events_schema::register::StaffScope;
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

/// Where an announcement stands in a newest-first list: its publishing time to the microsecond
/// (as a page cursor carries it), then its id.
pub type ListKey = (i64, Uuid);

fn list_key(r: &AnnouncementRecord) -> ListKey {
    (r.publish_at.timestamp_micros(), r.announcement_id)
}

/// Snapshots hold only the records; the indexes are built again as a snapshot is read. Five
/// years of a large organisation are tens of thousands of announcements, and a resident's
/// list should not walk them all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnnouncementsView {
    records: BTreeMap<Uuid, AnnouncementRecord>,
    /// Each organisation's announcements.
    by_organisation: HashMap<Uuid, BTreeSet<ListKey>>,
    /// Each targeted property's announcements, by organisation and property.
    by_property: HashMap<(Uuid, Uuid), BTreeSet<ListKey>>,
}

#[derive(Serialize)]
struct RecordsOut<'a> {
    records: &'a BTreeMap<Uuid, AnnouncementRecord>,
}

#[derive(Deserialize)]
struct RecordsIn {
    records: BTreeMap<Uuid, AnnouncementRecord>,
}

impl Serialize for AnnouncementsView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordsOut {
            records: &self.records,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AnnouncementsView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let RecordsIn { records } = RecordsIn::deserialize(deserializer)?;
        let mut view = AnnouncementsView::default();
        for record in records.into_values() {
            view.insert(record);
        }
        Ok(view)
    }
}

impl Projection for AnnouncementsView {
    const NAME: &'static str = "announcements";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        match decoded {
            DomainEvent::AnnouncementPublished(e) => {
                self.insert(AnnouncementRecord {
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
                });
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

    /// A page of what the principal may see, newest first: current announcements for their
    /// home, and everything of the properties they publish for. At most `at_most` of them
    /// after `after` (the last of the page before), and how many there are in all.
    pub fn page_visible_to(
        &self,
        principal: &Principal,
        register: &Register,
        now: DateTime<Utc>,
        after: Option<ListKey>,
        at_most: usize,
    ) -> (Vec<&AnnouncementRecord>, usize) {
        let organisation_id = principal.organisation_id;
        let sees_everything = principal.is_auditor() || principal.is_office_everywhere();
        if sees_everything {
            // Every announcement of the organisation is theirs: no need to look at each.
            let Some(keys) = self.by_organisation.get(&organisation_id) else {
                return (Vec::new(), 0);
            };
            let newer = match after {
                Some(after) => keys.range(..after),
                None => keys.range(..),
            };
            let page = newer
                .rev()
                .take(at_most)
                .map(|key| &self.records[&key.1])
                .collect();
            return (page, keys.len());
        }
        // Anything else they may see targets a property they live in, sit on the committee
        // of or have a role in.
        let properties = principal
            .homes
            .iter()
            .map(|home| home.property_id)
            .chain(principal.committees.iter().copied())
            .chain(
                principal
                    .staff
                    .iter()
                    .filter_map(|grant| match grant.scope {
                        StaffScope::Property { property_id } => Some(property_id),
                        StaffScope::Organisation => None,
                    }),
            );
        let mut newest_first: Vec<&ListKey> = properties
            .filter_map(|property_id| self.by_property.get(&(organisation_id, property_id)))
            .flatten()
            .collect();
        newest_first.sort_unstable_by(|a, b| b.cmp(a));
        newest_first.dedup();
        let mut page = Vec::new();
        let mut total = 0;
        for key in newest_first {
            let r = &self.records[&key.1];
            let visible = Self::is_staff_view(r, principal)
                || (r.is_current(now) && targets_home(&r.targets, principal, register));
            if !visible {
                continue;
            }
            total += 1;
            if page.len() < at_most && after.is_none_or(|after| *key < after) {
                page.push(r);
            }
        }
        (page, total)
    }

    /// Adds a record and indexes it, replacing one of the same id.
    fn insert(&mut self, record: AnnouncementRecord) {
        if let Some(old) = self.records.remove(&record.announcement_id) {
            self.unindex(&old);
        }
        let key = list_key(&record);
        self.by_organisation
            .entry(record.organisation_id)
            .or_default()
            .insert(key);
        for property_id in record.properties() {
            self.by_property
                .entry((record.organisation_id, property_id))
                .or_default()
                .insert(key);
        }
        self.records.insert(record.announcement_id, record);
    }

    fn unindex(&mut self, record: &AnnouncementRecord) {
        let key = list_key(record);
        let organisation_id = record.organisation_id;
        if let Some(keys) = self.by_organisation.get_mut(&organisation_id) {
            keys.remove(&key);
            if keys.is_empty() {
                self.by_organisation.remove(&organisation_id);
            }
        }
        for property_id in record.properties() {
            let at = (organisation_id, property_id);
            if let Some(keys) = self.by_property.get_mut(&at) {
                keys.remove(&key);
                if keys.is_empty() {
                    self.by_property.remove(&at);
                }
            }
        }
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
        if until <= from {
            return Vec::new();
        }
        // Keys carry microseconds: the range is widened to them, then narrowed exactly.
        let range =
            (from.timestamp_micros(), Uuid::nil())..(until.timestamp_micros() + 1, Uuid::nil());
        let mut records: Vec<&AnnouncementRecord> = self
            .by_organisation
            .get(&organisation_id)
            .into_iter()
            .flat_map(|keys| keys.range(range.clone()))
            .map(|key| &self.records[&key.1])
            .filter(|r| from <= r.publish_at && r.publish_at < until)
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
    pub fn reach(
        &self,
        residencies: &Residencies<'_>,
        property_id: Uuid,
        now: DateTime<Utc>,
    ) -> Reach {
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
        let targeted = |building_id: Uuid| {
            self.targets.iter().any(|t| {
                t.property_id == property_id && t.building_id.is_none_or(|b| b == building_id)
            })
        };
        let audience: BTreeSet<Uuid> = residencies
            .in_property(property_id)
            .iter()
            .filter(|(c, _)| c.starts_on <= last && c.ends_on.is_none_or(|end| first <= end))
            .filter(|(_, building_id)| targeted(*building_id))
            .map(|(c, _)| c.person_id)
            .collect();
        Reach {
            audience: audience.len() as u32,
            readers: audience.intersection(&self.readers).count() as u32,
        }
    }
}

/// Every contract of the register by the property of its apartment, with the apartment's
/// building: who could have read an announcement there. A report reaching hundreds of
/// announcements gathers it once, rather than searching every contract of a large
/// organisation for each (four seconds for a month of the generated organisation).
pub struct Residencies<'r> {
    by_property: HashMap<Uuid, Vec<(&'r Contract, Uuid)>>,
}

impl<'r> Residencies<'r> {
    pub fn of(register: &'r Register) -> Self {
        let mut by_property: HashMap<Uuid, Vec<(&'r Contract, Uuid)>> = HashMap::new();
        for contract in register.contracts.values() {
            if let Some(apartment) = register.apartments.get(&contract.apartment_id) {
                by_property
                    .entry(apartment.property_id)
                    .or_default()
                    .push((contract, apartment.building_id));
            }
        }
        Residencies { by_property }
    }

    fn in_property(&self, property_id: Uuid) -> &[(&'r Contract, Uuid)] {
        self.by_property
            .get(&property_id)
            .map_or(&[], |contracts| contracts.as_slice())
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
            record.reach(&Residencies::of(&given.register), property.0, now),
            Reach {
                audience: 2,
                readers: 1
            }
        );
        // On its first evening only those living there then.
        assert_eq!(
            record
                .reach(
                    &Residencies::of(&given.register),
                    property.0,
                    utc(2026, 3, 2, 18)
                )
                .audience,
            2
        );
        assert_eq!(
            record.reach(&Residencies::of(&given.register), Uuid::now_v7(), now),
            Reach::default()
        );
    }

    /// Publishes to `targets` at `publish_at`, folded as recorded then; returns its id.
    fn publish(
        given: &mut Given,
        view: &mut AnnouncementsView,
        targets: &[(Uuid, Option<Uuid>)],
        publish_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Uuid {
        let announcement_id = Uuid::now_v7();
        given.fold(
            view,
            publish_at.min(utc(2026, 3, 1, 0)),
            Some(targets[0].0),
            AnnouncementPublished {
                announcement_id,
                title: "Tiedote".into(),
                body: "Teksti".into(),
                category: AnnouncementCategory::Maintenance,
                targets: targets
                    .iter()
                    .map(|&(property_id, building_id)| AnnouncementTarget {
                        property_id,
                        building_id,
                    })
                    .collect(),
                publish_at,
                expires_at,
            },
        );
        announcement_id
    }

    #[test]
    fn pages_hold_what_each_person_may_see_newest_first_also_after_a_snapshot() {
        use talo_domain::access::{Home, StaffGrant};
        use talo_events_schema::register::{ContractKind, StaffRole};

        let mut given = Given::new();
        let mut view = AnnouncementsView::default();
        let home = given.property("Kotitalo");
        let other = given.property("Naapuritalo");
        let apartment = given.apartment(home, "A 1");
        let (_, resident) = given.lease(apartment, ymd(2025, 1, 1), None);
        let now = utc(2026, 3, 15, 12);
        let (whole, hers, elsewhere) = ((home.0, None), (home.0, Some(home.1)), (other.0, None));
        let another_stairway = (home.0, Some(Uuid::now_v7()));
        let mut published = Vec::new();
        for day in 1..=6 {
            let at = utc(2026, 3, day, 8);
            published.push(publish(&mut given, &mut view, &[whole], at, None));
            published.push(publish(&mut given, &mut view, &[elsewhere], at, None));
            // Two at the same instant: their ids order them.
            published.push(publish(&mut given, &mut view, &[elsewhere, hers], at, None));
            published.push(publish(
                &mut given,
                &mut view,
                &[another_stairway],
                at,
                None,
            ));
        }
        // Expired, scheduled and withdrawn ones are for staff only.
        publish(
            &mut given,
            &mut view,
            &[whole],
            utc(2026, 2, 1, 8),
            Some(utc(2026, 3, 1, 0)),
        );
        publish(&mut given, &mut view, &[whole], utc(2026, 4, 1, 8), None);
        given.fold(
            &mut view,
            utc(2026, 3, 10, 8),
            Some(home.0),
            AnnouncementWithdrawn {
                announcement_id: published[0],
                reason: "Peruttu".into(),
            },
        );
        // Another organisation's announcement on the same property id is never anyone's here.
        let ours = given.organisation_id;
        given.organisation_id = Uuid::now_v7();
        publish(&mut given, &mut view, &[whole], utc(2026, 3, 2, 8), None);
        given.organisation_id = ours;

        let as_resident = Principal {
            person_id: resident,
            organisation_id: ours,
            homes: vec![Home {
                apartment_id: apartment,
                property_id: home.0,
                kind: ContractKind::Lease,
                since: ymd(2025, 1, 1),
            }],
            board_seats: Vec::new(),
            committees: Vec::new(),
            staff: Vec::new(),
        };
        let manager = Principal {
            person_id: Uuid::now_v7(),
            organisation_id: ours,
            homes: Vec::new(),
            board_seats: Vec::new(),
            committees: Vec::new(),
            staff: vec![StaffGrant {
                role: StaffRole::PropertyManager,
                scope: StaffScope::Property {
                    property_id: home.0,
                },
                contractor_company_id: None,
            }],
        };
        let on_the_neighbours_committee = Principal {
            committees: vec![other.0],
            ..as_resident.clone()
        };
        let (customer_service, auditor) = (
            given.staff_everywhere(StaffRole::CustomerService),
            given.staff_everywhere(StaffRole::Auditor),
        );
        // Living in the house and working for a contractor everywhere: still a resident's list.
        let contractor_at_home = Principal {
            staff: vec![StaffGrant {
                role: StaffRole::ContractorWorker,
                scope: StaffScope::Organisation,
                contractor_company_id: Some(Uuid::now_v7()),
            }],
            ..as_resident.clone()
        };
        let ids = |records: &[&AnnouncementRecord]| -> Vec<Uuid> {
            records.iter().map(|r| r.announcement_id).collect()
        };
        let snapshot: AnnouncementsView =
            rmp_serde::from_slice(&rmp_serde::to_vec(&view).unwrap()).unwrap();
        assert_eq!(
            snapshot, view,
            "the indexes are built again from the records"
        );
        let mut seen = Vec::new();
        for principal in [
            &as_resident,
            &manager,
            &on_the_neighbours_committee,
            &customer_service,
            &auditor,
            &contractor_at_home,
        ] {
            let mut expected: Vec<&AnnouncementRecord> = view
                .records
                .values()
                .filter(|r| r.organisation_id == ours)
                .filter(|r| {
                    AnnouncementsView::is_staff_view(r, principal)
                        || (r.is_current(now)
                            && targets_home(&r.targets, principal, &given.register))
                })
                .collect();
            expected.sort_by_key(|r| std::cmp::Reverse((r.publish_at, r.announcement_id)));
            let expected = ids(&expected);
            for view in [&view, &snapshot] {
                let (all, total) =
                    view.page_visible_to(principal, &given.register, now, None, usize::MAX);
                assert_eq!(ids(&all), expected);
                assert_eq!(total, expected.len());
                // Three at a time, each page starting after the last of the one before.
                let mut stitched = Vec::new();
                let mut after = None;
                loop {
                    let (page, total) =
                        view.page_visible_to(principal, &given.register, now, after, 4);
                    assert_eq!(total, expected.len());
                    stitched.extend(page.iter().take(3).map(|r| r.announcement_id));
                    if page.len() < 4 {
                        break;
                    }
                    after = Some(list_key(page[2]));
                }
                assert_eq!(stitched, expected);
            }
            seen.push(expected.len());
        }
        // The resident: the current ones for the whole house and her stairway, minus the
        // withdrawn one. The manager: all 14 of the house and the 6 also for the neighbours.
        // On the neighbours' committee: the resident's, and every one of the neighbours'.
        // Customer service and auditors everywhere: all 26 of this organisation.
        assert_eq!(seen, vec![11, 20, 17, 26, 26, 11]);
    }
}
