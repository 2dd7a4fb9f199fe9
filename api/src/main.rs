//! `talo`: the server and its development tools.
//!
//! - `talo serve --data DIR --listen HOST:PORT [--demo] [--store kurrentdb://...]`
//! - `talo migrate --from DIR --to kurrentdb://...`: copy an embedded store into a cluster
//! - `talo token --data DIR --person ID --organisation ID`
//! - `talo verify`, `talo anchors`, `talo export`, `talo replay`: the auditor's tools (see
//!   `audit_commands.rs`)
//! - `talo generate --data DIR`: a large organisation with years of history, for benchmarks

mod audit_commands;
mod migrate_command;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Args, Parser, Subcommand};
use talo_api::auth::{Caller, TokenKeys};
use talo_api::demo::{self, DemoOrganisation};
use talo_api::store_location::StoreLocation;
use talo_api::{Config, Talo, app};
use uuid::Uuid;

/// Folding the log allocates and frees strings and tree nodes for every event; with the
/// system allocator a fifth of a replay was malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "talo",
    version,
    about = "Talo: event-sourced property management"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL (and GraphiQL) on the embedded event store, or on a KurrentDB cluster
    /// with `--store`.
    Serve(ServeArgs),
    /// Copy an embedded store into a KurrentDB cluster (or another data directory), keeping
    /// every event id, stream revision and business time; resumable.
    Migrate(migrate_command::MigrateArgs),
    /// Mint a development token for a person.
    Token {
        #[arg(long, env = "TALO_DATA", default_value = "./data")]
        data: PathBuf,
        #[arg(long)]
        person: Uuid,
        #[arg(long)]
        organisation: Uuid,
        #[arg(long, default_value_t = 30)]
        valid_days: i64,
        #[arg(long, env = "TALO_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
    },
    /// Recompute the hash chain and the daily anchors over the whole log; exit status 2 and
    /// the first broken position if anything was changed, removed or reordered.
    Verify(audit_commands::VerifyArgs),
    /// Print the daily anchors (the chain head at the end of each local day).
    Anchors(audit_commands::AnchorsArgs),
    /// Export events as JSON Lines with their chain hashes, and the payload schemas.
    Export(audit_commands::ExportArgs),
    /// Rebuild every read model from zero and compare it with its snapshot; exit status 2 if
    /// any differs.
    Replay(audit_commands::ReplayArgs),
    /// Generate a realistic organisation with years of history into an empty data directory,
    /// through the domain's own decisions; deterministic from the seed.
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    /// Data directory to create the event store in (`DIR/events.sqlite`); must hold no events.
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Housing companies.
    #[arg(long, default_value_t = 500)]
    properties: usize,
    #[arg(long, default_value_t = 20_000)]
    apartments: usize,
    /// Years of history.
    #[arg(long, default_value_t = 5)]
    years: u32,
    /// The history ends the day before this date (YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-01")]
    until: chrono::NaiveDate,
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory: event store, read-model snapshots, documents, development secret.
    #[arg(long, env = "TALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// The event store: `embedded` (the default, `DATA/events.sqlite`) or a KurrentDB
    /// connection string, e.g. `kurrentdb://node1:2113,node2:2113?tls=false`. The data
    /// directory keeps this node's read-model snapshots and documents either way.
    #[arg(long, env = "TALO_STORE", hide_env_values = true)]
    store: Option<String>,
    #[arg(long, env = "TALO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// On an empty store, seed the demo organisation; print a token for each role.
    #[arg(long, env = "TALO_DEMO")]
    demo: bool,
    /// Queue and deliver no notifications (for replicas and benchmarks: a node started on
    /// years of history would otherwise notify about all of it).
    #[arg(long, env = "TALO_NO_NOTIFICATIONS")]
    no_notifications: bool,
    /// HS256 secret for tokens; without it a development secret is kept in the data directory.
    #[arg(long, env = "TALO_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Largest document upload, in bytes.
    #[arg(long, env = "TALO_MAX_DOCUMENT_BYTES")]
    max_document_bytes: Option<usize>,
    /// Send email notifications through this SMTP relay, `smtp://host[:port]` (else they go to
    /// `DATA/outbox/email.jsonl`).
    #[arg(long, env = "TALO_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of email notifications.
    #[arg(long, env = "TALO_SMTP_FROM", default_value = "Talo <talo@localhost>")]
    smtp_from: String,
    /// Content types accepted for documents, comma-separated (replaces the defaults).
    #[arg(long, env = "TALO_DOCUMENT_TYPES", value_delimiter = ',')]
    document_types: Vec<String>,
    /// The organisation's bank account (IBAN) printed on invoices; bank statements of other
    /// accounts are refused. Defaults to the demo account.
    #[arg(long, env = "TALO_IBAN")]
    iban: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        // Logs on stderr; stdout carries the URL and tokens a person or script reads.
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => migrate_command::migrate(args).await,
        Command::Verify(args) => audit_commands::verify(args).await,
        Command::Anchors(args) => audit_commands::anchors(args).await,
        Command::Export(args) => audit_commands::export(args).await,
        Command::Replay(args) => audit_commands::replay(args).await,
        Command::Generate(args) => generate(args).await.map(|()| ExitCode::SUCCESS),
        Command::Token {
            data,
            person,
            organisation,
            valid_days,
            jwt_secret,
        } => {
            let keys = TokenKeys::load(jwt_secret.as_deref(), &data)
                .with_context(|| format!("reading the secret in {}", data.display()))?;
            println!(
                "{}",
                keys.mint(
                    Caller {
                        person_id: person,
                        organisation_id: organisation
                    },
                    Utc::now(),
                    Duration::days(valid_days)
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        data,
        store,
        listen,
        demo: with_demo,
        no_notifications,
        jwt_secret,
        max_document_bytes,
        document_types,
        iban,
        smtp_url,
        smtp_from,
    } = args;
    let mut config = Config::new(&data);
    config.jwt_secret = jwt_secret;
    config.notifications = !no_notifications;
    if let Some(max) = max_document_bytes {
        config.limits.max_document_bytes = max;
    }
    if !document_types.is_empty() {
        config.limits.allowed_document_types = document_types;
    }
    if let Some(iban) = iban {
        config.bank_account = talo_domain::reference::Iban::parse("iban", &iban)
            .map_err(|e| anyhow::anyhow!("--iban: {e}"))?;
    }
    if let Some(url) = smtp_url {
        let email = talo_api::notifier::SmtpMail::new(&url, &smtp_from)
            .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
        config.notification_transport = Some(std::sync::Arc::new(talo_api::notifier::ByChannel {
            sms: std::sync::Arc::new(talo_api::notifier::FileTransport {
                dir: data.join("outbox"),
            }),
            email: std::sync::Arc::new(email),
        }));
    }
    let location = StoreLocation::for_serving("--store", store.as_deref(), &data)?;
    // Bound before anything is opened: a taken port then costs nothing to give up.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let talo = match &location {
        StoreLocation::Embedded(_) => Talo::open(config).await,
        StoreLocation::KurrentDb(_) => {
            let store = location.open("--store").await?;
            Talo::open_with_store(config, store).await
        }
    }
    .context("starting Talo")?;
    tracing::info!(store = %location, "event store");
    if with_demo {
        let demo = demo_organisation(&talo, &data).await?;
        let tokens = demo.tokens(&talo, Utc::now(), Duration::days(365));
        std::fs::write(
            data.join("demo-tokens.json"),
            serde_json::to_string_pretty(&tokens)?,
        )
        .context("writing demo-tokens.json")?;
        println!(
            "\nDemo organisation {} ({})",
            demo.organisation_id,
            data.join("demo.json").display()
        );
        println!(
            "Tokens (also in {}):",
            data.join("demo-tokens.json").display()
        );
        for (role, token) in &tokens {
            println!("  {role:<18} {token}");
        }
    }
    // Listening for the stop signals before the address is printed: whoever starts Talo may
    // stop it as soon as it has read it, and a signal before then would kill it unsaved.
    let stopping = stop_signal();
    // With port 0 the system picks one: print the real address.
    let bound = listener.local_addr()?;
    println!("\nGraphiQL: http://{bound}/   (GraphQL endpoint: http://{bound}/graphql)\n");
    axum::serve(listener, app(talo.clone()))
        .with_graceful_shutdown(stopping)
        .await?;
    talo.shutdown().await;
    Ok(())
}

async fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    use talo_api::generate::{GenerateOptions, generate};
    let options = GenerateOptions {
        seed: args.seed,
        properties: args.properties,
        apartments: args.apartments,
        years: args.years,
        until: args.until,
    };
    options.check()?;
    let store = talo_store::SqliteEventStore::open(talo_store::SqliteOptions::new(
        args.data.join("events.sqlite"),
    ))
    .context("--data: opening the event store")?;
    let store: std::sync::Arc<dyn talo_store::EventStore> = std::sync::Arc::new(store);
    if store.head().await? != talo_events_schema::envelope::Position::START {
        store.close().await;
        anyhow::bail!(
            "--data: {} already holds events; generate into an empty data directory",
            args.data.display()
        );
    }
    let progress = indicatif::ProgressBar::new(options.estimate());
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let blobs = talo_api::blobs::BlobStore::new(&args.data);
    let generated = generate(store.clone(), &blobs, &options, progress.clone()).await;
    store.close().await;
    let generated = generated?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Generated {} events in {seconds:.1} s ({:.0} events/s) into {}",
        generated.events,
        generated.events as f64 / seconds.max(0.001),
        args.data.join("events.sqlite").display()
    );
    for (event_type, count) in &generated.counts {
        println!("  {event_type:<36} {count:>10}");
    }
    // Whom to mint tokens for: `talo-bench` reads this to query the generated organisation
    // as its residents and staff would.
    let who = args.data.join("generated.json");
    let ids = serde_json::json!({
        "organisation_id": generated.organisation_id,
        "property_manager_id": generated.property_manager_id,
        "customer_service_id": generated.customer_service_id,
        "resident_id": generated.resident_id,
        "applicant_id": generated.applicant_id,
        "auditor_id": generated.auditor_id,
    });
    std::fs::write(&who, serde_json::to_string_pretty(&ids)?)
        .with_context(|| format!("writing {}", who.display()))?;
    println!("Organisation:     {}", generated.organisation_id);
    println!("Property manager: {}", generated.property_manager_id);
    println!("Who is who:       {}", who.display());
    println!(
        "Token: talo token --data {} --organisation {} --person {}",
        args.data.display(),
        generated.organisation_id,
        generated.property_manager_id
    );
    Ok(())
}

/// Ctrl-C or SIGTERM: stop taking requests, then write snapshots and close the store. Listens
/// from the moment it is called, not from its first poll.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Seeds the demo organisation into an empty store, or finds the one seeded before.
async fn demo_organisation(
    talo: &Talo,
    data: &std::path::Path,
) -> anyhow::Result<DemoOrganisation> {
    let path = data.join("demo.json");
    if path.exists() {
        return DemoOrganisation::load(&path)
            .with_context(|| format!("reading {}", path.display()));
    }
    if talo.store.head().await? != talo_events_schema::envelope::Position::START {
        anyhow::bail!(
            "--demo needs an empty data directory (or one seeded by --demo before); {} has events",
            data.display()
        );
    }
    let demo = demo::seed(talo, "Isännöinti Talo Oy", "1572860-0", Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo: {e}"))?;
    demo.save(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(demo)
}
