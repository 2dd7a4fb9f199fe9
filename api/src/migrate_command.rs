//! `talo migrate --from DIR --to kurrentdb://...`: copies an embedded store into a KurrentDB
//! cluster (or into another data directory), with a progress bar.
//!
//! The copy itself is `talo_store::migration`: every event in the source's order, with its
//! id, stream revision, metadata and business time; run again after an interruption, it goes
//! on where the target's last event says it stopped.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use talo_api::store_location::StoreLocation;
use talo_store::migration::{MigrationOptions, migrate as copy};

#[derive(Args)]
pub struct MigrateArgs {
    /// Data directory of the embedded store to copy (`DIR/events.sqlite`); read only.
    #[arg(long)]
    from: PathBuf,
    /// Where to: a KurrentDB connection string (`kurrentdb://node1:2113?tls=false`) or another
    /// data directory.
    #[arg(long, env = "TALO_MIGRATE_TO", hide_env_values = true)]
    to: String,
    /// Source events read per page.
    #[arg(long, default_value_t = 1000)]
    page: usize,
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let source_path = args.from.join("events.sqlite");
    if !source_path.is_file() {
        bail!(
            "--from {}: no event store there (expected {})",
            args.from.display(),
            source_path.display()
        );
    }
    let source = StoreLocation::Embedded(source_path).open("--from").await?;
    let target_location = StoreLocation::for_target("--to", &args.to)?;
    if target_location == StoreLocation::embedded_in(&args.from) {
        bail!("--to is the same store as --from");
    }
    let target = target_location.open("--to").await?;
    // On the embedded store positions count events, so its head is the number to copy.
    let total = source
        .head()
        .await
        .context("reading the source's head")?
        .commit;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "migrating [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let shown = bar.clone();
    let options = MigrationOptions {
        page: args.page.max(1),
        stop_after: None,
    };
    let report = copy(&*source, &*target, options, move |p| {
        shown.set_position(p.source_position.commit)
    })
    .await;
    bar.finish_and_clear();
    source.close().await;
    target.close().await;
    let report = report.with_context(|| format!("migrating into {target_location}"))?;
    if report.resumed_after.commit > 0 {
        println!(
            "resumed after source position {} (already in the target)",
            report.resumed_after
        );
    }
    println!(
        "copied {} events into {target_location}; the target now holds the source up to position {} of {total}",
        report.copied, report.source_position
    );
    Ok(ExitCode::SUCCESS)
}
