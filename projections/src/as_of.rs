//! Read models as of a past moment, for auditors: the same projections the portal and the
//! reports use, folded from zero over only the events that a cut admits.
//!
//! A cut has two times, because Talo keeps both: what was *known* (events recorded by a
//! moment, or up to a global position) and what was *effective* (events whose business time
//! is by a moment). A payment entered on 20 March but dated 10 March is absent from the state
//! known on 15 March, and present, effective 10 March, in the state known on 21 March.
//!
//! An event's effective time is its business time, except for money received: a payment is
//! effective from the start of the day it was booked at the bank, whenever it was entered.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use talo_domain::calendar::start_of_local_day;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::{Direction, EventStore, StreamFrom};

use crate::engine::{Projection, RebuildError, decode};
use crate::feed::{self, FedEvent, LogFeed};

/// Which events a past state is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cut {
    /// Events up to and including this global position.
    pub until: Option<Position>,
    /// Events recorded at or before this moment.
    pub known_at: Option<DateTime<Utc>>,
    /// Events whose business time is at or before this moment.
    pub effective_at: Option<DateTime<Utc>>,
}

/// When an event took effect in the world.
pub fn effective_time(event: &RecordedEvent, decoded: &DomainEvent) -> DateTime<Utc> {
    match decoded {
        DomainEvent::PaymentReceived(p) => start_of_local_day(p.booked_on),
        DomainEvent::UnmatchedPaymentReceived(p) => start_of_local_day(p.booked_on),
        _ => event.metadata.occurred_at,
    }
}

impl Cut {
    pub fn admits(&self, event: &RecordedEvent, decoded: &DomainEvent) -> bool {
        self.until.is_none_or(|p| event.position <= p)
            && self.known_at.is_none_or(|t| event.recorded_at <= t)
            && self
                .effective_at
                .is_none_or(|t| effective_time(event, decoded) <= t)
    }
}

/// Folds the whole log through the cut into a fresh projection: up to the cut's position, or
/// else the head of the log as the fold begins. A projection that names the few types it folds
/// reads only those ([`feed::fold_matching`]); any other folds what the feed the read models
/// catch up with hands over, read and decoded ahead on both cores. Read and decoded page by page
/// on the caller's task, one auditor's request took 52 s on ten million events (BENCHMARKS.md,
/// twelfth part).
pub async fn fold_log<P: Projection>(
    store: &Arc<dyn EventStore>,
    cut: &Cut,
) -> Result<P, RebuildError> {
    let head = store.head().await?;
    let until = cut.until.map_or(head, |position| position.min(head));
    let admits = |fed: &FedEvent| cut.admits(&fed.event, &fed.decoded);
    if P::EVENT_TYPES.is_some() {
        return Ok(feed::fold_matching(Arc::clone(store), until, admits).await?);
    }
    let (subscriber, feed) = feed::channel();
    // Dropped on return, which stops the feed's reading and decoding.
    let _feed = LogFeed::start(Arc::clone(store), Position::START, vec![subscriber]);
    Ok(feed::fold_until(feed, until, admits).await?)
}

/// One stream's events that the cut admits, decoded, in order: enough for the read models of
/// one entity (a contract's ledger, a fault report, an organisation's register).
pub async fn stream_events(
    store: &dyn EventStore,
    stream: &str,
    cut: &Cut,
) -> Result<Vec<(RecordedEvent, DomainEvent)>, RebuildError> {
    let mut events = Vec::new();
    let mut next = 0;
    loop {
        let batch = store
            .read_stream(
                stream,
                Direction::Forwards,
                StreamFrom::Revision(next),
                1000,
            )
            .await?;
        let done = batch.len() < 1000;
        next += batch.len() as u64;
        for event in batch {
            let decoded = decode(&event)?;
            if cut.admits(&event, &decoded) {
                events.push((event, decoded));
            }
        }
        if done {
            return Ok(events);
        }
    }
}
