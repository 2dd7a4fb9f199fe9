//! The money reports over the contracts' ledgers: arrears by age on a day, money invoiced and
//! paid per period, and prepayments now; one row per property the caller sees. The sums come
//! from the ledgers read model (`talo_projections::ledger`); a payment still in the unmatched
//! queue belongs to no contract and so to no property, and counts once it is allocated.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::calendar::{ReportingPeriod, local_date};
use uuid::Uuid;

use super::{Period, Report, ReportRange, ReportScope};
use crate::error::ApiError;
use crate::talo::Talo;

/// Arrears on a day.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArrearsReportInput {
    /// The day the arrears are aged on (Helsinki); today if not given. Money booked after it
    /// does not count. Not after today.
    pub as_of: Option<NaiveDate>,
    pub property_id: Option<Uuid>,
}

/// A property's overdue money on the day, by days past the due date (the ledger's buckets).
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArrearsReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub as_of: NaiveDate,
    /// Contracts with anything overdue on the day.
    pub contracts_in_arrears: u32,
    pub days_0_to_30_cents: i64,
    pub days_31_to_60_cents: i64,
    pub days_61_to_90_cents: i64,
    pub over_90_cents: i64,
    pub total_cents: i64,
}

/// `arrears`: each property's overdue money by age.
pub struct ArrearsReport;

impl Report for ArrearsReport {
    const NAME: &'static str = "arrears";
    type Input = ArrearsReportInput;
    type Row = ArrearsReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: ArrearsReportInput,
    ) -> Result<Vec<ArrearsReportRow>, ApiError> {
        let today = local_date(now);
        let as_of = input.as_of.unwrap_or(today);
        if as_of > today {
            return Err(ApiError::bad_input(
                "asOf",
                "report.as_of",
                "must not be after today: payments still to come are not known",
            ));
        }
        scope.with_register(talo, |register| {
            let sums = talo.read_models.ledgers.read().arrears_by_property(
                scope.organisation_id(),
                register,
                as_of,
            );
            Ok(scope
                .properties(register, input.property_id)
                .into_iter()
                .map(|p| {
                    let sum = sums.get(&p.property_id).copied().unwrap_or_default();
                    ArrearsReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        as_of,
                        contracts_in_arrears: sum.contracts,
                        days_0_to_30_cents: sum.ageing.days_0_30_cents,
                        days_31_to_60_cents: sum.ageing.days_31_60_cents,
                        days_61_to_90_cents: sum.ageing.days_61_90_cents,
                        over_90_cents: sum.ageing.over_90_cents,
                        total_cents: sum.ageing.total(),
                    }
                })
                .collect())
        })
    }
}

/// Money invoiced and paid over a range.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct InvoicingReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
    /// Months if not given.
    pub period: Option<Period>,
}

/// A property's invoices issued and payments booked in one period (Helsinki days).
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct InvoicingReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    /// The first day of the week or month.
    pub period_start: NaiveDate,
    pub invoices: u32,
    /// The invoices' totals.
    pub invoiced_cents: i64,
    pub payments: u32,
    /// The payments whole, including what became prepayment.
    pub paid_cents: i64,
}

/// `invoicing`: invoiced vs paid per property and period, every period of the range shown.
pub struct InvoicingReport;

impl Report for InvoicingReport {
    const NAME: &'static str = "invoicing";
    type Input = InvoicingReportInput;
    type Row = InvoicingReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: InvoicingReportInput,
    ) -> Result<Vec<InvoicingReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let periods = ReportingPeriod::from(input.period.unwrap_or(Period::Month))
            .split(range.from, range.until);
        scope.with_register(talo, |register| {
            let flows = talo.read_models.ledgers.read().money_flow(
                scope.organisation_id(),
                register,
                &periods,
            );
            let mut rows = Vec::new();
            for p in scope.properties(register, input.property_id) {
                for span in &periods {
                    let flow = flows
                        .get(&(p.property_id, span.first_day))
                        .copied()
                        .unwrap_or_default();
                    rows.push(InvoicingReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        period_start: span.first_day,
                        invoices: flow.invoices,
                        invoiced_cents: flow.invoiced_cents,
                        payments: flow.payments,
                        paid_cents: flow.received_cents,
                    });
                }
            }
            Ok(rows)
        })
    }
}

/// Prepayments now.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PrepaymentsReportInput {
    pub property_id: Option<Uuid>,
}

/// Money a property's contract holders have paid in advance, not yet consumed by invoices.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PrepaymentsReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub contracts_with_prepayment: u32,
    pub prepayment_cents: i64,
}

/// `prepayments`: credit balances per property, now.
pub struct PrepaymentsReport;

impl Report for PrepaymentsReport {
    const NAME: &'static str = "prepayments";
    type Input = PrepaymentsReportInput;
    type Row = PrepaymentsReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: PrepaymentsReportInput,
    ) -> Result<Vec<PrepaymentsReportRow>, ApiError> {
        scope.with_register(talo, |register| {
            let sums = talo
                .read_models
                .ledgers
                .read()
                .prepayments_by_property(scope.organisation_id(), register);
            Ok(scope
                .properties(register, input.property_id)
                .into_iter()
                .map(|p| {
                    let sum = sums.get(&p.property_id).copied().unwrap_or_default();
                    PrepaymentsReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        contracts_with_prepayment: sum.contracts,
                        prepayment_cents: sum.cents,
                    }
                })
                .collect())
        })
    }
}
