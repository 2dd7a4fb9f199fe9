//! Runs a projection: load its snapshot, take the log's events after the snapshot's position
//! from a [`crate::feed`], fold every event, publish the position reached, and snapshot now and
//! then and at shutdown.
//!
//! Events arrive in batches (whatever is ready) and each batch is folded under one write lock,
//! so readers see whole batches and the position they reflect.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use parking_lot::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use serde::{Serialize, de::DeserializeOwned};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::{Direction, EventStore, LogFilter, StreamFrom};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::feed::{self, FeedReceiver, LogFeed};
use crate::snapshot::{self, Checkpoint};

/// A read model folded from the log.
pub trait Projection: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The snapshot file's name, and the name in status and metrics.
    const NAME: &'static str;
    /// Bump when the state's shape or meaning changes: snapshots of another version are
    /// discarded and the projection is rebuilt from zero.
    const VERSION: u32;

    /// The only event types `apply` changes anything for, if they are a small part of the log:
    /// a fold from zero for this read model alone (an auditor's past report, a rebuild to
    /// compare) then reads just these, and SQLite skips the other rows without copying them
    /// out. `None`: every type. A type left out here is an event such a fold never sees, so
    /// each list is checked in tests against a fold of the whole log.
    const EVENT_TYPES: Option<&'static [&'static str]> = None;

    /// Folds one event. Must be deterministic: no clock, no IO, no randomness. The typed
    /// `decoded` is the event's content; `event.payload` is empty by now (see [`crate::feed`]).
    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent);
}

/// The read of the log a fold from zero of `P` alone needs: the types it folds, or all.
pub fn log_filter<P: Projection>() -> LogFilter {
    LogFilter {
        event_types: P::EVENT_TYPES
            .unwrap_or_default()
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
        ..LogFilter::default()
    }
}

/// How a projection is doing, for `/readyz`, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub position: Position,
    /// The checkpoint it started from in this process (from its snapshot, or zero).
    pub started_from: Position,
    /// Events folded since this process started it.
    pub applied_since_start: u64,
    /// Set when the projection stopped on an event it could not read.
    pub failure: Option<String>,
}

/// When to write a snapshot while running.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    pub every_events: u64,
    pub every: Duration,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy {
            every_events: 50_000,
            every: Duration::from_secs(30),
        }
    }
}

impl SnapshotPolicy {
    /// Whether to snapshot at `position`, last saved at `saved`, `since` ago. A snapshot writes
    /// the whole state, so while catching up on a long log they are spaced out as the log
    /// grows (at least as many new events as the last snapshot covered): saving every
    /// `every_events` would make a replay quadratic in the log's length, and with the log
    /// doubling between snapshots all of a replay's snapshots together write at most about
    /// twice its final state. (Half again as many cost a fifth of a first start on ten million
    /// events, `examples/replay_stages.rs`.)
    ///
    /// Nor is one due before `since` is nine times what the last one took (`last_took`): a
    /// large read model's snapshot takes seconds, and saving it every `every` while folding a
    /// long log spent more time in snapshots than in the fold. At most a tenth of the time
    /// goes to snapshots.
    pub fn is_due(
        &self,
        saved: Position,
        position: Position,
        since: Duration,
        last_took: Duration,
    ) -> bool {
        let unsaved = position.commit.saturating_sub(saved.commit);
        let worth_it = unsaved >= self.every_events.max(saved.commit)
            || (since >= self.every && unsaved >= self.every_events.min(1_000));
        worth_it && since >= last_took * 9
    }
}

/// A read of a read model's state, for a query.
pub type ReadGuard<'a, P> = RwLockReadGuard<'a, P>;

struct Shared<P> {
    /// `parking_lot`'s lock rather than the standard one: both let a waiting writer go before
    /// new readers, but the standard lock, woken writer and all, lets a reader that releases
    /// and takes it again at once (a report reading a slice of ledgers at a time) in before
    /// the writer runs. A projection waited out whole reports so, 70-90 ms under load, and
    /// every write waiting for it; here a writer once waiting keeps new readers out.
    state: RwLock<P>,
    position: watch::Sender<Position>,
    status: Mutex<ProjectionStatus>,
}

/// A projection running in the background.
pub struct Running<P: Projection> {
    shared: Arc<Shared<P>>,
    stop: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// The log feed of a projection started alone; `None` when it shares the feed of
    /// [`crate::ReadModels`].
    own_feed: Option<LogFeed>,
}

/// The projection did not reach a position: it was too slow, or it stopped on an event it
/// could not read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("read model `{projection}` reached position {reached} but not {wanted}{}", match .stopped {
    Some(why) => format!(": it stopped ({why})"),
    None => format!(" within {} ms", .waited_ms),
})]
pub struct Lagging {
    pub projection: &'static str,
    pub wanted: Position,
    pub reached: Position,
    pub waited_ms: u64,
    pub stopped: Option<String>,
}

impl<P: Projection> Running<P> {
    /// Loads the snapshot from `dir`, checks it against the log, and starts folding the log
    /// after it on a feed of its own: for a projection run alone (tools, tests).
    pub async fn start(store: Arc<dyn EventStore>, dir: PathBuf, policy: SnapshotPolicy) -> Self {
        let (sender, receiver) = feed::channel();
        let mut running = Self::subscribe(&store, dir, policy, receiver).await;
        let after = running.status().started_from;
        running.own_feed = Some(LogFeed::start(store, after, vec![sender]));
        running
    }

    /// Loads the snapshot from `dir`, checks it against the log, and folds what arrives on
    /// `feed`, skipping events the snapshot already holds (a shared feed starts at the
    /// checkpoint of the read model furthest behind).
    pub async fn subscribe(
        store: &Arc<dyn EventStore>,
        dir: PathBuf,
        policy: SnapshotPolicy,
        feed: FeedReceiver,
    ) -> Self {
        snapshot::remove_json_snapshot(&dir, P::NAME);
        let path = dir.join(snapshot::file_name(P::NAME));
        let (checkpoint, state) =
            load_checked::<P>(store.as_ref(), path.clone(), P::NAME, P::VERSION).await;
        let position = checkpoint.position;
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            position: watch::Sender::new(position),
            status: Mutex::new(ProjectionStatus {
                name: P::NAME,
                position,
                started_from: position,
                applied_since_start: 0,
                failure: None,
            }),
        });
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            feed,
            shared.clone(),
            stop.clone(),
            path,
            checkpoint,
            policy,
        ));
        Running {
            shared,
            stop,
            task: Mutex::new(Some(task)),
            own_feed: None,
        }
    }

    /// The current state, for a query. Do not hold it across an `.await`.
    pub fn read(&self) -> ReadGuard<'_, P> {
        self.shared.state.read()
    }

    pub fn position(&self) -> Position {
        *self.shared.position.borrow()
    }

    pub fn status(&self) -> ProjectionStatus {
        lock(&self.shared.status).clone()
    }

    /// Waits until the projection has folded every event up to `wanted`. Returns at once if
    /// the projection has stopped on a failure.
    pub async fn wait_for(&self, wanted: Position, timeout: Duration) -> Result<(), Lagging> {
        let mut rx = self.shared.position.subscribe();
        let failed = || lock(&self.shared.status).failure.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= wanted || failed().is_some()))
            .await;
        let reached = self.position();
        if reached >= wanted {
            return Ok(());
        }
        Err(Lagging {
            projection: P::NAME,
            wanted,
            reached,
            waited_ms: timeout.as_millis() as u64,
            stopped: failed(),
        })
    }

    /// Stops folding and writes a final snapshot.
    pub async fn shutdown(&self) {
        if let Some(feed) = &self.own_feed {
            feed.stop();
        }
        self.stop.notify_one();
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Stops folding without a final snapshot, as a crash would.
    pub fn abort(&self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

impl<P: Projection> Drop for Running<P> {
    fn drop(&mut self) {
        self.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether the event a checkpoint names is where the checkpoint says, in this log.
pub(crate) async fn matches_log(
    store: &dyn EventStore,
    checkpoint: &Checkpoint,
) -> Result<bool, talo_store::StoreError> {
    let Some(last) = &checkpoint.last_event else {
        return Ok(checkpoint.position == Position::START);
    };
    let found = store
        .read_stream(
            &last.stream,
            Direction::Forwards,
            StreamFrom::Revision(last.revision),
            1,
        )
        .await?;
    Ok(found
        .first()
        .is_some_and(|e| e.event_id == last.event_id && e.position == checkpoint.position))
}

/// The snapshot of `name` (at `version`) in `path` if it is readable and matches the log, else
/// an empty state from the start of the log. The log is the truth: a snapshot that cannot be
/// read, or that does not match the log (restored from a backup, a different store), costs a
/// rebuild, not an outage. For read models and for other followers of the log that keep a
/// state of their own (the notifier).
pub async fn load_checked<S>(
    store: &dyn EventStore,
    path: PathBuf,
    name: &'static str,
    version: u32,
) -> (Checkpoint, S)
where
    S: DeserializeOwned + Default + Send + 'static,
{
    // Parsing a large snapshot takes seconds of CPU: off the async threads, so read models
    // started together load theirs in parallel.
    let load = move || snapshot::load::<S>(&path, name, version);
    let loaded = match tokio::task::spawn_blocking(load).await {
        Ok(loaded) => loaded,
        Err(e) => {
            // A bug in a state's deserialiser: treated as no snapshot.
            tracing::error!(projection = name, error = %e, "loading the snapshot panicked; rebuilding from zero");
            Ok(None)
        }
    };
    match loaded {
        Ok(Some((checkpoint, state))) => match matches_log(store, &checkpoint).await {
            Ok(true) => (checkpoint, state),
            Ok(false) => {
                tracing::warn!(projection = name, position = %checkpoint.position, "snapshot does not match the log; rebuilding from zero");
                Default::default()
            }
            Err(e) => {
                tracing::warn!(projection = name, error = %e, "snapshot not checked against the log; rebuilding from zero");
                Default::default()
            }
        },
        Ok(None) => Default::default(),
        Err(e) => {
            tracing::warn!(projection = name, error = %e, "snapshot unreadable; rebuilding from zero");
            Default::default()
        }
    }
}

async fn run<P: Projection>(
    mut feed: FeedReceiver,
    shared: Arc<Shared<P>>,
    stop: Arc<Notify>,
    path: PathBuf,
    mut checkpoint: Checkpoint,
    policy: SnapshotPolicy,
) {
    let mut saved = checkpoint.position;
    let mut saved_at = Instant::now();
    let mut save_took = Duration::ZERO;
    loop {
        let batch = tokio::select! {
            _ = stop.notified() => break,
            batch = feed.recv() => batch,
            _ = tokio::time::sleep(policy.every), if checkpoint.position != saved => {
                save_took = save(&shared, &path, &checkpoint, &mut saved, &mut saved_at);
                continue;
            }
        };
        let Some(batch) = batch else { break };
        let mut applied = 0u64;
        let mut last = None;
        {
            let mut state = shared.state.write();
            for fed in &batch.events {
                if fed.event.position <= checkpoint.position {
                    continue;
                }
                state.apply(&fed.event, &fed.decoded);
                last = Some(&fed.event);
                applied += 1;
            }
        }
        if let Some(event) = last {
            checkpoint = Checkpoint::after(event);
        }
        let position = checkpoint.position;
        let failure = batch.stopped.clone();
        {
            let mut status = lock(&shared.status);
            status.position = position;
            status.applied_since_start += applied;
            status.failure.clone_from(&failure);
        }
        shared.position.send_replace(position);
        if let Some(failure) = failure {
            // Skipping an event would leave the read model silently wrong; stop and say so.
            tracing::error!(projection = P::NAME, %failure, "projection stopped");
            break;
        }
        if policy.is_due(saved, position, saved_at.elapsed(), save_took) {
            save_took = save(&shared, &path, &checkpoint, &mut saved, &mut saved_at);
        }
    }
    if checkpoint.position != saved {
        save(&shared, &path, &checkpoint, &mut saved, &mut saved_at);
    }
}

/// Writes a snapshot; returns how long it took.
fn save<P: Projection>(
    shared: &Shared<P>,
    path: &std::path::Path,
    checkpoint: &Checkpoint,
    saved: &mut Position,
    saved_at: &mut Instant,
) -> Duration {
    let started = Instant::now();
    let state = shared.state.read();
    match snapshot::save(path, P::NAME, P::VERSION, checkpoint, &*state) {
        Ok(()) => {
            *saved = checkpoint.position;
            *saved_at = Instant::now();
        }
        Err(e) => tracing::error!(projection = P::NAME, error = %e, "snapshot not written"),
    }
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: u64) -> Position {
        Position::sequence(n)
    }

    #[test]
    fn snapshots_are_spaced_out_as_the_log_grows() {
        let policy = SnapshotPolicy::default();
        let soon = Duration::from_secs(1);
        let cheap = Duration::ZERO;
        assert!(policy.is_due(at(0), at(50_000), soon, cheap));
        assert!(!policy.is_due(at(0), at(49_999), soon, cheap));
        // At ten million events the next snapshot waits for ten million more.
        assert!(!policy.is_due(at(10_000_000), at(19_999_999), soon, cheap));
        assert!(policy.is_due(at(10_000_000), at(20_000_000), soon, cheap));
        // A quiet model saves after `every` once a thousand events are unsaved.
        let later = Duration::from_secs(31);
        assert!(policy.is_due(at(10_000_000), at(10_001_000), later, cheap));
        assert!(!policy.is_due(at(10_000_000), at(10_000_010), later, cheap));
    }

    #[test]
    fn snapshots_take_at_most_a_tenth_of_the_time() {
        let policy = SnapshotPolicy::default();
        let took = Duration::from_secs(4);
        assert!(!policy.is_due(at(0), at(1_000_000), Duration::from_secs(35), took));
        assert!(policy.is_due(at(0), at(1_000_000), Duration::from_secs(36), took));
        assert!(!policy.is_due(at(5_000_000), at(5_002_000), Duration::from_secs(31), took));
    }

    #[test]
    fn a_replay_writes_logarithmically_many_snapshots() {
        let policy = SnapshotPolicy::default();
        let (mut saved, mut snapshots, mut written) = (at(0), 0, 0);
        for n in (1_024..=10_000_000).step_by(1_024) {
            if policy.is_due(saved, at(n), Duration::ZERO, Duration::ZERO) {
                saved = at(n);
                snapshots += 1;
                // A snapshot writes the state of every event folded so far.
                written += n;
            }
        }
        assert!(
            snapshots < 20,
            "{snapshots} snapshots for ten million events"
        );
        assert!(
            written <= 2 * 10_000_000,
            "the snapshots wrote the state of {written} events for ten million"
        );
    }
}

/// A rebuild from zero could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] talo_store::StoreError),
    #[error("event at position {position}: {source}")]
    Decode {
        position: Position,
        source: talo_events_schema::DecodeError,
    },
    #[error("reading the log: {0}")]
    Feed(#[from] crate::feed::FeedEnded),
}

/// Decodes a stored event for a rebuild, naming its position if it cannot be read.
pub fn decode(event: &RecordedEvent) -> Result<DomainEvent, RebuildError> {
    DomainEvent::from_json_text(
        &event.event_type,
        event.schema_version,
        event.payload.as_str(),
    )
    .map_err(|source| RebuildError::Decode {
        position: event.position,
        source,
    })
}

/// Folds the whole log from zero up to and including `until` into a fresh projection (reading
/// only the types it folds, if it names them), without touching any snapshot: for rebuilds and
/// for comparing with the live read model.
pub async fn build_from_zero<P: Projection>(
    store: &dyn EventStore,
    until: Position,
) -> Result<P, RebuildError> {
    let mut state = P::default();
    let mut after = Position::START;
    let filter = log_filter::<P>();
    loop {
        let batch = store.read_all(after, 1000, &filter).await?;
        if batch.is_empty() {
            break;
        }
        for event in batch {
            if event.position > until {
                return Ok(state);
            }
            let decoded = decode(&event)?;
            state.apply(&event, &decoded);
            after = event.position;
        }
    }
    Ok(state)
}
