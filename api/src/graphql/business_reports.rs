//! The business reports in GraphQL: money (arrears, invoicing, prepayments), bookings and
//! communication. Each field runs one `reports::Report`, the same computation as its CSV
//! download `/reports/{name}.csv`.

use async_graphql::{Context, Object, Result};

use crate::graphql::reports::run;
use crate::reports::money::*;

#[derive(Default)]
pub struct BusinessReportQuery;

#[Object]
impl BusinessReportQuery {
    /// Overdue money per property on a day (today if not given), by days past the due date:
    /// 1-30, 31-60, 61-90, over 90. CSV: `/reports/arrears.csv`.
    async fn arrears_report(
        &self,
        ctx: &Context<'_>,
        input: ArrearsReportInput,
    ) -> Result<Vec<ArrearsReportRow>> {
        run::<ArrearsReport>(ctx, input)
    }

    /// Invoices issued and payments booked per property and month (or week) of the range.
    /// CSV: `/reports/invoicing.csv`.
    async fn invoicing_report(
        &self,
        ctx: &Context<'_>,
        input: InvoicingReportInput,
    ) -> Result<Vec<InvoicingReportRow>> {
        run::<InvoicingReport>(ctx, input)
    }

    /// Money paid in advance per property, now. CSV: `/reports/prepayments.csv`.
    async fn prepayments_report(
        &self,
        ctx: &Context<'_>,
        input: PrepaymentsReportInput,
    ) -> Result<Vec<PrepaymentsReportRow>> {
        run::<PrepaymentsReport>(ctx, input)
    }
}
