//! Own finances (oma talous) and the ledger in GraphQL: a contract's standing (arrears or
//! prepayment), charge lines, invoices with their references and virtual barcodes, payments
//! by date range; the office's arrears list with ageing and the unmatched payments queue; and
//! the office's mutations: charge lines, the monthly run, separate and deposit invoices,
//! payments and their allocation. Bank statements come in over HTTP (`ledger_http.rs`).

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result, SelectionField, SimpleObject};
use chrono::NaiveDate;
use talo_domain::access::Principal;
use talo_domain::account::{Account, InvoiceMoney};
use talo_domain::calendar::local_date;
use talo_domain::ledger::{
    self, AddChargeLine, Ageing, Invoice, Ledger, LedgerReader, OthersLedgers, ReceivePayment,
    SeparateInvoice, SeparateLine, Standing,
};
use talo_domain::money::Month;
use talo_domain::payment_queue;
use talo_domain::reference::{Iban, Reference, group_national, group_rf, virtual_barcode};
use talo_domain::register::{Contract, Register};
use talo_events_schema::envelope::Channel;
use talo_events_schema::ledger::{ChargeKind, InvoiceLineKind, PaymentSource};
use uuid::Uuid;

use super::enums::ContractKindGql;
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};
use crate::ledger::Issued;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ChargeKind", remote = "talo_events_schema::ledger::ChargeKind")]
pub enum ChargeKindGql {
    Rent,
    MaintenanceCharge,
    FinancingCharge,
    WaterAdvance,
    Parking,
    Sauna,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "InvoiceKind",
    remote = "talo_events_schema::ledger::InvoiceKind"
)]
pub enum InvoiceKindGql {
    Monthly,
    Final,
    Separate,
    SecurityDeposit,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "InvoiceLineKind",
    remote = "talo_events_schema::ledger::InvoiceLineKind"
)]
pub enum InvoiceLineKindGql {
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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "PaymentSource",
    remote = "talo_events_schema::ledger::PaymentSource"
)]
pub enum PaymentSourceGql {
    Manual,
    BankStatement,
    UnmatchedQueue,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "UnmatchedReason",
    remote = "talo_events_schema::ledger::UnmatchedReason"
)]
pub enum UnmatchedReasonGql {
    NoReference,
    ReferenceInvalid,
    ReferenceUnknown,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "StandingStatus",
    remote = "talo_domain::ledger::StandingStatus"
)]
pub enum StandingStatusGql {
    Arrears,
    Due,
    Settled,
    Prepaid,
}

/// Where an invoice stands today.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvoiceStatus {
    /// Open, not yet due.
    Open,
    /// Open and past its due date.
    Overdue,
    Paid,
}

/// Which invoices to list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvoiceFilter {
    All,
    /// Open and overdue.
    Unpaid,
    Paid,
}

/// Overdue money by days past the due date.
#[derive(SimpleObject)]
pub struct AgeingView {
    days_0_to_30_cents: i64,
    days_31_to_60_cents: i64,
    days_61_to_90_cents: i64,
    over_90_cents: i64,
    total_cents: i64,
}

impl From<Ageing> for AgeingView {
    fn from(a: Ageing) -> Self {
        AgeingView {
            days_0_to_30_cents: a.days_0_30_cents,
            days_31_to_60_cents: a.days_31_60_cents,
            days_61_to_90_cents: a.days_61_90_cents,
            over_90_cents: a.over_90_cents,
            total_cents: a.total(),
        }
    }
}

/// A contract's money position today. `balanceCents` is what is owed (negative: paid in
/// advance) and equals `overdueCents + dueLaterCents - prepaymentCents`.
#[derive(SimpleObject)]
pub struct StandingView {
    as_of: NaiveDate,
    status: StandingStatusGql,
    balance_cents: i64,
    /// Arrears: open on invoices past their due date.
    overdue_cents: i64,
    due_later_cents: i64,
    prepayment_cents: i64,
    invoiced_cents: i64,
    received_cents: i64,
    ageing: AgeingView,
}

impl StandingView {
    fn new(s: Standing, as_of: NaiveDate) -> Self {
        StandingView {
            as_of,
            status: s.status().into(),
            balance_cents: s.balance_cents,
            overdue_cents: s.overdue_cents,
            due_later_cents: s.due_later_cents,
            prepayment_cents: s.prepayment_cents,
            invoiced_cents: s.invoiced_cents,
            received_cents: s.received_cents,
            ageing: s.ageing.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ChargeLineView {
    id: Uuid,
    kind: ChargeKindGql,
    description: String,
    monthly_amount_cents: i64,
    vat_rate_bp: u32,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    /// The booking that added it (parking, sauna).
    booking_id: Option<Uuid>,
    /// Charged for the current month.
    active: bool,
}

#[derive(SimpleObject)]
pub struct InvoiceLineView {
    kind: InvoiceLineKindGql,
    description: String,
    charge_line_id: Option<Uuid>,
    amount_cents: i64,
    vat_rate_bp: u32,
    vat_cents: i64,
}

/// The part of a payment that settled an invoice.
#[derive(SimpleObject)]
pub struct InvoicePaymentView {
    payment_id: Uuid,
    booked_on: NaiveDate,
    amount_cents: i64,
}

/// What a ledger is answered from.
#[derive(Clone)]
enum LedgerSource {
    /// The contract's account in the ledgers read model: the standing and every invoice's
    /// number, dates and money, without reading the contract's stream. Enough for a portal's
    /// list of invoices and for an office going through contract after contract.
    Account(Arc<Account>),
    /// The documents folded from the contract's stream (its account among them): charge
    /// lines, payments, and each invoice's lines, references and barcodes.
    Documents(Arc<Ledger>),
}

impl LedgerSource {
    fn account(&self) -> &Account {
        match self {
            LedgerSource::Account(account) => account,
            LedgerSource::Documents(ledger) => &ledger.account,
        }
    }

    /// The documents, which a ledger answered from its account does not have: which fields
    /// need them is decided before the ledger is read ([`needs_documents`]).
    fn documents(&self) -> Result<&Ledger, ApiError> {
        match self {
            LedgerSource::Documents(ledger) => Ok(ledger),
            LedgerSource::Account(_) => Err(ApiError::Internal(
                "a ledger read from its account was asked for its documents".into(),
            )),
        }
    }
}

/// The fields of a ledger answered from its account alone (see [`LedgerSource`]); the
/// invoice list's fields so answered are [`INVOICE_FROM_ACCOUNT`].
const LEDGER_FROM_ACCOUNT: &[&str] = &[
    "__typename",
    "contractId",
    "kind",
    "apartmentId",
    "apartmentCode",
    "propertyId",
    "propertyName",
    "holderName",
    "startsOn",
    "endsOn",
    "canManage",
    "standing",
];

const INVOICE_FROM_ACCOUNT: &[&str] = &[
    "__typename",
    "id",
    "contractId",
    "number",
    "issuedOn",
    "dueOn",
    "status",
    "totalCents",
    "paidCents",
    "openCents",
    "daysPastDue",
    "prepaymentAppliedCents",
];

/// Whether the ledgers `ctx` resolves may be answered from their accounts: the selection asks
/// for nothing more, and the operation asks for this root field under its response key only
/// once. async-graphql resolves each occurrence of a key on its own and merges the answers
/// list item by list item, so two occurrences (two fragments of a page, say) are both read
/// from the documents: an account a moment behind the stream must not pair one invoice's
/// status with another's lines.
fn from_account(ctx: &Context<'_>) -> bool {
    !needs_documents(&ctx.field()) && root_occurrences(ctx) == 1
}

/// The same for an invoice asked for by its id.
fn invoice_from_account(ctx: &Context<'_>) -> bool {
    !invoice_needs_documents(&ctx.field()) && root_occurrences(ctx) == 1
}

/// How many times the operation's top level asks for the response key `ctx` resolves,
/// fragments included. (`query_env` is public though left out of async-graphql's docs; its
/// version is pinned in Cargo.lock, and `the_invoice_list_is_answered_from_the_account_as_the_documents_answer_it`
/// fails if this stops counting.)
fn root_occurrences(ctx: &Context<'_>) -> usize {
    use async_graphql::parser::Positioned;
    use async_graphql::parser::types::{FragmentDefinition, Selection, SelectionSet};
    use std::collections::HashMap;

    fn count(
        set: &SelectionSet,
        fragments: &HashMap<async_graphql::Name, Positioned<FragmentDefinition>>,
        key: &str,
    ) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => usize::from(field.node.response_key().node == key),
                Selection::InlineFragment(inline) => {
                    count(&inline.node.selection_set.node, fragments, key)
                }
                // Validation has refused fragments that spread themselves.
                Selection::FragmentSpread(spread) => fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |f| count(&f.node.selection_set.node, fragments, key)),
            })
            .sum()
    }
    let key = ctx.item.node.response_key().node.as_str();
    let env = &ctx.query_env;
    count(&env.operation.node.selection_set.node, &env.fragments, key)
}

/// Whether a query's selection on a ledger (fragments included) asks for anything its
/// account cannot answer. A field left out by `@skip` or `@include` still counts: the
/// documents are read for nothing, never missed.
fn needs_documents(ledger: &SelectionField<'_>) -> bool {
    ledger.selection_set().any(|field| match field.name() {
        "invoices" => invoice_needs_documents(&field),
        name => !LEDGER_FROM_ACCOUNT.contains(&name),
    })
}

/// The same for a selection on invoices ([`INVOICE_FROM_ACCOUNT`]).
fn invoice_needs_documents(invoice: &SelectionField<'_>) -> bool {
    invoice
        .selection_set()
        .any(|f| !INVOICE_FROM_ACCOUNT.contains(&f.name()))
}

/// An invoice of a contract's ledger. Its fields are worked out when asked for: a portal
/// listing five years of invoices by number, due date and total parses no account number,
/// groups no reference and makes no barcode; and when the ledger was read from its account,
/// those are the fields it can answer.
pub struct InvoiceNode {
    contract_id: Uuid,
    source: LedgerSource,
    /// Where the invoice is in the account's invoices, and in the documents' (both in the
    /// order issued).
    at: usize,
    today: NaiveDate,
}

impl InvoiceNode {
    /// The invoice `invoice_id` of `ledger`, if it has one.
    fn of(ledger: &ContractLedger, invoice_id: Uuid) -> Option<Self> {
        let at = ledger
            .source
            .account()
            .invoices()
            .iter()
            .position(|i| i.invoice_id == invoice_id)?;
        Some(InvoiceNode::at(ledger, at))
    }

    /// The invoice at `at` in `ledger`'s invoices.
    fn at(ledger: &ContractLedger, at: usize) -> Self {
        InvoiceNode {
            contract_id: ledger.contract.contract_id,
            source: ledger.source.clone(),
            at,
            today: ledger.today,
        }
    }

    /// Its money, number and dates.
    fn money(&self) -> &InvoiceMoney {
        &self.source.account().invoices()[self.at]
    }

    /// Its document: lines, references, the account to pay to.
    fn invoice(&self) -> Result<&Invoice, ApiError> {
        self.source
            .documents()?
            .invoices
            .get(self.at)
            .ok_or_else(|| {
                ApiError::Internal("an account's invoice is not in its documents".into())
            })
    }

    /// The barcode for what is still open, paid by the reference `text`.
    fn barcode(&self, text: &str) -> Result<Option<String>, ApiError> {
        let invoice = self.invoice()?;
        let open = invoice.open_cents();
        if open <= 0 {
            return Ok(None);
        }
        let (Ok(iban), Ok(reference)) = (
            Iban::parse("iban", &invoice.iban),
            Reference::parse("reference", text),
        ) else {
            return Ok(None);
        };
        Ok(virtual_barcode(
            &iban,
            open,
            &reference,
            Some(invoice.due_on),
        ))
    }
}

#[Object(name = "Invoice")]
impl InvoiceNode {
    async fn id(&self) -> Uuid {
        self.money().invoice_id
    }

    async fn contract_id(&self) -> Uuid {
        self.contract_id
    }

    /// `LA-2026-000042`.
    async fn number(&self) -> &str {
        &self.money().invoice_number
    }

    async fn kind(&self) -> Result<InvoiceKindGql> {
        Ok(self.invoice().gql()?.kind.into())
    }

    /// The month invoiced, `2026-04`, for monthly and final invoices.
    async fn period(&self) -> Result<Option<&str>> {
        Ok(self.invoice().gql()?.period.as_deref())
    }

    async fn issued_on(&self) -> NaiveDate {
        self.money().issued_on
    }

    async fn due_on(&self) -> NaiveDate {
        self.money().due_on
    }

    async fn status(&self) -> InvoiceStatus {
        let invoice = self.money();
        if invoice.open_cents() <= 0 {
            InvoiceStatus::Paid
        } else if invoice.days_past_due(self.today) > 0 {
            InvoiceStatus::Overdue
        } else {
            InvoiceStatus::Open
        }
    }

    /// The national reference in groups of five, as printed.
    async fn reference(&self) -> Result<String> {
        Ok(group_national(&self.invoice().gql()?.reference))
    }

    /// The same, digits only, as a bank app wants it.
    async fn reference_digits(&self) -> Result<&str> {
        Ok(&self.invoice().gql()?.reference)
    }

    /// The RF creditor reference in groups of four.
    async fn rf_reference(&self) -> Result<String> {
        Ok(group_rf(&self.invoice().gql()?.rf_reference))
    }

    /// The account to pay to, in groups of four.
    async fn iban(&self) -> Result<String> {
        let iban = &self.invoice().gql()?.iban;
        Ok(Iban::parse("iban", iban)
            .map(|i| i.grouped())
            .unwrap_or_else(|_| iban.to_string()))
    }

    async fn total_cents(&self) -> i64 {
        self.money().total_cents
    }

    async fn vat_cents(&self) -> Result<i64> {
        Ok(self.invoice().gql()?.vat_cents)
    }

    async fn paid_cents(&self) -> i64 {
        self.money().paid_cents
    }

    async fn open_cents(&self) -> i64 {
        self.money().open_cents()
    }

    async fn paid_on(&self) -> Result<Option<NaiveDate>> {
        Ok(self.invoice().gql()?.paid_on)
    }

    /// Days past the due date today (0 when not overdue or paid).
    async fn days_past_due(&self) -> i64 {
        let invoice = self.money();
        if invoice.open_cents() > 0 {
            invoice.days_past_due(self.today).max(0)
        } else {
            0
        }
    }

    async fn lines(&self) -> Result<Vec<InvoiceLineView>> {
        Ok(self
            .invoice()
            .gql()?
            .lines
            .iter()
            .map(|l| InvoiceLineView {
                kind: l.kind.into(),
                description: l.description.to_string(),
                charge_line_id: l.charge_line_id,
                amount_cents: l.amount_cents,
                vat_rate_bp: l.vat_rate_bp,
                vat_cents: l.vat_cents,
            })
            .collect())
    }

    /// What settled it: payments (and prepayment, as a payment of the contract's credit).
    async fn payments(&self) -> Result<Vec<InvoicePaymentView>> {
        let invoice_id = self.money().invoice_id;
        let ledger = self.source.documents().gql()?;
        Ok(ledger
            .payments
            .iter()
            .flat_map(|p| {
                p.allocations
                    .iter()
                    .filter(|a| a.invoice_id == invoice_id)
                    .map(|a| InvoicePaymentView {
                        payment_id: p.payment_id,
                        booked_on: p.booked_on,
                        amount_cents: a.amount_cents,
                    })
            })
            .collect())
    }

    /// Prepayment applied when the invoice was issued.
    async fn prepayment_applied_cents(&self) -> i64 {
        self.money().prepaid_cents
    }

    /// The 54-digit virtual barcode, version 4 (national reference), for the amount still
    /// open; null once paid or when the account or amount cannot be carried.
    async fn virtual_barcode(&self) -> Result<Option<String>> {
        let invoice = self.invoice().gql()?;
        self.barcode(&invoice.reference).gql()
    }

    /// The same with the RF reference: version 5.
    async fn virtual_barcode_rf(&self) -> Result<Option<String>> {
        let invoice = self.invoice().gql()?;
        self.barcode(&invoice.rf_reference).gql()
    }
}

#[derive(SimpleObject)]
pub struct PaymentAllocationView {
    invoice_id: Uuid,
    invoice_number: String,
    amount_cents: i64,
}

#[derive(SimpleObject)]
pub struct PaymentView {
    id: Uuid,
    source: PaymentSourceGql,
    /// The bank's id of the payment.
    external_id: Option<String>,
    amount_cents: i64,
    booked_on: NaiveDate,
    reference: Option<String>,
    payer_name: Option<String>,
    /// The invoices it settled, oldest due first.
    allocations: Vec<PaymentAllocationView>,
    /// What was left over as prepayment.
    prepayment_cents: i64,
}

/// One contract's ledger as the caller may see it today.
pub struct ContractLedger {
    contract: Contract,
    apartment_code: String,
    property_id: Uuid,
    property_name: String,
    holder_name: String,
    source: LedgerSource,
    today: NaiveDate,
    reader: LedgerReader,
}

#[Object]
impl ContractLedger {
    async fn contract_id(&self) -> Uuid {
        self.contract.contract_id
    }

    async fn kind(&self) -> ContractKindGql {
        self.contract.kind.into()
    }

    async fn apartment_id(&self) -> Uuid {
        self.contract.apartment_id
    }

    async fn apartment_code(&self) -> &str {
        &self.apartment_code
    }

    async fn property_id(&self) -> Uuid {
        self.property_id
    }

    async fn property_name(&self) -> &str {
        &self.property_name
    }

    async fn holder_name(&self) -> &str {
        &self.holder_name
    }

    async fn starts_on(&self) -> NaiveDate {
        self.contract.starts_on
    }

    async fn ends_on(&self) -> Option<NaiveDate> {
        self.contract.ends_on
    }

    /// The caller may change it (the property's manager or customer service).
    async fn can_manage(&self) -> bool {
        matches!(self.reader, LedgerReader::Office(_))
    }

    /// Where the contract stands today: arrears, due, settled or prepaid.
    async fn standing(&self) -> StandingView {
        StandingView::new(self.source.account().standing(self.today), self.today)
    }

    async fn charge_lines(&self) -> Result<Vec<ChargeLineView>> {
        let month = Month::of(self.today);
        Ok(self
            .source
            .documents()
            .gql()?
            .charge_lines
            .iter()
            .map(|l| ChargeLineView {
                id: l.charge_line_id,
                kind: l.kind.into(),
                description: l.description.clone(),
                monthly_amount_cents: l.monthly_amount_cents,
                vat_rate_bp: l.vat_rate_bp,
                starts_on: l.starts_on,
                ends_on: l.ends_on,
                booking_id: l.booking_id,
                active: l.charges(month),
            })
            .collect())
    }

    /// Invoices, most recently due first.
    async fn invoices(&self, filter: Option<InvoiceFilter>) -> Vec<InvoiceNode> {
        let filter = filter.unwrap_or(InvoiceFilter::All);
        let mut invoices: Vec<InvoiceNode> = self
            .source
            .account()
            .invoices()
            .iter()
            .enumerate()
            .filter(|(_, i)| match filter {
                InvoiceFilter::All => true,
                InvoiceFilter::Unpaid => i.is_open(),
                InvoiceFilter::Paid => !i.is_open(),
            })
            .map(|(at, _)| InvoiceNode::at(self, at))
            .collect();
        invoices.reverse();
        invoices.sort_by_key(|i| std::cmp::Reverse(i.money().due_on));
        invoices
    }

    /// Payments booked from `from` to `to` (both included, either open), newest first.
    async fn payments(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PaymentView>> {
        let run = || {
            if let (Some(f), Some(t)) = (from, to)
                && t < f
            {
                return Err(ApiError::bad_input(
                    "to",
                    "ledger.date_range",
                    "must not be before `from`",
                ));
            }
            let ledger = self.source.documents()?;
            let number = |id: Uuid| {
                ledger
                    .invoice(id)
                    .map(|i| i.invoice_number.to_string())
                    .unwrap_or_default()
            };
            let mut found: Vec<PaymentView> = ledger
                .payments
                .iter()
                .filter(|p| {
                    from.is_none_or(|f| p.booked_on >= f) && to.is_none_or(|t| p.booked_on <= t)
                })
                .map(|p| PaymentView {
                    id: p.payment_id,
                    source: p.source.into(),
                    external_id: p.external_id.as_deref().map(str::to_owned),
                    amount_cents: p.amount_cents,
                    booked_on: p.booked_on,
                    reference: p.reference.as_deref().map(str::to_owned),
                    payer_name: p.payer_name.as_deref().map(str::to_owned),
                    allocations: p
                        .allocations
                        .iter()
                        .map(|a| PaymentAllocationView {
                            invoice_id: a.invoice_id,
                            invoice_number: number(a.invoice_id),
                            amount_cents: a.amount_cents,
                        })
                        .collect(),
                    prepayment_cents: p.prepayment_cents,
                })
                .collect();
            found.reverse();
            found.sort_by_key(|p| std::cmp::Reverse(p.booked_on));
            Ok(found)
        };
        run().gql()
    }
}

/// The ledger of `contract_id` as `principal` may see it, or NOT_FOUND.
async fn contract_ledger(
    session: &Session<'_>,
    principal: &Principal,
    contract_id: Uuid,
) -> Result<ContractLedger, ApiError> {
    with_documents(session, readable_contract(session, principal, contract_id)?).await
}

/// The contract `contract_id` if `principal` may read its ledger ([`describe`]), or NOT_FOUND.
fn readable_contract(
    session: &Session<'_>,
    principal: &Principal,
    contract_id: Uuid,
) -> Result<ContractLedger, ApiError> {
    let today = local_date(session.now);
    session.talo.with_register(session.caller, |register| {
        let (contract, property_id) = ledger::contract_of(register, contract_id)?;
        let reader = ledger::reader(principal, contract, property_id)
            .ok_or_else(ledger::contract_not_found)?;
        Ok(describe(register, contract, property_id, today, reader))
    })
}

/// Fills in the ledger [`describe`] left empty, folded from the contract's stream.
async fn with_documents(
    session: &Session<'_>,
    mut found: ContractLedger,
) -> Result<ContractLedger, ApiError> {
    let ledger = session
        .talo
        .dispatcher
        .ledger(found.contract.contract_id)
        .await?;
    found.source = LedgerSource::Documents(ledger);
    Ok(found)
}

/// Fills in the ledger [`describe`] left empty: from the contract's account in the ledgers
/// read model when `from_account` (see [`from_account`]), else from its stream. A contract
/// the read model has not seen yet is read from its stream too: it is empty, or its first
/// events are not folded yet, and an empty account would show it settled.
async fn with_source(
    session: &Session<'_>,
    from_account: bool,
    mut found: ContractLedger,
) -> Result<ContractLedger, ApiError> {
    let account = from_account
        .then(|| {
            session
                .talo
                .read_models
                .ledgers
                .read()
                .contract(session.caller.organisation_id, found.contract.contract_id)
                .map(|c| c.account.clone())
        })
        .flatten();
    match account {
        Some(account) => {
            found.source = LedgerSource::Account(Arc::new(account));
            Ok(found)
        }
        None => with_documents(session, found).await,
    }
}

/// The contract as the register knows it, with an empty ledger ([`with_documents`],
/// [`with_source`]).
fn describe(
    register: &Register,
    contract: &Contract,
    property_id: Uuid,
    today: NaiveDate,
    reader: LedgerReader,
) -> ContractLedger {
    ContractLedger {
        contract: contract.clone(),
        apartment_code: register
            .apartments
            .get(&contract.apartment_id)
            .map(|a| a.code.clone())
            .unwrap_or_default(),
        property_id,
        property_name: register
            .properties
            .get(&property_id)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        holder_name: register
            .persons
            .get(&contract.person_id)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        source: LedgerSource::Account(Arc::default()),
        today,
        reader,
    }
}

/// The contract, among those `principal` may read beyond their own, whose account has invoice
/// `id`. There is no index from invoice to contract (it would cost tens of megabytes for a
/// rare question), so the accounts are looked through: a keeper of some properties' ledgers
/// looks only through those properties' contracts; an auditor or a keeper for the whole
/// organisation through every one, tens of milliseconds on a large organisation. That is
/// done a slice at a time ([`talo_projections::ledger::LEDGERS_PER_READ`]), so the read
/// model is not held all the while.
fn others_contract_with_invoice(
    session: &Session<'_>,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    let org = session.caller.organisation_id;
    let ledgers = &session.talo.read_models.ledgers;
    let contracts: Vec<Uuid> = match ledger::others_ledgers(principal) {
        OthersLedgers::None => return Ok(None),
        OthersLedgers::Properties(properties) => {
            session.talo.with_register(session.caller, |register| {
                Ok(register
                    .contracts_in_any(&properties)
                    .map(|c| c.contract_id)
                    .collect())
            })?
        }
        OthersLedgers::Organisation => match ledgers.read().organisation(org) {
            Some(organisation) => organisation.contracts.iter().copied().collect(),
            None => return Ok(None),
        },
    };
    Ok(contracts
        .chunks(talo_projections::ledger::LEDGERS_PER_READ)
        .find_map(|slice| {
            let view = ledgers.read();
            slice
                .iter()
                .filter_map(|&c| view.contract(org, c))
                .find(|c| c.account.has_invoice(id))
                .map(|c| c.contract_id)
        }))
}

/// A contract in arrears on the office's list.
#[derive(SimpleObject)]
pub struct ArrearsRow {
    contract_id: Uuid,
    apartment_code: String,
    holder_name: String,
    kind: ContractKindGql,
    overdue_cents: i64,
    /// The earliest due date among its overdue invoices.
    oldest_due_on: Option<NaiveDate>,
    ageing: AgeingView,
}

#[derive(SimpleObject)]
pub struct ArrearsReport {
    property_id: Uuid,
    property_name: String,
    as_of: NaiveDate,
    /// Contracts with something overdue, the most overdue first.
    rows: Vec<ArrearsRow>,
    total: AgeingView,
}

#[derive(SimpleObject)]
pub struct UnmatchedPaymentView {
    id: Uuid,
    external_id: Option<String>,
    amount_cents: i64,
    booked_on: NaiveDate,
    reference: Option<String>,
    payer_name: Option<String>,
    reason: UnmatchedReasonGql,
    /// Set once the office allocated it.
    allocated_to_contract_id: Option<Uuid>,
}

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The caller's own contracts with their ledgers (own finances), ended ones too.
    async fn my_ledgers(&self, ctx: &Context<'_>) -> Result<Vec<ContractLedger>> {
        let run = async {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            let today = local_date(session.now);
            let described = session.talo.with_register(session.caller, |register| {
                let mut mine: Vec<ContractLedger> = register
                    .contracts_of(principal.person_id)
                    .filter_map(|c| {
                        let (_, property_id) = ledger::contract_of(register, c.contract_id).ok()?;
                        let reader = ledger::reader(&principal, c, property_id)?;
                        Some(describe(register, c, property_id, today, reader))
                    })
                    .collect();
                mine.sort_by_key(|l| std::cmp::Reverse(l.contract.starts_on));
                Ok(mine)
            })?;
            let from_account = from_account(ctx);
            let mut mine = Vec::with_capacity(described.len());
            for found in described {
                mine.push(with_source(&session, from_account, found).await?);
            }
            Ok::<_, ApiError>(mine)
        };
        run.await.gql()
    }

    /// One contract's ledger: its holder, the property's office and auditors see it.
    async fn ledger(&self, ctx: &Context<'_>, contract_id: Uuid) -> Result<ContractLedger> {
        let run = async {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            let found = readable_contract(&session, &principal, contract_id)?;
            with_source(&session, from_account(ctx), found).await
        };
        run.await.gql()
    }

    /// One invoice with its lines, references and virtual barcodes. Asked only for its number,
    /// dates and money, it is answered from the ledgers read model, as a ledger's list is.
    async fn invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<InvoiceNode> {
        let run = async {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            let not_found =
                || ApiError::NotFound("id: no such invoice, or not yours to see".into());
            let org = session.caller.organisation_id;
            // The caller's own contracts first: a resident's invoice is found without looking
            // through the organisation's millions.
            let own: Vec<Uuid> = session.talo.with_register(session.caller, |register| {
                Ok(register
                    .contracts_of(principal.person_id)
                    .map(|c| c.contract_id)
                    .collect())
            })?;
            let ledgers = &session.talo.read_models.ledgers;
            let in_own = {
                let view = ledgers.read();
                own.iter()
                    .filter_map(|&c| view.contract(org, c))
                    .find(|c| c.account.has_invoice(id))
                    .map(|c| c.contract_id)
            };
            // A resident asking for someone else's invoice is told what a search would tell
            // them, without one.
            let contract_id = match in_own {
                Some(contract_id) => contract_id,
                None => {
                    others_contract_with_invoice(&session, &principal, id)?.ok_or_else(not_found)?
                }
            };
            // Whether the invoice exists is not told to those who may not read it; a store
            // that failed to read is told as what it is.
            let hidden = |e| match e {
                ApiError::Internal(_) => e,
                _ => not_found(),
            };
            let found = readable_contract(&session, &principal, contract_id).map_err(hidden)?;
            let found = with_source(&session, invoice_from_account(ctx), found)
                .await
                .map_err(hidden)?;
            InvoiceNode::of(&found, id).ok_or_else(not_found)
        };
        run.await.gql()
    }

    /// The property's contracts in arrears today, with ageing (0-30, 31-60, 61-90, over 90
    /// days past due): for its manager, customer service and auditors.
    async fn arrears(&self, ctx: &Context<'_>, property_id: Uuid) -> Result<ArrearsReport> {
        let run = || {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            let today = local_date(session.now);
            let org = session.caller.organisation_id;
            session.talo.with_register(session.caller, |register| {
                let property = register.properties.get(&property_id).ok_or_else(|| {
                    ApiError::NotFound("propertyId: no such property in the organisation".into())
                })?;
                if !principal.is_auditor() {
                    ledger::keeper_role(&principal, property_id)?;
                }
                let view = session.talo.read_models.ledgers.read();
                // The property's own contracts, not every ledger of a large organisation.
                let mut rows = Vec::new();
                let mut total = Ageing::default();
                for contract in register.contracts_in(property_id) {
                    let Some(l) = view.contract(org, contract.contract_id) else {
                        continue;
                    };
                    let standing = l.account.standing(today);
                    total = total.plus(standing.ageing);
                    if standing.overdue_cents <= 0 {
                        continue;
                    }
                    rows.push(ArrearsRow {
                        contract_id: contract.contract_id,
                        apartment_code: register
                            .apartments
                            .get(&contract.apartment_id)
                            .map(|a| a.code.clone())
                            .unwrap_or_default(),
                        holder_name: register
                            .persons
                            .get(&contract.person_id)
                            .map(|p| p.name.clone())
                            .unwrap_or_default(),
                        kind: contract.kind.into(),
                        overdue_cents: standing.overdue_cents,
                        oldest_due_on: l.account.open_invoices().first().map(|i| i.due_on),
                        ageing: standing.ageing.into(),
                    });
                }
                rows.sort_by_key(|r| {
                    (std::cmp::Reverse(r.overdue_cents), r.apartment_code.clone())
                });
                Ok(ArrearsReport {
                    property_id,
                    property_name: property.name.clone(),
                    as_of: today,
                    rows,
                    total: total.into(),
                })
            })
        };
        run().gql()
    }

    /// Bank payments that matched no contract, oldest first; allocated ones too if asked.
    async fn unmatched_payments(
        &self,
        ctx: &Context<'_>,
        include_allocated: Option<bool>,
    ) -> Result<Vec<UnmatchedPaymentView>> {
        let run = || {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            if !principal.is_auditor() {
                payment_queue::keeper_anywhere(&principal)?;
            }
            let view = session.talo.read_models.ledgers.read();
            let Some(org) = view.organisation(session.caller.organisation_id) else {
                return Ok(vec![]);
            };
            let mut queued: Vec<UnmatchedPaymentView> = org
                .queue
                .payments
                .values()
                .filter(|p| include_allocated.unwrap_or(false) || p.allocated_to.is_none())
                .map(|p| UnmatchedPaymentView {
                    id: p.payment_id,
                    external_id: p.external_id.clone(),
                    amount_cents: p.amount_cents,
                    booked_on: p.booked_on,
                    reference: p.reference.clone(),
                    payer_name: p.payer_name.clone(),
                    reason: p.reason.into(),
                    allocated_to_contract_id: p.allocated_to,
                })
                .collect();
            queued.sort_by_key(|p| (p.booked_on, p.id));
            Ok(queued)
        };
        run().gql()
    }
}

#[derive(SimpleObject)]
pub struct LedgerPayload {
    ledger: ContractLedger,
    position: String,
    replayed: bool,
}

#[derive(SimpleObject)]
pub struct InvoicePayload {
    invoice: InvoiceNode,
    position: String,
    replayed: bool,
}

/// What the monthly run did for one contract.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvoicingOutcome {
    Issued,
    AlreadyInvoiced,
    /// Not active in the month, or no charge line for it.
    NothingToInvoice,
    /// Refused or failed; see `message`. The other contracts were invoiced.
    Failed,
}

#[derive(SimpleObject)]
pub struct ContractInvoicing {
    contract_id: Uuid,
    outcome: InvoicingOutcome,
    invoice_id: Option<Uuid>,
    message: Option<String>,
}

#[derive(SimpleObject)]
pub struct MonthlyInvoicingPayload {
    month: String,
    issued_count: usize,
    already_invoiced_count: usize,
    nothing_to_invoice_count: usize,
    failed_count: usize,
    /// Every contract of the run, the issued ones first.
    contracts: Vec<ContractInvoicing>,
    /// The invoices this run issued.
    issued: Vec<InvoiceNode>,
}

#[derive(InputObject)]
pub struct AddChargeLineInput {
    idempotency_key: String,
    contract_id: Uuid,
    kind: ChargeKindGql,
    description: String,
    /// Per month, VAT included.
    monthly_amount_cents: i64,
    /// Basis points: 2550 is 25,5 %. Rent and charges have none.
    #[graphql(default)]
    vat_rate_bp: u32,
    /// The first month charged is this date's month.
    starts_on: NaiveDate,
}

#[derive(InputObject)]
pub struct EndChargeLineInput {
    idempotency_key: String,
    contract_id: Uuid,
    charge_line_id: Uuid,
    /// The last month charged is this date's month.
    ends_on: NaiveDate,
}

#[derive(InputObject)]
pub struct SeparateLineInput {
    kind: InvoiceLineKindGql,
    description: String,
    /// VAT included.
    amount_cents: i64,
    #[graphql(default)]
    vat_rate_bp: u32,
}

#[derive(InputObject)]
pub struct IssueSeparateInvoiceInput {
    idempotency_key: String,
    contract_id: Uuid,
    lines: Vec<SeparateLineInput>,
    /// Defaults to 14 days from today.
    due_on: Option<NaiveDate>,
}

#[derive(InputObject)]
pub struct IssueSecurityDepositInvoiceInput {
    idempotency_key: String,
    contract_id: Uuid,
    amount_cents: i64,
    due_on: Option<NaiveDate>,
}

#[derive(InputObject)]
pub struct RecordPaymentInput {
    idempotency_key: String,
    /// The contract paid for; or give the `reference` the payer used.
    contract_id: Option<Uuid>,
    /// A national or RF reference of one of the contract's invoices.
    reference: Option<String>,
    amount_cents: i64,
    /// Defaults to today.
    paid_on: Option<NaiveDate>,
    payer_name: Option<String>,
}

#[derive(InputObject)]
pub struct AllocateUnmatchedPaymentInput {
    idempotency_key: String,
    payment_id: Uuid,
    contract_id: Uuid,
}

async fn payload(
    session: &Session<'_>,
    contract_id: Uuid,
    outcome: Outcome,
) -> Result<LedgerPayload, ApiError> {
    let principal = session.principal()?;
    Ok(LedgerPayload {
        ledger: contract_ledger(session, &principal, contract_id).await?,
        position: outcome.position.to_string(),
        replayed: outcome.replayed,
    })
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Adds a monthly charge to a contract (office staff of its property).
    async fn add_charge_line(
        &self,
        ctx: &Context<'_>,
        input: AddChargeLineInput,
    ) -> Result<LedgerPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let command = AddChargeLine {
                contract_id: input.contract_id,
                charge_line_id: request.new_entity_id("charge-line"),
                kind: ChargeKind::from(input.kind),
                description: input.description,
                monthly_amount_cents: input.monthly_amount_cents,
                vat_rate_bp: input.vat_rate_bp,
                starts_on: input.starts_on,
            };
            let outcome = session
                .talo
                .dispatcher
                .ledger_step(
                    &request,
                    input.contract_id,
                    "ChargeLineAdded",
                    |state, ctx| ledger::add_charge_line(state, command.clone(), ctx),
                )
                .await?;
            payload(&session, input.contract_id, outcome).await
        };
        run.await.gql()
    }

    /// Ends a charge line: the month of `endsOn` is the last one charged.
    async fn end_charge_line(
        &self,
        ctx: &Context<'_>,
        input: EndChargeLineInput,
    ) -> Result<LedgerPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let outcome = session
                .talo
                .dispatcher
                .ledger_step(
                    &request,
                    input.contract_id,
                    "ChargeLineEnded",
                    |state, ctx| {
                        ledger::end_charge_line(
                            state,
                            input.contract_id,
                            input.charge_line_id,
                            input.ends_on,
                            ctx,
                        )
                    },
                )
                .await?;
            payload(&session, input.contract_id, outcome).await
        };
        run.await.gql()
    }

    /// Invoices a month (`2026-04`) for every contract of the caller's properties, or of one
    /// property. Idempotent: a month already invoiced on a contract is not invoiced again.
    async fn run_monthly_invoicing(
        &self,
        ctx: &Context<'_>,
        month: String,
        property_id: Option<Uuid>,
    ) -> Result<MonthlyInvoicingPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let month = Month::parse("month", &month)?;
            let request = crate::dispatch::Request {
                caller: session.caller,
                channel: Channel::Office,
                occurred_at: session.now,
                idempotency_key: None,
                correlation_id: Uuid::now_v7(),
            };
            let runs = session
                .talo
                .dispatcher
                .run_monthly_invoicing(
                    &request,
                    month,
                    property_id,
                    &session.talo.config.bank_account,
                )
                .await?;
            let principal = session.principal()?;
            let mut contracts: Vec<ContractInvoicing> = runs
                .into_iter()
                .map(|r| {
                    let (outcome, invoice_id, message) = match r.result {
                        Ok(Issued::New { invoice_id }) => {
                            (InvoicingOutcome::Issued, Some(invoice_id), None)
                        }
                        Ok(Issued::AlreadyInvoiced { invoice_id }) => {
                            (InvoicingOutcome::AlreadyInvoiced, Some(invoice_id), None)
                        }
                        Ok(Issued::NothingToInvoice) => {
                            (InvoicingOutcome::NothingToInvoice, None, None)
                        }
                        Err(e) => (InvoicingOutcome::Failed, None, Some(e.to_string())),
                    };
                    ContractInvoicing {
                        contract_id: r.contract_id,
                        outcome,
                        invoice_id,
                        message,
                    }
                })
                .collect();
            contracts.sort_by_key(|c| c.outcome != InvoicingOutcome::Issued);
            let count = |o| contracts.iter().filter(|c| c.outcome == o).count();
            let mut issued = Vec::new();
            for c in contracts
                .iter()
                .filter(|c| c.outcome == InvoicingOutcome::Issued)
            {
                let found = contract_ledger(&session, &principal, c.contract_id).await?;
                if let Some(invoice) = c.invoice_id.and_then(|id| InvoiceNode::of(&found, id)) {
                    issued.push(invoice);
                }
            }
            Ok::<_, ApiError>(MonthlyInvoicingPayload {
                month: month.to_string(),
                issued_count: count(InvoicingOutcome::Issued),
                already_invoiced_count: count(InvoicingOutcome::AlreadyInvoiced),
                nothing_to_invoice_count: count(InvoicingOutcome::NothingToInvoice),
                failed_count: count(InvoicingOutcome::Failed),
                contracts,
                issued,
            })
        };
        run.await.gql()
    }

    /// A separate invoice with explicit lines: keys, damage, a sauna fee.
    async fn issue_separate_invoice(
        &self,
        ctx: &Context<'_>,
        input: IssueSeparateInvoiceInput,
    ) -> Result<InvoicePayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let command = SeparateInvoice {
                contract_id: input.contract_id,
                invoice_id: request.new_entity_id("invoice"),
                lines: input
                    .lines
                    .into_iter()
                    .map(|l| SeparateLine {
                        kind: InvoiceLineKind::from(l.kind),
                        description: l.description,
                        amount_cents: l.amount_cents,
                        vat_rate_bp: l.vat_rate_bp,
                    })
                    .collect(),
                due_on: input.due_on,
            };
            let outcome = session
                .talo
                .dispatcher
                .issue_single_invoice(
                    &request,
                    input.contract_id,
                    &session.talo.config.bank_account,
                    |_, ctx| ledger::draft_separate(command.clone(), ctx),
                )
                .await?;
            invoice_payload_of(&session, input.contract_id, command.invoice_id, outcome).await
        };
        run.await.gql()
    }

    /// The security deposit of a lease, once.
    async fn issue_security_deposit_invoice(
        &self,
        ctx: &Context<'_>,
        input: IssueSecurityDepositInvoiceInput,
    ) -> Result<InvoicePayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let invoice_id = request.new_entity_id("invoice");
            let outcome = session
                .talo
                .dispatcher
                .issue_single_invoice(
                    &request,
                    input.contract_id,
                    &session.talo.config.bank_account,
                    |state, ctx| {
                        ledger::draft_security_deposit(
                            state,
                            input.contract_id,
                            invoice_id,
                            input.amount_cents,
                            input.due_on,
                            ctx,
                        )
                    },
                )
                .await?;
            invoice_payload_of(&session, input.contract_id, invoice_id, outcome).await
        };
        run.await.gql()
    }

    /// Records a payment by hand (at the office, or one the bank file lacked). It settles the
    /// contract's open invoices oldest due first; what is left is a prepayment.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> Result<LedgerPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let org = session.caller.organisation_id;
            let matched = match &input.reference {
                None => None,
                Some(text) => {
                    let reference = Reference::parse("reference", text)?;
                    let national = reference
                        .national()
                        .ok_or_else(|| reference_unknown(text))?;
                    let target = session
                        .talo
                        .read_models
                        .ledgers
                        .read()
                        .find_reference(org, &national)
                        .ok_or_else(|| reference_unknown(text))?;
                    Some((target.contract_id, national))
                }
            };
            let contract_id = match (input.contract_id, &matched) {
                (Some(id), _) => id,
                (None, Some((id, _))) => *id,
                (None, None) => {
                    return Err(ApiError::bad_input(
                        "contractId",
                        "ledger.payment_target",
                        "give the contract or the reference the payer used",
                    ));
                }
            };
            let command = ReceivePayment {
                contract_id,
                payment_id: request.new_entity_id("payment"),
                source: PaymentSource::Manual,
                external_id: None,
                amount_cents: input.amount_cents,
                booked_on: crate::ledger::paid_on(input.paid_on, &request),
                matched_reference: matched.map(|(_, national)| national),
                reference: input.reference.clone(),
                payer_name: input.payer_name.clone(),
            };
            let outcome = session
                .talo
                .dispatcher
                .ledger_step(&request, contract_id, "PaymentReceived", |state, ctx| {
                    ledger::receive_payment(state, command.clone(), ctx)
                })
                .await?;
            payload(&session, contract_id, outcome).await
        };
        run.await.gql()
    }

    /// Allocates a payment from the unmatched queue to a contract.
    async fn allocate_unmatched_payment(
        &self,
        ctx: &Context<'_>,
        input: AllocateUnmatchedPaymentInput,
    ) -> Result<LedgerPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(Channel::Office, &input.idempotency_key)?;
            let outcome = session
                .talo
                .dispatcher
                .allocate_unmatched_payment(&request, input.payment_id, input.contract_id)
                .await?;
            payload(&session, input.contract_id, outcome).await
        };
        run.await.gql()
    }
}

fn reference_unknown(text: &str) -> ApiError {
    ApiError::Rejected(talo_domain::Rejection::not_found(
        "reference",
        "ledger.reference_unknown",
        format!("`{text}` names no invoice of the organisation"),
    ))
}

async fn invoice_payload_of(
    session: &Session<'_>,
    contract_id: Uuid,
    invoice_id: Uuid,
    outcome: Outcome,
) -> Result<InvoicePayload, ApiError> {
    let principal = session.principal()?;
    let found = contract_ledger(session, &principal, contract_id).await?;
    let invoice = InvoiceNode::of(&found, invoice_id)
        .ok_or_else(|| ApiError::Internal("an issued invoice is not in the ledger".into()))?;
    Ok(InvoicePayload {
        invoice,
        position: outcome.position.to_string(),
        replayed: outcome.replayed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_read_from_its_account_has_no_documents_to_answer_from() {
        let account = LedgerSource::Account(Arc::default());
        assert!(matches!(account.documents(), Err(ApiError::Internal(_))));
        assert!(account.account().invoices().is_empty());
        let documents = LedgerSource::Documents(Arc::default());
        assert!(documents.documents().is_ok());
    }
}
