//! Bookings of a property's shared resources (saunavuorot, autopaikat, yhteistilat): the
//! office defines a resource with its rules; residents and shareholders with an active
//! contract in the property book for their apartment. A resource's bookings are one aggregate,
//! so "is this slot free" is decided on one stream and two apartments never hold one slot.
//!
//! A parking space freed by a cancellation passes automatically, in the same decision, to the
//! first apartment in the queue: nobody has to remember to do it, and the queue order is the
//! log's order. Its monthly charge starts from the next month, since the previous holder's
//! charge runs to the end of the month in progress.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::booking::*;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::register::ContractKind;
use uuid::Uuid;

use crate::access::Principal;
use crate::calendar::{PROPERTY_ZONE, local_date};
use crate::decision::{Context, Decision};
use crate::register::Register;
use crate::rejection::{Rejection, require_text};

/// What a booking holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Slot {
    SaunaShift {
        shift_id: String,
        starts_on: NaiveDate,
    },
    ParkingSpace {
        space: String,
        starts_on: NaiveDate,
    },
    /// Waiting for a parking space.
    Queue,
    Room {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub booking_id: Uuid,
    pub apartment_id: Uuid,
    pub booked_by: Uuid,
    pub slot: Slot,
    /// Per month for shifts and spaces, per booking for rooms.
    pub price_cents: i64,
    pub contract_id: Option<Uuid>,
    pub booked_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Booking {
    /// Holds its slot (or queue place) now: not cancelled, and for a room not yet over.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.cancelled_at.is_none()
            && match self.slot {
                Slot::Room { ends_at, .. } => now < ends_at,
                _ => true,
            }
    }

    pub fn is_queued(&self) -> bool {
        self.cancelled_at.is_none() && self.slot == Slot::Queue
    }
}

/// A resource with every booking made of it, in booking order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookableResource {
    pub resource_id: Uuid,
    pub property_id: Uuid,
    pub kind: ResourceKind,
    pub name: String,
    pub rules: BookingRules,
    pub shifts: Vec<WeeklyShift>,
    pub spaces: Vec<String>,
    pub opens_at: Option<NaiveTime>,
    pub closes_at: Option<NaiveTime>,
    pub bookings: BTreeMap<Uuid, Booking>,
    /// Booking ids in the order they were made: the parking queue's order.
    pub order: Vec<Uuid>,
}

impl BookableResource {
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (&'a DomainEvent, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut state = None;
        for (event, at) in events {
            BookableResource::apply(&mut state, event, at);
        }
        state
    }

    /// Folds one event into the state; the read model uses the same fold.
    pub fn apply(state: &mut Option<Self>, event: &DomainEvent, at: DateTime<Utc>) {
        if let DomainEvent::BookableResourceDefined(e) = event {
            if state.is_none() {
                *state = Some(BookableResource {
                    resource_id: e.resource_id,
                    property_id: e.property_id,
                    kind: e.kind,
                    name: e.name.clone(),
                    rules: e.rules.clone(),
                    shifts: e.shifts.clone(),
                    spaces: e.spaces.clone(),
                    opens_at: e.opens_at,
                    closes_at: e.closes_at,
                    bookings: BTreeMap::new(),
                    order: Vec::new(),
                });
            }
            return;
        }
        if let Some(s) = state.as_mut() {
            s.apply_step(event, at);
        }
    }

    /// Folds one event of an existing resource (everything but its definition).
    pub fn apply_step(&mut self, event: &DomainEvent, at: DateTime<Utc>) {
        let s = self;
        let booking =
            |booking_id, apartment_id, booked_by, slot, price_cents, contract_id| Booking {
                booking_id,
                apartment_id,
                booked_by,
                slot,
                price_cents,
                contract_id,
                booked_at: at,
                cancelled_at: None,
            };
        let new = match event {
            DomainEvent::SaunaShiftBooked(e) => booking(
                e.booking_id,
                e.apartment_id,
                e.booked_by,
                Slot::SaunaShift {
                    shift_id: e.shift_id.clone(),
                    starts_on: e.starts_on,
                },
                e.monthly_price_cents,
                e.contract_id,
            ),
            DomainEvent::ParkingSpaceBooked(e) => {
                let mut b = booking(
                    e.booking_id,
                    e.apartment_id,
                    e.booked_by,
                    Slot::ParkingSpace {
                        space: e.space.clone(),
                        starts_on: e.starts_on,
                    },
                    e.monthly_price_cents,
                    e.contract_id,
                );
                // A queue place keeps its original time: it is the same request, now served.
                if let Some(queued) = s.bookings.get(&e.booking_id) {
                    b.booked_at = queued.booked_at;
                }
                b
            }
            DomainEvent::ParkingQueueJoined(e) => booking(
                e.booking_id,
                e.apartment_id,
                e.booked_by,
                Slot::Queue,
                0,
                None,
            ),
            DomainEvent::RoomBooked(e) => booking(
                e.booking_id,
                e.apartment_id,
                e.booked_by,
                Slot::Room {
                    starts_at: e.starts_at,
                    ends_at: e.ends_at,
                },
                e.price_cents,
                None,
            ),
            DomainEvent::BookingCancelled(e) => {
                if let Some(b) = s.bookings.get_mut(&e.booking_id) {
                    b.cancelled_at = Some(at);
                }
                return;
            }
            _ => return,
        };
        // `order` holds exactly the ids in `bookings`; the map answers faster than a scan.
        if !s.bookings.contains_key(&new.booking_id) {
            s.order.push(new.booking_id);
        }
        s.bookings.insert(new.booking_id, new);
    }

    pub fn in_order(&self) -> impl Iterator<Item = &Booking> {
        self.order.iter().filter_map(|id| self.bookings.get(id))
    }

    /// The active holder of a sauna shift.
    pub fn shift_holder(&self, shift_id: &str) -> Option<&Booking> {
        self.in_order().find(|b| {
            b.cancelled_at.is_none()
                && matches!(&b.slot, Slot::SaunaShift { shift_id: s, .. } if s == shift_id)
        })
    }

    /// The active holder of a parking space.
    pub fn space_holder(&self, space: &str) -> Option<&Booking> {
        self.in_order().find(|b| {
            b.cancelled_at.is_none()
                && matches!(&b.slot, Slot::ParkingSpace { space: s, .. } if s == space)
        })
    }

    pub fn free_spaces(&self) -> impl Iterator<Item = &String> {
        self.spaces
            .iter()
            .filter(|s| self.space_holder(s).is_none())
    }

    /// Apartments waiting for a parking space, first first.
    pub fn queue(&self) -> impl Iterator<Item = &Booking> {
        self.in_order().filter(|b| b.is_queued())
    }

    /// An active room booking overlapping the range.
    pub fn room_overlap(
        &self,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    ) -> Option<&Booking> {
        self.in_order().find(|b| match b.slot {
            Slot::Room {
                starts_at: s,
                ends_at: e,
            } => b.cancelled_at.is_none() && s < ends_at && starts_at < e,
            _ => false,
        })
    }

    /// Active bookings (queue places excluded) the apartment holds now.
    pub fn active_count(&self, apartment_id: Uuid, now: DateTime<Utc>) -> usize {
        self.in_order()
            .filter(|b| b.apartment_id == apartment_id && b.slot != Slot::Queue && b.is_active(now))
            .count()
    }

    pub fn is_hourly(&self) -> bool {
        matches!(self.kind, ResourceKind::Laundry | ResourceKind::CommonRoom)
    }
}

/// The next start of a weekly shift at or after `now`, as a UTC instant (the local time is
/// kept across daylight saving changes).
pub fn next_occurrence(shift: &WeeklyShift, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = local_date(now);
    (0..=7).find_map(|ahead| {
        let day = today + Duration::days(ahead);
        if day.weekday().number_from_monday() != u32::from(shift.weekday) {
            return None;
        }
        let start = local_instant(day, shift.starts_at)?;
        (start >= now).then_some(start)
    })
}

/// A local date and time at the property as a UTC instant; `None` for a time skipped by the
/// spring change.
pub fn local_instant(day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    PROPERTY_ZONE
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The last day of the month `day` is in: a monthly charge cancelled today stops from the next
/// period.
pub fn end_of_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

/// The contract a booking's monthly charge goes to: the apartment's active lease if any, else
/// its active shareholding.
pub fn charge_contract(register: &Register, apartment_id: Uuid, day: NaiveDate) -> Option<Uuid> {
    let occupants: Vec<_> = register.occupants(apartment_id, day).collect();
    occupants
        .iter()
        .find(|c| c.kind == ContractKind::Lease)
        .or_else(|| {
            occupants
                .iter()
                .find(|c| c.kind == ContractKind::Shareholding)
        })
        .map(|c| c.contract_id)
}

/// A resource as the office defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct DefineResource {
    pub resource_id: Uuid,
    pub property_id: Uuid,
    pub kind: ResourceKind,
    pub name: String,
    pub rules: BookingRules,
    pub shifts: Vec<WeeklyShift>,
    pub spaces: Vec<String>,
    pub opens_at: Option<NaiveTime>,
    pub closes_at: Option<NaiveTime>,
}

/// The office of the property defines a bookable resource.
pub fn define(
    existing: Option<&BookableResource>,
    command: DefineResource,
    principal: &Principal,
    register: &Register,
) -> Result<Decision, Rejection> {
    principal.refuse_auditor()?;
    if !register.properties.contains_key(&command.property_id) {
        return Err(Rejection::not_found(
            "propertyId",
            "booking.unknown_property",
            "no such property in your organisation",
        ));
    }
    let role = principal
        .office_role_for(command.property_id)
        .ok_or_else(|| {
            Rejection::forbidden(
                "booking.define_forbidden",
                "only the property's office defines bookable resources",
            )
        })?;
    if existing.is_some() {
        return Err(Rejection::transition(
            "booking.resource_exists",
            "the resource is already defined",
        ));
    }
    require_text("name", &command.name, 100)?;
    let r = &command.rules;
    if r.price_cents < 0 {
        return Err(Rejection::invalid(
            "priceCents",
            "booking.negative_price",
            "must not be negative",
        ));
    }
    if r.max_active_per_apartment == 0 {
        return Err(Rejection::invalid(
            "maxActivePerApartment",
            "booking.invalid_limit",
            "must be at least 1",
        ));
    }
    match command.kind {
        ResourceKind::Sauna => {
            if command.shifts.is_empty() {
                return Err(Rejection::invalid(
                    "shifts",
                    "booking.shifts_required",
                    "a sauna needs at least one shift",
                ));
            }
            for (i, s) in command.shifts.iter().enumerate() {
                if !(1..=7).contains(&s.weekday) || s.ends_at <= s.starts_at {
                    return Err(Rejection::invalid(
                        "shifts",
                        "booking.invalid_shift",
                        format!(
                            "`{}`: weekday is 1-7 and the shift ends after it starts",
                            s.shift_id
                        ),
                    ));
                }
                if command.shifts[..i].iter().any(|o| o.shift_id == s.shift_id) {
                    return Err(Rejection::invalid(
                        "shifts",
                        "booking.invalid_shift",
                        format!("`{}` appears twice", s.shift_id),
                    ));
                }
            }
        }
        ResourceKind::Parking => {
            if command.spaces.is_empty() || command.spaces.iter().any(|s| s.trim().is_empty()) {
                return Err(Rejection::invalid(
                    "spaces",
                    "booking.spaces_required",
                    "parking needs named spaces",
                ));
            }
        }
        ResourceKind::Laundry | ResourceKind::CommonRoom => {
            match (command.opens_at, command.closes_at) {
                (Some(o), Some(c)) if o < c && o.minute() == 0 && c.minute() == 0 => {}
                _ => {
                    return Err(Rejection::invalid(
                        "opensAt",
                        "booking.invalid_hours",
                        "an hourly room opens and closes on whole hours, opening before closing",
                    ));
                }
            }
        }
    }
    Ok(Decision {
        events: vec![
            BookableResourceDefined {
                resource_id: command.resource_id,
                property_id: command.property_id,
                kind: command.kind,
                name: command.name,
                rules: command.rules,
                shifts: command.shifts,
                spaces: command.spaces,
                opens_at: command.opens_at,
                closes_at: command.closes_at,
            }
            .into(),
        ],
        role,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum BookingCommand {
    BookSaunaShift {
        booking_id: Uuid,
        apartment_id: Uuid,
        shift_id: String,
    },
    /// Books a free space: the one named, or the first free one.
    BookParkingSpace {
        booking_id: Uuid,
        apartment_id: Uuid,
        space: Option<String>,
    },
    JoinParkingQueue {
        booking_id: Uuid,
        apartment_id: Uuid,
    },
    BookRoom {
        booking_id: Uuid,
        apartment_id: Uuid,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    /// Cancels a booking or leaves the queue.
    Cancel { booking_id: Uuid },
}

pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "resourceId",
        "booking.resource_not_found",
        "no such bookable resource",
    )
}

fn wrong_kind(field: &'static str) -> Rejection {
    Rejection::invalid(
        field,
        "booking.wrong_kind",
        "this resource is not booked this way",
    )
}

/// The role under which the person books for the apartment: an active occupant of it, in the
/// resource's property.
fn booker_role(
    resource: &BookableResource,
    apartment_id: Uuid,
    principal: &Principal,
) -> Result<ActorRole, Rejection> {
    principal
        .homes
        .iter()
        .find(|h| h.apartment_id == apartment_id && h.property_id == resource.property_id)
        .map(|h| h.role())
        .ok_or_else(|| {
            Rejection::forbidden(
                "booking.not_resident",
                "apartmentId: only residents and shareholders with an active contract on the apartment book for it, in its own property",
            )
        })
}

fn check_limit(
    resource: &BookableResource,
    apartment_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let max = resource.rules.max_active_per_apartment as usize;
    if resource.active_count(apartment_id, now) >= max {
        return Err(Rejection::transition(
            "booking.too_many",
            format!(
                "apartmentId: the apartment already holds {max} active bookings of this resource"
            ),
        ));
    }
    Ok(())
}

fn slot_taken(what: &str) -> Rejection {
    Rejection::transition("booking.slot_taken", format!("{what} is already booked"))
}

/// Decides a booking or a cancellation on a resource.
pub fn decide(
    resource: &BookableResource,
    command: BookingCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let principal = ctx.principal;
    principal.refuse_auditor()?;
    let now = ctx.occurred_at;
    let today = local_date(now);
    let resource_id = resource.resource_id;
    match command {
        BookingCommand::BookSaunaShift {
            booking_id,
            apartment_id,
            shift_id,
        } => {
            if resource.kind != ResourceKind::Sauna {
                return Err(wrong_kind("shiftId"));
            }
            let role = booker_role(resource, apartment_id, principal)?;
            if !resource.shifts.iter().any(|s| s.shift_id == shift_id) {
                return Err(Rejection::not_found(
                    "shiftId",
                    "booking.unknown_shift",
                    "no such shift",
                ));
            }
            if resource.shift_holder(&shift_id).is_some() {
                return Err(slot_taken("the shift"));
            }
            check_limit(resource, apartment_id, now)?;
            let price = resource.rules.price_cents;
            Ok(Decision {
                events: vec![
                    SaunaShiftBooked {
                        resource_id,
                        booking_id,
                        shift_id,
                        apartment_id,
                        booked_by: principal.person_id,
                        starts_on: today,
                        monthly_price_cents: price,
                        contract_id: (price > 0)
                            .then(|| charge_contract(ctx.register, apartment_id, today))
                            .flatten(),
                    }
                    .into(),
                ],
                role,
            })
        }
        BookingCommand::BookParkingSpace {
            booking_id,
            apartment_id,
            space,
        } => {
            if resource.kind != ResourceKind::Parking {
                return Err(wrong_kind("space"));
            }
            let role = booker_role(resource, apartment_id, principal)?;
            let space = match space {
                Some(wanted) => {
                    if !resource.spaces.contains(&wanted) {
                        return Err(Rejection::not_found(
                            "space",
                            "booking.unknown_space",
                            "no such parking space",
                        ));
                    }
                    if resource.space_holder(&wanted).is_some() {
                        return Err(slot_taken("the parking space"));
                    }
                    wanted
                }
                None => resource.free_spaces().next().cloned().ok_or_else(|| {
                    Rejection::transition(
                        "booking.none_free",
                        "space: no parking space is free; join the queue",
                    )
                })?,
            };
            check_limit(resource, apartment_id, now)?;
            let price = resource.rules.price_cents;
            Ok(Decision {
                events: vec![
                    ParkingSpaceBooked {
                        resource_id,
                        booking_id,
                        space,
                        apartment_id,
                        booked_by: principal.person_id,
                        starts_on: today,
                        monthly_price_cents: price,
                        contract_id: (price > 0)
                            .then(|| charge_contract(ctx.register, apartment_id, today))
                            .flatten(),
                        from_queue: false,
                    }
                    .into(),
                ],
                role,
            })
        }
        BookingCommand::JoinParkingQueue {
            booking_id,
            apartment_id,
        } => {
            if resource.kind != ResourceKind::Parking {
                return Err(wrong_kind("resourceId"));
            }
            let role = booker_role(resource, apartment_id, principal)?;
            if resource.free_spaces().next().is_some() {
                return Err(Rejection::transition(
                    "booking.space_free",
                    "resourceId: a parking space is free; book it instead of queueing",
                ));
            }
            if resource.queue().any(|b| b.apartment_id == apartment_id) {
                return Err(Rejection::transition(
                    "booking.already_queued",
                    "apartmentId: the apartment is already in the queue",
                ));
            }
            check_limit(resource, apartment_id, now)?;
            Ok(Decision {
                events: vec![
                    ParkingQueueJoined {
                        resource_id,
                        booking_id,
                        apartment_id,
                        booked_by: principal.person_id,
                    }
                    .into(),
                ],
                role,
            })
        }
        BookingCommand::BookRoom {
            booking_id,
            apartment_id,
            starts_at,
            ends_at,
        } => {
            if !resource.is_hourly() {
                return Err(wrong_kind("startsAt"));
            }
            let role = booker_role(resource, apartment_id, principal)?;
            check_room_slot(resource, starts_at, ends_at, now)?;
            if resource.room_overlap(starts_at, ends_at).is_some() {
                return Err(slot_taken("the time"));
            }
            check_limit(resource, apartment_id, now)?;
            Ok(Decision {
                events: vec![
                    RoomBooked {
                        resource_id,
                        booking_id,
                        apartment_id,
                        booked_by: principal.person_id,
                        starts_at,
                        ends_at,
                        price_cents: resource.rules.price_cents,
                    }
                    .into(),
                ],
                role,
            })
        }
        BookingCommand::Cancel { booking_id } => cancel(resource, booking_id, ctx),
    }
}

/// A room slot: whole local hours within opening hours on one day, in the future, not too far
/// ahead.
fn check_room_slot(
    resource: &BookableResource,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    if ends_at <= starts_at {
        return Err(Rejection::invalid(
            "endsAt",
            "booking.invalid_slot",
            "must be after startsAt",
        ));
    }
    if starts_at < now {
        return Err(Rejection::invalid(
            "startsAt",
            "booking.in_past",
            "must not be in the past",
        ));
    }
    let max_days = resource.rules.max_days_ahead;
    if local_date(starts_at) > local_date(now) + Duration::days(i64::from(max_days)) {
        return Err(Rejection::invalid(
            "startsAt",
            "booking.too_far_ahead",
            format!("may be at most {max_days} days ahead"),
        ));
    }
    let (start, end) = (
        starts_at.with_timezone(&PROPERTY_ZONE),
        ends_at.with_timezone(&PROPERTY_ZONE),
    );
    let whole_hours =
        start.minute() == 0 && start.second() == 0 && end.minute() == 0 && end.second() == 0;
    let (opens, closes) = (
        resource.opens_at.unwrap_or(NaiveTime::MIN),
        resource.closes_at.unwrap_or(NaiveTime::MIN),
    );
    // A slot ending at midnight would be on the next day; rooms close before midnight.
    let within =
        start.date_naive() == end.date_naive() && opens <= start.time() && end.time() <= closes;
    if !whole_hours || !within {
        return Err(Rejection::invalid(
            "startsAt",
            "booking.outside_hours",
            format!("must be whole hours between {opens} and {closes} local time on one day"),
        ));
    }
    Ok(())
}

fn cancel(
    resource: &BookableResource,
    booking_id: Uuid,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let principal = ctx.principal;
    let now = ctx.occurred_at;
    let booking = resource
        .bookings
        .get(&booking_id)
        .ok_or_else(|| Rejection::not_found("bookingId", "booking.not_found", "no such booking"))?;
    let role = match principal.office_role_for(resource.property_id) {
        Some(role) => role,
        None => principal.home_role(booking.apartment_id).ok_or_else(|| {
            Rejection::forbidden(
                "booking.not_own",
                "bookingId: only the apartment's occupants or the office cancel a booking",
            )
        })?,
    };
    if !booking.is_active(now) {
        return Err(Rejection::transition(
            "booking.not_active",
            "bookingId: the booking is already cancelled or over",
        ));
    }
    if let Slot::Room { starts_at, .. } = booking.slot {
        let hours = resource.rules.cancel_hours_before;
        if now + Duration::hours(i64::from(hours)) > starts_at {
            return Err(Rejection::transition(
                "booking.cancel_deadline_passed",
                format!("bookingId: may be cancelled until {hours} hours before it starts"),
            ));
        }
    }
    let mut events: Vec<DomainEvent> = vec![
        BookingCancelled {
            resource_id: resource.resource_id,
            booking_id,
        }
        .into(),
    ];
    // The freed space passes to the first in the queue at once.
    if let (Slot::ParkingSpace { space, .. }, Some(first)) =
        (&booking.slot, resource.queue().next())
    {
        let starts_on = end_of_month(local_date(now))
            .succ_opt()
            .unwrap_or(local_date(now));
        let price = resource.rules.price_cents;
        events.push(
            ParkingSpaceBooked {
                resource_id: resource.resource_id,
                booking_id: first.booking_id,
                space: space.clone(),
                apartment_id: first.apartment_id,
                booked_by: first.booked_by,
                starts_on,
                monthly_price_cents: price,
                contract_id: (price > 0)
                    .then(|| charge_contract(ctx.register, first.apartment_id, starts_on))
                    .flatten(),
                from_queue: true,
            }
            .into(),
        );
    }
    Ok(Decision { events, role })
}
