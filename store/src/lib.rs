//! The event store: an append-only log of streams with one global order.
//!
//! [`EventStore`] is shaped after KurrentDB's model (streams with revisions, one global log
//! with positions, expected-revision concurrency, idempotent appends by event id, catch-up
//! subscriptions) so that the embedded [`SqliteEventStore`] and a cluster backend are
//! interchangeable behind `Arc<dyn EventStore>`. Callers never see rusqlite or gRPC types:
//! every backend maps its failures into [`StoreError`].

pub mod chain;
pub mod conformance;
pub mod kurrentdb;
pub mod migration;
mod sqlite;
mod sqlite_chain;
mod sqlite_mentions;
mod sqlite_streams;
pub mod stream_chain;
mod verify;

use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use uuid::Uuid;

pub use chain::{ChainHash, ChainLink, DailyAnchor};
pub use sqlite::{RecordingClock, SqliteEventStore, SqliteOptions, SqliteStats};
pub use verify::{ChainBreak, ChainReport};

/// What the writer believes about the stream it appends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// Append whatever the stream holds.
    Any,
    /// The stream must not exist yet (creating an aggregate).
    NoStream,
    /// The stream must hold at least one event.
    StreamExists,
    /// The last event of the stream must have exactly this revision.
    Exact(u64),
}

/// What a stream actually held when an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentRevision {
    NoStream,
    Current(u64),
}

/// The result of a successful append: where its last event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Revision of the last appended event in its stream.
    pub next_expected_revision: u64,
    /// Global position of the last appended event.
    pub position: Position,
}

/// Where to start reading a stream; the starting event itself is included.
///
/// `Start` is revision 0 and `End` is past the last event, so reading forwards from `End`
/// returns nothing and reading backwards from `Start` returns at most the first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFrom {
    Start,
    End,
    Revision(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forwards,
    Backwards,
}

/// Narrows a read of the global log. Every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    pub organisation_id: Option<Uuid>,
    pub stream: Option<String>,
    /// Any of these event types; empty means all types.
    pub event_types: Vec<String>,
    /// Business time, inclusive lower bound.
    pub occurred_from: Option<DateTime<Utc>>,
    /// Business time, exclusive upper bound.
    pub occurred_until: Option<DateTime<Utc>>,
    /// Events that may concern this id: in its own stream (`<kind>-<id>`), by it as the actor,
    /// about it as the property, or with its text between two quotes in the payload's JSON (a
    /// string written as ids are written, lower case and hyphenated). A superset on purpose:
    /// the payload is matched as text (a store does this without parsing it), so an object key
    /// passes too, and a caller that wants the id as a value checks the decoded payload.
    pub mentions: Option<Uuid>,
}

impl LogFilter {
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        self.matches_envelope(event) && self.mentions.is_none_or(|id| mentions(event, id))
    }

    /// Every field but `mentions`.
    pub(crate) fn matches_envelope(&self, event: &RecordedEvent) -> bool {
        self.organisation_id
            .is_none_or(|org| event.metadata.organisation_id == org)
            && self.stream.as_ref().is_none_or(|s| &event.stream == s)
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
            && self
                .occurred_from
                .is_none_or(|t| event.metadata.occurred_at >= t)
            && self
                .occurred_until
                .is_none_or(|t| event.metadata.occurred_at < t)
    }
}

/// [`LogFilter::mentions`] for one event.
fn mentions(event: &RecordedEvent, id: Uuid) -> bool {
    let text = id.to_string();
    event.stream.ends_with(&text)
        || event.metadata.actor.person_id == id
        || event.metadata.property_id == Some(id)
        || event.payload.as_str().contains(&format!("\"{text}\""))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stream `{stream}`: expected revision {expected:?} but the stream is at {current:?}")]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedRevision,
        current: CurrentRevision,
    },
    /// Some of the event ids were appended before, but not as this same append (different
    /// stream, different order, or only some of them).
    #[error("event id {event_id} was already appended as part of a different write")]
    EventIdConflict { event_id: Uuid },
    #[error("stream name: {0}")]
    InvalidStreamName(String),
    #[error("an append must carry at least one event")]
    EmptyAppend,
    /// The backend failed; the message is for logs, not for clients.
    #[error("event store backend: {0}")]
    Backend(String),
    /// The store was shut down while the request was in flight.
    #[error("event store is closed")]
    Closed,
}

/// What an event's chain link ties it to, which decides what `talo verify` can prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainScope {
    /// Each link's previous hash is that of the event before it in the global log, and daily
    /// anchors pin the log's head (the embedded store, [`chain`]).
    GlobalLog,
    /// Each link's previous hash is that of the event before it in its own stream; there are
    /// no daily anchors (a KurrentDB cluster, [`stream_chain`]).
    PerStream,
}

/// A live feed of the global log: every event after the starting position, in order, first
/// those already stored (catch-up), then new ones as they are committed.
pub type Subscription = Pin<Box<dyn Stream<Item = Result<RecordedEvent, StoreError>> + Send>>;

#[async_trait::async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` atomically, if the stream is at `expected`.
    ///
    /// Acknowledged only once durable. Appending event ids that were already appended by an
    /// identical earlier append (same stream, same ids in the same order) writes nothing and
    /// returns that earlier result, so a client may retry after a lost acknowledgement.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Reads up to `max_count` events of one stream. A stream that does not exist reads as
    /// empty.
    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads up to `max_count` events of the global log strictly after `after`, in order,
    /// keeping those that match `filter`.
    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads the global log backwards: up to `max_count` matching events strictly before
    /// `before` (`None` = from the end).
    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The position of the last committed event ([`Position::START`] when empty).
    async fn head(&self) -> Result<Position, StoreError>;

    /// The hash chain link of the event at `position`; `None` when no event is there.
    ///
    /// Every event's hash covers its whole content and the hash of the event before it: in
    /// the global log (see [`chain`]), so the head of the chain vouches for all history
    /// before it, or in its own stream (see [`stream_chain`]), as [`Self::chain_scope`] says.
    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError>;

    /// Up to `max_count` chain links of the events strictly after `after`, in log order.
    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError>;

    /// The chain link of the last committed event; `None` when the log is empty.
    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError>;

    /// The daily anchors (the chain head at the end of each local day) for the days `from`
    /// through `until`, both included, oldest first. A day with no events has no anchor, and
    /// the current day has none until an event of a later day is appended.
    async fn anchors(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError>;

    /// What the chain links of this store tie each event to.
    fn chain_scope(&self) -> ChainScope {
        ChainScope::GlobalLog
    }

    /// Every event strictly after `after`: catch-up, then live.
    fn subscribe_all(&self, after: Position) -> Subscription;

    /// Finishes in-flight appends and releases the backend; later calls fail with
    /// [`StoreError::Closed`]. Closing twice is harmless.
    async fn close(&self);
}

/// Stream names are ASCII words joined by `-`, as `fault-report-<uuid>`; KurrentDB reserves a
/// leading `$` for system streams.
pub fn validate_stream_name(stream: &str) -> Result<(), StoreError> {
    let ok = !stream.is_empty()
        && stream.len() <= 200
        && !stream.starts_with('$')
        && stream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidStreamName(format!(
            "`{stream}` must be 1-200 characters of letters, digits, `-`, `_` or `.`, not starting with `$`"
        )))
    }
}
