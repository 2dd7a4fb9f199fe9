//! The business reports in GraphQL: money (arrears, invoicing, prepayments), bookings
//! (utilisation, parking queues) and communication (announcement reads, notification delivery,
//! housing offers) and the document archive. Each field runs one `reports::Report`, the same computation as its CSV
//! download `/reports/{name}.csv`.

use async_graphql::{Context, Object, Result};

use crate::graphql::reports::run;
use crate::reports::bookings::*;
use crate::reports::communication::*;
use crate::reports::documents::*;
use crate::reports::money::*;

#[derive(Default)]
pub struct BusinessReportQuery;

#[Object]
impl BusinessReportQuery {
    /// Each property's archive over the range per category: documents and versions added,
    /// bytes, withdrawn, and how many it held at the end. CSV: `/reports/documents.csv`.
    async fn documents_report(
        &self,
        ctx: &Context<'_>,
        input: DocumentsReportInput,
    ) -> Result<Vec<DocumentsReportRow>> {
        run::<DocumentsReport>(ctx, input).await
    }

    /// Overdue money per property on a day (today if not given), by days past the due date:
    /// 1-30, 31-60, 61-90, over 90. CSV: `/reports/arrears.csv`.
    async fn arrears_report(
        &self,
        ctx: &Context<'_>,
        input: ArrearsReportInput,
    ) -> Result<Vec<ArrearsReportRow>> {
        run::<ArrearsReport>(ctx, input).await
    }

    /// Invoices issued and payments booked per property and month (or week) of the range.
    /// CSV: `/reports/invoicing.csv`.
    async fn invoicing_report(
        &self,
        ctx: &Context<'_>,
        input: InvoicingReportInput,
    ) -> Result<Vec<InvoicingReportRow>> {
        run::<InvoicingReport>(ctx, input).await
    }

    /// Money paid in advance per property, now. CSV: `/reports/prepayments.csv`.
    async fn prepayments_report(
        &self,
        ctx: &Context<'_>,
        input: PrepaymentsReportInput,
    ) -> Result<Vec<PrepaymentsReportRow>> {
        run::<PrepaymentsReport>(ctx, input).await
    }

    /// How much of what each bookable resource offered over the range was held: sauna shifts,
    /// parking space-days, laundry and common room hours. CSV: `/reports/booking-utilisation.csv`.
    async fn booking_utilisation_report(
        &self,
        ctx: &Context<'_>,
        input: BookingUtilisationReportInput,
    ) -> Result<Vec<BookingUtilisationReportRow>> {
        run::<BookingUtilisationReport>(ctx, input).await
    }

    /// Each parking area's spaces and queue now. CSV: `/reports/parking-queues.csv`.
    async fn parking_queue_report(
        &self,
        ctx: &Context<'_>,
        input: ParkingQueueReportInput,
    ) -> Result<Vec<ParkingQueueReportRow>> {
        run::<ParkingQueueReport>(ctx, input).await
    }

    /// Announcements published in the range, per targeted property, with how many of their
    /// audience (everyone living on a targeted apartment while it was shown) read them.
    /// CSV: `/reports/announcement-reads.csv`.
    async fn announcement_reads_report(
        &self,
        ctx: &Context<'_>,
        input: AnnouncementReadsReportInput,
    ) -> Result<Vec<AnnouncementReadsReportRow>> {
        run::<AnnouncementReadsReport>(ctx, input).await
    }

    /// Notifications queued in the range per property and channel, with delivery attempts and
    /// failures. CSV: `/reports/notification-delivery.csv`.
    async fn notification_delivery_report(
        &self,
        ctx: &Context<'_>,
        input: NotificationDeliveryReportInput,
    ) -> Result<Vec<NotificationDeliveryReportRow>> {
        run::<NotificationDeliveryReport>(ctx, input).await
    }

    /// Housing offers per property: made, accepted, declined and expired in the range.
    /// CSV: `/reports/housing-offers.csv`.
    async fn housing_offers_report(
        &self,
        ctx: &Context<'_>,
        input: HousingOffersReportInput,
    ) -> Result<Vec<HousingOffersReportRow>> {
        run::<HousingOffersReport>(ctx, input).await
    }
}
