//! Managers' operational reports. Each report is one [`Report`]: an input (a date range and
//! filters), a fixed row shape, and one `run` that computes the rows from the live read models.
//! GraphQL (`graphql/reports.rs`) and the CSV download (`reports_http.rs`) both call `run`, so a
//! downloaded file holds exactly the numbers the API answers.
//!
//! Who sees what: office staff (property managers, technical managers, customer service) see the
//! properties they work for, auditors every property of their organisation; everyone else is
//! refused. [`ReportScope`] is that rule, applied to every row.
//!
//! Adding a report: a module here with its input, row and `Report` impl, one resolver in
//! `graphql/reports.rs` and one line in [`csv_for`].

pub mod bookings;
pub mod communication;
pub mod csv;
pub mod documents;
pub mod money;
pub mod names;
mod properties;
pub mod range;
pub mod work_items;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use talo_domain::access::Principal;
use uuid::Uuid;

use crate::error::ApiError;
use crate::talo::Talo;

pub use range::{Period, ReportRange};

/// One operational report.
pub trait Report {
    /// The name in the download address: `/reports/{NAME}.csv`.
    const NAME: &'static str;
    /// Deserialised from the download's query string with the same (camelCase) names as the
    /// GraphQL input's fields.
    type Input: DeserializeOwned + Send + 'static;
    /// One row; serialised with the same names and values as GraphQL answers them.
    type Row: Serialize + Send + 'static;
    /// Whether a run is long enough to be worth a thread of its own. A run on an async worker
    /// holds up every request and projection task queued there: with a year's invoicing report
    /// (120-200 ms on 35,000 contracts) asked without pause, other requests' p99 was 70-100 ms
    /// on two cores. A hand-off to the blocking pool costs a short report more than it saves:
    /// the flow report (10 ms) answered 165 instead of 117 times a second inline. Set for the
    /// reports that took over 50 ms on a ten-million-event organisation over a long range
    /// (BENCHMARKS.md, nineteenth part).
    const ON_BLOCKING_POOL: bool = false;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: Self::Input,
    ) -> Result<Vec<Self::Row>, ApiError>;
}

/// Whose numbers a caller may read: the properties of their organisation they work for in an
/// office role, or all of them for an auditor.
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub principal: Principal,
}

impl ReportScope {
    /// The scope of a report reader, or FORBIDDEN for residents, boards and contractors.
    pub fn of(principal: Principal) -> Result<Self, ApiError> {
        if !(principal.is_office_staff() || principal.is_auditor()) {
            return Err(ApiError::Rejected(talo_domain::Rejection::forbidden(
                "report.forbidden",
                "reports are for office staff and auditors",
            )));
        }
        Ok(ReportScope { principal })
    }

    pub fn organisation_id(&self) -> Uuid {
        self.principal.organisation_id
    }

    /// Whether the caller may read the numbers of this property.
    pub fn sees(&self, property_id: Uuid) -> bool {
        self.principal.is_auditor() || self.principal.office_role_for(property_id).is_some()
    }

    /// Whether a row of this property passes both the scope and an optional property filter.
    pub fn includes(&self, property_id: Uuid, filter: Option<Uuid>) -> bool {
        self.sees(property_id) && filter.is_none_or(|p| p == property_id)
    }
}

/// Runs a report for a signed-in caller: the scope, then the report.
pub fn run<R: Report>(
    talo: &Talo,
    principal: Principal,
    now: DateTime<Utc>,
    input: R::Input,
) -> Result<Vec<R::Row>, ApiError> {
    let scope = ReportScope::of(principal)?;
    R::run(talo, &scope, now, input)
}

/// The CSV download of the report named `name`, or `None` if there is no such report.
pub fn csv_for(
    name: &str,
    talo: &Talo,
    principal: Principal,
    now: DateTime<Utc>,
    query: &str,
) -> Option<Result<String, ApiError>> {
    fn render<R: Report>(
        talo: &Talo,
        principal: Principal,
        now: DateTime<Utc>,
        query: &str,
    ) -> Result<String, ApiError> {
        let input = csv::parse_query::<R::Input>(query)?;
        let rows = run::<R>(talo, principal, now, input)?;
        csv::render(&rows)
    }
    type Render = fn(&Talo, Principal, DateTime<Utc>, &str) -> Result<String, ApiError>;
    use work_items::*;
    let all: &[(&str, Render)] = &[
        (QueueReport::NAME, render::<QueueReport>),
        (WorkItemsReport::NAME, render::<WorkItemsReport>),
        (ServiceLevelReport::NAME, render::<ServiceLevelReport>),
        (FlowReport::NAME, render::<FlowReport>),
        (ContractorReport::NAME, render::<ContractorReport>),
        (ChannelMixReport::NAME, render::<ChannelMixReport>),
        (
            documents::DocumentsReport::NAME,
            render::<documents::DocumentsReport>,
        ),
        (money::ArrearsReport::NAME, render::<money::ArrearsReport>),
        (
            money::InvoicingReport::NAME,
            render::<money::InvoicingReport>,
        ),
        (
            money::PrepaymentsReport::NAME,
            render::<money::PrepaymentsReport>,
        ),
        (
            bookings::BookingUtilisationReport::NAME,
            render::<bookings::BookingUtilisationReport>,
        ),
        (
            bookings::ParkingQueueReport::NAME,
            render::<bookings::ParkingQueueReport>,
        ),
        (
            communication::AnnouncementReadsReport::NAME,
            render::<communication::AnnouncementReadsReport>,
        ),
        (
            communication::NotificationDeliveryReport::NAME,
            render::<communication::NotificationDeliveryReport>,
        ),
        (
            communication::HousingOffersReport::NAME,
            render::<communication::HousingOffersReport>,
        ),
    ];
    let (_, render) = all.iter().find(|(n, _)| *n == name)?;
    Some(render(talo, principal, now, query))
}
