//! Where a replay's time goes, stage by stage, over the first events of a store made by
//! `talo generate`: the log read alone (`read`); read and decoded (`decode`); the work items
//! folded through a cut, as an auditor's past report does (`as-of`); and every read model
//! folded from zero, what a first start does (`fold`, `fold-without-snapshots`). Each stage
//! prints its wall time, its events/s and the CPU the process used meanwhile, so a stage that
//! sets the pace shows as the one whose rate drops the most when it is added.
//!
//! `in-memory` asks what a replay would do if the log cost nothing to read: it reads the
//! events into memory first, then decodes them on one core and folds every read model from
//! zero over them (no snapshots), fed from memory through the same feed. That is the ceiling
//! of any cheaper stored form of the log: what is left is decoding and folding. It holds the
//! events in memory, about 0.7 GB per million besides the read models.
//!
//! `cargo run --release -p talo-projections --example replay_stages -- DIR [EVENTS [STAGE...]]`
//! (DIR holds `events.sqlite`; EVENTS defaults to 2,000,000; every stage runs when none is
//! named). The store is opened as the server opens it, so do not run it on a directory a
//! server is serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::StreamExt;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use talo_projections::as_of::{Cut, fold_log};
use talo_projections::engine::SnapshotPolicy;
use talo_projections::work_items::WorkItemsView;
use talo_projections::{ReadModels, ReadModelsOptions};
use talo_store::{
    AppendResult, ChainLink, DailyAnchor, Direction, EventStore, ExpectedRevision, LogFilter,
    SqliteEventStore, SqliteOptions, StoreError, StreamFrom, Subscription,
};

/// The server's allocator (`api/src/main.rs`): with the system one a fold measures malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Snapshots as rare as they can be: a fold without what writing them while catching up costs.
const RARE_SNAPSHOTS: SnapshotPolicy = SnapshotPolicy {
    every_events: u64::MAX,
    every: Duration::from_secs(86_400),
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: replay_stages DIR [EVENTS]")?);
    let events: u64 = match args.next() {
        Some(n) => n.parse()?,
        None => 2_000_000,
    };
    let stages: Vec<String> = args.collect();
    let wanted = |stage: &str| stages.is_empty() || stages.iter().any(|s| s == stage);
    let store = SqliteEventStore::open(SqliteOptions::new(dir.join("events.sqlite")))?;
    let store: Arc<dyn EventStore> = Arc::new(store);
    let limit = events.min(store.head().await?.commit);
    println!("{limit} events of {}", dir.display());

    if wanted("read") {
        let measured = Measured::start();
        read(&store, limit, |_| ()).await;
        measured.print("read", limit);
    }
    if wanted("decode") {
        let measured = Measured::start();
        read(&store, limit, decode).await;
        measured.print("read + decode", limit);
    }
    if wanted("as-of") {
        // What an auditor's past promises report (`serviceLevelReport` as of a moment) does on
        // each request: the whole log through a cut, folded into a fresh work-items model.
        let measured = Measured::start();
        let cut = Cut {
            until: Some(Position::sequence(limit)),
            ..Cut::default()
        };
        let view: WorkItemsView = fold_log(&store, &cut).await?;
        measured.print("as-of (work items through a cut)", limit);
        drop(view);
    }
    if wanted("in-memory") {
        let mut events = Vec::new();
        read(&store, limit, |event| events.push(event.clone())).await;
        let in_memory: Arc<dyn EventStore> = Arc::new(InMemoryLog {
            store: store.clone(),
            events: Arc::new(events),
        });
        let measured = Measured::start();
        read(&in_memory, limit, decode).await;
        measured.print("in memory: copied and decoded (one core)", limit);
        fold_every_read_model(
            in_memory,
            RARE_SNAPSHOTS,
            limit,
            "in memory: every read model folded (no snapshots)",
        )
        .await?;
    }
    for (stage, snapshots) in [
        ("fold", SnapshotPolicy::default()),
        // Snapshots as rare as they can be: what writing them while catching up costs.
        ("fold-without-snapshots", RARE_SNAPSHOTS),
    ] {
        if !wanted(stage) {
            continue;
        }
        fold_every_read_model(store.clone(), snapshots, limit, stage).await?;
    }
    Ok(())
}

/// Every read model folded from zero over `store`'s log up to `limit`, snapshots written to a
/// temporary directory as `snapshots` says; the fold's figures printed as `stage`.
async fn fold_every_read_model(
    store: Arc<dyn EventStore>,
    snapshots: SnapshotPolicy,
    limit: u64,
    stage: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let measured = Measured::start();
    let models = ReadModels::start(
        store,
        &ReadModelsOptions {
            dir: dir.path().to_owned(),
            snapshots,
        },
    )
    .await?;
    models
        .wait_for(Position::sequence(limit), Duration::from_secs(3_600))
        .await
        .map_err(|e| format!("{e:?}"))?;
    measured.print(stage, limit);
    models.abort();
    Ok(())
}

/// An event's payload decoded into its typed form, as the feed does.
fn decode(event: &RecordedEvent) {
    DomainEvent::from_json_text(
        &event.event_type,
        event.schema_version,
        event.payload.as_str(),
    )
    .expect("decodes");
}

async fn read(store: &Arc<dyn EventStore>, limit: u64, mut each: impl FnMut(&RecordedEvent)) {
    let mut log = store.subscribe_all(Position::START).ready_chunks(1024);
    while let Some(page) = log.next().await {
        for event in page {
            let event = event.expect("reads");
            each(&event);
            if event.position.commit >= limit {
                return;
            }
        }
    }
}

/// Wall time and the process's CPU time (user and system, from `/proc/self/stat`) since start.
struct Measured {
    wall: Instant,
    cpu: Duration,
}

impl Measured {
    fn start() -> Self {
        Measured {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }

    fn print(&self, stage: &str, events: u64) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = (process_cpu() - self.cpu).as_secs_f64();
        println!(
            "{stage}: {wall:.2} s, {:.0} events/s, {cpu:.2} s CPU ({:.2} cores, {:.2} us per event)",
            events as f64 / wall,
            cpu / wall,
            cpu * 1e6 / events as f64
        );
    }
}

fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; the clock
    // ticks at 100 Hz on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The first events of a store held in memory: its subscription hands out copies of them (a
/// copy allocates the event's strings, as reading any stored form would), then waits for ever
/// as a live subscription does. Everything else is the store's.
struct InMemoryLog {
    store: Arc<dyn EventStore>,
    events: Arc<Vec<RecordedEvent>>,
}

#[async_trait::async_trait]
impl EventStore for InMemoryLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.store.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        direction: Direction,
        from: StreamFrom,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store
            .read_stream(stream, direction, from, max_count)
            .await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_all(after, max_count, filter).await
    }

    async fn read_all_backwards(
        &self,
        before: Option<Position>,
        max_count: usize,
        filter: &LogFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store
            .read_all_backwards(before, max_count, filter)
            .await
    }

    async fn head(&self) -> Result<Position, StoreError> {
        Ok(self.events.last().map_or(Position::START, |e| e.position))
    }

    async fn chain_link(&self, position: Position) -> Result<Option<ChainLink>, StoreError> {
        self.store.chain_link(position).await
    }

    async fn read_chain(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<ChainLink>, StoreError> {
        self.store.read_chain(after, max_count).await
    }

    async fn chain_head(&self) -> Result<Option<ChainLink>, StoreError> {
        self.store.chain_head().await
    }

    async fn anchors(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DailyAnchor>, StoreError> {
        self.store.anchors(from, until).await
    }

    fn subscribe_all(&self, after: Position) -> Subscription {
        let events = Arc::clone(&self.events);
        let first = events.partition_point(|e| e.position <= after);
        let copies = (first..events.len()).map(move |i| Ok(events[i].clone()));
        Box::pin(futures::stream::iter(copies).chain(futures::stream::pending()))
    }

    async fn close(&self) {}
}
