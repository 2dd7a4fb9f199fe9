//! Fault reports: about half a report per apartment a year, most filed in the portal, some
//! phoned or emailed in to customer service, some in common areas noticed by the technical
//! manager; acknowledged, assigned to a contractor with a promise, visited, worked and resolved,
//! then confirmed (or reopened once) by the resident; a few cancelled.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::decision::Context;
use talo_domain::fault_report::{self, FaultReport, FaultReportCommand as Step, ReportFault};
use talo_domain::ticket::FAULT_REPORT_PREFIX;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Channel;
use talo_events_schema::fault_report::*;
use talo_events_schema::streams;
use uuid::Uuid;

use super::register::Organisation;
use super::{GenerateError, World, principal_of};

/// Reports per apartment a year.
const YEARLY: f64 = 0.5;

const FAULTS: [(FaultCategory, &str, &str); 8] = [
    (
        FaultCategory::Plumbing,
        "Keittiön hana vuotaa",
        "Hanan tiiviste vaihdettu",
    ),
    (
        FaultCategory::Plumbing,
        "Wc-istuin valuu jatkuvasti",
        "Huuhtelusäiliön venttiili vaihdettu",
    ),
    (
        FaultCategory::Electrical,
        "Kylpyhuoneen valaisin ei toimi",
        "Valaisimen liitäntä korjattu",
    ),
    (
        FaultCategory::Heating,
        "Patteri on kylmä",
        "Patterin termostaatti vaihdettu",
    ),
    (
        FaultCategory::Ventilation,
        "Poistoilma ei vedä",
        "Venttiilit puhdistettu ja säädetty",
    ),
    (
        FaultCategory::DoorsAndLocks,
        "Ulko-oven lukko jumittaa",
        "Lukkopesä vaihdettu",
    ),
    (
        FaultCategory::Appliances,
        "Jääkaappi ei kylmennä",
        "Jääkaapin termostaatti vaihdettu",
    ),
    (
        FaultCategory::Pests,
        "Kellarissa näkyy hiiriä",
        "Syötit asennettu",
    ),
];

const COMMON_AREAS: [&str; 4] = ["porraskäytävä", "sauna", "pesutupa", "piha"];

pub fn day(world: &mut World, org: &mut Organisation, day: NaiveDate) -> Result<(), GenerateError> {
    for property in 0..org.properties.len() {
        let mean = org.properties[property].apartments.len() as f64 * YEARLY / 365.0;
        for _ in 0..world.chance.count(mean) {
            report(world, org, property, day)?;
        }
    }
    Ok(())
}

/// A current occupant of a random apartment of the property who lives there for at least the
/// next month (a report's life), with the apartment's id.
pub fn settled_occupant(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
) -> Option<(Uuid, Uuid)> {
    let apartments = &org.properties[property].apartments;
    let apartment = &apartments[world.chance.index(apartments.len())];
    let later = day + Duration::days(40);
    apartment
        .contracts
        .iter()
        .map(|c| &org.contracts[*c])
        .find(|c| c.active_on(day) && c.active_on(later))
        .map(|c| (apartment.apartment_id, c.person_id))
}

struct Report<'a> {
    org: &'a Organisation,
    property: usize,
    id: Uuid,
    history: Vec<(DomainEvent, DateTime<Utc>)>,
}

impl Report<'_> {
    /// Decides a step as `person` and records it; `None` once past the end of the history.
    fn step(
        &mut self,
        world: &mut World,
        person: Uuid,
        channel: Channel,
        at: DateTime<Utc>,
        command: Step,
        until: NaiveDate,
    ) -> Result<Option<DateTime<Utc>>, GenerateError> {
        if local_date(at) >= until {
            return Ok(None);
        }
        let property = &self.org.properties[self.property];
        let state = FaultReport::fold(self.history.iter().map(|(e, at)| (e, *at))).ok_or(
            GenerateError::Refused {
                what: "a fault report step",
                rule: "generate.report_missing",
                message: "no report to take a step on".into(),
            },
        )?;
        let principal = principal_of(&property.register, person, at)?;
        let ctx = Context {
            principal: &principal,
            register: &property.register,
            occurred_at: at,
            channel,
        };
        let decision = fault_report::decide(&state, command, &ctx)
            .map_err(GenerateError::refused("a fault report step"))?;
        self.history
            .extend(decision.events.iter().cloned().map(|e| (e, at)));
        let act = world.act(person, channel, at, Some(property.property_id));
        world.log.record(
            &mut world.chance,
            &streams::fault_report(self.id),
            &act,
            decision,
        );
        Ok(Some(at))
    }
}

fn report(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let until = org.until;
    let state = &org.properties[property];
    let (category, description, fix) = *world.chance.pick(&FAULTS);
    let clerk = *world.chance.pick(&org.customer_service);
    // Who files it, through which channel, for whom, where.
    let common_by_staff = world.chance.chance(0.1);
    let (filer, reporter, channel, location, at) = if common_by_staff {
        let area = *world.chance.pick(&COMMON_AREAS);
        let at = world.chance.office_after(
            day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            Duration::zero(),
        );
        let building_id = Some(*world.chance.pick(&state.buildings));
        let t = state.technical_manager;
        let location = FaultLocation::CommonArea {
            building_id,
            area: area.into(),
        };
        (t, t, Channel::Portal, location, at)
    } else {
        let Some((apartment_id, resident)) = settled_occupant(world, org, property, day) else {
            return Ok(());
        };
        let location = if world.chance.chance(0.15) {
            FaultLocation::CommonArea {
                building_id: None,
                area: (*world.chance.pick(&COMMON_AREAS)).into(),
            }
        } else {
            FaultLocation::Apartment { apartment_id }
        };
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        match world.chance.between(0, 99) {
            0..=74 => {
                let at = world.chance.time_on(day, 7, 22);
                (resident, resident, Channel::Portal, location, at)
            }
            n => {
                let at = world.chance.office_after(midnight, Duration::zero());
                let channel = if n < 90 {
                    Channel::Phone
                } else {
                    Channel::Email
                };
                (clerk, resident, channel, location, at)
            }
        }
    };
    if local_date(at) >= until {
        return Ok(());
    }
    let id = world.chance.id_at(at);
    let command = ReportFault {
        fault_report_id: id,
        property_id: state.property_id,
        location,
        category,
        description: description.into(),
        permission_to_enter: world.chance.chance(0.8),
        pets: PetsOnPremises {
            present: false,
            details: None,
        },
        preferred_visit: None,
        contact_phone: state
            .register
            .persons
            .get(&reporter)
            .and_then(|p| p.phone.clone()),
        reporter_id: reporter,
    };
    let principal = principal_of(&state.register, filer, at)?;
    let ctx = Context {
        principal: &principal,
        register: &state.register,
        occurred_at: at,
        channel,
    };
    fault_report::check_report(&command, &ctx).map_err(GenerateError::refused("a fault report"))?;
    let act = world.act(filer, channel, at, Some(state.property_id));
    let ticket = world.issue_ticket(FAULT_REPORT_PREFIX, id, &act);
    let decision = fault_report::report(command, &ticket, &ctx)
        .map_err(GenerateError::refused("a fault report"))?;
    let mut r = Report {
        org,
        property,
        id,
        history: decision.events.iter().cloned().map(|e| (e, at)).collect(),
    };
    world.log.record(
        &mut world.chance,
        &streams::fault_report(id),
        &act,
        decision,
    );

    let by_resident = channel == Channel::Portal && filer == reporter && !common_by_staff;
    if by_resident {
        world.portal_reporter = Some(reporter);
    }
    let office = if world.chance.chance(0.5) {
        clerk
    } else {
        state.technical_manager
    };
    // A few are withdrawn before anyone comes.
    if world.chance.chance(0.05) {
        let (person, channel) = if by_resident {
            (reporter, Channel::Portal)
        } else {
            (office, Channel::Phone)
        };
        let at = world.chance.resident_after(at, Duration::hours(1));
        let reason = Step::Cancel {
            reason: "Vika korjaantui itsestään".into(),
        };
        r.step(world, person, channel, at, reason, until)?;
        return Ok(());
    }
    let ack_at = world.chance.office_after(at, Duration::minutes(30));
    let Some(at) = r.step(
        world,
        office,
        Channel::Portal,
        ack_at,
        Step::Acknowledge,
        until,
    )?
    else {
        return Ok(());
    };
    let contractor = world.chance.index(org.contractors.len());
    let company = org.contractors[contractor].company_id;
    let worker = *world.chance.pick(&org.contractors[contractor].workers);
    let mut at = at;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let assign_at = world.chance.office_after(at, Duration::minutes(20));
        let promised_by = local_date(assign_at) + Duration::days(world.chance.between(2, 10));
        let assign = Step::Assign {
            contractor_company_id: company,
            promised_by,
        };
        let Some(assigned) = r.step(world, office, Channel::Portal, assign_at, assign, until)?
        else {
            return Ok(());
        };
        let wait = Duration::hours(world.chance.between(4, 72));
        let mut work_at = world.chance.office_after(assigned, wait);
        if world.chance.chance(0.4) {
            let visit = TimeWindow {
                starts_at: work_at,
                ends_at: work_at + Duration::hours(2),
            };
            let at = world
                .chance
                .office_after(assigned, Duration::minutes(30))
                .min(work_at - Duration::minutes(5));
            let at = at.max(assigned);
            if r.step(
                world,
                worker,
                Channel::Field,
                at,
                Step::ScheduleVisit { visit },
                until,
            )?
            .is_none()
            {
                return Ok(());
            }
            work_at = work_at.max(at);
        }
        let Some(started) = r.step(
            world,
            worker,
            Channel::Field,
            work_at,
            Step::StartWork,
            until,
        )?
        else {
            return Ok(());
        };
        if world.chance.chance(0.2) {
            let note = Step::AddNote {
                note_id: world.chance.id_at(started),
                text: "Varaosa tilattu, asennus seuraavalla käynnillä".into(),
                visibility: NoteVisibility::Internal,
            };
            if r.step(
                world,
                worker,
                Channel::Field,
                started + Duration::minutes(20),
                note,
                until,
            )?
            .is_none()
            {
                return Ok(());
            }
        }
        let resolve_at = started + Duration::minutes(world.chance.between(40, 180));
        let resolve = Step::Resolve {
            work_summary: fix.into(),
        };
        let Some(resolved) = r.step(world, worker, Channel::Field, resolve_at, resolve, until)?
        else {
            return Ok(());
        };
        if common_by_staff {
            return Ok(());
        }
        let wait = Duration::hours(world.chance.between(2, 96));
        let answer_at = world.chance.resident_after(resolved, wait);
        let (person, channel) = if by_resident {
            (reporter, Channel::Portal)
        } else {
            (clerk, Channel::Phone)
        };
        let answer_at = if by_resident {
            answer_at
        } else {
            world.chance.office_after(answer_at, Duration::zero())
        };
        if rounds == 1 && world.chance.chance(0.08) {
            let reopen = Step::Reopen {
                reason: "Vika uusiutui".into(),
            };
            let Some(reopened) = r.step(world, person, channel, answer_at, reopen, until)? else {
                return Ok(());
            };
            at = reopened;
            continue;
        }
        if world.chance.chance(0.75) {
            r.step(world, person, channel, answer_at, Step::Confirm, until)?;
        }
        return Ok(());
    }
}
