//! The hash chain that makes the log tamper-evident.
//!
//! Every stored event carries `hash = SHA-256(encoding(event, previous hash))`, where the
//! previous hash is that of the event one position before it (32 zero bytes, [`ChainHash::GENESIS`],
//! for the first). Changing, removing or reordering any stored event therefore changes every
//! later hash, and the chain head, once copied outside the system (see [`DailyAnchor`]), pins the
//! whole history before it.
//!
//! # The canonical encoding (version 1)
//!
//! The bytes hashed for one event are, in this order:
//!
//! | field | encoding |
//! |---|---|
//! | tag | the 16 ASCII bytes `talo-chain-v1\0\0\0` |
//! | previous hash | 32 bytes |
//! | position | 8 bytes, big-endian unsigned |
//! | event id | 16 bytes (the UUID's bytes) |
//! | stream | text |
//! | revision | 8 bytes, big-endian unsigned |
//! | event type | text |
//! | schema version | 4 bytes, big-endian unsigned |
//! | occurred at | 8 bytes, big-endian signed, microseconds since the Unix epoch (UTC) |
//! | recorded at | 8 bytes, big-endian signed, microseconds since the Unix epoch (UTC) |
//! | actor id | 16 bytes |
//! | actor role | text (`property_manager`, ...) |
//! | channel | text (`portal`, ...) |
//! | correlation id | 16 bytes |
//! | causation id | optional 16 bytes |
//! | organisation id | 16 bytes |
//! | property id | optional 16 bytes |
//! | idempotency key | optional text |
//! | payload | text: the stored JSON, compact, object keys in sorted order |
//!
//! *Text* is a 4-byte big-endian byte length followed by the UTF-8 bytes. *Optional* is one
//! byte `0` when absent, or one byte `1` followed by the value. Lengths and presence bytes make
//! the encoding unambiguous: no two different events encode to the same bytes.
//!
//! The payload is hashed as stored; Talo stores it as `serde_json` writes a `Value` (no
//! whitespace, keys sorted), so an exported payload re-serialised that way hashes the same.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use talo_events_schema::envelope::{Position, RecordedEvent};
use uuid::Uuid;

/// Separates Talo's chain hashes from any other SHA-256 use, and names the encoding version.
const TAG: &[u8; 16] = b"talo-chain-v1\0\0\0";

/// A SHA-256 digest in the chain, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The "previous hash" of the first event.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn from_slice(bytes: &[u8]) -> Option<ChainHash> {
        <[u8; 32]>::try_from(bytes).ok().map(ChainHash)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Into a buffer, then written once: a formatter call per byte was a tenth of an
        // export's time, which writes two hashes per event.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0_u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// The text of a chain hash could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain hash: expected 64 hexadecimal digits, got `{0}`")]
pub struct ChainHashParseError(pub String);

impl FromStr for ChainHash {
    type Err = ChainHashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ChainHashParseError(s.to_owned());
        if s.len() != 64 || !s.is_ascii() {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(ChainHash(bytes))
    }
}

/// One event's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    pub position: Position,
    pub hash: ChainHash,
    pub previous_hash: ChainHash,
}

/// The chain head at the end of a local day (Europe/Helsinki): the last event recorded that
/// day. Kept outside the system, it lets an auditor prove that nothing up to it changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyAnchor {
    pub date: NaiveDate,
    pub position: Position,
    pub hash: ChainHash,
}

/// Every field of a stored event that the hash covers, as stored.
#[derive(Debug, Clone, Copy)]
pub struct ChainedEvent<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: &'a str,
    pub revision: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    /// Microseconds since the Unix epoch.
    pub occurred_at: i64,
    /// Microseconds since the Unix epoch.
    pub recorded_at: i64,
    pub actor_id: Uuid,
    pub actor_role: &'a str,
    pub channel: &'a str,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub organisation_id: Uuid,
    pub property_id: Option<Uuid>,
    pub idempotency_key: Option<&'a str>,
    /// The stored JSON text.
    pub payload: &'a str,
}

impl ChainedEvent<'_> {
    /// This event's hash when it follows `previous`.
    pub fn hash(&self, previous: &ChainHash) -> ChainHash {
        let mut h = Sha256::new();
        h.update(TAG);
        h.update(previous.0);
        h.update(self.position.to_be_bytes());
        h.update(self.event_id.as_bytes());
        text(&mut h, self.stream);
        h.update(self.revision.to_be_bytes());
        text(&mut h, self.event_type);
        h.update(self.schema_version.to_be_bytes());
        h.update(self.occurred_at.to_be_bytes());
        h.update(self.recorded_at.to_be_bytes());
        h.update(self.actor_id.as_bytes());
        text(&mut h, self.actor_role);
        text(&mut h, self.channel);
        h.update(self.correlation_id.as_bytes());
        optional(&mut h, self.causation_id.as_ref(), |h, id| {
            h.update(id.as_bytes())
        });
        h.update(self.organisation_id.as_bytes());
        optional(&mut h, self.property_id.as_ref(), |h, id| {
            h.update(id.as_bytes())
        });
        optional(&mut h, self.idempotency_key, text);
        text(&mut h, self.payload);
        ChainHash(h.finalize().into())
    }
}

/// The hash of a recorded event (as read back or exported) after `previous`, for anyone
/// checking the chain outside the store. The payload is hashed as the text it was stored as.
pub fn recorded_event_hash(event: &RecordedEvent, previous: &ChainHash) -> ChainHash {
    let m = &event.metadata;
    ChainedEvent {
        position: event.position.commit,
        event_id: event.event_id,
        stream: &event.stream,
        revision: event.revision,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        occurred_at: m.occurred_at.timestamp_micros(),
        recorded_at: event.recorded_at.timestamp_micros(),
        actor_id: m.actor.person_id,
        actor_role: m.actor.role.as_str(),
        channel: m.channel.as_str(),
        correlation_id: m.correlation_id,
        causation_id: m.causation_id,
        organisation_id: m.organisation_id,
        property_id: m.property_id,
        idempotency_key: m.idempotency_key.as_deref(),
        payload: event.payload.as_str(),
    }
    .hash(previous)
}

pub(crate) fn text(h: &mut Sha256, s: &str) {
    // Stored texts are far below 4 GiB; a longer one could not have been inserted.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    h.update(len.to_be_bytes());
    h.update(s.as_bytes());
}

pub(crate) fn optional<T>(h: &mut Sha256, value: Option<T>, write: impl FnOnce(&mut Sha256, T)) {
    match value {
        None => h.update([0]),
        Some(v) => {
            h.update([1]);
            write(h, v);
        }
    }
}

/// Follows the local days along the log and says where each one ended.
///
/// The writer (when it appends), the backfill of an older store and the verifier all walk the
/// log through this one rule, so they agree on which anchors must exist: when an event is
/// recorded on a later local day than every event before it, the day of the event before it
/// ended there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayBoundaries {
    /// The latest local day seen and the last event seen, once there is one.
    last: Option<(NaiveDate, u64, ChainHash)>,
}

impl DayBoundaries {
    /// Resumes after the event at `position` with `hash`, the latest local day seen being `day`.
    pub fn resume(day: NaiveDate, position: u64, hash: ChainHash) -> Self {
        DayBoundaries {
            last: Some((day, position, hash)),
        }
    }

    /// The latest local day seen so far.
    pub fn day(&self) -> Option<NaiveDate> {
        self.last.map(|(day, _, _)| day)
    }

    /// The anchor an event recorded at `recorded_at` would close, without observing it.
    pub fn closed_by(&self, recorded_at: DateTime<Utc>) -> Option<DailyAnchor> {
        let (day, position, hash) = self.last?;
        (local_day(recorded_at) > day).then_some(DailyAnchor {
            date: day,
            position: Position::sequence(position),
            hash,
        })
    }

    /// Takes in the next event; returns the anchor of the day it closed, if it starts a later
    /// day.
    pub fn observe(
        &mut self,
        position: u64,
        hash: ChainHash,
        recorded_at: DateTime<Utc>,
    ) -> Option<DailyAnchor> {
        let closed = self.closed_by(recorded_at);
        let day = local_day(recorded_at).max(self.day().unwrap_or(NaiveDate::MIN));
        self.last = Some((day, position, hash));
        closed
    }
}

/// The property's calendar day of an instant.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    talo_domain::calendar::local_date(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event<'a>(payload: &'a str) -> ChainedEvent<'a> {
        ChainedEvent {
            position: 1,
            event_id: Uuid::from_u128(1),
            stream: "s",
            revision: 0,
            event_type: "T",
            schema_version: 1,
            occurred_at: 0,
            recorded_at: 0,
            actor_id: Uuid::from_u128(2),
            actor_role: "system",
            channel: "system",
            correlation_id: Uuid::from_u128(3),
            causation_id: None,
            organisation_id: Uuid::from_u128(4),
            property_id: None,
            idempotency_key: None,
            payload,
        }
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let base = event("{}");
        let h = base.hash(&ChainHash::GENESIS);
        assert_ne!(h, base.hash(&ChainHash([1; 32])), "previous hash");
        let variants = [
            ChainedEvent {
                position: 2,
                ..base
            },
            ChainedEvent {
                stream: "t",
                ..base
            },
            ChainedEvent {
                revision: 1,
                ..base
            },
            ChainedEvent {
                recorded_at: 1,
                ..base
            },
            ChainedEvent {
                causation_id: Some(Uuid::from_u128(9)),
                ..base
            },
            ChainedEvent {
                idempotency_key: Some(""),
                ..base
            },
            event("{\"a\":1}"),
        ];
        for v in variants {
            assert_ne!(v.hash(&ChainHash::GENESIS), h, "{v:?}");
        }
    }

    #[test]
    fn text_boundaries_are_unambiguous() {
        let a = ChainedEvent {
            stream: "ab",
            event_type: "c",
            ..event("{}")
        };
        let b = ChainedEvent {
            stream: "a",
            event_type: "bc",
            ..event("{}")
        };
        assert_ne!(a.hash(&ChainHash::GENESIS), b.hash(&ChainHash::GENESIS));
    }

    #[test]
    fn hashes_print_and_parse_as_hex() {
        let h = event("{}").hash(&ChainHash::GENESIS);
        let text = h.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<ChainHash>(), Ok(h));
        assert!("zz".repeat(32).parse::<ChainHash>().is_err());
        assert!("00".parse::<ChainHash>().is_err());
        let mut bytes = [0_u8; 32];
        bytes[0] = 0x0f;
        bytes[31] = 0xa0;
        assert_eq!(
            ChainHash(bytes).to_string(),
            format!("0f{}a0", "00".repeat(30))
        );
    }

    #[test]
    fn a_day_ends_at_the_last_event_before_a_later_local_day() {
        // 21:59 UTC on 1 June is 00:59 on 2 June in Helsinki (UTC+3 in summer).
        let evening = Utc.with_ymd_and_hms(2024, 6, 1, 20, 0, 0).unwrap();
        let after_midnight = Utc.with_ymd_and_hms(2024, 6, 1, 21, 59, 0).unwrap();
        let mut days = DayBoundaries::default();
        assert_eq!(days.observe(1, ChainHash([1; 32]), evening), None);
        assert_eq!(days.observe(2, ChainHash([2; 32]), evening), None);
        let anchor = days.observe(3, ChainHash([3; 32]), after_midnight);
        assert_eq!(
            anchor,
            Some(DailyAnchor {
                date: NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
                position: Position::sequence(2),
                hash: ChainHash([2; 32]),
            })
        );
        // A clock that stepped back does not reopen a day that already ended.
        assert_eq!(days.observe(4, ChainHash([4; 32]), evening), None);
        assert_eq!(days.observe(5, ChainHash([5; 32]), after_midnight), None);
    }
}
