//! What moving places into the stream index table costs appends, in the case where batching
//! them saves nothing: every append starts a new stream with a random name, so each place lands
//! on its own page of the table. On a large store (a copy of one made by `talo generate`) those
//! pages are spread over hundreds of megabytes.
//!
//! `cargo run --release -p talo-store --example stream_index_flush -- PATH [FLUSH_AT...]`
//! appends from 64 concurrent writers for ten seconds per flush size and prints events/s and
//! the append latency (p50, p99, max). It adds events to the store at PATH: use a copy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use talo_store::conformance::sample_event;
use talo_store::{EventStore, ExpectedRevision, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

const WRITERS: usize = 64;
const RUN_FOR: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: stream_index_flush PATH [FLUSH_AT...]");
    let mut sizes: Vec<usize> = args.map(|a| a.parse().expect("a flush size")).collect();
    if sizes.is_empty() {
        sizes = vec![1024, 4096, 16_384];
    }
    for flush_at in sizes {
        let mut options = SqliteOptions::new(&path);
        options.stream_index_flush_at = flush_at;
        let store = Arc::new(SqliteEventStore::open(options).expect("open the store"));
        let started = Instant::now();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while started.elapsed() < RUN_FOR {
                        let stream = format!("flush-{}", Uuid::new_v4());
                        let at = Instant::now();
                        store
                            .append(
                                &stream,
                                ExpectedRevision::NoStream,
                                vec![sample_event("New", 0)],
                            )
                            .await
                            .expect("append");
                        latencies.push(at.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("writer"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        store.close().await;
        latencies.sort();
        let at =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
        println!(
            "flush at {flush_at:>6}: {:>7.0} events/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len() as f64 / elapsed,
            at(0.5),
            at(0.99),
            at(1.0),
        );
    }
}
