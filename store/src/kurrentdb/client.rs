//! [`KurrentDbEventStore`]: the [`EventStore`] over the official `kurrentdb` client.
//!
//! It only moves data between the client and the rules of the sibling modules: every
//! decision (what an append does, how names, expectations, positions and metadata map, when
//! a dropped subscription resumes) is made there and tested without a server. Reads that an
//! append decides on go to the leader, so a node never decides on a follower's stale view.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, EventData, ReadAllOptions, ReadStreamOptions,
    SubscribeToAllOptions, SubscriptionEvent, SubscriptionFilter,
};
use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use tokio::sync::watch;

use super::append::{self, AppendPlan, RETRY_WINDOW, StoredEvent, StreamEnd};
use super::connection::ConnectionString;
use super::mapping::{self, AllFrom, ServerRevision, StreamState};
use super::metadata::{self, RawEvent};
use super::resubscribe::{DropCause, Next, Resumption};
use crate::chain::{ChainLink, DailyAnchor};
use crate::{
    AppendResult, ChainScope, Direction, EventStore, ExpectedRevision, LogFilter, StoreError,
    StreamFrom, Subscription,
};

/// How many times an append reads the stream again after losing a race for its end.
const MAX_APPEND_ATTEMPTS: usize = 64;

/// Events per read of `$all` when paging through it.
const PAGE: usize = 500;

/// The store on a KurrentDB cluster. Cheap to clone; clones share the client.
#[derive(Clone)]
pub struct KurrentDbEventStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    connection: ConnectionString,
    closed: AtomicBool,
    /// Flips to `true` on close, ending live subscriptions.
    closing: watch::Sender<bool>,
}

impl std::fmt::Debug for KurrentDbEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentDbEventStore")
            .field("connection", &self.inner.connection)
            .finish()
    }
}

impl KurrentDbEventStore {
    /// Connects to the cluster and reads the end of its log once, so a wrong address or
    /// refused credentials fail here, at start-up, rather than on the first request.
    pub async fn connect(connection: ConnectionString) -> Result<Self, StoreError> {
        // The client's messages may quote the connection string: never with the password.
        let settings = ClientSettings::from_str(connection.for_client()).map_err(|e| {
            StoreError::Backend(format!(
                "connection string {connection}: the KurrentDB client refused it: {}",
                connection.scrub(&e.to_string())
            ))
        })?;
        let client = Client::new(settings).map_err(|e| {
            StoreError::Backend(format!(
                "connecting to {connection}: {}",
                connection.scrub(&e.to_string())
            ))
        })?;
        let (closing, _) = watch::channel(false);
        let store = KurrentDbEventStore {
            inner: Arc::new(Inner {
                client,
                connection,
                closed: AtomicBool::new(false),
                closing,
            }),
        };
        store.head().await.map_err(|e| {
            StoreError::Backend(format!(
                "reaching {}: {e}",
                store.inner.connection.redacted()
            ))
        })?;
        Ok(store)
    }

    fn open(&self) -> Result<&Client, StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(&self.inner.client)
        }
    }

    /// Reads up to `max` events of a stream as the client gives them; a missing stream reads
    /// as empty.
    async fn read_stream_links(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<(RecordedEvent, ChainLink)>, StoreError> {
        let client = self.open()?;
        let mut read = match client.read_stream(stream, &options).await {
            Ok(read) => read,
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(backend(&format!("reading stream `{stream}`"), e)),
        };
        let mut events = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(event) = resolved.event.as_ref()
                        && mapping::is_talo_event(event.stream_id(), &event.event_type)
                    {
                        events.push(decode(event)?);
                    }
                }
                Ok(None) => return Ok(events),
                Err(kurrentdb::Error::ResourceNotFound) => return Ok(events),
                Err(e) => return Err(backend(&format!("reading stream `{stream}`"), e)),
            }
        }
    }

    /// One page of `$all`: Talo's events (the server filters out system event types), how
    /// many events the server sent, and the position of the last one, Talo's or not.
    async fn read_all_page(&self, options: ReadAllOptions) -> Result<AllPage, StoreError> {
        let client = self.open()?;
        let options =
            options.filter(SubscriptionFilter::on_event_type().regex(mapping::USER_EVENT_TYPES));
        let mut read = client
            .read_all(&options)
            .await
            .map_err(|e| backend("reading $all", e))?;
        let mut page = AllPage::default();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    page.seen += 1;
                    let Some(event) = resolved.event.as_ref() else {
                        continue;
                    };
                    page.last_seen = Some(mapping::position(
                        event.position.commit,
                        event.position.prepare,
                    ));
                    if mapping::is_talo_event(event.stream_id(), &event.event_type) {
                        page.events.push(decode(event)?);
                    }
                }
                Ok(None) => return Ok(page),
                Err(e) => return Err(backend("reading $all", e)),
            }
        }
    }

    /// Up to `max_count` events of `$all` strictly after `after` that match `filter`.
    async fn read_all_links(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<(RecordedEvent, ChainLink)>, StoreError> {
        let mut found = Vec::new();
        if max_count == 0 {
            return Ok(found);
        }
        if let Some(stream) = &filter.stream {
            // One stream's events are in their stream: no need to page through the log.
            let mut from = 0;
            loop {
                let options = ReadStreamOptions::default()
                    .position(kurrentdb::StreamPosition::Position(from))
                    .forwards()
                    .max_count(PAGE);
                let page = self.read_stream_links(stream, options).await?;
                let done = page.len() < PAGE;
                for (event, link) in page {
                    from = event.revision + 1;
                    if event.position > after && filter.matches(&event) {
                        found.push((event, link));
                        if found.len() == max_count {
                            return Ok(found);
                        }
                    }
                }
                if done {
                    return Ok(found);
                }
            }
        }
        // The server filters, so a page of `max_count` is usually all it takes (a head read
        // asks for two events, not a page); one more, as the read starts *at* its position.
        let page = max_count.saturating_add(1).clamp(2, PAGE);
        let mut last = after;
        loop {
            let before_page = last;
            let start = match mapping::all_from(last) {
                AllFrom::Start => kurrentdb::StreamPosition::Start,
                AllFrom::Position(p) => kurrentdb::StreamPosition::Position(client_position(p)),
            };
            let options = ReadAllOptions::default()
                .position(start)
                .forwards()
                .max_count(page);
            let read = self.read_all_page(options).await?;
            for (event, link) in read.events {
                // What is not past `last` was delivered before (or is `after` itself).
                if event.position <= last {
                    continue;
                }
                last = event.position;
                if filter.matches(&event) {
                    found.push((event, link));
                    if found.len() == max_count {
                        return Ok(found);
                    }
                }
            }
            // A filtered read may stop short of `page` before the end of the log, so the end
            // is a page that brings nothing new (past system events skipped, too).
            let reached = last.max(read.last_seen.unwrap_or(last));
            if read.seen == 0 || reached == before_page {
                return Ok(found);
            }
            last = reached;
        }
    }

    /// Up to `max_count` matching events of `$all` strictly before `before`, newest first.
    async fn read_all_links_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<(RecordedEvent, ChainLink)>, StoreError> {
        let mut found = Vec::new();
        if max_count == 0 {
            return Ok(found);
        }
        let page = max_count.saturating_add(1).clamp(2, PAGE);
        let mut bound = before;
        loop {
            let before_page = bound;
            let start = match bound {
                None => kurrentdb::StreamPosition::End,
                Some(p) => kurrentdb::StreamPosition::Position(client_position(p)),
            };
            let options = ReadAllOptions::default()
                .position(start)
                .backwards()
                .max_count(page);
            let read = self.read_all_page(options).await?;
            for (event, link) in read.events {
                if bound.is_some_and(|b| event.position >= b) {
                    continue;
                }
                bound = Some(event.position);
                if filter.matches(&event) {
                    found.push((event, link));
                    if found.len() == max_count {
                        return Ok(found);
                    }
                }
            }
            let reached = match (bound, read.last_seen) {
                (Some(b), Some(seen)) => Some(b.min(seen)),
                (b, seen) => b.or(seen),
            };
            if read.seen == 0 || reached == before_page {
                return Ok(found);
            }
            bound = reached;
        }
    }

    /// The stream's last events and, for an exact expectation, the events right after it.
    async fn stream_end(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        count: usize,
    ) -> Result<StreamEnd, StoreError> {
        let options = ReadStreamOptions::default()
            .position(kurrentdb::StreamPosition::End)
            .backwards()
            .max_count(RETRY_WINDOW)
            .requires_leader(true);
        let mut last: Vec<StoredEvent> = self
            .read_stream_links(stream, options)
            .await?
            .into_iter()
            .map(|(e, l)| stored(&e, &l))
            .collect();
        last.reverse();
        let after_expected = match StreamEnd::extra_read_from(expected, &last) {
            Some(from) => {
                let options = ReadStreamOptions::default()
                    .position(kurrentdb::StreamPosition::Position(from))
                    .forwards()
                    .max_count(count)
                    .requires_leader(true);
                self.read_stream_links(stream, options)
                    .await?
                    .into_iter()
                    .map(|(e, l)| stored(&e, &l))
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(StreamEnd {
            last,
            after_expected,
        })
    }

    /// The log position of the event at `revision` of `stream`, just written.
    async fn position_of(&self, stream: &str, revision: u64) -> Result<Position, StoreError> {
        let options = ReadStreamOptions::default()
            .position(kurrentdb::StreamPosition::Position(revision))
            .forwards()
            .max_count(1)
            .requires_leader(true);
        self.read_stream_links(stream, options)
            .await?
            .first()
            .filter(|(e, _)| e.revision == revision)
            .map(|(e, _)| e.position)
            .ok_or_else(|| {
                StoreError::Backend(format!(
                    "stream `{stream}`: revision {revision} was acknowledged but cannot be read"
                ))
            })
    }

    async fn last_link(&self) -> Result<Option<(RecordedEvent, ChainLink)>, StoreError> {
        Ok(self
            .read_all_links_backwards(None, 1, &LogFilter::default())
            .await?
            .pop())
    }
}

#[async_trait::async_trait]
impl EventStore for KurrentDbEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.open()?;
        let stream = mapping::stream_name(stream)?;
        let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
        let mut lost_race = None;
        for _ in 0..MAX_APPEND_ATTEMPTS {
            let end = self.stream_end(stream, expected, events.len()).await?;
            let (state, first_revision, mut previous) =
                match append::plan(stream, expected, &ids, &end) {
                    AppendPlan::Refuse(e) => return Err(e),
                    AppendPlan::AlreadyAppended(result) => return Ok(result),
                    AppendPlan::Write {
                        state,
                        first_revision,
                        previous,
                    } => (state, first_revision, previous),
                };
            let mut data = Vec::with_capacity(events.len());
            for (revision, event) in (first_revision..).zip(&events) {
                let encoded = metadata::encode(stream, revision, event, previous);
                previous = encoded.hash;
                let event = EventData::json(&encoded.event_type, &encoded.payload)
                    .and_then(|d| d.id(encoded.event_id).metadata_as_json(&encoded.metadata))
                    .map_err(|e| StoreError::Backend(format!("encoding an event: {e}")))?;
                data.push(event);
            }
            let options = AppendToStreamOptions::default().stream_state(client_state(state));
            match self.open()?.append_to_stream(stream, &options, data).await {
                Ok(_) => {
                    let last_revision = first_revision + events.len() as u64 - 1;
                    // The write's own position may be the commit's rather than its last
                    // event's; reading that event back gives exactly the latter.
                    let position = self.position_of(stream, last_revision).await?;
                    return Ok(AppendResult {
                        next_expected_revision: last_revision,
                        position,
                    });
                }
                // Something landed between the read and the write: decide again on the new
                // end (a racing retry of the same events is found there).
                Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                    lost_race = Some(mapping::wrong_expected_version(
                        stream,
                        expected,
                        server_revision(current),
                    ));
                }
                Err(e) => return Err(backend(&format!("appending to `{stream}`"), e)),
            }
        }
        Err(lost_race.unwrap_or_else(|| {
            StoreError::Backend(format!("appending to `{stream}`: no attempt was made"))
        }))
    }

    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.open()?;
        let stream = mapping::stream_name(stream)?;
        use kurrentdb::StreamPosition as P;
        let options = match (direction, from) {
            _ if max_count == 0 => return Ok(Vec::new()),
            (Direction::Forwards, StreamFrom::End) => return Ok(Vec::new()),
            // Backwards from the first event is the first event alone.
            (Direction::Backwards, StreamFrom::Start) => ReadStreamOptions::default()
                .position(P::Start)
                .forwards()
                .max_count(1),
            (Direction::Forwards, StreamFrom::Start) => {
                ReadStreamOptions::default().position(P::Start).forwards()
            }
            (Direction::Forwards, StreamFrom::Revision(r)) => ReadStreamOptions::default()
                .position(P::Position(r))
                .forwards(),
            (Direction::Backwards, StreamFrom::End) => {
                ReadStreamOptions::default().position(P::End).backwards()
            }
            (Direction::Backwards, StreamFrom::Revision(r)) => ReadStreamOptions::default()
                .position(P::Position(r))
                .backwards(),
        };
        // Commands are decided on what a stream holds: read it where it is written.
        let options = options
            .max_count(max_count.min(u32::MAX as usize))
            .requires_leader(true);
        let mut events = self.read_stream_links(stream, options.clone()).await?;
        if events.is_empty()
            && matches!(
                (direction, from),
                (Direction::Backwards, StreamFrom::Revision(_))
            )
        {
            // Backwards from a revision past the stream's end is backwards from its end; in
            // case a server answers that with nothing, ask for the end itself.
            events = self
                .read_stream_links(stream, options.position(P::End).backwards())
                .await?;
        }
        let in_range = |e: &RecordedEvent| match (direction, from) {
            (Direction::Forwards, StreamFrom::Revision(r)) => e.revision >= r,
            (Direction::Backwards, StreamFrom::Revision(r)) => e.revision <= r,
            _ => true,
        };
        Ok(events
            .into_iter()
            .map(|(e, _)| e)
            .filter(in_range)
            .take(max_count)
            .collect())
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self
            .read_all_links(after, max_count, filter)
            .await?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self
            .read_all_links_backwards(before, max_count, filter)
            .await?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    async fn head(&self) -> Result<Position, StoreError> {
        Ok(self
            .last_link()
            .await?
            .map_or(Position::START, |(e, _)| e.position))
    }

    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError> {
        self.open()?;
        // A forward read of `$all` includes the event at its starting position; in case a
        // server version does not, the backward read from it is tried as well.
        for options in [
            ReadAllOptions::default()
                .position(kurrentdb::StreamPosition::Position(client_position(
                    position,
                )))
                .forwards()
                .max_count(1),
            ReadAllOptions::default()
                .position(kurrentdb::StreamPosition::Position(client_position(
                    position,
                )))
                .backwards()
                .max_count(1),
        ] {
            let read = self.read_all_page(options).await?;
            if let Some((_, link)) = read
                .events
                .into_iter()
                .find(|(e, _)| e.position == position)
            {
                return Ok(Some(link));
            }
        }
        Ok(None)
    }

    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError> {
        Ok(self
            .read_all_links(after, max_count, &LogFilter::default())
            .await?
            .into_iter()
            .map(|(_, link)| link)
            .collect())
    }

    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
        Ok(self.last_link().await?.map(|(_, link)| link))
    }

    /// A cluster's log has no single chain to anchor: see [`ChainScope::PerStream`].
    async fn anchors(
        &self,
        _from: NaiveDate,
        _until: NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError> {
        self.open()?;
        Ok(Vec::new())
    }

    fn chain_scope(&self) -> ChainScope {
        ChainScope::PerStream
    }

    fn subscribe_all(&self, after: Position) -> Subscription {
        let feed = Feed {
            store: self.clone(),
            resumption: Resumption::new(after),
            subscription: None,
            closing: self.inner.closing.subscribe(),
            ended: false,
        };
        Box::pin(futures::stream::unfold(feed, Feed::next))
    }

    async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.closing.send_replace(true);
    }
}

#[derive(Default)]
struct AllPage {
    events: Vec<(RecordedEvent, ChainLink)>,
    seen: usize,
    last_seen: Option<Position>,
}

/// One logical subscription to `$all` across its gRPC subscriptions.
struct Feed {
    store: KurrentDbEventStore,
    resumption: Resumption,
    subscription: Option<kurrentdb::Subscription>,
    closing: watch::Receiver<bool>,
    ended: bool,
}

impl Feed {
    async fn next(mut self) -> Option<(Result<RecordedEvent, StoreError>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            if *self.closing.borrow() {
                return self.fail(StoreError::Closed);
            }
            let subscription = match self.subscription.as_mut() {
                Some(subscription) => subscription,
                None => {
                    let start = match self.resumption.from() {
                        AllFrom::Start => kurrentdb::StreamPosition::Start,
                        AllFrom::Position(p) => {
                            kurrentdb::StreamPosition::Position(client_position(p))
                        }
                    };
                    let options = SubscribeToAllOptions::default().position(start).filter(
                        SubscriptionFilter::on_event_type().regex(mapping::USER_EVENT_TYPES),
                    );
                    let client = match self.store.open() {
                        Ok(client) => client,
                        Err(e) => return self.fail(e),
                    };
                    let subscription = client.subscribe_to_all(&options).await;
                    self.subscription.insert(subscription)
                }
            };
            let event = tokio::select! {
                event = subscription.next_subscription_event() => event,
                _ = self.closing.changed() => return self.fail(StoreError::Closed),
            };
            match event {
                Ok(SubscriptionEvent::EventAppeared(resolved)) => {
                    let Some(event) = resolved.event.as_ref() else {
                        continue;
                    };
                    if !mapping::is_talo_event(event.stream_id(), &event.event_type) {
                        continue;
                    }
                    match decode(event) {
                        Ok((event, _)) if self.resumption.accept(event.position) => {
                            return Some((Ok(event), self));
                        }
                        Ok(_) => continue,
                        Err(e) => return self.fail(e),
                    }
                }
                Ok(_) => continue,
                Err(e) => {
                    self.subscription = None;
                    match self.resumption.dropped(drop_cause(&e)) {
                        Next::Resubscribe { after, .. } => {
                            tracing::warn!(error = %e, retry_in = ?after, from = %self.resumption.last(), "$all subscription dropped; resubscribing");
                            tokio::time::sleep(after).await;
                        }
                        Next::Fail => {
                            return self.fail(backend("subscription to $all", e));
                        }
                    }
                }
            }
        }
    }

    fn fail(mut self, error: StoreError) -> Option<(Result<RecordedEvent, StoreError>, Self)> {
        self.ended = true;
        self.subscription = None;
        Some((Err(error), self))
    }
}

fn decode(event: &kurrentdb::RecordedEvent) -> Result<(RecordedEvent, ChainLink), StoreError> {
    metadata::decode(RawEvent {
        stream: event.stream_id(),
        revision: event.revision,
        position: mapping::position(event.position.commit, event.position.prepare),
        event_id: event.id,
        event_type: &event.event_type,
        created: event.created,
        data: &event.data,
        metadata: &event.custom_metadata,
    })
}

fn stored(event: &RecordedEvent, link: &ChainLink) -> StoredEvent {
    StoredEvent {
        event_id: event.event_id,
        revision: event.revision,
        position: event.position,
        hash: link.hash,
    }
}

fn client_position(position: Position) -> kurrentdb::Position {
    kurrentdb::Position {
        commit: position.commit,
        prepare: position.prepare,
    }
}

fn client_state(state: StreamState) -> kurrentdb::StreamState {
    match state {
        StreamState::Any => kurrentdb::StreamState::Any,
        StreamState::StreamExists => kurrentdb::StreamState::StreamExists,
        StreamState::NoStream => kurrentdb::StreamState::NoStream,
        StreamState::StreamRevision(r) => kurrentdb::StreamState::StreamRevision(r),
    }
}

fn server_revision(current: kurrentdb::CurrentRevision) -> ServerRevision {
    match current {
        kurrentdb::CurrentRevision::NoStream => ServerRevision::NoStream,
        kurrentdb::CurrentRevision::Current(r) => ServerRevision::Current(r),
    }
}

/// Whether resubscribing can help after `error`.
fn drop_cause(error: &kurrentdb::Error) -> DropCause {
    use kurrentdb::Error as E;
    match error {
        E::AccessDenied
        | E::UnsupportedFeature
        | E::InternalParsingError(_)
        | E::InitializationError(_)
        | E::IllegalStateError(_)
        | E::ResourceDeleted => DropCause::Permanent,
        _ => DropCause::Transient,
    }
}

fn backend(what: &str, error: kurrentdb::Error) -> StoreError {
    StoreError::Backend(format!("kurrentdb, {what}: {error}"))
}
