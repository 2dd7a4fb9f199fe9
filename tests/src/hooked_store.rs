//! The embedded store with a test's changes to how it behaves: another node writing just
//! before this one, a read that fails, a live feed that lags. A test writes only the hooks it
//! needs ([`StoreHooks`]); everything else goes to the store unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use futures::StreamExt;
use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use talo_store::{
    AppendResult, ChainLink, DailyAnchor, Direction, EventStore, ExpectedRevision, LogFilter,
    StoreError, StreamFrom, Subscription,
};

/// What a test changes; each hook's default leaves the store as it is.
#[async_trait::async_trait]
pub trait StoreHooks: Send + Sync + 'static {
    /// Runs before each append to `stream`, and may write to `store` first.
    async fn before_append(
        &self,
        _store: &dyn EventStore,
        _stream: &str,
        _expected: ExpectedRevision,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// An error to answer a read of `stream` with, instead of reading it.
    fn refuse_read(&self, _stream: &str) -> Option<StoreError> {
        None
    }

    /// Sees the events a read of `stream` answered.
    fn read(&self, _stream: &str, _events: &[RecordedEvent]) {}

    /// The live feed as this node sees it.
    fn feed(&self, feed: Subscription) -> Subscription {
        feed
    }

    /// Whether closing this view closes the store (a second node's does not: the first owns it).
    fn closes_the_store(&self) -> bool {
        true
    }
}

/// `inner` seen through `hooks`.
pub struct HookedStore<H> {
    pub inner: Arc<dyn EventStore>,
    pub hooks: H,
}

#[async_trait::async_trait]
impl<H: StoreHooks> EventStore for HookedStore<H> {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.hooks
            .before_append(self.inner.as_ref(), stream, expected)
            .await?;
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if let Some(refused) = self.hooks.refuse_read(stream) {
            return Err(refused);
        }
        let events = self
            .inner
            .read_stream(stream, direction, from, max_count)
            .await?;
        self.hooks.read(stream, &events);
        Ok(events)
    }
    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, max_count, filter).await
    }
    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner
            .read_all_backwards(before, max_count, filter)
            .await
    }
    async fn head(&self) -> Result<Position, StoreError> {
        self.inner.head().await
    }
    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError> {
        self.inner.chain_link(position).await
    }
    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError> {
        self.inner.read_chain(after, max_count).await
    }
    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
        self.inner.chain_head().await
    }
    async fn anchors(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError> {
        self.inner.anchors(from, until).await
    }
    fn chain_scope(&self) -> talo_store::ChainScope {
        self.inner.chain_scope()
    }
    fn subscribe_all(&self, after: Position) -> Subscription {
        self.hooks.feed(self.inner.subscribe_all(after))
    }
    async fn close(&self) {
        if self.hooks.closes_the_store() {
            self.inner.close().await
        }
    }
}

/// A second node's view of the first node's store whose live feed holds every event while
/// `held` is set: a node that lags behind the one that wrote. The first node owns the store and
/// closes it.
pub struct LaggingFeed {
    pub held: Arc<AtomicBool>,
}

impl StoreHooks for LaggingFeed {
    fn feed(&self, feed: Subscription) -> Subscription {
        let held = self.held.clone();
        Box::pin(feed.then(move |item| {
            let held = held.clone();
            async move {
                while held.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                item
            }
        }))
    }

    fn closes_the_store(&self) -> bool {
        false
    }
}
