//! Fault reports in GraphQL: the report as each role sees it, the resident's list, the office
//! queue, the contractor's work list, the operational report, and one mutation per step.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::access::Principal;
use talo_domain::fault_report::{FaultReportCommand as Step, ReportFault, Viewer};
use talo_domain::register::Register;
use talo_events_schema::envelope::Channel;
use talo_events_schema::fault_report::{FaultLocation, PetsOnPremises, TimeWindow};
use talo_projections::fault_reports::{
    FaultReportRecord, OperationalRow, QueueFilter, ReportGrouping,
};
use uuid::Uuid;

use super::enums::*;
use super::pagination::{Order, Page, paginate, sort_key};
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};

/// A fault report as one caller may see it: residents see shared notes only.
pub struct FaultReportNode {
    record: FaultReportRecord,
    viewer: Viewer,
    /// Phone, pets and reporter are for the reporter and those who act on the report.
    contact_details: bool,
    now: DateTime<Utc>,
    property_name: String,
    apartment_code: Option<String>,
    building_code: Option<String>,
    contractor_name: Option<String>,
}

impl FaultReportNode {
    fn new(
        record: &FaultReportRecord,
        viewer: Viewer,
        register: &Register,
        now: DateTime<Utc>,
        caller: Uuid,
    ) -> Self {
        let apartment = record
            .apartment_id()
            .and_then(|a| register.apartments.get(&a));
        let building_id = match &record.location {
            FaultLocation::Apartment { .. } => apartment.map(|a| a.building_id),
            FaultLocation::CommonArea { building_id, .. } => *building_id,
        };
        FaultReportNode {
            contact_details: viewer.sees_contact_details(record.reporter_id == caller),
            record: record.clone(),
            viewer,
            now,
            property_name: register
                .properties
                .get(&record.property_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            apartment_code: apartment.map(|a| a.code.clone()),
            building_code: building_id
                .and_then(|b| register.buildings.get(&b))
                .map(|b| b.code.clone()),
            contractor_name: record
                .contractor_company_id
                .and_then(|c| register.contractors.get(&c))
                .map(|c| c.name.clone()),
        }
    }
}

#[derive(SimpleObject)]
pub struct FaultLocationView {
    /// `apartment` or `common_area`.
    kind: String,
    apartment_id: Option<Uuid>,
    apartment_code: Option<String>,
    building_code: Option<String>,
    /// For common areas: "sauna", "stairwell", ...
    area: Option<String>,
}

#[derive(SimpleObject)]
pub struct Pets {
    present: bool,
    details: Option<String>,
}

#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "TimeWindowInput")]
pub struct Window {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

impl From<TimeWindow> for Window {
    fn from(w: TimeWindow) -> Self {
        Window {
            starts_at: w.starts_at,
            ends_at: w.ends_at,
        }
    }
}

impl From<&Window> for TimeWindow {
    fn from(w: &Window) -> Self {
        TimeWindow {
            starts_at: w.starts_at,
            ends_at: w.ends_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct StatusChangeView {
    status: FaultStatusGql,
    at: DateTime<Utc>,
    actor_role: ActorRoleGql,
    channel: ChannelGql,
    /// Global position of the event, for the auditor and for receipts.
    position: String,
    detail: Option<String>,
}

#[derive(SimpleObject)]
pub struct NoteView {
    id: Uuid,
    text: String,
    visibility: NoteVisibilityGql,
    author_role: ActorRoleGql,
    at: DateTime<Utc>,
}

impl From<&talo_projections::fault_reports::Note> for NoteView {
    fn from(n: &talo_projections::fault_reports::Note) -> Self {
        NoteView {
            id: n.note_id,
            text: n.text.clone(),
            visibility: n.visibility.into(),
            author_role: n.author.role.into(),
            at: n.at,
        }
    }
}

#[Object(name = "FaultReport")]
impl FaultReportNode {
    async fn id(&self) -> Uuid {
        self.record.fault_report_id
    }

    /// The number to quote, e.g. `VK-2026-000123`.
    async fn ticket(&self) -> &str {
        &self.record.ticket
    }

    async fn status(&self) -> FaultStatusGql {
        self.record.status.into()
    }

    async fn category(&self) -> FaultCategoryGql {
        self.record.category.into()
    }

    async fn description(&self) -> &str {
        &self.record.description
    }

    async fn property_id(&self) -> Uuid {
        self.record.property_id
    }

    async fn property_name(&self) -> &str {
        &self.property_name
    }

    async fn location(&self) -> FaultLocationView {
        match &self.record.location {
            FaultLocation::Apartment { apartment_id } => FaultLocationView {
                kind: "apartment".into(),
                apartment_id: Some(*apartment_id),
                apartment_code: self.apartment_code.clone(),
                building_code: self.building_code.clone(),
                area: None,
            },
            FaultLocation::CommonArea { area, .. } => FaultLocationView {
                kind: "common_area".into(),
                apartment_id: None,
                apartment_code: None,
                building_code: self.building_code.clone(),
                area: Some(area.clone()),
            },
        }
    }

    async fn permission_to_enter(&self) -> bool {
        self.record.permission_to_enter
    }

    /// Only for the reporter, the office and the assigned contractor.
    async fn pets(&self) -> Option<Pets> {
        self.contact_details.then(|| Pets {
            present: self.record.pets.present,
            details: self.record.pets.details.clone(),
        })
    }

    async fn preferred_visit(&self) -> Option<Window> {
        self.record.preferred_visit.map(Into::into)
    }

    /// Only for the reporter, the office and the assigned contractor.
    async fn contact_phone(&self) -> Option<&str> {
        self.record
            .contact_phone
            .as_deref()
            .filter(|_| self.contact_details)
    }

    /// Only for the reporter, the office and the assigned contractor.
    async fn reporter_id(&self) -> Option<Uuid> {
        self.contact_details.then_some(self.record.reporter_id)
    }

    /// How the report reached the organisation.
    async fn channel(&self) -> ChannelGql {
        self.record.channel.into()
    }

    async fn reported_at(&self) -> DateTime<Utc> {
        self.record.reported_at
    }

    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.record.acknowledged_at
    }

    async fn contractor_company_id(&self) -> Option<Uuid> {
        self.record.contractor_company_id
    }

    async fn contractor_name(&self) -> Option<&str> {
        self.contractor_name.as_deref()
    }

    /// The local (Helsinki) day the contractor promised the fix by.
    async fn promised_by(&self) -> Option<NaiveDate> {
        self.record.promised_by
    }

    /// Open and past its promised-by day.
    async fn overdue(&self) -> bool {
        self.record.is_overdue(self.now)
    }

    /// Seconds since it was reported.
    async fn age_seconds(&self) -> i64 {
        (self.now - self.record.reported_at).num_seconds()
    }

    async fn visit(&self) -> Option<Window> {
        self.record.visit.map(Into::into)
    }

    async fn work_started_at(&self) -> Option<DateTime<Utc>> {
        self.record.work_started_at
    }

    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.record.resolved_at
    }

    async fn work_summary(&self) -> Option<&str> {
        self.record.work_summary.as_deref()
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.record.closed_at
    }

    async fn reopen_count(&self) -> u32 {
        self.record.reopen_count
    }

    /// Every status change, oldest first.
    async fn history(&self) -> Vec<StatusChangeView> {
        self.record
            .history
            .iter()
            .map(|h| StatusChangeView {
                status: h.status.into(),
                at: h.at,
                actor_role: h.actor.role.into(),
                channel: h.channel.into(),
                position: h.position.to_string(),
                detail: h.detail.clone(),
            })
            .collect()
    }

    /// Notes, oldest first; internal notes only for staff and contractors.
    async fn notes(&self) -> Vec<NoteView> {
        self.record
            .notes
            .iter()
            .filter(|n| {
                self.viewer.sees_internal_notes()
                    || n.visibility == talo_events_schema::fault_report::NoteVisibility::Shared
            })
            .map(|n| NoteView {
                id: n.note_id,
                text: n.text.clone(),
                visibility: n.visibility.into(),
                author_role: n.author.role.into(),
                at: n.at,
            })
            .collect()
    }
}

#[derive(InputObject, Default)]
pub struct FaultReportQueueFilter {
    property_id: Option<Uuid>,
    status: Option<FaultStatusGql>,
    #[graphql(default)]
    overdue_only: bool,
    #[graphql(default)]
    unassigned_only: bool,
}

/// One row of the operational report. Times are in seconds.
#[derive(SimpleObject)]
pub struct OperationalReportRow {
    /// The property or contractor company; null groups reports with no contractor yet.
    key_id: Option<Uuid>,
    key_name: Option<String>,
    reported: u32,
    resolved: u32,
    median_seconds_to_acknowledge: Option<i64>,
    p90_seconds_to_acknowledge: Option<i64>,
    median_seconds_to_resolve: Option<i64>,
    p90_seconds_to_resolve: Option<i64>,
    resolved_after_promise: u32,
    reopened: u32,
    /// Reopened per resolved, in per mille.
    reopen_rate_per_mille: u32,
}

#[derive(Default)]
pub struct FaultReportQuery;

/// Loads the caller's principal and register and maps visible records to nodes.
fn with_view<T>(
    session: &Session<'_>,
    f: impl FnOnce(
        &Principal,
        &Register,
        &talo_projections::fault_reports::FaultReportsView,
    ) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        let reports = session.talo.read_models.fault_reports.read();
        f(&principal, register, &reports)
    })
}

#[Object]
impl FaultReportQuery {
    /// One report, if the caller may see it.
    async fn fault_report(&self, ctx: &Context<'_>, id: Uuid) -> Result<FaultReportNode> {
        let session = Session::of(ctx).gql()?;
        with_view(&session, |principal, register, reports| {
            let (record, viewer) = reports
                .visible(principal, id)
                .ok_or_else(|| ApiError::Rejected(talo_domain::fault_report::not_visible()))?;
            Ok(FaultReportNode::new(
                record,
                viewer,
                register,
                session.now,
                session.caller.person_id,
            ))
        })
        .gql()
    }

    /// The caller's own reports (their apartments' and those they filed), newest first.
    async fn my_fault_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<FaultReportNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_view(&session, |principal, register, reports| {
            let records = reports.for_occupant(principal);
            paginate(
                records,
                Order::Descending,
                |r| sort_key(None, r.reported_at, r.fault_report_id),
                first,
                after,
                max,
                |r| {
                    let viewer = talo_domain::fault_report::viewer(principal, &r.access())
                        .unwrap_or(Viewer::Occupant(
                            talo_events_schema::envelope::ActorRole::Resident,
                        ));
                    FaultReportNode::new(r, viewer, register, session.now, session.caller.person_id)
                },
            )
        })
        .gql()
    }

    /// The office queue: open reports in the caller's properties, oldest first.
    async fn fault_report_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<FaultReportQueueFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<FaultReportNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        let filter = filter.unwrap_or_default();
        with_view(&session, |principal, register, reports| {
            if !principal.is_office_staff() {
                return Err(ApiError::Forbidden(
                    "faultReportQueue: only office staff have a queue".into(),
                ));
            }
            let filter = QueueFilter {
                property_id: filter.property_id,
                status: filter.status.map(Into::into),
                overdue_only: filter.overdue_only,
                unassigned_only: filter.unassigned_only,
            };
            let records = reports.queue(principal, &filter, session.now);
            paginate(
                records,
                Order::Ascending,
                |r| sort_key(None, r.reported_at, r.fault_report_id),
                first,
                after,
                max,
                |r| {
                    let viewer = talo_domain::fault_report::viewer(principal, &r.access())
                        .unwrap_or(Viewer::Auditor);
                    FaultReportNode::new(r, viewer, register, session.now, session.caller.person_id)
                },
            )
        })
        .gql()
    }

    /// The contractor's work list: open reports assigned to the caller's company, by promised
    /// day.
    async fn contractor_work_list(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<FaultReportNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_view(&session, |principal, register, reports| {
            if principal.contractor_companies().next().is_none() {
                return Err(ApiError::Forbidden(
                    "contractorWorkList: only contractor workers have a work list".into(),
                ));
            }
            let records = reports.work_list(principal);
            paginate(
                records,
                Order::Ascending,
                |r| sort_key(r.promised_by, r.reported_at, r.fault_report_id),
                first,
                after,
                max,
                |r| {
                    FaultReportNode::new(
                        r,
                        Viewer::Contractor,
                        register,
                        session.now,
                        session.caller.person_id,
                    )
                },
            )
        })
        .gql()
    }

    /// Reported, resolved, times to acknowledge and resolve, promises broken and reopen rate
    /// over `[from, until)`, per property or per contractor.
    async fn fault_report_operational_report(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        group_by: OperationalGroupingGql,
    ) -> Result<Vec<OperationalReportRow>> {
        let session = Session::of(ctx).gql()?;
        with_view(&session, |principal, register, reports| {
            let office = principal.is_office_staff();
            if !office && !principal.is_auditor() {
                return Err(ApiError::Forbidden(
                    "faultReportOperationalReport: for office staff and auditors".into(),
                ));
            }
            if until <= from {
                return Err(ApiError::bad_input(
                    "until",
                    "report.range",
                    "must be after `from`",
                ));
            }
            let grouping = match group_by {
                OperationalGroupingGql::Property => ReportGrouping::Property,
                OperationalGroupingGql::Contractor => ReportGrouping::Contractor,
            };
            Ok(reports
                .operational_report(principal, from, until, grouping)
                .into_iter()
                .map(|row: OperationalRow| OperationalReportRow {
                    key_name: row.key.and_then(|k| match grouping {
                        ReportGrouping::Property => {
                            register.properties.get(&k).map(|p| p.name.clone())
                        }
                        ReportGrouping::Contractor => {
                            register.contractors.get(&k).map(|c| c.name.clone())
                        }
                    }),
                    key_id: row.key,
                    reported: row.reported,
                    resolved: row.resolved,
                    median_seconds_to_acknowledge: row.median_seconds_to_acknowledge,
                    p90_seconds_to_acknowledge: row.p90_seconds_to_acknowledge,
                    median_seconds_to_resolve: row.median_seconds_to_resolve,
                    p90_seconds_to_resolve: row.p90_seconds_to_resolve,
                    resolved_after_promise: row.resolved_after_promise,
                    reopened: row.reopened,
                    reopen_rate_per_mille: row.reopen_rate_per_mille,
                })
                .collect())
        })
        .gql()
    }
}

/// What a mutation on a fault report returns: the report as it is now, and where the change
/// was recorded.
#[derive(SimpleObject)]
pub struct FaultReportPayload {
    fault_report: FaultReportNode,
    /// Global position of the change in the log.
    position: String,
    /// True when this idempotency key had been used: the earlier result is returned and
    /// nothing new was recorded.
    replayed: bool,
}

#[derive(InputObject)]
pub struct CommonAreaInput {
    property_id: Uuid,
    building_id: Option<Uuid>,
    /// "sauna", "stairwell", "yard", ...
    area: String,
}

#[derive(InputObject)]
pub struct PetsInput {
    present: bool,
    details: Option<String>,
}

#[derive(InputObject)]
pub struct ReportFaultInput {
    /// Chosen by the client; a retried request with the same key records nothing new.
    idempotency_key: String,
    /// A fault in an apartment. Give this or `commonArea`.
    apartment_id: Option<Uuid>,
    /// A fault in a common area of a property.
    common_area: Option<CommonAreaInput>,
    category: FaultCategoryGql,
    description: String,
    /// The contractor may enter with a master key.
    #[graphql(default)]
    permission_to_enter: bool,
    pets: Option<PetsInput>,
    preferred_visit: Option<Window>,
    contact_phone: Option<String>,
    /// Office staff filing for a resident: the resident. Defaults to the caller.
    on_behalf_of: Option<Uuid>,
    /// How the report came in: PORTAL, or PHONE/EMAIL/OFFICE when filed for a resident.
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct FaultReportStepInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct AssignFaultReportInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    contractor_company_id: Uuid,
    /// The local day the contractor promises the fix by.
    promised_by: NaiveDate,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct ScheduleFaultReportVisitInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    visit: Window,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct AddFaultReportNoteInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    text: String,
    /// Residents' notes are always SHARED.
    #[graphql(default_with = "NoteVisibilityGql::Shared")]
    visibility: NoteVisibilityGql,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct ResolveFaultReportInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    work_summary: String,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct FaultReportReasonInput {
    idempotency_key: String,
    fault_report_id: Uuid,
    reason: String,
    channel: Option<ChannelGql>,
}

#[derive(Default)]
pub struct FaultReportMutation;

fn channel(c: Option<ChannelGql>) -> Channel {
    c.map_or(Channel::Portal, Into::into)
}

/// What every step's input carries besides the step itself.
trait StepInput {
    fn target(&self) -> (&str, Uuid, Option<ChannelGql>);
}

macro_rules! step_inputs {
    ($($input:ty),*) => {$(
        impl StepInput for $input {
            fn target(&self) -> (&str, Uuid, Option<ChannelGql>) {
                (&self.idempotency_key, self.fault_report_id, self.channel)
            }
        }
    )*};
}

step_inputs!(
    FaultReportStepInput,
    AssignFaultReportInput,
    ScheduleFaultReportVisitInput,
    AddFaultReportNoteInput,
    ResolveFaultReportInput,
    FaultReportReasonInput
);

impl FaultReportMutation {
    async fn step(
        ctx: &Context<'_>,
        input: &impl StepInput,
        step: Step,
    ) -> Result<FaultReportPayload> {
        let run = async {
            let (key, id, ch) = input.target();
            let session = Session::of(ctx)?;
            let request = session.request(channel(ch), key)?;
            let outcome = session
                .talo
                .dispatcher
                .fault_report_step(&request, id, step)
                .await?;
            payload(&session, id, outcome)
        };
        run.await.gql()
    }
}

fn payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: Outcome,
) -> Result<FaultReportPayload, ApiError> {
    with_view(session, |principal, register, reports| {
        let (record, viewer) = reports
            .visible(principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::fault_report::not_visible()))?;
        Ok(FaultReportPayload {
            fault_report: FaultReportNode::new(
                record,
                viewer,
                register,
                session.now,
                session.caller.person_id,
            ),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

#[Object]
impl FaultReportMutation {
    /// Files a fault report; the answer carries its ticket number.
    async fn report_fault(
        &self,
        ctx: &Context<'_>,
        input: ReportFaultInput,
    ) -> Result<FaultReportPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let (property_id, location) = match (input.apartment_id, input.common_area) {
                (Some(apartment_id), None) => {
                    let property = session.talo.with_register(session.caller, |r| {
                        r.apartments
                            .get(&apartment_id)
                            .map(|a| a.property_id)
                            .ok_or_else(|| {
                                ApiError::NotFound(format!(
                                    "apartmentId: no apartment {apartment_id}"
                                ))
                            })
                    })?;
                    (property, FaultLocation::Apartment { apartment_id })
                }
                (None, Some(area)) => (
                    area.property_id,
                    FaultLocation::CommonArea {
                        building_id: area.building_id,
                        area: area.area,
                    },
                ),
                _ => {
                    return Err(ApiError::bad_input(
                        "apartmentId",
                        "fault_report.one_location",
                        "give exactly one of `apartmentId` and `commonArea`",
                    ));
                }
            };
            let fault_report_id = request.new_entity_id("fault-report");
            let command = ReportFault {
                fault_report_id,
                property_id,
                location,
                category: input.category.into(),
                description: input.description,
                permission_to_enter: input.permission_to_enter,
                pets: input.pets.map_or(
                    PetsOnPremises {
                        present: false,
                        details: None,
                    },
                    |p| PetsOnPremises {
                        present: p.present,
                        details: p.details,
                    },
                ),
                preferred_visit: input.preferred_visit.as_ref().map(Into::into),
                contact_phone: input.contact_phone,
                reporter_id: input.on_behalf_of.unwrap_or(session.caller.person_id),
            };
            let outcome = session
                .talo
                .dispatcher
                .report_fault(&request, command)
                .await?;
            payload(&session, fault_report_id, outcome)
        };
        run.await.gql()
    }

    /// The office has seen the report (the first promise to the resident).
    async fn acknowledge_fault_report(
        &self,
        ctx: &Context<'_>,
        input: FaultReportStepInput,
    ) -> Result<FaultReportPayload> {
        Self::step(ctx, &input, Step::Acknowledge).await
    }

    /// Makes the report a work order for a contractor, with the day they promise the fix by.
    async fn assign_fault_report(
        &self,
        ctx: &Context<'_>,
        input: AssignFaultReportInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::Assign {
            contractor_company_id: input.contractor_company_id,
            promised_by: input.promised_by,
        };
        Self::step(ctx, &input, step).await
    }

    async fn schedule_fault_report_visit(
        &self,
        ctx: &Context<'_>,
        input: ScheduleFaultReportVisitInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::ScheduleVisit {
            visit: (&input.visit).into(),
        };
        Self::step(ctx, &input, step).await
    }

    async fn start_fault_report_work(
        &self,
        ctx: &Context<'_>,
        input: FaultReportStepInput,
    ) -> Result<FaultReportPayload> {
        Self::step(ctx, &input, Step::StartWork).await
    }

    async fn add_fault_report_note(
        &self,
        ctx: &Context<'_>,
        input: AddFaultReportNoteInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::AddNote {
            note_id: Uuid::now_v7(),
            text: input.text.clone(),
            visibility: input.visibility.into(),
        };
        Self::step(ctx, &input, step).await
    }

    async fn resolve_fault_report(
        &self,
        ctx: &Context<'_>,
        input: ResolveFaultReportInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::Resolve {
            work_summary: input.work_summary.clone(),
        };
        Self::step(ctx, &input, step).await
    }

    /// The resident confirms the fix; the report closes.
    async fn confirm_fault_report(
        &self,
        ctx: &Context<'_>,
        input: FaultReportStepInput,
    ) -> Result<FaultReportPayload> {
        Self::step(ctx, &input, Step::Confirm).await
    }

    /// The fix did not hold: the resident reopens the report within the organisation's window.
    async fn reopen_fault_report(
        &self,
        ctx: &Context<'_>,
        input: FaultReportReasonInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::Reopen {
            reason: input.reason.clone(),
        };
        Self::step(ctx, &input, step).await
    }

    /// The reporter withdraws the report before work starts.
    async fn cancel_fault_report(
        &self,
        ctx: &Context<'_>,
        input: FaultReportReasonInput,
    ) -> Result<FaultReportPayload> {
        let step = Step::Cancel {
            reason: input.reason.clone(),
        };
        Self::step(ctx, &input, step).await
    }
}
