//! How a Talo event is laid out in a KurrentDB event, and read back.
//!
//! KurrentDB stores an event as its id, type, data and a free metadata blob; it assigns the
//! stream revision, the log position and the creation time. Talo puts the payload JSON in the
//! data and everything else of the envelope in the metadata, as JSON:
//!
//! ```json
//! {
//!   "talo": 1,
//!   "schemaVersion": 2,
//!   "occurredAt": "2024-05-06T07:08:09.123456Z",
//!   "actor": { "personId": "…", "role": "property_manager" },
//!   "channel": "office",
//!   "correlationId": "…", "causationId": null,
//!   "organisationId": "…", "propertyId": null, "idempotencyKey": null,
//!   "chain": { "hash": "<64 hex>", "previous": "<64 hex>" },
//!   "$correlationId": "…", "$causationId": "…"
//! }
//! ```
//!
//! `talo` is the layout's version. `chain` is the event's link in its stream's hash chain
//! ([`crate::stream_chain`]). `$correlationId` and `$causationId` repeat Talo's ids under the
//! names KurrentDB's own `$by_correlation_id` projection reads; they are not read back.
//! Business time keeps microseconds, as on the embedded store; the server's creation time
//! becomes `recorded_at`, also to the microsecond.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use talo_events_schema::envelope::{
    Actor, ActorRole, Channel, EventMetadata, NewEvent, Position, RecordedEvent, StoredPayload,
};
use uuid::Uuid;

use crate::StoreError;
use crate::chain::{ChainHash, ChainLink};
use crate::stream_chain::new_event_stream_hash;

/// The version of this layout, written as `talo`.
pub const LAYOUT_VERSION: u32 = 1;

/// The metadata JSON of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMetadata {
    pub talo: u32,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub actor: StoredActor,
    pub channel: Channel,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub organisation_id: Uuid,
    pub property_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub chain: StoredLink,
    #[serde(rename = "$correlationId", default, skip_deserializing)]
    pub kurrent_correlation_id: String,
    #[serde(
        rename = "$causationId",
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none"
    )]
    pub kurrent_causation_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredActor {
    pub person_id: Uuid,
    pub role: ActorRole,
}

/// The event's hash and the hash of its stream's event before it, as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLink {
    pub hash: String,
    pub previous: String,
}

/// An event ready for the client: its id, type, data and metadata, and its hash (the previous
/// hash of the next event in its stream).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub metadata: StoredMetadata,
    pub hash: ChainHash,
}

/// Lays out `event`, to be appended at `revision` of `stream` after an event whose hash is
/// `previous`.
pub fn encode(stream: &str, revision: u64, event: &NewEvent, previous: ChainHash) -> EncodedEvent {
    // The hash covers business time as stored: to the microsecond.
    let mut event = event.clone();
    event.metadata.occurred_at = to_micros(event.metadata.occurred_at);
    let hash = new_event_stream_hash(stream, revision, &event, &previous);
    let m = &event.metadata;
    let metadata = StoredMetadata {
        talo: LAYOUT_VERSION,
        schema_version: event.schema_version,
        occurred_at: m.occurred_at,
        actor: StoredActor {
            person_id: m.actor.person_id,
            role: m.actor.role,
        },
        channel: m.channel,
        correlation_id: m.correlation_id,
        causation_id: m.causation_id,
        organisation_id: m.organisation_id,
        property_id: m.property_id,
        idempotency_key: m.idempotency_key.clone(),
        chain: StoredLink {
            hash: hash.to_string(),
            previous: previous.to_string(),
        },
        kurrent_correlation_id: m.correlation_id.to_string(),
        kurrent_causation_id: m.causation_id.map(|id| id.to_string()),
    };
    EncodedEvent {
        event_id: event.event_id,
        event_type: event.event_type,
        payload: event.payload,
        metadata,
        hash,
    }
}

/// An event as the client reads it, in plain types.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    pub stream: &'a str,
    pub revision: u64,
    pub position: Position,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub created: DateTime<Utc>,
    pub data: &'a [u8],
    pub metadata: &'a [u8],
}

/// Reads a Talo event back, with its chain link. Anything not in Talo's layout is an error
/// naming the event, so a read model stops loudly rather than skipping it.
pub fn decode(raw: RawEvent<'_>) -> Result<(RecordedEvent, ChainLink), StoreError> {
    let unreadable = |what: String| {
        StoreError::Backend(format!(
            "event {} at position {} (stream `{}` revision {}): {what}",
            raw.event_id, raw.position, raw.stream, raw.revision
        ))
    };
    let stored: StoredMetadata = serde_json::from_slice(raw.metadata)
        .map_err(|e| unreadable(format!("metadata is not Talo's layout: {e}")))?;
    if stored.talo != LAYOUT_VERSION {
        return Err(unreadable(format!(
            "metadata layout version {} is not {LAYOUT_VERSION}; a newer Talo wrote it",
            stored.talo
        )));
    }
    let hash = stored
        .chain
        .hash
        .parse::<ChainHash>()
        .map_err(|e| unreadable(format!("chain.hash: {e}")))?;
    let previous_hash = stored
        .chain
        .previous
        .parse::<ChainHash>()
        .map_err(|e| unreadable(format!("chain.previous: {e}")))?;
    serde_json::from_slice::<serde::de::IgnoredAny>(raw.data)
        .map_err(|e| unreadable(format!("data is not JSON: {e}")))?;
    let payload = std::str::from_utf8(raw.data)
        .map(|text| StoredPayload::from_stored(text.to_owned()))
        .map_err(|e| unreadable(format!("data is not UTF-8: {e}")))?;
    let event = RecordedEvent {
        event_id: raw.event_id,
        stream: raw.stream.to_owned(),
        revision: raw.revision,
        position: raw.position,
        event_type: raw.event_type.to_owned(),
        schema_version: stored.schema_version,
        recorded_at: to_micros(raw.created),
        metadata: EventMetadata {
            occurred_at: stored.occurred_at,
            actor: Actor {
                person_id: stored.actor.person_id,
                role: stored.actor.role,
            },
            channel: stored.channel,
            correlation_id: stored.correlation_id,
            causation_id: stored.causation_id,
            organisation_id: stored.organisation_id,
            property_id: stored.property_id,
            idempotency_key: stored.idempotency_key,
        },
        payload,
    };
    let link = ChainLink {
        position: raw.position,
        hash,
        previous_hash,
    };
    Ok((event, link))
}

fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    // Truncation cannot fail for a step of one microsecond within chrono's range.
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{sample_event, sample_occurred_at};
    use crate::stream_chain::recorded_event_stream_hash;

    fn raw<'a>(encoded: &EncodedEvent, data: &'a [u8], metadata: &'a [u8]) -> RawEvent<'a> {
        RawEvent {
            stream: "fault-report-1",
            revision: 3,
            position: Position {
                commit: 5000,
                prepare: 4800,
            },
            event_id: encoded.event_id,
            event_type: "FaultReported",
            created: DateTime::parse_from_rfc3339("2026-03-04T05:06:07.1234567Z")
                .expect("a time")
                .to_utc(),
            data,
            metadata,
        }
    }

    fn full_event() -> NewEvent {
        let mut event = sample_event("FaultReported", 7);
        event.schema_version = 2;
        event.metadata.causation_id = Some(Uuid::now_v7());
        event.metadata.property_id = Some(Uuid::now_v7());
        event.metadata.idempotency_key = Some("avain-ÄÖ".into());
        event.metadata.actor.role = ActorRole::BoardChair;
        event.metadata.channel = Channel::Phone;
        event.payload = serde_json::json!({"text": "vuotaa", "n": [1, 2.5, null]});
        event
    }

    #[test]
    fn an_event_round_trips_with_its_chain_link() {
        let event = full_event();
        let previous = ChainHash([7; 32]);
        let encoded = encode("fault-report-1", 3, &event, previous);
        let data = serde_json::to_vec(&encoded.payload).expect("data");
        let metadata = serde_json::to_vec(&encoded.metadata).expect("metadata");
        let (recorded, link) = decode(raw(&encoded, &data, &metadata)).expect("decodes");
        assert_eq!(recorded.event_id, event.event_id);
        assert_eq!(recorded.stream, "fault-report-1");
        assert_eq!(recorded.revision, 3);
        assert_eq!(recorded.event_type, "FaultReported");
        assert_eq!(recorded.schema_version, 2);
        assert_eq!(recorded.metadata, event.metadata, "every metadata field");
        assert_eq!(recorded.payload.to_value().unwrap(), event.payload);
        assert_eq!(
            recorded.recorded_at.to_rfc3339(),
            "2026-03-04T05:06:07.123456+00:00",
            "the server's time, to the microsecond"
        );
        assert_eq!(link.position, recorded.position);
        assert_eq!(link.previous_hash, previous);
        assert_eq!(link.hash, encoded.hash);
        assert_eq!(
            recorded_event_stream_hash(&recorded, &previous),
            link.hash,
            "the hash verifies against the event as read back"
        );
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let mut event = full_event();
        event.metadata.causation_id = None;
        let encoded = encode("s", 0, &event, ChainHash::GENESIS);
        let json = serde_json::to_value(&encoded.metadata).expect("json");
        assert_eq!(json["talo"], 1);
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["actor"]["role"], "board_chair");
        assert_eq!(json["channel"], "phone");
        assert_eq!(json["idempotencyKey"], "avain-ÄÖ");
        assert_eq!(json["causationId"], serde_json::Value::Null);
        assert_eq!(json["chain"]["previous"], "0".repeat(64));
        assert_eq!(json["chain"]["hash"], encoded.hash.to_string());
        assert_eq!(
            json["$correlationId"],
            event.metadata.correlation_id.to_string()
        );
        assert!(
            json.get("$causationId").is_none(),
            "no causation, no `$causationId`"
        );
        assert_eq!(
            json["occurredAt"],
            sample_occurred_at().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
    }

    #[test]
    fn business_time_is_stored_to_the_microsecond() {
        let mut event = sample_event("x", 0);
        event.metadata.occurred_at = sample_occurred_at() + chrono::Duration::nanoseconds(789);
        let encoded = encode("s", 0, &event, ChainHash::GENESIS);
        assert_eq!(encoded.metadata.occurred_at, sample_occurred_at());
    }

    #[test]
    fn foreign_or_damaged_events_are_refused_naming_the_event() {
        let encoded = encode("s", 0, &sample_event("x", 0), ChainHash::GENESIS);
        let data = serde_json::to_vec(&encoded.payload).expect("data");
        let good = serde_json::to_value(&encoded.metadata).expect("metadata");
        let mut newer = good.clone();
        newer["talo"] = 2.into();
        let mut bad_hash = good.clone();
        bad_hash["chain"]["hash"] = "xyz".into();
        let mut bad_previous = good.clone();
        bad_previous["chain"]["previous"] = "00".into();
        let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
            (
                data.clone(),
                b"{}".to_vec(),
                "metadata is not Talo's layout",
            ),
            (data.clone(), Vec::new(), "metadata is not Talo's layout"),
            (
                data.clone(),
                newer.to_string().into_bytes(),
                "layout version 2",
            ),
            (
                data.clone(),
                bad_hash.to_string().into_bytes(),
                "chain.hash",
            ),
            (
                data.clone(),
                bad_previous.to_string().into_bytes(),
                "chain.previous",
            ),
            (
                b"not json".to_vec(),
                good.to_string().into_bytes(),
                "data is not JSON",
            ),
        ];
        for (data, metadata, expected) in cases {
            match decode(raw(&encoded, &data, &metadata)) {
                Err(StoreError::Backend(message)) => {
                    assert!(message.contains(expected), "{message}");
                    assert!(
                        message.contains(&encoded.event_id.to_string())
                            && message.contains("4800")
                            && message.contains("fault-report-1"),
                        "names the event: {message}"
                    );
                }
                other => panic!("expected a Backend error with {expected}, got {other:?}"),
            }
        }
    }
}
