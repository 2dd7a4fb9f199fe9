//! The envelope every event travels in: identity, position in the log, who did it, through
//! which channel, when it happened in business time, and the payload as JSON.
//!
//! The envelope is the same for every event type so that the store, the projections and the
//! auditor can handle any event without knowing its payload.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A place in the global log. On the embedded store `commit == prepare` and both count events
/// from 1 without gaps; a KurrentDB cluster gives its own (commit, prepare) pair. Positions are
/// ordered, so "has this projection reached my write" is a comparison.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Position {
    pub commit: u64,
    pub prepare: u64,
}

impl Position {
    /// The position before the first event: a checkpoint that has seen nothing.
    pub const START: Position = Position {
        commit: 0,
        prepare: 0,
    };

    /// A position on a store whose log is one gapless sequence.
    pub fn sequence(n: u64) -> Self {
        Position {
            commit: n,
            prepare: n,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.commit == self.prepare {
            write!(f, "{}", self.commit)
        } else {
            write!(f, "{}/{}", self.commit, self.prepare)
        }
    }
}

/// The text of a position could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("position: expected a number or `commit/prepare`, got `{0}`")]
pub struct PositionParseError(pub String);

impl FromStr for Position {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |t: &str| {
            t.parse::<u64>()
                .map_err(|_| PositionParseError(s.to_owned()))
        };
        match s.split_once('/') {
            Some((commit, prepare)) => Ok(Position {
                commit: parse(commit)?,
                prepare: parse(prepare)?,
            }),
            None => Ok(Position::sequence(parse(s)?)),
        }
    }
}

/// The role a person acted in when they caused an event. A person can hold several roles (a
/// shareholder who is also the board chair); the envelope records the one that authorised
/// this action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Resident,
    Shareholder,
    BoardMember,
    BoardChair,
    ResidentCommittee,
    PropertyManager,
    TechnicalManager,
    CustomerService,
    Contractor,
    Applicant,
    Auditor,
    /// Talo itself: demo seeding, scheduled jobs, migrations.
    System,
}

impl ActorRole {
    pub const ALL: [ActorRole; 12] = [
        ActorRole::Resident,
        ActorRole::Shareholder,
        ActorRole::BoardMember,
        ActorRole::BoardChair,
        ActorRole::ResidentCommittee,
        ActorRole::PropertyManager,
        ActorRole::TechnicalManager,
        ActorRole::CustomerService,
        ActorRole::Contractor,
        ActorRole::Applicant,
        ActorRole::Auditor,
        ActorRole::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Resident => "resident",
            ActorRole::Shareholder => "shareholder",
            ActorRole::BoardMember => "board_member",
            ActorRole::BoardChair => "board_chair",
            ActorRole::ResidentCommittee => "resident_committee",
            ActorRole::PropertyManager => "property_manager",
            ActorRole::TechnicalManager => "technical_manager",
            ActorRole::CustomerService => "customer_service",
            ActorRole::Contractor => "contractor",
            ActorRole::Applicant => "applicant",
            ActorRole::Auditor => "auditor",
            ActorRole::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    pub person_id: Uuid,
    pub role: ActorRole,
}

impl Actor {
    /// Talo acting on its own behalf (demo data, scheduled work). The nil person id marks it.
    pub const SYSTEM: Actor = Actor {
        person_id: Uuid::nil(),
        role: ActorRole::System,
    };
}

/// How a contact reached the organisation. The reports on channel mix count these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Portal,
    Phone,
    Email,
    Office,
    Field,
    System,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Portal,
        Channel::Phone,
        Channel::Email,
        Channel::Office,
        Channel::Field,
        Channel::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Office => "office",
            Channel::Field => "field",
            Channel::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Everything about an event that is not its payload and not assigned by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Business time: when it happened, as the command said. Differs from `recorded_at` for
    /// back-dated entries and for contacts recorded after the fact.
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub channel: Channel,
    /// Shared by every event caused by one request.
    pub correlation_id: Uuid,
    /// The event (or request) that directly caused this one.
    pub causation_id: Option<Uuid>,
    pub organisation_id: Uuid,
    pub property_id: Option<Uuid>,
    /// The client's idempotency key of the request that produced this event, so a retried
    /// request can be recognised even after a restart.
    pub idempotency_key: Option<String>,
}

impl EventMetadata {
    /// Metadata of an event the system records on its own, at no person's request: no cause
    /// and no idempotency key.
    pub fn system(organisation_id: Uuid, correlation_id: Uuid, at: DateTime<Utc>) -> Self {
        EventMetadata {
            occurred_at: at,
            actor: Actor::SYSTEM,
            channel: Channel::System,
            correlation_id,
            causation_id: None,
            organisation_id,
            property_id: None,
            idempotency_key: None,
        }
    }
}

/// An event about to be appended. The store adds stream, revision, position and recorded-at.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// UUID v7. Appending the same ids again is a no-op (see `EventStore::append`).
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub metadata: EventMetadata,
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// `event` in its current schema version, to be appended with `metadata`.
    pub fn of(event_id: Uuid, event: &crate::DomainEvent, metadata: EventMetadata) -> Self {
        NewEvent {
            event_id,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            metadata,
            payload: event.to_json(),
        }
    }
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream: String,
    /// 0 for the first event of a stream.
    pub revision: u64,
    pub position: Position,
    pub event_type: String,
    pub schema_version: u32,
    /// When the store made the event durable.
    pub recorded_at: DateTime<Utc>,
    pub metadata: EventMetadata,
    pub payload: StoredPayload,
}

/// An event's payload exactly as stored: compact JSON text, object keys sorted (as
/// `serde_json` writes a `Value`).
///
/// Kept as text rather than a parsed `Value` because most readers want the typed event: a
/// replay decodes the text once, straight into it (see `DomainEvent::from_json_text`), and the
/// hash chain hashes these very bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredPayload(String);

impl StoredPayload {
    /// The text a store keeps for `value`.
    pub fn from_value(value: &serde_json::Value) -> Self {
        StoredPayload(value.to_string())
    }

    /// Text read back from a store. Not parsed here: whoever decodes it reports bad JSON with
    /// the event's type and position.
    pub fn from_stored(text: String) -> Self {
        StoredPayload(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The payload as a JSON value, for readers that show it rather than fold it.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl fmt::Display for StoredPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_event_carries_its_type_version_and_payload_and_system_metadata() {
        let event: crate::DomainEvent = crate::notification::NotificationDelivered {
            notification_id: Uuid::from_u128(7),
        }
        .into();
        let (organisation, correlation) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = DateTime::from_timestamp(1_767_225_600, 0).expect("valid");
        let new = NewEvent::of(
            Uuid::from_u128(3),
            &event,
            EventMetadata::system(organisation, correlation, at),
        );
        assert_eq!(new.event_type, "NotificationDelivered");
        assert_eq!(new.schema_version, event.schema_version());
        let decoded =
            crate::DomainEvent::from_json(&new.event_type, new.schema_version, new.payload)
                .expect("decodes");
        assert_eq!(decoded, event);
        let m = new.metadata;
        assert_eq!((m.actor, m.channel), (Actor::SYSTEM, Channel::System));
        assert_eq!(
            (m.organisation_id, m.correlation_id, m.occurred_at),
            (organisation, correlation, at)
        );
        assert_eq!(
            (m.causation_id, m.property_id, m.idempotency_key),
            (None, None, None)
        );
    }

    #[test]
    fn position_text_round_trips_in_both_shapes() {
        for p in [
            Position::sequence(42),
            Position {
                commit: 10,
                prepare: 7,
            },
        ] {
            assert_eq!(p.to_string().parse::<Position>(), Ok(p));
        }
        assert_eq!("42".parse::<Position>(), Ok(Position::sequence(42)));
    }

    #[test]
    fn position_rejects_garbage_naming_the_field() {
        let err = "4x".parse::<Position>().unwrap_err();
        assert!(err.to_string().starts_with("position:"));
    }

    #[test]
    fn positions_order_by_commit_then_prepare() {
        assert!(Position::sequence(2) > Position::sequence(1));
        assert!(
            Position {
                commit: 5,
                prepare: 9
            } < Position {
                commit: 6,
                prepare: 1
            }
        );
    }

    #[test]
    fn a_stored_payload_is_the_compact_sorted_text_of_its_value() {
        let value = serde_json::json!({"zeta": 1, "alpha": {"b": [1, 2], "a": null}});
        let stored = StoredPayload::from_value(&value);
        assert_eq!(
            stored.as_str(),
            r#"{"alpha":{"a":null,"b":[1,2]},"zeta":1}"#
        );
        assert_eq!(stored.to_value().unwrap(), value);
        assert!(
            StoredPayload::from_stored("{oops".into())
                .to_value()
                .is_err()
        );
    }
}
