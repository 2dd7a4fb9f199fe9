//! Given a register and a thread's (or notice's) history, when a command comes, then these
//! events or this rule. One test per rule of message threads and bulk notices.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use talo_domain::access::Principal;
use talo_domain::bulk_notice::{self, BulkNotice, SendBulkNotice};
use talo_domain::message_thread::{
    self, Context, MessageThread, MessageThreadCommand as C, StartMessageThread, Viewer,
};
use talo_domain::register::{Register, RegisterCommand};
use talo_domain::ticket::{MESSAGE_THREAD_PREFIX, TicketSeries};
use talo_domain::{Rejection, RejectionKind};
use talo_events_schema::DomainEvent;
use talo_events_schema::bulk_notice::*;
use talo_events_schema::envelope::{Actor, ActorRole, Channel};
use talo_events_schema::message_thread::*;
use talo_events_schema::register::*;
use uuid::Uuid;

fn id() -> Uuid {
    Uuid::now_v7()
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

/// One property with buildings A (the resident's home and the neighbour's) and B (another
/// home), a second property, office staff, a contractor worker and an auditor.
struct World {
    register: Register,
    property: Uuid,
    other_property: Uuid,
    building_a: Uuid,
    building_b: Uuid,
    home: Uuid,
    neighbours_home: Uuid,
    b_home: Uuid,
    empty_home: Uuid,
    other_property_home: Uuid,
    resident: Uuid,
    shareholder: Uuid,
    neighbour: Uuid,
    b_resident: Uuid,
    elsewhere: Uuid,
    manager: Uuid,
    service: Uuid,
    other_manager: Uuid,
    worker: Uuid,
    auditor: Uuid,
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
        run(RegisterCommand::RegisterOrganisation(
            OrganisationRegistered {
                organisation_id: id(),
                name: "Isännöinti Oy".into(),
                business_id: "1572860-0".into(),
                fault_reopen_window_days: 14,
            },
        ));
        let (property, other_property) = (id(), id());
        for (p, name) in [(property, "As Oy Koivukuja"), (other_property, "As Oy Muu")] {
            run(RegisterCommand::RegisterProperty(PropertyRegistered {
                property_id: p,
                name: name.into(),
                kind: PropertyKind::HousingCooperative,
                business_id: "0737546-2".into(),
                street_address: "Koivukuja 3".into(),
                postal_code: "00100".into(),
                city: "Helsinki".into(),
            }));
        }
        let (building_a, building_b, other_building) = (id(), id(), id());
        for (p, b, code) in [
            (property, building_a, "A"),
            (property, building_b, "B"),
            (other_property, other_building, "A"),
        ] {
            run(RegisterCommand::AddBuilding(BuildingAdded {
                property_id: p,
                building_id: b,
                code: code.into(),
            }));
        }
        let (home, neighbours_home, b_home, empty_home, other_property_home) =
            (id(), id(), id(), id(), id());
        for (p, b, apartment, code) in [
            (property, building_a, home, "A 1"),
            (property, building_a, neighbours_home, "A 2"),
            (property, building_a, empty_home, "A 3"),
            (property, building_b, b_home, "B 4"),
            (other_property, other_building, other_property_home, "A 1"),
        ] {
            run(RegisterCommand::AddApartment(ApartmentAdded {
                property_id: p,
                building_id: b,
                apartment_id: apartment,
                code: code.into(),
                rooms: "2h+k".into(),
                floor_area_dm2: 5400,
            }));
        }
        let people: Vec<Uuid> = (0..11).map(|_| id()).collect();
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
            b_resident,
            elsewhere,
            manager,
            service,
            other_manager,
            worker,
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
        run(contract(b_resident, b_home, ContractKind::Lease));
        run(contract(
            elsewhere,
            other_property_home,
            ContractKind::Shareholding,
        ));
        let contractor = id();
        run(RegisterCommand::RegisterContractorCompany(
            ContractorCompanyRegistered {
                contractor_company_id: contractor,
                name: "Huolto Oy".into(),
                business_id: "1572860-0".into(),
                phone: None,
            },
        ));
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
            other_manager,
            StaffRole::PropertyManager,
            StaffScope::Property {
                property_id: other_property,
            },
            None,
        ));
        run(staff(
            worker,
            StaffRole::ContractorWorker,
            StaffScope::Organisation,
            Some(contractor),
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
            other_property,
            building_a,
            building_b,
            home,
            neighbours_home,
            b_home,
            empty_home,
            other_property_home,
            resident,
            shareholder,
            neighbour,
            b_resident,
            elsewhere,
            manager,
            service,
            other_manager,
            worker,
            auditor,
        }
    }

    fn principal_on(&self, person: Uuid, day: NaiveDate) -> Principal {
        self.register
            .principal(person, day)
            .expect("person in register")
    }

    fn context<'a>(
        &'a self,
        principal: &'a Principal,
        occurred_at: DateTime<Utc>,
        channel: Channel,
    ) -> Context<'a> {
        Context {
            principal,
            register: &self.register,
            occurred_at,
            channel,
        }
    }

    fn start_command(&self, resident: Uuid, opened_by: MessageSide) -> StartMessageThread {
        StartMessageThread {
            message_thread_id: id(),
            apartment_id: self.home,
            category: MessageCategory::Billing,
            subject: "Vastikelasku".into(),
            message_id: id(),
            body: "Onko maaliskuun vastike jo maksettu?".into(),
            resident_id: resident,
            opened_by,
        }
    }

    fn start(
        &self,
        actor: Uuid,
        channel: Channel,
        command: StartMessageThread,
    ) -> Result<message_thread::Decision, Rejection> {
        let principal = self.principal_on(actor, date(10));
        let ticket = TicketSeries::default().issue(
            MESSAGE_THREAD_PREFIX,
            command.message_thread_id,
            at(10, 9),
        );
        message_thread::start(
            command,
            &ticket,
            &self.context(&principal, at(10, 9), channel),
        )
    }

    /// Removes a person's contracts from the register, as if they had moved out on day 12.
    fn move_out(&mut self, person: Uuid) {
        let contracts: Vec<Uuid> = self
            .register
            .contracts
            .values()
            .filter(|c| c.person_id == person)
            .map(|c| c.contract_id)
            .collect();
        for contract_id in contracts {
            let event = self
                .register
                .decide(
                    Actor::SYSTEM,
                    None,
                    RegisterCommand::EndContract(ContractEnded {
                        contract_id,
                        ends_on: date(12),
                    }),
                )
                .unwrap();
            self.register.apply(&event);
        }
    }

    /// Moves a new person into the resident's home from `day`.
    fn move_in(&mut self, day: u32) -> Uuid {
        let person = id();
        for cmd in [
            RegisterCommand::RegisterPerson(PersonRegistered {
                person_id: person,
                name: "Uusi Asukas".into(),
                email: None,
                phone: None,
            }),
            RegisterCommand::SignContract(ContractSigned {
                contract_id: id(),
                apartment_id: self.home,
                person_id: person,
                kind: ContractKind::Lease,
                starts_on: date(day),
                ends_on: None,
            }),
        ] {
            let event = self.register.decide(Actor::SYSTEM, None, cmd).unwrap();
            self.register.apply(&event);
        }
        person
    }
}

/// A thread's history, folded as the command side folds it.
struct Thread {
    events: Vec<(DomainEvent, DateTime<Utc>)>,
}

impl Thread {
    /// The resident started a thread about their home on day 10.
    fn started(world: &World) -> Self {
        let decision = world
            .start(
                world.resident,
                Channel::Portal,
                world.start_command(world.resident, MessageSide::Resident),
            )
            .unwrap();
        Thread {
            events: decision
                .events
                .into_iter()
                .map(|e| (e, at(10, 9)))
                .collect(),
        }
    }

    fn state(&self) -> MessageThread {
        MessageThread::fold(self.events.iter().map(|(e, t)| (e, *t))).unwrap()
    }

    fn message_ids(&self) -> Vec<Uuid> {
        self.state().messages.iter().map(|(m, _)| *m).collect()
    }

    fn decide_on(
        &self,
        world: &World,
        actor: Uuid,
        channel: Channel,
        day: u32,
        command: C,
    ) -> Result<message_thread::Decision, Rejection> {
        let principal = world.principal_on(actor, date(day));
        message_thread::decide(
            &self.state(),
            command,
            &world.context(&principal, at(day, 12), channel),
        )
    }

    fn decide(
        &self,
        world: &World,
        actor: Uuid,
        command: C,
    ) -> Result<Vec<DomainEvent>, Rejection> {
        self.decide_on(world, actor, Channel::Portal, 10, command)
            .map(|d| d.events)
    }

    /// Decides and, if accepted, appends.
    fn then(&mut self, world: &World, actor: Uuid, command: C) -> Vec<DomainEvent> {
        let events = self.decide(world, actor, command).expect("accepted");
        self.events
            .extend(events.iter().cloned().map(|e| (e, at(10, 12))));
        events
    }
}

fn message(body: &str) -> C {
    C::PostMessage {
        message_id: id(),
        body: body.into(),
        on_behalf_of: None,
    }
}

fn statuses(events: &[DomainEvent]) -> Vec<(MessageThreadStatus, StatusChangeCause)> {
    events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::MessageThreadStatusChanged(s) => Some((s.status, s.cause)),
            _ => None,
        })
        .collect()
}

fn assert_rule(result: Result<impl std::fmt::Debug, Rejection>, kind: RejectionKind, rule: &str) {
    let rejection = result.expect_err("refused");
    assert_eq!(
        (rejection.kind, rejection.rule),
        (kind, rule),
        "{rejection:?}"
    );
}

#[test]
fn a_resident_starts_a_thread_about_their_home_with_its_first_message() {
    let world = World::new();
    let command = world.start_command(world.resident, MessageSide::Resident);
    let decision = world
        .start(world.resident, Channel::Portal, command.clone())
        .unwrap();
    assert_eq!(decision.role, ActorRole::Resident);
    let [
        DomainEvent::MessageThreadStarted(started),
        DomainEvent::MessagePosted(first),
    ] = &decision.events[..]
    else {
        panic!("{:?}", decision.events)
    };
    assert_eq!(started.ticket, "YT-2026-000001");
    assert_eq!(
        (started.property_id, started.resident_id),
        (world.property, world.resident)
    );
    assert_eq!(
        (first.from, first.sender_id, first.message_id),
        (MessageSide::Resident, world.resident, command.message_id)
    );
    // The shareholder of the same apartment starts one as a shareholder.
    let owner = world
        .start(
            world.shareholder,
            Channel::Portal,
            world.start_command(world.shareholder, MessageSide::Resident),
        )
        .unwrap();
    assert_eq!(owner.role, ActorRole::Shareholder);
}

#[test]
fn nobody_starts_a_thread_about_someone_elses_home() {
    let world = World::new();
    for person in [world.neighbour, world.worker] {
        assert_rule(
            world.start(
                person,
                Channel::Portal,
                world.start_command(person, MessageSide::Resident),
            ),
            RejectionKind::Forbidden,
            "message_thread.own_home_only",
        );
    }
    // Writing "on behalf of" the resident is the office's right, not a neighbour's.
    assert_rule(
        world.start(
            world.neighbour,
            Channel::Phone,
            world.start_command(world.resident, MessageSide::Resident),
        ),
        RejectionKind::Forbidden,
        "message_thread.office_only",
    );
    assert_rule(
        world.start(
            world.auditor,
            Channel::Portal,
            world.start_command(world.auditor, MessageSide::Resident),
        ),
        RejectionKind::Forbidden,
        "auditor.read_only",
    );
}

#[test]
fn the_office_records_a_contact_on_a_residents_behalf_only_with_its_channel() {
    let world = World::new();
    let on_behalf = world.start_command(world.resident, MessageSide::Resident);
    assert_rule(
        world.start(world.service, Channel::Portal, on_behalf.clone()),
        RejectionKind::InvalidInput,
        "message_thread.on_behalf_channel",
    );
    let decision = world
        .start(world.service, Channel::Phone, on_behalf)
        .unwrap();
    assert_eq!(decision.role, ActorRole::CustomerService);
    let DomainEvent::MessagePosted(first) = &decision.events[1] else {
        panic!("{:?}", decision.events)
    };
    assert_eq!(
        (first.from, first.sender_id),
        (MessageSide::Resident, world.resident),
        "the message is the resident's"
    );
    assert!(
        statuses(&decision.events).is_empty(),
        "a resident's contact is new"
    );
    // Only for someone who lives there; and only the property's office.
    assert_rule(
        world.start(
            world.service,
            Channel::Phone,
            world.start_command(world.neighbour, MessageSide::Resident),
        ),
        RejectionKind::InvalidInput,
        "message_thread.resident_not_occupant",
    );
    assert_rule(
        world.start(
            world.other_manager,
            Channel::Phone,
            world.start_command(world.resident, MessageSide::Resident),
        ),
        RejectionKind::Forbidden,
        "message_thread.office_only",
    );
}

#[test]
fn a_thread_the_office_opens_waits_for_the_resident() {
    let world = World::new();
    let decision = world
        .start(
            world.manager,
            Channel::Portal,
            world.start_command(world.resident, MessageSide::Staff),
        )
        .unwrap();
    let DomainEvent::MessagePosted(first) = &decision.events[1] else {
        panic!("{:?}", decision.events)
    };
    assert_eq!(
        (first.from, first.sender_id),
        (MessageSide::Staff, world.manager)
    );
    assert_eq!(
        statuses(&decision.events),
        [(
            MessageThreadStatus::WaitingForResident,
            StatusChangeCause::StaffMessage
        )]
    );
}

#[test]
fn blank_or_overlong_text_is_refused_naming_the_field() {
    let world = World::new();
    let mut command = world.start_command(world.resident, MessageSide::Resident);
    command.subject = " ".into();
    let refused = world
        .start(world.resident, Channel::Portal, command)
        .unwrap_err();
    assert_eq!(
        (refused.rule, refused.field),
        ("text.required", Some("subject"))
    );
    let mut command = world.start_command(world.resident, MessageSide::Resident);
    command.body = "x".repeat(message_thread::MAX_BODY + 1);
    let refused = world
        .start(world.resident, Channel::Portal, command)
        .unwrap_err();
    assert_eq!(
        (refused.rule, refused.field),
        ("text.too_long", Some("body"))
    );
    let mut command = world.start_command(world.resident, MessageSide::Resident);
    command.apartment_id = id();
    assert_rule(
        world.start(world.resident, Channel::Portal, command),
        RejectionKind::NotFound,
        "message_thread.apartment_unknown",
    );
}

#[test]
fn a_staff_reply_waits_for_the_resident_and_the_residents_answer_puts_it_back_in_progress() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    let reply = thread.then(&world, world.service, message("Kyllä, maksu on kirjattu."));
    let DomainEvent::MessagePosted(m) = &reply[0] else {
        panic!("{reply:?}")
    };
    assert_eq!((m.from, m.sender_id), (MessageSide::Staff, world.service));
    assert_eq!(
        statuses(&reply),
        [(
            MessageThreadStatus::WaitingForResident,
            StatusChangeCause::StaffMessage
        )]
    );
    let again = thread.then(&world, world.service, message("Lisäksi: kuitti liitteenä."));
    assert!(statuses(&again).is_empty(), "already waiting");
    let answer = thread.then(&world, world.resident, message("Kiitos!"));
    assert_eq!(
        statuses(&answer),
        [(
            MessageThreadStatus::InProgress,
            StatusChangeCause::ResidentMessage
        )]
    );
    // A resident writing again to a new thread leaves it new.
    let mut fresh = Thread::started(&world);
    assert!(statuses(&fresh.then(&world, world.resident, message("Lisätietoa"))).is_empty());
}

#[test]
fn a_resident_message_reopens_a_closed_thread_as_new() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    thread.then(
        &world,
        world.service,
        C::SetStatus {
            status: MessageThreadStatus::Closed,
        },
    );
    let reopened = thread.then(&world, world.shareholder, message("Asia ei ratkennut"));
    assert_eq!(
        statuses(&reopened),
        [(MessageThreadStatus::New, StatusChangeCause::ResidentMessage)]
    );
    assert_eq!(thread.state().status, MessageThreadStatus::New);
}

#[test]
fn the_office_does_not_write_to_a_closed_thread_without_reopening_it() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    thread.then(
        &world,
        world.service,
        C::SetStatus {
            status: MessageThreadStatus::Closed,
        },
    );
    assert_rule(
        thread.decide(&world, world.service, message("Vielä yksi asia")),
        RejectionKind::InvalidTransition,
        "message_thread.closed",
    );
    thread.then(
        &world,
        world.service,
        C::SetStatus {
            status: MessageThreadStatus::InProgress,
        },
    );
    thread.then(&world, world.service, message("Vielä yksi asia"));
}

#[test]
fn statuses_are_set_by_the_office_never_back_to_new_and_never_to_the_same() {
    let world = World::new();
    let thread = Thread::started(&world);
    let set = |status| C::SetStatus { status };
    assert_rule(
        thread.decide(&world, world.resident, set(MessageThreadStatus::Closed)),
        RejectionKind::Forbidden,
        "message_thread.office_only",
    );
    assert_rule(
        thread.decide(&world, world.service, set(MessageThreadStatus::New)),
        RejectionKind::InvalidInput,
        "message_thread.status_new_by_message",
    );
    let mut thread = thread;
    thread.then(&world, world.manager, set(MessageThreadStatus::InProgress));
    assert_rule(
        thread.decide(&world, world.service, set(MessageThreadStatus::InProgress)),
        RejectionKind::InvalidTransition,
        "message_thread.status_unchanged",
    );
}

#[test]
fn internal_notes_are_the_offices() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    let note = |text: &str| C::AddNote {
        note_id: id(),
        text: text.into(),
    };
    assert_rule(
        thread.decide(&world, world.resident, note("x")),
        RejectionKind::Forbidden,
        "message_thread.office_only",
    );
    let events = thread.then(&world, world.service, note("Tarkistettu reskontrasta"));
    assert!(matches!(
        events[..],
        [DomainEvent::MessageThreadNoteAdded(_)]
    ));
    assert!(statuses(&events).is_empty(), "a note answers nobody");
}

#[test]
fn a_thread_is_assigned_to_office_staff_of_its_property() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    let assign = |handler_id| C::Assign { handler_id };
    assert_rule(
        thread.decide(&world, world.resident, assign(world.service)),
        RejectionKind::Forbidden,
        "message_thread.office_only",
    );
    for not_office in [world.other_manager, world.worker, world.resident, id()] {
        assert_rule(
            thread.decide(&world, world.service, assign(not_office)),
            RejectionKind::InvalidInput,
            "message_thread.handler_not_office",
        );
    }
    thread.then(&world, world.service, assign(world.manager));
    assert_eq!(thread.state().handler_id, Some(world.manager));
    assert_rule(
        thread.decide(&world, world.service, assign(world.manager)),
        RejectionKind::InvalidTransition,
        "message_thread.already_assigned",
    );
    thread.then(&world, world.manager, assign(world.service));
}

#[test]
fn who_sees_a_thread() {
    let mut world = World::new();
    let thread = Thread::started(&world);
    let access = thread.state().access();
    let viewer = |world: &World, person, day| {
        message_thread::viewer(&world.principal_on(person, date(day)), &access)
    };
    assert_eq!(
        viewer(&world, world.resident, 10),
        Some(Viewer::Resident(ActorRole::Resident))
    );
    assert_eq!(
        viewer(&world, world.shareholder, 10),
        Some(Viewer::Resident(ActorRole::Shareholder)),
        "the apartment's other occupant takes part"
    );
    assert_eq!(
        viewer(&world, world.service, 10),
        Some(Viewer::Office(ActorRole::CustomerService))
    );
    assert_eq!(viewer(&world, world.auditor, 10), Some(Viewer::Auditor));
    for outsider in [
        world.neighbour,
        world.b_resident,
        world.elsewhere,
        world.other_manager,
        world.worker,
    ] {
        assert_eq!(viewer(&world, outsider, 10), None);
    }
    // A tenant who moves in after the thread started does not see it.
    let newcomer = world.move_in(15);
    assert_eq!(viewer(&world, newcomer, 16), None);
    // The resident who moved out keeps reading their own thread; the co-occupant who did
    // not start it loses it with the contract.
    world.move_out(world.resident);
    world.move_out(world.shareholder);
    assert_eq!(
        viewer(&world, world.resident, 20),
        Some(Viewer::FormerResident)
    );
    assert_eq!(viewer(&world, world.shareholder, 20), None);
}

#[test]
fn a_former_resident_reads_but_no_longer_writes() {
    let mut world = World::new();
    let mut thread = Thread::started(&world);
    thread.then(&world, world.service, message("Vastaus"));
    world.move_out(world.resident);
    assert_rule(
        thread.decide_on(&world, world.resident, Channel::Portal, 20, message("Hei?")),
        RejectionKind::Forbidden,
        "message_thread.no_longer_occupant",
    );
    let read = thread
        .decide_on(
            &world,
            world.resident,
            Channel::Portal,
            20,
            C::MarkRead {
                up_to_message_id: None,
            },
        )
        .unwrap();
    assert_eq!(read.events.len(), 1, "their receipt still counts");
}

#[test]
fn outsiders_get_not_found_and_auditors_change_nothing() {
    let world = World::new();
    let thread = Thread::started(&world);
    for outsider in [world.neighbour, world.worker, world.other_manager] {
        assert_rule(
            thread.decide(&world, outsider, message("x")),
            RejectionKind::NotFound,
            "message_thread.not_visible",
        );
    }
    assert_rule(
        thread.decide(
            &world,
            world.auditor,
            C::MarkRead {
                up_to_message_id: None,
            },
        ),
        RejectionKind::Forbidden,
        "auditor.read_only",
    );
}

#[test]
fn the_office_records_a_residents_later_call_on_the_thread() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    thread.then(
        &world,
        world.service,
        message("Tarvitsemme laskun numeron."),
    );
    let call = |sender| C::PostMessage {
        message_id: id(),
        body: "Soitti: laskun numero 12345".into(),
        on_behalf_of: Some(sender),
    };
    assert_rule(
        thread.decide(&world, world.service, call(world.resident)),
        RejectionKind::InvalidInput,
        "message_thread.on_behalf_channel",
    );
    assert_rule(
        thread.decide_on(
            &world,
            world.service,
            Channel::Phone,
            10,
            call(world.neighbour),
        ),
        RejectionKind::InvalidInput,
        "message_thread.sender_not_resident",
    );
    assert_rule(
        thread.decide(&world, world.resident, call(world.shareholder)),
        RejectionKind::Forbidden,
        "message_thread.on_behalf_requires_office",
    );
    let recorded = thread
        .decide_on(
            &world,
            world.service,
            Channel::Phone,
            10,
            call(world.shareholder),
        )
        .unwrap();
    let DomainEvent::MessagePosted(m) = &recorded.events[0] else {
        panic!("{:?}", recorded.events)
    };
    assert_eq!(
        (m.from, m.sender_id),
        (MessageSide::Resident, world.shareholder)
    );
    assert_eq!(recorded.role, ActorRole::CustomerService);
    assert_eq!(
        statuses(&recorded.events),
        [(
            MessageThreadStatus::InProgress,
            StatusChangeCause::ResidentMessage
        )]
    );
}

#[test]
fn marking_read_records_only_what_the_other_side_wrote_and_was_not_yet_read() {
    let world = World::new();
    let mut thread = Thread::started(&world);
    let read = |up_to_message_id| C::MarkRead { up_to_message_id };
    // The resident reading their own message tells nobody anything.
    assert!(
        thread
            .decide(&world, world.resident, read(None))
            .unwrap()
            .is_empty()
    );
    let events = thread.then(&world, world.service, read(None));
    let [DomainEvent::MessageThreadRead(r)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(r.reader_side, MessageSide::Staff);
    assert_eq!(r.up_to_message_id, thread.message_ids()[0]);
    assert!(
        thread
            .decide(&world, world.manager, read(None))
            .unwrap()
            .is_empty(),
        "the office side has read it already, whoever of it reads again"
    );
    thread.then(&world, world.service, message("Vastaus 1"));
    thread.then(&world, world.service, message("Vastaus 2"));
    let ids = thread.message_ids();
    let first_reply = thread.then(&world, world.resident, read(Some(ids[1])));
    let [DomainEvent::MessageThreadRead(r)] = &first_reply[..] else {
        panic!("{first_reply:?}")
    };
    assert_eq!(
        (r.reader_side, r.up_to_message_id),
        (MessageSide::Resident, ids[1])
    );
    assert!(
        thread
            .decide(&world, world.resident, read(Some(ids[0])))
            .unwrap()
            .is_empty(),
        "reading back does not unread"
    );
    thread.then(&world, world.shareholder, read(None));
    assert_eq!(thread.state().read_count, [3, 1]);
    assert_rule(
        thread.decide(&world, world.resident, read(Some(id()))),
        RejectionKind::NotFound,
        "message_thread.message_unknown",
    );
}

fn send(
    world: &World,
    actor: Uuid,
    target: NoticeTarget,
) -> Result<Vec<NoticeRecipient>, Rejection> {
    let principal = world.principal_on(actor, date(10));
    let decision = bulk_notice::send(
        SendBulkNotice {
            bulk_notice_id: id(),
            target,
            subject: "Vesikatko".into(),
            body: "Vesi on poikki huomenna klo 9-12.".into(),
        },
        &world.context(&principal, at(10, 9), Channel::Portal),
    )?;
    match &decision.events[..] {
        [DomainEvent::BulkNoticeSent(sent)] => Ok(sent.recipients.clone()),
        other => panic!("{other:?}"),
    }
}

fn people(recipients: &[NoticeRecipient]) -> Vec<Uuid> {
    let mut people: Vec<Uuid> = recipients.iter().map(|r| r.person_id).collect();
    people.sort();
    people.dedup();
    people
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

#[test]
fn a_notice_reaches_exactly_the_current_occupants_of_its_target() {
    let world = World::new();
    let property = send(
        &world,
        world.service,
        NoticeTarget::Property {
            property_id: world.property,
        },
    )
    .unwrap();
    assert_eq!(
        people(&property),
        sorted(vec![
            world.resident,
            world.shareholder,
            world.neighbour,
            world.b_resident
        ])
    );
    let building = send(
        &world,
        world.manager,
        NoticeTarget::Building {
            building_id: world.building_a,
        },
    )
    .unwrap();
    assert_eq!(
        people(&building),
        sorted(vec![world.resident, world.shareholder, world.neighbour]),
        "not the neighbour in building B"
    );
    let b = send(
        &world,
        world.manager,
        NoticeTarget::Building {
            building_id: world.building_b,
        },
    )
    .unwrap();
    assert_eq!(people(&b), vec![world.b_resident]);
    let listed = send(
        &world,
        world.service,
        NoticeTarget::Apartments {
            apartment_ids: vec![world.neighbours_home, world.b_home, world.neighbours_home],
        },
    )
    .unwrap();
    assert_eq!(
        people(&listed),
        sorted(vec![world.neighbour, world.b_resident])
    );
}

#[test]
fn a_notice_goes_only_to_who_lives_there_on_the_day_it_is_sent() {
    let mut world = World::new();
    world.move_out(world.neighbour);
    let newcomer = world.move_in(15);
    let principal = world.principal_on(world.service, date(13));
    let decision = bulk_notice::send(
        SendBulkNotice {
            bulk_notice_id: id(),
            target: NoticeTarget::Building {
                building_id: world.building_a,
            },
            subject: "Vesikatko".into(),
            body: "Vesi on poikki.".into(),
        },
        &world.context(&principal, at(13, 9), Channel::Portal),
    )
    .unwrap();
    let DomainEvent::BulkNoticeSent(sent) = &decision.events[0] else {
        panic!()
    };
    assert_eq!(sent.recipients_on, date(13));
    let got = people(&sent.recipients);
    assert!(!got.contains(&world.neighbour), "moved out on the 12th");
    assert!(!got.contains(&newcomer), "moves in on the 15th");
    assert!(got.contains(&world.resident));
}

#[test]
fn a_notice_is_refused_without_office_rights_an_audience_or_one_property() {
    let world = World::new();
    let property = NoticeTarget::Property {
        property_id: world.property,
    };
    assert_rule(
        send(&world, world.resident, property.clone()),
        RejectionKind::Forbidden,
        "bulk_notice.office_only",
    );
    assert_rule(
        send(&world, world.other_manager, property.clone()),
        RejectionKind::Forbidden,
        "bulk_notice.office_only",
    );
    assert_rule(
        send(&world, world.auditor, property),
        RejectionKind::Forbidden,
        "auditor.read_only",
    );
    assert_rule(
        send(
            &world,
            world.service,
            NoticeTarget::Apartments {
                apartment_ids: vec![world.empty_home],
            },
        ),
        RejectionKind::InvalidInput,
        "bulk_notice.no_recipients",
    );
    assert_rule(
        send(
            &world,
            world.service,
            NoticeTarget::Apartments {
                apartment_ids: vec![world.home, world.other_property_home],
            },
        ),
        RejectionKind::InvalidInput,
        "bulk_notice.one_property",
    );
    assert_rule(
        send(
            &world,
            world.service,
            NoticeTarget::Apartments {
                apartment_ids: vec![],
            },
        ),
        RejectionKind::InvalidInput,
        "bulk_notice.apartment_count",
    );
    assert_rule(
        send(
            &world,
            world.service,
            NoticeTarget::Building { building_id: id() },
        ),
        RejectionKind::NotFound,
        "bulk_notice.building_unknown",
    );
    assert!(
        send(
            &world,
            world.other_manager,
            NoticeTarget::Property {
                property_id: world.other_property
            }
        )
        .is_ok()
    );
}

#[test]
fn recipients_mark_a_notice_read_once() {
    let world = World::new();
    let recipients = send(
        &world,
        world.service,
        NoticeTarget::Building {
            building_id: world.building_a,
        },
    )
    .unwrap();
    let sent: DomainEvent = BulkNoticeSent {
        bulk_notice_id: id(),
        property_id: world.property,
        target: NoticeTarget::Building {
            building_id: world.building_a,
        },
        subject: "s".into(),
        body: "b".into(),
        recipients_on: date(10),
        recipients,
    }
    .into();
    let mut history: Vec<(DomainEvent, Uuid)> = vec![(sent, world.service)];
    let mark = |history: &[(DomainEvent, Uuid)], person| {
        let notice = BulkNotice::fold(history.iter().map(|(e, a)| (e, *a))).unwrap();
        let principal = world.principal_on(person, date(10));
        bulk_notice::mark_read(
            &notice,
            &world.context(&principal, at(10, 12), Channel::Portal),
        )
        .map(|d| d.events)
    };
    let read = mark(&history, world.resident).unwrap();
    assert!(matches!(read[..], [DomainEvent::BulkNoticeRead(_)]));
    history.push((read[0].clone(), world.resident));
    assert!(mark(&history, world.resident).unwrap().is_empty(), "once");
    assert_eq!(mark(&history, world.neighbour).unwrap().len(), 1);
    assert_rule(
        mark(&history, world.b_resident),
        RejectionKind::NotFound,
        "bulk_notice.not_visible",
    );
    assert_rule(
        mark(&history, world.service),
        RejectionKind::Forbidden,
        "bulk_notice.recipient_only",
    );
    assert_rule(
        mark(&history, world.auditor),
        RejectionKind::Forbidden,
        "auditor.read_only",
    );
}
