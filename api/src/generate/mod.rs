//! `talo generate`: a realistic organisation of configurable size with years of history,
//! written through the domain's own decisions so every event is one Talo could have recorded.
//!
//! The generator keeps in memory what the decisions need (each property's slice of the register,
//! each contract's ledger, the aggregates still in progress), walks the history day by day, and
//! appends to the store directly in large batches ([`log`]), not through the dispatcher's
//! per-command round trips. Each property gets its own slice of the register (the organisation,
//! its staff and contractors, the property with its apartments, residents and contracts): every
//! rule of a decision about one property looks only at that property, and the slices keep the
//! register scans of the rules small at twenty thousand apartments. Everything is drawn from one
//! seeded random stream ([`chance`]), so a seed and sizes give the same events.

mod bookings;
mod chance;
mod faults;
mod housing;
mod ledger;
mod log;
mod messages;
mod notices;
mod portal;
mod register;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use indicatif::ProgressBar;
use talo_domain::Rejection;
use talo_domain::access::Principal;
use talo_domain::ticket::TicketSeries;
use talo_events_schema::envelope::{Actor, Channel};
use talo_events_schema::streams;
use talo_events_schema::ticket::TicketNumberIssued;
use talo_store::{EventStore, StoreError};
use uuid::Uuid;

use crate::blobs::BlobStore;
use chance::Chance;
use log::{Act, Log};
use register::Organisation;

/// How big and how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    pub seed: u64,
    pub properties: usize,
    pub apartments: usize,
    pub years: u32,
    /// The history ends the day before (Helsinki).
    pub until: NaiveDate,
}

/// The default end of the history: fixed, so the default output is the same every day.
pub const DEFAULT_UNTIL: (i32, u32, u32) = (2026, 11, 1);

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            seed: 1,
            properties: 500,
            apartments: 20_000,
            years: 5,
            until: NaiveDate::from_ymd_opt(DEFAULT_UNTIL.0, DEFAULT_UNTIL.1, DEFAULT_UNTIL.2)
                .unwrap_or_default(),
        }
    }
}

impl GenerateOptions {
    /// Refuses sizes that make no organisation, naming the flag.
    pub fn check(&self) -> Result<(), GenerateError> {
        let bad = |flag: &'static str, message: &str| {
            Err(GenerateError::Options {
                flag,
                message: message.into(),
            })
        };
        if self.properties == 0 {
            return bad("--properties", "must be at least 1");
        }
        if self.apartments < self.properties {
            return bad(
                "--apartments",
                "must be at least the number of properties (each has an apartment)",
            );
        }
        if self.apartments > 1_000_000 {
            return bad("--apartments", "must be at most 1,000,000");
        }
        if !(1..=30).contains(&self.years) {
            return bad("--years", "must be from 1 to 30");
        }
        // Ids carry their time as Unix milliseconds.
        let start_year = self.start().map_or(0, |d| d.year());
        if start_year < 1970 || self.until.year() > 2200 {
            return bad(
                "--until",
                "must leave the history between the years 1970 and 2200",
            );
        }
        Ok(())
    }

    /// The first day of the history.
    pub fn start(&self) -> Option<NaiveDate> {
        self.until.checked_sub_months(Months::new(self.years * 12))
    }

    /// A rough number of events, for the progress bar.
    pub fn estimate(&self) -> u64 {
        self.apartments as u64 * u64::from(self.years) * EVENTS_PER_APARTMENT_YEAR
    }
}

/// Measured: 580,799 events for 2,000 apartments over five years at the default proportions.
const EVENTS_PER_APARTMENT_YEAR: u64 = 58;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{flag}: {message}")]
    Options { flag: &'static str, message: String },
    /// A decision refused what the generator asked: a bug in the generator, named by the rule.
    #[error("the domain refused {what}: {rule}: {message}")]
    Refused {
        what: &'static str,
        rule: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing document content: {0}")]
    Blobs(String),
}

impl GenerateError {
    fn refused(what: &'static str) -> impl FnOnce(Rejection) -> GenerateError {
        move |r| GenerateError::Refused {
            what,
            rule: r.rule,
            message: r.message,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Generated {
    pub organisation_id: Uuid,
    /// The organisation-wide property manager, for `talo token`.
    pub property_manager_id: Uuid,
    /// A customer service clerk and a resident who reported faults through the portal: whom
    /// benchmarks of the office's and the portal's queries act as.
    pub customer_service_id: Option<Uuid>,
    pub resident_id: Option<Uuid>,
    /// The last housing applicant to accept an offer (a tenant since): whom benchmarks of an
    /// applicant's queries act as.
    pub applicant_id: Option<Uuid>,
    /// The organisation's auditor: whom benchmarks of the auditor's queries act as.
    pub auditor_id: Uuid,
    pub events: u64,
    pub counts: BTreeMap<&'static str, u64>,
}

/// Pending events before a flush starts early (bounds memory within a busy month).
const FLUSH_AT: usize = 150_000;

/// Generates the organisation into `store` (which should be empty) and document content into
/// `blobs`; `progress` counts events as they are appended.
pub async fn generate(
    store: Arc<dyn EventStore>,
    blobs: &BlobStore,
    options: &GenerateOptions,
    progress: ProgressBar,
) -> Result<Generated, GenerateError> {
    options.check()?;
    let start = options.start().unwrap_or(options.until);
    let mut chance = Chance::new(options.seed);
    let organisation_id = chance.id_at(start.and_hms_opt(6, 0, 0).unwrap_or_default().and_utc());
    let log = Log::new(organisation_id, store, progress);
    let mut world = World {
        chance,
        log,
        organisation_id,
        tickets: BTreeMap::new(),
        portal_reporter: None,
    };
    let mut organisation = Organisation::found(&mut world, options, start)?;
    let defined_at = (start - chrono::Duration::days(7))
        .and_hms_opt(8, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let mut resources = bookings::define(&mut world, &mut organisation, defined_at)?;
    let key_form = portal::publish_form(&mut world, &organisation, defined_at)?;
    let mut housing = housing::Housing::new(&organisation, start);
    let mut day = start;
    while day < options.until {
        if day.day() == 1 {
            notices::month_begins(&mut world, &mut organisation, blobs, day)?;
        }
        register::turnover(&mut world, &mut organisation, &mut housing, day)?;
        housing::day(&mut world, &mut organisation, &mut housing, day)?;
        ledger::day(
            &mut world,
            &mut organisation,
            day,
            options.until,
            day == start,
        )?;
        faults::day(&mut world, &mut organisation, day)?;
        messages::day(&mut world, &mut organisation, day)?;
        portal::day(&mut world, &organisation, &key_form, day)?;
        if day.day() == 1 {
            bookings::month_begins(&mut world, &mut organisation, &mut resources, day)?;
        }
        if day.day() == 1 || world.log.pending_events() >= FLUSH_AT {
            world.log.flush().await?;
        }
        day = day.succ_opt().unwrap_or(options.until);
    }
    world.log.flush().await?;
    world.log.wait().await?;
    Ok(Generated {
        organisation_id,
        property_manager_id: organisation.head_manager,
        customer_service_id: organisation.customer_service.first().copied(),
        resident_id: world.portal_reporter,
        applicant_id: housing.last_housed,
        auditor_id: organisation.auditor,
        events: world.log.total(),
        counts: world.log.counts().clone(),
    })
}

/// What every area writes with: the dice, the log, the ticket series.
struct World {
    chance: Chance,
    log: Log,
    organisation_id: Uuid,
    tickets: BTreeMap<&'static str, TicketSeries>,
    /// The last resident to report a fault through the portal (see [`Generated`]).
    portal_reporter: Option<Uuid>,
}

impl World {
    /// A command's envelope facts, with a fresh correlation id.
    fn act(
        &mut self,
        person_id: Uuid,
        channel: Channel,
        at: DateTime<Utc>,
        property_id: Option<Uuid>,
    ) -> Act {
        Act {
            person_id,
            channel,
            at,
            property_id,
            correlation_id: self.chance.id_at(at),
        }
    }

    /// Issues the next number of a ticket series for something created by `act`, recorded on
    /// the series' stream as the dispatcher records it (by Talo, in the command's correlation).
    fn issue_ticket(
        &mut self,
        prefix: &'static str,
        issued_for: Uuid,
        act: &Act,
    ) -> TicketNumberIssued {
        let series = self.tickets.entry(prefix).or_default();
        let ticket = series.issue(prefix, issued_for, act.at);
        series.apply(&ticket.clone().into());
        let stream = streams::tickets(prefix, self.organisation_id);
        let unkeyed = Act {
            property_id: None,
            ..*act
        };
        self.log.record_as(
            &mut self.chance,
            &stream,
            &unkeyed,
            Actor::SYSTEM,
            vec![ticket.clone().into()],
        );
        ticket
    }
}

/// The person as the property's slice of the register knows them on the local day of `at`.
fn principal_of(
    register: &talo_domain::register::Register,
    person_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Principal, GenerateError> {
    register
        .principal(person_id, talo_domain::calendar::local_date(at))
        .ok_or(GenerateError::Refused {
            what: "a person",
            rule: "generate.person_unknown",
            message: format!("{person_id} is not in the register"),
        })
}
