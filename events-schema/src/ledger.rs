//! The ledger (reskontra) of one contract, stream `ledger-<contract id>`: the charge lines that
//! make up what is invoiced each month. Charge lines are added by the office (rent, maintenance
//! charge) or by a booking with a price (parking, sauna) and ended from a date; nothing is
//! changed in place. Invoices and payments, with how each payment was allocated, follow in the
//! same stream; payments that match no contract wait in `payments-<organisation id>`.

use chrono::NaiveDate;
use compact_str::CompactString;
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

/// What an invoice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// The month's charge lines (rent, maintenance charge, ...), from the monthly run.
    Monthly,
    /// The last month of a contract that ends within it, prorated to its last day.
    Final,
    /// Explicit lines outside the monthly run: keys, damage, a sauna fee.
    Separate,
    /// The security deposit (vakuus) of a lease.
    SecurityDeposit,
}

/// What one invoice line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceLineKind {
    Rent,
    MaintenanceCharge,
    FinancingCharge,
    WaterAdvance,
    Parking,
    Sauna,
    Key,
    Damage,
    SecurityDeposit,
    Other,
}

impl From<ChargeKind> for InvoiceLineKind {
    fn from(kind: ChargeKind) -> Self {
        match kind {
            ChargeKind::Rent => InvoiceLineKind::Rent,
            ChargeKind::MaintenanceCharge => InvoiceLineKind::MaintenanceCharge,
            ChargeKind::FinancingCharge => InvoiceLineKind::FinancingCharge,
            ChargeKind::WaterAdvance => InvoiceLineKind::WaterAdvance,
            ChargeKind::Parking => InvoiceLineKind::Parking,
            ChargeKind::Sauna => InvoiceLineKind::Sauna,
            ChargeKind::Other => InvoiceLineKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceLine {
    pub kind: InvoiceLineKind,
    // Held inline when short ("Vuokra 5/2026"): a five-year ledger keeps millions of these.
    #[schemars(with = "String")]
    pub description: CompactString,
    /// The charge line billed, for lines of the monthly run.
    pub charge_line_id: Option<Uuid>,
    /// VAT included, in cents.
    pub amount_cents: i64,
    pub vat_rate_bp: u32,
    /// The VAT part of `amount_cents`, rounded half up to a cent.
    pub vat_cents: i64,
}

/// An invoice was issued on a contract. Its reference numbers name it to the bank; the
/// prepayment it consumed at once is part of the decision and recorded here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceIssued {
    pub contract_id: Uuid,
    pub invoice_id: Uuid,
    /// From the organisation's `LA` series, e.g. `LA-2026-000042`.
    pub invoice_number: String,
    pub kind: InvoiceKind,
    /// The month invoiced (`2026-04`), for monthly and final invoices.
    pub period: Option<String>,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    /// Finnish national reference (viitenumero), digits only, check digit last.
    pub reference: String,
    /// The same reference as an ISO 11649 creditor reference, `RF` and two check digits first.
    pub rf_reference: String,
    /// The account to pay to.
    pub iban: String,
    pub lines: Vec<InvoiceLine>,
    pub total_cents: i64,
    pub vat_cents: i64,
    /// Prepayment (credit) on the contract that settled part of this invoice when it was issued.
    pub prepayment_applied_cents: i64,
}

/// How a payment reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentSource {
    /// Recorded by the office by hand.
    Manual,
    /// A reference payment from a bank statement (camt.054), matched by its reference.
    BankStatement,
    /// Allocated by the office from the unmatched payments queue.
    UnmatchedQueue,
}

/// The part of a payment that settled one invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentAllocation {
    pub invoice_id: Uuid,
    pub amount_cents: i64,
}

/// Money for a contract arrived. It settles the open invoices oldest due date first; what is
/// left is a prepayment that later invoices consume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentReceived {
    pub contract_id: Uuid,
    pub payment_id: Uuid,
    pub source: PaymentSource,
    /// The bank's id of the payment (AcctSvcrRef), which makes an import idempotent.
    pub external_id: Option<String>,
    pub amount_cents: i64,
    /// The day the money was booked on the account.
    pub booked_on: NaiveDate,
    /// The reference the payer gave, as given.
    pub reference: Option<String>,
    pub payer_name: Option<String>,
    pub allocations: Vec<PaymentAllocation>,
    pub prepayment_cents: i64,
}

/// Why a payment could not be matched to a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedReason {
    NoReference,
    /// The reference's check digits are wrong.
    ReferenceInvalid,
    /// A well-formed reference that names no invoice of the organisation.
    ReferenceUnknown,
}

/// A payment from a bank statement that names no contract waits for the office, in the
/// organisation's `payments-<organisation id>` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmatchedPaymentReceived {
    pub payment_id: Uuid,
    pub external_id: Option<String>,
    pub amount_cents: i64,
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub payer_name: Option<String>,
    pub reason: UnmatchedReason,
}

/// The office allocated a waiting payment to a contract; the contract's ledger records it as a
/// `PaymentReceived` with the same payment id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmatchedPaymentAllocated {
    pub payment_id: Uuid,
    pub contract_id: Uuid,
}
