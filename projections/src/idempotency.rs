//! Which idempotency keys have been used, and what they produced. Built from the key carried in
//! each event's metadata, so it survives restarts and is the same on every node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use uuid::Uuid;

use crate::engine::Projection;

/// What the first request with a key wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUse {
    pub stream: String,
    /// The type of the first event the request wrote: a key reused for another kind of
    /// request is refused.
    pub event_type: String,
    /// The position of the last event the request wrote, so a retry waits for all of them.
    pub position: Position,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyView {
    /// Keyed by [`IdempotencyView::key`].
    uses: BTreeMap<String, KeyUse>,
}

impl Projection for IdempotencyView {
    const NAME: &'static str = "idempotency";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, _decoded: &DomainEvent) {
        let Some(key) = &event.metadata.idempotency_key else {
            return;
        };
        let key = Self::key(
            event.metadata.organisation_id,
            event.metadata.actor.person_id,
            key,
        );
        self.uses
            .entry(key)
            .and_modify(|used| {
                // Later events of the same request: its answer points at the last of them.
                if used.stream == event.stream {
                    used.position = event.position;
                }
            })
            .or_insert_with(|| KeyUse {
                stream: event.stream.clone(),
                event_type: event.event_type.clone(),
                position: event.position,
            });
    }
}

impl IdempotencyView {
    /// Keys are per person: two people may happen to choose the same key.
    pub fn key(organisation_id: Uuid, person_id: Uuid, key: &str) -> String {
        format!("{organisation_id}/{person_id}/{key}")
    }

    pub fn find(&self, organisation_id: Uuid, person_id: Uuid, key: &str) -> Option<&KeyUse> {
        self.uses.get(&Self::key(organisation_id, person_id, key))
    }
}
