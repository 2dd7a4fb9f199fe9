//! `talo-bench`: the measurements of `make bench` that need a running server or a large store.
//!
//! - End to end: fault-report mutations over HTTP GraphQL at concurrency 1, 16 and 64, from
//!   this process against a `talo serve` process: requests/s, p50 and p99.
//! - Portal and report queries under load: a resident's fault list, the office queue, a
//!   month's flow report for the whole organisation.
//! - With `--data DIR` (a store made by `talo generate`): bytes per event, a replay of every
//!   read model from zero (events/s and peak memory), startup time and memory with
//!   checkpoints, and the portal's and office's queries on the generated organisation as its
//!   own resident and clerk (named in `DIR/generated.json`), and a bank statement of
//!   2,000 payments to as many contracts imported by the clerk.
//!
//! The figures are printed as Markdown and, with `--append FILE`, appended to it with the
//! machine's description.

mod load;
mod server;
mod statement;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::load::{LoadResult, Pace};
use crate::server::Server;

#[derive(Parser)]
#[command(about = "Talo's end-to-end, query, replay and startup benchmarks")]
struct Args {
    /// Seconds to measure each load level (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// A store made by `talo generate`: also measure storage, replay and startup on it. It is
    /// copied first; the original is not changed.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Append the figures to this file (e.g. BENCHMARKS.md).
    #[arg(long)]
    append: Option<PathBuf>,
    /// Only the queries on the generated organisation, on the `--data` store itself (no copy,
    /// no demo, no replay): to look at one query without the rest of the run around it. The
    /// server may refresh the store's snapshots when it stops.
    #[arg(long, requires = "data")]
    queries_only: bool,
    /// Only the end-to-end `reportFault` mutations, on a fresh demo server: to look at the
    /// command path without the queries before it.
    #[arg(long, conflicts_with_all = ["data", "queries_only"])]
    mutations_only: bool,
    /// Only the bank statement import on the generated organisation, on the `--data` store
    /// itself: it records 2,000 payments there, so point it at a copy.
    #[arg(long, requires = "data", conflicts_with_all = ["queries_only", "mutations_only"])]
    statement_only: bool,
}

/// Payments in the benchmark's bank statement.
const STATEMENT_PAYMENTS: u64 = 2_000;

/// The portal's target: p99 under 5 ms at this many requests per second.
const QUERY_RATE: f64 = 2_000.0;
const RATE_CONNECTIONS: usize = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut out = String::new();
    out.push_str(&format!(
        "\n## {} `make bench` (talo-bench)\n\nMachine: {}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    ));
    let measure = Duration::from_secs(args.seconds);
    if let (true, Some(data)) = (args.queries_only, &args.data) {
        let contracts = generated_contracts(data)?;
        let server = Server::start(data, false)?;
        let who = read_generated(data)?;
        print!(
            "{}",
            generated_queries(&server, data, &who, &contracts, measure).await?
        );
        return server.stop();
    }
    if let (true, Some(data)) = (args.statement_only, &args.data) {
        let server = Server::start(data, false)?;
        let who = read_generated(data)?;
        statement_import(&server, data, &who).await?;
        return server.stop();
    }

    // A fresh server with the demo organisation.
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), true)?;
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(
        dir.path().join("demo-tokens.json"),
    )?)?;
    let token = |role: &str| tokens[role].as_str().unwrap_or_default().to_owned();
    let demo: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json"))?)?;
    let apartment = demo["apartments"]
        .as_object()
        .and_then(|a| a.get("Vuokratalo Oy Rantapuisto/A 4"))
        .cloned()
        .context("the demo's apartment A 4")?;

    if !args.mutations_only {
        demo_queries(&server, &token, &mut out, measure).await?;
    }
    out.push_str(&mutations(&server, &token("resident"), &apartment, measure).await?);

    server.stop()?;

    if let Some(generated) = &args.data {
        out.push_str(&large_store(generated, measure).await?);
    }

    println!("{out}");
    if let Some(path) = &args.append {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)?;
        file.write_all(out.as_bytes())?;
    }
    Ok(())
}

/// The portal's and the office's queries and a flow report on the demo organisation: closed
/// loop at concurrency 16 and 64, then at the portal's target rate.
async fn demo_queries(
    server: &Server,
    token: &impl Fn(&str) -> String,
    out: &mut String,
    measure: Duration,
) -> anyhow::Result<()> {
    out.push_str(
        "\n### Queries under load (the demo organisation as seeded)\n\n\
         | query | concurrency | requests/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let flow = json!({
        "query": "query($input: FlowReportInput!) { flowReport(input: $input) { periodStart group created closed backlogAtEnd } }",
        "variables": { "input": { "from": "2026-02-28T22:00:00Z", "until": "2026-03-31T21:00:00Z", "period": "WEEK", "groupBy": "PROPERTY" } }
    })
    .to_string();
    let queries: [(&str, &str, String); 3] = [
        (
            "resident's fault list (`myFaultReports`, 20)",
            "resident",
            json!({ "query": "{ myFaultReports(first: 20) { edges { node { id ticket status } } } }" })
                .to_string(),
        ),
        (
            "office queue (`faultReportQueue`, 50)",
            "customer_service",
            json!({ "query": "{ faultReportQueue(first: 50) { totalCount edges { node { id ticket status } } } }" })
                .to_string(),
        ),
        ("a month's flow report, whole organisation", "property_manager", flow),
    ];
    for (name, role, query) in &queries {
        for concurrency in [16, 64] {
            let query = query.clone();
            let body: Arc<load::Body> = Arc::new(move |_, _| query.clone());
            let token = token(role);
            out.push_str(&closed_loop(server, &token, name, concurrency, body, measure).await?);
        }
    }
    out.push_str(&format!(
        "\n### Queries at a fixed rate (open loop, {QUERY_RATE} requests/s over {RATE_CONNECTIONS} connections; latency from when each request was due)\n\n\
         | query | requests/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|\n",
    ));
    for (name, role, query) in &queries {
        out.push_str(
            &at_rate(
                server,
                &token(role),
                name,
                query.clone(),
                Duration::from_secs(1),
                measure,
            )
            .await?,
        );
    }
    Ok(())
}

/// `reportFault` over HTTP at concurrency 1, 16 and 64, each with its own idempotency key:
/// its table.
async fn mutations(
    server: &Server,
    token: &str,
    apartment: &Value,
    measure: Duration,
) -> anyhow::Result<String> {
    let mut out = String::from(
        "\n### End to end: `reportFault` mutations over HTTP (durable, read-your-writes)\n\n\
         | concurrency | requests/s | p50 ms | p99 ms | failed |\n|---:|---:|---:|---:|---:|\n",
    );
    for concurrency in [1, 16, 64] {
        let apartment = apartment.clone();
        let body: Arc<load::Body> = Arc::new(move |conn, i| {
            json!({
                "query": "mutation($input: ReportFaultInput!) { reportFault(input: $input) { position } }",
                "variables": { "input": {
                    "idempotencyKey": format!("bench-{concurrency}-{conn}-{i}"),
                    "apartmentId": apartment, "category": "PLUMBING",
                    "description": "Hana vuotaa", "permissionToEnter": true } }
            })
            .to_string()
        });
        let result = run_closed_loop(server, token, concurrency, body, measure).await?;
        out.push_str(&row(&result));
        print!("{}", row(&result));
    }
    Ok(out)
}

/// One query at the portal's target rate, open loop: its table row (also printed).
async fn at_rate(
    server: &Server,
    token: &str,
    name: &str,
    query: String,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<String> {
    let body: Arc<load::Body> = Arc::new(move |_, _| query.clone());
    bodies_at_rate(server, token, name, body, warmup, measure).await
}

/// [`at_rate`] with a body of its own for each request.
async fn bodies_at_rate(
    server: &Server,
    token: &str,
    name: &str,
    body: Arc<load::Body>,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<String> {
    let result = load::run(
        server.addr,
        token,
        RATE_CONNECTIONS,
        Pace::Rate(QUERY_RATE),
        warmup,
        measure,
        body,
    )
    .await?;
    let line = format!("| {name} |{}", figures(&result));
    print!("{line}");
    Ok(line)
}

/// `body` from `concurrency` connections, each sending again once answered, after a second of
/// warm-up.
async fn run_closed_loop(
    server: &Server,
    token: &str,
    concurrency: usize,
    body: Arc<load::Body>,
    measure: Duration,
) -> anyhow::Result<LoadResult> {
    let warmup = Duration::from_secs(1);
    load::run(
        server.addr,
        token,
        concurrency,
        Pace::ClosedLoop,
        warmup,
        measure,
        body,
    )
    .await
}

/// [`run_closed_loop`] as a table row of name, concurrency and [`figures`] (also printed).
async fn closed_loop(
    server: &Server,
    token: &str,
    name: &str,
    concurrency: usize,
    body: Arc<load::Body>,
    measure: Duration,
) -> anyhow::Result<String> {
    let result = run_closed_loop(server, token, concurrency, body, measure).await?;
    let line = format!("| {name} | {} |{}", result.concurrency, figures(&result));
    print!("{line}");
    Ok(line)
}

fn row(r: &LoadResult) -> String {
    format!("| {} |{}", r.concurrency, figures(r))
}

/// Requests/s, p50, p99 and failures as table cells, then the first failure if any.
fn figures(r: &LoadResult) -> String {
    format!(
        " {:.0} | {:.1} | {:.1} | {} |\n",
        r.requests_per_second(),
        r.percentile_ms(50.0),
        r.percentile_ms(99.0),
        r.failures
    ) + &r
        .first_failure
        .as_ref()
        .map(|f| {
            format!(
                "\nfirst failure: {}\n\n",
                f.chars().take(300).collect::<String>()
            )
        })
        .unwrap_or_default()
}

/// Storage, replay and startup on a copy of a generated store, and its queries under load.
async fn large_store(generated: &Path, measure: Duration) -> anyhow::Result<String> {
    let copy = tempfile::tempdir()?;
    let sqlite = generated.join("events.sqlite");
    std::fs::copy(&sqlite, copy.path().join("events.sqlite"))
        .with_context(|| format!("copying {}", sqlite.display()))?;
    // The mention index too, as a server restarted to rebuild its read models has it: without
    // it the server builds it once the replay is done, about 42 s of one core beside the
    // queries measured next (BENCHMARKS.md, twenty-first part).
    for file in ["events.sqlite-mentions", "events.sqlite-mentions-wal"] {
        let index = generated.join(file);
        if index.exists() {
            std::fs::copy(&index, copy.path().join(file))
                .with_context(|| format!("copying {}", index.display()))?;
        }
    }
    let bytes = std::fs::metadata(&sqlite)?.len();
    let mut out = String::from("\n### The generated store\n\n");

    let events = events_in(copy.path()).await?;
    let contracts = generated_contracts(copy.path())?;
    // First start: no snapshots, every read model folds the whole log.
    let cold = Server::start(copy.path(), false)?;
    let (cold_rss, cold_peak) = cold.memory();
    out.push_str(&format!(
        "- {events} events, {bytes} bytes of `events.sqlite`: {:.0} bytes per event.\n",
        bytes as f64 / events.max(1) as f64
    ));
    out.push_str(&format!(
        "- Replay on first start (no snapshots): every read model from zero in {:.1} s, {:.0} events/s; resident memory {} MiB (peak {} MiB), {:.0} MiB per million events.\n",
        cold.startup.as_secs_f64(),
        events as f64 / cold.startup.as_secs_f64(),
        cold_rss >> 20,
        cold_peak >> 20,
        (cold_rss >> 20) as f64 / (events.max(1) as f64 / 1e6),
    ));
    cold.stop()?;

    // Second start: from the snapshots written at shutdown.
    let warm = Server::start(copy.path(), false)?;
    let (warm_rss, _) = warm.memory();
    out.push_str(&format!(
        "- Startup with checkpoints: listening after {:.2} s, resident memory {} MiB.\n",
        warm.startup.as_secs_f64(),
        warm_rss >> 20
    ));
    match read_generated(generated) {
        Ok(who) => {
            out.push_str(&generated_queries(&warm, copy.path(), &who, &contracts, measure).await?);
            out.push_str(&statement_import(&warm, copy.path(), &who).await?);
        }
        Err(e) => out.push_str(&format!(
            "\n(No queries on the generated organisation: {e:#}; `talo generate` writes it.)\n"
        )),
    }
    warm.stop()?;
    Ok(out)
}

/// A token for the person `generated.json` names under `field`, minted with `data`'s secret.
fn generated_token(data: &Path, who: &Value, field: &str) -> anyhow::Result<String> {
    let organisation = who["organisation_id"]
        .as_str()
        .context("generated.json: organisation_id")?;
    let person = who[field]
        .as_str()
        .with_context(|| format!("generated.json: {field}"))?;
    server::mint_token(data, organisation, person)
}

/// How many contracts' ledgers the office's queries walk through: more than the warm-up and
/// the measured seconds ask for at the portal's rate, and far more than the server keeps
/// (2,048), so every request that asks for a ledger's documents folds them from its stream.
const COLD_LEDGERS: usize = 30_000;

/// Up to [`COLD_LEDGERS`] contracts of the store in `data`, read from its stream index before
/// a server opens it: one seek per ledger stream (`ledger-<contract>`), as a scan of the
/// index's rows would read every ledger event's.
fn generated_contracts(data: &Path) -> anyhow::Result<Vec<Uuid>> {
    let path = data.join("events.sqlite");
    let db = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", path.display()))?;
    // '.' follows '-': every `ledger-…` stream sorts between the two bounds.
    let mut next = db.prepare(
        "SELECT stream FROM stream_index WHERE stream > ?1 AND stream < 'ledger.' ORDER BY stream LIMIT 1",
    )?;
    let mut contracts = Vec::with_capacity(COLD_LEDGERS);
    let mut after = String::from("ledger-");
    while contracts.len() < COLD_LEDGERS {
        let stream: Option<String> = next
            .query_row([&after], |row| row.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some(stream) = stream else { break };
        let contract = stream
            .strip_prefix("ledger-")
            .and_then(|id| Uuid::parse_str(id).ok())
            .with_context(|| format!("stream {stream}: not ledger-<contract id>"))?;
        contracts.push(contract);
        after = stream;
    }
    Ok(contracts)
}

/// Who `talo generate` made: `DIR/generated.json`.
fn read_generated(data: &Path) -> anyhow::Result<Value> {
    let path = data.join("generated.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The portal's and the office's queries on the generated organisation, as its own resident
/// and clerk, at the portal's target rate; and a month's flow report for the whole
/// organisation as its property manager, as fast as it goes (a report is not a portal query:
/// on a large organisation one costs tens of milliseconds of CPU).
async fn generated_queries(
    server: &Server,
    data: &Path,
    who: &Value,
    contracts: &[Uuid],
    measure: Duration,
) -> anyhow::Result<String> {
    let token = |field: &str| generated_token(data, who, field);
    let (resident, clerk, manager) = (
        token("resident_id")?,
        token("customer_service_id")?,
        token("property_manager_id")?,
    );
    let mut out = format!(
        "\n#### Queries on the generated organisation (open loop, {QUERY_RATE} requests/s over {RATE_CONNECTIONS} connections)\n\n\
         | query | requests/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|\n"
    );
    let portal = [
        (
            "resident's fault list (`myFaultReports`, 20)",
            &resident,
            json!({ "query": "{ myFaultReports(first: 20) { edges { node { id ticket status } } } }" }),
        ),
        (
            "office queue (`faultReportQueue`, 50)",
            &clerk,
            json!({ "query": "{ faultReportQueue(first: 50) { totalCount edges { node { id ticket status } } } }" }),
        ),
        (
            "customer service's message queue (`messageThreadQueue`, 50)",
            &clerk,
            json!({ "query": "{ messageThreadQueue(first: 50) { totalCount edges { node { id ticket status } } } }" }),
        ),
        // The ledger's documents are folded from the contract's stream on each request.
        (
            "resident's own ledger (`myLedgers`: standing, invoices)",
            &resident,
            json!({ "query": "{ myLedgers { contractId standing { balanceCents overdueCents } invoices { number dueOn status totalCents } } }" }),
        ),
        (
            "resident's announcements (`announcements`, 20)",
            &resident,
            json!({ "query": "{ announcements(first: 20) { totalCount nodes { id title publishAt readByMe } } }" }),
        ),
        // Five years of every property's announcements: tens of thousands.
        (
            "manager's announcements (`announcements`, 20 of all)",
            &manager,
            json!({ "query": "{ announcements(first: 20) { totalCount nodes { id title publishAt readCount } } }" }),
        ),
        (
            "customer service's housing line (`housingApplications`, 50)",
            &clerk,
            json!({ "query": "{ housingApplications(first: 50) { totalCount edges { node { id maxRentCents validUntil } } } }" }),
        ),
        (
            "customer service's housing offers (`housingOffers`, 50 of all)",
            &clerk,
            json!({ "query": "{ housingOffers(first: 50) { totalCount edges { node { id status apartmentCode } } } }" }),
        ),
    ];
    // A store generated before housing applications has no applicant.
    let applicant = who["applicant_id"]
        .as_str()
        .map(|_| token("applicant_id"))
        .transpose()?;
    let applicant_query = applicant.as_ref().map(|token| {
        (
            "a housed applicant's offers (`myHousingOffers`)",
            token,
            json!({ "query": "{ myHousingOffers { id status leaseStartsOn } }" }),
        )
    });
    let portal = portal.into_iter().chain(applicant_query);
    // The server has just started on a freshly copied store of gigabytes: in one run the
    // first query's p99 was 261 ms after one second of warm-up and 2.7 ms when run again
    // right after. Each query is warmed up for longer here.
    for (name, token, query) in portal {
        let warmup = Duration::from_secs(5);
        out.push_str(&at_rate(server, token, name, query.to_string(), warmup, measure).await?);
    }
    // The resident's ledger above is one contract's, kept by the server after its first
    // read; the office opens a different contract's each time, at the portal's rate and as
    // fast as it goes: its standing and invoice list (answered from the ledgers read model),
    // and the same with the charge lines (which only the contract's stream has).
    let ledgers = LedgersInTurn::new(contracts);
    if let Some(ledgers) = &ledgers {
        let name = format!(
            "manager's ledgers of {} contracts in turn (`ledger`: standing, invoices)",
            contracts.len()
        );
        let warmup = Duration::from_secs(5);
        let body = ledgers.body(LEDGER_LIST);
        out.push_str(&bodies_at_rate(server, &manager, &name, body, warmup, measure).await?);
    }
    let flow = json!({
        "query": "query($input: FlowReportInput!) { flowReport(input: $input) { periodStart group created closed backlogAtEnd } }",
        "variables": { "input": { "from": "2026-09-30T21:00:00Z", "until": "2026-10-31T22:00:00Z", "period": "WEEK", "groupBy": "PROPERTY" } }
    })
    .to_string();
    out.push_str(
        "\n| closed loop | concurrency | requests/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let mut closed_loops: Vec<(String, &String, Arc<load::Body>)> = vec![(
        "October's flow report, whole organisation, by property".into(),
        &manager,
        Arc::new(move |_, _| flow.clone()),
    )];
    if let Some(ledgers) = &ledgers {
        let name = format!("manager's ledgers of {} contracts in turn", contracts.len());
        closed_loops.push((name, &manager, ledgers.body(LEDGER_LIST)));
        let name = format!(
            "manager's ledgers of {} contracts in turn, with charge lines (folded from the stream)",
            contracts.len()
        );
        closed_loops.push((name, &manager, ledgers.body(LEDGER_WITH_CHARGE_LINES)));
    }
    // A store generated before the auditor was named has none.
    let auditor = who["auditor_id"]
        .as_str()
        .map(|_| token("auditor_id"))
        .transpose()?;
    if let Some(auditor) = &auditor {
        if let Some(ledgers) = &ledgers {
            let name = format!(
                "auditor's history of {} contracts in turn (`entityHistory`, 20)",
                contracts.len()
            );
            closed_loops.push((name, auditor, ledgers.body(CONTRACT_HISTORY)));
        }
        let name = "auditor's log of a day, the year's days in turn (`auditLog`, 100)".into();
        closed_loops.push((name, auditor, days_in_turn()));
    }
    for (name, token, body) in closed_loops {
        out.push_str(&closed_loop(server, token, &name, 2, body, measure).await?);
    }
    Ok(out)
}

/// An entity's history as an auditor pages it: the contract's first twenty events.
const CONTRACT_HISTORY: &str = "query($contract: UUID!) { entityHistory(id: $contract, first: 20) { pageInfo { hasNextPage endCursor } edges { node { position eventType stream occurredAt } } } }";

/// The first page of a day's log, each request the day before the last one's, from the end
/// of October 2026 back through the year.
fn days_in_turn() -> Arc<load::Body> {
    const QUERY: &str = "query($from: DateTime!, $until: DateTime!) { auditLog(filter: { occurredFrom: $from, occurredUntil: $until }, first: 100) { pageInfo { hasNextPage endCursor } edges { node { position eventType stream occurredAt } } } }";
    let next = Arc::new(AtomicUsize::new(0));
    let last = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default();
    Arc::new(move |_, _| {
        let back = next.fetch_add(1, Ordering::Relaxed) % 365;
        let day = last - chrono::Duration::days(back as i64);
        let from = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let until = from + chrono::Duration::days(1);
        json!({ "query": QUERY, "variables": { "from": from, "until": until } }).to_string()
    })
}

/// The office's ledger query, each request on the next of the generated organisation's
/// contracts; every body made here walks on from where the last stopped, so none finds a
/// ledger the server still keeps from an earlier run.
struct LedgersInTurn {
    contracts: Arc<Vec<Uuid>>,
    next: Arc<AtomicUsize>,
}

impl LedgersInTurn {
    fn new(contracts: &[Uuid]) -> Option<Self> {
        (!contracts.is_empty()).then(|| Self {
            contracts: Arc::new(contracts.to_vec()),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn body(&self, query: &'static str) -> Arc<load::Body> {
        let (contracts, next) = (self.contracts.clone(), self.next.clone());
        Arc::new(move |_, _| {
            let contract = contracts[next.fetch_add(1, Ordering::Relaxed) % contracts.len()];
            json!({ "query": query, "variables": { "contract": contract } }).to_string()
        })
    }
}

/// A contract's standing and invoice list, as the office's list of contracts shows them.
const LEDGER_LIST: &str = "query($contract: UUID!) { ledger(contractId: $contract) { standing { balanceCents overdueCents } invoices { number dueOn status totalCents } } }";

/// The same with the charge lines, as one contract's page shows them.
const LEDGER_WITH_CHARGE_LINES: &str = "query($contract: UUID!) { ledger(contractId: $contract) { standing { balanceCents overdueCents } chargeLines { kind monthlyAmountCents } invoices { number dueOn status totalCents } } }";

/// A morning's bank statement on the generated organisation: [`STATEMENT_PAYMENTS`]
/// payments to the first invoices of the latest year (January's run: one per contract),
/// imported by customer service in one `POST /ledger/camt054`.
async fn statement_import(server: &Server, data: &Path, who: &Value) -> anyhow::Result<String> {
    let token = |field: &str| generated_token(data, who, field);
    let (resident, clerk) = (token("resident_id")?, token("customer_service_id")?);
    // The year and the account come from the resident's latest invoice.
    let query = json!({ "query": "{ myLedgers { invoices { number iban } } }" }).to_string();
    let (_, body, _) = load::post_once(
        server.addr,
        &resident,
        "/graphql",
        "application/json",
        query,
    )
    .await?;
    let ledgers: Value = serde_json::from_slice(&body)?;
    let latest = ledgers["data"]["myLedgers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["invoices"].as_array().into_iter().flatten())
        .max_by_key(|i| i["number"].as_str().unwrap_or_default().to_owned())
        .with_context(|| format!("the resident's invoices: {ledgers}"))?;
    let year: u64 = latest["number"]
        .as_str()
        .and_then(|n| n.split('-').nth(1))
        .and_then(|y| y.parse().ok())
        .with_context(|| format!("an invoice number: {latest}"))?;
    let iban = latest["iban"]
        .as_str()
        .context("the invoice's IBAN")?
        .replace(' ', "");
    let run = format!("BENCH{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let xml = statement::paying_invoices(
        &iban,
        year,
        1..=STATEMENT_PAYMENTS,
        chrono::Utc::now().date_naive(),
        &run,
    );
    let bytes = xml.len();
    let (status, body, took) = load::post_once(
        server.addr,
        &clerk,
        "/ledger/camt054",
        "application/xml",
        xml,
    )
    .await?;
    let report: Value = serde_json::from_slice(&body)
        .with_context(|| format!("{status}: {}", String::from_utf8_lossy(&body)))?;
    if !status.is_success() {
        anyhow::bail!("the statement import failed: {status}: {report}");
    }
    let contracts: std::collections::HashSet<&str> = report["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["contractId"].as_str())
        .collect();
    let line = format!(
        "\n#### A bank statement imported (customer service, one `POST /ledger/camt054`)\n\n\
         | payments | bytes | contracts | seconds | payments/s | matched | unmatched | refused |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {STATEMENT_PAYMENTS} | {bytes} | {} | {:.2} | {:.0} | {} | {} | {} |\n",
        contracts.len(),
        took.as_secs_f64(),
        STATEMENT_PAYMENTS as f64 / took.as_secs_f64(),
        report["matched"],
        report["unmatched"],
        report["refused"],
    );
    print!("{line}");
    Ok(line)
}

/// How many events the store holds (its head position; positions are gapless).
async fn events_in(dir: &Path) -> anyhow::Result<u64> {
    let path = dir.join("events.sqlite");
    let store = talo_store::SqliteEventStore::open(talo_store::SqliteOptions::new(path))?;
    let head = talo_store::EventStore::head(&store).await?;
    talo_store::EventStore::close(&store).await;
    Ok(head.commit)
}

/// Cores, memory, kernel and compiler, for the figures' context.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(|| "?".into(), |kb| format!("{} GiB", kb >> 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores, {memory}, Linux {kernel}, {rustc}")
}
