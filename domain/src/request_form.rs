//! Request forms with question sets (kysymyspatteri) and the service requests filed on them.
//!
//! The organisation publishes versioned forms; a resident files a request on the current
//! version, and the answers are checked against exactly that version, naming the question that
//! is missing or wrong. Filed requests are handled like fault reports: taken, noted, completed
//! or rejected, or cancelled by the requester.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::fault_report::NoteVisibility;
use talo_events_schema::register::StaffRole;
use talo_events_schema::request_form::*;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::access::{CaseAccess, Principal, Viewer, case_viewer};
use crate::calendar::local_date;
pub use crate::decision::{Context, Decision};
use crate::rejection::{Rejection, require_text};

/// The service request ticket series (palvelupyyntö).
pub const SERVICE_REQUEST_PREFIX: &str = "PY";

/// A form as its latest published version says, or as one given version said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    pub form_id: Uuid,
    pub version: u32,
    pub name: String,
    pub description: String,
    pub questions: Vec<Question>,
    pub retired: bool,
}

impl RequestForm {
    /// The form at `version` (or its latest version), folded from its stream.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = &'a DomainEvent>,
        version: Option<u32>,
    ) -> Option<Self> {
        let mut form: Option<RequestForm> = None;
        let mut retired = false;
        for event in events {
            match event {
                DomainEvent::RequestFormPublished(e) if version.is_none_or(|v| v == e.version) => {
                    form = Some(RequestForm {
                        form_id: e.form_id,
                        version: e.version,
                        name: e.name.clone(),
                        description: e.description.clone(),
                        questions: e.questions.clone(),
                        retired: false,
                    })
                }
                DomainEvent::RequestFormRetired(_) => retired = true,
                _ => {}
            }
        }
        form.map(|f| RequestForm { retired, ..f })
    }
}

/// What a form version asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormDefinition {
    pub name: String,
    pub description: String,
    pub questions: Vec<Question>,
}

/// Publishes the first or the next version of a form.
pub fn publish(
    current: Option<&RequestForm>,
    form_id: Uuid,
    definition: FormDefinition,
    principal: &Principal,
) -> Result<Decision, Rejection> {
    let role = form_editor_role(principal)?;
    if current.is_some_and(|f| f.retired) {
        return Err(Rejection::transition(
            "request_form.retired",
            "the form is retired; create a new form",
        ));
    }
    require_text("name", &definition.name, 200)?;
    if definition.description.chars().count() > 4000 {
        return Err(Rejection::invalid(
            "description",
            "text.too_long",
            "must be at most 4000 characters",
        ));
    }
    check_questions(&definition.questions)?;
    Ok(Decision {
        role,
        events: vec![DomainEvent::RequestFormPublished(RequestFormPublished {
            form_id,
            version: current.map_or(1, |f| f.version + 1),
            name: definition.name,
            description: definition.description,
            questions: definition.questions,
        })],
    })
}

/// Retires a form: no new requests on it.
pub fn retire(current: &RequestForm, principal: &Principal) -> Result<Decision, Rejection> {
    let role = form_editor_role(principal)?;
    if current.retired {
        return Err(Rejection::transition(
            "request_form.retired",
            "the form is already retired",
        ));
    }
    Ok(Decision {
        role,
        events: vec![DomainEvent::RequestFormRetired(RequestFormRetired {
            form_id: current.form_id,
        })],
    })
}

/// Forms belong to the whole organisation: an organisation-wide manager or customer service
/// defines them.
fn form_editor_role(principal: &Principal) -> Result<ActorRole, Rejection> {
    [StaffRole::PropertyManager, StaffRole::CustomerService]
        .into_iter()
        .find(|r| principal.is_organisation_wide(*r))
        .map(crate::access::staff_actor_role)
        .ok_or_else(|| {
            Rejection::forbidden(
                "request_form.organisation_staff_only",
                "only organisation-wide managers or customer service define request forms",
            )
        })
}

fn check_questions(questions: &[Question]) -> Result<(), Rejection> {
    if questions.is_empty() {
        return Err(Rejection::invalid(
            "questions",
            "request_form.questions_required",
            "a form needs at least one question",
        ));
    }
    let mut ids = BTreeSet::new();
    for q in questions {
        let id_ok = !q.question_id.is_empty()
            && q.question_id.len() <= 64
            && q.question_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !id_ok {
            return Err(Rejection::invalid(
                "questions",
                "request_form.question_id_format",
                format!(
                    "question id `{}` must be 1-64 of a-z, 0-9 and _",
                    q.question_id
                ),
            ));
        }
        if !ids.insert(q.question_id.as_str()) {
            return Err(Rejection::invalid(
                "questions",
                "request_form.question_id_unique",
                format!("question id `{}` appears twice", q.question_id),
            ));
        }
        if q.label.trim().is_empty() || q.label.chars().count() > 500 {
            return Err(Rejection::invalid(
                "questions",
                "request_form.label_required",
                format!(
                    "question `{}` needs a label of at most 500 characters",
                    q.question_id
                ),
            ));
        }
        match &q.kind {
            QuestionKind::SingleChoice { options } | QuestionKind::MultipleChoice { options } => {
                let unique: BTreeSet<&String> = options.iter().collect();
                if options.is_empty()
                    || unique.len() != options.len()
                    || options.iter().any(|o| o.trim().is_empty())
                {
                    return Err(Rejection::invalid(
                        "questions",
                        "request_form.options",
                        format!(
                            "question `{}` needs distinct, non-empty options",
                            q.question_id
                        ),
                    ));
                }
            }
            QuestionKind::Text { max_length } if !(1..=10_000).contains(max_length) => {
                return Err(Rejection::invalid(
                    "questions",
                    "request_form.text_length",
                    format!(
                        "question `{}`: max_length must be from 1 to 10000",
                        q.question_id
                    ),
                ));
            }
            QuestionKind::Number {
                min: Some(min),
                max: Some(max),
            } if min > max => {
                return Err(Rejection::invalid(
                    "questions",
                    "request_form.number_range",
                    format!("question `{}`: min must not exceed max", q.question_id),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks answers against the form version they are filed on. The message names the question.
pub fn check_answers(form: &RequestForm, answers: &[Answer]) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for answer in answers {
        if !form
            .questions
            .iter()
            .any(|q| q.question_id == answer.question_id)
        {
            return Err(Rejection::invalid(
                "answers",
                "request_form.unknown_question",
                format!(
                    "answers: question `{}` is not on version {} of this form",
                    answer.question_id, form.version
                ),
            ));
        }
        if !seen.insert(answer.question_id.as_str()) {
            return Err(Rejection::invalid(
                "answers",
                "request_form.duplicate_answer",
                format!(
                    "answers: question `{}` is answered twice",
                    answer.question_id
                ),
            ));
        }
    }
    for q in &form.questions {
        let named =
            |why: &str| format!("answers: question `{}` ({}) {why}", q.question_id, q.label);
        let Some(answer) = answers.iter().find(|a| a.question_id == q.question_id) else {
            if q.required {
                return Err(Rejection::invalid(
                    "answers",
                    "request_form.answer_required",
                    named("is required"),
                ));
            }
            continue;
        };
        match (&q.kind, &answer.value) {
            (QuestionKind::Text { max_length }, AnswerValue::Text(text)) => {
                if q.required && text.trim().is_empty() {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_required",
                        named("is required"),
                    ));
                }
                if text.chars().count() > *max_length as usize {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_too_long",
                        named(&format!("takes at most {max_length} characters")),
                    ));
                }
            }
            (QuestionKind::SingleChoice { options }, AnswerValue::Choice(choice)) => {
                if !options.contains(choice) {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_option",
                        named(&format!("has no option `{choice}`")),
                    ));
                }
            }
            (QuestionKind::MultipleChoice { options }, AnswerValue::Choices(choices)) => {
                if q.required && choices.is_empty() {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_required",
                        named("needs at least one option"),
                    ));
                }
                let unique: BTreeSet<&String> = choices.iter().collect();
                if let Some(bad) = choices.iter().find(|c| !options.contains(c)) {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_option",
                        named(&format!("has no option `{bad}`")),
                    ));
                }
                if unique.len() != choices.len() {
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_option",
                        named("lists an option twice"),
                    ));
                }
            }
            (QuestionKind::YesNo, AnswerValue::YesNo(_))
            | (QuestionKind::Date, AnswerValue::Date(_)) => {}
            (QuestionKind::Number { min, max }, AnswerValue::Number(n)) => {
                if min.is_some_and(|m| *n < m) || max.is_some_and(|m| *n > m) {
                    let range = format!(
                        "{}..{}",
                        min.map_or("".into(), |m| m.to_string()),
                        max.map_or("".into(), |m| m.to_string())
                    );
                    return Err(Rejection::invalid(
                        "answers",
                        "request_form.answer_out_of_range",
                        named(&format!("takes a number in {range}")),
                    ));
                }
            }
            (kind, _) => {
                return Err(Rejection::invalid(
                    "answers",
                    "request_form.answer_type",
                    named(&format!("takes {}", kind_word(kind))),
                ));
            }
        }
    }
    Ok(())
}

fn kind_word(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Text { .. } => "text",
        QuestionKind::SingleChoice { .. } => "one option",
        QuestionKind::MultipleChoice { .. } => "a list of options",
        QuestionKind::YesNo => "yes or no",
        QuestionKind::Date => "a date",
        QuestionKind::Number { .. } => "a whole number",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceRequestStatus {
    Submitted,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

impl ServiceRequestStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled)
    }

    pub fn after(event: &DomainEvent) -> Option<Self> {
        Some(match event {
            DomainEvent::ServiceRequestFiled(_) => Self::Submitted,
            DomainEvent::ServiceRequestTaken(_) => Self::InProgress,
            DomainEvent::ServiceRequestCompleted(_) => Self::Completed,
            DomainEvent::ServiceRequestRejected(_) => Self::Rejected,
            DomainEvent::ServiceRequestCancelled(_) => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A filed request, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    pub request_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub requester_id: Uuid,
    pub filed_on: NaiveDate,
    pub status: ServiceRequestStatus,
}

impl ServiceRequest {
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (&'a DomainEvent, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut state: Option<ServiceRequest> = None;
        for (event, at) in events {
            match (&mut state, event) {
                (None, DomainEvent::ServiceRequestFiled(e)) => {
                    state = Some(ServiceRequest {
                        request_id: e.request_id,
                        property_id: e.property_id,
                        apartment_id: e.apartment_id,
                        requester_id: e.requester_id,
                        filed_on: local_date(at),
                        status: ServiceRequestStatus::Submitted,
                    })
                }
                (Some(s), e) => {
                    if let Some(status) = ServiceRequestStatus::after(e) {
                        s.status = status;
                    }
                }
                (None, _) => {}
            }
        }
        state
    }

    pub fn access(&self) -> CaseAccess {
        CaseAccess {
            property_id: self.property_id,
            apartment_id: Some(self.apartment_id),
            reporter_id: self.requester_id,
            reported_on: self.filed_on,
            contractor_company_id: None,
        }
    }
}

/// A request to file on a form version.
#[derive(Debug, Clone, PartialEq)]
pub struct FileServiceRequest {
    pub request_id: Uuid,
    pub apartment_id: Uuid,
    /// The resident it is for: the actor, or the person the office is helping.
    pub requester_id: Uuid,
    pub answers: Vec<Answer>,
}

/// Checks a filing before a ticket number is issued; returns the role the actor files in.
pub fn check_filing(
    form: &RequestForm,
    command: &FileServiceRequest,
    ctx: &Context<'_>,
) -> Result<ActorRole, Rejection> {
    let apartment = ctx
        .register
        .apartments
        .get(&command.apartment_id)
        .ok_or_else(|| {
            Rejection::not_found(
                "apartment_id",
                "service_request.apartment_unknown",
                "no such apartment",
            )
        })?;
    let today = local_date(ctx.occurred_at);
    let occupant = |person: Uuid| {
        ctx.register
            .occupants(command.apartment_id, today)
            .any(|c| c.person_id == person)
    };
    let role = if command.requester_id == ctx.principal.person_id {
        ctx.principal
            .home_role(command.apartment_id)
            .ok_or_else(|| {
                Rejection::forbidden(
                    "service_request.own_home_only",
                    "you may file requests only for your own apartment",
                )
            })?
    } else {
        let role = ctx
            .principal
            .office_role_for(apartment.property_id)
            .ok_or_else(|| {
                Rejection::forbidden(
                    "service_request.on_behalf_requires_office",
                    "only the office may file a request on someone else's behalf",
                )
            })?;
        if !matches!(
            ctx.channel,
            Channel::Phone | Channel::Email | Channel::Office
        ) {
            return Err(Rejection::invalid(
                "channel",
                "service_request.on_behalf_channel",
                "a request filed on a resident's behalf must say how they got in touch: phone, email or office",
            ));
        }
        if !occupant(command.requester_id) {
            return Err(Rejection::invalid(
                "requester_id",
                "service_request.requester_not_occupant",
                "the requester must live in or own the apartment",
            ));
        }
        role
    };
    if form.retired {
        return Err(Rejection::transition(
            "request_form.retired",
            "the form is retired and takes no new requests",
        ));
    }
    check_answers(form, &command.answers)?;
    Ok(role)
}

/// Files a checked request under its ticket number.
pub fn file(
    form: &RequestForm,
    command: FileServiceRequest,
    ticket: &TicketNumberIssued,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let role = check_filing(form, &command, ctx)?;
    let property_id = ctx
        .register
        .apartments
        .get(&command.apartment_id)
        .map(|a| a.property_id)
        .unwrap_or_default();
    Ok(Decision {
        role,
        events: vec![DomainEvent::ServiceRequestFiled(ServiceRequestFiled {
            request_id: command.request_id,
            ticket: ticket.ticket.clone(),
            form_id: form.form_id,
            form_version: form.version,
            property_id,
            apartment_id: command.apartment_id,
            requester_id: command.requester_id,
            answers: command.answers,
        })],
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceRequestCommand {
    Take,
    AddNote {
        note_id: Uuid,
        text: String,
        visibility: NoteVisibility,
    },
    Complete {
        summary: String,
    },
    Reject {
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

/// No such form in the caller's organisation.
pub fn form_not_found() -> Rejection {
    Rejection::not_found("form_id", "request_form.not_found", "no such request form")
}

/// The one answer for a request that does not exist or is not the caller's to see.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "request_id",
        "service_request.not_visible",
        "no such service request",
    )
}

pub fn decide(
    request: &ServiceRequest,
    command: ServiceRequestCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    use ServiceRequestCommand as C;
    use ServiceRequestStatus as S;
    let viewer = case_viewer(ctx.principal, &request.access()).ok_or_else(not_visible)?;
    match viewer {
        Viewer::Auditor => {
            return Err(crate::access::auditor_read_only());
        }
        Viewer::PastReporter => {
            return Err(Rejection::forbidden(
                "service_request.no_longer_occupant",
                "you no longer live in or own the apartment; contact the office",
            ));
        }
        _ => {}
    }
    if request.status.is_closed() {
        return Err(Rejection::transition(
            "service_request.closed",
            "the request is closed and takes no more steps",
        ));
    }
    let office = matches!(viewer, Viewer::Office(_));
    let office_only = || {
        if office {
            Ok(())
        } else {
            Err(Rejection::forbidden(
                "service_request.office_only",
                "only the property's office handles requests",
            ))
        }
    };
    let id = request.request_id;
    let event: DomainEvent = match command {
        C::Take => {
            office_only()?;
            if request.status != S::Submitted {
                return Err(Rejection::transition(
                    "service_request.take_once",
                    "the request is already in progress",
                ));
            }
            ServiceRequestTaken { request_id: id }.into()
        }
        C::AddNote {
            note_id,
            text,
            visibility,
        } => {
            require_text("text", &text, 4000)?;
            if visibility == NoteVisibility::Internal && !viewer.sees_internal_notes() {
                return Err(Rejection::invalid(
                    "visibility",
                    "service_request.resident_notes_shared",
                    "residents' notes are always shared",
                ));
            }
            ServiceRequestNoteAdded {
                request_id: id,
                note_id,
                text,
                visibility,
            }
            .into()
        }
        C::Complete { summary } => {
            office_only()?;
            require_text("summary", &summary, 4000)?;
            ServiceRequestCompleted {
                request_id: id,
                summary,
            }
            .into()
        }
        C::Reject { reason } => {
            office_only()?;
            require_text("reason", &reason, 1000)?;
            ServiceRequestRejected {
                request_id: id,
                reason,
            }
            .into()
        }
        C::Cancel { reason } => {
            let own = matches!(viewer, Viewer::Occupant(_))
                && request.requester_id == ctx.principal.person_id;
            let on_behalf = office
                && matches!(
                    ctx.channel,
                    Channel::Phone | Channel::Email | Channel::Office
                );
            if !own && !on_behalf {
                return Err(Rejection::forbidden(
                    "service_request.cancel_by_requester",
                    "only the requester (or the office on their behalf) may cancel a request",
                ));
            }
            if request.status != S::Submitted {
                return Err(Rejection::transition(
                    "service_request.cancel_after_taken",
                    "a request cannot be cancelled once the office has taken it",
                ));
            }
            require_text("reason", &reason, 1000)?;
            ServiceRequestCancelled {
                request_id: id,
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
