//! Bookable resources with their bookings, folded with the domain's own fold: what residents
//! browse (free shifts, free spaces, a room's hours) and what the office oversees (every
//! booking of its properties, the parking queue) and reports (how much of what a resource
//! offered over a range was held). Anything relative to now is asked at query time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::booking::{BookableResource, Booking, Slot, local_instant};
use talo_domain::calendar::{local_date, start_of_local_day};
use talo_events_schema::DomainEvent;
use talo_events_schema::booking::ResourceKind;
use talo_events_schema::envelope::RecordedEvent;
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub organisation_id: Uuid,
    /// From when its slots were offered.
    pub defined_at: DateTime<Utc>,
    pub resource: BookableResource,
    /// When each parking booking got its space: a queue place keeps the time it joined and
    /// its charge starts next month, but the space is its own from the moment it is passed on.
    #[serde(default)]
    pub spaces_taken_at: BTreeMap<Uuid, DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingsView {
    resources: BTreeMap<Uuid, ResourceRecord>,
    by_property: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Projection for BookingsView {
    const NAME: &'static str = "bookings";
    // 2: records know when their resource was defined.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        let resource_id = match decoded {
            DomainEvent::BookableResourceDefined(e) => {
                if !self.resources.contains_key(&e.resource_id) {
                    let mut state = None;
                    BookableResource::apply(&mut state, decoded, at);
                    if let Some(resource) = state {
                        self.by_property
                            .entry(e.property_id)
                            .or_default()
                            .insert(e.resource_id);
                        self.resources.insert(
                            e.resource_id,
                            ResourceRecord {
                                organisation_id: event.metadata.organisation_id,
                                defined_at: at,
                                resource,
                                spaces_taken_at: BTreeMap::new(),
                            },
                        );
                    }
                }
                return;
            }
            DomainEvent::SaunaShiftBooked(e) => e.resource_id,
            DomainEvent::ParkingSpaceBooked(e) => e.resource_id,
            DomainEvent::ParkingQueueJoined(e) => e.resource_id,
            DomainEvent::RoomBooked(e) => e.resource_id,
            DomainEvent::BookingCancelled(e) => e.resource_id,
            _ => return,
        };
        if let Some(record) = self.resources.get_mut(&resource_id) {
            if let DomainEvent::ParkingSpaceBooked(e) = decoded {
                record.spaces_taken_at.insert(e.booking_id, at);
            }
            // In place: cloning the resource with all its bookings per event made a replay
            // quadratic in the bookings of a sauna.
            record.resource.apply_step(decoded, at);
        }
    }
}

impl BookingsView {
    /// A resource of the organisation.
    pub fn resource(&self, organisation_id: Uuid, resource_id: Uuid) -> Option<&BookableResource> {
        self.resources
            .get(&resource_id)
            .filter(|r| r.organisation_id == organisation_id)
            .map(|r| &r.resource)
    }

    /// A resource of the organisation with when it was defined.
    pub fn record(&self, organisation_id: Uuid, resource_id: Uuid) -> Option<&ResourceRecord> {
        self.resources
            .get(&resource_id)
            .filter(|r| r.organisation_id == organisation_id)
    }

    /// The records of a property's resources, in the order of their ids.
    pub fn records_of_property(
        &self,
        organisation_id: Uuid,
        property_id: Uuid,
    ) -> impl Iterator<Item = &ResourceRecord> {
        self.by_property
            .get(&property_id)
            .into_iter()
            .flatten()
            .filter_map(move |id| self.record(organisation_id, *id))
    }

    /// The resources of a property, in definition order of their ids.
    pub fn of_property(
        &self,
        organisation_id: Uuid,
        property_id: Uuid,
    ) -> impl Iterator<Item = &BookableResource> {
        self.by_property
            .get(&property_id)
            .into_iter()
            .flatten()
            .filter_map(move |id| self.resource(organisation_id, *id))
    }
}

/// A parking resource's spaces and queue now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParkingQueue {
    pub spaces: u32,
    pub spaces_held: u32,
    pub queued: u32,
    /// When the first apartment in the queue joined it.
    pub first_queued_at: Option<DateTime<Utc>>,
}

impl ParkingQueue {
    pub fn of(resource: &BookableResource) -> Self {
        let held = resource
            .spaces
            .iter()
            .filter(|s| resource.space_holder(s).is_some())
            .count();
        ParkingQueue {
            spaces: resource.spaces.len() as u32,
            spaces_held: held as u32,
            queued: resource.queue().count() as u32,
            first_queued_at: resource.queue().next().map(|b| b.booked_at),
        }
    }
}

/// What one slot of a resource is, for utilisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotUnit {
    /// One weekly sauna shift on one date.
    Shift,
    /// One parking space for one (Helsinki) day.
    SpaceDay,
    /// One opening hour of a laundry or common room.
    Hour,
}

/// How many slots a resource offered over a range and how many of them were held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utilisation {
    pub unit: SlotUnit,
    pub offered: u32,
    pub held: u32,
}

/// The slots of `record`'s resource beginning in `[from, until)` after it was defined, and
/// how many of them were held. A sauna shift or a room hour is held when a booking made before
/// it began was not cancelled by then (a booking cancelled in advance holds nothing); a parking
/// space is held every day from the day it was taken (its charge starts that day) to the day
/// it was given up, including both (on the day a space passes on, both held it).
pub fn utilisation(
    record: &ResourceRecord,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Utilisation {
    let resource = &record.resource;
    let from = from.max(record.defined_at);
    // Only bookings still standing when the range began can hold one of its slots: five years
    // of a resource's bookings are mostly cancelled long before. Each slot then looks only at
    // those of its own shift or space.
    let standing = resource
        .bookings
        .values()
        .filter(|b| b.cancelled_at.is_none_or(|c| from < c));
    let mut offered = 0;
    let mut held = 0;
    let mut count =
        |start: DateTime<Utc>, candidates: &[&Booking], holds: &dyn Fn(&Booking) -> bool| {
            if from <= start && start < until {
                offered += 1;
                let holder = candidates
                    .iter()
                    .any(|b| b.cancelled_at.is_none_or(|c| start < c) && holds(b));
                held += u32::from(holder);
            }
        };
    let mut days = Vec::new();
    if from < until {
        let mut day = local_date(from);
        while day <= local_date(until) {
            days.push(day);
            day += Duration::days(1);
        }
    }
    let unit = match resource.kind {
        ResourceKind::Sauna => {
            let mut by_shift: HashMap<&str, Vec<&Booking>> = HashMap::new();
            for b in standing {
                if let Slot::SaunaShift { shift_id, .. } = &b.slot {
                    by_shift.entry(shift_id.as_str()).or_default().push(b);
                }
            }
            for &day in &days {
                let weekday = day.weekday().number_from_monday();
                for shift in resource
                    .shifts
                    .iter()
                    .filter(|s| u32::from(s.weekday) == weekday)
                {
                    let Some(start) = local_instant(day, shift.starts_at) else {
                        continue;
                    };
                    let candidates = by_shift
                        .get(shift.shift_id.as_str())
                        .map_or(&[][..], Vec::as_slice);
                    count(start, candidates, &|b| b.booked_at <= start);
                }
            }
            SlotUnit::Shift
        }
        ResourceKind::Parking => {
            // Each space's bookings, with the day each was taken (its charge starts that day).
            let mut by_space: HashMap<&str, Vec<(&Booking, NaiveDate)>> = HashMap::new();
            for b in standing {
                let taken_on = record
                    .spaces_taken_at
                    .get(&b.booking_id)
                    .map(|t| local_date(*t));
                if let (Slot::ParkingSpace { space, .. }, Some(taken_on)) = (&b.slot, taken_on) {
                    by_space
                        .entry(space.as_str())
                        .or_default()
                        .push((b, taken_on));
                }
            }
            for space in &resource.spaces {
                let of_space = by_space.get(space.as_str()).map_or(&[][..], Vec::as_slice);
                for &day in &days {
                    let taken: Vec<&Booking> = of_space
                        .iter()
                        .filter(|(_, taken_on)| *taken_on <= day)
                        .map(|(b, _)| *b)
                        .collect();
                    count(start_of_local_day(day), &taken, &|_| true);
                }
            }
            SlotUnit::SpaceDay
        }
        ResourceKind::Laundry | ResourceKind::CommonRoom => {
            let hours = match (resource.opens_at, resource.closes_at) {
                (Some(opens), Some(closes)) => opens.hour()..closes.hour(),
                _ => 0..0,
            };
            let rooms: Vec<&Booking> = standing
                .filter(|b| matches!(b.slot, Slot::Room { .. }))
                .collect();
            for &day in &days {
                for hour in hours.clone() {
                    let time = NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default();
                    let Some(start) = local_instant(day, time) else {
                        continue;
                    };
                    count(start, &rooms, &|b| {
                        b.booked_at <= start
                            && matches!(b.slot, Slot::Room { starts_at, ends_at } if starts_at <= start && start < ends_at)
                    });
                }
            }
            SlotUnit::Hour
        }
    };
    Utilisation {
        unit,
        offered,
        held,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;
    use talo_events_schema::booking::*;

    use super::*;
    use crate::given::{Given, utc, ymd};

    fn define(kind: ResourceKind) -> BookableResourceDefined {
        let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let hourly = matches!(kind, ResourceKind::Laundry);
        BookableResourceDefined {
            resource_id: Uuid::now_v7(),
            property_id: Uuid::now_v7(),
            kind,
            name: "Testi".into(),
            rules: BookingRules {
                max_active_per_apartment: 2,
                max_days_ahead: 30,
                cancel_hours_before: 0,
                price_cents: 0,
                vat_rate_bp: 0,
            },
            shifts: if kind == ResourceKind::Sauna {
                vec![
                    WeeklyShift {
                        shift_id: "tue-18".into(),
                        weekday: 2,
                        starts_at: hour(18),
                        ends_at: hour(19),
                    },
                    WeeklyShift {
                        shift_id: "fri-20".into(),
                        weekday: 5,
                        starts_at: hour(20),
                        ends_at: hour(21),
                    },
                ]
            } else {
                Vec::new()
            },
            spaces: if kind == ResourceKind::Parking {
                vec!["P1".into(), "P2".into()]
            } else {
                Vec::new()
            },
            opens_at: hourly.then(|| hour(8)),
            closes_at: hourly.then(|| hour(12)),
        }
    }

    fn cancel(defined: &BookableResourceDefined, booking_id: Uuid) -> BookingCancelled {
        BookingCancelled {
            resource_id: defined.resource_id,
            booking_id,
        }
    }

    #[test]
    fn sauna_shifts_held_from_their_booking_until_their_cancellation() {
        let mut given = Given::new();
        let mut view = BookingsView::default();
        let defined = define(ResourceKind::Sauna);
        let id = defined.resource_id;
        // Defined on Monday 2 March 2026; tue-18 booked that day and cancelled on Friday
        // 13 March; fri-20 booked on Saturday 7 March, after that week's shift.
        given.fold(&mut view, utc(2026, 3, 2, 8), None, defined.clone());
        let book = |shift: &str| SaunaShiftBooked {
            resource_id: id,
            booking_id: Uuid::now_v7(),
            shift_id: shift.into(),
            apartment_id: Uuid::now_v7(),
            booked_by: Uuid::now_v7(),
            starts_on: ymd(2026, 3, 2),
            monthly_price_cents: 0,
            contract_id: None,
        };
        let tuesday = book("tue-18");
        let tuesday_id = tuesday.booking_id;
        given.fold(&mut view, utc(2026, 3, 2, 9), None, tuesday);
        given.fold(&mut view, utc(2026, 3, 7, 9), None, book("fri-20"));
        given.fold(
            &mut view,
            utc(2026, 3, 13, 9),
            None,
            cancel(&defined, tuesday_id),
        );
        let record = view.record(given.organisation_id, id).unwrap();
        // Two weeks from Sunday 1 March (before the definition) to Sunday 15 March: four
        // shifts; tue-18 held on 3 and 10 March, fri-20 on 13 March, not on 6 March.
        let u = utilisation(record, utc(2026, 2, 28, 22), utc(2026, 3, 14, 22));
        assert_eq!(
            u,
            Utilisation {
                unit: SlotUnit::Shift,
                offered: 4,
                held: 3
            }
        );
    }

    #[test]
    fn parking_space_days_held_from_the_day_taken_to_the_day_given_up() {
        let mut given = Given::new();
        let mut view = BookingsView::default();
        let defined = define(ResourceKind::Parking);
        let id = defined.resource_id;
        given.fold(&mut view, utc(2026, 2, 1, 8), None, defined.clone());
        let space = ParkingSpaceBooked {
            resource_id: id,
            booking_id: Uuid::now_v7(),
            space: "P1".into(),
            apartment_id: Uuid::now_v7(),
            booked_by: Uuid::now_v7(),
            starts_on: ymd(2026, 3, 3),
            monthly_price_cents: 0,
            contract_id: None,
            from_queue: false,
        };
        let space_id = space.booking_id;
        let waiting = ParkingQueueJoined {
            resource_id: id,
            booking_id: Uuid::now_v7(),
            apartment_id: Uuid::now_v7(),
            booked_by: Uuid::now_v7(),
        };
        let waiting_id = waiting.booking_id;
        given.fold(&mut view, utc(2026, 2, 20, 10), None, waiting.clone());
        given.fold(&mut view, utc(2026, 3, 3, 10), None, space.clone());
        let queue = ParkingQueue::of(&view.record(given.organisation_id, id).unwrap().resource);
        assert_eq!(
            queue,
            ParkingQueue {
                spaces: 2,
                spaces_held: 1,
                queued: 1,
                first_queued_at: Some(utc(2026, 2, 20, 10))
            }
        );
        // Given up on 5 March and passed on to the queue at once, charged from April.
        given.fold(
            &mut view,
            utc(2026, 3, 5, 10),
            None,
            cancel(&defined, space_id),
        );
        let passed = ParkingSpaceBooked {
            booking_id: waiting_id,
            apartment_id: waiting.apartment_id,
            starts_on: ymd(2026, 4, 1),
            from_queue: true,
            ..space
        };
        given.fold(&mut view, utc(2026, 3, 5, 10), None, passed);
        let record = view.record(given.organisation_id, id).unwrap();
        // 1-7 March: 2 spaces × 7 days; P1 held from 3 March on, P2 never.
        let u = utilisation(record, utc(2026, 2, 28, 22), utc(2026, 3, 7, 22));
        assert_eq!((u.unit, u.offered, u.held), (SlotUnit::SpaceDay, 14, 5));
        let queue = ParkingQueue::of(&record.resource);
        assert_eq!((queue.spaces_held, queue.queued), (1, 0));
    }

    #[test]
    fn room_hours_held_by_bookings_not_cancelled_before_they_began() {
        let mut given = Given::new();
        let mut view = BookingsView::default();
        let defined = define(ResourceKind::Laundry);
        let id = defined.resource_id;
        given.fold(&mut view, utc(2026, 3, 1, 8), None, defined.clone());
        let room = |from_h, to_h| RoomBooked {
            resource_id: id,
            booking_id: Uuid::now_v7(),
            apartment_id: Uuid::now_v7(),
            booked_by: Uuid::now_v7(),
            // 8-12 local is 6-10 UTC in March.
            starts_at: utc(2026, 3, 3, from_h),
            ends_at: utc(2026, 3, 3, to_h),
            price_cents: 0,
        };
        given.fold(&mut view, utc(2026, 3, 2, 8), None, room(6, 8));
        let cancelled = room(9, 10);
        let cancelled_id = cancelled.booking_id;
        given.fold(&mut view, utc(2026, 3, 2, 8), None, cancelled);
        given.fold(
            &mut view,
            utc(2026, 3, 2, 9),
            None,
            cancel(&defined, cancelled_id),
        );
        let record = view.record(given.organisation_id, id).unwrap();
        // 3 March local: four opening hours, two held.
        let u = utilisation(record, utc(2026, 3, 2, 22), utc(2026, 3, 3, 22));
        assert_eq!((u.unit, u.offered, u.held), (SlotUnit::Hour, 4, 2));
    }
}
