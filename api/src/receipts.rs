//! Receipts: what a user keeps of a command Talo acknowledged. A receipt names the events the
//! command recorded (stream, revisions, ids, position, recorded time) and carries a SHA-256 over
//! their stored content, so anyone holding it can later have it checked against the log: a
//! receipt verifies only if those very events are still in the log, unchanged.
//!
//! Every command through the dispatcher is noted in the request's [`ReceiptBook`] (a task-local
//! set by the HTTP layer, so resolvers need not pass it along); the GraphQL answer carries the
//! receipts in `extensions.receipts`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use talo_events_schema::envelope::RecordedEvent;
use talo_store::{Direction, EventStore, StreamFrom};
use uuid::Uuid;

use crate::dispatch::Outcome;
use crate::error::ApiError;

tokio::task_local! {
    /// The commands of the request being served.
    static BOOK: ReceiptBook;
}

/// The outcomes of one request's commands, in order.
#[derive(Clone, Default)]
pub struct ReceiptBook(Arc<Mutex<Vec<Outcome>>>);

impl ReceiptBook {
    /// Runs `work` with this book open: every command dispatched inside is noted in it.
    pub async fn keep<F: Future>(&self, work: F) -> F::Output {
        BOOK.scope(self.clone(), work).await
    }

    pub fn outcomes(&self) -> Vec<Outcome> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Notes a command's outcome in the current request's book, if one is open.
pub(crate) fn note(outcome: &Outcome) {
    let _ = BOOK.try_with(|book| {
        book.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(outcome.clone());
    });
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub stream: String,
    pub first_revision: u64,
    pub last_revision: u64,
    pub event_ids: Vec<Uuid>,
    /// The global position of the last event.
    pub position: String,
    pub recorded_at: DateTime<Utc>,
    /// `sha256:` and the hex digest of the events' stored content (see [`digest`]).
    pub hash: String,
    /// The log's hash chain at the last event (hex), tying the receipt to the tamper-evident
    /// chain that `talo verify` checks.
    pub chain_hash: Option<String>,
}

/// The events one append of a command recorded: those at and before `outcome.position` in its
/// stream that share the last one's correlation id.
pub async fn receipt_for(
    store: &dyn EventStore,
    outcome: &Outcome,
) -> Result<Option<Receipt>, ApiError> {
    // Usually the newest few events of the stream: a first page that small spares a long
    // stream (a register, a five-year ledger) a hundred reads of events the receipt does not
    // name. A retry of an older request, or a command of many events, looks further back.
    let mut seen: Vec<RecordedEvent> = Vec::new(); // newest first
    let mut from = StreamFrom::End;
    let mut page_size = 8;
    let events: Vec<&RecordedEvent> = loop {
        let page = store
            .read_stream(&outcome.stream, Direction::Backwards, from, page_size)
            .await?;
        let at_start = page.len() < page_size || page.last().is_none_or(|e| e.revision == 0);
        page_size = 100;
        let next = page.last().map_or(0, |e| e.revision.saturating_sub(1));
        seen.extend(page);
        match seen.iter().position(|e| e.position == outcome.position) {
            Some(i) => {
                let correlation = seen[i].metadata.correlation_id;
                let of_command = |e: &&RecordedEvent| e.metadata.correlation_id == correlation;
                if at_start || !seen[i..].iter().all(|e| of_command(&e)) {
                    break seen[i..].iter().take_while(of_command).collect();
                }
            }
            None if at_start || seen.last().is_some_and(|e| e.position < outcome.position) => {
                return Ok(None);
            }
            None => {}
        }
        from = StreamFrom::Revision(next);
    };
    let mut events = events;
    events.reverse();
    let mut receipt = receipt_of(&events);
    receipt.chain_hash = chain_hash(store, outcome.position).await?;
    Ok(Some(receipt))
}

async fn chain_hash(
    store: &dyn EventStore,
    position: talo_events_schema::envelope::Position,
) -> Result<Option<String>, ApiError> {
    Ok(store
        .chain_link(position)
        .await?
        .map(|link| link.hash.to_string()))
}

fn receipt_of(events: &[&RecordedEvent]) -> Receipt {
    let first = events[0];
    let last = events[events.len() - 1];
    Receipt {
        stream: first.stream.clone(),
        first_revision: first.revision,
        last_revision: last.revision,
        event_ids: events.iter().map(|e| e.event_id).collect(),
        position: last.position.to_string(),
        recorded_at: last.recorded_at,
        hash: digest(events),
        chain_hash: None,
    }
}

/// SHA-256 over every stored field of the events, in order, each field length-prefixed so no
/// two different contents encode alike.
pub fn digest(events: &[&RecordedEvent]) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    for e in events {
        let m = &e.metadata;
        field(e.event_id.as_bytes());
        field(e.stream.as_bytes());
        field(&e.revision.to_be_bytes());
        field(e.position.to_string().as_bytes());
        field(e.event_type.as_bytes());
        field(&e.schema_version.to_be_bytes());
        field(&e.recorded_at.timestamp_micros().to_be_bytes());
        field(&m.occurred_at.timestamp_micros().to_be_bytes());
        field(m.actor.person_id.as_bytes());
        field(m.actor.role.as_str().as_bytes());
        field(m.channel.as_str().as_bytes());
        field(m.correlation_id.as_bytes());
        field(m.causation_id.unwrap_or_default().as_bytes());
        field(m.organisation_id.as_bytes());
        field(m.property_id.unwrap_or_default().as_bytes());
        field(m.idempotency_key.as_deref().unwrap_or_default().as_bytes());
        field(e.payload.as_str().as_bytes());
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptMismatch {
    #[error("the log holds no such events for this organisation")]
    NotInLog,
    #[error("`{0}` differs from the log")]
    Differs(&'static str),
    #[error("the events' content differs from the hash")]
    HashDiffers,
}

/// Checks a receipt against the log, for a caller of `organisation_id`.
pub async fn verify(
    store: &dyn EventStore,
    organisation_id: Uuid,
    receipt: &Receipt,
) -> Result<Result<(), ReceiptMismatch>, ApiError> {
    if receipt.last_revision < receipt.first_revision
        || receipt.last_revision - receipt.first_revision > 1000
    {
        return Ok(Err(ReceiptMismatch::Differs("lastRevision")));
    }
    let count = (receipt.last_revision - receipt.first_revision + 1) as usize;
    let events = store
        .read_stream(
            &receipt.stream,
            Direction::Forwards,
            StreamFrom::Revision(receipt.first_revision),
            count,
        )
        .await?;
    if events.len() != count
        || events
            .iter()
            .any(|e| e.metadata.organisation_id != organisation_id)
    {
        return Ok(Err(ReceiptMismatch::NotInLog));
    }
    let refs: Vec<&RecordedEvent> = events.iter().collect();
    let mut expected = receipt_of(&refs);
    if receipt.chain_hash.is_some() {
        let last = refs[refs.len() - 1].position;
        expected.chain_hash = chain_hash(store, last).await?;
    }
    let check = |ok: bool, field| {
        if ok {
            Ok(())
        } else {
            Err(ReceiptMismatch::Differs(field))
        }
    };
    let outcome = check(expected.event_ids == receipt.event_ids, "eventIds")
        .and_then(|()| check(expected.position == receipt.position, "position"))
        .and_then(|()| check(expected.recorded_at == receipt.recorded_at, "recordedAt"))
        .and_then(|()| check(expected.chain_hash == receipt.chain_hash, "chainHash"))
        .and_then(|()| {
            if expected.hash == receipt.hash {
                Ok(())
            } else {
                Err(ReceiptMismatch::HashDiffers)
            }
        });
    Ok(outcome)
}
