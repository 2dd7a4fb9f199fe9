//! Rules of service-level promises: deadlines in working and calendar days, how a promise
//! stands, and who sets an organisation's promises.

mod world;

use chrono::{TimeZone, Utc};
use talo_domain::RejectionKind;
use talo_domain::service_level::*;
use talo_events_schema::service_level::*;
use world::*;

fn target(amount: u32, unit: PromiseUnit) -> ServiceLevelTarget {
    ServiceLevelTarget {
        process: WorkProcess::FaultReport,
        milestone: Milestone::FirstResponse,
        amount,
        unit,
    }
}

#[test]
fn one_working_day_from_friday_is_the_end_of_monday() {
    // Friday 6 March 2026, 15:00 in Helsinki.
    let created = Utc.with_ymd_and_hms(2026, 3, 6, 13, 0, 0).unwrap();
    let due = due(&target(1, PromiseUnit::WorkingDays), created);
    // The end of Monday 9 March in Helsinki (UTC+2).
    assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 9, 22, 0, 0).unwrap());
}

#[test]
fn easter_holidays_do_not_count() {
    // Thursday 2 April 2026; Good Friday and Easter Monday are holidays. Summer time: UTC+3.
    let created = Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap();
    let due = due(&target(2, PromiseUnit::WorkingDays), created);
    assert_eq!(due, Utc.with_ymd_and_hms(2026, 4, 8, 21, 0, 0).unwrap());
}

#[test]
fn calendar_days_count_weekends() {
    let created = Utc.with_ymd_and_hms(2026, 3, 6, 13, 0, 0).unwrap();
    let due = due(&target(14, PromiseUnit::CalendarDays), created);
    assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 20, 22, 0, 0).unwrap());
}

#[test]
fn a_promise_is_met_breached_at_risk_or_on_track() {
    let created = at(2, 8);
    let due = at(4, 8); // 48 hours allowed; at risk in the last 12.
    assert_eq!(
        assess(created, due, Some(at(3, 8)), at(5, 0), 25),
        PromiseState::Met
    );
    assert_eq!(
        assess(created, due, Some(at(4, 8)), at(5, 0), 25),
        PromiseState::Breached,
        "reached exactly at the deadline is late"
    );
    assert_eq!(
        assess(created, due, None, at(4, 8), 25),
        PromiseState::Breached
    );
    assert_eq!(
        assess(created, due, None, at(3, 21), 25),
        PromiseState::AtRisk
    );
    assert_eq!(
        assess(created, due, None, at(3, 20), 25),
        PromiseState::OnTrack,
        "exactly a quarter left is not yet at risk"
    );
    assert_eq!(
        assess(created, due, Some(at(3, 10)), at(3, 9), 25),
        PromiseState::OnTrack,
        "a milestone reached after `now` is not known at `now`"
    );
}

#[test]
fn the_defaults_are_the_source_documents_examples() {
    let levels = ServiceLevels::default();
    let created = Utc.with_ymd_and_hms(2026, 3, 6, 13, 0, 0).unwrap();
    assert_eq!(
        levels.due(WorkProcess::FaultReport, Milestone::FirstResponse, created),
        Some(Utc.with_ymd_and_hms(2026, 3, 9, 22, 0, 0).unwrap())
    );
    assert_eq!(
        levels.due(WorkProcess::Renovation, Milestone::Resolution, created),
        // 30 days on: the end of Sunday 5 April, after the clocks went forward (UTC+3).
        Some(Utc.with_ymd_and_hms(2026, 4, 5, 21, 0, 0).unwrap())
    );
}

fn command(targets: Vec<ServiceLevelTarget>, at_risk_percent: u32) -> ServiceLevelTargetsSet {
    ServiceLevelTargetsSet {
        targets,
        at_risk_percent,
    }
}

#[test]
fn an_organisation_wide_manager_sets_the_promises() {
    let world = World::new();
    let decision = set(
        &world.principal(world.manager),
        command(vec![target(2, PromiseUnit::WorkingDays)], 20),
    )
    .unwrap();
    assert_eq!(decision.events.len(), 1);
}

#[test]
fn others_may_not_set_the_promises() {
    let world = World::new();
    for person in [world.service, world.technical, world.tenant] {
        let e = set(
            &world.principal(person),
            command(vec![target(2, PromiseUnit::WorkingDays)], 20),
        )
        .unwrap_err();
        assert_eq!(e.rule, "service_level.forbidden");
    }
    let e = set(&world.principal(world.auditor), command(vec![], 20)).unwrap_err();
    assert_eq!(e.rule, "auditor.read_only");
}

#[test]
fn bad_promises_are_refused_by_field() {
    let world = World::new();
    let manager = world.principal(world.manager);
    let e = set(
        &manager,
        command(vec![target(0, PromiseUnit::CalendarDays)], 20),
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.rule, e.field),
        (
            RejectionKind::InvalidInput,
            "service_level.amount",
            Some("targets.amount")
        )
    );
    let e = set(
        &manager,
        command(vec![target(366, PromiseUnit::CalendarDays)], 20),
    )
    .unwrap_err();
    assert_eq!(e.rule, "service_level.amount");
    let twice = vec![
        target(1, PromiseUnit::WorkingDays),
        target(2, PromiseUnit::CalendarDays),
    ];
    let e = set(&manager, command(twice, 20)).unwrap_err();
    assert_eq!(e.rule, "service_level.duplicate");
    let e = set(&manager, command(vec![], 0)).unwrap_err();
    assert_eq!(
        (e.rule, e.field),
        ("service_level.at_risk_percent", Some("atRiskPercent"))
    );
    let e = set(&manager, command(vec![], 100)).unwrap_err();
    assert_eq!(e.rule, "service_level.at_risk_percent");
}
