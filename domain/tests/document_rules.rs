//! Rules of the document archive: who adds and changes documents, what a file must be, and who
//! reads which audience. Given a register and a document, when a command, then events or the
//! named rule.

use chrono::NaiveDate;
use talo_domain::RejectionKind;
use talo_domain::access::Principal;
use talo_domain::document::*;
use talo_domain::register::{Register, RegisterCommand};
use talo_events_schema::DomainEvent;
use talo_events_schema::document::*;
use talo_events_schema::envelope::{Actor, ActorRole};
use talo_events_schema::register::*;
use uuid::Uuid;

struct World {
    register: Register,
    property: Uuid,
    other_property: Uuid,
    apartment: Uuid,
    manager: Uuid,
    chair: Uuid,
    member: Uuid,
    shareholder: Uuid,
    tenant: Uuid,
    auditor: Uuid,
    contractor: Uuid,
    outsider: Uuid,
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn world() -> World {
    let mut register = Register::default();
    let mut run = |cmd| {
        let e = register.decide(Actor::SYSTEM, None, cmd).expect("valid");
        register.apply(&e);
    };
    run(RegisterCommand::RegisterOrganisation(
        OrganisationRegistered {
            organisation_id: Uuid::now_v7(),
            name: "Isännöinti Oy".into(),
            business_id: "1572860-0".into(),
            fault_reopen_window_days: 14,
        },
    ));
    let (property, other_property) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, business_id) in [(property, "9190748-3"), (other_property, "3982597-4")] {
        run(RegisterCommand::RegisterProperty(PropertyRegistered {
            property_id: id,
            name: "As Oy".into(),
            kind: PropertyKind::HousingCooperative,
            business_id: business_id.into(),
            street_address: "Koivukuja 3".into(),
            postal_code: "00670".into(),
            city: "Helsinki".into(),
        }));
    }
    let (building, apartment, other_apartment) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    run(RegisterCommand::AddBuilding(BuildingAdded {
        property_id: property,
        building_id: building,
        code: "A".into(),
    }));
    run(RegisterCommand::AddApartment(ApartmentAdded {
        property_id: property,
        building_id: building,
        apartment_id: apartment,
        code: "A 1".into(),
        rooms: "2h+k".into(),
        floor_area_dm2: 5000,
    }));
    let other_building = Uuid::now_v7();
    run(RegisterCommand::AddBuilding(BuildingAdded {
        property_id: other_property,
        building_id: other_building,
        code: "A".into(),
    }));
    run(RegisterCommand::AddApartment(ApartmentAdded {
        property_id: other_property,
        building_id: other_building,
        apartment_id: other_apartment,
        code: "A 1".into(),
        rooms: "2h+k".into(),
        floor_area_dm2: 5000,
    }));
    let people: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
    for p in &people {
        run(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id: *p,
            name: "Henkilö".into(),
            email: None,
            phone: None,
        }));
    }
    let [
        manager,
        chair,
        member,
        shareholder,
        tenant,
        auditor,
        contractor,
        outsider,
    ] = people.try_into().unwrap();
    let since = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for (person, apartment_id, kind) in [
        (shareholder, apartment, ContractKind::Shareholding),
        (chair, apartment, ContractKind::Shareholding),
        (tenant, apartment, ContractKind::Lease),
        (outsider, other_apartment, ContractKind::Shareholding),
    ] {
        run(RegisterCommand::SignContract(ContractSigned {
            contract_id: Uuid::now_v7(),
            apartment_id,
            person_id: person,
            kind,
            starts_on: since,
            ends_on: None,
        }));
    }
    for (person, role) in [(chair, BoardRole::Chair), (member, BoardRole::Member)] {
        run(RegisterCommand::ElectBoardMember(BoardMemberElected {
            property_id: property,
            person_id: person,
            role,
            starts_on: since,
        }));
    }
    let company = Uuid::now_v7();
    run(RegisterCommand::RegisterContractorCompany(
        ContractorCompanyRegistered {
            contractor_company_id: company,
            name: "Huolto Oy".into(),
            business_id: "3378876-2".into(),
            phone: None,
        },
    ));
    for (person, role, scope, company) in [
        (
            manager,
            StaffRole::PropertyManager,
            StaffScope::Property {
                property_id: property,
            },
            None,
        ),
        (auditor, StaffRole::Auditor, StaffScope::Organisation, None),
        (
            contractor,
            StaffRole::ContractorWorker,
            StaffScope::Organisation,
            Some(company),
        ),
    ] {
        run(RegisterCommand::AssignStaff(StaffAssigned {
            assignment_id: Uuid::now_v7(),
            person_id: person,
            role,
            scope,
            contractor_company_id: company,
        }));
    }
    World {
        register,
        property,
        other_property,
        apartment,
        manager,
        chair,
        member,
        shareholder,
        tenant,
        auditor,
        contractor,
        outsider,
    }
}

impl World {
    fn principal(&self, person: Uuid) -> Principal {
        self.register.principal(person, day()).expect("registered")
    }
}

fn limits() -> UploadLimits {
    UploadLimits {
        max_bytes: 1000,
        allowed_types: vec!["application/pdf".into(), "image/png".into()],
    }
}

fn file() -> DocumentFile {
    DocumentFile {
        filename: "poytakirja.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 100,
        sha256: "a".repeat(64),
    }
}

fn add_command(w: &World) -> AddDocument {
    AddDocument {
        document_id: Uuid::now_v7(),
        property_id: w.property,
        title: "Hallituksen pöytäkirja".into(),
        category: DocumentCategory::Minutes,
        audience: DocumentAudience::Board,
        file: file(),
    }
}

/// Given the world, when `person` adds `command`, then the decision or the refusal.
fn when_adding(
    w: &World,
    person: Uuid,
    command: AddDocument,
) -> Result<talo_domain::decision::Decision, talo_domain::Rejection> {
    let principal = w.principal(person);
    let limits = limits();
    add(
        command,
        &Context {
            principal: &principal,
            register: &w.register,
            limits: &limits,
        },
    )
}

fn added(w: &World) -> Document {
    let decision = when_adding(w, w.manager, add_command(w)).unwrap();
    Document::fold(&decision.events).unwrap()
}

fn when_deciding(
    w: &World,
    person: Uuid,
    document: &Document,
    command: DocumentCommand,
) -> Result<talo_domain::decision::Decision, talo_domain::Rejection> {
    let principal = w.principal(person);
    let limits = limits();
    decide(
        document,
        command,
        &Context {
            principal: &principal,
            register: &w.register,
            limits: &limits,
        },
    )
}

#[test]
fn the_property_manager_adds_a_document_as_version_one() {
    let w = world();
    let decision = when_adding(&w, w.manager, add_command(&w)).unwrap();
    assert_eq!(decision.role, ActorRole::PropertyManager);
    let DomainEvent::DocumentAdded(e) = &decision.events[0] else {
        panic!("expected DocumentAdded");
    };
    assert_eq!(
        (e.audience, e.size_bytes, e.sha256.as_str()),
        (DocumentAudience::Board, 100, "a".repeat(64).as_str())
    );
}

#[test]
fn only_office_staff_of_the_property_add_or_change_documents() {
    let w = world();
    for person in [w.chair, w.shareholder, w.auditor, w.contractor] {
        let err = when_adding(&w, person, add_command(&w)).unwrap_err();
        assert_eq!(
            (err.kind, err.rule),
            (RejectionKind::Forbidden, "document.manage_requires_office")
        );
    }
    let mut elsewhere = add_command(&w);
    elsewhere.property_id = w.other_property;
    assert_eq!(
        when_adding(&w, w.manager, elsewhere).unwrap_err().rule,
        "document.manage_requires_office",
        "a property-scoped manager manages only their property"
    );
    let doc = added(&w);
    let err = when_deciding(
        &w,
        w.chair,
        &doc,
        DocumentCommand::Withdraw {
            reason: "vanha".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.rule, "document.manage_requires_office");
}

#[test]
fn an_unknown_property_is_named() {
    let w = world();
    let mut command = add_command(&w);
    command.property_id = Uuid::now_v7();
    let err = when_adding(&w, w.manager, command).unwrap_err();
    assert_eq!(
        (err.kind, err.rule, err.field),
        (
            RejectionKind::NotFound,
            "document.property_unknown",
            Some("property_id")
        )
    );
}

#[test]
fn a_title_is_required() {
    let w = world();
    let mut command = add_command(&w);
    command.title = " ".into();
    let err = when_adding(&w, w.manager, command).unwrap_err();
    assert_eq!((err.rule, err.field), ("text.required", Some("title")));
}

#[test]
fn files_over_the_limit_are_too_large() {
    let w = world();
    let mut command = add_command(&w);
    command.file.size_bytes = 1001;
    let err = when_adding(&w, w.manager, command).unwrap_err();
    assert_eq!(
        (err.kind, err.rule),
        (RejectionKind::TooLarge, "document.too_large")
    );
}

#[test]
fn empty_files_are_refused() {
    let w = world();
    let mut command = add_command(&w);
    command.file.size_bytes = 0;
    assert_eq!(
        when_adding(&w, w.manager, command).unwrap_err().rule,
        "document.empty"
    );
}

#[test]
fn only_allowed_types_are_accepted_ignoring_parameters_and_case() {
    let w = world();
    let mut command = add_command(&w);
    command.file.content_type = "application/x-msdownload".into();
    let err = when_adding(&w, w.manager, command).unwrap_err();
    assert_eq!(
        (err.kind, err.rule, err.field),
        (
            RejectionKind::UnsupportedType,
            "document.type_not_allowed",
            Some("content_type")
        )
    );
    assert!(err.message.contains("application/pdf, image/png"));
    let mut command = add_command(&w);
    command.file.content_type = "Image/PNG; name=x".into();
    let decision = when_adding(&w, w.manager, command).unwrap();
    let DomainEvent::DocumentAdded(e) = &decision.events[0] else {
        panic!("expected DocumentAdded");
    };
    assert_eq!(e.content_type, "image/png");
}

#[test]
fn the_hash_must_be_lowercase_hex_sha256() {
    let w = world();
    let mut command = add_command(&w);
    command.file.sha256 = "A".repeat(64);
    assert_eq!(
        when_adding(&w, w.manager, command).unwrap_err().rule,
        "document.sha256_format"
    );
}

#[test]
fn file_names_are_plain_names() {
    let w = world();
    let mut command = add_command(&w);
    command.file.filename = "../etc/passwd".into();
    let err = when_adding(&w, w.manager, command).unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("document.filename_format", Some("filename"))
    );
}

#[test]
fn a_new_version_is_numbered_after_the_latest() {
    let w = world();
    let doc = added(&w);
    let decision = when_deciding(
        &w,
        w.manager,
        &doc,
        DocumentCommand::AddVersion { file: file() },
    )
    .unwrap();
    let DomainEvent::DocumentVersionAdded(e) = &decision.events[0] else {
        panic!("expected DocumentVersionAdded");
    };
    assert_eq!(e.version, 2);
    let mut big = file();
    big.size_bytes = 5000;
    assert_eq!(
        when_deciding(
            &w,
            w.manager,
            &doc,
            DocumentCommand::AddVersion { file: big }
        )
        .unwrap_err()
        .rule,
        "document.too_large"
    );
}

#[test]
fn changing_to_the_same_audience_is_refused() {
    let w = world();
    let doc = added(&w);
    let err = when_deciding(
        &w,
        w.manager,
        &doc,
        DocumentCommand::ChangeAudience {
            audience: DocumentAudience::Board,
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("document.audience_unchanged", Some("audience"))
    );
}

#[test]
fn a_withdrawn_document_takes_no_more_steps() {
    let w = world();
    let mut doc = added(&w);
    doc.withdrawn = true;
    let err = when_deciding(
        &w,
        w.manager,
        &doc,
        DocumentCommand::Withdraw {
            reason: "taas".into(),
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.kind, err.rule),
        (RejectionKind::InvalidTransition, "document.withdrawn")
    );
}

#[test]
fn a_withdrawal_needs_a_reason() {
    let w = world();
    let doc = added(&w);
    let err = when_deciding(
        &w,
        w.manager,
        &doc,
        DocumentCommand::Withdraw { reason: "".into() },
    )
    .unwrap_err();
    assert_eq!((err.rule, err.field), ("text.required", Some("reason")));
}

#[test]
fn outsiders_are_told_the_document_does_not_exist() {
    let w = world();
    let doc = added(&w);
    let err = when_deciding(
        &w,
        w.contractor,
        &doc,
        DocumentCommand::Withdraw { reason: "x".into() },
    )
    .unwrap_err();
    assert_eq!(
        (err.kind, err.rule),
        (RejectionKind::NotFound, "document.not_visible")
    );
}

#[test]
fn each_audience_reaches_exactly_its_people() {
    use DocumentAudience::*;
    let w = world();
    // (person, [chair_only, board, shareholders, all_residents])
    let table = [
        (w.chair, [true, true, true, true]),
        (w.member, [false, true, true, true]),
        (w.shareholder, [false, false, true, true]),
        (w.tenant, [false, false, false, true]),
        (w.manager, [true, true, true, true]),
        (w.auditor, [true, true, true, true]),
        (w.contractor, [false, false, false, false]),
        (w.outsider, [false, false, false, false]),
    ];
    for (person, expected) in table {
        let principal = w.principal(person);
        for (audience, sees) in [ChairOnly, Board, Shareholders, AllResidents]
            .into_iter()
            .zip(expected)
        {
            assert_eq!(
                reader(&principal, w.property, audience, false).is_some(),
                sees,
                "{audience:?}"
            );
        }
    }
    let _ = w.apartment;
}

#[test]
fn withdrawn_documents_are_for_the_office_and_auditors_only() {
    let w = world();
    let audience = DocumentAudience::AllResidents;
    for person in [w.chair, w.tenant, w.member] {
        assert!(reader(&w.principal(person), w.property, audience, true).is_none());
    }
    assert_eq!(
        reader(&w.principal(w.manager), w.property, audience, true),
        Some(Reader::Office(ActorRole::PropertyManager))
    );
    assert_eq!(
        reader(&w.principal(w.auditor), w.property, audience, true),
        Some(Reader::Auditor)
    );
}

#[test]
fn a_board_seat_that_ended_gives_no_access() {
    let mut w = world();
    let ended = w
        .register
        .decide(
            Actor::SYSTEM,
            None,
            RegisterCommand::EndBoardMembership(BoardMembershipEnded {
                property_id: w.property,
                person_id: w.member,
                ends_on: day().pred_opt().unwrap(),
            }),
        )
        .unwrap();
    w.register.apply(&ended);
    let principal = w.principal(w.member);
    assert!(reader(&principal, w.property, DocumentAudience::Board, false).is_none());
}
