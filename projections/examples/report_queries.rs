//! How fast the operational reports answer on a large organisation: 500 properties, five years
//! of fault reports and message threads (400,000 work items, about 1.6 million events) folded
//! into the work-item read model in memory, then each report function timed over the whole
//! organisation. Deterministic: a fixed seed, no clock in the data.
//!
//! `cargo run --release -p talo-projections --example report_queries`

use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use talo_domain::calendar::ReportingPeriod;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{
    Actor, ActorRole, Channel, EventMetadata, Position, RecordedEvent,
};
use talo_events_schema::fault_report::*;
use talo_events_schema::message_thread::*;
use talo_projections::Projection;
use talo_projections::operations;
use talo_projections::work_items::WorkItemsView;
use uuid::Uuid;

const PROPERTIES: usize = 500;
const CONTRACTORS: usize = 20;
const FAULTS: usize = 300_000;
const THREADS: usize = 100_000;

/// xorshift64*: enough randomness for plausible data, and the same data every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Log {
    organisation_id: Uuid,
    position: u64,
    view: WorkItemsView,
    events: u64,
}

impl Log {
    fn apply(&mut self, at: DateTime<Utc>, role: ActorRole, channel: Channel, event: DomainEvent) {
        self.position += 1;
        let recorded = RecordedEvent {
            event_id: Uuid::from_u128(u128::from(self.position)),
            stream: String::new(),
            revision: 0,
            position: Position {
                commit: self.position,
                prepare: self.position,
            },
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            recorded_at: at,
            metadata: EventMetadata {
                occurred_at: at,
                actor: Actor {
                    person_id: Uuid::from_u128(7),
                    role,
                },
                channel,
                correlation_id: Uuid::nil(),
                causation_id: None,
                organisation_id: self.organisation_id,
                property_id: None,
                idempotency_key: None,
            },
            payload: Default::default(),
        };
        self.view.apply(&recorded, &event);
        self.events += 1;
    }
}

fn main() {
    let start = Utc.with_ymd_and_hms(2022, 1, 1, 6, 0, 0).unwrap();
    let span_seconds = 5 * 365 * 24 * 3600;
    let mut rng = Seeded(0x7a10_2026);
    let properties: Vec<Uuid> = (0..PROPERTIES)
        .map(|i| Uuid::from_u128(1_000 + i as u128))
        .collect();
    let contractors: Vec<Uuid> = (0..CONTRACTORS)
        .map(|i| Uuid::from_u128(9_000 + i as u128))
        .collect();
    let channels = [
        Channel::Portal,
        Channel::Portal,
        Channel::Portal,
        Channel::Phone,
        Channel::Email,
        Channel::Office,
    ];
    let categories = [
        FaultCategory::Plumbing,
        FaultCategory::Electrical,
        FaultCategory::Heating,
        FaultCategory::DoorsAndLocks,
        FaultCategory::Other,
    ];

    // Items in creation order, so the log is in time order as a real one is.
    let mut births: Vec<(i64, bool, usize)> = Vec::with_capacity(FAULTS + THREADS);
    for i in 0..FAULTS {
        births.push((rng.below(span_seconds) as i64, true, i));
    }
    for i in 0..THREADS {
        births.push((rng.below(span_seconds) as i64, false, i));
    }
    births.sort_unstable();
    // Each item's steps are applied at creation (their business times lie ahead): the view
    // does not care about order across items, and this keeps the generator simple.
    let mut log = Log {
        organisation_id: Uuid::from_u128(1),
        position: 0,
        view: WorkItemsView::default(),
        events: 0,
    };
    let fold_started = Instant::now();
    for (offset, is_fault, i) in births {
        let at = start + Span::seconds(offset);
        let property_id = properties[rng.below(PROPERTIES as u64) as usize];
        let channel = channels[rng.below(channels.len() as u64) as usize];
        let id = Uuid::from_u128(((is_fault as u128) << 64) | i as u128);
        let later = |rng: &mut Seeded, max_hours: u64| Span::hours(1 + rng.below(max_hours) as i64);
        if is_fault {
            log.apply(
                at,
                ActorRole::Resident,
                channel,
                FaultReported {
                    fault_report_id: id,
                    ticket: format!("VK-{i}"),
                    property_id,
                    location: FaultLocation::Apartment {
                        apartment_id: Uuid::from_u128(50_000 + i as u128),
                    },
                    category: categories[rng.below(categories.len() as u64) as usize],
                    description: "Vika".into(),
                    permission_to_enter: true,
                    pets: PetsOnPremises {
                        present: false,
                        details: None,
                    },
                    preferred_visit: None,
                    contact_phone: None,
                    reporter_id: Uuid::from_u128(80_000 + i as u128),
                }
                .into(),
            );
            let acknowledged = at + later(&mut rng, 72);
            log.apply(
                acknowledged,
                ActorRole::CustomerService,
                Channel::Portal,
                FaultReportAcknowledged {
                    fault_report_id: id,
                }
                .into(),
            );
            let contractor = contractors[rng.below(CONTRACTORS as u64) as usize];
            let assigned = acknowledged + later(&mut rng, 24);
            let promised_by = (assigned + Span::days(7)).date_naive();
            log.apply(
                assigned,
                ActorRole::PropertyManager,
                Channel::Portal,
                FaultReportAssigned {
                    fault_report_id: id,
                    contractor_company_id: contractor,
                    promised_by,
                }
                .into(),
            );
            if rng.below(100) < 95 {
                let resolved = assigned + later(&mut rng, 24 * 12);
                log.apply(
                    resolved,
                    ActorRole::Contractor,
                    Channel::Field,
                    FaultReportResolved {
                        fault_report_id: id,
                        work_summary: "Korjattu".into(),
                    }
                    .into(),
                );
                if rng.below(100) < 5 {
                    log.apply(
                        resolved + later(&mut rng, 48),
                        ActorRole::Resident,
                        Channel::Portal,
                        FaultReportReopened {
                            fault_report_id: id,
                            reason: "Taas".into(),
                        }
                        .into(),
                    );
                }
            }
        } else {
            log.apply(
                at,
                ActorRole::Resident,
                channel,
                MessageThreadStarted {
                    message_thread_id: id,
                    ticket: format!("YT-{i}"),
                    property_id,
                    apartment_id: Uuid::from_u128(50_000 + i as u128),
                    resident_id: Uuid::from_u128(80_000 + i as u128),
                    category: MessageCategory::General,
                    subject: "Kysymys".into(),
                }
                .into(),
            );
            let answered = at + later(&mut rng, 96);
            log.apply(
                answered,
                ActorRole::CustomerService,
                Channel::Portal,
                MessagePosted {
                    message_thread_id: id,
                    message_id: Uuid::from_u128(u128::MAX - i as u128),
                    from: MessageSide::Staff,
                    sender_id: Uuid::from_u128(7),
                    body: "Vastaus".into(),
                }
                .into(),
            );
            log.apply(
                answered + later(&mut rng, 240),
                ActorRole::CustomerService,
                Channel::Portal,
                MessageThreadStatusChanged {
                    message_thread_id: id,
                    status: MessageThreadStatus::Closed,
                    cause: StatusChangeCause::Staff,
                }
                .into(),
            );
        }
    }
    let fold = fold_started.elapsed();
    println!(
        "folded {} events into {} work items in {:.2} s ({:.0} events/s)",
        log.events,
        FAULTS + THREADS,
        fold.as_secs_f64(),
        log.events as f64 / fold.as_secs_f64()
    );

    let org = log.organisation_id;
    let view = &log.view;
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let month = (
        Utc.with_ymd_and_hms(2026, 9, 30, 21, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).unwrap(),
    );
    let year = (
        Utc.with_ymd_and_hms(2025, 12, 31, 22, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 31, 22, 0, 0).unwrap(),
    );

    println!("\n| report (whole organisation) | rows | mean ms | max ms |\n|---|---:|---:|---:|");
    time("queue now, every open item", || {
        operations::queue(view.open_now(org), now).len()
    });
    time("promises of a month's items", || {
        operations::promises(view.created_between(org, month.0, month.1), now).len()
    });
    time("flow of a month by week and property", || {
        let spans = ReportingPeriod::Week.split(month.0, month.1);
        operations::flow(view.in_flow(org, month.0, month.1), &spans, |i| {
            Some(i.property_id)
        })
        .len()
    });
    time("flow of a year by month and property", || {
        let spans = ReportingPeriod::Month.split(year.0, year.1);
        operations::flow(view.in_flow(org, year.0, year.1), &spans, |i| {
            Some(i.property_id)
        })
        .len()
    });
    time("contractor performance over a year", || {
        operations::contractors(view.active_between(org, year.0, year.1), year.0, year.1).len()
    });
    time("channel mix of a year by month", || {
        let spans = ReportingPeriod::Month.split(year.0, year.1);
        operations::channel_mix(view.created_between(org, year.0, year.1), &spans).len()
    });
}

/// Runs `report` ten times and prints its row count, mean and worst time.
fn time(name: &str, mut report: impl FnMut() -> usize) {
    let mut rows = 0;
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        rows = std::hint::black_box(report());
        times.push(started.elapsed());
    }
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "| {name} | {rows} | {:.1} | {:.1} |",
        mean.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
}
