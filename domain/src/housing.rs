//! Rental housing applications and offers. An applicant files an application that is valid for
//! a set time and can be renewed; the office offers a vacant apartment of a rental company with
//! an answer deadline; the applicant accepts (which signs the lease) or declines; an unanswered
//! offer expires.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::housing::*;
use talo_events_schema::register::{ContractKind, ContractSigned, PropertyKind};
use uuid::Uuid;

use crate::access::Principal;
use crate::calendar::local_date;
use crate::decision::Decision;
use crate::register::Register;
use crate::rejection::{Rejection, require_text};

/// How long an application stays valid from filing or renewal.
pub const APPLICATION_VALID_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HousingApplication {
    pub application_id: Uuid,
    pub applicant_id: Uuid,
    pub valid_until: NaiveDate,
    pub withdrawn: bool,
}

impl HousingApplication {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Option<Self> {
        let mut state: Option<HousingApplication> = None;
        for event in events {
            match (&mut state, event) {
                (None, DomainEvent::HousingApplicationFiled(e)) => {
                    state = Some(HousingApplication {
                        application_id: e.application_id,
                        applicant_id: e.applicant_id,
                        valid_until: e.valid_until,
                        withdrawn: false,
                    })
                }
                (Some(s), DomainEvent::HousingApplicationRenewed(e)) => {
                    s.valid_until = e.valid_until
                }
                (Some(s), DomainEvent::HousingApplicationWithdrawn(_)) => s.withdrawn = true,
                _ => {}
            }
        }
        state
    }

    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        !self.withdrawn && day <= self.valid_until
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HousingOffer {
    pub offer_id: Uuid,
    pub applicant_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub monthly_rent_cents: i64,
    pub lease_starts_on: NaiveDate,
    pub answer_by: DateTime<Utc>,
    pub status: OfferStatus,
}

impl HousingOffer {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Option<Self> {
        let mut state: Option<HousingOffer> = None;
        for event in events {
            match (&mut state, event) {
                (None, DomainEvent::HousingOfferMade(e)) => {
                    state = Some(HousingOffer {
                        offer_id: e.offer_id,
                        applicant_id: e.applicant_id,
                        property_id: e.property_id,
                        apartment_id: e.apartment_id,
                        monthly_rent_cents: e.monthly_rent_cents,
                        lease_starts_on: e.lease_starts_on,
                        answer_by: e.answer_by,
                        status: OfferStatus::Pending,
                    })
                }
                (Some(s), DomainEvent::HousingOfferAccepted(_)) => s.status = OfferStatus::Accepted,
                (Some(s), DomainEvent::HousingOfferDeclined(_)) => s.status = OfferStatus::Declined,
                (Some(s), DomainEvent::HousingOfferExpired(_)) => s.status = OfferStatus::Expired,
                _ => {}
            }
        }
        state
    }

    /// Pending and past its deadline: answers are refused and it may be recorded as expired.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == OfferStatus::Pending && now >= self.answer_by
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileApplication {
    pub application_id: Uuid,
    pub household_size: u32,
    pub desired_areas: Vec<String>,
    pub apartment_types: Vec<String>,
    pub max_rent_cents: i64,
    pub move_in_from: NaiveDate,
}

/// A person in the organisation's register applies for a rental apartment for themselves.
pub fn file_application(
    command: FileApplication,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    principal.refuse_auditor()?;
    if !(1..=20).contains(&command.household_size) {
        return Err(Rejection::invalid(
            "household_size",
            "housing.household_size",
            "must be from 1 to 20",
        ));
    }
    if command.max_rent_cents <= 0 {
        return Err(Rejection::invalid(
            "max_rent_cents",
            "housing.max_rent_positive",
            "must be more than zero",
        ));
    }
    if command.desired_areas.is_empty() || command.apartment_types.is_empty() {
        let field = if command.desired_areas.is_empty() {
            "desired_areas"
        } else {
            "apartment_types"
        };
        return Err(Rejection::invalid(
            field,
            "housing.preferences_required",
            "name at least one",
        ));
    }
    for text in command.desired_areas.iter().chain(&command.apartment_types) {
        require_text("desired_areas", text, 100)?;
    }
    let today = local_date(now);
    Ok(Decision {
        role: ActorRole::Applicant,
        events: vec![DomainEvent::HousingApplicationFiled(
            HousingApplicationFiled {
                application_id: command.application_id,
                applicant_id: principal.person_id,
                household_size: command.household_size,
                desired_areas: command.desired_areas,
                apartment_types: command.apartment_types,
                max_rent_cents: command.max_rent_cents,
                move_in_from: command.move_in_from,
                valid_until: today + Duration::days(APPLICATION_VALID_DAYS),
            },
        )],
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApplicationCommand {
    Renew,
    Withdraw { reason: String },
}

/// The one answer for an application that does not exist or is not the caller's.
pub fn application_not_visible() -> Rejection {
    Rejection::not_found(
        "application_id",
        "housing.application_not_visible",
        "no such housing application",
    )
}

pub fn decide_application(
    application: &HousingApplication,
    command: ApplicationCommand,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if application.applicant_id != principal.person_id {
        return Err(application_not_visible());
    }
    if application.withdrawn {
        return Err(Rejection::transition(
            "housing.application_withdrawn",
            "the application was withdrawn",
        ));
    }
    let id = application.application_id;
    let event: DomainEvent = match command {
        ApplicationCommand::Renew => HousingApplicationRenewed {
            application_id: id,
            valid_until: local_date(now) + Duration::days(APPLICATION_VALID_DAYS),
        }
        .into(),
        ApplicationCommand::Withdraw { reason } => {
            require_text("reason", &reason, 1000)?;
            HousingApplicationWithdrawn {
                application_id: id,
                reason,
            }
            .into()
        }
    };
    Ok(Decision {
        events: vec![event],
        role: ActorRole::Applicant,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct MakeOffer {
    pub offer_id: Uuid,
    pub apartment_id: Uuid,
    pub monthly_rent_cents: i64,
    pub lease_starts_on: NaiveDate,
    pub answer_by: DateTime<Utc>,
}

/// The offers already made that a new offer must not clash with, from the read side (they
/// live on other streams than the application's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffersSoFar {
    /// Offers of the apartment waiting for an answer: it is offered to one applicant at a time.
    pub pending_on_apartment: usize,
    /// Offers to the application waiting for an answer: an applicant answers one at a time.
    pub pending_on_application: usize,
    /// The offer the applicant accepted on this application: they are housed, and the
    /// application is done.
    pub accepted_on_application: Option<Uuid>,
}

/// The office offers a vacant apartment of a rental company to a valid application.
pub fn make_offer(
    application: &HousingApplication,
    command: MakeOffer,
    so_far: OffersSoFar,
    principal: &Principal,
    register: &Register,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let apartment = register
        .apartments
        .get(&command.apartment_id)
        .ok_or_else(|| {
            Rejection::not_found(
                "apartment_id",
                "housing.apartment_unknown",
                "no such apartment",
            )
        })?;
    let role = principal
        .office_role_for(apartment.property_id)
        .ok_or_else(|| {
            Rejection::forbidden(
                "housing.office_only",
                "only the property's office makes housing offers",
            )
        })?;
    if register
        .properties
        .get(&apartment.property_id)
        .is_none_or(|p| p.kind != PropertyKind::RentalCompany)
    {
        return Err(Rejection::invalid(
            "apartment_id",
            "housing.rental_apartments_only",
            "only a rental company's apartments are offered",
        ));
    }
    if let Some(offer_id) = so_far.accepted_on_application {
        return Err(Rejection::transition(
            "housing.application_housed",
            format!("the applicant accepted offer {offer_id} on this application"),
        ));
    }
    if !application.is_valid_on(local_date(now)) {
        return Err(Rejection::transition(
            "housing.application_not_valid",
            "the application has expired or was withdrawn; it must be renewed first",
        ));
    }
    if command.lease_starts_on < local_date(now) {
        return Err(Rejection::invalid(
            "lease_starts_on",
            "housing.lease_start_in_past",
            "must not be before today",
        ));
    }
    let leased = register.contracts.values().any(|c| {
        c.apartment_id == command.apartment_id
            && c.kind == ContractKind::Lease
            && c.ends_on.is_none_or(|end| end >= command.lease_starts_on)
    });
    if leased {
        return Err(Rejection::transition(
            "housing.apartment_not_vacant",
            "the apartment has a lease running on the start day",
        ));
    }
    if so_far.pending_on_apartment > 0 {
        return Err(Rejection::transition(
            "housing.apartment_already_offered",
            "the apartment is already offered to someone; wait for the answer",
        ));
    }
    if so_far.pending_on_application > 0 {
        return Err(Rejection::transition(
            "housing.application_already_offered",
            "the application has an offer waiting for an answer; wait for it",
        ));
    }
    if command.monthly_rent_cents <= 0 {
        return Err(Rejection::invalid(
            "monthly_rent_cents",
            "housing.rent_positive",
            "must be more than zero",
        ));
    }
    if command.answer_by <= now {
        return Err(Rejection::invalid(
            "answer_by",
            "housing.deadline_in_past",
            "must be in the future",
        ));
    }
    Ok(Decision {
        role,
        events: vec![DomainEvent::HousingOfferMade(HousingOfferMade {
            offer_id: command.offer_id,
            application_id: application.application_id,
            applicant_id: application.applicant_id,
            property_id: apartment.property_id,
            apartment_id: command.apartment_id,
            monthly_rent_cents: command.monthly_rent_cents,
            lease_starts_on: command.lease_starts_on,
            answer_by: command.answer_by,
        })],
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum OfferCommand {
    /// `contract_id` names the lease the acceptance signs.
    Accept {
        contract_id: Uuid,
    },
    Decline {
        reason: String,
    },
    Expire,
}

/// The one answer for an offer that does not exist or is not the caller's.
pub fn offer_not_visible() -> Rejection {
    Rejection::not_found(
        "offer_id",
        "housing.offer_not_visible",
        "no such housing offer",
    )
}

pub fn decide_offer(
    offer: &HousingOffer,
    command: OfferCommand,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let applicant = offer.applicant_id == principal.person_id;
    let office = principal.office_role_for(offer.property_id);
    if !applicant && office.is_none() {
        return Err(offer_not_visible());
    }
    if offer.status != OfferStatus::Pending {
        return Err(Rejection::transition(
            "housing.offer_answered",
            format!("the offer is already {:?}", offer.status).to_lowercase(),
        ));
    }
    let id = offer.offer_id;
    match command {
        OfferCommand::Accept { contract_id } => {
            if !applicant {
                return Err(Rejection::forbidden(
                    "housing.applicant_only",
                    "only the applicant answers an offer",
                ));
            }
            if offer.is_overdue(now) {
                return Err(Rejection::transition(
                    "housing.offer_expired",
                    "the answer deadline has passed",
                ));
            }
            Ok(Decision {
                role: ActorRole::Applicant,
                events: vec![
                    HousingOfferAccepted {
                        offer_id: id,
                        contract_id,
                    }
                    .into(),
                ],
            })
        }
        OfferCommand::Decline { reason } => {
            if !applicant {
                return Err(Rejection::forbidden(
                    "housing.applicant_only",
                    "only the applicant answers an offer",
                ));
            }
            require_text("reason", &reason, 1000)?;
            Ok(Decision {
                role: ActorRole::Applicant,
                events: vec![
                    HousingOfferDeclined {
                        offer_id: id,
                        reason,
                    }
                    .into(),
                ],
            })
        }
        OfferCommand::Expire => {
            let role = office.ok_or_else(|| {
                Rejection::forbidden("housing.office_only", "only the office records expiry")
            })?;
            if !offer.is_overdue(now) {
                return Err(Rejection::transition(
                    "housing.offer_not_due",
                    "the answer deadline has not passed yet",
                ));
            }
            Ok(Decision {
                role,
                events: vec![HousingOfferExpired { offer_id: id }.into()],
            })
        }
    }
}

/// The lease an accepted offer signs in the register.
pub fn lease_for(offer: &HousingOffer, contract_id: Uuid) -> ContractSigned {
    ContractSigned {
        contract_id,
        apartment_id: offer.apartment_id,
        person_id: offer.applicant_id,
        kind: ContractKind::Lease,
        starts_on: offer.lease_starts_on,
        ends_on: None,
    }
}
