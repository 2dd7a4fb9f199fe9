//! Bookable resources of a property and their bookings (saunavuorot, autopaikat, yhteistilat),
//! stream `resource-<id>`: the resource's definition and every booking and cancellation of it.
//! All slots of a resource live in that one stream, so two apartments can never hold the same
//! slot: the second append loses on the expected revision and is decided again.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// Weekly recurring shifts held until cancelled, priced per month.
    Sauna,
    /// Spaces rented per month, with a queue when none is free.
    Parking,
    /// Booked by the hour.
    Laundry,
    /// Booked by the hour (kerhohuone, juhlatila).
    CommonRoom,
}

/// A weekly sauna shift in the property's local time (Europe/Helsinki).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WeeklyShift {
    /// Stable within the resource, e.g. `tue-18`.
    pub shift_id: String,
    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    pub weekday: u8,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
}

/// The rules a resource's bookings keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BookingRules {
    /// Active bookings one apartment may hold on the resource at once.
    pub max_active_per_apartment: u32,
    /// How far ahead a booking may start, in days.
    pub max_days_ahead: u32,
    /// Hourly bookings may be cancelled until this many hours before they start.
    pub cancel_hours_before: u32,
    /// Cents, VAT included: per month for sauna shifts and parking, per booking for rooms;
    /// 0 = free.
    pub price_cents: i64,
    /// VAT rate in basis points (2550 = 25.5 %).
    pub vat_rate_bp: u32,
}

/// The property's office made a resource bookable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookableResourceDefined {
    pub resource_id: Uuid,
    pub property_id: Uuid,
    pub kind: ResourceKind,
    pub name: String,
    pub rules: BookingRules,
    /// Sauna only.
    pub shifts: Vec<WeeklyShift>,
    /// Parking only: the spaces' codes, e.g. `AP-3`.
    pub spaces: Vec<String>,
    /// Hourly rooms only: local opening hours.
    pub opens_at: Option<NaiveTime>,
    pub closes_at: Option<NaiveTime>,
}

/// An apartment holds a weekly sauna shift from `starts_on` until it cancels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SaunaShiftBooked {
    pub resource_id: Uuid,
    pub booking_id: Uuid,
    pub shift_id: String,
    pub apartment_id: Uuid,
    pub booked_by: Uuid,
    pub starts_on: NaiveDate,
    pub monthly_price_cents: i64,
    /// The contract the monthly charge goes to (a lease before a shareholding), if priced.
    pub contract_id: Option<Uuid>,
}

/// An apartment rents a parking space from `starts_on` until it cancels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ParkingSpaceBooked {
    pub resource_id: Uuid,
    pub booking_id: Uuid,
    pub space: String,
    pub apartment_id: Uuid,
    pub booked_by: Uuid,
    pub starts_on: NaiveDate,
    pub monthly_price_cents: i64,
    pub contract_id: Option<Uuid>,
    /// True when the space passed to the first in the queue as its holder cancelled.
    pub from_queue: bool,
}

/// An apartment waits for a parking space; the first in the queue gets the next one freed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ParkingQueueJoined {
    pub resource_id: Uuid,
    /// Becomes the booking's id when a space is assigned.
    pub booking_id: Uuid,
    pub apartment_id: Uuid,
    pub booked_by: Uuid,
}

/// An apartment booked a laundry or common room for a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoomBooked {
    pub resource_id: Uuid,
    pub booking_id: Uuid,
    pub apartment_id: Uuid,
    pub booked_by: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Per booking; a one-off charge is the ledger's separate invoice.
    pub price_cents: i64,
}

/// A booking (or a place in the parking queue) was cancelled; its slot is free from now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookingCancelled {
    pub resource_id: Uuid,
    pub booking_id: Uuid,
}
