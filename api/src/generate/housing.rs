//! Rental housing: people apply for a rental company's apartment in the portal, renew their
//! applications before they lapse, or withdraw them. When a tenant gives notice (or an apartment
//! stands empty when the history starts) customer service offers the apartment to the oldest
//! valid application that wants it; the applicant accepts (which signs the lease), declines, or
//! lets the deadline pass and the office records the offer expired; then the next applicant in
//! line gets an offer. Declines are common: it takes about two offers to let an apartment.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use talo_domain::calendar::local_date;
use talo_domain::housing::{
    self, ApplicationCommand, FileApplication, HousingApplication, HousingOffer, MakeOffer,
    OfferCommand, OffersSoFar,
};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Channel;
use talo_events_schema::register::PropertyKind;
use talo_events_schema::streams;
use uuid::Uuid;

use super::ledger::monthly_rent_cents;
use super::register::{CITIES, Organisation, ROOMS};
use super::{GenerateError, World, principal_of};
use crate::dispatch::Dispatcher;

/// Applications filed a year per rental apartment: more than fall vacant, so a line forms.
const APPLYING_YEARLY: f64 = 0.3;
/// Of the applications about to lapse, the share whose applicant renews.
const RENEWING: f64 = 0.7;
/// The daily chance that an applicant not holding an offer withdraws (about one in six a year).
const WITHDRAWING_DAILY: f64 = 0.18 / 365.0;
/// How long before a vacancy the office starts offering the apartment.
const OFFERING_AHEAD_DAYS: i64 = 45;
/// The earliest a lease starts after the offer: time to answer and to move.
const LEASE_NOT_BEFORE_DAYS: i64 = 14;
/// The answer deadline after the offer is made.
const ANSWER_DAYS: i64 = 7;

const DECLINE_REASONS: [&str; 4] = [
    "Asunto on liian kaukana työpaikasta.",
    "Vuokra on meille liian suuri.",
    "Löysimme jo asunnon muualta.",
    "Toivomme asuntoa hissitalosta.",
];
const WITHDRAW_REASONS: [&str; 3] = [
    "Löysin asunnon muualta.",
    "Elämäntilanne muuttui, en tarvitse asuntoa.",
    "Muutan toiselle paikkakunnalle.",
];

/// The housing line as the generator keeps it.
pub struct Housing {
    /// Open applications (neither withdrawn, lapsed nor housed), in filing order.
    applications: Vec<Application>,
    vacancies: Vec<Vacancy>,
    /// Offers made and not answered yet, each with the answer it will get.
    offers: Vec<Offer>,
    /// Every rental apartment as (property, apartment): what applicants draw their wishes from.
    rental: Vec<(usize, usize)>,
    /// The last applicant to accept an offer (see [`super::Generated`]).
    pub last_housed: Option<Uuid>,
}

struct Application {
    state: HousingApplication,
    areas: Vec<String>,
    types: Vec<String>,
    max_rent_cents: i64,
    move_in_from: NaiveDate,
    /// The day the applicant renews; `None`: they let the application lapse.
    renews_on: Option<NaiveDate>,
    on_offer: bool,
}

struct Vacancy {
    property: usize,
    apartment: usize,
    free_from: NaiveDate,
    on_offer: bool,
    /// Applications that declined it or let the offer expire: not offered again.
    passed_by: Vec<Uuid>,
}

struct Offer {
    state: HousingOffer,
    application_id: Uuid,
    property: usize,
    apartment: usize,
    answer: Answer,
}

#[derive(Clone, Copy)]
enum Answer {
    Accept(DateTime<Utc>),
    Decline(DateTime<Utc>, &'static str),
    /// No answer: customer service records the offer expired at this moment.
    Silence(DateTime<Utc>),
}

impl Answer {
    fn at(self) -> DateTime<Utc> {
        match self {
            Answer::Accept(at) | Answer::Decline(at, _) | Answer::Silence(at) => at,
        }
    }
}

impl Housing {
    /// The line when the history starts: no applications yet, and every rental apartment
    /// without a resident vacant from `start`.
    pub fn new(org: &Organisation, start: NaiveDate) -> Housing {
        let mut housing = Housing {
            applications: Vec::new(),
            vacancies: Vec::new(),
            offers: Vec::new(),
            rental: Vec::new(),
            last_housed: None,
        };
        for (p, property) in org.properties.iter().enumerate() {
            if property.kind != PropertyKind::RentalCompany {
                continue;
            }
            for (a, apartment) in property.apartments.iter().enumerate() {
                housing.rental.push((p, a));
                if apartment.contracts.is_empty() {
                    housing.vacate(p, a, start);
                }
            }
        }
        housing
    }

    /// A rental apartment is free for a new tenant from `free_from`.
    pub fn vacate(&mut self, property: usize, apartment: usize, free_from: NaiveDate) {
        self.vacancies.push(Vacancy {
            property,
            apartment,
            free_from,
            on_offer: false,
            passed_by: Vec::new(),
        });
    }
}

/// A day of the housing line: answers to offers, renewals and withdrawals, new applications,
/// and on weekdays new offers.
pub fn day(
    world: &mut World,
    org: &mut Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    answer_offers(world, org, housing, day)?;
    keep_applications(world, org, housing, day)?;
    file_applications(world, org, housing, day)?;
    if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        make_offers(world, org, housing, day)?;
    }
    Ok(())
}

fn answer_offers(
    world: &mut World,
    org: &mut Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    // An answer later on the day the offer was made comes due the next day, at its own time.
    let (due, waiting): (Vec<Offer>, Vec<Offer>) = std::mem::take(&mut housing.offers)
        .into_iter()
        .partition(|o| local_date(o.answer.at()) <= day);
    housing.offers = waiting;
    for offer in due {
        let at = offer.answer.at();
        let offer_id = offer.state.offer_id;
        let property_id = org.properties[offer.property].property_id;
        let (person, channel, command) = match offer.answer {
            Answer::Accept(_) => (
                offer.state.applicant_id,
                Channel::Portal,
                OfferCommand::Accept {
                    contract_id: Dispatcher::lease_id_for(offer_id),
                },
            ),
            Answer::Decline(_, reason) => (
                offer.state.applicant_id,
                Channel::Portal,
                OfferCommand::Decline {
                    reason: reason.into(),
                },
            ),
            Answer::Silence(_) => (
                *world.chance.pick(&org.customer_service),
                Channel::Office,
                { OfferCommand::Expire },
            ),
        };
        let principal = match channel {
            Channel::Portal => org.applicant(person, at)?,
            _ => principal_of(&org.properties[offer.property].register, person, at)?,
        };
        let decision = housing::decide_offer(&offer.state, command.clone(), &principal, at)
            .map_err(GenerateError::refused("an answer to a housing offer"))?;
        let act = world.act(person, channel, at, Some(property_id));
        world.log.record(
            &mut world.chance,
            &streams::housing_offer(offer_id),
            &act,
            decision,
        );
        let vacancy = housing.vacancies.iter().position(|v| {
            (v.property, v.apartment) == (offer.property, offer.apartment) && v.on_offer
        });
        let application = housing
            .applications
            .iter()
            .position(|a| a.state.application_id == offer.application_id);
        if let OfferCommand::Accept { contract_id } = command {
            // The acceptance signs the lease, as the dispatcher does in the same request.
            let lease = housing::lease_for(&offer.state, contract_id);
            org.sign_lease(world, offer.property, offer.apartment, lease, at)?;
            housing.last_housed = Some(offer.state.applicant_id);
            if let Some(v) = vacancy {
                housing.vacancies.remove(v);
            }
            if let Some(a) = application {
                housing.applications.remove(a);
            }
        } else {
            if let Some(v) = vacancy {
                let vacancy = &mut housing.vacancies[v];
                vacancy.on_offer = false;
                vacancy.passed_by.push(offer.application_id);
            }
            if let Some(a) = application {
                housing.applications[a].on_offer = false;
            }
        }
    }
    Ok(())
}

/// Applicants renew applications about to lapse or withdraw them; lapsed ones leave the line.
fn keep_applications(
    world: &mut World,
    org: &Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let mut kept = Vec::with_capacity(housing.applications.len());
    for mut application in std::mem::take(&mut housing.applications) {
        let command = if application.renews_on == Some(day) {
            ApplicationCommand::Renew
        } else if application.on_offer {
            kept.push(application);
            continue;
        } else if day > application.state.valid_until {
            continue;
        } else if world.chance.chance(WITHDRAWING_DAILY) {
            ApplicationCommand::Withdraw {
                reason: (*world.chance.pick(&WITHDRAW_REASONS)).into(),
            }
        } else {
            kept.push(application);
            continue;
        };
        let applicant = application.state.applicant_id;
        let at = world.chance.time_on(day, 7, 22);
        let principal = org.applicant(applicant, at)?;
        let decision =
            housing::decide_application(&application.state, command.clone(), &principal, at)
                .map_err(GenerateError::refused("a housing application step"))?;
        for event in &decision.events {
            if let DomainEvent::HousingApplicationRenewed(e) = event {
                application.state.valid_until = e.valid_until;
            }
        }
        let act = world.act(applicant, Channel::Portal, at, None);
        let stream = streams::housing_application(application.state.application_id);
        world.log.record(&mut world.chance, &stream, &act, decision);
        if let ApplicationCommand::Renew = command {
            application.renews_on = renewal_day(world, application.state.valid_until);
            kept.push(application);
        }
    }
    housing.applications = kept;
    Ok(())
}

/// When an applicant renews an application valid until `valid_until`, if they do.
fn renewal_day(world: &mut World, valid_until: NaiveDate) -> Option<NaiveDate> {
    world
        .chance
        .chance(RENEWING)
        .then(|| valid_until - Duration::days(world.chance.between(0, 14)))
}

/// New applicants register and apply, each wanting something like one of the rental
/// apartments: its town and type (perhaps another too), at a rent it fits.
fn file_applications(
    world: &mut World,
    org: &mut Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let mean = housing.rental.len() as f64 * APPLYING_YEARLY / 365.0;
    for _ in 0..world.chance.count(mean) {
        let (p, a) = *world.chance.pick(&housing.rental);
        let property = &org.properties[p];
        let apartment = &property.apartments[a];
        let rent = monthly_rent_cents(i64::from(apartment.floor_area_dm2));
        let mut areas = vec![property.city.to_string()];
        if world.chance.chance(0.4) {
            let (other, _) = *world.chance.pick(&CITIES);
            if other != property.city {
                areas.push(other.into());
            }
        }
        let rooms = ROOMS
            .iter()
            .position(|r| *r == apartment.rooms)
            .unwrap_or(0);
        let mut types = vec![apartment.rooms.to_string()];
        if world.chance.chance(0.5) {
            let neighbour = if rooms + 1 < ROOMS.len() && world.chance.chance(0.5) {
                rooms + 1
            } else {
                rooms.saturating_sub(1)
            };
            if neighbour != rooms {
                types.push(ROOMS[neighbour].into());
            }
        }
        // Up to 40 % above this apartment's rent, in whole tens of euros.
        let max_rent_cents = (rent * world.chance.between(100, 140) / 100 + 999) / 1_000 * 1_000;
        let household_size = world.chance.between(1, rooms as i64 + 2) as u32;
        let move_in_from = day + Duration::days(world.chance.between(0, 60));

        let registered_at = org.register_time(world.chance.time_on(day, 7, 22));
        let applicant = org.register_applicant(world, registered_at)?;
        let at = registered_at + Duration::minutes(world.chance.between(2, 20));
        let application_id = world.chance.id_at(at);
        let command = FileApplication {
            application_id,
            household_size,
            desired_areas: areas.clone(),
            apartment_types: types.clone(),
            max_rent_cents,
            move_in_from,
        };
        let principal = org.applicant(applicant, at)?;
        let decision = housing::file_application(command, &principal, at)
            .map_err(GenerateError::refused("a housing application"))?;
        let state = HousingApplication::fold(&decision.events).ok_or(GenerateError::Refused {
            what: "a housing application",
            rule: "generate.application_missing",
            message: "filing recorded no application".into(),
        })?;
        let act = world.act(applicant, Channel::Portal, at, None);
        let stream = streams::housing_application(application_id);
        world.log.record(&mut world.chance, &stream, &act, decision);
        let renews_on = renewal_day(world, state.valid_until);
        housing.applications.push(Application {
            state,
            areas,
            types,
            max_rent_cents,
            move_in_from,
            renews_on,
            on_offer: false,
        });
    }
    Ok(())
}

/// Customer service offers each vacancy coming up to the oldest valid application that wants
/// it and has not turned it down, and decides now how the applicant will answer.
fn make_offers(
    world: &mut World,
    org: &Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    for vacancy in &mut housing.vacancies {
        if vacancy.on_offer || vacancy.free_from - Duration::days(OFFERING_AHEAD_DAYS) > day {
            continue;
        }
        let property = &org.properties[vacancy.property];
        let apartment = &property.apartments[vacancy.apartment];
        let rent = monthly_rent_cents(i64::from(apartment.floor_area_dm2));
        let lease_starts_on = vacancy
            .free_from
            .max(day + Duration::days(LEASE_NOT_BEFORE_DAYS));
        let wanted_by = housing.applications.iter_mut().find(|a| {
            !a.on_offer
                && a.state.is_valid_on(day)
                && a.areas.iter().any(|c| c == property.city)
                && a.types.iter().any(|t| t == apartment.rooms)
                && a.max_rent_cents >= rent
                && a.move_in_from <= lease_starts_on
                && !vacancy.passed_by.contains(&a.state.application_id)
        });
        let Some(application) = wanted_by else {
            continue;
        };
        let clerk = *world.chance.pick(&org.customer_service);
        let at = world.chance.time_on(day, 8, 16);
        let offer_id = world.chance.id_at(at);
        let answer_by = at + Duration::days(ANSWER_DAYS);
        let command = MakeOffer {
            offer_id,
            apartment_id: apartment.apartment_id,
            monthly_rent_cents: rent,
            lease_starts_on,
            answer_by,
        };
        let principal = principal_of(&property.register, clerk, at)?;
        let decision = housing::make_offer(
            &application.state,
            command,
            OffersSoFar::default(),
            &principal,
            &property.register,
            at,
        )
        .map_err(GenerateError::refused("a housing offer"))?;
        let state = HousingOffer::fold(&decision.events).ok_or(GenerateError::Refused {
            what: "a housing offer",
            rule: "generate.offer_missing",
            message: "the offer recorded no offer".into(),
        })?;
        let act = world.act(clerk, Channel::Office, at, Some(property.property_id));
        world.log.record(
            &mut world.chance,
            &streams::housing_offer(offer_id),
            &act,
            decision,
        );
        let thinking = Duration::hours(world.chance.between(2, 96));
        let answer = match world.chance.between(0, 99) {
            0..=44 => Answer::Accept(world.chance.resident_after(at, thinking)),
            45..=84 => {
                let reason = *world.chance.pick(&DECLINE_REASONS);
                Answer::Decline(world.chance.resident_after(at, thinking), reason)
            }
            _ => Answer::Silence(world.chance.office_after(answer_by, Duration::minutes(1))),
        };
        application.on_offer = true;
        vacancy.on_offer = true;
        housing.offers.push(Offer {
            state,
            application_id: application.state.application_id,
            property: vacancy.property,
            apartment: vacancy.apartment,
            answer,
        });
    }
    Ok(())
}
