//! Rules of the organisation register.

use talo_domain::RejectionKind;
use talo_domain::register::{Register, RegisterCommand, check_business_id};
use talo_events_schema::envelope::{Actor, ActorRole};
use talo_events_schema::register::*;
use uuid::Uuid;

fn organisation() -> RegisterCommand {
    RegisterCommand::RegisterOrganisation(OrganisationRegistered {
        organisation_id: Uuid::now_v7(),
        name: "Isännöinti Oy".into(),
        business_id: "1572860-0".into(),
        fault_reopen_window_days: 14,
    })
}

#[test]
fn business_ids_are_checked_by_their_check_digit() {
    assert!(check_business_id("1572860-0").is_ok());
    assert!(check_business_id("0737546-2").is_ok());
    let wrong = check_business_id("1572860-1").unwrap_err();
    assert_eq!(
        (wrong.field, wrong.rule),
        (Some("business_id"), "register.business_id_format")
    );
    assert!(check_business_id("157286-00").is_err());
}

#[test]
fn the_organisation_comes_first_and_only_once() {
    let mut register = Register::default();
    let person = RegisterCommand::RegisterPerson(PersonRegistered {
        person_id: Uuid::now_v7(),
        name: "A".into(),
        email: None,
        phone: None,
    });
    assert_eq!(
        register
            .decide(Actor::SYSTEM, None, person)
            .unwrap_err()
            .rule,
        "register.organisation_missing"
    );
    let event = register
        .decide(Actor::SYSTEM, None, organisation())
        .unwrap();
    register.apply(&event);
    assert_eq!(
        register
            .decide(Actor::SYSTEM, None, organisation())
            .unwrap_err()
            .rule,
        "register.organisation_exists"
    );
}

#[test]
fn only_the_system_or_an_organisation_wide_manager_edits_the_register() {
    let register = Register::default();
    let resident = Actor {
        person_id: Uuid::now_v7(),
        role: ActorRole::Resident,
    };
    let err = register.decide(resident, None, organisation()).unwrap_err();
    assert_eq!(
        (err.kind, err.rule),
        (RejectionKind::Forbidden, "register.edit_requires_manager")
    );
}

#[test]
fn apartments_belong_to_a_building_of_their_property_with_unique_codes() {
    let mut register = Register::default();
    let mut run = |cmd| {
        let result = register.decide(Actor::SYSTEM, None, cmd);
        if let Ok(e) = &result {
            register.apply(e);
        }
        result
    };
    run(organisation()).unwrap();
    let (property, building) = (Uuid::now_v7(), Uuid::now_v7());
    run(RegisterCommand::RegisterProperty(PropertyRegistered {
        property_id: property,
        name: "As Oy".into(),
        kind: PropertyKind::RentalCompany,
        business_id: "0737546-2".into(),
        street_address: "Tie 1".into(),
        postal_code: "00100".into(),
        city: "Helsinki".into(),
    }))
    .unwrap();
    run(RegisterCommand::AddBuilding(BuildingAdded {
        property_id: property,
        building_id: building,
        code: "B".into(),
    }))
    .unwrap();
    let apartment = |code: &str| {
        RegisterCommand::AddApartment(ApartmentAdded {
            property_id: property,
            building_id: building,
            apartment_id: Uuid::now_v7(),
            code: code.into(),
            rooms: "1h".into(),
            floor_area_dm2: 3000,
        })
    };
    run(apartment("B 12")).unwrap();
    assert_eq!(
        run(apartment("B 12")).unwrap_err().rule,
        "register.apartment_code_unique"
    );
    assert_eq!(
        run(apartment("A 1")).unwrap_err().rule,
        "register.apartment_code_building"
    );
}

#[test]
fn auditors_and_contractor_workers_are_organisation_wide() {
    let mut register = Register::default();
    let mut run = |cmd| {
        let result = register.decide(Actor::SYSTEM, None, cmd);
        if let Ok(e) = &result {
            register.apply(e);
        }
        result
    };
    run(organisation()).unwrap();
    let (property, person) = (Uuid::now_v7(), Uuid::now_v7());
    run(RegisterCommand::RegisterProperty(PropertyRegistered {
        property_id: property,
        name: "As Oy".into(),
        kind: PropertyKind::RentalCompany,
        business_id: "0737546-2".into(),
        street_address: "Tie 1".into(),
        postal_code: "00100".into(),
        city: "Helsinki".into(),
    }))
    .unwrap();
    run(RegisterCommand::RegisterPerson(PersonRegistered {
        person_id: person,
        name: "A".into(),
        email: None,
        phone: None,
    }))
    .unwrap();
    let scoped = RegisterCommand::AssignStaff(StaffAssigned {
        assignment_id: Uuid::now_v7(),
        person_id: person,
        role: StaffRole::Auditor,
        scope: StaffScope::Property {
            property_id: property,
        },
        contractor_company_id: None,
    });
    let err = run(scoped).unwrap_err();
    assert_eq!(
        (err.field, err.rule),
        (Some("scope"), "register.scope_organisation_only")
    );
}
