//! The bookings reports: how much of what each bookable resource offered over a range was held
//! (sauna shifts, parking space-days, room hours), and each parking area's queue now. The
//! numbers come from the bookings read model (`talo_projections::bookings`).

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_events_schema::booking::ResourceKind;
use talo_projections::bookings::{ParkingQueue, SlotUnit, utilisation};
use uuid::Uuid;

use super::{Report, ReportRange, ReportScope};
use crate::error::ApiError;
use crate::graphql::enums::ResourceKindGql;
use crate::talo::Talo;
use talo_projections::statistics::per_mille;

/// Utilisation over a range.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BookingUtilisationReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

/// What one slot of a resource is.
#[derive(Enum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BookingSlotUnit {
    /// A weekly sauna shift on one date.
    Shift,
    /// A parking space for one day.
    SpaceDay,
    /// An opening hour of a laundry or common room.
    Hour,
}

impl From<SlotUnit> for BookingSlotUnit {
    fn from(unit: SlotUnit) -> Self {
        match unit {
            SlotUnit::Shift => BookingSlotUnit::Shift,
            SlotUnit::SpaceDay => BookingSlotUnit::SpaceDay,
            SlotUnit::Hour => BookingSlotUnit::Hour,
        }
    }
}

/// One resource's slots beginning in the range (after it was defined) and those held. A shift
/// or an hour is held when a booking made before it began was not cancelled by then; a parking
/// space is held from the day it was taken to the day it was given up.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BookingUtilisationReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub resource_id: Uuid,
    pub resource_name: String,
    pub kind: ResourceKindGql,
    pub unit: BookingSlotUnit,
    pub slots_offered: u32,
    pub slots_held: u32,
    /// Held of offered, rounded down; absent if nothing was offered.
    pub utilisation_per_mille: Option<u32>,
}

/// `booking-utilisation`: a row per bookable resource.
pub struct BookingUtilisationReport;

impl Report for BookingUtilisationReport {
    const NAME: &'static str = "booking-utilisation";
    const ON_BLOCKING_POOL: bool = true;
    type Input = BookingUtilisationReportInput;
    type Row = BookingUtilisationReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: BookingUtilisationReportInput,
    ) -> Result<Vec<BookingUtilisationReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        scope.with_register(talo, |register| {
            let view = talo.read_models.bookings.read();
            let mut rows = Vec::new();
            for p in scope.properties(register, input.property_id) {
                for record in view.records_of_property(scope.organisation_id(), p.property_id) {
                    let used = utilisation(record, range.from, range.until);
                    let resource = &record.resource;
                    rows.push(BookingUtilisationReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        resource_id: resource.resource_id,
                        resource_name: resource.name.clone(),
                        kind: resource.kind.into(),
                        unit: used.unit.into(),
                        slots_offered: used.offered,
                        slots_held: used.held,
                        utilisation_per_mille: per_mille(used.held, used.offered),
                    });
                }
            }
            Ok(rows)
        })
    }
}

/// Parking queues now.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ParkingQueueReportInput {
    pub property_id: Option<Uuid>,
}

/// A parking area's spaces and the apartments waiting for one, now.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ParkingQueueReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub resource_id: Uuid,
    pub resource_name: String,
    pub spaces: u32,
    pub spaces_held: u32,
    pub queue_length: u32,
    /// When the first apartment in the queue joined it; absent if nobody waits.
    #[serde(serialize_with = "crate::reports::range::rfc3339_opt")]
    pub first_queued_at: Option<DateTime<Utc>>,
}

/// `parking-queues`: a row per parking area.
pub struct ParkingQueueReport;

impl Report for ParkingQueueReport {
    const NAME: &'static str = "parking-queues";
    type Input = ParkingQueueReportInput;
    type Row = ParkingQueueReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: ParkingQueueReportInput,
    ) -> Result<Vec<ParkingQueueReportRow>, ApiError> {
        scope.with_register(talo, |register| {
            let view = talo.read_models.bookings.read();
            let mut rows = Vec::new();
            for p in scope.properties(register, input.property_id) {
                for resource in view
                    .of_property(scope.organisation_id(), p.property_id)
                    .filter(|r| r.kind == ResourceKind::Parking)
                {
                    let queue = ParkingQueue::of(resource);
                    rows.push(ParkingQueueReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        resource_id: resource.resource_id,
                        resource_name: resource.name.clone(),
                        spaces: queue.spaces,
                        spaces_held: queue.spaces_held,
                        queue_length: queue.queued,
                        first_queued_at: queue.first_queued_at,
                    });
                }
            }
            Ok(rows)
        })
    }
}
