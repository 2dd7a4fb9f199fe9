//! The generated log on its way to the store: events enveloped as the dispatcher envelopes
//! them, gathered per stream, and appended in large batches (one append per stream per flush,
//! with the expected revision the generator tracks), many appends in flight at once so the
//! store's group commit fills its transactions. A flush runs while the next month is being
//! generated.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use indicatif::ProgressBar;
use talo_domain::decision::Decision;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, Channel, EventMetadata, NewEvent};
use talo_store::{EventStore, ExpectedRevision, StoreError};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::chance::Chance;

/// Appends in flight at once: enough for the writer to fill a batch while others encode.
const APPENDS_IN_FLIGHT: usize = 512;

/// Who acts, how and when: what the envelope says besides the events themselves.
#[derive(Debug, Clone, Copy)]
pub struct Act {
    pub person_id: Uuid,
    pub channel: Channel,
    pub at: DateTime<Utc>,
    pub property_id: Option<Uuid>,
    pub correlation_id: Uuid,
}

struct Pending {
    stream: String,
    /// The revision the stream had before these events (`None`: no stream yet).
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
}

pub struct Log {
    organisation_id: Uuid,
    store: Arc<dyn EventStore>,
    pending: Vec<Pending>,
    pending_index: HashMap<String, usize>,
    pending_events: usize,
    /// The next revision of every stream written so far.
    next_revision: HashMap<String, u64>,
    counts: BTreeMap<&'static str, u64>,
    total: u64,
    in_flight: Option<JoinHandle<Result<(), StoreError>>>,
    progress: ProgressBar,
}

impl Log {
    pub fn new(organisation_id: Uuid, store: Arc<dyn EventStore>, progress: ProgressBar) -> Self {
        Log {
            organisation_id,
            store,
            pending: Vec::new(),
            pending_index: HashMap::new(),
            pending_events: 0,
            next_revision: HashMap::new(),
            counts: BTreeMap::new(),
            total: 0,
            in_flight: None,
            progress,
        }
    }

    /// Records a decision's events on `stream`, as the actor of `act` in the role the decision
    /// names.
    pub fn record(&mut self, chance: &mut Chance, stream: &str, act: &Act, decision: Decision) {
        let actor = Actor {
            person_id: act.person_id,
            role: decision.role,
        };
        self.record_as(chance, stream, act, actor, decision.events);
    }

    /// Records events with an explicit actor (Talo itself for ticket numbers and the register).
    pub fn record_as(
        &mut self,
        chance: &mut Chance,
        stream: &str,
        act: &Act,
        actor: Actor,
        events: Vec<DomainEvent>,
    ) {
        if events.is_empty() {
            return;
        }
        let index = match self.pending_index.get(stream) {
            Some(i) => *i,
            None => {
                let next = self.next_revision.get(stream).copied().unwrap_or(0);
                let expected = match next {
                    0 => ExpectedRevision::NoStream,
                    n => ExpectedRevision::Exact(n - 1),
                };
                self.pending.push(Pending {
                    stream: stream.to_owned(),
                    expected,
                    events: Vec::new(),
                });
                self.pending_index
                    .insert(stream.to_owned(), self.pending.len() - 1);
                self.pending.len() - 1
            }
        };
        *self.next_revision.entry(stream.to_owned()).or_insert(0) += events.len() as u64;
        for event in events {
            *self.counts.entry(event.event_type()).or_insert(0) += 1;
            self.total += 1;
            self.pending_events += 1;
            let metadata = EventMetadata {
                occurred_at: act.at,
                actor,
                channel: act.channel,
                correlation_id: act.correlation_id,
                causation_id: None,
                organisation_id: self.organisation_id,
                property_id: act.property_id,
                idempotency_key: None,
            };
            self.pending[index]
                .events
                .push(NewEvent::of(chance.id_at(act.at), &event, metadata));
        }
    }

    /// Events recorded so far (appended or pending).
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn pending_events(&self) -> usize {
        self.pending_events
    }

    pub fn counts(&self) -> &BTreeMap<&'static str, u64> {
        &self.counts
    }

    /// Starts appending what is pending, after the previous flush has finished.
    pub async fn flush(&mut self) -> Result<(), StoreError> {
        self.wait().await?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        self.pending_index.clear();
        self.pending_events = 0;
        let store = Arc::clone(&self.store);
        let progress = self.progress.clone();
        self.in_flight = Some(tokio::spawn(async move {
            let mut appends = futures::stream::iter(batch.into_iter().map(|p| {
                let store = Arc::clone(&store);
                async move {
                    let n = p.events.len() as u64;
                    store
                        .append(&p.stream, p.expected, p.events)
                        .await
                        .map(|_| n)
                }
            }))
            .buffer_unordered(APPENDS_IN_FLIGHT);
            while let Some(appended) = appends.next().await {
                progress.inc(appended?);
            }
            Ok(())
        }));
        Ok(())
    }

    /// Waits for the flush in flight, if any.
    pub async fn wait(&mut self) -> Result<(), StoreError> {
        match self.in_flight.take() {
            Some(task) => task
                .await
                .map_err(|e| StoreError::Backend(format!("append task: {e}")))?,
            None => Ok(()),
        }
    }
}
