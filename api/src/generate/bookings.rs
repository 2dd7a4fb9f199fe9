//! Sauna shifts and parking spaces: every property defines a sauna with weekly shifts and a
//! parking area; residents take free shifts and spaces (joining the queue when none is free),
//! give them up now and then, and always when they move out. A priced shift or space puts its
//! monthly charge on the contract's ledger, decided by the domain's booking charge rules.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use talo_domain::booking::{self, BookableResource, BookingCommand, DefineResource, Slot};
use talo_domain::booking_charge;
use talo_domain::decision::Context;
use talo_domain::money::Month;
use talo_events_schema::DomainEvent;
use talo_events_schema::booking::{BookingRules, ResourceKind, WeeklyShift};
use talo_events_schema::envelope::Channel;
use talo_events_schema::streams;
use uuid::Uuid;

use super::register::Organisation;
use super::{GenerateError, World, principal_of};

/// A property's sauna and parking area.
pub struct Resources {
    sauna: BookableResource,
    parking: BookableResource,
}

/// Share of free shifts and spaces taken in a month, and of holders giving one up.
const TAKE: f64 = 0.15;
const GIVE_UP: f64 = 0.02;

/// The office defines each property's sauna and parking area before the history starts.
pub fn define(
    world: &mut World,
    org: &mut Organisation,
    at: DateTime<Utc>,
) -> Result<Vec<Resources>, GenerateError> {
    let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let mut all = Vec::new();
    for property in 0..org.properties.len() {
        let size = org.properties[property].apartments.len();
        let shifts: Vec<WeeklyShift> = (1..=5u8)
            .flat_map(|weekday| {
                (17..21u32).map(move |h| WeeklyShift {
                    shift_id: format!("{weekday}-{h}"),
                    weekday,
                    starts_at: hour(h),
                    ends_at: hour(h + 1),
                })
            })
            .take(size.div_ceil(3).clamp(2, 20))
            .collect();
        let spaces: Vec<String> = (1..=size.div_ceil(3).max(1))
            .map(|n| format!("AP-{n}"))
            .collect();
        let rules = |price_cents| BookingRules {
            max_active_per_apartment: 1,
            max_days_ahead: 30,
            cancel_hours_before: 0,
            price_cents,
            vat_rate_bp: 0,
        };
        let sauna = define_one(
            world,
            org,
            property,
            at,
            ResourceKind::Sauna,
            "Saunavuorot",
            rules(1_500),
            shifts,
            Vec::new(),
        )?;
        let parking = define_one(
            world,
            org,
            property,
            at,
            ResourceKind::Parking,
            "Autopaikat",
            rules(3_500),
            Vec::new(),
            spaces,
        )?;
        all.push(Resources { sauna, parking });
    }
    Ok(all)
}

#[allow(clippy::too_many_arguments)]
fn define_one(
    world: &mut World,
    org: &Organisation,
    property: usize,
    at: DateTime<Utc>,
    kind: ResourceKind,
    name: &str,
    rules: BookingRules,
    shifts: Vec<WeeklyShift>,
    spaces: Vec<String>,
) -> Result<BookableResource, GenerateError> {
    let state = &org.properties[property];
    let resource_id = world.chance.id_at(at);
    let command = DefineResource {
        resource_id,
        property_id: state.property_id,
        kind,
        name: name.into(),
        rules,
        shifts,
        spaces,
        opens_at: None,
        closes_at: None,
    };
    let principal = principal_of(&state.register, state.manager, at)?;
    let decision = booking::define(None, command, &principal, &state.register)
        .map_err(GenerateError::refused("a bookable resource"))?;
    let resource = BookableResource::fold(decision.events.iter().map(|e| (e, at))).ok_or(
        GenerateError::Refused {
            what: "a bookable resource",
            rule: "generate.resource_missing",
            message: "the definition made no resource".into(),
        },
    )?;
    let act = world.act(state.manager, Channel::Portal, at, Some(state.property_id));
    world.log.record(
        &mut world.chance,
        &streams::resource(resource_id),
        &act,
        decision,
    );
    Ok(resource)
}

/// The month's bookings: leavers' bookings cancelled by the office, some holders giving up,
/// some residents taking free shifts and spaces or queueing for a space.
pub fn month_begins(
    world: &mut World,
    org: &mut Organisation,
    resources: &mut [Resources],
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let month = Month::of(day);
    for (property, own) in resources.iter_mut().enumerate() {
        // After the morning's payments and the day's other ledger entries. The office and the
        // residents go through the sauna, then the parking: a contract's ledger gets a
        // parking change after its sauna change, never before.
        let mut last = world.chance.time_on(day, 16, 17);
        if talo_domain::calendar::local_date(last) >= org.until {
            continue;
        }
        for resource in [&mut own.sauna, &mut own.parking] {
            let at = last;
            // Held bookings: cancelled when the holder's contract ends this month, or now and then.
            let held: Vec<(Uuid, Uuid)> = resource
                .in_order()
                .filter(|b| b.cancelled_at.is_none() && b.slot != Slot::Queue)
                .map(|b| (b.booking_id, b.apartment_id))
                .collect();
            for (booking_id, apartment_id) in held {
                let leaving = org.properties[property]
                    .apartments
                    .iter()
                    .find(|a| a.apartment_id == apartment_id)
                    .and_then(|a| {
                        a.contracts
                            .iter()
                            .map(|c| &org.contracts[*c])
                            .find(|c| c.active_on(day))
                    })
                    .is_none_or(|c| c.ends_on.is_some_and(|end| Month::of(end) == month));
                if leaving || world.chance.chance(GIVE_UP) {
                    let person = org.properties[property].manager;
                    step(
                        world,
                        org,
                        property,
                        resource,
                        person,
                        at,
                        BookingCommand::Cancel { booking_id },
                    )?;
                }
            }
            // Newcomers: residents staying at least two months take free slots or queue, one
            // after another on the resource's stream.
            let apartments = org.properties[property].apartments.len();
            let wanting = world.chance.count(apartments as f64 * TAKE / 4.0);
            for _ in 0..wanting {
                let a = world.chance.index(apartments);
                let apartment = &org.properties[property].apartments[a];
                let apartment_id = apartment.apartment_id;
                let Some(resident) = apartment
                    .contracts
                    .iter()
                    .map(|c| &org.contracts[*c])
                    .find(|c| c.active_on(day) && c.active_on(day + Duration::days(62)))
                    .map(|c| c.person_id)
                else {
                    continue;
                };
                if resource
                    .in_order()
                    .any(|b| b.apartment_id == apartment_id && b.cancelled_at.is_none())
                {
                    continue;
                }
                let booking_id = world.chance.id_at(at);
                let when = last + Duration::minutes(world.chance.between(1, 20));
                last = when;
                let command = match resource.kind {
                    ResourceKind::Sauna => {
                        let Some(shift) = resource
                            .shifts
                            .iter()
                            .find(|s| resource.shift_holder(&s.shift_id).is_none())
                        else {
                            continue;
                        };
                        BookingCommand::BookSaunaShift {
                            booking_id,
                            apartment_id,
                            shift_id: shift.shift_id.clone(),
                        }
                    }
                    _ if resource.free_spaces().next().is_some() => {
                        BookingCommand::BookParkingSpace {
                            booking_id,
                            apartment_id,
                            space: None,
                        }
                    }
                    _ => BookingCommand::JoinParkingQueue {
                        booking_id,
                        apartment_id,
                    },
                };
                step(world, org, property, resource, resident, when, command)?;
            }
        }
    }
    Ok(())
}

/// Decides a booking step, records it on the resource's stream, and starts or ends the monthly
/// charges it causes on the contracts' ledgers.
fn step(
    world: &mut World,
    org: &mut Organisation,
    property: usize,
    resource: &mut BookableResource,
    person: Uuid,
    at: DateTime<Utc>,
    command: BookingCommand,
) -> Result<(), GenerateError> {
    let state = &org.properties[property];
    let principal = principal_of(&state.register, person, at)?;
    let channel = if principal.office_role_for(state.property_id).is_some() {
        Channel::Office
    } else {
        Channel::Portal
    };
    let ctx = Context {
        principal: &principal,
        register: &state.register,
        occurred_at: at,
        channel,
    };
    let decision =
        booking::decide(resource, command, &ctx).map_err(GenerateError::refused("a booking"))?;
    let events: Vec<DomainEvent> = decision.events.clone();
    let role = decision.role;
    let property_id = state.property_id;
    let act = world.act(person, channel, at, Some(property_id));
    world.log.record(
        &mut world.chance,
        &streams::resource(resource.resource_id),
        &act,
        decision,
    );
    let mut folded = Some(resource.clone());
    for event in &events {
        BookableResource::apply(&mut folded, event, at);
    }
    if let Some(after) = folded {
        *resource = after;
    }
    for change in booking_charge::changes_for(resource, events.iter().map(|e| (e, at))) {
        let Some(&contract) = org.contract_index.get(&change.contract_id()) else {
            continue;
        };
        let file = &mut org.contracts[contract];
        file.last_at = file.last_at.max(at);
        let decision = booking_charge::decide(file.charge_events.iter(), change, role);
        for event in &decision.events {
            file.ledger.apply(event);
            file.charge_events.push(event.clone());
        }
        let stream = streams::ledger(file.contract_id);
        world.log.record(&mut world.chance, &stream, &act, decision);
    }
    Ok(())
}
