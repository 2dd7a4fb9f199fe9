//! The ledger (reskontra) of one contract, stream `ledger-<contract id>`: the charge lines that
//! make up what is invoiced each month. Charge lines are added by the office (rent, maintenance
//! charge) or by a booking with a price (parking, sauna) and ended from a date; nothing is
//! changed in place. Invoices, payments and their allocation belong here too.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    Rent,
    /// Hoitovastike.
    MaintenanceCharge,
    /// Rahoitusvastike.
    FinancingCharge,
    /// Vesiennakko.
    WaterAdvance,
    Parking,
    Sauna,
    Other,
}

/// A monthly charge begins on a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChargeLineAdded {
    pub contract_id: Uuid,
    pub charge_line_id: Uuid,
    pub kind: ChargeKind,
    pub description: String,
    /// Per month, VAT included, in cents.
    pub monthly_amount_cents: i64,
    /// VAT rate in basis points (2550 = 25.5 %); 0 where no VAT applies (rent, charges).
    pub vat_rate_bp: u32,
    /// The first month charged is the month of this date.
    pub starts_on: NaiveDate,
    /// The booking that caused it, for parking and sauna.
    pub booking_id: Option<Uuid>,
}

/// A charge stops: the last month charged is the month of `ends_on`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChargeLineEnded {
    pub contract_id: Uuid,
    pub charge_line_id: Uuid,
    pub ends_on: NaiveDate,
}
