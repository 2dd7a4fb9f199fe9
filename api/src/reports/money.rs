//! The money reports over the contracts' ledgers: arrears by age on a day, money invoiced and
//! paid per period, and prepayments now; one row per property the caller sees. The sums come
//! from the ledgers read model (`talo_projections::ledger`); a payment still in the unmatched
//! queue belongs to no contract and so to no property, and counts once it is allocated.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::calendar::{ReportingPeriod, local_date};
use talo_projections::ledger::{self, ArrearsOn, MoneyFlows, Prepayments, PropertySums};
use uuid::Uuid;

use super::{Period, Report, ReportRange, ReportScope};
use crate::error::ApiError;
use crate::talo::Talo;

/// The report's properties (those the caller sees and the filter lets through, by name, each
/// with its name) and `sums` over their contracts' ledgers. The register is read once, for
/// the contracts on those properties; the ledgers a slice at a time ([`ledger::add_in_slices`]),
/// so a report over a large organisation holds neither read model for its whole run.
fn sum_ledgers<S: PropertySums>(
    talo: &Talo,
    scope: &ReportScope,
    filter: Option<Uuid>,
    mut sums: S,
) -> Result<(Vec<(Uuid, String)>, S), ApiError> {
    let (properties, contracts) = scope.with_register(talo, |register| {
        let properties: Vec<(Uuid, String)> = scope
            .properties(register, filter)
            .into_iter()
            .map(|p| (p.property_id, p.name.clone()))
            .collect();
        let mut wanted: Vec<Uuid> = properties.iter().map(|(id, _)| *id).collect();
        wanted.sort_unstable();
        let contracts = register.contract_properties(|p| wanted.binary_search(&p).is_ok());
        Ok((properties, contracts))
    })?;
    // In contract id order, the read model's own: looking the ledgers up in apartment order
    // jumped about its map and took a month's report from 60 to 90 ms.
    let mut contracts = contracts;
    contracts.sort_unstable();
    let org = scope.organisation_id();
    ledger::add_in_slices(&talo.read_models.ledgers, org, &contracts, &mut sums);
    Ok((properties, sums))
}

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
    const ON_BLOCKING_POOL: bool = true;
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
        let (properties, sums) =
            sum_ledgers(talo, scope, input.property_id, ArrearsOn::new(as_of))?;
        Ok(properties
            .into_iter()
            .map(|(property_id, property_name)| {
                let sum = sums.of(property_id);
                ArrearsReportRow {
                    property_id,
                    property_name,
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
    const ON_BLOCKING_POOL: bool = true;
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
        let (properties, flows) =
            sum_ledgers(talo, scope, input.property_id, MoneyFlows::new(&periods))?;
        let mut rows = Vec::with_capacity(properties.len() * periods.len());
        for (property_id, property_name) in properties {
            for span in &periods {
                let flow = flows.of(property_id, span.first_day);
                rows.push(InvoicingReportRow {
                    property_id,
                    property_name: property_name.clone(),
                    period_start: span.first_day,
                    invoices: flow.invoices,
                    invoiced_cents: flow.invoiced_cents,
                    payments: flow.payments,
                    paid_cents: flow.received_cents,
                });
            }
        }
        Ok(rows)
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
    const ON_BLOCKING_POOL: bool = true;
    type Input = PrepaymentsReportInput;
    type Row = PrepaymentsReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: PrepaymentsReportInput,
    ) -> Result<Vec<PrepaymentsReportRow>, ApiError> {
        let (properties, sums) =
            sum_ledgers(talo, scope, input.property_id, Prepayments::default())?;
        Ok(properties
            .into_iter()
            .map(|(property_id, property_name)| {
                let sum = sums.of(property_id);
                PrepaymentsReportRow {
                    property_id,
                    property_name,
                    contracts_with_prepayment: sum.contracts,
                    prepayment_cents: sum.cents,
                }
            })
            .collect())
    }
}
