//! The hash chain of a backend that cannot chain its global log: one chain per stream.
//!
//! On the embedded store the writer knows every event's global position and recording time
//! inside the transaction that stores it, so its chain ([`crate::chain`]) runs along the whole
//! log. A KurrentDB cluster assigns positions and recording times itself, after the client has
//! sent the event, and one client does not see what other nodes append in between, so no
//! client can compute "the hash of the event before it in the log". What a client can know is
//! its stream's last event: it appends with that exact revision, so the server refuses the
//! append if anything came in between. Each event therefore carries, in its metadata, its
//! hash and the hash of the event before it *in its stream*.
//!
//! # The canonical encoding (stream chain, version 1)
//!
//! As [`crate::chain`], without the two fields the server assigns (position and recorded
//! at), and with its own tag so a hash of one chain can never pass for one of the other:
//!
//! | field | encoding |
//! |---|---|
//! | tag | the 16 ASCII bytes `talo-stream-v1\0\0` |
//! | previous hash | 32 bytes, the hash of the stream's event before it ([`ChainHash::GENESIS`] for revision 0) |
//! | event id | 16 bytes |
//! | stream | text |
//! | revision | 8 bytes, big-endian unsigned |
//! | event type | text |
//! | schema version | 4 bytes, big-endian unsigned |
//! | occurred at | 8 bytes, big-endian signed, microseconds since the Unix epoch (UTC) |
//! | actor id, actor role, channel, correlation id, causation id, organisation id, property id, idempotency key | as in [`crate::chain`] |
//! | payload | text: compact JSON, object keys in sorted order |
//!
//! What the stream chain cannot show, and the global chain can: that a whole stream was
//! removed, or that the last events of a stream were. ARCHITECTURE.md says what that means
//! for an auditor.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use talo_events_schema::envelope::{EventMetadata, NewEvent, Position, RecordedEvent};
use uuid::Uuid;

use crate::chain::{ChainHash, ChainLink, optional, text};
use crate::verify::{ChainBreak, ChainReport};
use crate::{EventStore, LogFilter, StoreError};

/// Events read per page when verifying a whole store.
const VERIFY_PAGE: usize = 1000;

/// Separates stream-chain hashes from the global chain's and names the encoding version.
const TAG: &[u8; 16] = b"talo-stream-v1\0\0";

/// The hash of an event about to be appended at `revision` of `stream`, after `previous`.
///
/// Business time is hashed to the microsecond, as every backend stores it.
pub fn new_event_stream_hash(
    stream: &str,
    revision: u64,
    event: &NewEvent,
    previous: &ChainHash,
) -> ChainHash {
    hash(
        Fields {
            event_id: event.event_id,
            stream,
            revision,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            metadata: &event.metadata,
            payload: &event.payload.to_string(),
        },
        previous,
    )
}

/// The hash of a recorded event (as read back or exported) after `previous` in its stream.
pub fn recorded_event_stream_hash(event: &RecordedEvent, previous: &ChainHash) -> ChainHash {
    hash(
        Fields {
            event_id: event.event_id,
            stream: &event.stream,
            revision: event.revision,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            metadata: &event.metadata,
            payload: &event.payload.to_string(),
        },
        previous,
    )
}

struct Fields<'a> {
    event_id: Uuid,
    stream: &'a str,
    revision: u64,
    event_type: &'a str,
    schema_version: u32,
    metadata: &'a EventMetadata,
    payload: &'a str,
}

fn hash(f: Fields<'_>, previous: &ChainHash) -> ChainHash {
    let m = f.metadata;
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(previous.0);
    h.update(f.event_id.as_bytes());
    text(&mut h, f.stream);
    h.update(f.revision.to_be_bytes());
    text(&mut h, f.event_type);
    h.update(f.schema_version.to_be_bytes());
    h.update(m.occurred_at.timestamp_micros().to_be_bytes());
    h.update(m.actor.person_id.as_bytes());
    text(&mut h, m.actor.role.as_str());
    text(&mut h, m.channel.as_str());
    h.update(m.correlation_id.as_bytes());
    optional(&mut h, m.causation_id.as_ref(), |h, id| {
        h.update(id.as_bytes())
    });
    h.update(m.organisation_id.as_bytes());
    optional(&mut h, m.property_id.as_ref(), |h, id| {
        h.update(id.as_bytes())
    });
    optional(&mut h, m.idempotency_key.as_deref(), text);
    text(&mut h, f.payload);
    ChainHash(h.finalize().into())
}

/// Walks the log in order and checks every stream's chain: revisions without gaps from 0,
/// each event's previous hash equal to the hash of its stream's event before it, and each
/// hash recomputed from the event as read.
///
/// It keeps one tip per stream, so its memory grows with the number of streams, not events.
#[derive(Debug, Default)]
pub struct StreamChainVerifier {
    tips: HashMap<String, (u64, ChainHash)>,
    events_verified: u64,
    head: Option<ChainLink>,
    first_break: Option<ChainBreak>,
}

impl StreamChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in the next event of the log with its link. Returns `false` once the chain is
    /// broken; later events are not looked at, as the first break is what the report names.
    pub fn observe(&mut self, event: &RecordedEvent, link: &ChainLink) -> bool {
        if self.first_break.is_some() {
            return false;
        }
        if let Some(broken) = self.check(event, link) {
            self.first_break = Some(broken);
            return false;
        }
        self.tips
            .insert(event.stream.clone(), (event.revision, link.hash));
        self.events_verified += 1;
        self.head = Some(*link);
        true
    }

    fn check(&self, event: &RecordedEvent, link: &ChainLink) -> Option<ChainBreak> {
        let position = event.position;
        if link.position != position {
            return Some(ChainBreak::Unreadable {
                position: position.commit,
                detail: format!(
                    "the chain link read for position {position} names position {}",
                    link.position
                ),
            });
        }
        let (expected_revision, expected_previous) = match self.tips.get(&event.stream) {
            Some((revision, hash)) => (revision + 1, *hash),
            None => (0, ChainHash::GENESIS),
        };
        if event.revision != expected_revision {
            return Some(ChainBreak::StreamGap {
                stream: event.stream.clone(),
                position,
                expected: expected_revision,
                found: event.revision,
            });
        }
        if link.previous_hash != expected_previous {
            return Some(ChainBreak::StreamPreviousHashMismatch {
                stream: event.stream.clone(),
                revision: event.revision,
                position,
                recorded: link.previous_hash,
                expected: expected_previous,
            });
        }
        let computed = recorded_event_stream_hash(event, &expected_previous);
        if computed != link.hash {
            return Some(ChainBreak::StreamContentChanged {
                stream: event.stream.clone(),
                revision: event.revision,
                position,
                recorded: link.hash,
                computed,
            });
        }
        None
    }

    /// How far the walk got. A stream chain has no daily anchors, so none are checked.
    pub fn report(self) -> ChainReport {
        ChainReport {
            events_verified: self.events_verified,
            head: self.head,
            anchors_checked: 0,
            first_break: self.first_break,
        }
    }
}

/// Walks every event of `store` with its chain link, in log order, checking each stream's
/// chain; `progress` hears the events verified so far and the position reached.
pub async fn verify_store(
    store: &dyn EventStore,
    mut progress: impl FnMut(u64, Position),
) -> Result<ChainReport, StoreError> {
    let mut verifier = StreamChainVerifier::new();
    let mut after = Position::START;
    loop {
        let events = store
            .read_all(after, VERIFY_PAGE, &LogFilter::default())
            .await?;
        let Some(last) = events.last() else {
            return Ok(verifier.report());
        };
        let links = store.read_chain(after, events.len()).await?;
        for (i, event) in events.iter().enumerate() {
            let link = links.get(i).copied().unwrap_or(ChainLink {
                position: Position::START,
                hash: ChainHash::GENESIS,
                previous_hash: ChainHash::GENESIS,
            });
            if !verifier.observe(event, &link) {
                return Ok(verifier.report());
            }
        }
        after = last.position;
        progress(verifier.events_verified, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::sample_event;
    use talo_events_schema::envelope::StoredPayload;

    /// Records `events` as a store would: revisions per stream, positions along the log, and
    /// each link chained in its stream.
    fn record(events: &[(&str, NewEvent)]) -> Vec<(RecordedEvent, ChainLink)> {
        let mut tips: HashMap<&str, (u64, ChainHash)> = HashMap::new();
        events
            .iter()
            .enumerate()
            .map(|(i, (stream, new))| {
                let (revision, previous) = tips
                    .get(stream)
                    .map_or((0, ChainHash::GENESIS), |(r, h)| (r + 1, *h));
                let hash = new_event_stream_hash(stream, revision, new, &previous);
                tips.insert(stream, (revision, hash));
                let position = Position {
                    commit: 100 * (i as u64 + 1),
                    prepare: 100 * (i as u64 + 1),
                };
                let recorded = RecordedEvent {
                    event_id: new.event_id,
                    stream: (*stream).to_owned(),
                    revision,
                    position,
                    event_type: new.event_type.clone(),
                    schema_version: new.schema_version,
                    recorded_at: chrono::Utc::now(),
                    metadata: new.metadata.clone(),
                    payload: StoredPayload::from_value(&new.payload),
                };
                let link = ChainLink {
                    position,
                    hash,
                    previous_hash: previous,
                };
                (recorded, link)
            })
            .collect()
    }

    fn log() -> Vec<(RecordedEvent, ChainLink)> {
        record(&[
            ("a", sample_event("x", 0)),
            ("b", sample_event("x", 1)),
            ("a", sample_event("x", 2)),
            ("b", sample_event("x", 3)),
            ("a", sample_event("x", 4)),
        ])
    }

    fn verify(log: &[(RecordedEvent, ChainLink)]) -> ChainReport {
        let mut verifier = StreamChainVerifier::new();
        for (event, link) in log {
            verifier.observe(event, link);
        }
        verifier.report()
    }

    #[test]
    fn an_untouched_log_verifies_to_its_last_event() {
        let log = log();
        let report = verify(&log);
        assert!(report.is_intact(), "{:?}", report.first_break);
        assert_eq!(report.events_verified, 5);
        assert_eq!(report.head, Some(log[4].1));
        assert_eq!(report.anchors_checked, 0);
    }

    #[test]
    fn a_changed_payload_is_named_with_its_stream_and_revision() {
        let mut log = log();
        log[2].0.payload = StoredPayload::from_value(&serde_json::json!({"n": 99}));
        let report = verify(&log);
        assert_eq!(report.events_verified, 2);
        match report.first_break {
            Some(ChainBreak::StreamContentChanged {
                ref stream,
                revision: 1,
                position,
                ..
            }) => {
                assert_eq!(stream, "a");
                assert_eq!(position, log[2].0.position);
            }
            other => panic!("expected the content change at a/1, got {other:?}"),
        }
        let text = report.first_break.expect("a break").to_string();
        assert!(text.contains("stream `a` revision 1"), "{text}");
        assert!(text.contains("content changed"), "{text}");
    }

    #[test]
    fn a_changed_business_time_breaks_the_hash() {
        let mut log = log();
        log[3].0.metadata.occurred_at += chrono::Duration::microseconds(1);
        assert!(matches!(
            verify(&log).first_break,
            Some(ChainBreak::StreamContentChanged { revision: 1, .. })
        ));
    }

    #[test]
    fn a_removed_event_is_a_gap_in_its_stream() {
        let mut log = log();
        log.remove(2);
        let report = verify(&log);
        assert_eq!(
            report.first_break,
            Some(ChainBreak::StreamGap {
                stream: "a".to_owned(),
                position: log[3].0.position,
                expected: 1,
                found: 2,
            })
        );
        assert_eq!(report.events_verified, 3);
    }

    #[test]
    fn a_stream_whose_beginning_was_truncated_is_a_gap_from_zero() {
        let log = log();
        let report = verify(&log[1..]);
        assert!(matches!(
            report.first_break,
            Some(ChainBreak::StreamGap {
                expected: 0,
                found: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_replaced_event_breaks_the_next_events_previous_hash() {
        let mut log = log();
        // An event re-written with a correct hash of its own, but a different content: the
        // event after it in its stream still names the original.
        let mut replaced = sample_event("x", 2);
        replaced.event_id = log[2].0.event_id;
        replaced.payload = serde_json::json!({"n": "forged"});
        let forged = new_event_stream_hash("a", 1, &replaced, &log[0].1.hash);
        log[2].0.payload = StoredPayload::from_value(&replaced.payload);
        log[2].1.hash = forged;
        let report = verify(&log);
        assert!(
            matches!(
                report.first_break,
                Some(ChainBreak::StreamPreviousHashMismatch { revision: 2, .. })
            ),
            "{:?}",
            report.first_break
        );
        assert_eq!(report.events_verified, 4);
    }

    /// A log in memory that answers what `verify_store` asks: pages of events and links.
    struct InMemory(Vec<(RecordedEvent, ChainLink)>);

    impl InMemory {
        fn after(
            &self,
            after: Position,
            max: usize,
        ) -> impl Iterator<Item = &(RecordedEvent, ChainLink)> {
            self.0
                .iter()
                .filter(move |(e, _)| e.position > after)
                .take(max)
        }
    }

    #[async_trait::async_trait]
    impl EventStore for InMemory {
        async fn append(
            &self,
            _: &str,
            _: crate::ExpectedRevision,
            _: Vec<NewEvent>,
        ) -> Result<crate::AppendResult, StoreError> {
            unreachable!("verification only reads")
        }
        async fn read_stream(
            &self,
            _: &str,
            _: crate::Direction,
            _: crate::StreamFrom,
            _: usize,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            unreachable!("verification reads the log")
        }
        async fn read_all(
            &self,
            after: Position,
            max: usize,
            _: &LogFilter,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            Ok(self.after(after, max).map(|(e, _)| e.clone()).collect())
        }
        async fn read_all_backwards(
            &self,
            _: Option<Position>,
            _: usize,
            _: &LogFilter,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            unreachable!("verification reads forwards")
        }
        async fn head(&self) -> Result<Position, StoreError> {
            Ok(self.0.last().map_or(Position::START, |(e, _)| e.position))
        }
        async fn chain_link(&self, _: Position) -> Result<Option<ChainLink>, StoreError> {
            unreachable!("verification reads links in pages")
        }
        async fn read_chain(
            &self,
            after: Position,
            max: usize,
        ) -> Result<Vec<ChainLink>, StoreError> {
            Ok(self.after(after, max).map(|(_, l)| *l).collect())
        }
        async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
            Ok(self.0.last().map(|(_, l)| *l))
        }
        async fn anchors(
            &self,
            _: chrono::NaiveDate,
            _: chrono::NaiveDate,
        ) -> Result<Vec<crate::DailyAnchor>, StoreError> {
            Ok(Vec::new())
        }
        fn subscribe_all(&self, _: Position) -> crate::Subscription {
            unreachable!("verification does not subscribe")
        }
        async fn close(&self) {}
    }

    #[tokio::test]
    async fn a_whole_store_is_verified_page_by_page() {
        let events: Vec<_> = (0..2500_u64)
            .map(|n| (if n % 3 == 0 { "a" } else { "b" }, sample_event("x", n)))
            .collect();
        let log = record(&events);
        let mut reached = Vec::new();
        let report = verify_store(&InMemory(log.clone()), |n, p| reached.push((n, p)))
            .await
            .expect("verifies");
        assert!(report.is_intact(), "{:?}", report.first_break);
        assert_eq!(report.events_verified, 2500);
        assert_eq!(report.head, Some(log[2499].1));
        assert_eq!(reached.len(), 3, "one report per page of 1000");
        assert_eq!(reached[2], (2500, log[2499].0.position));

        let mut tampered = log;
        tampered[1700].0.payload = StoredPayload::from_value(&serde_json::json!("changed"));
        let report = verify_store(&InMemory(tampered.clone()), |_, _| {})
            .await
            .expect("verifies");
        assert_eq!(report.events_verified, 1700);
        assert_eq!(
            report.first_break.map(|b| b.position()),
            Some(tampered[1700].0.position.commit)
        );
        assert!(
            verify_store(&InMemory(Vec::new()), |_, _| {})
                .await
                .expect("an empty log")
                .is_intact()
        );
    }

    #[test]
    fn every_hashed_field_changes_the_hash() {
        let base = sample_event("x", 0);
        let h = new_event_stream_hash("s", 0, &base, &ChainHash::GENESIS);
        assert_ne!(h, new_event_stream_hash("s", 0, &base, &ChainHash([1; 32])));
        assert_ne!(h, new_event_stream_hash("t", 0, &base, &ChainHash::GENESIS));
        assert_ne!(h, new_event_stream_hash("s", 1, &base, &ChainHash::GENESIS));
        let mut changed = base.clone();
        changed.metadata.idempotency_key = Some(String::new());
        assert_ne!(
            h,
            new_event_stream_hash("s", 0, &changed, &ChainHash::GENESIS)
        );
        let mut changed = base.clone();
        changed.schema_version = 2;
        assert_ne!(
            h,
            new_event_stream_hash("s", 0, &changed, &ChainHash::GENESIS)
        );
    }

    #[test]
    fn the_stream_chain_never_equals_the_global_chain() {
        let (event, link) = log().remove(0);
        let global = crate::chain::recorded_event_hash(&event, &ChainHash::GENESIS);
        assert_ne!(global, link.hash);
        assert_eq!(
            recorded_event_stream_hash(&event, &ChainHash::GENESIS),
            link.hash
        );
    }
}
