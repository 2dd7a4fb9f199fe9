//! `talo generate`: a small organisation generates in well under a few seconds, every event
//! decodes, Talo opens on it with every read model folded without failure (the work items alike
//! when folded from their own event types alone), the same seed gives the same events and
//! another seed others, the proportions are the intended ones, and the command refuses a store
//! with events and sizes that make no organisation.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use talo_api::blobs::BlobStore;
use talo_api::generate::{GenerateError, GenerateOptions, Generated, generate};
use talo_api::{Config, Talo};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_projections::engine::build_from_zero;
use talo_projections::work_items::WorkItemsView;
use talo_store::{EventStore, LogFilter, SqliteEventStore, SqliteOptions};

fn small(seed: u64) -> GenerateOptions {
    GenerateOptions {
        seed,
        properties: 3,
        apartments: 30,
        years: 1,
        until: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    }
}

async fn run(dir: &std::path::Path, options: &GenerateOptions) -> (Generated, Vec<RecordedEvent>) {
    let store = SqliteEventStore::open(SqliteOptions::new(dir.join("events.sqlite"))).unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let generated = generate(
        store.clone(),
        &BlobStore::new(dir),
        options,
        indicatif::ProgressBar::hidden(),
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(Position::START, |e: &RecordedEvent| e.position);
        let batch = store
            .read_all(after, 10_000, &LogFilter::default())
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        events.extend(batch);
    }
    store.close().await;
    (generated, events)
}

/// A stream's events keep their business order (but a ticket series', whose numbers are
/// issued in the order the cases arrive whatever time they say they happened).
fn business_time_never_goes_back_within_a_stream(events: &[RecordedEvent]) {
    let mut last: BTreeMap<&str, chrono::DateTime<chrono::Utc>> = BTreeMap::new();
    for e in events {
        if let Some(previous) = last.insert(&e.stream, e.metadata.occurred_at) {
            if e.stream.starts_with("tickets-") {
                continue;
            }
            assert!(
                previous <= e.metadata.occurred_at,
                "{} goes back in time at revision {}",
                e.stream,
                e.revision
            );
        }
    }
}

/// Every stream's events in revision order: what the seed decides (concurrent appends may
/// interleave streams differently in the global log).
fn by_stream(events: &[RecordedEvent]) -> BTreeMap<(String, u64), (String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                (e.stream.clone(), e.revision),
                (
                    e.event_type.clone(),
                    e.event_id.to_string(),
                    e.payload.to_string(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_organisation_is_valid_and_talo_opens_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (generated, events) = run(dir.path(), &small(7)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(generated.events, events.len() as u64);
    assert!(events.len() > 1_500, "only {} events", events.len());
    for e in &events {
        DomainEvent::from_json_text(&e.event_type, e.schema_version, e.payload.as_str())
            .unwrap_or_else(|err| panic!("{} at {}: {err}", e.event_type, e.position));
        assert_eq!(e.metadata.organisation_id, generated.organisation_id);
    }
    business_time_never_goes_back_within_a_stream(&events);
    // Every area is there.
    for event_type in [
        "ContractSigned",
        "ContractEnded",
        "ChargeLineAdded",
        "InvoiceIssued",
        "PaymentReceived",
        "FaultReported",
        "FaultReportConfirmed",
        "MessageThreadStarted",
        "MessagePosted",
        "AnnouncementPublished",
        "AnnouncementRead",
        "DocumentAdded",
        "SaunaShiftBooked",
        "ParkingSpaceBooked",
        "ServiceRequestFiled",
        "RequestFormPublished",
        "HousingApplicationFiled",
        "HousingOfferMade",
        "HousingOfferAccepted",
    ] {
        assert!(
            generated.counts.get(event_type).copied().unwrap_or(0) > 0,
            "no {event_type}: {:?}",
            generated.counts
        );
    }

    let mut config = Config::new(dir.path());
    config.notifications = false;
    let talo = Talo::open(config).await.unwrap();
    assert!(talo.is_ready(), "{:?}", talo.read_models.statuses());
    let apartments = talo
        .read_models
        .register
        .read()
        .organisation(generated.organisation_id)
        .map(|r| r.apartments.len());
    assert_eq!(apartments, Some(30));
    // The property manager sees the organisation through the API's own checks.
    let caller = talo_api::auth::Caller {
        person_id: generated.property_manager_id,
        organisation_id: generated.organisation_id,
    };
    let principal = talo
        .principal(caller, chrono::Utc::now())
        .expect("the property manager is in the register");
    assert!(principal.is_office_staff());
    // The auditor named for benchmarks is one.
    let auditor = talo_api::auth::Caller {
        person_id: generated.auditor_id,
        organisation_id: generated.organisation_id,
    };
    let principal = talo
        .principal(auditor, chrono::Utc::now())
        .expect("the auditor is in the register");
    assert!(principal.is_auditor());
    // The applicant who accepted an offer holds the lease the acceptance signed.
    let applicant = generated.applicant_id.expect("someone accepted an offer");
    let leases: Vec<_> = talo
        .read_models
        .register
        .read()
        .organisation(generated.organisation_id)
        .map(|r| {
            r.contracts
                .values()
                .filter(|c| c.person_id == applicant)
                .map(|c| c.contract_id)
                .collect()
        })
        .unwrap_or_default();
    let accepted: Vec<_> = events
        .iter()
        .filter(|e| {
            e.event_type == "HousingOfferAccepted" && e.metadata.actor.person_id == applicant
        })
        .map(|e| e.payload.as_str().to_owned())
        .collect();
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert!(accepted[0].contains(&leases[0].to_string()), "{accepted:?}");
    // The work items an auditor's past report folds from their own event types alone are the
    // ones every event of the generated history reached.
    let head = talo.store.head().await.unwrap();
    let rebuilt: WorkItemsView = build_from_zero(talo.store.as_ref(), head).await.unwrap();
    assert!(*talo.read_models.work_items.read() == rebuilt);
    talo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_decides_the_events() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (_, first) = run(a.path(), &small(3)).await;
    let (_, again) = run(b.path(), &small(3)).await;
    let (_, other) = run(c.path(), &small(4)).await;
    assert_eq!(by_stream(&first), by_stream(&again));
    assert_ne!(by_stream(&first), by_stream(&other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proportions_are_the_intended_ones() {
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        seed: 11,
        properties: 8,
        apartments: 400,
        years: 1,
        until: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    let (generated, events) = run(dir.path(), &options).await;
    let count = |t: &str| generated.counts.get(t).copied().unwrap_or(0) as f64;
    let apartment_years = 400.0;
    // A monthly invoice per contract month (some apartments stand empty, some contracts
    // overlap a move), about as many payments (the last ones fall after the history).
    let invoices = count("InvoiceIssued");
    assert!(
        (0.9 * 12.0 * apartment_years..=1.1 * 12.0 * apartment_years).contains(&invoices),
        "{invoices} invoices"
    );
    let payments = count("PaymentReceived");
    assert!(
        (0.85 * invoices..=1.02 * invoices).contains(&payments),
        "{payments} payments for {invoices} invoices"
    );
    // An invoice number for every invoice, a ticket for every case.
    assert_eq!(
        count("TicketNumberIssued"),
        invoices
            + count("FaultReported")
            + count("MessageThreadStarted")
            + count("ServiceRequestFiled")
            + count("RenovationRequested")
    );
    assert!(count("RenovationRequested") > 0.0 && count("RenovationInspected") > 0.0);
    let requests = count("ServiceRequestFiled");
    assert!(
        (0.15 * apartment_years..=0.45 * apartment_years).contains(&requests),
        "{requests} service requests"
    );
    assert!(
        count("ServiceRequestCompleted") > 0.7 * requests,
        "{:?}",
        generated.counts
    );
    let faults = count("FaultReported");
    assert!(
        (0.35 * apartment_years..=0.65 * apartment_years).contains(&faults),
        "{faults} fault reports"
    );
    let steps = count("FaultReportAcknowledged")
        + count("FaultReportAssigned")
        + count("FaultReportVisitScheduled")
        + count("FaultReportWorkStarted")
        + count("FaultReportResolved")
        + count("FaultReportConfirmed")
        + count("FaultReportNoteAdded")
        + count("FaultReportReopened")
        + count("FaultReportCancelled");
    assert!(
        (3.5..=7.0).contains(&(steps / faults)),
        "{} steps per report",
        steps / faults
    );
    let threads = count("MessageThreadStarted");
    assert!(
        (0.75 * apartment_years..=1.25 * apartment_years).contains(&threads),
        "{threads} threads"
    );
    let messages = count("MessagePosted") / threads;
    assert!(
        (2.0..=4.0).contains(&messages),
        "{messages} messages a thread"
    );
    // Residents come and go: leases turn over faster than shareholdings.
    assert!(count("ContractEnded") > 0.04 * apartment_years);
    let announcements = count("AnnouncementPublished") / (8.0 * 12.0);
    assert!(
        (1.0..=2.0).contains(&announcements),
        "{announcements} a month"
    );
    housing_lets_apartments_through_offers(&events);
    business_time_never_goes_back_within_a_stream(&events);
}

/// Rental apartments are let through housing offers: applications are filed, renewed and
/// withdrawn; it takes about two offers to let an apartment, every offer is answered or
/// expires (but the last few, still open when the history ends), and every acceptance signs
/// the lease it names, for the applicant, on the offered apartment and day.
fn housing_lets_apartments_through_offers(events: &[RecordedEvent]) {
    let decoded: Vec<(DomainEvent, &RecordedEvent)> = events
        .iter()
        .map(|e| {
            let event =
                DomainEvent::from_json_text(&e.event_type, e.schema_version, e.payload.as_str())
                    .unwrap();
            (event, e)
        })
        .collect();
    let mut offers = BTreeMap::new();
    let mut leases = BTreeMap::new();
    let (mut filed, mut renewed, mut withdrawn, mut answered, mut accepted) = (0, 0, 0, 0, 0);
    let mut applications = std::collections::BTreeSet::new();
    for (event, _) in &decoded {
        match event {
            DomainEvent::HousingApplicationFiled(e) => {
                filed += 1;
                applications.insert(e.application_id);
            }
            DomainEvent::HousingApplicationRenewed(_) => renewed += 1,
            DomainEvent::HousingApplicationWithdrawn(_) => withdrawn += 1,
            DomainEvent::HousingOfferMade(e) => {
                offers.insert(e.offer_id, e.clone());
            }
            DomainEvent::HousingOfferDeclined(_) | DomainEvent::HousingOfferExpired(_) => {
                answered += 1
            }
            DomainEvent::HousingOfferAccepted(_) => {
                answered += 1;
                accepted += 1;
            }
            DomainEvent::ContractSigned(e) => {
                leases.insert(e.contract_id, e.clone());
            }
            _ => {}
        }
    }
    assert!(
        filed > 20 && renewed > 0 && withdrawn > 0,
        "{filed} {renewed} {withdrawn}"
    );
    for offer in offers.values() {
        assert!(applications.contains(&offer.application_id), "{offer:?}");
    }
    assert!(
        answered <= offers.len() && offers.len() - answered <= 3,
        "{answered} of {} offers answered",
        offers.len()
    );
    let per_letting = offers.len() as f64 / accepted as f64;
    assert!(
        (1.5..=3.5).contains(&per_letting),
        "{per_letting} offers a letting"
    );
    for (event, recorded) in &decoded {
        let DomainEvent::HousingOfferAccepted(e) = event else {
            continue;
        };
        let offer = &offers[&e.offer_id];
        assert_eq!(
            e.contract_id,
            talo_api::dispatch::Dispatcher::lease_id_for(e.offer_id)
        );
        assert_eq!(recorded.metadata.actor.person_id, offer.applicant_id);
        let lease = leases
            .get(&e.contract_id)
            .expect("the acceptance signed a lease");
        assert_eq!(
            (lease.person_id, lease.apartment_id, lease.starts_on),
            (
                offer.applicant_id,
                offer.apartment_id,
                offer.lease_starts_on
            )
        );
        assert_eq!(
            lease.kind,
            talo_events_schema::register::ContractKind::Lease
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_that_make_no_organisation_are_refused_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(SqliteOptions::new(dir.path().join("events.sqlite"))).unwrap(),
    );
    let bad = GenerateOptions {
        apartments: 2,
        ..small(1)
    };
    let refused = generate(
        store.clone(),
        &BlobStore::new(dir.path()),
        &bad,
        indicatif::ProgressBar::hidden(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            refused,
            GenerateError::Options {
                flag: "--apartments",
                ..
            }
        ),
        "{refused}"
    );
    for (options, flag) in [
        (
            GenerateOptions {
                properties: 0,
                ..small(1)
            },
            "--properties",
        ),
        (
            GenerateOptions {
                years: 0,
                ..small(1)
            },
            "--years",
        ),
        (
            GenerateOptions {
                until: NaiveDate::from_ymd_opt(1, 3, 1).unwrap(),
                ..small(1)
            },
            "--until",
        ),
    ] {
        let error = options.check().unwrap_err();
        assert!(error.to_string().starts_with(flag), "{error}");
    }
    assert_eq!(store.head().await.unwrap(), Position::START);
    store.close().await;
}

#[test]
fn the_command_refuses_a_store_with_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let generate = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_talo"))
            .args([
                "generate",
                "--data",
                data,
                "--properties",
                "2",
                "--apartments",
                "6",
            ])
            .args(["--years", "1"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = generate(&[]);
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("Property manager:"), "{stdout}");
    assert!(stdout.contains("InvoiceIssued"), "{stdout}");
    let second = generate(&[]);
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("--data") && stderr.contains("already holds events"),
        "{stderr}"
    );
    let bad = generate(&["--years", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--years"));
}
