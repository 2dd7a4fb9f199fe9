//! The auditor's log: the organisation's events in global order, with every envelope field,
//! filterable by stream, type and business time, paginated by position; one entity's whole
//! history; and the check of a receipt against the log.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::LogFilter;
use uuid::Uuid;

use super::enums::{ActorRoleGql, ChannelGql};
use super::pagination::page_size;
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};
use crate::receipts::{self, Receipt};

#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    stream: Option<String>,
    #[graphql(default)]
    event_types: Vec<String>,
    /// Business time, inclusive.
    occurred_from: Option<DateTime<Utc>>,
    /// Business time, exclusive.
    occurred_until: Option<DateTime<Utc>>,
}

/// One stored event, envelope and payload.
#[derive(SimpleObject)]
pub struct LoggedEvent {
    event_id: Uuid,
    stream: String,
    revision: u64,
    position: String,
    event_type: String,
    schema_version: u32,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    actor_person_id: Uuid,
    actor_role: ActorRoleGql,
    channel: ChannelGql,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    organisation_id: Uuid,
    property_id: Option<Uuid>,
    /// The payload exactly as stored (in its stored schema version).
    payload: Json<serde_json::Value>,
}

impl From<RecordedEvent> for LoggedEvent {
    fn from(e: RecordedEvent) -> Self {
        LoggedEvent {
            event_id: e.event_id,
            stream: e.stream,
            revision: e.revision,
            position: e.position.to_string(),
            event_type: e.event_type,
            schema_version: e.schema_version,
            occurred_at: e.metadata.occurred_at,
            recorded_at: e.recorded_at,
            actor_person_id: e.metadata.actor.person_id,
            actor_role: e.metadata.actor.role.into(),
            channel: e.metadata.channel.into(),
            correlation_id: e.metadata.correlation_id,
            causation_id: e.metadata.causation_id,
            organisation_id: e.metadata.organisation_id,
            property_id: e.metadata.property_id,
            // A payload that is not JSON (a damaged store) is shown as its text rather than
            // hiding the event from the auditor.
            payload: Json(
                e.payload
                    .to_value()
                    .unwrap_or_else(|_| serde_json::Value::String(e.payload.to_string())),
            ),
        }
    }
}

/// A receipt as the client kept it from `extensions.receipts`.
#[derive(InputObject)]
pub struct ReceiptInput {
    stream: String,
    first_revision: u64,
    last_revision: u64,
    event_ids: Vec<Uuid>,
    position: String,
    recorded_at: DateTime<Utc>,
    hash: String,
    chain_hash: Option<String>,
}

#[derive(SimpleObject)]
pub struct ReceiptVerification {
    /// True when the log holds exactly these events, unchanged.
    valid: bool,
    /// Why not, when not.
    reason: Option<String>,
}

/// The hash chain's head at the end of a day: keep these outside Talo, and any later rewrite
/// of the history before them shows.
#[derive(SimpleObject)]
pub struct ChainAnchor {
    date: NaiveDate,
    position: String,
    hash: String,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organisation's events in global order, for auditors. `after` is a position from an
    /// earlier page's cursor.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, LoggedEvent>> {
        let run = async {
            let session = Session::of(ctx)?;
            if !session.principal()?.is_auditor() {
                return Err(ApiError::Forbidden("auditLog: for auditors".into()));
            }
            let size = page_size(first, session.talo.config.limits.max_page_size)?;
            let after_position = cursor_position(after)?;
            let filter = filter.unwrap_or_default();
            let log_filter = LogFilter {
                organisation_id: Some(session.caller.organisation_id),
                stream: filter.stream,
                event_types: filter.event_types,
                occurred_from: filter.occurred_from,
                occurred_until: filter.occurred_until,
                mentions: None,
            };
            let mut events = session
                .talo
                .store
                .read_all(after_position, size + 1, &log_filter)
                .await?;
            let has_next = events.len() > size;
            events.truncate(size);
            let mut connection = Connection::new(after_position != Position::START, has_next);
            connection.edges.extend(
                events
                    .into_iter()
                    .map(|e| Edge::new(e.position.to_string(), LoggedEvent::from(e))),
            );
            Ok(connection)
        };
        run.await.gql()
    }

    /// The daily anchors of the log's hash chain for the days `from` through `until` (Helsinki
    /// dates), for auditors. A day has its anchor once a later day's first event is recorded.
    async fn chain_anchors(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<ChainAnchor>> {
        let run = async {
            let session = Session::of(ctx)?;
            if !session.principal()?.is_auditor() {
                return Err(ApiError::Forbidden("chainAnchors: for auditors".into()));
            }
            if until < from || (until - from).num_days() > 3660 {
                return Err(ApiError::bad_input(
                    "until",
                    "anchors.range",
                    "must be on or after `from`, at most ten years later",
                ));
            }
            let anchors = session.talo.store.anchors(from, until).await?;
            Ok::<_, ApiError>(
                anchors
                    .into_iter()
                    .map(|a| ChainAnchor {
                        date: a.date,
                        position: a.position.to_string(),
                        hash: a.hash.to_string(),
                    })
                    .collect(),
            )
        };
        run.await.gql()
    }

    /// Checks a receipt against the log: anyone of the organisation holding one may ask.
    async fn verify_receipt(
        &self,
        ctx: &Context<'_>,
        receipt: ReceiptInput,
    ) -> Result<ReceiptVerification> {
        let run = async {
            let session = Session::of(ctx)?;
            session.principal()?;
            let receipt = Receipt {
                stream: receipt.stream,
                first_revision: receipt.first_revision,
                last_revision: receipt.last_revision,
                event_ids: receipt.event_ids,
                position: receipt.position,
                recorded_at: receipt.recorded_at,
                hash: receipt.hash,
                chain_hash: receipt.chain_hash,
            };
            let checked = receipts::verify(
                session.talo.store.as_ref(),
                session.caller.organisation_id,
                &receipt,
            )
            .await?;
            Ok::<_, ApiError>(ReceiptVerification {
                valid: checked.is_ok(),
                reason: checked.err().map(|e| e.to_string()),
            })
        };
        run.await.gql()
    }

    /// Everything that happened to or by one entity (a fault report, a contract, an apartment,
    /// a person, a property...), in the order it was recorded: the events of its own stream,
    /// those naming it in their payload, and those it acted in. For auditors. Reads the log
    /// itself, `first` matching events after the position `after`.
    async fn entity_history(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, LoggedEvent>> {
        let run = async {
            let session = Session::of(ctx)?;
            if !session.principal()?.is_auditor() {
                return Err(ApiError::Forbidden("entityHistory: for auditors".into()));
            }
            let size = page_size(first, session.talo.config.limits.max_page_size)?;
            let mut position = cursor_position(after)?;
            // The store passes only events that may concern the id (without copying the rest
            // out of the log), and the payload's mention is checked on its values here.
            let filter = LogFilter {
                organisation_id: Some(session.caller.organisation_id),
                mentions: Some(id),
                ..LogFilter::default()
            };
            let needle = id.to_string();
            let concerns = |e: &RecordedEvent| {
                e.stream.ends_with(&needle)
                    || e.metadata.actor.person_id == id
                    || e.metadata.property_id == Some(id)
                    || (e.payload.as_str().contains(&needle)
                        && e.payload.to_value().is_ok_and(|v| mentions(&v, &needle)))
            };
            let mut found: Vec<RecordedEvent> = Vec::new();
            // Nearly every candidate is one: a page and one more tells whether there is a next.
            let wanted = size + 1;
            let has_next = loop {
                let batch = session
                    .talo
                    .store
                    .read_all(position, wanted, &filter)
                    .await?;
                let Some(last) = batch.last() else {
                    break false;
                };
                position = last.position;
                let done = batch.len() < wanted;
                found.extend(batch.into_iter().filter(|e| concerns(e)));
                if found.len() > size {
                    break true;
                }
                if done {
                    break false;
                }
            };
            found.truncate(size);
            let mut connection = Connection::new(false, has_next);
            connection.edges.extend(
                found
                    .into_iter()
                    .map(|e| Edge::new(e.position.to_string(), LoggedEvent::from(e))),
            );
            Ok(connection)
        };
        run.await.gql()
    }
}

/// The position an `after` cursor names (the start when there is none).
fn cursor_position(after: Option<String>) -> Result<Position, ApiError> {
    match after {
        None => Ok(Position::START),
        Some(cursor) => cursor
            .parse::<Position>()
            .map_err(|e| ApiError::bad_input("after", "page.cursor", e.to_string())),
    }
}

/// Whether any string in the payload is `needle` (ids are stored as their text).
fn mentions(value: &serde_json::Value, needle: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s == needle,
        serde_json::Value::Array(items) => items.iter().any(|v| mentions(v, needle)),
        serde_json::Value::Object(fields) => fields.values().any(|v| mentions(v, needle)),
        _ => false,
    }
}
