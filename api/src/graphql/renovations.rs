//! Renovation requests in GraphQL: filing (shareholders only), the shareholder's own requests,
//! the office's queue, and each step of the conversation and decision.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::register::Register;
use talo_domain::renovation::{RenovationCommand as Step, RequestRenovation};
use talo_projections::renovations::{RenovationRecord, RenovationsView};
use uuid::Uuid;

use super::enums::*;
use super::pagination::{Order, Page, paginate, sort_key};
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
pub struct ConversationEntryView {
    kind: EntryKindGql,
    text: String,
    attachments: Vec<String>,
    author_role: ActorRoleGql,
    at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct RenovationStepView {
    status: RenovationStatusGql,
    at: DateTime<Utc>,
    actor_role: ActorRoleGql,
}

#[derive(SimpleObject)]
#[graphql(name = "Renovation")]
pub struct RenovationNode {
    id: Uuid,
    ticket: String,
    property_id: Uuid,
    apartment_id: Uuid,
    apartment_code: Option<String>,
    status: RenovationStatusGql,
    work_types: Vec<RenovationWorkTypeGql>,
    description: String,
    planned_start: NaiveDate,
    planned_end: NaiveDate,
    contractors: Vec<String>,
    attachments: Vec<String>,
    requested_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// Conditions of an approval.
    conditions: Vec<String>,
    rejection_reason: Option<String>,
    inspection_approved: Option<bool>,
    inspection_notes: Option<String>,
    /// Supplement requests, supplements and comments, oldest first.
    conversation: Vec<ConversationEntryView>,
    history: Vec<RenovationStepView>,
}

fn node(r: &RenovationRecord, register: &Register) -> RenovationNode {
    RenovationNode {
        id: r.renovation_id,
        ticket: r.ticket.clone(),
        property_id: r.property_id,
        apartment_id: r.apartment_id,
        apartment_code: register
            .apartments
            .get(&r.apartment_id)
            .map(|a| a.code.clone()),
        status: r.status.into(),
        work_types: r.work_types.iter().map(|w| (*w).into()).collect(),
        description: r.description.clone(),
        planned_start: r.planned_start,
        planned_end: r.planned_end,
        contractors: r.contractors.clone(),
        attachments: r.attachments.clone(),
        requested_at: r.requested_at,
        decided_at: r.decided_at,
        conditions: r.conditions.clone(),
        rejection_reason: r.rejection_reason.clone(),
        inspection_approved: r.inspection.as_ref().map(|(ok, _)| *ok),
        inspection_notes: r.inspection.as_ref().map(|(_, notes)| notes.clone()),
        conversation: r
            .conversation
            .iter()
            .map(|c| ConversationEntryView {
                kind: c.kind.into(),
                text: c.text.clone(),
                attachments: c.attachments.clone(),
                author_role: c.author.role.into(),
                at: c.at,
            })
            .collect(),
        history: r
            .history
            .iter()
            .map(|h| RenovationStepView {
                status: h.status.into(),
                at: h.at,
                actor_role: h.actor.role.into(),
            })
            .collect(),
    }
}

fn with_renovations<T>(
    session: &Session<'_>,
    f: impl FnOnce(&talo_domain::access::Principal, &Register, &RenovationsView) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        f(
            &principal,
            register,
            &session.talo.read_models.renovations.read(),
        )
    })
}

#[derive(Default)]
pub struct RenovationQuery;

#[Object]
impl RenovationQuery {
    async fn renovation(&self, ctx: &Context<'_>, id: Uuid) -> Result<RenovationNode> {
        let session = Session::of(ctx).gql()?;
        with_renovations(&session, |principal, register, view| {
            let (r, _) = view
                .visible(principal, id)
                .ok_or_else(|| ApiError::Rejected(talo_domain::renovation::not_visible()))?;
            Ok(node(r, register))
        })
        .gql()
    }

    /// The shareholder's own requests, newest first.
    async fn my_renovations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<RenovationNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_renovations(&session, |principal, register, view| {
            paginate(
                view.for_shareholder(principal),
                Order::Descending,
                |r| sort_key(None, r.requested_at, r.renovation_id),
                first,
                after,
                max,
                |r| node(r, register),
            )
        })
        .gql()
    }

    /// Open requests in the caller's properties, oldest first: for the office.
    async fn renovation_queue(
        &self,
        ctx: &Context<'_>,
        status: Option<RenovationStatusGql>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<RenovationNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_renovations(&session, |principal, register, view| {
            if !principal.is_office_staff() {
                return Err(ApiError::Forbidden(
                    "renovationQueue: only office staff have a queue".into(),
                ));
            }
            paginate(
                view.queue(principal, status.map(Into::into)),
                Order::Ascending,
                |r| sort_key(None, r.requested_at, r.renovation_id),
                first,
                after,
                max,
                |r| node(r, register),
            )
        })
        .gql()
    }
}

#[derive(InputObject)]
pub struct RequestRenovationInput {
    idempotency_key: String,
    apartment_id: Uuid,
    work_types: Vec<RenovationWorkTypeGql>,
    description: String,
    planned_start: NaiveDate,
    planned_end: NaiveDate,
    #[graphql(default)]
    contractors: Vec<String>,
    /// Names of plans and drawings (kept in the document archive).
    #[graphql(default)]
    attachments: Vec<String>,
}

/// A step on a renovation request. `text` is the supplement request, the supplement, the
/// comment, the rejection reason, the inspection notes or the withdrawal reason, as the step
/// needs; `conditions` go with an approval; `approved` with an inspection.
#[derive(InputObject)]
pub struct RenovationStepInput {
    idempotency_key: String,
    renovation_id: Uuid,
    text: Option<String>,
    #[graphql(default)]
    attachments: Vec<String>,
    #[graphql(default)]
    conditions: Vec<String>,
    approved: Option<bool>,
}

#[derive(SimpleObject)]
pub struct RenovationPayload {
    renovation: RenovationNode,
    position: String,
    replayed: bool,
}

#[derive(Default)]
pub struct RenovationMutation;

fn payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: crate::dispatch::Outcome,
) -> Result<RenovationPayload, ApiError> {
    with_renovations(session, |principal, register, view| {
        let (r, _) = view
            .visible(principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::renovation::not_visible()))?;
        Ok(RenovationPayload {
            renovation: node(r, register),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

impl RenovationMutation {
    async fn step(
        ctx: &Context<'_>,
        input: RenovationStepInput,
        make: impl FnOnce(String, Vec<String>, Vec<String>, bool) -> Step,
    ) -> Result<RenovationPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let step = make(
                input.text.unwrap_or_default(),
                input.attachments,
                input.conditions,
                input.approved.unwrap_or(true),
            );
            let outcome = session
                .talo
                .dispatcher
                .renovation_step(&request, input.renovation_id, step)
                .await?;
            payload(&session, input.renovation_id, outcome)
        };
        run.await.gql()
    }
}

#[Object]
impl RenovationMutation {
    /// A shareholder asks permission for renovation work on their apartment.
    async fn request_renovation(
        &self,
        ctx: &Context<'_>,
        input: RequestRenovationInput,
    ) -> Result<RenovationPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let renovation_id = request.new_entity_id("renovation");
            let command = RequestRenovation {
                renovation_id,
                apartment_id: input.apartment_id,
                work_types: input.work_types.into_iter().map(Into::into).collect(),
                description: input.description,
                planned_start: input.planned_start,
                planned_end: input.planned_end,
                contractors: input.contractors,
                attachments: input.attachments,
            };
            let outcome = session
                .talo
                .dispatcher
                .request_renovation(&request, command)
                .await?;
            payload(&session, renovation_id, outcome)
        };
        run.await.gql()
    }

    async fn request_renovation_supplement(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |request, _, _, _| Step::RequestSupplement {
            request,
        })
        .await
    }

    async fn supplement_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |text, attachments, _, _| Step::Supplement {
            text,
            attachments,
        })
        .await
    }

    async fn comment_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |text, _, _, _| Step::Comment {
            comment_id: Uuid::now_v7(),
            text,
        })
        .await
    }

    async fn approve_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |_, _, conditions, _| Step::Approve {
            conditions,
        })
        .await
    }

    async fn reject_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |reason, _, _, _| Step::Reject { reason }).await
    }

    async fn start_renovation_work(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |_, _, _, _| Step::StartWork).await
    }

    async fn complete_renovation_work(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |_, _, _, _| Step::CompleteWork).await
    }

    async fn inspect_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |notes, _, _, approved| Step::Inspect {
            approved,
            notes,
        })
        .await
    }

    async fn withdraw_renovation(
        &self,
        ctx: &Context<'_>,
        input: RenovationStepInput,
    ) -> Result<RenovationPayload> {
        Self::step(ctx, input, |reason, _, _, _| Step::Withdraw { reason }).await
    }
}
