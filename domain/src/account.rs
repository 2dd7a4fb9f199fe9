//! A contract's account: the money of its ledger without the documents. For each invoice what
//! it charged, when it fell due and what settled it when; for each payment the day and the
//! amount; and the prepayment left over.
//!
//! The ledger's rules about money (standing, arrears and their ageing on any day) are answered
//! here, and [`crate::ledger::Ledger`] answers them through its own account. The ledgers read
//! model keeps only accounts: five years of a large organisation's invoices and payments as
//! whole documents were most of the server's memory, while the reports over every contract
//! need only these numbers. A contract's documents (lines, references, payers) are folded from
//! its stream when someone opens that one ledger.

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use uuid::Uuid;

use crate::ledger::{Ageing, Standing};

/// What an invoice charged and how much of it is settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMoney {
    pub invoice_id: Uuid,
    /// `LA-2026-000042`: a portal's list of invoices shows it with the money, so it is kept
    /// here rather than only in the documents (inline, no allocation: under 24 bytes).
    pub invoice_number: CompactString,
    #[serde(with = "crate::day_number")]
    pub issued_on: NaiveDate,
    #[serde(with = "crate::day_number")]
    pub due_on: NaiveDate,
    pub total_cents: i64,
    /// The prepayment it consumed when issued.
    pub prepaid_cents: i64,
    /// Settled so far, by prepayment and by payments.
    pub paid_cents: i64,
}

impl InvoiceMoney {
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

/// Money booked on a day: a payment, or the part of one that settled an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booked {
    #[serde(with = "crate::day_number")]
    pub booked_on: NaiveDate,
    pub amount_cents: i64,
}

/// Part of a payment that settled one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Settlement {
    /// The invoice's index in [`Account::invoices`]: four bytes instead of its sixteen-byte id.
    invoice: u32,
    booked: Booked,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// In the order issued.
    invoices: Vec<InvoiceMoney>,
    /// Every payment, in the order received.
    payments: Vec<Booked>,
    /// What each payment settled of which invoice, in the order received.
    settlements: Vec<Settlement>,
    /// Money received and not yet consumed by an invoice.
    pub prepayment_cents: i64,
}

impl Account {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Account {
        let mut account = Account::default();
        for event in events {
            account.apply(event);
        }
        account
    }

    /// Folds one event of the contract's stream; other events are ignored.
    pub fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::InvoiceIssued(e) => {
                self.prepayment_cents -= e.prepayment_applied_cents;
                self.invoices.push(InvoiceMoney {
                    invoice_id: e.invoice_id,
                    invoice_number: e.invoice_number.as_str().into(),
                    issued_on: e.issued_on,
                    due_on: e.due_on,
                    total_cents: e.total_cents,
                    prepaid_cents: e.prepayment_applied_cents,
                    paid_cents: e.prepayment_applied_cents,
                });
            }
            DomainEvent::PaymentReceived(e) => {
                let booked_on = e.booked_on;
                for allocation in &e.allocations {
                    // Newest first: a payment settles recent invoices far more often.
                    let Some(index) = self
                        .invoices
                        .iter()
                        .rposition(|i| i.invoice_id == allocation.invoice_id)
                    else {
                        continue;
                    };
                    self.invoices[index].paid_cents += allocation.amount_cents;
                    self.settlements.push(Settlement {
                        invoice: u32::try_from(index).expect("fewer than 4 billion invoices"),
                        booked: Booked {
                            booked_on,
                            amount_cents: allocation.amount_cents,
                        },
                    });
                }
                self.prepayment_cents += e.prepayment_cents;
                self.payments.push(Booked {
                    booked_on,
                    amount_cents: e.amount_cents,
                });
            }
            _ => {}
        }
    }

    /// Every invoice, in the order issued.
    pub fn invoices(&self) -> &[InvoiceMoney] {
        &self.invoices
    }

    /// Every payment, in the order received.
    pub fn payments(&self) -> &[Booked] {
        &self.payments
    }

    pub fn has_invoice(&self, invoice_id: Uuid) -> bool {
        self.invoices.iter().any(|i| i.invoice_id == invoice_id)
    }

    /// Open invoices, oldest due date first (in issue order within a day): the order in which
    /// money settles them.
    pub fn open_invoices(&self) -> Vec<&InvoiceMoney> {
        let mut open: Vec<&InvoiceMoney> = self.invoices.iter().filter(|i| i.is_open()).collect();
        // A stable sort keeps issue order among invoices due the same day.
        open.sort_by_key(|i| i.due_on);
        open
    }

    /// Where the contract stands on `today`.
    pub fn standing(&self, today: NaiveDate) -> Standing {
        let invoiced_cents = self.invoices.iter().map(|i| i.total_cents).sum();
        let received_cents = self.payments.iter().map(|p| p.amount_cents).sum();
        let mut overdue_cents = 0;
        let mut due_later_cents = 0;
        let mut ageing = Ageing::default();
        for invoice in self.invoices.iter().filter(|i| i.is_open()) {
            let days = invoice.days_past_due(today);
            if days > 0 {
                overdue_cents += invoice.open_cents();
                ageing.add(days, invoice.open_cents());
            } else {
                due_later_cents += invoice.open_cents();
            }
        }
        Standing {
            invoiced_cents,
            received_cents,
            balance_cents: invoiced_cents - received_cents,
            overdue_cents,
            due_later_cents,
            prepayment_cents: self.prepayment_cents,
            ageing,
        }
    }

    /// Overdue money on `day` by how long it had been overdue, as the account knows it now:
    /// invoices issued by that day, less the prepayment each consumed when issued and what
    /// payments booked by that day settled of it. On today this is `standing(today).ageing`;
    /// on a past day (a month-end report) money booked later does not count.
    pub fn ageing_on(&self, day: NaiveDate) -> Ageing {
        let mut settled: Vec<i64> = self.invoices.iter().map(|i| i.prepaid_cents).collect();
        for s in self
            .settlements
            .iter()
            .filter(|s| s.booked.booked_on <= day)
        {
            settled[s.invoice as usize] += s.booked.amount_cents;
        }
        let mut ageing = Ageing::default();
        for (invoice, settled) in self.invoices.iter().zip(settled) {
            let days = invoice.days_past_due(day);
            let open = invoice.total_cents - settled;
            if invoice.issued_on <= day && days > 0 && open > 0 {
                ageing.add(days, open);
            }
        }
        ageing
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::ledger::{
        InvoiceIssued, InvoiceKind, PaymentAllocation, PaymentReceived, PaymentSource,
    };

    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn issued(invoice_id: Uuid, total: i64, prepaid: i64, due_on: NaiveDate) -> DomainEvent {
        DomainEvent::InvoiceIssued(InvoiceIssued {
            contract_id: Uuid::nil(),
            invoice_id,
            invoice_number: "LA-2026-000001".into(),
            kind: InvoiceKind::Separate,
            period: None,
            issued_on: due_on - chrono::Duration::days(14),
            due_on,
            reference: "1232".into(),
            rf_reference: String::new(),
            iban: String::new(),
            lines: vec![],
            total_cents: total,
            vat_cents: 0,
            prepayment_applied_cents: prepaid,
        })
    }

    fn paid(booked_on: NaiveDate, amount: i64, to: &[(Uuid, i64)]) -> DomainEvent {
        let allocated: i64 = to.iter().map(|(_, a)| a).sum();
        DomainEvent::PaymentReceived(PaymentReceived {
            contract_id: Uuid::nil(),
            payment_id: Uuid::now_v7(),
            source: PaymentSource::Manual,
            external_id: None,
            amount_cents: amount,
            booked_on,
            reference: None,
            payer_name: None,
            allocations: to
                .iter()
                .map(|&(invoice_id, amount_cents)| PaymentAllocation {
                    invoice_id,
                    amount_cents,
                })
                .collect(),
            prepayment_cents: amount - allocated,
        })
    }

    #[test]
    fn payments_settle_the_invoices_they_name_and_the_rest_is_prepaid() {
        let (march, april) = (Uuid::now_v7(), Uuid::now_v7());
        let account = Account::fold(&[
            issued(march, 10_000, 0, ymd(2026, 3, 5)),
            issued(april, 10_000, 0, ymd(2026, 4, 5)),
            paid(ymd(2026, 3, 4), 12_500, &[(march, 10_000), (april, 2_500)]),
        ]);
        assert!(!account.invoices()[0].is_open());
        assert_eq!(account.invoices()[1].open_cents(), 7_500);
        assert_eq!(account.open_invoices()[0].invoice_id, april);
        assert_eq!(account.prepayment_cents, 0);
        let standing = account.standing(ymd(2026, 4, 20));
        assert_eq!(standing.invoiced_cents, 20_000);
        assert_eq!(standing.received_cents, 12_500);
        assert_eq!(standing.overdue_cents, 7_500);
        assert_eq!(standing.ageing.days_0_30_cents, 7_500);
    }

    #[test]
    fn an_invoice_issued_with_prepayment_consumes_it() {
        let invoice = Uuid::now_v7();
        let account = Account::fold(&[
            paid(ymd(2026, 2, 20), 4_000, &[]),
            issued(invoice, 10_000, 4_000, ymd(2026, 3, 5)),
        ]);
        assert_eq!(account.prepayment_cents, 0);
        assert_eq!(account.invoices()[0].open_cents(), 6_000);
        assert_eq!(account.ageing_on(ymd(2026, 3, 6)).days_0_30_cents, 6_000);
    }

    #[test]
    fn ageing_on_a_past_day_leaves_out_money_booked_later() {
        let invoice = Uuid::now_v7();
        let account = Account::fold(&[
            issued(invoice, 10_000, 1_000, ymd(2026, 1, 5)),
            paid(ymd(2026, 3, 1), 3_000, &[(invoice, 3_000)]),
            paid(ymd(2026, 6, 1), 6_000, &[(invoice, 6_000)]),
        ]);
        // On 4 February: only the prepayment had settled it.
        assert_eq!(account.ageing_on(ymd(2026, 2, 4)).days_0_30_cents, 9_000);
        // On 5 April, 90 days past due: the March payment counts, the June one not yet.
        assert_eq!(account.ageing_on(ymd(2026, 4, 5)).days_61_90_cents, 6_000);
        // Today it is paid: nothing ages.
        assert_eq!(account.ageing_on(ymd(2026, 7, 1)), Ageing::default());
        assert_eq!(account.standing(ymd(2026, 7, 1)).ageing, Ageing::default());
        // Before it was issued it did not exist.
        assert_eq!(account.ageing_on(ymd(2025, 12, 20)), Ageing::default());
    }

    #[test]
    fn each_invoice_stands_where_the_ledgers_document_does_with_its_number_and_money() {
        // The portal's invoice list is answered from the account and the invoice's details
        // from the ledger's documents, by the same index.
        let numbered = |number: &str, event: DomainEvent| match event {
            DomainEvent::InvoiceIssued(mut e) => {
                e.invoice_number = number.into();
                DomainEvent::InvoiceIssued(e)
            }
            other => other,
        };
        let (march, april, may) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let events = [
            paid(ymd(2026, 2, 20), 3_000, &[]),
            numbered(
                "LA-2026-000007",
                issued(march, 10_000, 3_000, ymd(2026, 3, 5)),
            ),
            numbered("LA-2026-000123", issued(april, 10_000, 0, ymd(2026, 4, 5))),
            paid(ymd(2026, 4, 2), 9_000, &[(april, 2_000), (march, 7_000)]),
            numbered("LA-2026-004567", issued(may, 8_000, 0, ymd(2026, 5, 5))),
        ];
        let account = Account::fold(&events);
        let ledger = crate::ledger::Ledger::fold(&events);
        let numbers: Vec<&str> = account
            .invoices()
            .iter()
            .map(|i| i.invoice_number.as_str())
            .collect();
        assert_eq!(
            numbers,
            ["LA-2026-000007", "LA-2026-000123", "LA-2026-004567"]
        );
        assert_eq!(account.invoices().len(), ledger.invoices.len());
        for (money, document) in account.invoices().iter().zip(&ledger.invoices) {
            assert_eq!(money.invoice_id, document.invoice_id);
            assert_eq!(money.invoice_number, document.invoice_number);
            assert_eq!(money.issued_on, document.issued_on);
            assert_eq!(money.due_on, document.due_on);
            assert_eq!(money.total_cents, document.total_cents);
            assert_eq!(money.paid_cents, document.paid_cents);
        }
        assert_eq!(account.invoices()[0].open_cents(), 0);
        assert_eq!(account.invoices()[1].open_cents(), 8_000);
    }

    #[test]
    fn an_allocation_to_an_invoice_the_account_lacks_is_left_out_but_the_payment_counts() {
        let account = Account::fold(&[paid(ymd(2026, 3, 1), 5_000, &[(Uuid::now_v7(), 5_000)])]);
        assert!(account.invoices().is_empty());
        assert_eq!(account.payments().len(), 1);
        assert_eq!(account.standing(ymd(2026, 3, 2)).received_cents, 5_000);
    }
}
