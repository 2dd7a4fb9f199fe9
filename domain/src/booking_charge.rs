//! The monthly charge a priced sauna shift or parking space adds to the booking apartment's
//! contract, in the contract's ledger stream. The charge line's id is the booking's id, so a
//! retried or repeated request finds the line already there and adds nothing twice.

use chrono::{DateTime, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::ledger::{ChargeKind, ChargeLineAdded, ChargeLineEnded};
use uuid::Uuid;

use crate::booking::{BookableResource, Slot, end_of_month};
use crate::calendar::local_date;
use crate::decision::Decision;

/// A charge a booking starts or stops.
#[derive(Debug, Clone, PartialEq)]
pub enum ChargeChange {
    Add {
        contract_id: Uuid,
        booking_id: Uuid,
        kind: ChargeKind,
        description: String,
        monthly_amount_cents: i64,
        vat_rate_bp: u32,
        starts_on: NaiveDate,
    },
    End {
        contract_id: Uuid,
        booking_id: Uuid,
        ends_on: NaiveDate,
    },
}

impl ChargeChange {
    pub fn contract_id(&self) -> Uuid {
        match self {
            ChargeChange::Add { contract_id, .. } | ChargeChange::End { contract_id, .. } => {
                *contract_id
            }
        }
    }
}

/// Decides a charge change on a contract's ledger `history`: nothing if the line was already
/// added (or ended, or never added).
pub fn decide<'a>(
    history: impl IntoIterator<Item = &'a DomainEvent> + Clone,
    change: ChargeChange,
    role: ActorRole,
) -> Decision {
    let added = |id: Uuid| {
        history
            .clone()
            .into_iter()
            .any(|e| matches!(e, DomainEvent::ChargeLineAdded(a) if a.charge_line_id == id))
    };
    let ended = |id: Uuid| {
        history
            .clone()
            .into_iter()
            .any(|e| matches!(e, DomainEvent::ChargeLineEnded(a) if a.charge_line_id == id))
    };
    let events: Vec<DomainEvent> = match change {
        ChargeChange::Add {
            contract_id,
            booking_id,
            kind,
            description,
            monthly_amount_cents,
            vat_rate_bp,
            starts_on,
        } if !added(booking_id) => vec![
            ChargeLineAdded {
                contract_id,
                charge_line_id: booking_id,
                kind,
                description,
                monthly_amount_cents,
                vat_rate_bp,
                starts_on,
                booking_id: Some(booking_id),
            }
            .into(),
        ],
        ChargeChange::End {
            contract_id,
            booking_id,
            ends_on,
        } if added(booking_id) && !ended(booking_id) => vec![
            ChargeLineEnded {
                contract_id,
                charge_line_id: booking_id,
                ends_on,
            }
            .into(),
        ],
        _ => Vec::new(),
    };
    Decision { events, role }
}

/// The charge changes that a request's `events` on `resource` (folded, including them) cause:
/// a priced shift or space starts a monthly charge from its first month; cancelling one ends
/// it at the end of the month in progress.
pub fn changes_for<'a>(
    resource: &BookableResource,
    events: impl IntoIterator<Item = (&'a DomainEvent, DateTime<Utc>)>,
) -> Vec<ChargeChange> {
    let rules = &resource.rules;
    events
        .into_iter()
        .filter_map(|(event, at)| match event {
            DomainEvent::SaunaShiftBooked(e) if e.monthly_price_cents > 0 => {
                Some(ChargeChange::Add {
                    contract_id: e.contract_id?,
                    booking_id: e.booking_id,
                    kind: ChargeKind::Sauna,
                    description: format!("{}, vuoro {}", resource.name, e.shift_id),
                    monthly_amount_cents: e.monthly_price_cents,
                    vat_rate_bp: rules.vat_rate_bp,
                    starts_on: e.starts_on,
                })
            }
            DomainEvent::ParkingSpaceBooked(e) if e.monthly_price_cents > 0 => {
                Some(ChargeChange::Add {
                    contract_id: e.contract_id?,
                    booking_id: e.booking_id,
                    kind: ChargeKind::Parking,
                    description: format!("{}, autopaikka {}", resource.name, e.space),
                    monthly_amount_cents: e.monthly_price_cents,
                    vat_rate_bp: rules.vat_rate_bp,
                    starts_on: e.starts_on,
                })
            }
            DomainEvent::BookingCancelled(e) => {
                let booking = resource.bookings.get(&e.booking_id)?;
                let monthly = matches!(
                    booking.slot,
                    Slot::SaunaShift { .. } | Slot::ParkingSpace { .. }
                );
                (monthly && booking.price_cents > 0).then_some(())?;
                Some(ChargeChange::End {
                    contract_id: booking.contract_id?,
                    booking_id: e.booking_id,
                    ends_on: end_of_month(local_date(at)),
                })
            }
            _ => None,
        })
        .collect()
}
