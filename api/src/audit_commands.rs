//! The `talo` binary's tools for auditors, working on a data directory's embedded store:
//! `verify` (the hash chain and anchors; also a KurrentDB cluster's per-stream chains with
//! `--store`), `anchors` (print them, to keep outside the system),
//! `export` (JSON Lines with hashes, plus the payload schemas) and `replay` (every read model
//! rebuilt from zero and compared with its snapshot).
//!
//! Results go to stdout, progress bars to stderr (drawn only on a terminal). Exit status: 0
//! when all is well, 2 when the check found something (a broken chain, a read model that
//! differs), 1 when the check could not run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use talo_api::store_location::StoreLocation;
use talo_store::{EventStore, LogFilter, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

/// What a check that found a problem exits with.
const FOUND_PROBLEM: u8 = 2;

#[derive(Args)]
pub struct VerifyArgs {
    /// Data directory holding the event store (`events.sqlite`).
    #[arg(long, env = "TALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// Verify a KurrentDB cluster instead (`kurrentdb://...`): each stream's chain.
    #[arg(long, env = "TALO_STORE", hide_env_values = true)]
    store: Option<String>,
}

#[derive(Args)]
pub struct AnchorsArgs {
    #[arg(long, env = "TALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// First day to list, `YYYY-MM-DD` (Helsinki dates).
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day to list, `YYYY-MM-DD`, included.
    #[arg(long)]
    until: Option<NaiveDate>,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, env = "TALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// Only this organisation's events.
    #[arg(long)]
    organisation: Option<Uuid>,
    /// Only this stream's events.
    #[arg(long)]
    stream: Option<String>,
    /// Only events that occurred at or after this instant (RFC 3339, e.g. `2024-03-01T00:00:00Z`).
    #[arg(long)]
    from: Option<DateTime<Utc>>,
    /// Only events that occurred before this instant (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// Write here instead of stdout; the payload schemas go to `FILE.schemas/`.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReplayArgs {
    #[arg(long, env = "TALO_DATA", default_value = "./data")]
    data: PathBuf,
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let location = StoreLocation::for_serving("--store", args.store.as_deref(), &args.data)?;
    if let StoreLocation::KurrentDb(_) = location {
        return verify_stream_chains(&location).await;
    }
    let store = open(&args.data)?;
    let bar = progress_bar(store.head().await?.commit, "verifying");
    let shown = bar.clone();
    let report = store
        .verify_chain(move |done, total| {
            shown.set_length(total);
            shown.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    store.close().await;
    let report = report.context("verifying the hash chain")?;
    println!("events verified: {}", report.events_verified);
    match report.head {
        Some(head) => println!("head: position {} hash {}", head.position, head.hash),
        None => println!("head: none (the log is empty)"),
    }
    println!("anchors checked: {}", report.anchors_checked);
    print_verdict(report)
}

/// A cluster chains each stream: every event's previous hash is its stream's last one, and
/// there are no daily anchors (ARCHITECTURE.md says what that proves and what not).
async fn verify_stream_chains(location: &StoreLocation) -> anyhow::Result<ExitCode> {
    let store = location.open("--store").await?;
    let bar = progress_bar(0, "verifying");
    let shown = bar.clone();
    let report =
        talo_store::stream_chain::verify_store(&*store, move |done, _| shown.set_position(done))
            .await;
    bar.finish_and_clear();
    store.close().await;
    let report = report.context("verifying the stream chains")?;
    println!("chain: one per stream ({location}); daily anchors: none on this backend");
    println!("events verified: {}", report.events_verified);
    match report.head {
        Some(head) => println!("last event: position {} hash {}", head.position, head.hash),
        None => println!("last event: none (the log is empty)"),
    }
    print_verdict(report)
}

fn print_verdict(report: talo_store::ChainReport) -> anyhow::Result<ExitCode> {
    match report.first_break {
        None => {
            println!("the log is intact");
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!("BROKEN at position {}: {broken}", broken.position());
            Ok(ExitCode::from(FOUND_PROBLEM))
        }
    }
}

pub async fn anchors(args: AnchorsArgs) -> anyhow::Result<ExitCode> {
    let from = args.from.unwrap_or(NaiveDate::MIN);
    let until = args.until.unwrap_or(NaiveDate::MAX);
    if from > until {
        bail!("--from {from} is after --until {until}: the range would be empty");
    }
    let store = open(&args.data)?;
    let anchors = store.anchors(from, until).await;
    store.close().await;
    for anchor in anchors.context("reading the anchors")? {
        println!("{} {} {}", anchor.date, anchor.position, anchor.hash);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(until)) = (args.from, args.until)
        && from >= until
    {
        bail!("--from {from} is not before --until {until}: the range would be empty");
    }
    if let Some(stream) = &args.stream {
        talo_store::validate_stream_name(stream).map_err(|e| anyhow::anyhow!("--stream: {e}"))?;
    }
    let filter = LogFilter {
        organisation_id: args.organisation,
        stream: args.stream,
        event_types: Vec::new(),
        occurred_from: args.from,
        occurred_until: args.until,
        mentions: None,
    };
    let store = open(&args.data)?;
    let head = store.head().await?.commit;
    let bar = progress_bar(head, "exporting");
    // Buffered in large blocks, standard output too: it flushes every line otherwise, a
    // system call per event.
    const BUFFER: usize = 1 << 20;
    let (mut out, out_name): (Box<dyn Write>, PathBuf) = match &args.out {
        Some(path) => (
            Box::new(std::io::BufWriter::with_capacity(
                BUFFER,
                std::fs::File::create(path)
                    .with_context(|| format!("--out: creating {}", path.display()))?,
            )),
            path.clone(),
        ),
        None => (
            Box::new(std::io::BufWriter::with_capacity(
                BUFFER,
                std::io::stdout().lock(),
            )),
            PathBuf::from("stdout"),
        ),
    };
    let written =
        talo_api::export::write_events(&store, &filter, &mut out, &out_name, &mut |reached| {
            bar.set_position(reached.commit)
        })
        .await;
    bar.finish_and_clear();
    store.close().await;
    let count = written.context("exporting events")?;
    drop(out);
    match &args.out {
        Some(path) => {
            let dir = schemas_dir(path);
            let schemas = talo_api::export::write_schemas(&dir)?;
            println!("exported {count} events to {}", path.display());
            println!("wrote {schemas} JSON Schemas to {}", dir.display());
        }
        None => eprintln!("exported {count} events; give --out FILE to get the schemas too"),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let store = open(&args.data)?;
    let snapshots = args.data.join("read-models");
    let bar = progress_bar(talo_projections::ReadModels::COUNT as u64, "replaying");
    let shared: Arc<dyn EventStore> = Arc::new(store.clone());
    let replays = talo_projections::ReadModels::replay(shared, &snapshots, |replay| {
        bar.set_message(replay.name);
        bar.inc(1);
    })
    .await;
    bar.finish_and_clear();
    store.close().await;
    let mut problems = Vec::new();
    for replay in &replays {
        match &replay.outcome {
            Ok(outcome) => {
                println!("{}: {outcome}", replay.name);
                if outcome.is_difference() {
                    problems.push(replay.name);
                }
            }
            Err(e) => {
                println!("{}: FAILED to replay: {e}", replay.name);
                problems.push(replay.name);
            }
        }
    }
    if problems.is_empty() {
        println!("every read model equals its replay");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("read models that differ: {}", problems.join(", "));
        Ok(ExitCode::from(FOUND_PROBLEM))
    }
}

/// Opens an existing store; an auditor's tool never creates one.
fn open(data: &Path) -> anyhow::Result<SqliteEventStore> {
    let path = data.join("events.sqlite");
    if !path.is_file() {
        bail!(
            "--data {}: no event store there (expected {})",
            data.display(),
            path.display()
        );
    }
    let mut options = SqliteOptions::new(&path);
    // A tool reads the log once and asks nothing by mention: the server keeps the index.
    options.mention_segment = 0;
    SqliteEventStore::open(options).with_context(|| format!("opening {}", path.display()))
}

/// `FILE.schemas/` next to the export file.
fn schemas_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_owned();
    name.push(".schemas");
    out.with_file_name(name)
}

/// A bar on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress_bar(len: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what);
    bar
}
