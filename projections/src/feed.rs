//! One reader of the log for every read model: each event is read from the store once, decoded
//! once into its typed form, and handed to every read model in shared batches.
//!
//! When each read model read and decoded the log itself, a replay spent most of its time
//! reading the same rows and parsing the same JSON fourteen times over. Here reading, decoding
//! and folding are stages of a pipeline (store pages → decoder → each read model's task) that
//! overlap on a multi-core machine. Every queue is bounded, so the slowest read model sets the
//! pace and a replay's memory stays bounded however long the log is.

use std::sync::Arc;

use futures::StreamExt;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::{EventStore, LogFilter, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{Projection, log_filter};

/// Events read from the store per batch, at most.
const BATCH: usize = 1024;

/// Pages decoded at once while catching up ([`decoded_in_order`]).
const DECODING_PAGES: usize = 3;

/// Pages of at most this many events are decoded on the feed's own task.
const DECODED_IN_PLACE: usize = 64;

/// Batches a read model may have queued before the feed waits for it.
const QUEUED_BATCHES: usize = 8;

/// One event of the log with its typed content. The envelope's payload text is dropped once
/// decoded: no read model folds it, and a replay would otherwise hold it twice.
#[derive(Debug)]
pub struct FedEvent {
    pub event: RecordedEvent,
    pub decoded: DomainEvent,
}

/// Consecutive events of the log. When `stopped` is set the feed ended right after these
/// events, because the next one could not be read or decoded; the reason names its position.
#[derive(Debug)]
pub struct FeedBatch {
    pub events: Vec<FedEvent>,
    pub stopped: Option<String>,
}

/// What a read model receives its batches on.
pub type FeedReceiver = mpsc::Receiver<Arc<FeedBatch>>;

/// Where a read model is subscribed from: it is sent batches once the feed starts.
pub type FeedSender = mpsc::Sender<Arc<FeedBatch>>;

/// A subscriber's two ends: the feed keeps the sender, the read model the receiver.
pub fn channel() -> (FeedSender, FeedReceiver) {
    mpsc::channel(QUEUED_BATCHES)
}

/// The running feed: a task reading the store and a task decoding, fanning out to subscribers.
pub struct LogFeed {
    reader: JoinHandle<()>,
    decoder: JoinHandle<()>,
}

impl LogFeed {
    /// Feeds every event after `after` (catch-up, then live) to `subscribers`. A subscriber
    /// that drops its receiver is left out from then on; the feed ends when none is left.
    pub fn start(
        store: Arc<dyn EventStore>,
        after: Position,
        subscribers: Vec<FeedSender>,
    ) -> Self {
        let (pages_tx, pages_rx) = mpsc::channel(2);
        let reader = tokio::spawn(read(store, after, pages_tx));
        let decoder = tokio::spawn(decode_and_fan_out(pages_rx, subscribers));
        LogFeed { reader, decoder }
    }

    /// Stops reading; subscribers see their receivers close after what was already sent.
    pub fn stop(&self) {
        self.reader.abort();
        self.decoder.abort();
    }
}

impl Drop for LogFeed {
    fn drop(&mut self) {
        self.stop();
    }
}

type Page = Vec<Result<RecordedEvent, StoreError>>;

async fn read(store: Arc<dyn EventStore>, after: Position, pages: mpsc::Sender<Page>) {
    let mut log = store.subscribe_all(after).ready_chunks(BATCH);
    while let Some(page) = log.next().await {
        let failed = page.iter().any(Result::is_err);
        if pages.send(page).await.is_err() || failed {
            return;
        }
    }
}

async fn decode_and_fan_out(pages: mpsc::Receiver<Page>, mut subscribers: Vec<FeedSender>) {
    let mut batches = std::pin::pin!(decoded_in_order(pages));
    while let Some(batch) = batches.next().await {
        let stopped = batch.stopped.is_some();
        let batch = Arc::new(batch);
        let mut open = Vec::with_capacity(subscribers.len());
        for subscriber in subscribers {
            if subscriber.send(batch.clone()).await.is_ok() {
                open.push(subscriber);
            }
        }
        subscribers = open;
        if stopped || subscribers.is_empty() {
            return;
        }
    }
}

/// The pages decoded, in the order read. While catching up, [`DECODING_PAGES`] pages are
/// decoded at once, each on a task of its own: decoding (about 0.7 µs per event) was a replay's
/// second stage that ran on one core only. A page of the live log (a few events of the last
/// commits) is decoded where it is, as a hand-off to another thread would cost more than it.
fn decoded_in_order(mut pages: mpsc::Receiver<Page>) -> impl futures::Stream<Item = FeedBatch> {
    futures::stream::poll_fn(move |cx| pages.poll_recv(cx))
        .map(|page| async move {
            if page.len() <= DECODED_IN_PLACE {
                return decode_page(page);
            }
            tokio::spawn(async move { decode_page(page) })
                .await
                .unwrap_or_else(|e| FeedBatch {
                    events: Vec::new(),
                    stopped: Some(format!("decoding the log: {e}")),
                })
        })
        .buffered(DECODING_PAGES)
}

/// Why a fold over the feed ended short of its target.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedEnded {
    /// An event could not be read or decoded; the reason names its position.
    #[error("{0}")]
    Stopped(String),
    #[error("the log ended before position {0}")]
    Early(Position),
}

/// Folds into a fresh `P` the events that `feed` (started at the beginning of the log) hands
/// over, up to and including `until`, each only if `admits` lets it through.
pub async fn fold_until<P: Projection>(
    mut feed: FeedReceiver,
    until: Position,
    admits: impl Fn(&FedEvent) -> bool,
) -> Result<P, FeedEnded> {
    let mut state = P::default();
    if until == Position::START {
        return Ok(state);
    }
    while let Some(batch) = feed.recv().await {
        for fed in &batch.events {
            if fed.event.position > until {
                return Ok(state);
            }
            if admits(fed) {
                state.apply(&fed.event, &fed.decoded);
            }
            if fed.event.position == until {
                return Ok(state);
            }
        }
        if let Some(reason) = &batch.stopped {
            return Err(FeedEnded::Stopped(reason.clone()));
        }
    }
    Err(FeedEnded::Early(until))
}

/// Folds into a fresh `P` the events of the types `P` folds ([`Projection::EVENT_TYPES`]) up to
/// and including `until`, each only if `admits` lets it through. SQLite skips the rows of other
/// types without copying them out, and nothing decodes them: the work items are about a fifth
/// of a generated log. A filtered page ends wherever its last match is, so the next cannot be
/// read before it the way [`LogFeed`] reads ranges of positions at once; one reader stays a
/// page ahead of the decoding instead.
pub async fn fold_matching<P: Projection>(
    store: Arc<dyn EventStore>,
    until: Position,
    admits: impl Fn(&FedEvent) -> bool,
) -> Result<P, FeedEnded> {
    let mut state = P::default();
    if until == Position::START {
        return Ok(state);
    }
    let (pages_tx, pages_rx) = mpsc::channel(2);
    let reader = tokio::spawn(read_matching(store, log_filter::<P>(), until, pages_tx));
    // Dropped on return (or when the caller gives up), which stops the reading.
    let mut reading = AbortOnDrop(reader);
    let mut batches = std::pin::pin!(decoded_in_order(pages_rx));
    while let Some(batch) = batches.next().await {
        for fed in &batch.events {
            if admits(fed) {
                state.apply(&fed.event, &fed.decoded);
            }
        }
        if let Some(reason) = &batch.stopped {
            return Err(FeedEnded::Stopped(reason.clone()));
        }
    }
    // The pages end when the reader has read through `until`, or if it failed.
    match (&mut reading.0).await {
        Ok(()) => Ok(state),
        Err(e) => Err(FeedEnded::Stopped(format!("reading the log: {e}"))),
    }
}

/// Aborts a task when its handle is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the events `filter` passes, up to and including `until`, a page at a time.
async fn read_matching(
    store: Arc<dyn EventStore>,
    filter: LogFilter,
    until: Position,
    pages: mpsc::Sender<Page>,
) {
    let mut after = Position::START;
    loop {
        let page = match store.read_all(after, BATCH, &filter).await {
            Ok(page) => page,
            Err(e) => {
                let _ = pages.send(vec![Err(e)]).await;
                return;
            }
        };
        // A short page is the end of the log.
        let ended = page.len() < BATCH;
        let Some(last) = page.last().map(|e| e.position) else {
            return;
        };
        let page: Page = page
            .into_iter()
            .take_while(|e| e.position <= until)
            .map(Ok)
            .collect();
        if !page.is_empty() && pages.send(page).await.is_err() || ended || last >= until {
            return;
        }
        after = last;
    }
}

/// Decodes a page up to its first event that cannot be read or decoded.
pub(crate) fn decode_page(page: Page) -> FeedBatch {
    let mut batch = FeedBatch {
        events: Vec::with_capacity(page.len()),
        stopped: None,
    };
    for item in page {
        let mut event = match item {
            Ok(event) => event,
            Err(e) => {
                batch.stopped = Some(format!("reading the log: {e}"));
                break;
            }
        };
        let payload = std::mem::take(&mut event.payload);
        match DomainEvent::from_json_text(&event.event_type, event.schema_version, payload.as_str())
        {
            Ok(decoded) => batch.events.push(FedEvent { event, decoded }),
            Err(e) => {
                batch.stopped = Some(format!("event at position {}: {e}", event.position));
                break;
            }
        }
    }
    batch
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use talo_events_schema::envelope::StoredPayload;
    use talo_store::conformance::sample_metadata;
    use uuid::Uuid;

    fn recorded(n: u64, event_type: &str, payload: &str) -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream: format!("organisation-{n}"),
            revision: 0,
            position: Position::sequence(n),
            event_type: event_type.into(),
            schema_version: 1,
            recorded_at: sample_metadata().occurred_at,
            metadata: sample_metadata(),
            payload: StoredPayload::from_stored(payload.into()),
        }
    }

    /// The event at position `n`: an organisation registered.
    pub(crate) fn organisation_registered(n: u64) -> RecordedEvent {
        let payload = DomainEvent::OrganisationRegistered(
            talo_events_schema::register::OrganisationRegistered {
                organisation_id: Uuid::from_u128(u128::from(n)),
                name: format!("Isännöinti {n}"),
                business_id: "1234567-8".into(),
                fault_reopen_window_days: 14,
            },
        )
        .to_json();
        recorded(n, "OrganisationRegistered", &payload.to_string())
    }

    #[test]
    fn a_page_decodes_every_event_and_drops_the_payload_text() {
        let batch = decode_page(vec![
            Ok(organisation_registered(1)),
            Ok(organisation_registered(2)),
        ]);
        assert_eq!(batch.stopped, None);
        assert_eq!(batch.events.len(), 2);
        assert!(matches!(
            batch.events[1].decoded,
            DomainEvent::OrganisationRegistered(_)
        ));
        assert_eq!(batch.events[1].event.payload.as_str(), "");
    }

    #[test]
    fn a_page_stops_before_an_event_it_cannot_decode_naming_its_position() {
        let batch = decode_page(vec![
            Ok(organisation_registered(1)),
            Ok(recorded(2, "OrganisationRegistered", "{\"name\": 5}")),
            Ok(organisation_registered(3)),
        ]);
        assert_eq!(batch.events.len(), 1);
        let stopped = batch.stopped.expect("stopped");
        assert!(
            stopped.starts_with("event at position 2:")
                && stopped.contains("OrganisationRegistered"),
            "{stopped}"
        );
    }

    #[test]
    fn a_page_stops_at_a_read_failure() {
        let batch = decode_page(vec![
            Ok(organisation_registered(1)),
            Err(StoreError::Closed),
            Ok(organisation_registered(3)),
        ]);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            batch.stopped.as_deref(),
            Some("reading the log: event store is closed")
        );
    }

    /// Pages of `size` events from position `first` on.
    fn pages(first: u64, count: u64, size: u64) -> Vec<Page> {
        (0..count)
            .map(|p| {
                (0..size)
                    .map(|i| Ok(organisation_registered(first + p * size + i)))
                    .collect()
            })
            .collect()
    }

    async fn decode_all(pages: Vec<Page>) -> Vec<FeedBatch> {
        let (sender, receiver) = mpsc::channel(pages.len().max(1));
        for page in pages {
            sender.send(page).await.expect("send a page");
        }
        drop(sender);
        decoded_in_order(receiver).collect().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_decoded_at_once_come_out_in_the_order_read() {
        // Large pages decode on tasks of their own, the small last one in place.
        let mut read = pages(1, 12, 300);
        read.push(vec![Ok(organisation_registered(3_601))]);
        let batches = decode_all(read).await;
        let positions: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.event.position.commit))
            .collect();
        assert_eq!(positions, (1..=3_601).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.stopped.is_none()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_decoded_on_its_own_task_still_stops_at_a_bad_event() {
        let mut read = pages(1, 3, 100);
        read[1][50] = Ok(recorded(151, "OrganisationRegistered", "{\"name\": 5}"));
        let batches = decode_all(read).await;
        assert_eq!(batches[0].events.len(), 100);
        assert_eq!(batches[1].events.len(), 50, "up to the bad event");
        let stopped = batches[1].stopped.as_deref().expect("stopped");
        assert!(stopped.starts_with("event at position 151:"), "{stopped}");
    }
}
