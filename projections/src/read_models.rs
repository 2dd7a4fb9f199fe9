//! All of Talo's read models, started together, waited on together and stopped together.
//!
//! Adding a read model: a field here, two lines in [`ReadModels::start`] (one that starts it,
//! one that lists it with the feed), and one line in [`ReadModels::replay`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use talo_events_schema::envelope::Position;
use talo_store::EventStore;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::announcements::AnnouncementsView;
use crate::bookings::BookingsView;
use crate::bulk_notices::BulkNoticesView;
use crate::documents::DocumentsView;
use crate::engine::{Lagging, Projection, ProjectionStatus, Running, SnapshotPolicy};
use crate::fault_reports::FaultReportsView;
use crate::feed::{self, FeedSender, LogFeed};
use crate::housing::HousingView;
use crate::idempotency::IdempotencyView;
use crate::ledger::LedgersView;
use crate::message_threads::MessageThreadsView;
use crate::notifications::NotificationsView;
use crate::register::RegisterView;
use crate::renovations::RenovationsView;
use crate::replay::{ReplayError, ReplayOutcome, Target, fold_feed, judge};
use crate::service_requests::ServiceRequestsView;
use crate::snapshot::SnapshotError;
use crate::work_items::WorkItemsView;

#[derive(Debug, Clone)]
pub struct ReadModelsOptions {
    /// Where snapshots are kept.
    pub dir: PathBuf,
    pub snapshots: SnapshotPolicy,
}

/// What every running read model can do, whatever its state type.
trait Runner: Send + Sync {
    fn status(&self) -> ProjectionStatus;
    fn wait_for(
        &self,
        wanted: Position,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), Lagging>> + Send + '_>>;
    fn shutdown(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn abort(&self);
}

impl<P: Projection> Runner for Running<P> {
    fn status(&self) -> ProjectionStatus {
        Running::status(self)
    }

    fn wait_for(
        &self,
        wanted: Position,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), Lagging>> + Send + '_>> {
        Box::pin(Running::wait_for(self, wanted, timeout))
    }

    fn shutdown(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(Running::shutdown(self))
    }

    fn abort(&self) {
        Running::abort(self)
    }
}

pub struct ReadModels {
    pub register: Arc<Running<RegisterView>>,
    pub fault_reports: Arc<Running<FaultReportsView>>,
    pub idempotency: Arc<Running<IdempotencyView>>,
    pub service_requests: Arc<Running<ServiceRequestsView>>,
    pub renovations: Arc<Running<RenovationsView>>,
    pub announcements: Arc<Running<AnnouncementsView>>,
    pub documents: Arc<Running<DocumentsView>>,
    pub message_threads: Arc<Running<MessageThreadsView>>,
    pub bulk_notices: Arc<Running<BulkNoticesView>>,
    pub housing: Arc<Running<HousingView>>,
    pub notifications: Arc<Running<NotificationsView>>,
    pub bookings: Arc<Running<BookingsView>>,
    pub ledgers: Arc<Running<LedgersView>>,
    pub work_items: Arc<Running<WorkItemsView>>,
    all: Vec<Arc<dyn Runner>>,
    /// The one reader of the log that every read model folds from.
    feed: LogFeed,
}

impl ReadModels {
    /// How many read models there are (for progress while replaying them).
    pub const COUNT: usize = 14;

    pub async fn start(
        store: Arc<dyn EventStore>,
        options: &ReadModelsOptions,
    ) -> Result<Self, SnapshotError> {
        std::fs::create_dir_all(&options.dir).map_err(|source| SnapshotError::Io {
            path: options.dir.clone(),
            source,
        })?;
        // Every read model loads its snapshot at once (each parses on a blocking thread), then
        // one feed reads the log from the checkpoint of the one furthest behind.
        let (
            register,
            fault_reports,
            idempotency,
            service_requests,
            renovations,
            announcements,
            documents,
            message_threads,
            bulk_notices,
            housing,
            notifications,
            bookings,
            ledgers,
            work_items,
        ) = tokio::join!(
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
            start(&store, options),
        );
        let mut all: Vec<Arc<dyn Runner>> = Vec::new();
        let mut feeds = Vec::new();
        let register = listed(register, &mut all, &mut feeds);
        let fault_reports = listed(fault_reports, &mut all, &mut feeds);
        let idempotency = listed(idempotency, &mut all, &mut feeds);
        let service_requests = listed(service_requests, &mut all, &mut feeds);
        let renovations = listed(renovations, &mut all, &mut feeds);
        let announcements = listed(announcements, &mut all, &mut feeds);
        let documents = listed(documents, &mut all, &mut feeds);
        let message_threads = listed(message_threads, &mut all, &mut feeds);
        let bulk_notices = listed(bulk_notices, &mut all, &mut feeds);
        let housing = listed(housing, &mut all, &mut feeds);
        let notifications = listed(notifications, &mut all, &mut feeds);
        let bookings = listed(bookings, &mut all, &mut feeds);
        let ledgers = listed(ledgers, &mut all, &mut feeds);
        let work_items = listed(work_items, &mut all, &mut feeds);
        let after = all
            .iter()
            .map(|m| m.status().started_from)
            .min()
            .unwrap_or(Position::START);
        let feed = LogFeed::start(store, after, feeds);
        Ok(ReadModels {
            register,
            fault_reports,
            idempotency,
            service_requests,
            renovations,
            announcements,
            documents,
            message_threads,
            bulk_notices,
            housing,
            notifications,
            bookings,
            ledgers,
            work_items,
            all,
            feed,
        })
    }

    /// Rebuilds every read model from zero and compares it with its snapshot in `dir` (see
    /// [`crate::replay`]), telling `on_each` about each as it is done. The same read models as
    /// [`ReadModels::start`], in the same order. One feed reads and decodes the log once for
    /// all of them; each folds up to its own snapshot's checkpoint, and the snapshots are
    /// then read one at a time to compare, so a replay holds the rebuilt states and one live
    /// state at most.
    pub async fn replay(
        store: Arc<dyn EventStore>,
        dir: &Path,
        mut on_each: impl FnMut(&ProjectionReplay),
    ) -> Vec<ProjectionReplay> {
        let mut feeds = Vec::new();
        let judging = Arc::new(Semaphore::new(1));
        let s = store.as_ref();
        let tasks = vec![
            replaying::<RegisterView>(s, dir, &mut feeds, &judging).await,
            replaying::<FaultReportsView>(s, dir, &mut feeds, &judging).await,
            replaying::<IdempotencyView>(s, dir, &mut feeds, &judging).await,
            replaying::<ServiceRequestsView>(s, dir, &mut feeds, &judging).await,
            replaying::<RenovationsView>(s, dir, &mut feeds, &judging).await,
            replaying::<AnnouncementsView>(s, dir, &mut feeds, &judging).await,
            replaying::<DocumentsView>(s, dir, &mut feeds, &judging).await,
            replaying::<MessageThreadsView>(s, dir, &mut feeds, &judging).await,
            replaying::<BulkNoticesView>(s, dir, &mut feeds, &judging).await,
            replaying::<HousingView>(s, dir, &mut feeds, &judging).await,
            replaying::<NotificationsView>(s, dir, &mut feeds, &judging).await,
            replaying::<BookingsView>(s, dir, &mut feeds, &judging).await,
            replaying::<LedgersView>(s, dir, &mut feeds, &judging).await,
            replaying::<WorkItemsView>(s, dir, &mut feeds, &judging).await,
        ];
        let _feed = LogFeed::start(store, Position::START, feeds);
        let mut all = Vec::with_capacity(tasks.len());
        for (name, task) in tasks {
            let replay = task.await.unwrap_or_else(|e| ProjectionReplay {
                name,
                outcome: Err(ReplayError::Task(e.to_string())),
            });
            on_each(&replay);
            all.push(replay);
        }
        all
    }

    /// Waits until every read model has folded the log up to `position`: what a mutation
    /// waits for before it answers, so the portal never shows the state before the write.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> Result<(), Lagging> {
        let deadline = tokio::time::Instant::now() + timeout;
        for model in &self.all {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            model.wait_for(position, left).await?;
        }
        Ok(())
    }

    pub fn statuses(&self) -> Vec<ProjectionStatus> {
        self.all.iter().map(|m| m.status()).collect()
    }

    /// Stops every projection and writes its final snapshot.
    pub async fn shutdown(&self) {
        self.feed.stop();
        for model in &self.all {
            model.shutdown().await;
        }
    }

    /// Stops every projection without final snapshots, as a crash would.
    pub fn abort(&self) {
        self.feed.stop();
        for model in &self.all {
            model.abort();
        }
    }
}

/// One read model's replay: its name and what comparing it found.
#[derive(Debug)]
pub struct ProjectionReplay {
    pub name: &'static str,
    pub outcome: Result<ReplayOutcome, ReplayError>,
}

/// Finds how far `P` replays, subscribes it to the replay's feed if it rebuilds at all, and
/// starts the task that folds and then compares it.
async fn replaying<P: Projection + PartialEq>(
    store: &dyn EventStore,
    dir: &Path,
    feeds: &mut Vec<FeedSender>,
    judging: &Arc<Semaphore>,
) -> (&'static str, JoinHandle<ProjectionReplay>) {
    let target = Target::of::<P>(store, dir).await;
    let feed = match &target {
        Ok(target) if target.until().is_some() => {
            let (sender, receiver) = feed::channel();
            feeds.push(sender);
            Some(receiver)
        }
        _ => None,
    };
    let dir = dir.to_owned();
    let judging = judging.clone();
    let task = tokio::spawn(async move {
        let outcome = async {
            let target = target?;
            let rebuilt = match (target.until(), feed) {
                (Some(until), Some(feed)) => fold_feed::<P>(feed, until).await?,
                _ => P::default(),
            };
            // Reading a snapshot is blocking IO, and for a large organisation gigabytes: one
            // at a time.
            let _permit = judging
                .acquire_owned()
                .await
                .map_err(|e| ReplayError::Task(e.to_string()))?;
            tokio::task::spawn_blocking(move || judge(rebuilt, target, &dir))
                .await
                .map_err(|e| ReplayError::Task(e.to_string()))?
        }
        .await;
        ProjectionReplay {
            name: P::NAME,
            outcome,
        }
    });
    (P::NAME, task)
}

async fn start<P: Projection>(
    store: &Arc<dyn EventStore>,
    options: &ReadModelsOptions,
) -> (Arc<Running<P>>, FeedSender) {
    let (sender, receiver) = feed::channel();
    let running =
        Running::<P>::subscribe(store, options.dir.clone(), options.snapshots, receiver).await;
    (Arc::new(running), sender)
}

/// Lists a started read model among all, and its feed among the feed's subscribers.
fn listed<P: Projection>(
    (running, sender): (Arc<Running<P>>, FeedSender),
    all: &mut Vec<Arc<dyn Runner>>,
    feeds: &mut Vec<FeedSender>,
) -> Arc<Running<P>> {
    all.push(running.clone());
    feeds.push(sender);
    running
}
