//! Notifications in GraphQL: each person's own, the office's outbox with delivery status, and
//! counts per channel for the reports.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use talo_projections::notifications::NotificationRecord;
use uuid::Uuid;

use super::enums::{DeliveryStatusGql, NotificationChannelGql};
use super::pagination::{Page, instant_and_id, page_of, page_size, sort_key};
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
#[graphql(name = "Notification")]
pub struct NotificationNode {
    id: Uuid,
    person_id: Uuid,
    channel: NotificationChannelGql,
    address: String,
    subject: String,
    body: String,
    /// The event type that made it matter.
    cause_type: String,
    queued_at: DateTime<Utc>,
    status: DeliveryStatusGql,
    attempts: u32,
    last_error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<&NotificationRecord> for NotificationNode {
    fn from(r: &NotificationRecord) -> Self {
        NotificationNode {
            id: r.notification_id,
            person_id: r.person_id,
            channel: r.channel.into(),
            address: r.address.clone(),
            subject: r.subject.clone(),
            body: r.body.clone(),
            cause_type: r.cause_type.clone(),
            queued_at: r.queued_at,
            status: r.status.into(),
            attempts: r.attempts,
            last_error: r.last_error.clone(),
            retry_at: r.retry_at,
            delivered_at: r.delivered_at,
        }
    }
}

/// Notifications of one channel queued in a period.
#[derive(SimpleObject)]
pub struct NotificationChannelCount {
    channel: String,
    queued: u32,
    delivered: u32,
    /// Attempts that failed, including those later retried successfully.
    failed_attempts: u32,
    gave_up: u32,
}

#[derive(Default)]
pub struct NotificationQuery;

fn office_or_auditor(session: &Session<'_>, what: &str) -> Result<(), ApiError> {
    let principal = session.principal()?;
    if principal.is_auditor() || principal.is_office_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{what}: for office staff and auditors"
        )))
    }
}

#[Object]
impl NotificationQuery {
    /// The caller's own notifications, newest first.
    async fn my_notifications(&self, ctx: &Context<'_>) -> Result<Vec<NotificationNode>> {
        let session = Session::of(ctx).gql()?;
        session.principal().gql()?;
        let view = session.talo.read_models.notifications.read();
        Ok(view
            .for_person(session.caller.organisation_id, session.caller.person_id)
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The organisation's outbox, newest first: for office staff and auditors.
    async fn notification_outbox(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatusGql>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<NotificationNode>> {
        let session = Session::of(ctx).gql()?;
        office_or_auditor(&session, "notificationOutbox").gql()?;
        let size = page_size(first, session.talo.config.limits.max_page_size).gql()?;
        let before = match &after {
            None => None,
            Some(cursor) => Some(
                instant_and_id(cursor)
                    .ok_or_else(|| {
                        ApiError::bad_input(
                            "after",
                            "page.cursor",
                            "not a cursor from this list; start again from the first page",
                        )
                    })
                    .gql()?,
            ),
        };
        // Straight from the outbox's index: five years of an organisation are millions.
        let view = session.talo.read_models.notifications.read();
        let (records, total) = view.outbox_page(
            session.caller.organisation_id,
            status.map(Into::into),
            before,
            size + 1,
        );
        Ok(page_of(
            records,
            total,
            size,
            before.is_some(),
            |r| sort_key(None, r.queued_at, r.notification_id),
            NotificationNode::from,
        ))
    }

    /// Notifications queued in `[from, until)` per channel, with delivery and failure counts.
    async fn notification_counts(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<NotificationChannelCount>> {
        let session = Session::of(ctx).gql()?;
        office_or_auditor(&session, "notificationCounts").gql()?;
        if until <= from {
            return Err(ApiError::bad_input(
                "until",
                "report.range",
                "must be after `from`",
            ))
            .gql();
        }
        let view = session.talo.read_models.notifications.read();
        Ok(view
            .counts(session.caller.organisation_id, from, until)
            .into_iter()
            .map(|(channel, c)| NotificationChannelCount {
                channel: channel.to_owned(),
                queued: c.queued,
                delivered: c.delivered,
                failed_attempts: c.failed_attempts,
                gave_up: c.gave_up,
            })
            .collect())
    }
}
