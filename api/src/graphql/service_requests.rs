//! Request forms and service requests in GraphQL: the organisation's forms with their question
//! sets, filing a request with answers, the resident's own requests, the office queue, and the
//! handling steps.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::access::Viewer;
use talo_domain::register::Register;
use talo_domain::request_form::{
    FileServiceRequest, FormDefinition, ServiceRequestCommand as Step,
};
use talo_events_schema::fault_report::NoteVisibility;
use talo_events_schema::request_form::{Answer, AnswerValue, Question, QuestionKind};
use talo_projections::service_requests::{
    FormRecord, FormVersion, ServiceRequestRecord, ServiceRequestsView,
};
use uuid::Uuid;

use super::enums::*;
use super::fault_reports::NoteView;
use super::pagination::{Order, Page, paginate, sort_key};
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
pub struct QuestionView {
    question_id: String,
    label: String,
    help_text: Option<String>,
    required: bool,
    #[graphql(name = "type")]
    kind: QuestionTypeGql,
    /// For choice questions.
    options: Vec<String>,
    /// For text questions.
    max_length: Option<u32>,
    /// For number questions.
    min: Option<i64>,
    max: Option<i64>,
}

impl From<&Question> for QuestionView {
    fn from(q: &Question) -> Self {
        let (kind, options, max_length, min, max) = match &q.kind {
            QuestionKind::Text { max_length } => {
                (QuestionTypeGql::Text, vec![], Some(*max_length), None, None)
            }
            QuestionKind::SingleChoice { options } => (
                QuestionTypeGql::SingleChoice,
                options.clone(),
                None,
                None,
                None,
            ),
            QuestionKind::MultipleChoice { options } => (
                QuestionTypeGql::MultipleChoice,
                options.clone(),
                None,
                None,
                None,
            ),
            QuestionKind::YesNo => (QuestionTypeGql::YesNo, vec![], None, None, None),
            QuestionKind::Date => (QuestionTypeGql::Date, vec![], None, None, None),
            QuestionKind::Number { min, max } => {
                (QuestionTypeGql::Number, vec![], None, *min, *max)
            }
        };
        QuestionView {
            question_id: q.question_id.clone(),
            label: q.label.clone(),
            help_text: q.help_text.clone(),
            required: q.required,
            kind,
            options,
            max_length,
            min,
            max,
        }
    }
}

/// A request form as it stands now (its latest version).
#[derive(SimpleObject)]
pub struct RequestFormView {
    id: Uuid,
    version: u32,
    name: String,
    description: String,
    questions: Vec<QuestionView>,
    retired: bool,
}

fn form_view(form: &FormRecord, version: &FormVersion) -> RequestFormView {
    RequestFormView {
        id: form.form_id,
        version: version.version,
        name: version.name.clone(),
        description: version.description.clone(),
        questions: version.questions.iter().map(Into::into).collect(),
        retired: form.retired,
    }
}

/// One answer, with its question as the form version asked it.
#[derive(SimpleObject)]
pub struct AnswerView {
    question_id: String,
    label: String,
    /// The answer as text: options by name, dates as YYYY-MM-DD, yes/no as `yes`/`no`.
    value: String,
}

#[derive(SimpleObject)]
pub struct RequestStepView {
    status: ServiceRequestStatusGql,
    at: DateTime<Utc>,
    actor_role: ActorRoleGql,
    channel: ChannelGql,
    detail: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "ServiceRequest")]
pub struct ServiceRequestNode {
    id: Uuid,
    ticket: String,
    form_id: Uuid,
    form_version: u32,
    form_name: String,
    property_id: Uuid,
    apartment_id: Uuid,
    apartment_code: Option<String>,
    status: ServiceRequestStatusGql,
    channel: ChannelGql,
    filed_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    /// The completion summary, or why it was rejected or cancelled.
    outcome: Option<String>,
    answers: Vec<AnswerView>,
    history: Vec<RequestStepView>,
    /// Internal notes only for staff and auditors.
    notes: Vec<NoteView>,
}

fn answer_text(value: &AnswerValue) -> String {
    match value {
        AnswerValue::Text(t) | AnswerValue::Choice(t) => t.clone(),
        AnswerValue::Choices(c) => c.join(", "),
        AnswerValue::YesNo(b) => if *b { "yes" } else { "no" }.into(),
        AnswerValue::Date(d) => d.to_string(),
        AnswerValue::Number(n) => n.to_string(),
    }
}

fn node(
    r: &ServiceRequestRecord,
    viewer: Viewer,
    view: &ServiceRequestsView,
    register: &Register,
) -> ServiceRequestNode {
    let version = view
        .form(r.organisation_id, r.form_id)
        .and_then(|f| f.version(r.form_version));
    let label = |id: &str| {
        version
            .and_then(|v| v.questions.iter().find(|q| q.question_id == id))
            .map(|q| q.label.clone())
            .unwrap_or_default()
    };
    ServiceRequestNode {
        id: r.request_id,
        ticket: r.ticket.clone(),
        form_id: r.form_id,
        form_version: r.form_version,
        form_name: version.map(|v| v.name.clone()).unwrap_or_default(),
        property_id: r.property_id,
        apartment_id: r.apartment_id,
        apartment_code: register
            .apartments
            .get(&r.apartment_id)
            .map(|a| a.code.clone()),
        status: r.status.into(),
        channel: r.channel.into(),
        filed_at: r.filed_at,
        closed_at: r.closed_at,
        outcome: r.outcome.clone(),
        answers: r
            .answers
            .iter()
            .map(|a| AnswerView {
                question_id: a.question_id.clone(),
                label: label(&a.question_id),
                value: answer_text(&a.value),
            })
            .collect(),
        history: r
            .history
            .iter()
            .map(|h| RequestStepView {
                status: h.status.into(),
                at: h.at,
                actor_role: h.actor.role.into(),
                channel: h.channel.into(),
                detail: h.detail.clone(),
            })
            .collect(),
        notes: r
            .notes
            .iter()
            .filter(|n| viewer.sees_internal_notes() || n.visibility == NoteVisibility::Shared)
            .map(NoteView::from)
            .collect(),
    }
}

fn with_requests<T>(
    session: &Session<'_>,
    f: impl FnOnce(
        &talo_domain::access::Principal,
        &Register,
        &ServiceRequestsView,
    ) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        f(
            &principal,
            register,
            &session.talo.read_models.service_requests.read(),
        )
    })
}

#[derive(Default)]
pub struct ServiceRequestQuery;

#[Object]
impl ServiceRequestQuery {
    /// The organisation's request forms that take requests (key orders, document orders, ...).
    async fn request_forms(&self, ctx: &Context<'_>) -> Result<Vec<RequestFormView>> {
        let session = Session::of(ctx).gql()?;
        with_requests(&session, |principal, _, view| {
            Ok(view
                .forms(principal.organisation_id)
                .into_iter()
                .filter_map(|f| Some(form_view(f, f.current()?)))
                .collect())
        })
        .gql()
    }

    async fn service_request(&self, ctx: &Context<'_>, id: Uuid) -> Result<ServiceRequestNode> {
        let session = Session::of(ctx).gql()?;
        with_requests(&session, |principal, register, view| {
            let (r, viewer) = view
                .visible(principal, id)
                .ok_or_else(|| ApiError::Rejected(talo_domain::request_form::not_visible()))?;
            Ok(node(r, viewer, view, register))
        })
        .gql()
    }

    /// The caller's own requests, newest first.
    async fn my_service_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ServiceRequestNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_requests(&session, |principal, register, view| {
            paginate(
                view.for_occupant(principal),
                Order::Descending,
                |r| sort_key(None, r.filed_at, r.request_id),
                first,
                after,
                max,
                |r| {
                    let viewer = talo_domain::access::case_viewer(principal, &r.access())
                        .unwrap_or(Viewer::PastReporter);
                    node(r, viewer, view, register)
                },
            )
        })
        .gql()
    }

    /// Open requests in the caller's properties, oldest first: for office staff.
    async fn service_request_queue(
        &self,
        ctx: &Context<'_>,
        status: Option<ServiceRequestStatusGql>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ServiceRequestNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_requests(&session, |principal, register, view| {
            if !principal.is_office_staff() {
                return Err(ApiError::Forbidden(
                    "serviceRequestQueue: only office staff have a queue".into(),
                ));
            }
            paginate(
                view.queue(principal, status.map(Into::into)),
                Order::Ascending,
                |r| sort_key(None, r.filed_at, r.request_id),
                first,
                after,
                max,
                |r| {
                    node(
                        r,
                        Viewer::Office(talo_events_schema::envelope::ActorRole::CustomerService),
                        view,
                        register,
                    )
                },
            )
        })
        .gql()
    }
}

#[derive(InputObject)]
pub struct QuestionInput {
    question_id: String,
    label: String,
    help_text: Option<String>,
    #[graphql(default)]
    required: bool,
    #[graphql(name = "type")]
    kind: QuestionTypeGql,
    /// For choice questions.
    #[graphql(default)]
    options: Vec<String>,
    /// For text questions (default 1000).
    max_length: Option<u32>,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(InputObject)]
pub struct PublishRequestFormInput {
    idempotency_key: String,
    /// Omit for a new form; give it to publish the next version of an existing one.
    form_id: Option<Uuid>,
    name: String,
    #[graphql(default)]
    description: String,
    questions: Vec<QuestionInput>,
}

/// One answer: set exactly the field that fits the question's type.
#[derive(InputObject)]
pub struct AnswerInput {
    question_id: String,
    text: Option<String>,
    choice: Option<String>,
    choices: Option<Vec<String>>,
    yes_no: Option<bool>,
    date: Option<NaiveDate>,
    number: Option<i64>,
}

impl AnswerInput {
    fn into_answer(self) -> Result<Answer, ApiError> {
        let mut values = Vec::new();
        if let Some(t) = self.text {
            values.push(AnswerValue::Text(t))
        }
        if let Some(c) = self.choice {
            values.push(AnswerValue::Choice(c))
        }
        if let Some(c) = self.choices {
            values.push(AnswerValue::Choices(c))
        }
        if let Some(b) = self.yes_no {
            values.push(AnswerValue::YesNo(b))
        }
        if let Some(d) = self.date {
            values.push(AnswerValue::Date(d))
        }
        if let Some(n) = self.number {
            values.push(AnswerValue::Number(n))
        }
        if values.len() != 1 {
            return Err(ApiError::bad_input(
                "answers",
                "request_form.one_value",
                format!(
                    "question `{}`: give exactly one of text, choice, choices, yesNo, date, number",
                    self.question_id
                ),
            ));
        }
        Ok(Answer {
            question_id: self.question_id,
            value: values.remove(0),
        })
    }
}

#[derive(InputObject)]
pub struct FileServiceRequestInput {
    idempotency_key: String,
    form_id: Uuid,
    apartment_id: Uuid,
    answers: Vec<AnswerInput>,
    /// Office staff filing for a resident: the resident. Defaults to the caller.
    on_behalf_of: Option<Uuid>,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct ServiceRequestStepInput {
    idempotency_key: String,
    request_id: Uuid,
    /// The note, summary or reason, where the step takes one.
    text: Option<String>,
    /// For notes: residents' notes are always SHARED.
    #[graphql(default_with = "NoteVisibilityGql::Shared")]
    visibility: NoteVisibilityGql,
    channel: Option<ChannelGql>,
}

#[derive(SimpleObject)]
pub struct RequestFormPayload {
    form: RequestFormView,
    position: String,
    replayed: bool,
}

#[derive(SimpleObject)]
pub struct ServiceRequestPayload {
    service_request: ServiceRequestNode,
    position: String,
    replayed: bool,
}

#[derive(Default)]
pub struct ServiceRequestMutation;

fn channel(c: Option<ChannelGql>) -> talo_events_schema::envelope::Channel {
    c.map_or(talo_events_schema::envelope::Channel::Portal, Into::into)
}

fn request_payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: crate::dispatch::Outcome,
) -> Result<ServiceRequestPayload, ApiError> {
    with_requests(session, |principal, register, view| {
        let (r, viewer) = view
            .visible(principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::request_form::not_visible()))?;
        Ok(ServiceRequestPayload {
            service_request: node(r, viewer, view, register),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

impl ServiceRequestMutation {
    async fn step(
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
        make: impl FnOnce(String) -> Step,
    ) -> Result<ServiceRequestPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let outcome = session
                .talo
                .dispatcher
                .service_request_step(
                    &request,
                    input.request_id,
                    make(input.text.unwrap_or_default()),
                )
                .await?;
            request_payload(&session, input.request_id, outcome)
        };
        run.await.gql()
    }
}

#[Object]
impl ServiceRequestMutation {
    /// Publishes a new request form, or the next version of one.
    async fn publish_request_form(
        &self,
        ctx: &Context<'_>,
        input: PublishRequestFormInput,
    ) -> Result<RequestFormPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let questions = input.questions.into_iter().map(|q| Question {
                question_id: q.question_id,
                label: q.label,
                help_text: q.help_text,
                required: q.required,
                kind: match q.kind {
                    QuestionTypeGql::Text => QuestionKind::Text {
                        max_length: q.max_length.unwrap_or(1000),
                    },
                    QuestionTypeGql::SingleChoice => {
                        QuestionKind::SingleChoice { options: q.options }
                    }
                    QuestionTypeGql::MultipleChoice => {
                        QuestionKind::MultipleChoice { options: q.options }
                    }
                    QuestionTypeGql::YesNo => QuestionKind::YesNo,
                    QuestionTypeGql::Date => QuestionKind::Date,
                    QuestionTypeGql::Number => QuestionKind::Number {
                        min: q.min,
                        max: q.max,
                    },
                },
            });
            let definition = FormDefinition {
                name: input.name,
                description: input.description,
                questions: questions.collect(),
            };
            let outcome = session
                .talo
                .dispatcher
                .publish_request_form(&request, input.form_id, definition)
                .await?;
            let form_id = input
                .form_id
                .unwrap_or_else(|| request.new_entity_id("request-form"));
            with_requests(&session, |principal, _, view| {
                let form = view
                    .form(principal.organisation_id, form_id)
                    .ok_or_else(|| {
                        ApiError::Rejected(talo_domain::request_form::form_not_found())
                    })?;
                let version = form.current().ok_or_else(|| {
                    ApiError::Rejected(talo_domain::request_form::form_not_found())
                })?;
                Ok(RequestFormPayload {
                    form: form_view(form, version),
                    position: outcome.position.to_string(),
                    replayed: outcome.replayed,
                })
            })
        };
        run.await.gql()
    }

    /// Files a request on the current version of a form; answers are checked against it.
    async fn file_service_request(
        &self,
        ctx: &Context<'_>,
        input: FileServiceRequestInput,
    ) -> Result<ServiceRequestPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let answers = input
                .answers
                .into_iter()
                .map(AnswerInput::into_answer)
                .collect::<Result<Vec<_>, _>>()?;
            let request_id = request.new_entity_id("service-request");
            let command = FileServiceRequest {
                request_id,
                apartment_id: input.apartment_id,
                requester_id: input.on_behalf_of.unwrap_or(session.caller.person_id),
                answers,
            };
            let outcome = session
                .talo
                .dispatcher
                .file_service_request(&request, input.form_id, command)
                .await?;
            request_payload(&session, request_id, outcome)
        };
        run.await.gql()
    }

    /// The office takes the request into work.
    async fn take_service_request(
        &self,
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
    ) -> Result<ServiceRequestPayload> {
        Self::step(ctx, input, |_| Step::Take).await
    }

    async fn add_service_request_note(
        &self,
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
    ) -> Result<ServiceRequestPayload> {
        let visibility = input.visibility.into();
        Self::step(ctx, input, |text| Step::AddNote {
            note_id: Uuid::now_v7(),
            text,
            visibility,
        })
        .await
    }

    async fn complete_service_request(
        &self,
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
    ) -> Result<ServiceRequestPayload> {
        Self::step(ctx, input, |summary| Step::Complete { summary }).await
    }

    async fn reject_service_request(
        &self,
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
    ) -> Result<ServiceRequestPayload> {
        Self::step(ctx, input, |reason| Step::Reject { reason }).await
    }

    /// The requester withdraws the request before the office takes it.
    async fn cancel_service_request(
        &self,
        ctx: &Context<'_>,
        input: ServiceRequestStepInput,
    ) -> Result<ServiceRequestPayload> {
        Self::step(ctx, input, |reason| Step::Cancel { reason }).await
    }
}
