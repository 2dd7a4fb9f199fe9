//! Given a register and a report's history, when a command comes, then these events or this
//! rule. One test per rule of the fault report lifecycle.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use talo_domain::access::Principal;
use talo_domain::fault_report::{
    self, Context, FaultReport, FaultReportCommand as C, FaultStatus, ReportFault, Viewer,
};
use talo_domain::register::{Register, RegisterCommand};
use talo_domain::ticket::TicketSeries;
use talo_domain::{Rejection, RejectionKind};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, ActorRole, Channel};
use talo_events_schema::fault_report::*;
use talo_events_schema::register::*;
use uuid::Uuid;

struct World {
    register: Register,
    property: Uuid,
    building: Uuid,
    home: Uuid,
    neighbours_home: Uuid,
    resident: Uuid,
    shareholder: Uuid,
    neighbour: Uuid,
    manager: Uuid,
    service: Uuid,
    contractor: Uuid,
    worker: Uuid,
    other_worker: Uuid,
    auditor: Uuid,
}

fn id() -> Uuid {
    Uuid::now_v7()
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

impl World {
    fn new() -> Self {
        let mut register = Register::default();
        let mut run = |cmd: RegisterCommand| {
            let event = register
                .decide(Actor::SYSTEM, None, cmd)
                .expect("register command");
            register.apply(&event);
        };
        let org = id();
        run(RegisterCommand::RegisterOrganisation(
            OrganisationRegistered {
                organisation_id: org,
                name: "Isännöinti Oy".into(),
                business_id: "1572860-0".into(),
                fault_reopen_window_days: 14,
            },
        ));
        let (property, building, home, neighbours_home) = (id(), id(), id(), id());
        run(RegisterCommand::RegisterProperty(PropertyRegistered {
            property_id: property,
            name: "As Oy Koivukuja".into(),
            kind: PropertyKind::HousingCooperative,
            business_id: "0737546-2".into(),
            street_address: "Koivukuja 3".into(),
            postal_code: "00100".into(),
            city: "Helsinki".into(),
        }));
        run(RegisterCommand::AddBuilding(BuildingAdded {
            property_id: property,
            building_id: building,
            code: "A".into(),
        }));
        for (apartment, code) in [(home, "A 1"), (neighbours_home, "A 2")] {
            run(RegisterCommand::AddApartment(ApartmentAdded {
                property_id: property,
                building_id: building,
                apartment_id: apartment,
                code: code.into(),
                rooms: "2h+k".into(),
                floor_area_dm2: 5400,
            }));
        }
        let people: Vec<Uuid> = (0..9).map(|_| id()).collect();
        for (i, p) in people.iter().enumerate() {
            run(RegisterCommand::RegisterPerson(PersonRegistered {
                person_id: *p,
                name: format!("Person {i}"),
                email: None,
                phone: None,
            }));
        }
        let [
            resident,
            shareholder,
            neighbour,
            manager,
            service,
            worker,
            other_worker,
            auditor,
            _,
        ] = people[..]
        else {
            unreachable!()
        };
        let contract = |person, apartment, kind| {
            RegisterCommand::SignContract(ContractSigned {
                contract_id: id(),
                apartment_id: apartment,
                person_id: person,
                kind,
                starts_on: date(1),
                ends_on: None,
            })
        };
        run(contract(resident, home, ContractKind::Lease));
        run(contract(shareholder, home, ContractKind::Shareholding));
        run(contract(neighbour, neighbours_home, ContractKind::Lease));
        let (contractor, other_contractor) = (id(), id());
        for c in [contractor, other_contractor] {
            run(RegisterCommand::RegisterContractorCompany(
                ContractorCompanyRegistered {
                    contractor_company_id: c,
                    name: "Huolto Oy".into(),
                    business_id: "1572860-0".into(),
                    phone: None,
                },
            ));
        }
        let staff = |person, role, scope, company| {
            RegisterCommand::AssignStaff(StaffAssigned {
                assignment_id: id(),
                person_id: person,
                role,
                scope,
                contractor_company_id: company,
            })
        };
        run(staff(
            manager,
            StaffRole::PropertyManager,
            StaffScope::Property {
                property_id: property,
            },
            None,
        ));
        run(staff(
            service,
            StaffRole::CustomerService,
            StaffScope::Organisation,
            None,
        ));
        run(staff(
            worker,
            StaffRole::ContractorWorker,
            StaffScope::Organisation,
            Some(contractor),
        ));
        run(staff(
            other_worker,
            StaffRole::ContractorWorker,
            StaffScope::Organisation,
            Some(other_contractor),
        ));
        run(staff(
            auditor,
            StaffRole::Auditor,
            StaffScope::Organisation,
            None,
        ));
        World {
            register,
            property,
            building,
            home,
            neighbours_home,
            resident,
            shareholder,
            neighbour,
            manager,
            service,
            contractor,
            worker,
            other_worker,
            auditor,
        }
    }

    fn principal(&self, person: Uuid) -> Principal {
        self.register
            .principal(person, date(10))
            .expect("person in register")
    }

    fn report_command(&self, reporter: Uuid) -> ReportFault {
        ReportFault {
            fault_report_id: id(),
            property_id: self.property,
            location: FaultLocation::Apartment {
                apartment_id: self.home,
            },
            category: FaultCategory::Plumbing,
            description: "The kitchen tap drips".into(),
            permission_to_enter: true,
            pets: PetsOnPremises {
                present: false,
                details: None,
            },
            preferred_visit: None,
            contact_phone: Some("+358 40 123 4567".into()),
            reporter_id: reporter,
        }
    }

    fn file(
        &self,
        actor: Uuid,
        channel: Channel,
        command: ReportFault,
    ) -> Result<fault_report::Decision, Rejection> {
        let principal = self.principal(actor);
        let ticket = TicketSeries::default().issue("VK", command.fault_report_id, at(10, 9));
        fault_report::report(
            command,
            &ticket,
            &Context {
                principal: &principal,
                register: &self.register,
                occurred_at: at(10, 9),
                channel,
            },
        )
    }
}

/// A report's history, folded as the command side folds it.
struct History {
    events: Vec<(DomainEvent, DateTime<Utc>)>,
}

impl History {
    fn reported(world: &World) -> Self {
        let decision = world
            .file(
                world.resident,
                Channel::Portal,
                world.report_command(world.resident),
            )
            .unwrap();
        History {
            events: decision
                .events
                .into_iter()
                .map(|e| (e, at(10, 9)))
                .collect(),
        }
    }

    fn state(&self) -> FaultReport {
        FaultReport::fold(self.events.iter().map(|(e, t)| (e, *t))).unwrap()
    }

    fn when(
        &self,
        world: &World,
        actor: Uuid,
        at: DateTime<Utc>,
        channel: Channel,
        command: C,
    ) -> Result<fault_report::Decision, Rejection> {
        let principal = world.principal(actor);
        fault_report::decide(
            &self.state(),
            command,
            &Context {
                principal: &principal,
                register: &world.register,
                occurred_at: at,
                channel,
            },
        )
    }

    /// Applies a step that must succeed.
    fn then_ok(mut self, world: &World, actor: Uuid, at: DateTime<Utc>, command: C) -> Self {
        let channel = if actor == world.worker {
            Channel::Field
        } else {
            Channel::Portal
        };
        let decision = self
            .when(world, actor, at, channel, command)
            .expect("step allowed");
        self.events
            .extend(decision.events.into_iter().map(|e| (e, at)));
        self
    }

    fn assigned(world: &World) -> Self {
        History::reported(world)
            .then_ok(world, world.manager, at(10, 10), C::Acknowledge)
            .then_ok(
                world,
                world.manager,
                at(10, 11),
                C::Assign {
                    contractor_company_id: world.contractor,
                    promised_by: date(12),
                },
            )
    }

    fn in_progress(world: &World) -> Self {
        History::assigned(world).then_ok(world, world.worker, at(11, 8), C::StartWork)
    }

    fn resolved(world: &World) -> Self {
        History::in_progress(world).then_ok(
            world,
            world.worker,
            at(11, 10),
            C::Resolve {
                work_summary: "Replaced the washer".into(),
            },
        )
    }
}

fn rule(result: Result<fault_report::Decision, Rejection>) -> (RejectionKind, &'static str) {
    let rejection = result.expect_err("step must be refused");
    (rejection.kind, rejection.rule)
}

#[test]
fn a_resident_reports_a_fault_in_their_home() {
    let world = World::new();
    let decision = world
        .file(
            world.resident,
            Channel::Portal,
            world.report_command(world.resident),
        )
        .unwrap();
    assert_eq!(decision.role, ActorRole::Resident);
    let [DomainEvent::FaultReported(e)] = &decision.events[..] else {
        panic!("{:?}", decision.events)
    };
    assert_eq!(e.ticket, "VK-2026-000001");
    assert_eq!(e.reporter_id, world.resident);
}

#[test]
fn a_shareholder_reports_as_shareholder() {
    let world = World::new();
    let decision = world
        .file(
            world.shareholder,
            Channel::Portal,
            world.report_command(world.shareholder),
        )
        .unwrap();
    assert_eq!(decision.role, ActorRole::Shareholder);
}

#[test]
fn nobody_reports_in_someone_elses_apartment() {
    let world = World::new();
    let result = world.file(
        world.neighbour,
        Channel::Portal,
        world.report_command(world.neighbour),
    );
    assert_eq!(
        rule(result),
        (
            RejectionKind::Forbidden,
            "fault_report.report_own_home_only"
        )
    );
}

#[test]
fn a_resident_reports_a_common_area_fault_of_their_property() {
    let world = World::new();
    let mut command = world.report_command(world.neighbour);
    command.location = FaultLocation::CommonArea {
        building_id: Some(world.building),
        area: "sauna".into(),
    };
    assert_eq!(
        world
            .file(world.neighbour, Channel::Portal, command)
            .unwrap()
            .role,
        ActorRole::Resident
    );
}

#[test]
fn customer_service_files_on_a_residents_behalf_by_phone() {
    let world = World::new();
    let decision = world
        .file(
            world.service,
            Channel::Phone,
            world.report_command(world.resident),
        )
        .unwrap();
    assert_eq!(decision.role, ActorRole::CustomerService);
    let DomainEvent::FaultReported(e) = &decision.events[0] else {
        panic!()
    };
    assert_eq!(
        e.reporter_id, world.resident,
        "the report belongs to the resident"
    );
}

#[test]
fn on_behalf_reports_need_a_contact_channel_and_an_occupant() {
    let world = World::new();
    let portal = world.file(
        world.service,
        Channel::Portal,
        world.report_command(world.resident),
    );
    assert_eq!(
        rule(portal),
        (
            RejectionKind::InvalidInput,
            "fault_report.on_behalf_channel"
        )
    );
    let stranger = world.file(
        world.service,
        Channel::Phone,
        world.report_command(world.neighbour),
    );
    assert_eq!(
        rule(stranger),
        (
            RejectionKind::InvalidInput,
            "fault_report.reporter_not_occupant"
        )
    );
    let by_resident = world.file(
        world.shareholder,
        Channel::Portal,
        world.report_command(world.resident),
    );
    assert_eq!(
        rule(by_resident),
        (
            RejectionKind::Forbidden,
            "fault_report.on_behalf_requires_office"
        )
    );
}

#[test]
fn bad_input_names_the_field() {
    let world = World::new();
    let mut blank = world.report_command(world.resident);
    blank.description = "   ".into();
    let err = world
        .file(world.resident, Channel::Portal, blank)
        .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("text.required", Some("description"))
    );
    let mut phone = world.report_command(world.resident);
    phone.contact_phone = Some("call me".into());
    let err = world
        .file(world.resident, Channel::Portal, phone)
        .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("fault_report.phone_format", Some("contact_phone"))
    );
    let mut window = world.report_command(world.resident);
    window.preferred_visit = Some(TimeWindow {
        starts_at: at(12, 10),
        ends_at: at(12, 9),
    });
    let err = world
        .file(world.resident, Channel::Portal, window)
        .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("time_window.ends_after_start", Some("preferred_visit"))
    );
    let mut elsewhere = world.report_command(world.resident);
    elsewhere.location = FaultLocation::Apartment { apartment_id: id() };
    assert_eq!(
        rule(world.file(world.resident, Channel::Portal, elsewhere)),
        (RejectionKind::NotFound, "fault_report.apartment_unknown")
    );
}

#[test]
fn the_whole_lifecycle_runs_and_is_confirmed() {
    let world = World::new();
    let history = History::resolved(&world).then_ok(&world, world.resident, at(12, 9), C::Confirm);
    let state = history.state();
    assert_eq!(state.status, FaultStatus::Confirmed);
    assert_eq!(state.resolved_at, Some(at(11, 10)));
    let statuses: Vec<FaultStatus> = history
        .events
        .iter()
        .filter_map(|(e, _)| FaultStatus::after(e))
        .collect();
    assert_eq!(
        statuses,
        [
            FaultStatus::Reported,
            FaultStatus::Acknowledged,
            FaultStatus::Assigned,
            FaultStatus::InProgress,
            FaultStatus::Resolved,
            FaultStatus::Confirmed
        ]
    );
}

#[test]
fn only_the_office_acknowledges_and_only_once() {
    let world = World::new();
    let history = History::reported(&world);
    assert_eq!(
        rule(history.when(
            &world,
            world.resident,
            at(10, 10),
            Channel::Portal,
            C::Acknowledge
        )),
        (RejectionKind::Forbidden, "fault_report.office_only")
    );
    let history = history.then_ok(&world, world.service, at(10, 10), C::Acknowledge);
    assert_eq!(
        rule(history.when(
            &world,
            world.manager,
            at(10, 11),
            Channel::Portal,
            C::Acknowledge
        )),
        (
            RejectionKind::InvalidTransition,
            "fault_report.acknowledge_once"
        )
    );
}

#[test]
fn assignment_needs_acknowledgement_a_known_contractor_and_a_future_promise() {
    let world = World::new();
    let history = History::reported(&world);
    let assign = |c, d| C::Assign {
        contractor_company_id: c,
        promised_by: d,
    };
    assert_eq!(
        rule(history.when(
            &world,
            world.manager,
            at(10, 10),
            Channel::Portal,
            assign(world.contractor, date(12))
        )),
        (
            RejectionKind::InvalidTransition,
            "fault_report.assign_before_acknowledge"
        )
    );
    let history = history.then_ok(&world, world.manager, at(10, 10), C::Acknowledge);
    assert_eq!(
        rule(history.when(
            &world,
            world.manager,
            at(10, 11),
            Channel::Portal,
            assign(id(), date(12))
        )),
        (RejectionKind::NotFound, "fault_report.contractor_unknown")
    );
    let past = history
        .when(
            &world,
            world.manager,
            at(10, 11),
            Channel::Portal,
            assign(world.contractor, date(9)),
        )
        .unwrap_err();
    assert_eq!(
        (past.rule, past.field),
        ("fault_report.promise_in_past", Some("promised_by"))
    );
}

#[test]
fn a_contractor_sees_and_works_only_reports_assigned_to_its_company() {
    let world = World::new();
    let reported = History::reported(&world);
    assert_eq!(
        rule(reported.when(
            &world,
            world.worker,
            at(10, 10),
            Channel::Field,
            C::StartWork
        )),
        (RejectionKind::NotFound, "fault_report.not_visible")
    );
    let assigned = History::assigned(&world);
    assert_eq!(
        rule(assigned.when(
            &world,
            world.other_worker,
            at(11, 8),
            Channel::Field,
            C::StartWork
        )),
        (RejectionKind::NotFound, "fault_report.not_visible")
    );
    let visit = TimeWindow {
        starts_at: at(11, 8),
        ends_at: at(11, 10),
    };
    let decision = assigned
        .when(
            &world,
            world.worker,
            at(10, 12),
            Channel::Field,
            C::ScheduleVisit { visit },
        )
        .unwrap();
    assert_eq!(decision.role, ActorRole::Contractor);
}

#[test]
fn residents_do_not_do_the_contractors_work() {
    let world = World::new();
    let history = History::assigned(&world);
    assert_eq!(
        rule(history.when(
            &world,
            world.resident,
            at(11, 8),
            Channel::Portal,
            C::StartWork
        )),
        (
            RejectionKind::Forbidden,
            "fault_report.contractor_or_office_only"
        )
    );
}

#[test]
fn resolving_needs_work_started_and_a_summary() {
    let world = World::new();
    let assigned = History::assigned(&world);
    let resolve = |s: &str| C::Resolve {
        work_summary: s.into(),
    };
    assert_eq!(
        rule(assigned.when(
            &world,
            world.worker,
            at(11, 9),
            Channel::Field,
            resolve("done")
        )),
        (
            RejectionKind::InvalidTransition,
            "fault_report.resolve_before_work"
        )
    );
    let started = History::in_progress(&world);
    let blank = started
        .when(&world, world.worker, at(11, 9), Channel::Field, resolve(""))
        .unwrap_err();
    assert_eq!(blank.field, Some("work_summary"));
    assert_eq!(
        rule(started.when(
            &world,
            world.worker,
            at(11, 9),
            Channel::Field,
            C::StartWork
        )),
        (RejectionKind::InvalidTransition, "fault_report.start_once")
    );
}

#[test]
fn the_reporter_cancels_before_work_starts_but_not_after() {
    let world = World::new();
    let cancel = || C::Cancel {
        reason: "Fixed it myself".into(),
    };
    let assigned = History::assigned(&world);
    let decision = assigned
        .when(
            &world,
            world.resident,
            at(10, 12),
            Channel::Portal,
            cancel(),
        )
        .unwrap();
    assert!(matches!(
        decision.events[0],
        DomainEvent::FaultReportCancelled(_)
    ));
    assert_eq!(
        rule(assigned.when(
            &world,
            world.shareholder,
            at(10, 12),
            Channel::Portal,
            cancel()
        )),
        (RejectionKind::Forbidden, "fault_report.cancel_by_reporter")
    );
    let started = History::in_progress(&world);
    assert_eq!(
        rule(started.when(&world, world.resident, at(11, 9), Channel::Portal, cancel())),
        (
            RejectionKind::InvalidTransition,
            "fault_report.cancel_after_work_started"
        )
    );
}

#[test]
fn reopening_is_possible_only_within_the_window() {
    let world = World::new();
    let reopen = || C::Reopen {
        reason: "Drips again".into(),
    };
    let resolved = History::resolved(&world);
    let within = resolved.when(
        &world,
        world.resident,
        at(11, 10) + Duration::days(14),
        Channel::Portal,
        reopen(),
    );
    assert!(within.is_ok());
    let late = resolved.when(
        &world,
        world.resident,
        at(11, 11) + Duration::days(14),
        Channel::Portal,
        reopen(),
    );
    assert_eq!(
        rule(late),
        (
            RejectionKind::InvalidTransition,
            "fault_report.reopen_window_passed"
        )
    );
    let unresolved = History::in_progress(&world);
    assert_eq!(
        rule(unresolved.when(
            &world,
            world.resident,
            at(11, 12),
            Channel::Portal,
            reopen()
        )),
        (
            RejectionKind::InvalidTransition,
            "fault_report.reopen_unresolved"
        )
    );
}

#[test]
fn a_reopened_report_goes_back_to_the_contractor() {
    let world = World::new();
    let reopened = History::resolved(&world).then_ok(
        &world,
        world.resident,
        at(12, 9),
        C::Reopen {
            reason: "Drips again".into(),
        },
    );
    assert_eq!(reopened.state().status, FaultStatus::Reopened);
    let again = reopened.then_ok(&world, world.worker, at(12, 12), C::StartWork);
    assert_eq!(again.state().status, FaultStatus::InProgress);
}

#[test]
fn confirmation_is_the_residents_or_the_office_on_their_behalf() {
    let world = World::new();
    let resolved = History::resolved(&world);
    assert_eq!(
        rule(resolved.when(&world, world.worker, at(12, 9), Channel::Field, C::Confirm)),
        (RejectionKind::Forbidden, "fault_report.resident_only")
    );
    assert_eq!(
        rule(resolved.when(
            &world,
            world.service,
            at(12, 9),
            Channel::Portal,
            C::Confirm
        )),
        (
            RejectionKind::InvalidInput,
            "fault_report.on_behalf_channel"
        )
    );
    assert!(
        resolved
            .when(&world, world.service, at(12, 9), Channel::Phone, C::Confirm)
            .is_ok()
    );
    assert_eq!(
        rule(History::assigned(&world).when(
            &world,
            world.resident,
            at(12, 9),
            Channel::Portal,
            C::Confirm
        )),
        (
            RejectionKind::InvalidTransition,
            "fault_report.confirm_unresolved"
        )
    );
}

#[test]
fn closed_reports_take_no_more_steps_or_notes() {
    let world = World::new();
    let closed = History::resolved(&world).then_ok(&world, world.resident, at(12, 9), C::Confirm);
    let note = C::AddNote {
        note_id: id(),
        text: "thanks".into(),
        visibility: NoteVisibility::Shared,
    };
    assert_eq!(
        rule(closed.when(&world, world.resident, at(12, 10), Channel::Portal, note)),
        (RejectionKind::InvalidTransition, "fault_report.closed")
    );
}

#[test]
fn residents_notes_are_always_shared() {
    let world = World::new();
    let history = History::reported(&world);
    let internal = C::AddNote {
        note_id: id(),
        text: "secret".into(),
        visibility: NoteVisibility::Internal,
    };
    let err = history
        .when(
            &world,
            world.resident,
            at(10, 10),
            Channel::Portal,
            internal.clone(),
        )
        .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("fault_report.resident_notes_shared", Some("visibility"))
    );
    assert!(
        history
            .when(&world, world.manager, at(10, 10), Channel::Portal, internal)
            .is_ok()
    );
}

#[test]
fn the_auditor_writes_nothing() {
    let world = World::new();
    let history = History::reported(&world);
    for command in [
        C::Acknowledge,
        C::StartWork,
        C::Confirm,
        C::AddNote {
            note_id: id(),
            text: "x".into(),
            visibility: NoteVisibility::Internal,
        },
    ] {
        assert_eq!(
            rule(history.when(&world, world.auditor, at(10, 10), Channel::Portal, command)),
            (RejectionKind::Forbidden, "auditor.read_only")
        );
    }
    let mut command = world.report_command(world.auditor);
    command.location = FaultLocation::CommonArea {
        building_id: None,
        area: "yard".into(),
    };
    assert_eq!(
        rule(world.file(world.auditor, Channel::Portal, command)),
        (RejectionKind::Forbidden, "auditor.read_only")
    );
}

#[test]
fn who_sees_a_report() {
    let world = World::new();
    let report = History::reported(&world).state();
    let access = fault_report::FaultReportAccess::from(&report);
    let sees = |p: Uuid| fault_report::viewer(&world.principal(p), &access);
    assert_eq!(
        sees(world.resident),
        Some(Viewer::Occupant(ActorRole::Resident))
    );
    assert_eq!(
        sees(world.shareholder),
        Some(Viewer::Occupant(ActorRole::Shareholder))
    );
    assert_eq!(
        sees(world.manager),
        Some(Viewer::Office(ActorRole::PropertyManager))
    );
    assert_eq!(sees(world.auditor), Some(Viewer::Auditor));
    assert_eq!(sees(world.neighbour), None);
    assert_eq!(sees(world.worker), None, "not assigned yet");
    let assigned = fault_report::FaultReportAccess::from(&History::assigned(&world).state());
    assert_eq!(
        fault_report::viewer(&world.principal(world.worker), &assigned),
        Some(Viewer::Contractor)
    );
    assert!(!Viewer::Occupant(ActorRole::Resident).sees_internal_notes());
}

#[test]
fn a_contract_that_ended_no_longer_gives_access() {
    let mut world = World::new();
    let contract = world
        .register
        .contracts
        .values()
        .find(|c| c.person_id == world.neighbour)
        .unwrap()
        .contract_id;
    let ended = world
        .register
        .decide(
            Actor::SYSTEM,
            None,
            RegisterCommand::EndContract(ContractEnded {
                contract_id: contract,
                ends_on: date(5),
            }),
        )
        .unwrap();
    world.register.apply(&ended);
    assert!(world.principal(world.neighbour).homes.is_empty());
    assert_eq!(
        world
            .register
            .principal(world.neighbour, date(4))
            .unwrap()
            .homes
            .len(),
        1,
        "still a resident before the end date"
    );
    let _ = world.neighbours_home;
}

impl World {
    fn run(&mut self, command: RegisterCommand) {
        let event = self
            .register
            .decide(Actor::SYSTEM, None, command)
            .expect("register command");
        self.register.apply(&event);
    }

    fn move_in(
        &mut self,
        person: Uuid,
        apartment: Uuid,
        kind: ContractKind,
        from: NaiveDate,
    ) -> Uuid {
        let contract_id = id();
        self.run(RegisterCommand::SignContract(ContractSigned {
            contract_id,
            apartment_id: apartment,
            person_id: person,
            kind,
            starts_on: from,
            ends_on: None,
        }));
        contract_id
    }

    fn new_person(&mut self) -> Uuid {
        let person_id = id();
        self.run(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: "New".into(),
            email: None,
            phone: None,
        }));
        person_id
    }
}

#[test]
fn an_auditor_who_also_rents_a_home_writes_nothing_on_others_reports() {
    let mut world = World::new();
    let (auditor, home) = (world.auditor, world.neighbours_home);
    world.move_in(auditor, home, ContractKind::Lease, date(2));
    let history = History::reported(&world);
    let note = C::AddNote {
        note_id: id(),
        text: "x".into(),
        visibility: NoteVisibility::Internal,
    };
    assert_eq!(
        rule(history.when(&world, auditor, at(10, 10), Channel::Portal, note)),
        (RejectionKind::Forbidden, "auditor.read_only")
    );
}

#[test]
fn a_new_tenant_does_not_see_the_previous_tenants_reports() {
    let mut world = World::new();
    let report = History::reported(&world).state();
    let newcomer = world.new_person();
    world.move_in(newcomer, world.home, ContractKind::Lease, date(11));
    let access = fault_report::FaultReportAccess::from(&report);
    assert_eq!(
        fault_report::viewer(
            &world.register.principal(newcomer, date(12)).unwrap(),
            &access
        ),
        None
    );
    // An occupant since before the report sees it, without the reporter's contact details.
    let sees = fault_report::viewer(&world.principal(world.shareholder), &access).unwrap();
    assert!(!sees.sees_contact_details(false));
    assert!(Viewer::Occupant(ActorRole::Resident).sees_contact_details(true));
}

#[test]
fn a_reporter_who_moved_out_reads_the_report_but_cannot_act_on_it() {
    let mut world = World::new();
    let history = History::resolved(&world);
    let contract = world
        .register
        .contracts
        .values()
        .find(|c| c.person_id == world.resident)
        .unwrap()
        .contract_id;
    // Recorded afterwards: the lease ended on the 9th, before the day the world looks at.
    world.run(RegisterCommand::EndContract(ContractEnded {
        contract_id: contract,
        ends_on: date(9),
    }));
    let access = fault_report::FaultReportAccess::from(&history.state());
    assert_eq!(
        fault_report::viewer(&world.principal(world.resident), &access),
        Some(Viewer::PastReporter)
    );
    let reopen = C::Reopen {
        reason: "Drips again".into(),
    };
    assert_eq!(
        rule(history.when(&world, world.resident, at(12, 9), Channel::Portal, reopen)),
        (RejectionKind::Forbidden, "fault_report.no_longer_occupant")
    );
}

#[test]
fn the_office_cancels_only_on_the_reporters_behalf_and_a_reopened_report_can_be_cancelled() {
    let world = World::new();
    let cancel = || C::Cancel {
        reason: "Duplicate".into(),
    };
    let reported = History::reported(&world);
    assert_eq!(
        rule(reported.when(&world, world.manager, at(10, 10), Channel::Portal, cancel())),
        (
            RejectionKind::InvalidInput,
            "fault_report.on_behalf_channel"
        )
    );
    assert!(
        reported
            .when(&world, world.service, at(10, 10), Channel::Phone, cancel())
            .is_ok()
    );
    let reopened = History::resolved(&world).then_ok(
        &world,
        world.resident,
        at(12, 9),
        C::Reopen {
            reason: "Drips again".into(),
        },
    );
    assert!(
        reopened
            .when(
                &world,
                world.resident,
                at(12, 10),
                Channel::Portal,
                cancel()
            )
            .is_ok()
    );
}

#[test]
fn reopening_clears_the_promise_until_the_report_is_assigned_again() {
    let world = World::new();
    let reopened = History::resolved(&world).then_ok(
        &world,
        world.resident,
        at(12, 9),
        C::Reopen {
            reason: "Drips again".into(),
        },
    );
    assert_eq!(reopened.state().promised_by, None);
    let reassigned = reopened.then_ok(
        &world,
        world.manager,
        at(12, 10),
        C::Assign {
            contractor_company_id: world.contractor,
            promised_by: date(14),
        },
    );
    assert_eq!(reassigned.state().promised_by, Some(date(14)));
}

#[test]
fn a_preferred_visit_must_end_in_the_future() {
    let world = World::new();
    let mut command = world.report_command(world.resident);
    command.preferred_visit = Some(TimeWindow {
        starts_at: at(9, 8),
        ends_at: at(9, 10),
    });
    let err = world
        .file(world.resident, Channel::Portal, command)
        .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("time_window.in_past", Some("preferred_visit"))
    );
}
