//! Notifications in GraphQL: each person's own, the office's outbox with delivery status, and
//! counts per channel for the reports.
//!
//! The outbox read model holds delivery state only; a notification's address, subject, body
//! and cause are read from the log for the ones on the page, and only when the query asks for
//! one of them (a status board pages the outbox without touching the store).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ErrorExtensions, Lookahead, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use talo_projections::notifications::{self, NotificationMessage, NotificationRecord};
use uuid::Uuid;

use super::enums::{DeliveryStatusGql, NotificationChannelGql};
use super::pagination::{
    ListTotals, Page, after_instant_and_id, page_size, sort_key, stray_cursor,
};
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

impl NotificationNode {
    /// `message` is `None` when the query asks for none of its fields, which are then never
    /// resolved.
    fn new(r: &NotificationRecord, message: Option<NotificationMessage>) -> Self {
        let NotificationMessage {
            address,
            subject,
            body,
            cause_type,
        } = message.unwrap_or_default();
        NotificationNode {
            id: r.notification_id,
            person_id: r.person_id,
            channel: r.channel.into(),
            address,
            subject,
            body,
            cause_type,
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

/// Whether the selection `node` (a `Notification`) asks for anything read from the log.
fn asks_for_message(node: Lookahead<'_>) -> bool {
    ["address", "subject", "body", "causeType"]
        .iter()
        .any(|field| node.field(field).exists())
}

/// Nodes of `records`, with what each says read from the log if `wanted`. One whose message
/// cannot be read is left out, with an error naming it beside the rest of the answer: a log no
/// notifier wrote (an import gone wrong) should not hide a person's whole list.
async fn nodes(
    ctx: &Context<'_>,
    session: &Session<'_>,
    records: Vec<NotificationRecord>,
    wanted: bool,
) -> Vec<(NotificationRecord, NotificationNode)> {
    if !wanted {
        return records
            .into_iter()
            .map(|r| {
                let node = NotificationNode::new(&r, None);
                (r, node)
            })
            .collect();
    }
    let store = session.talo.store.as_ref();
    let read = futures::future::join_all(
        records
            .iter()
            .map(|r| notifications::message(store, r.notification_id)),
    )
    .await;
    records
        .into_iter()
        .zip(read)
        .filter_map(|(r, message)| match message {
            Ok(message) => {
                let node = NotificationNode::new(&r, Some(message));
                Some((r, node))
            }
            Err(error) => {
                let id = r.notification_id;
                tracing::error!(notification = %id, %error, "notification message not read");
                let left_out = async_graphql::Error::new(format!(
                    "notification {id}: what it says could not be read from the log"
                ))
                .extend_with(|_, ext| ext.set("code", "INTERNAL"));
                ctx.add_error(left_out.into_server_error(ctx.item.pos));
                None
            }
        })
        .collect()
}

/// A page of `records` (newest first, one past the page if there is a next page), each with
/// what it says read from the log if the query asks for it.
async fn page_with_messages(
    ctx: &Context<'_>,
    session: &Session<'_>,
    mut records: Vec<NotificationRecord>,
    total_count: usize,
    size: usize,
    after_a_cursor: bool,
) -> Page<NotificationNode> {
    let page = ctx.look_ahead();
    let with_message = asks_for_message(page.field("edges").field("node"))
        || asks_for_message(page.field("nodes"));
    // The one past the page only tells whether there is a next page.
    let has_next = records.len() > size;
    records.truncate(size);
    let mut connection =
        Connection::with_additional_fields(after_a_cursor, has_next, ListTotals { total_count });
    connection.edges.extend(
        nodes(ctx, session, records, with_message)
            .await
            .into_iter()
            .map(|(r, node)| Edge::new(sort_key(None, r.queued_at, r.notification_id), node)),
    );
    connection
}

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
    /// The caller's own notifications, newest first, a page at a time: five years of a
    /// resident's notifications are hundreds, and each one's text is read from the log.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<NotificationNode>> {
        let session = Session::of(ctx).gql()?;
        session.principal().gql()?;
        let size = page_size(first, session.talo.config.limits.max_page_size).gql()?;
        let after_item = after_instant_and_id(after.as_deref()).gql()?;
        let (records, total) = {
            let view = session.talo.read_models.notifications.read();
            let (records, total) = view.person_page(
                session.caller.organisation_id,
                session.caller.person_id,
                after_item,
                size + 1,
            );
            (records.into_iter().cloned().collect::<Vec<_>>(), total)
        };
        Ok(page_with_messages(ctx, &session, records, total, size, after.is_some()).await)
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
        let after_item = after_instant_and_id(after.as_deref()).gql()?;
        // Straight from the outbox's index: five years of an organisation are millions.
        let (records, total) = {
            let view = session.talo.read_models.notifications.read();
            let (records, total) = view
                .outbox_page(
                    session.caller.organisation_id,
                    status.map(Into::into),
                    after_item,
                    size + 1,
                )
                .ok_or_else(stray_cursor)
                .gql()?;
            (records.into_iter().cloned().collect::<Vec<_>>(), total)
        };
        Ok(page_with_messages(ctx, &session, records, total, size, after.is_some()).await)
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
