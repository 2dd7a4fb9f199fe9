//! Booking rules, given/when/then: who may book, slots held once, limits, the cancellation
//! deadline, the parking queue and the charges a priced booking adds and ends.

mod world;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use talo_domain::booking::{self, BookableResource, BookingCommand, DefineResource};
use talo_domain::booking_charge::{self, ChargeChange};
use talo_domain::decision::Context;
use talo_domain::{Rejection, RejectionKind};
use talo_events_schema::DomainEvent;
use talo_events_schema::booking::*;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::ledger::ChargeKind;
use uuid::Uuid;
use world::{World, at};

fn rules(price_cents: i64) -> BookingRules {
    BookingRules {
        max_active_per_apartment: 1,
        max_days_ahead: 14,
        cancel_hours_before: 24,
        price_cents,
        vat_rate_bp: 0,
    }
}

fn t(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

fn definition(w: &World, kind: ResourceKind, price: i64) -> DefineResource {
    DefineResource {
        resource_id: Uuid::now_v7(),
        property_id: w.property,
        kind,
        name: "Resource".into(),
        rules: rules(price),
        shifts: vec![WeeklyShift {
            shift_id: "tue-18".into(),
            weekday: 2,
            starts_at: t(18),
            ends_at: t(19),
        }],
        spaces: vec!["AP-1".into()],
        opens_at: Some(t(7)),
        closes_at: Some(t(22)),
    }
}

/// A defined resource and its history so far.
struct Given {
    history: Vec<(DomainEvent, DateTime<Utc>)>,
}

impl Given {
    fn new(w: &World, kind: ResourceKind, price: i64) -> Self {
        let d = booking::define(
            None,
            definition(w, kind, price),
            &w.principal(w.manager),
            &w.register,
        )
        .unwrap();
        Given {
            history: d.events.into_iter().map(|e| (e, at(1, 8))).collect(),
        }
    }

    fn state(&self) -> BookableResource {
        BookableResource::fold(self.history.iter().map(|(e, at)| (e, *at))).unwrap()
    }

    fn when(
        &self,
        w: &World,
        who: Uuid,
        now: DateTime<Utc>,
        command: BookingCommand,
    ) -> Result<Vec<DomainEvent>, Rejection> {
        let principal = w.principal(who);
        let ctx = Context {
            principal: &principal,
            register: &w.register,
            occurred_at: now,
            channel: Channel::Portal,
        };
        booking::decide(&self.state(), command, &ctx).map(|d| d.events)
    }

    fn then_ok(
        &mut self,
        w: &World,
        who: Uuid,
        now: DateTime<Utc>,
        c: BookingCommand,
    ) -> &mut Self {
        let events = self.when(w, who, now, c).expect("accepted");
        self.history.extend(events.into_iter().map(|e| (e, now)));
        self
    }
}

fn sauna(apartment: Uuid) -> BookingCommand {
    BookingCommand::BookSaunaShift {
        booking_id: Uuid::now_v7(),
        apartment_id: apartment,
        shift_id: "tue-18".into(),
    }
}

fn room(apartment: Uuid, starts_at: DateTime<Utc>, hours: i64) -> BookingCommand {
    BookingCommand::BookRoom {
        booking_id: Uuid::now_v7(),
        apartment_id: apartment,
        starts_at,
        ends_at: starts_at + chrono::Duration::hours(hours),
    }
}

fn rule(r: Result<Vec<DomainEvent>, Rejection>) -> (&'static str, RejectionKind) {
    let r = r.expect_err("refused");
    (r.rule, r.kind)
}

#[test]
fn only_the_office_of_the_property_defines_resources() {
    let w = World::new();
    let refused = booking::define(
        None,
        definition(&w, ResourceKind::Sauna, 0),
        &w.principal(w.tenant),
        &w.register,
    )
    .unwrap_err();
    assert_eq!(refused.rule, "booking.define_forbidden");
    let mut no_shifts = definition(&w, ResourceKind::Sauna, 0);
    no_shifts.shifts.clear();
    let refused =
        booking::define(None, no_shifts, &w.principal(w.manager), &w.register).unwrap_err();
    assert_eq!(
        (refused.rule, refused.field),
        ("booking.shifts_required", Some("shifts"))
    );
}

#[test]
fn a_sauna_shift_is_held_by_one_apartment_until_it_cancels() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::Sauna, 0);
    given.then_ok(&w, w.tenant, at(10, 9), sauna(w.home));
    assert_eq!(
        rule(given.when(&w, w.neighbour, at(10, 9), sauna(w.neighbours_home))),
        ("booking.slot_taken", RejectionKind::InvalidTransition)
    );
    let held = given.state().shift_holder("tue-18").unwrap().booking_id;
    given.then_ok(
        &w,
        w.owner,
        at(11, 9),
        BookingCommand::Cancel { booking_id: held },
    );
    given.then_ok(&w, w.neighbour, at(11, 10), sauna(w.neighbours_home));
}

#[test]
fn only_occupants_of_the_property_book_and_only_for_their_own_apartment() {
    let w = World::new();
    let given = Given::new(&w, ResourceKind::Sauna, 0);
    for (who, apartment) in [
        (w.manager, w.home),
        (w.neighbour, w.home),
        (w.auditor, w.home),
    ] {
        let (r, kind) = rule(given.when(&w, who, at(10, 9), sauna(apartment)));
        assert_eq!(kind, RejectionKind::Forbidden);
        assert!(
            r == "booking.not_resident" || r == "auditor.read_only",
            "{r}"
        );
    }
}

#[test]
fn an_apartment_holds_at_most_its_limit_of_active_bookings() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::Laundry, 0);
    given.then_ok(&w, w.tenant, at(10, 6), room(w.home, at(11, 8), 2));
    assert_eq!(
        rule(given.when(&w, w.owner, at(10, 6), room(w.home, at(12, 8), 1))),
        ("booking.too_many", RejectionKind::InvalidTransition)
    );
    // Once the first is over, the apartment may book again.
    given.then_ok(&w, w.owner, at(11, 11), room(w.home, at(12, 8), 1));
}

#[test]
fn rooms_are_booked_by_whole_hours_within_opening_hours_and_not_too_far_ahead() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::CommonRoom, 0);
    let now = at(10, 6);
    let refused = given
        .when(&w, w.tenant, now, room(w.home, at(28, 8), 1))
        .unwrap_err();
    assert_eq!(
        (refused.rule, refused.field),
        ("booking.too_far_ahead", Some("startsAt"))
    );
    // 04:00 UTC is 06:00 in Helsinki in March: before opening at 07:00.
    assert_eq!(
        rule(given.when(&w, w.tenant, now, room(w.home, at(11, 4), 1))).0,
        "booking.outside_hours"
    );
    assert_eq!(
        rule(given.when(&w, w.tenant, now, room(w.home, at(9, 8), 1))).0,
        "booking.in_past"
    );
    given.then_ok(&w, w.tenant, now, room(w.home, at(11, 8), 2));
    assert_eq!(
        rule(given.when(&w, w.neighbour, now, room(w.neighbours_home, at(11, 9), 1))).0,
        "booking.slot_taken"
    );
    given.then_ok(&w, w.neighbour, now, room(w.neighbours_home, at(11, 10), 1));
}

#[test]
fn a_room_is_cancelled_only_before_the_deadline() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::Laundry, 500);
    let command = room(w.home, at(12, 8), 1);
    let BookingCommand::BookRoom { booking_id, .. } = command else {
        unreachable!()
    };
    given.then_ok(&w, w.tenant, at(10, 6), command);
    assert_eq!(
        rule(given.when(
            &w,
            w.tenant,
            at(11, 9),
            BookingCommand::Cancel { booking_id }
        )),
        (
            "booking.cancel_deadline_passed",
            RejectionKind::InvalidTransition
        )
    );
    assert_eq!(
        rule(given.when(
            &w,
            w.neighbour,
            at(10, 9),
            BookingCommand::Cancel { booking_id }
        ))
        .0,
        "booking.not_own"
    );
    given.then_ok(
        &w,
        w.tenant,
        at(11, 7),
        BookingCommand::Cancel { booking_id },
    );
}

#[test]
fn the_first_in_the_parking_queue_gets_a_freed_space_with_its_charge_from_next_month() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::Parking, 3500);
    let first = Uuid::now_v7();
    given.then_ok(
        &w,
        w.tenant,
        at(10, 9),
        BookingCommand::BookParkingSpace {
            booking_id: first,
            apartment_id: w.home,
            space: None,
        },
    );
    let queued = Uuid::now_v7();
    let full = BookingCommand::BookParkingSpace {
        booking_id: queued,
        apartment_id: w.neighbours_home,
        space: None,
    };
    assert_eq!(
        rule(given.when(&w, w.neighbour, at(10, 10), full)).0,
        "booking.none_free"
    );
    let join = BookingCommand::JoinParkingQueue {
        booking_id: queued,
        apartment_id: w.neighbours_home,
    };
    given.then_ok(&w, w.neighbour, at(10, 10), join.clone());
    assert_eq!(
        rule(given.when(&w, w.committee, at(10, 11), join)).0,
        "booking.already_queued"
    );

    let events = given
        .when(
            &w,
            w.tenant,
            at(20, 9),
            BookingCommand::Cancel { booking_id: first },
        )
        .unwrap();
    let [
        DomainEvent::BookingCancelled(_),
        DomainEvent::ParkingSpaceBooked(passed),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (passed.booking_id, passed.space.as_str(), passed.from_queue),
        (queued, "AP-1", true)
    );
    assert_eq!(
        passed.starts_on,
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
    );
    given
        .history
        .extend(events.into_iter().map(|e| (e, at(20, 9))));

    let state = given.state();
    let changes =
        booking_charge::changes_for(&state, given.history[3..].iter().map(|(e, at)| (e, *at)));
    let tenant_lease = w
        .register
        .occupants(w.home, world::date(10))
        .find(|c| c.person_id == w.tenant)
        .unwrap()
        .contract_id;
    assert_eq!(
        changes[0],
        ChargeChange::End {
            contract_id: tenant_lease,
            booking_id: first,
            ends_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        }
    );
    assert!(
        matches!(&changes[1], ChargeChange::Add { booking_id, monthly_amount_cents: 3500, kind: ChargeKind::Parking, .. } if *booking_id == queued)
    );
}

#[test]
fn a_priced_shift_is_charged_to_the_lease_before_the_shareholding_once() {
    let w = World::new();
    let mut given = Given::new(&w, ResourceKind::Sauna, 1200);
    given.then_ok(&w, w.owner, at(10, 9), sauna(w.home));
    let DomainEvent::SaunaShiftBooked(booked) = &given.history[1].0 else {
        panic!()
    };
    let lease = w
        .register
        .occupants(w.home, world::date(10))
        .find(|c| c.person_id == w.tenant)
        .unwrap()
        .contract_id;
    assert_eq!(booked.contract_id, Some(lease));
    let state = given.state();
    let change =
        booking_charge::changes_for(&state, given.history[1..].iter().map(|(e, at)| (e, *at)))
            .pop()
            .unwrap();
    let first = booking_charge::decide(&[], change.clone(), ActorRole::Shareholder);
    assert_eq!(first.events.len(), 1);
    let again = booking_charge::decide(&first.events, change, ActorRole::Shareholder);
    assert!(again.events.is_empty(), "a retry adds nothing twice");
}

#[test]
fn weekly_shifts_keep_local_time_across_daylight_saving() {
    let shift = WeeklyShift {
        shift_id: "tue-18".into(),
        weekday: 2,
        starts_at: t(18),
        ends_at: t(19),
    };
    // Winter: 18:00 in Helsinki is 16:00 UTC; after 29 March it is 15:00 UTC.
    let winter =
        booking::next_occurrence(&shift, Utc.with_ymd_and_hms(2026, 3, 23, 0, 0, 0).unwrap());
    assert_eq!(
        winter,
        Some(Utc.with_ymd_and_hms(2026, 3, 24, 16, 0, 0).unwrap())
    );
    let summer =
        booking::next_occurrence(&shift, Utc.with_ymd_and_hms(2026, 3, 30, 0, 0, 0).unwrap());
    assert_eq!(
        summer,
        Some(Utc.with_ymd_and_hms(2026, 3, 31, 15, 0, 0).unwrap())
    );
}
