//! Where a read-model state's memory and load time go: loads each read model's snapshot from a
//! data directory, one at a time, and prints how long it took to decode and how much the
//! process's resident memory grew while it was held. Startup loads them all at once, so this
//! is the per-read-model breakdown of the startup figure in BENCHMARKS.md.
//!
//! `cargo run --release -p talo-projections --example read_model_memory -- DATA_DIR`
//! (the snapshots are in `DATA_DIR/read-models`, written by `talo serve`).

use std::any::Any;
use std::path::{Path, PathBuf};
use std::time::Instant;

use talo_projections::Projection;
use talo_projections::announcements::AnnouncementsView;
use talo_projections::bookings::BookingsView;
use talo_projections::bulk_notices::BulkNoticesView;
use talo_projections::documents::DocumentsView;
use talo_projections::fault_reports::FaultReportsView;
use talo_projections::housing::HousingView;
use talo_projections::idempotency::IdempotencyView;
use talo_projections::ledger::LedgersView;
use talo_projections::message_threads::MessageThreadsView;
use talo_projections::notifications::NotificationsView;
use talo_projections::register::RegisterView;
use talo_projections::renovations::RenovationsView;
use talo_projections::service_requests::ServiceRequestsView;
use talo_projections::snapshot;
use talo_projections::work_items::WorkItemsView;

fn main() {
    let Some(data) = std::env::args().nth(1) else {
        eprintln!("usage: read_model_memory DATA_DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&data).join("read-models");
    println!(
        "{:<18} {:>12} {:>10} {:>12} {:>12}",
        "read model", "position", "load s", "snapshot MB", "resident MB"
    );
    // Every state is kept until the end, so each one's growth is its own (memory freed by one
    // would otherwise be reused by the next).
    let mut held = Vec::new();
    let mut total = (0.0, 0.0, 0.0);
    for (seconds, file_mb, resident_mb) in [
        measure::<RegisterView>(&dir, &mut held),
        measure::<FaultReportsView>(&dir, &mut held),
        measure::<ServiceRequestsView>(&dir, &mut held),
        measure::<RenovationsView>(&dir, &mut held),
        measure::<AnnouncementsView>(&dir, &mut held),
        measure::<DocumentsView>(&dir, &mut held),
        measure::<MessageThreadsView>(&dir, &mut held),
        measure::<BulkNoticesView>(&dir, &mut held),
        measure::<HousingView>(&dir, &mut held),
        measure::<NotificationsView>(&dir, &mut held),
        measure::<IdempotencyView>(&dir, &mut held),
        measure::<BookingsView>(&dir, &mut held),
        measure::<LedgersView>(&dir, &mut held),
        measure::<WorkItemsView>(&dir, &mut held),
    ] {
        total.0 += seconds;
        total.1 += file_mb;
        total.2 += resident_mb;
    }
    println!(
        "{:<18} {:>12} {:>10.2} {:>12.0} {:>12.0}",
        "all", "", total.0, total.1, total.2
    );
}

/// Load time in seconds, snapshot size and resident growth in MB, for one read model.
fn measure<P: Projection>(dir: &Path, held: &mut Vec<Box<dyn Any>>) -> (f64, f64, f64) {
    let path: PathBuf = dir.join(snapshot::file_name(P::NAME));
    let file_mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
    let before = resident_bytes();
    let started = Instant::now();
    let loaded = snapshot::load::<P>(&path, P::NAME, P::VERSION);
    let seconds = started.elapsed().as_secs_f64();
    let resident_mb = resident_bytes().saturating_sub(before) as f64 / 1e6;
    let position = match &loaded {
        Ok(Some((checkpoint, _))) => checkpoint.position.to_string(),
        Ok(None) => "no snapshot".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    println!(
        "{:<18} {:>12} {seconds:>10.2} {file_mb:>12.0} {resident_mb:>12.0}",
        P::NAME,
        position
    );
    if let Ok(Some(state)) = loaded {
        held.push(Box::new(state));
    }
    (seconds, file_mb, resident_mb)
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
