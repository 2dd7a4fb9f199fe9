//! Housing applications and offers: the applicant's own applications and offers, the office's
//! offers per property, which apartments are on offer right now, and how offers fared over a
//! range for the reports.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::housing::{OfferStatus, OffersSoFar};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::RecordedEvent;
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    pub application_id: Uuid,
    pub organisation_id: Uuid,
    pub applicant_id: Uuid,
    pub household_size: u32,
    pub desired_areas: Vec<String>,
    pub apartment_types: Vec<String>,
    pub max_rent_cents: i64,
    pub move_in_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub filed_at: DateTime<Utc>,
    pub withdrawn: bool,
    /// The offer its applicant accepted: they are housed, and the application is done.
    pub housed_by: Option<Uuid>,
}

impl ApplicationRecord {
    /// Still in the line on `today`: not withdrawn, not housed, not lapsed.
    pub fn is_open_on(&self, today: NaiveDate) -> bool {
        !self.withdrawn && self.housed_by.is_none() && today <= self.valid_until
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub offer_id: Uuid,
    pub organisation_id: Uuid,
    pub application_id: Uuid,
    pub applicant_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub monthly_rent_cents: i64,
    pub lease_starts_on: NaiveDate,
    pub answer_by: DateTime<Utc>,
    pub made_at: DateTime<Utc>,
    pub status: OfferStatus,
    pub answered_at: Option<DateTime<Utc>>,
    pub contract_id: Option<Uuid>,
    pub decline_reason: Option<String>,
}

impl OfferRecord {
    /// The status as of `now`: a pending offer past its deadline shows as expired even before
    /// the expiry is recorded.
    pub fn status_at(&self, now: DateTime<Utc>) -> OfferStatus {
        if self.status == OfferStatus::Pending && now >= self.answer_by {
            OfferStatus::Expired
        } else {
            self.status
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredHousing")]
pub struct HousingView {
    applications: BTreeMap<Uuid, ApplicationRecord>,
    offers: BTreeMap<Uuid, OfferRecord>,
    /// Not in snapshots: built again from the records when one is read.
    #[serde(skip_serializing)]
    index: HousingIndex,
}

/// The ways the lists look into the records, so that a page costs what it shows and not
/// five years of an organisation's applications and offers.
#[derive(Debug, Clone, Default, PartialEq)]
struct HousingIndex {
    /// Each applicant's applications, by (filed at, id).
    applications_of: BTreeMap<Uuid, BTreeSet<(DateTime<Utc>, Uuid)>>,
    /// Each applicant's offers, by (made at, id).
    offers_to: BTreeMap<Uuid, BTreeSet<(DateTime<Utc>, Uuid)>>,
    /// Each organisation's applications neither withdrawn nor housed, by (filed at, id), with
    /// the day each is valid until: the line, once those lapsed are passed over (thousands
    /// over the years, so the day is at hand without looking up the record).
    unclosed: BTreeMap<Uuid, BTreeMap<(DateTime<Utc>, Uuid), NaiveDate>>,
    /// Each organisation's offers, by (made at, id).
    offers_in: BTreeMap<Uuid, BTreeSet<(DateTime<Utc>, Uuid)>>,
    offers_on_application: BTreeMap<Uuid, BTreeSet<Uuid>>,
    offers_on_apartment: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl HousingIndex {
    fn add_application(&mut self, a: &ApplicationRecord) {
        let key = (a.filed_at, a.application_id);
        self.applications_of
            .entry(a.applicant_id)
            .or_default()
            .insert(key);
        if !a.withdrawn && a.housed_by.is_none() {
            self.unclosed
                .entry(a.organisation_id)
                .or_default()
                .insert(key, a.valid_until);
        }
    }

    fn close_application(&mut self, a: &ApplicationRecord) {
        if let Some(line) = self.unclosed.get_mut(&a.organisation_id) {
            line.remove(&(a.filed_at, a.application_id));
            // As a snapshot read again would have it: no empty line.
            if line.is_empty() {
                self.unclosed.remove(&a.organisation_id);
            }
        }
    }

    fn add_offer(&mut self, o: &OfferRecord) {
        let key = (o.made_at, o.offer_id);
        self.offers_to
            .entry(o.applicant_id)
            .or_default()
            .insert(key);
        self.offers_in
            .entry(o.organisation_id)
            .or_default()
            .insert(key);
        self.offers_on_application
            .entry(o.application_id)
            .or_default()
            .insert(o.offer_id);
        self.offers_on_apartment
            .entry(o.apartment_id)
            .or_default()
            .insert(o.offer_id);
    }
}

/// A snapshot's fields.
#[derive(Deserialize)]
struct StoredHousing {
    applications: BTreeMap<Uuid, ApplicationRecord>,
    offers: BTreeMap<Uuid, OfferRecord>,
}

impl From<StoredHousing> for HousingView {
    fn from(stored: StoredHousing) -> Self {
        let mut index = HousingIndex::default();
        stored
            .applications
            .values()
            .for_each(|a| index.add_application(a));
        stored.offers.values().for_each(|o| index.add_offer(o));
        HousingView {
            applications: stored.applications,
            offers: stored.offers,
            index,
        }
    }
}

impl Projection for HousingView {
    const NAME: &'static str = "housing";
    // 2: applications record the offer that housed their applicant.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        match decoded {
            DomainEvent::HousingApplicationFiled(e) => {
                // Filed once (its stream must be new); a repeat must not leave the indexes
                // naming a record that is no longer there.
                if self.applications.contains_key(&e.application_id) {
                    return;
                }
                let record = ApplicationRecord {
                    application_id: e.application_id,
                    organisation_id: event.metadata.organisation_id,
                    applicant_id: e.applicant_id,
                    household_size: e.household_size,
                    desired_areas: e.desired_areas.clone(),
                    apartment_types: e.apartment_types.clone(),
                    max_rent_cents: e.max_rent_cents,
                    move_in_from: e.move_in_from,
                    valid_until: e.valid_until,
                    filed_at: at,
                    withdrawn: false,
                    housed_by: None,
                };
                self.index.add_application(&record);
                self.applications.insert(e.application_id, record);
            }
            DomainEvent::HousingApplicationRenewed(e) => {
                if let Some(a) = self.applications.get_mut(&e.application_id) {
                    a.valid_until = e.valid_until;
                    let line = self.index.unclosed.get_mut(&a.organisation_id);
                    if let Some(day) = line.and_then(|l| l.get_mut(&(a.filed_at, a.application_id)))
                    {
                        *day = e.valid_until;
                    }
                }
            }
            DomainEvent::HousingApplicationWithdrawn(e) => {
                if let Some(a) = self.applications.get_mut(&e.application_id) {
                    a.withdrawn = true;
                    self.index.close_application(a);
                }
            }
            DomainEvent::HousingOfferMade(e) => {
                // As for an application: made once.
                if self.offers.contains_key(&e.offer_id) {
                    return;
                }
                let record = OfferRecord {
                    offer_id: e.offer_id,
                    organisation_id: event.metadata.organisation_id,
                    application_id: e.application_id,
                    applicant_id: e.applicant_id,
                    property_id: e.property_id,
                    apartment_id: e.apartment_id,
                    monthly_rent_cents: e.monthly_rent_cents,
                    lease_starts_on: e.lease_starts_on,
                    answer_by: e.answer_by,
                    made_at: at,
                    status: OfferStatus::Pending,
                    answered_at: None,
                    contract_id: None,
                    decline_reason: None,
                };
                self.index.add_offer(&record);
                self.offers.insert(e.offer_id, record);
            }
            DomainEvent::HousingOfferAccepted(e) => {
                self.answer(e.offer_id, OfferStatus::Accepted, at, |o| {
                    o.contract_id = Some(e.contract_id)
                });
                let application = self.offers.get(&e.offer_id).map(|o| o.application_id);
                if let Some(a) = application.and_then(|id| self.applications.get_mut(&id)) {
                    a.housed_by = Some(e.offer_id);
                    self.index.close_application(a);
                }
            }
            DomainEvent::HousingOfferDeclined(e) => {
                self.answer(e.offer_id, OfferStatus::Declined, at, |o| {
                    o.decline_reason = Some(e.reason.clone())
                })
            }
            DomainEvent::HousingOfferExpired(e) => {
                self.answer(e.offer_id, OfferStatus::Expired, at, |_| {})
            }
            _ => {}
        }
    }
}

impl HousingView {
    fn answer(
        &mut self,
        offer_id: Uuid,
        status: OfferStatus,
        at: DateTime<Utc>,
        also: impl FnOnce(&mut OfferRecord),
    ) {
        if let Some(o) = self.offers.get_mut(&offer_id) {
            o.status = status;
            o.answered_at = Some(at);
            also(o);
        }
    }

    pub fn application(&self, principal: &Principal, id: Uuid) -> Option<&ApplicationRecord> {
        self.applications.get(&id).filter(|a| {
            a.organisation_id == principal.organisation_id
                && (a.applicant_id == principal.person_id || may_see_applications(principal))
        })
    }

    /// The applicant's own applications, newest first.
    pub fn my_applications(&self, principal: &Principal) -> Vec<&ApplicationRecord> {
        newest_first(
            self.index.applications_of.get(&principal.person_id),
            &self.applications,
        )
        .filter(|a| a.organisation_id == principal.organisation_id)
        .collect()
    }

    /// A page of the open applications (see [`ApplicationRecord::is_open_on`]), oldest
    /// first, for the office choosing whom to offer to: up to `take` filed after `after`
    /// (filed at, id), and how many are open in all.
    pub fn valid_applications(
        &self,
        principal: &Principal,
        today: NaiveDate,
        after: Option<(DateTime<Utc>, Uuid)>,
        take: usize,
    ) -> (Vec<&ApplicationRecord>, usize) {
        let Some(line) = self.index.unclosed.get(&principal.organisation_id) else {
            return (Vec::new(), 0);
        };
        let open = |(key, valid_until): (&(DateTime<Utc>, Uuid), &NaiveDate)| {
            (today <= *valid_until).then_some(key.1)
        };
        let later = match after {
            Some(key) => line.range((Bound::Excluded(key), Bound::Unbounded)),
            None => line.range(..),
        };
        let page = later
            .filter_map(open)
            .filter_map(|id| self.applications.get(&id))
            .take(take)
            .collect();
        (page, line.iter().filter_map(open).count())
    }

    pub fn offer(&self, principal: &Principal, id: Uuid) -> Option<&OfferRecord> {
        self.offers.get(&id).filter(|o| {
            o.organisation_id == principal.organisation_id
                && (o.applicant_id == principal.person_id || may_see_offers_in(principal, o))
        })
    }

    /// Offers made to the applicant, newest first.
    pub fn my_offers(&self, principal: &Principal) -> Vec<&OfferRecord> {
        newest_first(self.index.offers_to.get(&principal.person_id), &self.offers)
            .filter(|o| o.organisation_id == principal.organisation_id)
            .collect()
    }

    /// A page of the offers in the properties the principal's office serves (all of them
    /// for an auditor), newest first: up to `take` made before `before` (made at, id), and
    /// how many there are in all.
    pub fn offers_for_office(
        &self,
        principal: &Principal,
        before: Option<(DateTime<Utc>, Uuid)>,
        take: usize,
    ) -> (Vec<&OfferRecord>, usize) {
        let Some(keys) = self.index.offers_in.get(&principal.organisation_id) else {
            return (Vec::new(), 0);
        };
        let visible = |key: &(DateTime<Utc>, Uuid)| {
            self.offers
                .get(&key.1)
                .filter(|o| may_see_offers_in(principal, o))
        };
        let older = match before {
            Some(key) => keys.range(..key),
            None => keys.range(..),
        };
        let page = older.rev().filter_map(visible).take(take).collect();
        let total = if principal.is_auditor() || principal.is_office_everywhere() {
            keys.len()
        } else {
            keys.iter().filter_map(visible).count()
        };
        (page, total)
    }

    /// The offers a new offer of `apartment_id` to `application_id` must not clash with.
    /// An offer past its deadline still waits until the office records it expired.
    pub fn offers_so_far(&self, application_id: Uuid, apartment_id: Uuid) -> OffersSoFar {
        let offers = |index: &BTreeMap<Uuid, BTreeSet<Uuid>>, id: Uuid| {
            index
                .get(&id)
                .into_iter()
                .flatten()
                .filter_map(|id| self.offers.get(id))
                .collect::<Vec<_>>()
        };
        let pending = |o: &&&OfferRecord| o.status == OfferStatus::Pending;
        let on_application = offers(&self.index.offers_on_application, application_id);
        OffersSoFar {
            pending_on_apartment: offers(&self.index.offers_on_apartment, apartment_id)
                .iter()
                .filter(pending)
                .count(),
            pending_on_application: on_application.iter().filter(pending).count(),
            accepted_on_application: on_application
                .iter()
                .find(|o| o.status == OfferStatus::Accepted)
                .map(|o| o.offer_id),
        }
    }
}

/// Offers of one property over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOutcomes {
    /// Made in the range.
    pub made: u32,
    /// Accepted in the range.
    pub accepted: u32,
    /// Declined in the range.
    pub declined: u32,
    /// Whose deadline passed in the range unanswered, whether or not the office has recorded
    /// the expiry yet.
    pub expired: u32,
}

impl HousingView {
    /// What happened to offers in `[from, until)` per property, as of `now`. Properties
    /// without offers are absent.
    pub fn offer_outcomes(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> BTreeMap<Uuid, OfferOutcomes> {
        let within = |at: DateTime<Utc>| from <= at && at < until;
        let mut outcomes: BTreeMap<Uuid, OfferOutcomes> = BTreeMap::new();
        for o in self
            .offers
            .values()
            .filter(|o| o.organisation_id == organisation_id)
        {
            let sum = outcomes.entry(o.property_id).or_default();
            sum.made += u32::from(within(o.made_at));
            let answered_within = o.answered_at.is_some_and(within);
            match o.status_at(now) {
                OfferStatus::Accepted => sum.accepted += u32::from(answered_within),
                OfferStatus::Declined => sum.declined += u32::from(answered_within),
                // An offer expires at its deadline; recording that is bookkeeping.
                OfferStatus::Expired => sum.expired += u32::from(within(o.answer_by)),
                OfferStatus::Pending => {}
            }
        }
        outcomes
    }
}

/// The records an index entry names, newest first.
fn newest_first<'a, R>(
    keys: Option<&'a BTreeSet<(DateTime<Utc>, Uuid)>>,
    records: &'a BTreeMap<Uuid, R>,
) -> impl Iterator<Item = &'a R> {
    keys.into_iter()
        .flat_map(|keys| keys.iter().rev())
        .filter_map(|(_, id)| records.get(id))
}

/// Office staff see every application of the organisation (they choose whom to offer to).
fn may_see_applications(principal: &Principal) -> bool {
    principal.is_auditor() || principal.is_office_staff()
}

/// The office of the offer's property sees it, and auditors see every offer.
fn may_see_offers_in(principal: &Principal, offer: &OfferRecord) -> bool {
    principal.is_auditor() || principal.office_role_for(offer.property_id).is_some()
}

#[cfg(test)]
mod tests {
    use talo_events_schema::housing::*;

    use super::*;
    use crate::given::{Given, utc, ymd};
    use talo_events_schema::register::StaffRole;

    /// Offers of two properties to two applicants, some made at the same moment: each
    /// reader's pages, stitched, are the naive filter of every offer, newest first.
    #[test]
    fn office_pages_and_applicants_lists_equal_a_filter_of_every_offer() {
        let mut given = Given::new();
        let mut view = HousingView::default();
        let (north, south) = (Uuid::now_v7(), Uuid::now_v7());
        let applicants = [Uuid::now_v7(), Uuid::now_v7()];
        for n in 0..30u32 {
            let applicant = applicants[n as usize % 2];
            let property = if n % 3 == 0 { north } else { south };
            // Pairs made at the same hour: the id breaks the tie.
            let made = utc(2026, 3, 1 + n / 2, 8);
            let application_id = Uuid::now_v7();
            given.fold(
                &mut view,
                made,
                None,
                HousingApplicationFiled {
                    application_id,
                    applicant_id: applicant,
                    household_size: 1,
                    desired_areas: vec!["Kallio".into()],
                    apartment_types: vec!["1h+kk".into()],
                    max_rent_cents: 80_000,
                    move_in_from: ymd(2026, 4, 1),
                    valid_until: ymd(2026, 6, 1),
                },
            );
            if n % 5 == 0 {
                given.fold(
                    &mut view,
                    made,
                    None,
                    HousingApplicationRenewed {
                        application_id,
                        valid_until: ymd(2026, 9, 1),
                    },
                );
            }
            given.fold(
                &mut view,
                made,
                Some(property),
                HousingOfferMade {
                    offer_id: Uuid::now_v7(),
                    application_id,
                    applicant_id: applicant,
                    property_id: property,
                    apartment_id: Uuid::now_v7(),
                    monthly_rent_cents: 70_000,
                    lease_starts_on: ymd(2026, 5, 1),
                    answer_by: made + chrono::Duration::days(5),
                },
            );
        }
        let mut north_manager = given.staff_everywhere(StaffRole::PropertyManager);
        north_manager.staff[0].scope =
            talo_events_schema::register::StaffScope::Property { property_id: north };
        let readers = [
            given.staff_everywhere(StaffRole::CustomerService),
            given.staff_everywhere(StaffRole::Auditor),
            north_manager,
        ];
        let newest_first = |keep: &dyn Fn(&OfferRecord) -> bool| -> Vec<Uuid> {
            let mut all: Vec<&OfferRecord> = view.offers.values().filter(|o| keep(o)).collect();
            all.sort_by_key(|o| std::cmp::Reverse((o.made_at, o.offer_id)));
            all.iter().map(|o| o.offer_id).collect()
        };
        for (reader, expected) in readers.iter().zip([30, 30, 10]) {
            let naive = newest_first(&|o| may_see_offers_in(reader, o));
            assert_eq!(naive.len(), expected);
            let mut stitched = Vec::new();
            let mut before = None;
            loop {
                let (page, total) = view.offers_for_office(reader, before, 4);
                assert_eq!(total, expected);
                let Some(last) = page.last() else { break };
                before = Some((last.made_at, last.offer_id));
                stitched.extend(page.iter().map(|o| o.offer_id));
            }
            assert_eq!(stitched, naive);
        }
        // The line: all thirty in May, the six renewed ones in July, oldest first.
        let office = &readers[0];
        for (today, expected) in [(ymd(2026, 5, 1), 30), (ymd(2026, 7, 1), 6)] {
            let mut naive: Vec<&ApplicationRecord> = view
                .applications
                .values()
                .filter(|a| a.is_open_on(today))
                .collect();
            naive.sort_by_key(|a| (a.filed_at, a.application_id));
            let naive: Vec<Uuid> = naive.iter().map(|a| a.application_id).collect();
            assert_eq!(naive.len(), expected);
            let mut stitched = Vec::new();
            let mut after = None;
            loop {
                let (page, total) = view.valid_applications(office, today, after, 4);
                assert_eq!(total, expected);
                let Some(last) = page.last() else { break };
                after = Some((last.filed_at, last.application_id));
                stitched.extend(page.iter().map(|a| a.application_id));
            }
            assert_eq!(stitched, naive, "{today}");
        }
        for applicant in applicants {
            let mut principal = given.staff_everywhere(StaffRole::CustomerService);
            principal.person_id = applicant;
            principal.staff.clear();
            let mine: Vec<Uuid> = view
                .my_offers(&principal)
                .iter()
                .map(|o| o.offer_id)
                .collect();
            assert_eq!(mine, newest_first(&|o| o.applicant_id == applicant));
            assert_eq!(view.my_applications(&principal).len(), 15);
        }
        let restored: HousingView =
            serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap();
        assert_eq!(
            restored, view,
            "the indexes are built again from the records"
        );
    }

    #[test]
    fn an_accepted_offer_houses_its_application() {
        let mut given = Given::new();
        let mut view = HousingView::default();
        let office = given.staff_everywhere(StaffRole::CustomerService);
        let (application_id, offer_id, apartment_id) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        given.fold(
            &mut view,
            utc(2026, 3, 1, 8),
            None,
            HousingApplicationFiled {
                application_id,
                applicant_id: Uuid::now_v7(),
                household_size: 2,
                desired_areas: vec!["Kallio".into()],
                apartment_types: vec!["2h+k".into()],
                max_rent_cents: 90_000,
                move_in_from: ymd(2026, 4, 1),
                valid_until: ymd(2026, 5, 30),
            },
        );
        given.fold(
            &mut view,
            utc(2026, 3, 2, 8),
            None,
            HousingOfferMade {
                offer_id,
                application_id,
                applicant_id: Uuid::now_v7(),
                property_id: Uuid::now_v7(),
                apartment_id,
                monthly_rent_cents: 90_000,
                lease_starts_on: ymd(2026, 4, 1),
                answer_by: utc(2026, 3, 5, 8),
            },
        );
        let today = ymd(2026, 3, 3);
        let line = |view: &HousingView| -> Vec<Uuid> {
            view.valid_applications(&office, today, None, 10)
                .0
                .iter()
                .map(|a| a.application_id)
                .collect()
        };
        assert_eq!(line(&view), vec![application_id]);
        let waiting = OffersSoFar {
            pending_on_apartment: 1,
            pending_on_application: 1,
            accepted_on_application: None,
        };
        assert_eq!(view.offers_so_far(application_id, apartment_id), waiting);
        // Another apartment for this application, another application for this apartment.
        assert_eq!(
            view.offers_so_far(application_id, Uuid::now_v7()),
            OffersSoFar {
                pending_on_apartment: 0,
                ..waiting
            }
        );
        assert_eq!(
            view.offers_so_far(Uuid::now_v7(), apartment_id),
            OffersSoFar {
                pending_on_application: 0,
                ..waiting
            }
        );
        given.fold(
            &mut view,
            utc(2026, 3, 3, 8),
            None,
            HousingOfferAccepted {
                offer_id,
                contract_id: Uuid::now_v7(),
            },
        );
        assert_eq!(
            view.offers_so_far(application_id, apartment_id),
            OffersSoFar {
                pending_on_apartment: 0,
                pending_on_application: 0,
                accepted_on_application: Some(offer_id),
            }
        );
        assert!(line(&view).is_empty());
        let record = &view.applications[&application_id];
        assert_eq!(record.housed_by, Some(offer_id));
        assert!(!record.is_open_on(today));
        // The snapshot keeps it.
        let restored: HousingView =
            serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap();
        assert_eq!(restored, view);
    }

    #[test]
    fn offers_made_answered_and_expired_in_a_range() {
        let mut given = Given::new();
        let mut view = HousingView::default();
        let property = Uuid::now_v7();
        let offer = |given: &mut Given, view: &mut HousingView, made, answer_by| {
            let offer_id = Uuid::now_v7();
            given.fold(
                view,
                made,
                Some(property),
                HousingOfferMade {
                    offer_id,
                    application_id: Uuid::now_v7(),
                    applicant_id: Uuid::now_v7(),
                    property_id: property,
                    apartment_id: Uuid::now_v7(),
                    monthly_rent_cents: 90_000,
                    lease_starts_on: ymd(2026, 4, 1),
                    answer_by,
                },
            );
            offer_id
        };
        let accepted = offer(
            &mut given,
            &mut view,
            utc(2026, 3, 2, 8),
            utc(2026, 3, 5, 8),
        );
        let declined = offer(
            &mut given,
            &mut view,
            utc(2026, 3, 2, 8),
            utc(2026, 3, 5, 8),
        );
        let recorded = offer(
            &mut given,
            &mut view,
            utc(2026, 3, 2, 8),
            utc(2026, 3, 4, 8),
        );
        offer(
            &mut given,
            &mut view,
            utc(2026, 3, 9, 8),
            utc(2026, 3, 12, 8),
        );
        given.fold(
            &mut view,
            utc(2026, 3, 3, 8),
            Some(property),
            HousingOfferAccepted {
                offer_id: accepted,
                contract_id: Uuid::now_v7(),
            },
        );
        given.fold(
            &mut view,
            utc(2026, 3, 3, 9),
            Some(property),
            HousingOfferDeclined {
                offer_id: declined,
                reason: "Liian kaukana".into(),
            },
        );
        // Recorded two days after its deadline; it expired at the deadline.
        given.fold(
            &mut view,
            utc(2026, 3, 6, 9),
            Some(property),
            HousingOfferExpired { offer_id: recorded },
        );
        let org = given.organisation_id;
        let first_week = view.offer_outcomes(
            org,
            utc(2026, 3, 1, 0),
            utc(2026, 3, 5, 0),
            utc(2026, 3, 20, 0),
        );
        assert_eq!(
            first_week[&property],
            OfferOutcomes {
                made: 3,
                accepted: 1,
                declined: 1,
                expired: 1
            }
        );
        // The last offer's deadline passed on 12 March, unrecorded: expired as of the 13th,
        // pending on the 11th.
        let second =
            |now| view.offer_outcomes(org, utc(2026, 3, 5, 0), utc(2026, 3, 15, 0), now)[&property];
        assert_eq!(
            second(utc(2026, 3, 13, 0)),
            OfferOutcomes {
                made: 1,
                accepted: 0,
                declined: 0,
                expired: 1
            }
        );
        assert_eq!(second(utc(2026, 3, 11, 0)).expired, 0);
    }
}
