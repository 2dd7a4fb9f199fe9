//! The ledgers read model: every contract's account (the money of its ledger, folded by the
//! domain's own `Account`), and per organisation the index of invoice references, the bank ids
//! of payments already recorded, and the unmatched payments queue.
//!
//! Not the documents: invoice lines, references and payers of five years are folded from the
//! contract's stream when someone opens that one ledger. Kept here for every contract they were
//! most of a large organisation's memory, and no report over many contracts reads them.
//!
//! Who may read a ledger is `talo_domain::ledger::reader`, asked at query time; standings,
//! arrears and their ageing are computed at query time from the day passed in, and so are the
//! reports' sums per property (arrears, money invoiced and received, prepayments).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use talo_domain::account::Account;
use talo_domain::calendar::PeriodSpan;
use talo_domain::ledger::Ageing;
use talo_domain::payment_queue::PaymentQueue;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use uuid::Uuid;

use crate::engine::{Projection, Running};
use crate::snapshot_parts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractLedger {
    pub contract_id: Uuid,
    pub organisation_id: Uuid,
    /// Only the money: the documents (lines, references, payers) are folded from the
    /// contract's stream when one ledger is opened.
    pub account: Account,
    pub last_position: Position,
}

/// Where an invoice reference leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceTarget {
    pub contract_id: Uuid,
    pub invoice_id: Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationLedgers {
    pub contracts: BTreeSet<Uuid>,
    /// National reference to its invoice.
    pub references: BTreeMap<CompactString, ReferenceTarget>,
    /// Bank ids (AcctSvcrRef) of payments recorded anywhere: in a ledger or in the queue.
    pub external_ids: BTreeMap<CompactString, Uuid>,
    pub queue: PaymentQueue,
}

/// Serialised as its plain fields in human-readable formats and as parts in binary ones (see
/// [`LedgersPart`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgersView {
    contracts: BTreeMap<Uuid, ContractLedger>,
    organisations: BTreeMap<Uuid, OrganisationLedgers>,
}

/// The plain shape of [`LedgersView`], for JSON (what `talo replay` compares).
#[derive(Serialize, Deserialize)]
struct PlainLedgers<C, O> {
    contracts: C,
    organisations: O,
}

/// Contracts per snapshot part: about 3 MB of a five-year organisation's ledgers, small enough
/// for the allocator to reuse one part's memory for the next.
const CONTRACTS_PER_PART: usize = 100;
/// Index entries (references, bank ids) per snapshot part.
const ENTRIES_PER_PART: usize = 20_000;

/// One slice of the ledgers in a binary snapshot. The ledgers are most of a large
/// organisation's snapshot, so they load as parts decoded on every core
/// ([`crate::snapshot_parts`]). `Out` borrows what `In` owns; the two encode alike (a test
/// pins it).
#[derive(Serialize)]
enum LedgersPartOut<'a> {
    Contracts(Vec<&'a ContractLedger>),
    Organisation {
        organisation_id: Uuid,
        contracts: &'a BTreeSet<Uuid>,
        queue: &'a PaymentQueue,
    },
    References {
        organisation_id: Uuid,
        entries: Vec<(&'a CompactString, &'a ReferenceTarget)>,
    },
    ExternalIds {
        organisation_id: Uuid,
        entries: Vec<(&'a CompactString, &'a Uuid)>,
    },
}

#[derive(Deserialize)]
enum LedgersPart {
    Contracts(Vec<ContractLedger>),
    Organisation {
        organisation_id: Uuid,
        contracts: BTreeSet<Uuid>,
        queue: PaymentQueue,
    },
    References {
        organisation_id: Uuid,
        entries: Vec<(CompactString, ReferenceTarget)>,
    },
    ExternalIds {
        organisation_id: Uuid,
        entries: Vec<(CompactString, Uuid)>,
    },
}

impl Serialize for LedgersView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return PlainLedgers {
                contracts: &self.contracts,
                organisations: &self.organisations,
            }
            .serialize(serializer);
        }
        snapshot_parts::serialize(
            serializer,
            &self.parts(CONTRACTS_PER_PART, ENTRIES_PER_PART),
        )
    }
}

impl<'de> Deserialize<'de> for LedgersView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let plain = PlainLedgers::deserialize(deserializer)?;
            return Ok(LedgersView {
                contracts: plain.contracts,
                organisations: plain.organisations,
            });
        }
        let parts: Vec<LedgersPart> = snapshot_parts::deserialize(deserializer)?;
        Ok(LedgersView::from_parts(parts))
    }
}

impl LedgersView {
    fn parts(&self, contracts_per_part: usize, entries_per_part: usize) -> Vec<LedgersPartOut<'_>> {
        let contracts: Vec<&ContractLedger> = self.contracts.values().collect();
        let mut parts: Vec<LedgersPartOut<'_>> = contracts
            .chunks(contracts_per_part)
            .map(|chunk| LedgersPartOut::Contracts(chunk.to_vec()))
            .collect();
        for (&organisation_id, org) in &self.organisations {
            parts.push(LedgersPartOut::Organisation {
                organisation_id,
                contracts: &org.contracts,
                queue: &org.queue,
            });
            let references: Vec<_> = org.references.iter().collect();
            parts.extend(references.chunks(entries_per_part).map(|chunk| {
                LedgersPartOut::References {
                    organisation_id,
                    entries: chunk.to_vec(),
                }
            }));
            let external_ids: Vec<_> = org.external_ids.iter().collect();
            parts.extend(external_ids.chunks(entries_per_part).map(|chunk| {
                LedgersPartOut::ExternalIds {
                    organisation_id,
                    entries: chunk.to_vec(),
                }
            }));
        }
        parts
    }

    fn from_parts(parts: Vec<LedgersPart>) -> LedgersView {
        let mut contracts = Vec::new();
        let mut organisations: BTreeMap<Uuid, OrganisationLedgers> = BTreeMap::new();
        // Entries arrive sorted, part after part: collected first, the maps are built in bulk.
        let mut references: BTreeMap<Uuid, Vec<(CompactString, ReferenceTarget)>> = BTreeMap::new();
        let mut external_ids: BTreeMap<Uuid, Vec<(CompactString, Uuid)>> = BTreeMap::new();
        for part in parts {
            match part {
                LedgersPart::Contracts(chunk) => contracts.extend(chunk),
                LedgersPart::Organisation {
                    organisation_id,
                    contracts,
                    queue,
                } => {
                    let org = organisations.entry(organisation_id).or_default();
                    org.contracts = contracts;
                    org.queue = queue;
                }
                LedgersPart::References {
                    organisation_id,
                    entries,
                } => references
                    .entry(organisation_id)
                    .or_default()
                    .extend(entries),
                LedgersPart::ExternalIds {
                    organisation_id,
                    entries,
                } => external_ids
                    .entry(organisation_id)
                    .or_default()
                    .extend(entries),
            }
        }
        for (organisation_id, entries) in references {
            organisations.entry(organisation_id).or_default().references =
                entries.into_iter().collect();
        }
        for (organisation_id, entries) in external_ids {
            organisations
                .entry(organisation_id)
                .or_default()
                .external_ids = entries.into_iter().collect();
        }
        LedgersView {
            contracts: contracts.into_iter().map(|c| (c.contract_id, c)).collect(),
            organisations,
        }
    }
}

impl Projection for LedgersView {
    const NAME: &'static str = "ledgers";
    /// 2: binary snapshots in parts. 3: accounts instead of whole ledgers. 4: invoice
    /// numbers in the accounts.
    const VERSION: u32 = 4;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let org_id = event.metadata.organisation_id;
        let contract_id = match decoded {
            DomainEvent::ChargeLineAdded(e) => e.contract_id,
            DomainEvent::ChargeLineEnded(e) => e.contract_id,
            DomainEvent::InvoiceIssued(e) => e.contract_id,
            DomainEvent::PaymentReceived(e) => e.contract_id,
            DomainEvent::UnmatchedPaymentReceived(e) => {
                let org = self.organisations.entry(org_id).or_default();
                if let Some(external) = &e.external_id {
                    org.external_ids
                        .insert(external.as_str().into(), e.payment_id);
                }
                org.queue.apply(decoded);
                return;
            }
            DomainEvent::UnmatchedPaymentAllocated(_) => {
                self.organisations
                    .entry(org_id)
                    .or_default()
                    .queue
                    .apply(decoded);
                return;
            }
            _ => return,
        };
        let org = self.organisations.entry(org_id).or_default();
        // Four in ten events of a five-year log are invoices and payments: the organisation's
        // set of contracts is searched only for a contract's first one, not for every one.
        let record = match self.contracts.entry(contract_id) {
            Entry::Occupied(record) => record.into_mut(),
            Entry::Vacant(vacant) => {
                org.contracts.insert(contract_id);
                vacant.insert(ContractLedger {
                    contract_id,
                    organisation_id: org_id,
                    account: Account::default(),
                    last_position: event.position,
                })
            }
        };
        match decoded {
            DomainEvent::InvoiceIssued(e) => {
                org.references.insert(
                    e.reference.as_str().into(),
                    ReferenceTarget {
                        contract_id,
                        invoice_id: e.invoice_id,
                    },
                );
            }
            DomainEvent::PaymentReceived(e) => {
                if let Some(external) = &e.external_id {
                    org.external_ids
                        .insert(external.as_str().into(), e.payment_id);
                }
            }
            _ => {}
        }
        record.account.apply(decoded);
        record.last_position = event.position;
    }
}

impl LedgersView {
    /// A contract's ledger in `organisation_id`, if anything was ever recorded on it.
    pub fn contract(&self, organisation_id: Uuid, contract_id: Uuid) -> Option<&ContractLedger> {
        self.contracts
            .get(&contract_id)
            .filter(|c| c.organisation_id == organisation_id)
    }

    pub fn organisation(&self, organisation_id: Uuid) -> Option<&OrganisationLedgers> {
        self.organisations.get(&organisation_id)
    }

    /// The invoice a national reference names in the organisation.
    pub fn find_reference(&self, organisation_id: Uuid, national: &str) -> Option<ReferenceTarget> {
        self.organisation(organisation_id)?
            .references
            .get(national)
            .copied()
    }

    /// The payment recorded under a bank id in the organisation, if any.
    pub fn payment_by_external_id(&self, organisation_id: Uuid, external_id: &str) -> Option<Uuid> {
        self.organisation(organisation_id)?
            .external_ids
            .get(external_id)
            .copied()
    }

    /// Every contract ledger of the organisation.
    pub fn ledgers_of(&self, organisation_id: Uuid) -> impl Iterator<Item = &ContractLedger> {
        self.organisation(organisation_id)
            .into_iter()
            .flat_map(|o| o.contracts.iter())
            .filter_map(|id| self.contracts.get(id))
    }
}

/// A property's arrears on a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PropertyArrears {
    pub ageing: Ageing,
    /// Contracts with anything overdue.
    pub contracts: u32,
}

/// Money moving on a property's contracts in one period of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoneyFlow {
    pub invoices: u32,
    /// The totals of the invoices issued in the period.
    pub invoiced_cents: i64,
    pub payments: u32,
    /// The payments booked in the period, whole (also what became prepayment).
    pub received_cents: i64,
}

/// Money paid in advance on a property's contracts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PropertyPrepayments {
    pub contracts: u32,
    pub cents: i64,
}

/// How many contracts' ledgers a read over many of them (a money report, an invoice search)
/// handles under one read of the read model. Such a read takes tens of milliseconds on a
/// large organisation; held all the while, a writer waiting for the lock (the ledgers'
/// projection) would hold up every other reader behind it, a resident opening their ledger
/// too. A slice takes a few milliseconds.
pub const LEDGERS_PER_READ: usize = 1_024;

/// Sums over many contracts' accounts, per property: what a money report adds up.
pub trait PropertySums {
    fn add(&mut self, property_id: Uuid, account: &Account);
}

impl LedgersView {
    /// Adds the account of each contract (with its property,
    /// [`talo_domain::register::Register::contract_properties`]) to `sums`; a contract without
    /// a ledger adds nothing.
    pub fn add_accounts(
        &self,
        organisation_id: Uuid,
        contracts: &[(Uuid, Uuid)],
        sums: &mut impl PropertySums,
    ) {
        for &(contract_id, property_id) in contracts {
            if let Some(ledger) = self.contract(organisation_id, contract_id) {
                sums.add(property_id, &ledger.account);
            }
        }
    }
}

/// Adds the accounts of `contracts` to `sums` a slice at a time ([`LEDGERS_PER_READ`]), each
/// under its own read of the ledgers. The sums are therefore not read at one position: each
/// account is whole as it stood at some moment of the run, and as every ledger event is one
/// contract's, none is counted twice or half.
pub fn add_in_slices(
    ledgers: &Running<LedgersView>,
    organisation_id: Uuid,
    contracts: &[(Uuid, Uuid)],
    sums: &mut impl PropertySums,
) {
    for slice in contracts.chunks(LEDGERS_PER_READ) {
        ledgers.read().add_accounts(organisation_id, slice, sums);
    }
}

/// Arrears per property on a day, by age ([`Account::ageing_on`]). Properties without
/// ledgers are absent.
#[derive(Debug, Clone)]
pub struct ArrearsOn {
    day: NaiveDate,
    pub by_property: BTreeMap<Uuid, PropertyArrears>,
}

impl ArrearsOn {
    pub fn new(day: NaiveDate) -> Self {
        ArrearsOn {
            day,
            by_property: BTreeMap::new(),
        }
    }
}

impl ArrearsOn {
    /// A property's arrears; zeros for a property with none.
    pub fn of(&self, property_id: Uuid) -> PropertyArrears {
        self.by_property
            .get(&property_id)
            .copied()
            .unwrap_or_default()
    }
}

impl PropertySums for ArrearsOn {
    fn add(&mut self, property_id: Uuid, account: &Account) {
        let ageing = account.ageing_on(self.day);
        let sum = self.by_property.entry(property_id).or_default();
        sum.ageing = sum.ageing.plus(ageing);
        sum.contracts += u32::from(ageing.total() > 0);
    }
}

/// Invoices issued and payments booked per property and period, keyed by the property and
/// the period's first day. A period holds the local days it touches, so a range starting
/// mid-morning still counts its first day. Periods without money are absent.
#[derive(Debug, Clone)]
pub struct MoneyFlows {
    /// Each period's local days and first day, in order.
    days: Vec<(Range<NaiveDate>, NaiveDate)>,
    pub by_period: BTreeMap<(Uuid, NaiveDate), MoneyFlow>,
}

impl MoneyFlows {
    /// `periods` are in order, none overlapping the next
    /// ([`talo_domain::calendar::ReportingPeriod::split`]).
    pub fn new(periods: &[PeriodSpan]) -> Self {
        let days: Vec<(Range<NaiveDate>, NaiveDate)> = periods
            .iter()
            .map(|p| (p.local_days(), p.first_day))
            .collect();
        // In order and each from where the one before ended (as `ReportingPeriod::split`
        // gives them): a year by week is 53 periods for each of millions of invoices.
        debug_assert!(days.windows(2).all(|w| w[0].0.end <= w[1].0.start));
        MoneyFlows {
            days,
            by_period: BTreeMap::new(),
        }
    }

    /// A property's money in the period starting on `first_day`; zeros for none.
    pub fn of(&self, property_id: Uuid, first_day: NaiveDate) -> MoneyFlow {
        self.by_period
            .get(&(property_id, first_day))
            .copied()
            .unwrap_or_default()
    }

    fn period_of(&self, day: NaiveDate) -> Option<NaiveDate> {
        let at = self.days.partition_point(|(days, _)| days.end <= day);
        self.days
            .get(at)
            .filter(|(days, _)| days.contains(&day))
            .map(|(_, first_day)| *first_day)
    }
}

impl PropertySums for MoneyFlows {
    fn add(&mut self, property_id: Uuid, account: &Account) {
        for invoice in account.invoices() {
            if let Some(period) = self.period_of(invoice.issued_on) {
                let flow = self.by_period.entry((property_id, period)).or_default();
                flow.invoices += 1;
                flow.invoiced_cents += invoice.total_cents;
            }
        }
        for payment in account.payments() {
            if let Some(period) = self.period_of(payment.booked_on) {
                let flow = self.by_period.entry((property_id, period)).or_default();
                flow.payments += 1;
                flow.received_cents += payment.amount_cents;
            }
        }
    }
}

/// Money paid in advance and not yet consumed by an invoice, per property, now. Properties
/// without prepayments are absent.
#[derive(Debug, Clone, Default)]
pub struct Prepayments {
    pub by_property: BTreeMap<Uuid, PropertyPrepayments>,
}

impl Prepayments {
    /// A property's prepayments; zeros for a property with none.
    pub fn of(&self, property_id: Uuid) -> PropertyPrepayments {
        self.by_property
            .get(&property_id)
            .copied()
            .unwrap_or_default()
    }
}

impl PropertySums for Prepayments {
    fn add(&mut self, property_id: Uuid, account: &Account) {
        if account.prepayment_cents > 0 {
            let sum = self.by_property.entry(property_id).or_default();
            sum.contracts += 1;
            sum.cents += account.prepayment_cents;
        }
    }
}

#[cfg(test)]
mod tests {
    use talo_domain::calendar::ReportingPeriod;
    use talo_events_schema::ledger::*;

    use super::*;
    use crate::given::{Given, utc, ymd};

    fn invoice(
        contract_id: Uuid,
        total_cents: i64,
        issued_on: NaiveDate,
        due_on: NaiveDate,
    ) -> InvoiceIssued {
        InvoiceIssued {
            contract_id,
            invoice_id: Uuid::now_v7(),
            invoice_number: "LA-2026-000001".into(),
            kind: InvoiceKind::Separate,
            period: None,
            issued_on,
            due_on,
            reference: Uuid::now_v7().to_string(),
            rf_reference: String::new(),
            iban: String::new(),
            lines: Vec::new(),
            total_cents,
            vat_cents: 0,
            prepayment_applied_cents: 0,
        }
    }

    fn payment(
        contract_id: Uuid,
        amount_cents: i64,
        booked_on: NaiveDate,
        allocations: Vec<(Uuid, i64)>,
    ) -> PaymentReceived {
        let allocated: i64 = allocations.iter().map(|(_, c)| c).sum();
        PaymentReceived {
            contract_id,
            payment_id: Uuid::now_v7(),
            source: PaymentSource::Manual,
            external_id: None,
            amount_cents,
            booked_on,
            reference: None,
            payer_name: None,
            allocations: allocations
                .into_iter()
                .map(|(invoice_id, amount_cents)| PaymentAllocation {
                    invoice_id,
                    amount_cents,
                })
                .collect(),
            prepayment_cents: amount_cents - allocated,
        }
    }

    /// Two properties: on the first two leases, one paying late and one in advance; on the
    /// second one lease with an invoice not yet due.
    struct TwoProperties {
        given: Given,
        view: LedgersView,
        first: Uuid,
        second: Uuid,
    }

    fn two_properties() -> TwoProperties {
        let mut given = Given::new();
        let mut view = LedgersView::default();
        let first = given.property("Ensimmäinen");
        let second = given.property("Toinen");
        let mut lease = |property, code| {
            let apartment = given.apartment(property, code);
            given.lease(apartment, ymd(2025, 1, 1), None).0
        };
        let (late, early, other) = (
            lease(first, "A 1"),
            lease(first, "A 2"),
            lease(second, "A 1"),
        );
        let at = utc(2026, 1, 20, 10);
        let january = invoice(late, 50_000, ymd(2026, 1, 20), ymd(2026, 2, 5));
        let january_id = january.invoice_id;
        given.fold(&mut view, at, Some(first.0), january);
        let early_invoice = invoice(early, 30_000, ymd(2026, 1, 20), ymd(2026, 2, 5));
        let early_id = early_invoice.invoice_id;
        given.fold(&mut view, at, Some(first.0), early_invoice);
        given.fold(
            &mut view,
            utc(2026, 3, 31, 21),
            Some(second.0),
            invoice(other, 40_000, ymd(2026, 4, 1), ymd(2026, 4, 15)),
        );
        // 400,00 € late on 10 March, 100,00 € still open; 350,00 € early on 31 January.
        given.fold(
            &mut view,
            utc(2026, 3, 10, 10),
            Some(first.0),
            payment(late, 40_000, ymd(2026, 3, 10), vec![(january_id, 40_000)]),
        );
        given.fold(
            &mut view,
            utc(2026, 1, 31, 10),
            Some(first.0),
            payment(early, 35_000, ymd(2026, 1, 31), vec![(early_id, 30_000)]),
        );
        TwoProperties {
            given,
            view,
            first: first.0,
            second: second.0,
        }
    }

    /// Every ledger of the organisation added to `sums`.
    fn summed<S: PropertySums>(t: &TwoProperties, mut sums: S) -> S {
        let org = t.given.organisation_id;
        let contracts = t.given.register.contract_properties(|_| true);
        t.view.add_accounts(org, &contracts, &mut sums);
        sums
    }

    #[test]
    fn only_the_given_contracts_are_summed_under_their_property() {
        let t = two_properties();
        let org = t.given.organisation_id;
        let second = t.given.register.contract_properties(|p| p == t.second);
        assert_eq!(second.len(), 1);
        let mut sums = ArrearsOn::new(ymd(2026, 4, 20));
        t.view.add_accounts(org, &second, &mut sums);
        assert_eq!(sums.by_property.keys().collect::<Vec<_>>(), [&t.second]);
        // A contract without a ledger adds nothing, not even a row of zeros.
        let mut none = Prepayments::default();
        t.view
            .add_accounts(org, &[(Uuid::now_v7(), t.first)], &mut none);
        assert!(none.by_property.is_empty());
    }

    #[test]
    fn a_contract_is_listed_under_the_organisation_of_its_first_event_only() {
        let mut t = two_properties();
        let org = t.given.organisation_id;
        let late = t.view.ledgers_of(org).next().expect("a ledger").contract_id;
        // An event naming another organisation's contract (no command writes one) does not
        // make that organisation list the contract, nor open its ledger to it.
        let mut other = Given::new();
        let day = ymd(2026, 5, 1);
        other.fold(
            &mut t.view,
            utc(2026, 5, 1, 10),
            None,
            invoice(late, 1, day, day),
        );
        assert_eq!(t.view.ledgers_of(other.organisation_id).count(), 0);
        assert!(t.view.contract(other.organisation_id, late).is_none());
        // The first organisation's three contracts, each once though each had several events.
        assert_eq!(t.view.ledgers_of(org).count(), 3);
    }

    #[test]
    fn arrears_per_property_on_a_day_count_only_money_booked_by_then() {
        let t = two_properties();
        let on = |day| summed(&t, ArrearsOn::new(day)).by_property;
        // 9 March: 500,00 € 32 days late.
        let before = on(ymd(2026, 3, 9));
        assert_eq!(before[&t.first].ageing.days_31_60_cents, 50_000);
        assert_eq!(before[&t.first].contracts, 1);
        assert_eq!(before[&t.second], PropertyArrears::default());
        // 10 March: 100,00 € left, 33 days late; 20 April: 74 days late, and the second
        // property's invoice 5 days late.
        assert_eq!(on(ymd(2026, 3, 10))[&t.first].ageing.total(), 10_000);
        let april = on(ymd(2026, 4, 20));
        assert_eq!(april[&t.first].ageing.days_61_90_cents, 10_000);
        assert_eq!(april[&t.second].ageing.days_0_30_cents, 40_000);
        assert_eq!(april[&t.second].contracts, 1);
    }

    #[test]
    fn money_flow_sums_invoices_and_payments_per_property_and_local_month() {
        let t = two_properties();
        // January to April in Helsinki; the second property's invoice was issued on 1 April
        // local time (31 March 21:00 UTC).
        let periods = ReportingPeriod::Month.split(utc(2025, 12, 31, 22), utc(2026, 4, 30, 21));
        let flows = summed(&t, MoneyFlows::new(&periods)).by_period;
        assert_eq!(
            flows[&(t.first, ymd(2026, 1, 1))],
            MoneyFlow {
                invoices: 2,
                invoiced_cents: 80_000,
                payments: 1,
                received_cents: 35_000
            }
        );
        assert_eq!(
            flows[&(t.first, ymd(2026, 3, 1))],
            MoneyFlow {
                invoices: 0,
                invoiced_cents: 0,
                payments: 1,
                received_cents: 40_000
            }
        );
        assert_eq!(flows[&(t.second, ymd(2026, 4, 1))].invoiced_cents, 40_000);
        assert_eq!(flows.len(), 3);
        // A range from mid-morning of 10 March still holds that day's payment.
        let march = ReportingPeriod::Month.split(utc(2026, 3, 10, 8), utc(2026, 3, 11, 8));
        let flows = summed(&t, MoneyFlows::new(&march)).by_period;
        assert_eq!(flows[&(t.first, ymd(2026, 3, 1))].received_cents, 40_000);
    }

    #[test]
    fn prepayments_per_property() {
        let t = two_properties();
        let sums = summed(&t, Prepayments::default()).by_property;
        assert_eq!(
            sums[&t.first],
            PropertyPrepayments {
                contracts: 1,
                cents: 5_000
            }
        );
        assert!(!sums.contains_key(&t.second));
    }

    /// The view with a bank payment too, so every kind of snapshot part has something in it.
    fn with_bank_payment() -> LedgersView {
        let mut t = two_properties();
        let contract = *t.view.contracts.keys().next().unwrap();
        let mut bank = payment(contract, 1_000, ymd(2026, 3, 12), Vec::new());
        bank.source = PaymentSource::BankStatement;
        bank.external_id = Some("2026031200001234".into());
        t.given
            .fold(&mut t.view, utc(2026, 3, 12, 10), Some(t.first), bank);
        t.view
    }

    #[test]
    fn a_binary_snapshot_cut_into_many_parts_reads_back_equal() {
        let view = with_bank_payment();
        struct Cut<'a>(&'a LedgersView);
        impl Serialize for Cut<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                snapshot_parts::serialize(s, &self.0.parts(1, 1))
            }
        }
        // Three contracts, one organisation, three references and one bank id, one per part.
        assert_eq!(view.parts(1, 1).len(), 3 + 1 + 3 + 1);
        let bytes = rmp_serde::to_vec(&Cut(&view)).unwrap();
        let back: LedgersView = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, view);
        assert_eq!(back.contracts.len(), 3);
        let org = back.organisations.values().next().unwrap();
        assert_eq!(org.references.len(), 3);
        assert_eq!(org.external_ids.len(), 1);
    }

    #[test]
    fn snapshots_save_and_load_the_ledgers_whole() {
        let view = with_bank_payment();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledgers.snapshot");
        let checkpoint = crate::snapshot::Checkpoint::default();
        crate::snapshot::save(&path, "ledgers", 2, &checkpoint, &view).unwrap();
        let (_, back) = crate::snapshot::load::<LedgersView>(&path, "ledgers", 2)
            .unwrap()
            .unwrap();
        assert_eq!(back, view);
    }

    #[test]
    fn json_keeps_the_plain_shape_for_replay_comparisons() {
        let view = with_bank_payment();
        let json = serde_json::to_value(&view).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["contracts", "organisations"]);
        let back: LedgersView = serde_json::from_value(json).unwrap();
        assert_eq!(back, view);
    }
}
