//! Bookings in GraphQL: the office defines resources; residents browse free sauna shifts,
//! parking spaces and a room's hours, book, queue and cancel; the office sees every booking of
//! its properties and the parking queue.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use talo_domain::access::Principal;
use talo_domain::booking::{
    self, BookableResource, Booking, BookingCommand, DefineResource, Slot, local_instant,
    next_occurrence,
};
use talo_domain::register::Register;
use talo_events_schema::booking::{BookingRules, WeeklyShift};
use talo_events_schema::envelope::Channel;
use talo_projections::bookings::BookingsView;
use uuid::Uuid;

use super::enums::ResourceKindGql;
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum BookingStatus {
    /// Holds its slot.
    Active,
    /// Waiting for a parking space.
    Queued,
    Cancelled,
    /// A room booking whose time has passed.
    Over,
}

#[derive(SimpleObject)]
pub struct SaunaShiftView {
    shift_id: String,
    /// ISO weekday, 1 = Monday.
    weekday: i32,
    /// Local (Helsinki) time.
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    /// The next time it starts, from now (this week's or next week's).
    next_starts_at: Option<DateTime<Utc>>,
    free: bool,
    /// Held by one of the caller's apartments.
    mine: bool,
}

#[derive(SimpleObject)]
pub struct ParkingSpaceView {
    space: String,
    free: bool,
    mine: bool,
}

#[derive(SimpleObject)]
#[graphql(name = "BookableResource")]
pub struct ResourceNode {
    id: Uuid,
    property_id: Uuid,
    kind: ResourceKindGql,
    name: String,
    /// Per month for sauna shifts and parking, per booking for rooms; 0 = free.
    price_cents: i64,
    max_active_per_apartment: i32,
    max_days_ahead: i32,
    cancel_hours_before: i32,
    shifts: Vec<SaunaShiftView>,
    spaces: Vec<ParkingSpaceView>,
    queue_length: i32,
    opens_at: Option<NaiveTime>,
    closes_at: Option<NaiveTime>,
}

#[derive(SimpleObject)]
#[graphql(name = "Booking")]
pub struct BookingNode {
    id: Uuid,
    resource_id: Uuid,
    resource_name: String,
    kind: ResourceKindGql,
    apartment_id: Uuid,
    apartment_code: Option<String>,
    status: BookingStatus,
    shift_id: Option<String>,
    space: Option<String>,
    starts_on: Option<NaiveDate>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    price_cents: i64,
    booked_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    /// 1 for the first in the parking queue.
    queue_position: Option<i32>,
}

#[derive(SimpleObject)]
pub struct RoomHour {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    free: bool,
}

fn count(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

fn mine(principal: &Principal, apartment_id: Uuid) -> bool {
    principal
        .homes
        .iter()
        .any(|h| h.apartment_id == apartment_id)
}

fn resource_node(r: &BookableResource, principal: &Principal, now: DateTime<Utc>) -> ResourceNode {
    ResourceNode {
        id: r.resource_id,
        property_id: r.property_id,
        kind: r.kind.into(),
        name: r.name.clone(),
        price_cents: r.rules.price_cents,
        max_active_per_apartment: count(r.rules.max_active_per_apartment),
        max_days_ahead: count(r.rules.max_days_ahead),
        cancel_hours_before: count(r.rules.cancel_hours_before),
        shifts: r
            .shifts
            .iter()
            .map(|s| {
                let holder = r.shift_holder(&s.shift_id);
                SaunaShiftView {
                    shift_id: s.shift_id.clone(),
                    weekday: i32::from(s.weekday),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    next_starts_at: next_occurrence(s, now),
                    free: holder.is_none(),
                    mine: holder.is_some_and(|b| mine(principal, b.apartment_id)),
                }
            })
            .collect(),
        spaces: r
            .spaces
            .iter()
            .map(|s| {
                let holder = r.space_holder(s);
                ParkingSpaceView {
                    space: s.clone(),
                    free: holder.is_none(),
                    mine: holder.is_some_and(|b| mine(principal, b.apartment_id)),
                }
            })
            .collect(),
        queue_length: count(r.queue().count()),
        opens_at: r.opens_at,
        closes_at: r.closes_at,
    }
}

fn booking_node(
    r: &BookableResource,
    b: &Booking,
    register: &Register,
    now: DateTime<Utc>,
) -> BookingNode {
    let status = if b.cancelled_at.is_some() {
        BookingStatus::Cancelled
    } else if b.is_queued() {
        BookingStatus::Queued
    } else if b.is_active(now) {
        BookingStatus::Active
    } else {
        BookingStatus::Over
    };
    let (shift_id, space, starts_on, starts_at, ends_at) = match &b.slot {
        Slot::SaunaShift {
            shift_id,
            starts_on,
        } => (Some(shift_id.clone()), None, Some(*starts_on), None, None),
        Slot::ParkingSpace { space, starts_on } => {
            (None, Some(space.clone()), Some(*starts_on), None, None)
        }
        Slot::Queue => (None, None, None, None, None),
        Slot::Room { starts_at, ends_at } => (None, None, None, Some(*starts_at), Some(*ends_at)),
    };
    BookingNode {
        id: b.booking_id,
        resource_id: r.resource_id,
        resource_name: r.name.clone(),
        kind: r.kind.into(),
        apartment_id: b.apartment_id,
        apartment_code: register
            .apartments
            .get(&b.apartment_id)
            .map(|a| a.code.clone()),
        status,
        shift_id,
        space,
        starts_on,
        starts_at,
        ends_at,
        price_cents: b.price_cents,
        booked_at: b.booked_at,
        cancelled_at: b.cancelled_at,
        queue_position: r
            .queue()
            .position(|q| q.booking_id == b.booking_id)
            .map(|i| count(i + 1)),
    }
}

fn with_bookings<T>(
    session: &Session<'_>,
    f: impl FnOnce(&Principal, &Register, &BookingsView) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        f(
            &principal,
            register,
            &session.talo.read_models.bookings.read(),
        )
    })
}

/// A resource the caller may see: its property's occupants, office and auditors.
fn visible<'v>(
    view: &'v BookingsView,
    principal: &Principal,
    resource_id: Uuid,
) -> Result<&'v BookableResource, ApiError> {
    view.resource(principal.organisation_id, resource_id)
        .filter(|r| principal.sees_property(r.property_id))
        .ok_or_else(|| ApiError::Rejected(booking::not_visible()))
}

fn require_office(principal: &Principal, property_id: Uuid, what: &str) -> Result<(), ApiError> {
    if principal.office_role_for(property_id).is_none() && !principal.is_auditor() {
        return Err(ApiError::Rejected(talo_domain::Rejection::forbidden(
            "booking.office_only",
            format!("{what}: only the property's office sees every booking"),
        )));
    }
    Ok(())
}

#[derive(Default)]
pub struct BookingQuery;

#[Object]
impl BookingQuery {
    /// The property's bookable resources, with free shifts and spaces as of now.
    async fn bookable_resources(
        &self,
        ctx: &Context<'_>,
        property_id: Uuid,
    ) -> Result<Vec<ResourceNode>> {
        let session = Session::of(ctx).gql()?;
        with_bookings(&session, |principal, _register, view| {
            if !principal.sees_property(property_id) {
                return Err(ApiError::Rejected(talo_domain::Rejection::forbidden(
                    "booking.not_resident",
                    "propertyId: only the property's residents, owners and office see its resources",
                )));
            }
            Ok(view
                .of_property(principal.organisation_id, property_id)
                .map(|r| resource_node(r, principal, session.now))
                .collect())
        })
        .gql()
    }

    /// A laundry or common room's hours on a local date, each free or booked.
    async fn room_availability(
        &self,
        ctx: &Context<'_>,
        resource_id: Uuid,
        date: NaiveDate,
    ) -> Result<Vec<RoomHour>> {
        let session = Session::of(ctx).gql()?;
        with_bookings(&session, |principal, _register, view| {
            let r = visible(view, principal, resource_id)?;
            let (Some(opens), Some(closes)) = (r.opens_at, r.closes_at) else {
                return Ok(Vec::new());
            };
            let mut hours = Vec::new();
            let mut at = opens;
            while at < closes {
                let next = at + Duration::hours(1);
                if let (Some(s), Some(e)) = (local_instant(date, at), local_instant(date, next)) {
                    hours.push(RoomHour {
                        starts_at: s,
                        ends_at: e,
                        free: r.room_overlap(s, e).is_none(),
                    });
                }
                if next <= at {
                    break;
                }
                at = next;
            }
            Ok(hours)
        })
        .gql()
    }

    /// The caller's apartments' bookings and queue places that are still current.
    async fn my_bookings(&self, ctx: &Context<'_>) -> Result<Vec<BookingNode>> {
        let session = Session::of(ctx).gql()?;
        with_bookings(&session, |principal, register, view| {
            let mut properties: Vec<Uuid> = principal.homes.iter().map(|h| h.property_id).collect();
            properties.dedup();
            Ok(properties
                .into_iter()
                .flat_map(|p| view.of_property(principal.organisation_id, p))
                .flat_map(|r| {
                    r.in_order()
                        .filter(|b| b.is_active(session.now) && mine(principal, b.apartment_id))
                        .map(move |b| booking_node(r, b, register, session.now))
                })
                .collect())
        })
        .gql()
    }

    /// Every booking of the property, current and past, oldest first: for the office.
    async fn property_bookings(
        &self,
        ctx: &Context<'_>,
        property_id: Uuid,
    ) -> Result<Vec<BookingNode>> {
        let session = Session::of(ctx).gql()?;
        with_bookings(&session, |principal, register, view| {
            require_office(principal, property_id, "propertyBookings")?;
            Ok(view
                .of_property(principal.organisation_id, property_id)
                .flat_map(|r| {
                    r.in_order()
                        .map(move |b| booking_node(r, b, register, session.now))
                })
                .collect())
        })
        .gql()
    }

    /// The apartments waiting for a parking space, first first: for the office.
    async fn parking_queue(
        &self,
        ctx: &Context<'_>,
        resource_id: Uuid,
    ) -> Result<Vec<BookingNode>> {
        let session = Session::of(ctx).gql()?;
        with_bookings(&session, |principal, register, view| {
            let r = visible(view, principal, resource_id)?;
            require_office(principal, r.property_id, "parkingQueue")?;
            Ok(r.queue()
                .map(|b| booking_node(r, b, register, session.now))
                .collect())
        })
        .gql()
    }
}

#[derive(InputObject)]
pub struct WeeklyShiftInput {
    shift_id: String,
    /// ISO weekday, 1 = Monday.
    weekday: i32,
    /// Local (Helsinki) time, e.g. "18:00:00".
    starts_at: NaiveTime,
    ends_at: NaiveTime,
}

#[derive(InputObject)]
pub struct DefineBookableResourceInput {
    idempotency_key: String,
    property_id: Uuid,
    kind: ResourceKindGql,
    name: String,
    #[graphql(default)]
    price_cents: i64,
    #[graphql(default)]
    vat_rate_bp: i32,
    #[graphql(default = 1)]
    max_active_per_apartment: i32,
    #[graphql(default = 14)]
    max_days_ahead: i32,
    #[graphql(default = 24)]
    cancel_hours_before: i32,
    #[graphql(default)]
    shifts: Vec<WeeklyShiftInput>,
    #[graphql(default)]
    spaces: Vec<String>,
    opens_at: Option<NaiveTime>,
    closes_at: Option<NaiveTime>,
}

#[derive(InputObject)]
pub struct BookInput {
    idempotency_key: String,
    resource_id: Uuid,
    apartment_id: Uuid,
    /// Sauna: the shift to hold.
    shift_id: Option<String>,
    /// Parking: a named space; without it, the first free one.
    space: Option<String>,
    /// Rooms: the time range, whole local hours.
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct JoinParkingQueueInput {
    idempotency_key: String,
    resource_id: Uuid,
    apartment_id: Uuid,
}

#[derive(InputObject)]
pub struct CancelBookingInput {
    idempotency_key: String,
    resource_id: Uuid,
    booking_id: Uuid,
}

#[derive(SimpleObject)]
pub struct BookableResourcePayload {
    resource: ResourceNode,
    position: String,
    replayed: bool,
}

#[derive(SimpleObject)]
pub struct BookingPayload {
    booking: BookingNode,
    position: String,
    replayed: bool,
}

fn non_negative(field: &'static str, value: i32) -> Result<u32, ApiError> {
    u32::try_from(value)
        .map_err(|_| ApiError::bad_input(field, "booking.negative", "must not be negative"))
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::bad_input(
            field,
            "booking.field_required",
            "is required for this resource",
        )
    })
}

#[derive(Default)]
pub struct BookingMutation;

impl BookingMutation {
    async fn step(
        ctx: &Context<'_>,
        idempotency_key: &str,
        resource_id: Uuid,
        make: impl FnOnce(Uuid) -> Result<BookingCommand, ApiError>,
    ) -> Result<BookingPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Portal, idempotency_key)?;
            let command = make(request.new_entity_id("booking"))?;
            let booking_id = match &command {
                BookingCommand::BookSaunaShift { booking_id, .. }
                | BookingCommand::BookParkingSpace { booking_id, .. }
                | BookingCommand::JoinParkingQueue { booking_id, .. }
                | BookingCommand::BookRoom { booking_id, .. }
                | BookingCommand::Cancel { booking_id } => *booking_id,
            };
            let outcome: Outcome = session
                .talo
                .dispatcher
                .booking_step(&request, resource_id, command)
                .await?;
            with_bookings(&session, |principal, register, view| {
                let r = visible(view, principal, resource_id)?;
                let b = r
                    .bookings
                    .get(&booking_id)
                    .ok_or_else(|| ApiError::Rejected(booking::not_visible()))?;
                Ok(BookingPayload {
                    booking: booking_node(r, b, register, session.now),
                    position: outcome.position.to_string(),
                    replayed: outcome.replayed,
                })
            })
        };
        run.await.gql()
    }
}

#[Object]
impl BookingMutation {
    /// The property's office makes a sauna, a parking area, a laundry or a common room
    /// bookable, with its rules and price.
    async fn define_bookable_resource(
        &self,
        ctx: &Context<'_>,
        input: DefineBookableResourceInput,
    ) -> Result<BookableResourcePayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Portal, &input.idempotency_key)?;
            let resource_id = request.new_entity_id("bookable-resource");
            let shifts = input
                .shifts
                .into_iter()
                .map(|s| {
                    Ok(WeeklyShift {
                        shift_id: s.shift_id,
                        weekday: u8::try_from(s.weekday).unwrap_or(0),
                        starts_at: s.starts_at,
                        ends_at: s.ends_at,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let command = DefineResource {
                resource_id,
                property_id: input.property_id,
                kind: input.kind.into(),
                name: input.name,
                rules: BookingRules {
                    max_active_per_apartment: non_negative(
                        "maxActivePerApartment",
                        input.max_active_per_apartment,
                    )?,
                    max_days_ahead: non_negative("maxDaysAhead", input.max_days_ahead)?,
                    cancel_hours_before: non_negative(
                        "cancelHoursBefore",
                        input.cancel_hours_before,
                    )?,
                    price_cents: input.price_cents,
                    vat_rate_bp: non_negative("vatRateBp", input.vat_rate_bp)?,
                },
                shifts,
                spaces: input.spaces,
                opens_at: input.opens_at,
                closes_at: input.closes_at,
            };
            let outcome = session
                .talo
                .dispatcher
                .define_bookable_resource(&request, command)
                .await?;
            with_bookings(&session, |principal, _register, view| {
                let r = visible(view, principal, resource_id)?;
                Ok(BookableResourcePayload {
                    resource: resource_node(r, principal, session.now),
                    position: outcome.position.to_string(),
                    replayed: outcome.replayed,
                })
            })
        };
        run.await.gql()
    }

    /// Holds a weekly sauna shift for the apartment until it cancels.
    async fn book_sauna_shift(
        &self,
        ctx: &Context<'_>,
        input: BookInput,
    ) -> Result<BookingPayload> {
        let (apartment_id, shift_id) = (input.apartment_id, input.shift_id);
        Self::step(
            ctx,
            &input.idempotency_key,
            input.resource_id,
            |booking_id| {
                Ok(BookingCommand::BookSaunaShift {
                    booking_id,
                    apartment_id,
                    shift_id: required("shiftId", shift_id)?,
                })
            },
        )
        .await
    }

    /// Rents a free parking space for the apartment from this month.
    async fn book_parking_space(
        &self,
        ctx: &Context<'_>,
        input: BookInput,
    ) -> Result<BookingPayload> {
        let (apartment_id, space) = (input.apartment_id, input.space);
        Self::step(
            ctx,
            &input.idempotency_key,
            input.resource_id,
            |booking_id| {
                Ok(BookingCommand::BookParkingSpace {
                    booking_id,
                    apartment_id,
                    space,
                })
            },
        )
        .await
    }

    /// Books a laundry or common room for whole hours.
    async fn book_room(&self, ctx: &Context<'_>, input: BookInput) -> Result<BookingPayload> {
        let (apartment_id, starts_at, ends_at) =
            (input.apartment_id, input.starts_at, input.ends_at);
        Self::step(
            ctx,
            &input.idempotency_key,
            input.resource_id,
            |booking_id| {
                Ok(BookingCommand::BookRoom {
                    booking_id,
                    apartment_id,
                    starts_at: required("startsAt", starts_at)?,
                    ends_at: required("endsAt", ends_at)?,
                })
            },
        )
        .await
    }

    /// Waits for a parking space: the first in the queue gets the next one freed.
    async fn join_parking_queue(
        &self,
        ctx: &Context<'_>,
        input: JoinParkingQueueInput,
    ) -> Result<BookingPayload> {
        let apartment_id = input.apartment_id;
        Self::step(
            ctx,
            &input.idempotency_key,
            input.resource_id,
            |booking_id| {
                Ok(BookingCommand::JoinParkingQueue {
                    booking_id,
                    apartment_id,
                })
            },
        )
        .await
    }

    /// Cancels a booking or leaves the queue; a monthly charge stops from the next month.
    async fn cancel_booking(
        &self,
        ctx: &Context<'_>,
        input: CancelBookingInput,
    ) -> Result<BookingPayload> {
        let booking_id = input.booking_id;
        Self::step(ctx, &input.idempotency_key, input.resource_id, |_| {
            Ok(BookingCommand::Cancel { booking_id })
        })
        .await
    }
}
