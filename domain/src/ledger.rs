//! The ledger (reskontra) of one contract: its charge lines, the invoices issued from them or
//! by hand, and the payments that settle them. Folded from `ledger-<contract id>`.
//!
//! Rules kept here:
//! - Charge lines: rent goes on a lease; maintenance and financing charges on a shareholding;
//!   water, parking, sauna and other charges on either. A line is charged for whole months, from
//!   the month it starts to the month it ends.
//! - The monthly run invoices a contract at most once per month (the invoice's id is derived
//!   from contract and month, and a month already invoiced gives nothing), charging every line
//!   active that month, whoever added it. A month the contract is active for only some days is
//!   prorated by days (half up to a cent); the month a contract ends in gives its final invoice.
//!   Due the 5th of the month, or 14 days after issuing if that is later.
//! - Payments settle open invoices oldest due date first; what is left is a prepayment, which
//!   the next invoices consume as they are issued. The allocation is decided when the money or
//!   the invoice arrives and recorded in that event, so the log says what settled what.
//! - The office (property manager, customer service of the property) changes a ledger; the
//!   contract's holder, that office and auditors read it.

use chrono::{Duration, NaiveDate};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::ledger::*;
use talo_events_schema::register::{ContractKind, StaffRole, StaffScope};
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::access::Principal;
use crate::account::Account;
use crate::decision::{Context, Decision};
use crate::money::{MAX_AMOUNT_CENTS, Month, check_amount, check_vat_rate, prorate, vat_part};
use crate::reference::{Iban, national_reference, rf_reference};
use crate::register::{Contract, Register};
use crate::rejection::{Rejection, require_text};

/// The invoice number series (lasku): `LA-2026-000042`.
pub const INVOICE_PREFIX: &str = "LA";

/// The staff roles that keep ledgers: the property manager and customer service.
pub const LEDGER_ROLES: [StaffRole; 2] = [StaffRole::PropertyManager, StaffRole::CustomerService];

/// The day of the month a monthly invoice falls due.
pub const MONTHLY_DUE_DAY: u32 = 5;

/// Days from issuing to the due date at the least (and for separate invoices by default).
pub const PAYMENT_TERM_DAYS: i64 = 14;

/// How many months ahead of the current one may be invoiced.
pub const MONTHS_AHEAD: i32 = 2;

/// Lines on one separate invoice at most.
pub const MAX_LINES: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeLine {
    pub charge_line_id: Uuid,
    pub kind: ChargeKind,
    pub description: String,
    pub monthly_amount_cents: i64,
    pub vat_rate_bp: u32,
    #[serde(with = "crate::day_number")]
    pub starts_on: NaiveDate,
    #[serde(with = "crate::day_number::option")]
    pub ends_on: Option<NaiveDate>,
    pub booking_id: Option<Uuid>,
}

impl ChargeLine {
    /// Whether the line is charged for `month`: from the month it starts to the month it ends.
    pub fn charges(&self, month: Month) -> bool {
        Month::of(self.starts_on) <= month && self.ends_on.is_none_or(|end| month <= Month::of(end))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub invoice_id: Uuid,
    pub invoice_number: CompactString,
    pub kind: InvoiceKind,
    pub period: Option<CompactString>,
    #[serde(with = "crate::day_number")]
    pub issued_on: NaiveDate,
    #[serde(with = "crate::day_number")]
    pub due_on: NaiveDate,
    pub reference: CompactString,
    pub rf_reference: CompactString,
    pub iban: CompactString,
    pub lines: Vec<InvoiceLine>,
    pub total_cents: i64,
    pub vat_cents: i64,
    /// Settled so far, by payments and by prepayment.
    pub paid_cents: i64,
    /// The day the last cent arrived, once paid.
    #[serde(with = "crate::day_number::option")]
    pub paid_on: Option<NaiveDate>,
}

impl Invoice {
    pub fn open_cents(&self) -> i64 {
        self.total_cents - self.paid_cents
    }

    pub fn is_open(&self) -> bool {
        self.open_cents() > 0
    }

    /// Days past its due date on `today` (zero or less: not overdue).
    pub fn days_past_due(&self, today: NaiveDate) -> i64 {
        (today - self.due_on).num_days()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: Uuid,
    pub source: PaymentSource,
    pub external_id: Option<CompactString>,
    pub amount_cents: i64,
    #[serde(with = "crate::day_number")]
    pub booked_on: NaiveDate,
    pub reference: Option<CompactString>,
    pub payer_name: Option<CompactString>,
    pub allocations: Vec<PaymentAllocation>,
    pub prepayment_cents: i64,
}

/// One contract's ledger as its stream says it is now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// In the order added.
    pub charge_lines: Vec<ChargeLine>,
    /// In the order issued.
    pub invoices: Vec<Invoice>,
    /// In the order received.
    pub payments: Vec<Payment>,
    /// The money of it all: what the ledger's standing and arrears are answered from.
    pub account: Account,
}

impl Ledger {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Ledger {
        let mut ledger = Ledger::default();
        for event in events {
            ledger.apply(event);
        }
        ledger
    }

    /// Folds one event of the contract's stream; other events are ignored.
    pub fn apply(&mut self, event: &DomainEvent) {
        self.account.apply(event);
        match event {
            DomainEvent::ChargeLineAdded(e) => self.charge_lines.push(ChargeLine {
                charge_line_id: e.charge_line_id,
                kind: e.kind,
                description: e.description.clone(),
                monthly_amount_cents: e.monthly_amount_cents,
                vat_rate_bp: e.vat_rate_bp,
                starts_on: e.starts_on,
                ends_on: None,
                booking_id: e.booking_id,
            }),
            DomainEvent::ChargeLineEnded(e) => {
                if let Some(line) = self.charge_line_mut(e.charge_line_id) {
                    line.ends_on = Some(e.ends_on);
                }
            }
            DomainEvent::InvoiceIssued(e) => {
                self.invoices.push(Invoice {
                    invoice_id: e.invoice_id,
                    invoice_number: e.invoice_number.as_str().into(),
                    kind: e.kind,
                    period: e.period.as_deref().map(CompactString::from),
                    issued_on: e.issued_on,
                    due_on: e.due_on,
                    reference: e.reference.as_str().into(),
                    rf_reference: e.rf_reference.as_str().into(),
                    iban: e.iban.as_str().into(),
                    lines: e.lines.clone(),
                    total_cents: e.total_cents,
                    vat_cents: e.vat_cents,
                    paid_cents: e.prepayment_applied_cents,
                    paid_on: (e.prepayment_applied_cents >= e.total_cents).then_some(e.issued_on),
                });
            }
            DomainEvent::PaymentReceived(e) => {
                for allocation in &e.allocations {
                    if let Some(invoice) = self
                        .invoices
                        .iter_mut()
                        .find(|i| i.invoice_id == allocation.invoice_id)
                    {
                        invoice.paid_cents += allocation.amount_cents;
                        if !invoice.is_open() {
                            invoice.paid_on = Some(e.booked_on);
                        }
                    }
                }
                self.payments.push(Payment {
                    payment_id: e.payment_id,
                    source: e.source,
                    external_id: e.external_id.as_deref().map(CompactString::from),
                    amount_cents: e.amount_cents,
                    booked_on: e.booked_on,
                    reference: e.reference.as_deref().map(CompactString::from),
                    payer_name: e.payer_name.as_deref().map(CompactString::from),
                    allocations: e.allocations.clone(),
                    prepayment_cents: e.prepayment_cents,
                });
            }
            _ => {}
        }
    }

    fn charge_line_mut(&mut self, id: Uuid) -> Option<&mut ChargeLine> {
        self.charge_lines
            .iter_mut()
            .find(|l| l.charge_line_id == id)
    }

    pub fn charge_line(&self, id: Uuid) -> Option<&ChargeLine> {
        self.charge_lines.iter().find(|l| l.charge_line_id == id)
    }

    pub fn invoice(&self, id: Uuid) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.invoice_id == id)
    }

    /// The invoice with this national reference.
    pub fn invoice_by_reference(&self, national: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.reference == national)
    }

    pub fn has_payment(&self, payment_id: Uuid) -> bool {
        self.payments.iter().any(|p| p.payment_id == payment_id)
    }

    /// Whether `month` has been invoiced (monthly or final).
    pub fn invoiced(&self, month: Month) -> bool {
        let period = month.to_string();
        self.invoices
            .iter()
            .any(|i| i.period.as_deref() == Some(period.as_str()))
    }

    /// How `amount_cents` settles the open invoices, oldest due first
    /// ([`Account::open_invoices`]), and what is left over as prepayment.
    pub fn allocate(&self, amount_cents: i64) -> (Vec<PaymentAllocation>, i64) {
        let mut left = amount_cents;
        let mut allocations = Vec::new();
        for invoice in self.account.open_invoices() {
            if left == 0 {
                break;
            }
            let part = left.min(invoice.open_cents());
            allocations.push(PaymentAllocation {
                invoice_id: invoice.invoice_id,
                amount_cents: part,
            });
            left -= part;
        }
        (allocations, left)
    }

    /// Overdue money on `day` by how long it had been overdue ([`Account::ageing_on`]).
    pub fn ageing_on(&self, day: NaiveDate) -> Ageing {
        self.account.ageing_on(day)
    }

    /// Where the contract stands on `today` ([`Account::standing`]).
    pub fn standing(&self, today: NaiveDate) -> Standing {
        self.account.standing(today)
    }
}

/// A contract's money position on a day. `balance_cents` is what the holder owes (negative:
/// paid in advance); it equals `overdue + due_later - prepayment`, since money always settles
/// open invoices before it becomes a prepayment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub invoiced_cents: i64,
    pub received_cents: i64,
    pub balance_cents: i64,
    /// Open on invoices past their due date: arrears.
    pub overdue_cents: i64,
    /// Open on invoices not yet due.
    pub due_later_cents: i64,
    pub prepayment_cents: i64,
    pub ageing: Ageing,
}

impl Standing {
    pub fn status(&self) -> StandingStatus {
        if self.overdue_cents > 0 {
            StandingStatus::Arrears
        } else if self.prepayment_cents > 0 {
            StandingStatus::Prepaid
        } else if self.due_later_cents > 0 {
            StandingStatus::Due
        } else {
            StandingStatus::Settled
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StandingStatus {
    /// Something is past due.
    Arrears,
    /// Invoices are open but none is past due.
    Due,
    /// Everything is paid.
    Settled,
    /// Everything is paid and money is left over for later invoices.
    Prepaid,
}

/// Overdue money by how long it has been overdue: 1-30, 31-60, 61-90 and over 90 days past the
/// due date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ageing {
    pub days_0_30_cents: i64,
    pub days_31_60_cents: i64,
    pub days_61_90_cents: i64,
    pub over_90_cents: i64,
}

impl Ageing {
    /// Adds `cents` overdue by `days_past_due` (at least one) to its bucket.
    pub fn add(&mut self, days_past_due: i64, cents: i64) {
        let bucket = match days_past_due {
            ..=30 => &mut self.days_0_30_cents,
            31..=60 => &mut self.days_31_60_cents,
            61..=90 => &mut self.days_61_90_cents,
            _ => &mut self.over_90_cents,
        };
        *bucket += cents;
    }

    pub fn plus(self, other: Ageing) -> Ageing {
        Ageing {
            days_0_30_cents: self.days_0_30_cents + other.days_0_30_cents,
            days_31_60_cents: self.days_31_60_cents + other.days_31_60_cents,
            days_61_90_cents: self.days_61_90_cents + other.days_61_90_cents,
            over_90_cents: self.over_90_cents + other.over_90_cents,
        }
    }

    pub fn total(&self) -> i64 {
        self.days_0_30_cents + self.days_31_60_cents + self.days_61_90_cents + self.over_90_cents
    }
}

/// How a person may read a contract's ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerReader {
    /// The person the contract is with, also after it ended (their final invoice).
    Holder(ActorRole),
    /// The property's property manager or customer service.
    Office(ActorRole),
    Auditor,
}

/// Whether and how `principal` reads the ledger of `contract`, on property `property_id`.
pub fn reader(
    principal: &Principal,
    contract: &Contract,
    property_id: Uuid,
) -> Option<LedgerReader> {
    if let Some(role) = principal.staff_role_for(property_id, &LEDGER_ROLES) {
        return Some(LedgerReader::Office(role));
    }
    if contract.person_id == principal.person_id {
        return Some(LedgerReader::Holder(match contract.kind {
            ContractKind::Lease => ActorRole::Resident,
            ContractKind::Shareholding => ActorRole::Shareholder,
        }));
    }
    principal.is_auditor().then_some(LedgerReader::Auditor)
}

/// Whose ledgers, beyond those of their own contracts, a person may read: where a search for
/// an invoice by its id may look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OthersLedgers {
    /// No one's: a resident, a shareholder, a technical manager or a contractor looks only in
    /// their own contracts.
    None,
    /// The contracts on these properties: a keeper of some properties' ledgers.
    Properties(Vec<Uuid>),
    /// Every contract of the organisation: an auditor, or a keeper for the whole organisation.
    Organisation,
}

/// Where `principal` may read ledgers of contracts that are not their own (as [`reader`]
/// decides contract by contract).
pub fn others_ledgers(principal: &Principal) -> OthersLedgers {
    let keeps = || {
        principal
            .staff
            .iter()
            .filter(|grant| LEDGER_ROLES.contains(&grant.role))
    };
    if principal.is_auditor() || keeps().any(|grant| grant.scope == StaffScope::Organisation) {
        return OthersLedgers::Organisation;
    }
    let mut properties: Vec<Uuid> = keeps()
        .filter_map(|grant| match grant.scope {
            StaffScope::Property { property_id } => Some(property_id),
            StaffScope::Organisation => None,
        })
        .collect();
    properties.sort_unstable();
    properties.dedup();
    if properties.is_empty() {
        OthersLedgers::None
    } else {
        OthersLedgers::Properties(properties)
    }
}

/// The one answer for a contract that does not exist or whose ledger is not the caller's.
pub fn contract_not_found() -> Rejection {
    Rejection::not_found(
        "contract_id",
        "ledger.contract_unknown",
        "no such contract, or not yours to see",
    )
}

/// The contract and its property, or the not-found answer.
pub fn contract_of(register: &Register, contract_id: Uuid) -> Result<(&Contract, Uuid), Rejection> {
    let contract = register
        .contracts
        .get(&contract_id)
        .ok_or_else(contract_not_found)?;
    let property_id = register
        .apartments
        .get(&contract.apartment_id)
        .map(|a| a.property_id)
        .ok_or_else(contract_not_found)?;
    Ok((contract, property_id))
}

/// The role under which `principal` keeps the ledgers of `property_id`.
pub fn keeper_role(principal: &Principal, property_id: Uuid) -> Result<ActorRole, Rejection> {
    principal.refuse_auditor()?;
    principal
        .staff_role_for(property_id, &LEDGER_ROLES)
        .ok_or_else(|| {
            Rejection::forbidden(
                "ledger.keeper_only",
                "only the property's manager or customer service keep its ledgers",
            )
        })
}

/// Checks who may see the contract and keep its ledger: someone who may not see it is told it
/// does not exist; someone who sees it but may not change it is refused.
pub fn keeper_of(ctx: &Context<'_>, contract_id: Uuid) -> Result<(Contract, ActorRole), Rejection> {
    let (contract, property_id) = contract_of(ctx.register, contract_id)?;
    let office = ctx.principal.office_role_for(property_id).is_some();
    if !office && reader(ctx.principal, contract, property_id).is_none() {
        return Err(contract_not_found());
    }
    let role = keeper_role(ctx.principal, property_id)?;
    Ok((contract.clone(), role))
}

fn today(ctx: &Context<'_>) -> NaiveDate {
    crate::calendar::local_date(ctx.occurred_at)
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddChargeLine {
    pub contract_id: Uuid,
    pub charge_line_id: Uuid,
    pub kind: ChargeKind,
    pub description: String,
    pub monthly_amount_cents: i64,
    pub vat_rate_bp: u32,
    pub starts_on: NaiveDate,
}

/// The office adds a monthly charge to a contract.
pub fn add_charge_line(
    ledger: &Ledger,
    command: AddChargeLine,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let (contract, role) = keeper_of(ctx, command.contract_id)?;
    if ledger.charge_line(command.charge_line_id).is_some() {
        return Ok(Decision {
            events: vec![],
            role,
        });
    }
    let fits = match command.kind {
        ChargeKind::Rent => contract.kind == ContractKind::Lease,
        ChargeKind::MaintenanceCharge | ChargeKind::FinancingCharge => {
            contract.kind == ContractKind::Shareholding
        }
        _ => true,
    };
    if !fits {
        return Err(Rejection::invalid(
            "kind",
            "ledger.charge_kind_contract",
            "rent goes on a lease; maintenance and financing charges on a shareholding",
        ));
    }
    require_text("description", &command.description, 200)?;
    check_amount("monthly_amount_cents", command.monthly_amount_cents)?;
    check_vat_rate("vat_rate_bp", command.vat_rate_bp)?;
    if command.starts_on < contract.starts_on
        || contract.ends_on.is_some_and(|end| command.starts_on > end)
    {
        return Err(Rejection::invalid(
            "starts_on",
            "ledger.charge_outside_contract",
            "must be within the contract's dates",
        ));
    }
    Ok(Decision {
        events: vec![
            ChargeLineAdded {
                contract_id: command.contract_id,
                charge_line_id: command.charge_line_id,
                kind: command.kind,
                description: command.description.trim().to_owned(),
                monthly_amount_cents: command.monthly_amount_cents,
                vat_rate_bp: command.vat_rate_bp,
                starts_on: command.starts_on,
                booking_id: None,
            }
            .into(),
        ],
        role,
    })
}

/// The office ends a charge: `ends_on`'s month is the last one charged.
pub fn end_charge_line(
    ledger: &Ledger,
    contract_id: Uuid,
    charge_line_id: Uuid,
    ends_on: NaiveDate,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let (_, role) = keeper_of(ctx, contract_id)?;
    let line = ledger.charge_line(charge_line_id).ok_or_else(|| {
        Rejection::not_found(
            "charge_line_id",
            "ledger.charge_line_unknown",
            "the contract has no such charge line",
        )
    })?;
    if line.ends_on.is_some() {
        return Err(Rejection::transition(
            "ledger.charge_line_ended",
            "the charge line has already ended",
        ));
    }
    if ends_on < line.starts_on {
        return Err(Rejection::invalid(
            "ends_on",
            "ledger.charge_line_dates",
            "must not be before the charge line starts",
        ));
    }
    Ok(Decision {
        events: vec![
            ChargeLineEnded {
                contract_id,
                charge_line_id,
                ends_on,
            }
            .into(),
        ],
        role,
    })
}

/// Namespace of the ids of monthly invoices, derived from contract and month.
const MONTHLY_INVOICES: Uuid = Uuid::from_u128(0x3c4e_51d0_7a2b_4c11_8f1e_1ed9_e700_0001);

/// The id of a contract's invoice for a month: the same on every run, so a second run finds
/// the first one's invoice.
pub fn monthly_invoice_id(contract_id: Uuid, month: Month) -> Uuid {
    Uuid::new_v5(
        &MONTHLY_INVOICES,
        format!("{contract_id}/{month}").as_bytes(),
    )
}

/// An invoice before it has a number.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceDraft {
    pub contract_id: Uuid,
    pub invoice_id: Uuid,
    pub kind: InvoiceKind,
    pub period: Option<Month>,
    pub due_on: NaiveDate,
    pub lines: Vec<InvoiceLine>,
    pub role: ActorRole,
}

/// Checks that the month may be invoiced now: not more than [`MONTHS_AHEAD`] ahead.
pub fn check_month(month: Month, today: NaiveDate) -> Result<(), Rejection> {
    if Month::of(today).months_until(month) > MONTHS_AHEAD {
        return Err(Rejection::invalid(
            "month",
            "ledger.month_too_far_ahead",
            format!("may be at most {MONTHS_AHEAD} months after the current one"),
        ));
    }
    Ok(())
}

/// What the monthly run finds for one contract and month.
#[derive(Debug, Clone, PartialEq)]
pub enum MonthlyInvoicing {
    /// An invoice to number and issue.
    Draft(InvoiceDraft),
    /// The month is already invoiced: this invoice.
    AlreadyInvoiced(Uuid),
    /// The contract is not active in the month, or no charge line is.
    NothingToInvoice,
}

impl MonthlyInvoicing {
    pub fn draft(self) -> Option<InvoiceDraft> {
        match self {
            MonthlyInvoicing::Draft(d) => Some(d),
            _ => None,
        }
    }
}

/// The contracts a monthly run covers: those active on some day of `month` on `property_id`,
/// or on every property the principal keeps ledgers for.
pub fn invoicing_scope(
    principal: &Principal,
    register: &Register,
    property_id: Option<Uuid>,
    month: Month,
) -> Result<Vec<Uuid>, Rejection> {
    let properties: Vec<Uuid> = match property_id {
        Some(id) => {
            if !register.properties.contains_key(&id) {
                return Err(Rejection::not_found(
                    "property_id",
                    "ledger.property_unknown",
                    "no such property in the organisation",
                ));
            }
            keeper_role(principal, id)?;
            vec![id]
        }
        None => {
            principal.refuse_auditor()?;
            let kept: Vec<Uuid> = register
                .properties
                .keys()
                .copied()
                .filter(|p| keeper_role(principal, *p).is_ok())
                .collect();
            if kept.is_empty() {
                return Err(Rejection::forbidden(
                    "ledger.keeper_only",
                    "only property managers and customer service run invoicing",
                ));
            }
            kept
        }
    };
    Ok(register
        .contracts
        .values()
        .filter(|c| {
            c.starts_on <= month.last_day() && c.ends_on.is_none_or(|end| end >= month.first_day())
        })
        .filter(|c| {
            register
                .apartments
                .get(&c.apartment_id)
                .is_some_and(|a| properties.contains(&a.property_id))
        })
        .map(|c| c.contract_id)
        .collect())
}

/// The contract's invoice for `month`, unless the month is already invoiced or there is
/// nothing to invoice.
pub fn draft_monthly(
    ledger: &Ledger,
    contract_id: Uuid,
    month: Month,
    ctx: &Context<'_>,
) -> Result<MonthlyInvoicing, Rejection> {
    let (contract, role) = keeper_of(ctx, contract_id)?;
    let today = today(ctx);
    check_month(month, today)?;
    if let Some(existing) = ledger
        .invoices
        .iter()
        .find(|i| i.period.as_deref() == Some(month.to_string().as_str()))
    {
        return Ok(MonthlyInvoicing::AlreadyInvoiced(existing.invoice_id));
    }
    let from = contract.starts_on.max(month.first_day());
    let to = contract
        .ends_on
        .map_or(month.last_day(), |end| end.min(month.last_day()));
    if to < from {
        return Ok(MonthlyInvoicing::NothingToInvoice);
    }
    let days = (to - from).num_days() as u32 + 1;
    let whole = days == month.days();
    let label = format!("{}/{}", month.month, month.year);
    let lines: Vec<InvoiceLine> = ledger
        .charge_lines
        .iter()
        .filter(|l| l.charges(month))
        .map(|l| {
            let amount_cents = prorate(l.monthly_amount_cents, days, month.days());
            let description = if whole {
                format!("{} {label}", l.description)
            } else {
                format!("{} {label} ({days}/{} pv)", l.description, month.days())
            };
            InvoiceLine {
                kind: l.kind.into(),
                description: description.into(),
                charge_line_id: Some(l.charge_line_id),
                amount_cents,
                vat_rate_bp: l.vat_rate_bp,
                vat_cents: vat_part(amount_cents, l.vat_rate_bp),
            }
        })
        .filter(|l| l.amount_cents > 0)
        .collect();
    if lines.is_empty() {
        return Ok(MonthlyInvoicing::NothingToInvoice);
    }
    let ends_this_month = contract.ends_on.is_some_and(|end| Month::of(end) == month);
    Ok(MonthlyInvoicing::Draft(InvoiceDraft {
        contract_id,
        invoice_id: monthly_invoice_id(contract_id, month),
        kind: if ends_this_month {
            InvoiceKind::Final
        } else {
            InvoiceKind::Monthly
        },
        period: Some(month),
        due_on: month
            .day(MONTHLY_DUE_DAY)
            .max(today + Duration::days(PAYMENT_TERM_DAYS)),
        lines,
        role,
    }))
}

/// One line of a separate invoice, as the office writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparateLine {
    pub kind: InvoiceLineKind,
    pub description: String,
    pub amount_cents: i64,
    pub vat_rate_bp: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeparateInvoice {
    pub contract_id: Uuid,
    pub invoice_id: Uuid,
    pub lines: Vec<SeparateLine>,
    /// Defaults to [`PAYMENT_TERM_DAYS`] after today.
    pub due_on: Option<NaiveDate>,
}

fn check_due_on(due_on: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, Rejection> {
    match due_on {
        Some(d) if d < today => Err(Rejection::invalid(
            "due_on",
            "ledger.due_in_past",
            "must not be before today",
        )),
        Some(d) => Ok(d),
        None => Ok(today + Duration::days(PAYMENT_TERM_DAYS)),
    }
}

/// A separate invoice (keys, damage, a sauna fee) with explicit lines. Also after the contract
/// ended: damage is often found at the move-out inspection.
pub fn draft_separate(
    command: SeparateInvoice,
    ctx: &Context<'_>,
) -> Result<InvoiceDraft, Rejection> {
    let (_, role) = keeper_of(ctx, command.contract_id)?;
    if command.lines.is_empty() || command.lines.len() > MAX_LINES {
        return Err(Rejection::invalid(
            "lines",
            "ledger.lines_count",
            format!("give from 1 to {MAX_LINES} lines"),
        ));
    }
    let mut lines = Vec::new();
    for line in command.lines {
        require_text("description", &line.description, 200)?;
        check_amount("amount_cents", line.amount_cents)?;
        check_vat_rate("vat_rate_bp", line.vat_rate_bp)?;
        lines.push(InvoiceLine {
            kind: line.kind,
            description: line.description.trim().into(),
            charge_line_id: None,
            amount_cents: line.amount_cents,
            vat_rate_bp: line.vat_rate_bp,
            vat_cents: vat_part(line.amount_cents, line.vat_rate_bp),
        });
    }
    let total: i64 = lines.iter().map(|l| l.amount_cents).sum();
    check_amount("lines", total)?;
    Ok(InvoiceDraft {
        contract_id: command.contract_id,
        invoice_id: command.invoice_id,
        kind: InvoiceKind::Separate,
        period: None,
        due_on: check_due_on(command.due_on, today(ctx))?,
        lines,
        role,
    })
}

/// The security deposit of a lease, invoiced once.
pub fn draft_security_deposit(
    ledger: &Ledger,
    contract_id: Uuid,
    invoice_id: Uuid,
    amount_cents: i64,
    due_on: Option<NaiveDate>,
    ctx: &Context<'_>,
) -> Result<InvoiceDraft, Rejection> {
    let (contract, role) = keeper_of(ctx, contract_id)?;
    if contract.kind != ContractKind::Lease {
        return Err(Rejection::invalid(
            "contract_id",
            "ledger.deposit_needs_lease",
            "a security deposit is invoiced on a lease",
        ));
    }
    if ledger
        .invoices
        .iter()
        .any(|i| i.kind == InvoiceKind::SecurityDeposit && i.invoice_id != invoice_id)
    {
        return Err(Rejection::transition(
            "ledger.deposit_already_invoiced",
            "the contract's security deposit has already been invoiced",
        ));
    }
    check_amount("amount_cents", amount_cents)?;
    Ok(InvoiceDraft {
        contract_id,
        invoice_id,
        kind: InvoiceKind::SecurityDeposit,
        period: None,
        due_on: check_due_on(due_on, today(ctx))?,
        lines: vec![InvoiceLine {
            kind: InvoiceLineKind::SecurityDeposit,
            description: "Vakuusmaksu".into(),
            charge_line_id: None,
            amount_cents,
            vat_rate_bp: 0,
            vat_cents: 0,
        }],
        role,
    })
}

/// The national reference of an invoice number: year and number (`LA-2026-000042` gives base
/// `2026000042`, reference `20260000427`... with its check digit), unique within the
/// organisation's series.
pub fn invoice_reference(number: &TicketNumberIssued) -> String {
    let base =
        u64::try_from(number.year).unwrap_or_default() * 1_000_000 + u64::from(number.number);
    national_reference(base)
}

/// Issues a drafted invoice with its number: references from the number, totals from the
/// lines, and the prepayment on the contract applied at once. Nothing if the invoice exists.
pub fn issue(
    ledger: &Ledger,
    draft: InvoiceDraft,
    number: &TicketNumberIssued,
    iban: &Iban,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    if ledger.invoice(draft.invoice_id).is_some()
        || draft.period.is_some_and(|m| ledger.invoiced(m))
    {
        return Ok(Decision {
            events: vec![],
            role: draft.role,
        });
    }
    let total_cents: i64 = draft.lines.iter().map(|l| l.amount_cents).sum();
    if total_cents > MAX_AMOUNT_CENTS {
        return Err(Rejection::invalid(
            "lines",
            "ledger.amount_too_large",
            format!("the invoice's total must be at most {MAX_AMOUNT_CENTS} cents"),
        ));
    }
    let reference = invoice_reference(number);
    Ok(Decision {
        events: vec![
            InvoiceIssued {
                contract_id: draft.contract_id,
                invoice_id: draft.invoice_id,
                invoice_number: number.ticket.clone(),
                kind: draft.kind,
                period: draft.period.map(|m| m.to_string()),
                issued_on: today(ctx),
                due_on: draft.due_on,
                rf_reference: rf_reference(&reference),
                reference,
                iban: iban.as_str().to_owned(),
                vat_cents: draft.lines.iter().map(|l| l.vat_cents).sum(),
                lines: draft.lines,
                total_cents,
                prepayment_applied_cents: ledger.account.prepayment_cents.clamp(0, total_cents),
            }
            .into(),
        ],
        role: draft.role,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReceivePayment {
    pub contract_id: Uuid,
    pub payment_id: Uuid,
    pub source: PaymentSource,
    pub external_id: Option<String>,
    pub amount_cents: i64,
    pub booked_on: NaiveDate,
    /// The national reference the payment was matched by, for bank payments.
    pub matched_reference: Option<String>,
    /// The reference as the payer wrote it.
    pub reference: Option<String>,
    pub payer_name: Option<String>,
}

/// Money for a contract: settles its open invoices oldest due first, the rest is prepayment.
/// Nothing if the payment is already in the ledger (an import run again).
pub fn receive_payment(
    ledger: &Ledger,
    command: ReceivePayment,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let (_, role) = keeper_of(ctx, command.contract_id)?;
    if ledger.has_payment(command.payment_id) {
        return Ok(Decision {
            events: vec![],
            role,
        });
    }
    check_amount("amount_cents", command.amount_cents)?;
    if command.booked_on > today(ctx) {
        return Err(Rejection::invalid(
            "paid_on",
            "ledger.payment_in_future",
            "must not be after today",
        ));
    }
    if let Some(national) = &command.matched_reference
        && ledger.invoice_by_reference(national).is_none()
    {
        return Err(Rejection::invalid(
            "reference",
            "ledger.reference_other_contract",
            "the reference names no invoice of this contract",
        ));
    }
    if let Some(name) = &command.payer_name
        && name.chars().count() > 200
    {
        return Err(Rejection::invalid(
            "payer_name",
            "text.too_long",
            "must be at most 200 characters",
        ));
    }
    let (allocations, prepayment_cents) = ledger.allocate(command.amount_cents);
    Ok(Decision {
        events: vec![
            PaymentReceived {
                contract_id: command.contract_id,
                payment_id: command.payment_id,
                source: command.source,
                external_id: command.external_id,
                amount_cents: command.amount_cents,
                booked_on: command.booked_on,
                reference: command.reference,
                payer_name: command.payer_name,
                allocations,
                prepayment_cents,
            }
            .into(),
        ],
        role,
    })
}
