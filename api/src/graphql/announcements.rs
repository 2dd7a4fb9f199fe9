//! Announcements in GraphQL: residents see what is current for their home; the office (and a
//! resident committee, for its property) publishes, corrects and withdraws, and sees read
//! counts and every earlier text.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use talo_domain::announcement::{AnnouncementCommand, PublishAnnouncement};
use talo_events_schema::announcement::AnnouncementTarget;
use talo_projections::announcements::{AnnouncementRecord, AnnouncementsView};
use uuid::Uuid;

use super::enums::*;
use super::pagination::{Page, after_instant_and_id, page_of, page_size, sort_key};
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "AnnouncementTargetInput")]
pub struct TargetView {
    property_id: Uuid,
    /// One building (stairway) only; omit for the whole property.
    building_id: Option<Uuid>,
}

#[derive(SimpleObject)]
pub struct CorrectionView {
    at: DateTime<Utc>,
    previous_title: String,
    previous_body: String,
    reason: String,
}

#[derive(SimpleObject)]
#[graphql(name = "Announcement")]
pub struct AnnouncementNode {
    id: Uuid,
    title: String,
    body: String,
    category: AnnouncementCategoryGql,
    targets: Vec<TargetView>,
    publish_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    published_by_role: ActorRoleGql,
    current: bool,
    withdrawn_at: Option<DateTime<Utc>>,
    /// Earlier texts, oldest first: for staff and auditors.
    corrections: Vec<CorrectionView>,
    /// How many residents have read it: for staff and auditors.
    read_count: Option<u32>,
    /// Whether the caller has read it.
    read_by_me: bool,
}

fn node(r: &AnnouncementRecord, staff: bool, me: Uuid, now: DateTime<Utc>) -> AnnouncementNode {
    AnnouncementNode {
        id: r.announcement_id,
        title: r.title.clone(),
        body: r.body.clone(),
        category: r.category.into(),
        targets: r
            .targets
            .iter()
            .map(|t| TargetView {
                property_id: t.property_id,
                building_id: t.building_id,
            })
            .collect(),
        publish_at: r.publish_at,
        expires_at: r.expires_at,
        published_by_role: r.published_by.role.into(),
        current: r.is_current(now),
        withdrawn_at: r.withdrawn.as_ref().map(|(at, _)| *at),
        corrections: if staff {
            r.corrections
                .iter()
                .map(|c| CorrectionView {
                    at: c.at,
                    previous_title: c.previous_title.clone(),
                    previous_body: c.previous_body.clone(),
                    reason: c.reason.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        read_count: staff.then_some(r.readers.len() as u32),
        read_by_me: r.readers.contains(&me),
    }
}

fn visible(session: &Session<'_>, id: Uuid) -> Result<AnnouncementNode, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        let view = session.talo.read_models.announcements.read();
        let record = view
            .get(principal.organisation_id, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::announcement::not_visible()))?;
        let staff = AnnouncementsView::is_staff_view(record, &principal);
        let current_for_home = record.is_current(session.now)
            && talo_domain::announcement::targets_home(&record.targets, &principal, register);
        if !staff && !current_for_home {
            return Err(ApiError::Rejected(talo_domain::announcement::not_visible()));
        }
        Ok(node(record, staff, principal.person_id, session.now))
    })
}

#[derive(Default)]
pub struct AnnouncementQuery;

#[Object]
impl AnnouncementQuery {
    /// Residents: the current announcements for their home. Staff: every announcement of their
    /// properties, scheduled, current, expired or withdrawn. Newest first, a page at a time.
    async fn announcements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<AnnouncementNode>> {
        let session = Session::of(ctx).gql()?;
        let run = || {
            let principal = session.principal()?;
            let size = page_size(first, session.talo.config.limits.max_page_size)?;
            let after_key =
                after_instant_and_id(after.as_deref())?.map(|(at, id)| (at.timestamp_micros(), id));
            session.talo.with_register(session.caller, |register| {
                let view = session.talo.read_models.announcements.read();
                let (records, total) =
                    view.page_visible_to(&principal, register, session.now, after_key, size + 1);
                Ok(page_of(
                    records,
                    total,
                    size,
                    after.is_some(),
                    |r| sort_key(None, r.publish_at, r.announcement_id),
                    |r| {
                        node(
                            r,
                            AnnouncementsView::is_staff_view(r, &principal),
                            principal.person_id,
                            session.now,
                        )
                    },
                ))
            })
        };
        run().gql()
    }

    async fn announcement(&self, ctx: &Context<'_>, id: Uuid) -> Result<AnnouncementNode> {
        let session = Session::of(ctx).gql()?;
        visible(&session, id).gql()
    }
}

#[derive(InputObject)]
pub struct PublishAnnouncementInput {
    idempotency_key: String,
    title: String,
    body: String,
    category: AnnouncementCategoryGql,
    targets: Vec<TargetView>,
    /// Defaults to now.
    publish_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct CorrectAnnouncementInput {
    idempotency_key: String,
    announcement_id: Uuid,
    title: String,
    body: String,
    expires_at: Option<DateTime<Utc>>,
    reason: String,
}

#[derive(InputObject)]
pub struct AnnouncementStepInput {
    idempotency_key: String,
    announcement_id: Uuid,
    /// Why it is withdrawn (for withdrawals).
    reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct AnnouncementPayload {
    announcement: AnnouncementNode,
    position: String,
    replayed: bool,
}

#[derive(Default)]
pub struct AnnouncementMutation;

async fn step(
    ctx: &Context<'_>,
    key: &str,
    id: Uuid,
    command: AnnouncementCommand,
) -> Result<AnnouncementPayload> {
    let run = async {
        let session = Session::of(ctx)?;
        let request = session.request(talo_events_schema::envelope::Channel::Portal, key)?;
        let outcome = session
            .talo
            .dispatcher
            .announcement_step(&request, id, command)
            .await?;
        Ok(AnnouncementPayload {
            announcement: visible(&session, id)?,
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    };
    run.await.gql()
}

#[Object]
impl AnnouncementMutation {
    async fn publish_announcement(
        &self,
        ctx: &Context<'_>,
        input: PublishAnnouncementInput,
    ) -> Result<AnnouncementPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let announcement_id = request.new_entity_id("announcement");
            let command = PublishAnnouncement {
                announcement_id,
                title: input.title,
                body: input.body,
                category: input.category.into(),
                targets: input
                    .targets
                    .iter()
                    .map(|t| AnnouncementTarget {
                        property_id: t.property_id,
                        building_id: t.building_id,
                    })
                    .collect(),
                publish_at: input.publish_at.unwrap_or(session.now),
                expires_at: input.expires_at,
            };
            let outcome = session
                .talo
                .dispatcher
                .publish_announcement(&request, command)
                .await?;
            Ok(AnnouncementPayload {
                announcement: visible(&session, announcement_id)?,
                position: outcome.position.to_string(),
                replayed: outcome.replayed,
            })
        };
        run.await.gql()
    }

    /// Corrects the text; the earlier text stays in the history.
    async fn correct_announcement(
        &self,
        ctx: &Context<'_>,
        input: CorrectAnnouncementInput,
    ) -> Result<AnnouncementPayload> {
        let command = AnnouncementCommand::Correct {
            title: input.title,
            body: input.body,
            expires_at: input.expires_at,
            reason: input.reason,
        };
        step(ctx, &input.idempotency_key, input.announcement_id, command).await
    }

    async fn withdraw_announcement(
        &self,
        ctx: &Context<'_>,
        input: AnnouncementStepInput,
    ) -> Result<AnnouncementPayload> {
        let command = AnnouncementCommand::Withdraw {
            reason: input.reason.unwrap_or_default(),
        };
        step(ctx, &input.idempotency_key, input.announcement_id, command).await
    }

    /// A resident marks the announcement read (counted once per person).
    async fn mark_announcement_read(
        &self,
        ctx: &Context<'_>,
        input: AnnouncementStepInput,
    ) -> Result<AnnouncementPayload> {
        step(
            ctx,
            &input.idempotency_key,
            input.announcement_id,
            AnnouncementCommand::Read,
        )
        .await
    }
}
