//! Housing applications and offers: the applicant's own applications and offers, the office's
//! offers per property, which apartments are on offer right now, and how offers fared over a
//! range for the reports.

use std::collections::BTreeMap;

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
pub struct HousingView {
    applications: BTreeMap<Uuid, ApplicationRecord>,
    offers: BTreeMap<Uuid, OfferRecord>,
}

impl Projection for HousingView {
    const NAME: &'static str = "housing";
    // 2: applications record the offer that housed their applicant.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        match decoded {
            DomainEvent::HousingApplicationFiled(e) => {
                self.applications.insert(
                    e.application_id,
                    ApplicationRecord {
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
                    },
                );
            }
            DomainEvent::HousingApplicationRenewed(e) => {
                if let Some(a) = self.applications.get_mut(&e.application_id) {
                    a.valid_until = e.valid_until;
                }
            }
            DomainEvent::HousingApplicationWithdrawn(e) => {
                if let Some(a) = self.applications.get_mut(&e.application_id) {
                    a.withdrawn = true;
                }
            }
            DomainEvent::HousingOfferMade(e) => {
                self.offers.insert(
                    e.offer_id,
                    OfferRecord {
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
                    },
                );
            }
            DomainEvent::HousingOfferAccepted(e) => {
                self.answer(e.offer_id, OfferStatus::Accepted, at, |o| {
                    o.contract_id = Some(e.contract_id)
                });
                let application = self.offers.get(&e.offer_id).map(|o| o.application_id);
                if let Some(a) = application.and_then(|id| self.applications.get_mut(&id)) {
                    a.housed_by = Some(e.offer_id);
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
        let mut records: Vec<_> = self
            .applications
            .values()
            .filter(|a| {
                a.organisation_id == principal.organisation_id
                    && a.applicant_id == principal.person_id
            })
            .collect();
        records.sort_by_key(|a| std::cmp::Reverse((a.filed_at, a.application_id)));
        records
    }

    /// Open applications (see [`ApplicationRecord::is_open_on`]), oldest first: for the office
    /// choosing whom to offer to.
    pub fn valid_applications(
        &self,
        principal: &Principal,
        today: NaiveDate,
    ) -> Vec<&ApplicationRecord> {
        let mut records: Vec<_> = self
            .applications
            .values()
            .filter(|a| a.organisation_id == principal.organisation_id && a.is_open_on(today))
            .collect();
        records.sort_by_key(|a| (a.filed_at, a.application_id));
        records
    }

    pub fn offer(&self, principal: &Principal, id: Uuid) -> Option<&OfferRecord> {
        self.offers.get(&id).filter(|o| {
            o.organisation_id == principal.organisation_id
                && (o.applicant_id == principal.person_id
                    || principal.office_role_for(o.property_id).is_some()
                    || principal.is_auditor())
        })
    }

    /// Offers made to the applicant, newest first.
    pub fn my_offers(&self, principal: &Principal) -> Vec<&OfferRecord> {
        let mut records: Vec<_> = self
            .offers
            .values()
            .filter(|o| {
                o.organisation_id == principal.organisation_id
                    && o.applicant_id == principal.person_id
            })
            .collect();
        records.sort_by_key(|o| std::cmp::Reverse((o.made_at, o.offer_id)));
        records
    }

    /// Offers in the properties the principal's office serves, newest first.
    pub fn offers_for_office(&self, principal: &Principal) -> Vec<&OfferRecord> {
        let mut records: Vec<_> = self
            .offers
            .values()
            .filter(|o| {
                o.organisation_id == principal.organisation_id
                    && principal.office_role_for(o.property_id).is_some()
            })
            .collect();
        records.sort_by_key(|o| std::cmp::Reverse((o.made_at, o.offer_id)));
        records
    }

    /// The offers a new offer of `apartment_id` to `application_id` must not clash with.
    /// An offer past its deadline still waits until the office records it expired.
    pub fn offers_so_far(&self, application_id: Uuid, apartment_id: Uuid) -> OffersSoFar {
        let mut so_far = OffersSoFar::default();
        for o in self.offers.values() {
            let pending = o.status == OfferStatus::Pending;
            if pending && o.apartment_id == apartment_id {
                so_far.pending_on_apartment += 1;
            }
            if o.application_id == application_id {
                if pending {
                    so_far.pending_on_application += 1;
                }
                if o.status == OfferStatus::Accepted {
                    so_far.accepted_on_application = Some(o.offer_id);
                }
            }
        }
        so_far
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

/// Office staff see every application of the organisation (they choose whom to offer to).
fn may_see_applications(principal: &Principal) -> bool {
    principal.is_auditor() || principal.is_office_staff()
}

#[cfg(test)]
mod tests {
    use talo_events_schema::housing::*;

    use super::*;
    use crate::given::{Given, utc, ymd};
    use talo_events_schema::register::StaffRole;

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
            view.valid_applications(&office, today)
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
