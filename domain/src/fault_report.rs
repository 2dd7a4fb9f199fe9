//! The fault report (vikailmoitus): reported by a resident (or by customer service on their
//! behalf), acknowledged by the office, assigned to a contractor with a promised-by date, visited,
//! worked, resolved, and then confirmed or reopened by the resident. Every step is an event;
//! every step that is not allowed is a [`Rejection`] naming its rule.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::fault_report::*;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::access::{CaseAccess, auditor_read_only, is_on_behalf_channel};
use crate::calendar::local_date;
pub use crate::decision::{Context, Decision};
use crate::rejection::{Rejection, require_text};

pub const MAX_DESCRIPTION: usize = 4000;
pub const MAX_NOTE: usize = 4000;
pub const MAX_REASON: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultStatus {
    Reported,
    Acknowledged,
    Assigned,
    VisitScheduled,
    InProgress,
    Resolved,
    Confirmed,
    Reopened,
    Cancelled,
}

impl FaultStatus {
    /// Closed reports take no more steps or notes.
    pub fn is_closed(self) -> bool {
        matches!(self, FaultStatus::Confirmed | FaultStatus::Cancelled)
    }

    /// Still waiting for someone to act (the queue shows these).
    pub fn is_open(self) -> bool {
        !self.is_closed() && self != FaultStatus::Resolved
    }

    /// The status an event leads to, if it changes the status.
    pub fn after(event: &DomainEvent) -> Option<FaultStatus> {
        Some(match event {
            DomainEvent::FaultReported(_) => FaultStatus::Reported,
            DomainEvent::FaultReportAcknowledged(_) => FaultStatus::Acknowledged,
            DomainEvent::FaultReportAssigned(_) => FaultStatus::Assigned,
            DomainEvent::FaultReportVisitScheduled(_) => FaultStatus::VisitScheduled,
            DomainEvent::FaultReportWorkStarted(_) => FaultStatus::InProgress,
            DomainEvent::FaultReportResolved(_) => FaultStatus::Resolved,
            DomainEvent::FaultReportConfirmed(_) => FaultStatus::Confirmed,
            DomainEvent::FaultReportReopened(_) => FaultStatus::Reopened,
            DomainEvent::FaultReportCancelled(_) => FaultStatus::Cancelled,
            _ => return None,
        })
    }
}

/// What the rules need to know about one report, folded from its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultReport {
    pub fault_report_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Option<Uuid>,
    pub reporter_id: Uuid,
    /// The local day it was reported.
    pub reported_on: NaiveDate,
    pub status: FaultStatus,
    pub contractor_company_id: Option<Uuid>,
    /// The current promise; a reopened report has none until it is assigned again.
    pub promised_by: Option<NaiveDate>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl FaultReport {
    /// Folds the events of one report's stream, oldest first, with their business times.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (&'a DomainEvent, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut state: Option<FaultReport> = None;
        for (event, at) in events {
            match (&mut state, event) {
                (None, DomainEvent::FaultReported(e)) => {
                    state = Some(FaultReport {
                        fault_report_id: e.fault_report_id,
                        property_id: e.property_id,
                        apartment_id: match e.location {
                            FaultLocation::Apartment { apartment_id } => Some(apartment_id),
                            FaultLocation::CommonArea { .. } => None,
                        },
                        reporter_id: e.reporter_id,
                        reported_on: local_date(at),
                        status: FaultStatus::Reported,
                        contractor_company_id: None,
                        promised_by: None,
                        resolved_at: None,
                    })
                }
                (Some(s), event) => s.apply(event, at),
                (None, _) => {}
            }
        }
        state
    }

    fn apply(&mut self, event: &DomainEvent, at: DateTime<Utc>) {
        if let Some(status) = FaultStatus::after(event) {
            self.status = status;
        }
        match event {
            DomainEvent::FaultReportAssigned(e) => {
                self.contractor_company_id = Some(e.contractor_company_id);
                self.promised_by = Some(e.promised_by);
            }
            DomainEvent::FaultReportResolved(_) => self.resolved_at = Some(at),
            DomainEvent::FaultReportReopened(_) => self.promised_by = None,
            _ => {}
        }
    }
}

/// The facts about a report that decide who may see it (see [`crate::access::case_viewer`]).
pub type FaultReportAccess = CaseAccess;

/// Whether and how `principal` may see a report.
pub use crate::access::{Viewer, case_viewer as viewer};

impl From<&FaultReport> for FaultReportAccess {
    fn from(r: &FaultReport) -> Self {
        FaultReportAccess {
            property_id: r.property_id,
            apartment_id: r.apartment_id,
            reporter_id: r.reporter_id,
            reported_on: r.reported_on,
            contractor_company_id: r.contractor_company_id,
        }
    }
}

/// A new report, before it has a ticket number.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFault {
    pub fault_report_id: Uuid,
    pub property_id: Uuid,
    pub location: FaultLocation,
    pub category: FaultCategory,
    pub description: String,
    pub permission_to_enter: bool,
    pub pets: PetsOnPremises,
    pub preferred_visit: Option<TimeWindow>,
    pub contact_phone: Option<String>,
    /// The resident the report is for: the actor themselves, or the person customer service
    /// is helping.
    pub reporter_id: Uuid,
}

/// A step on an existing report.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultReportCommand {
    Acknowledge,
    Assign {
        contractor_company_id: Uuid,
        promised_by: NaiveDate,
    },
    ScheduleVisit {
        visit: TimeWindow,
    },
    StartWork,
    AddNote {
        note_id: Uuid,
        text: String,
        visibility: NoteVisibility,
    },
    Resolve {
        work_summary: String,
    },
    Confirm,
    Reopen {
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

/// Checks a new report and names the role the actor files it in. Call before issuing a ticket
/// number, so a refused report does not use one up.
pub fn check_report(command: &ReportFault, ctx: &Context<'_>) -> Result<ActorRole, Rejection> {
    ctx.principal.refuse_auditor()?;
    let property = ctx
        .register
        .properties
        .get(&command.property_id)
        .ok_or_else(|| {
            Rejection::not_found(
                "property_id",
                "fault_report.property_unknown",
                "no such property",
            )
        })?;
    require_text("description", &command.description, MAX_DESCRIPTION)?;
    if let Some(phone) = &command.contact_phone {
        check_phone(phone)?;
    }
    if let Some(details) = &command.pets.details {
        require_text("pets.details", details, 500)?;
    }
    if let Some(visit) = command.preferred_visit {
        check_window("preferred_visit", visit)?;
        if visit.ends_at <= ctx.occurred_at {
            return Err(Rejection::invalid(
                "preferred_visit",
                "time_window.in_past",
                "must end in the future",
            ));
        }
    }
    let today = local_date(ctx.occurred_at);
    let occupant_of_location = |person: Uuid| -> bool {
        match &command.location {
            FaultLocation::Apartment { apartment_id } => ctx
                .register
                .occupants(*apartment_id, today)
                .any(|c| c.person_id == person),
            FaultLocation::CommonArea { .. } => ctx.register.contracts_of(person).any(|c| {
                c.is_active_on(today)
                    && ctx
                        .register
                        .apartments
                        .get(&c.apartment_id)
                        .is_some_and(|a| a.property_id == property.property_id)
            }),
        }
    };
    match &command.location {
        FaultLocation::Apartment { apartment_id } => {
            let apartment = ctx
                .register
                .apartments
                .get(apartment_id)
                .filter(|a| a.property_id == property.property_id);
            if apartment.is_none() {
                return Err(Rejection::not_found(
                    "location.apartment_id",
                    "fault_report.apartment_unknown",
                    "no such apartment in the property",
                ));
            }
        }
        FaultLocation::CommonArea { building_id, area } => {
            require_text("location.area", area, 200)?;
            if let Some(b) = building_id
                && ctx
                    .register
                    .buildings
                    .get(b)
                    .is_none_or(|b| b.property_id != property.property_id)
            {
                return Err(Rejection::not_found(
                    "location.building_id",
                    "fault_report.building_unknown",
                    "no such building in the property",
                ));
            }
        }
    }
    if command.reporter_id == ctx.principal.person_id {
        if !occupant_of_location(command.reporter_id) {
            // Staff may report common-area faults they notice themselves.
            if let (FaultLocation::CommonArea { .. }, Some(role)) = (
                &command.location,
                ctx.principal.office_role_for(property.property_id),
            ) {
                return Ok(role);
            }
            return Err(Rejection::forbidden(
                "fault_report.report_own_home_only",
                "you may report faults only in your own apartment or its property's common areas",
            ));
        }
        let role = match &command.location {
            FaultLocation::Apartment { apartment_id } => ctx.principal.home_role(*apartment_id),
            FaultLocation::CommonArea { .. } => {
                ctx.principal.occupant_role_in(property.property_id)
            }
        };
        return Ok(role.unwrap_or(ActorRole::Resident));
    }
    // On someone's behalf: only the office, only for an occupant, and the channel says how the
    // resident got in touch.
    let role = ctx
        .principal
        .office_role_for(property.property_id)
        .ok_or_else(|| {
            Rejection::forbidden(
                "fault_report.on_behalf_requires_office",
                "only the office may file a report on someone else's behalf",
            )
        })?;
    if !is_on_behalf_channel(ctx.channel) {
        return Err(Rejection::invalid(
            "channel",
            "fault_report.on_behalf_channel",
            "a report filed on a resident's behalf must say how they got in touch: phone, email or office",
        ));
    }
    if !occupant_of_location(command.reporter_id) {
        return Err(Rejection::invalid(
            "reporter_id",
            "fault_report.reporter_not_occupant",
            "the reporter must live in or own the apartment (or an apartment of the property, for common areas)",
        ));
    }
    Ok(role)
}

/// Files a checked report under the ticket number issued for it.
pub fn report(
    command: ReportFault,
    ticket: &TicketNumberIssued,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let role = check_report(&command, ctx)?;
    Ok(Decision {
        role,
        events: vec![DomainEvent::FaultReported(FaultReported {
            fault_report_id: command.fault_report_id,
            ticket: ticket.ticket.clone(),
            property_id: command.property_id,
            location: command.location,
            category: command.category,
            description: command.description,
            permission_to_enter: command.permission_to_enter,
            pets: command.pets,
            preferred_visit: command.preferred_visit,
            contact_phone: command.contact_phone,
            reporter_id: command.reporter_id,
        })],
    })
}

/// Decides a step on an existing report.
pub fn decide(
    report: &FaultReport,
    command: FaultReportCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    use FaultReportCommand as C;
    use FaultStatus as S;
    ctx.principal.refuse_auditor()?;
    let access = FaultReportAccess::from(report);
    let viewer = viewer(ctx.principal, &access).ok_or_else(not_visible)?;
    match viewer {
        Viewer::Auditor => return Err(auditor_read_only()),
        Viewer::PastReporter => {
            return Err(Rejection::forbidden(
                "fault_report.no_longer_occupant",
                "you no longer live in or own the apartment; contact the office",
            ));
        }
        _ => {}
    }
    let id = report.fault_report_id;
    if report.status.is_closed() {
        return Err(Rejection::transition(
            "fault_report.closed",
            format!(
                "the report is {} and takes no more steps",
                status_word(report.status)
            ),
        ));
    }
    let event: DomainEvent = match command {
        C::Acknowledge => {
            office_only(viewer, "acknowledge")?;
            expect_status(
                report,
                &[S::Reported],
                "fault_report.acknowledge_once",
                "only a newly reported fault can be acknowledged",
            )?;
            FaultReportAcknowledged {
                fault_report_id: id,
            }
            .into()
        }
        C::Assign {
            contractor_company_id,
            promised_by,
        } => {
            office_only(viewer, "assign")?;
            if report.status == S::Reported {
                return Err(Rejection::transition(
                    "fault_report.assign_before_acknowledge",
                    "acknowledge the report before assigning it",
                ));
            }
            expect_status(
                report,
                &[S::Acknowledged, S::Assigned, S::VisitScheduled, S::Reopened],
                "fault_report.assign_after_work_started",
                "a report cannot be reassigned once work has started or it is resolved",
            )?;
            if !ctx
                .register
                .contractors
                .contains_key(&contractor_company_id)
            {
                return Err(Rejection::not_found(
                    "contractor_company_id",
                    "fault_report.contractor_unknown",
                    "no such contractor company",
                ));
            }
            if promised_by < local_date(ctx.occurred_at) {
                return Err(Rejection::invalid(
                    "promised_by",
                    "fault_report.promise_in_past",
                    "must not be before today",
                ));
            }
            FaultReportAssigned {
                fault_report_id: id,
                contractor_company_id,
                promised_by,
            }
            .into()
        }
        C::ScheduleVisit { visit } => {
            field_party(viewer, "schedule a visit")?;
            needs_contractor(report)?;
            expect_status(
                report,
                &[S::Assigned, S::VisitScheduled, S::Reopened],
                "fault_report.schedule_before_work",
                "a visit can be scheduled only before work starts",
            )?;
            check_window("visit", visit)?;
            FaultReportVisitScheduled {
                fault_report_id: id,
                visit,
            }
            .into()
        }
        C::StartWork => {
            field_party(viewer, "start work")?;
            needs_contractor(report)?;
            expect_status(
                report,
                &[S::Assigned, S::VisitScheduled, S::Reopened],
                "fault_report.start_once",
                "work can start only on an assigned report that is not yet in progress",
            )?;
            FaultReportWorkStarted {
                fault_report_id: id,
            }
            .into()
        }
        C::AddNote {
            note_id,
            text,
            visibility,
        } => {
            require_text("text", &text, MAX_NOTE)?;
            if visibility == NoteVisibility::Internal && !viewer.sees_internal_notes() {
                return Err(Rejection::invalid(
                    "visibility",
                    "fault_report.resident_notes_shared",
                    "residents' notes are always shared",
                ));
            }
            FaultReportNoteAdded {
                fault_report_id: id,
                note_id,
                text,
                visibility,
            }
            .into()
        }
        C::Resolve { work_summary } => {
            field_party(viewer, "resolve")?;
            expect_status(
                report,
                &[S::InProgress],
                "fault_report.resolve_before_work",
                "start work before resolving the report",
            )?;
            require_text("work_summary", &work_summary, MAX_NOTE)?;
            FaultReportResolved {
                fault_report_id: id,
                work_summary,
            }
            .into()
        }
        C::Confirm => {
            resident_or_office_on_behalf(viewer, ctx.channel, "confirm")?;
            expect_status(
                report,
                &[S::Resolved],
                "fault_report.confirm_unresolved",
                "only a resolved report can be confirmed",
            )?;
            FaultReportConfirmed {
                fault_report_id: id,
            }
            .into()
        }
        C::Reopen { reason } => {
            resident_or_office_on_behalf(viewer, ctx.channel, "reopen")?;
            expect_status(
                report,
                &[S::Resolved],
                "fault_report.reopen_unresolved",
                "only a resolved report can be reopened",
            )?;
            let window = ctx.register.reopen_window_days();
            let resolved_at = report.resolved_at.unwrap_or(ctx.occurred_at);
            if ctx.occurred_at > resolved_at + Duration::days(i64::from(window)) {
                return Err(Rejection::transition(
                    "fault_report.reopen_window_passed",
                    format!(
                        "a report can be reopened within {window} days of its resolution; file a new report"
                    ),
                ));
            }
            require_text("reason", &reason, MAX_REASON)?;
            FaultReportReopened {
                fault_report_id: id,
                reason,
            }
            .into()
        }
        C::Cancel { reason } => {
            let is_reporter = report.reporter_id == ctx.principal.person_id;
            match viewer {
                Viewer::Occupant(_) if is_reporter => {}
                // The office withdraws a report when the reporter asks by phone, email or
                // at the office, like every other step taken on a resident's behalf.
                Viewer::Office(_) => resident_or_office_on_behalf(viewer, ctx.channel, "cancel")?,
                _ => {
                    return Err(Rejection::forbidden(
                        "fault_report.cancel_by_reporter",
                        "only the reporter (or the office on their behalf) may cancel a report",
                    ));
                }
            }
            expect_status(
                report,
                &[
                    S::Reported,
                    S::Acknowledged,
                    S::Assigned,
                    S::VisitScheduled,
                    S::Reopened,
                ],
                "fault_report.cancel_after_work_started",
                "a report cannot be cancelled once work has started",
            )?;
            require_text("reason", &reason, MAX_REASON)?;
            FaultReportCancelled {
                fault_report_id: id,
                reason,
            }
            .into()
        }
    };
    Ok(Decision {
        events: vec![event],
        role: viewer.role(),
    })
}

/// The one answer for a report that does not exist, is in another organisation, or is not the
/// caller's to see, so the answer does not tell which.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "fault_report_id",
        "fault_report.not_visible",
        "no such fault report",
    )
}

fn status_word(status: FaultStatus) -> &'static str {
    match status {
        FaultStatus::Confirmed => "confirmed",
        FaultStatus::Cancelled => "cancelled",
        _ => "open",
    }
}

fn office_only(viewer: Viewer, what: &str) -> Result<(), Rejection> {
    match viewer {
        Viewer::Office(_) => Ok(()),
        _ => Err(Rejection::forbidden(
            "fault_report.office_only",
            format!("only the property's office staff may {what} a report"),
        )),
    }
}

fn field_party(viewer: Viewer, what: &str) -> Result<(), Rejection> {
    match viewer {
        Viewer::Office(_) | Viewer::Contractor => Ok(()),
        _ => Err(Rejection::forbidden(
            "fault_report.contractor_or_office_only",
            format!("only the assigned contractor or the office may {what}"),
        )),
    }
}

fn resident_or_office_on_behalf(
    viewer: Viewer,
    channel: Channel,
    what: &str,
) -> Result<(), Rejection> {
    match viewer {
        Viewer::Occupant(_) => Ok(()),
        Viewer::Office(_) if is_on_behalf_channel(channel) => Ok(()),
        Viewer::Office(_) => Err(Rejection::invalid(
            "channel",
            "fault_report.on_behalf_channel",
            format!(
                "the office may {what} on a resident's behalf only for a contact by phone, email or office visit"
            ),
        )),
        _ => Err(Rejection::forbidden(
            "fault_report.resident_only",
            format!("only the resident may {what} the fix"),
        )),
    }
}

fn needs_contractor(report: &FaultReport) -> Result<(), Rejection> {
    if report.contractor_company_id.is_none() {
        return Err(Rejection::transition(
            "fault_report.not_assigned",
            "assign the report to a contractor first",
        ));
    }
    Ok(())
}

fn expect_status(
    report: &FaultReport,
    allowed: &[FaultStatus],
    rule: &'static str,
    why: &str,
) -> Result<(), Rejection> {
    if allowed.contains(&report.status) {
        Ok(())
    } else {
        Err(Rejection::transition(
            rule,
            format!("{why} (the report is {:?})", report.status),
        ))
    }
}

fn check_window(field: &'static str, window: TimeWindow) -> Result<(), Rejection> {
    if window.ends_at <= window.starts_at {
        return Err(Rejection::invalid(
            field,
            "time_window.ends_after_start",
            "must end after it starts",
        ));
    }
    if window.ends_at - window.starts_at > Duration::days(31) {
        return Err(Rejection::invalid(
            field,
            "time_window.at_most_31_days",
            "must be at most 31 days long",
        ));
    }
    Ok(())
}

fn check_phone(phone: &str) -> Result<(), Rejection> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (i == 0 && c == '+'));
    if !allowed || !(5..=15).contains(&digits) {
        return Err(Rejection::invalid(
            "contact_phone",
            "fault_report.phone_format",
            "must be 5-15 digits, optionally with a leading + and spaces or dashes",
        ));
    }
    Ok(())
}
