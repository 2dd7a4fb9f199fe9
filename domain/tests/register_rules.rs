//! Rules of the organisation register.

mod world;

use talo_domain::RejectionKind;
use talo_domain::register::{Contract, Register, RegisterCommand, check_business_id};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, ActorRole};
use talo_events_schema::register::*;
use uuid::Uuid;
use world::{World, date};

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

mod property_data {
    use super::*;
    use talo_domain::Rejection;

    struct World {
        register: Register,
        property: Uuid,
        other_property: Uuid,
        own_manager: Uuid,
        resident: Uuid,
    }

    fn world() -> World {
        let mut register = Register::default();
        let mut run = |cmd| {
            let e = register.decide(Actor::SYSTEM, None, cmd).expect("valid");
            register.apply(&e);
        };
        run(organisation());
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
        let (own_manager, resident) = (Uuid::now_v7(), Uuid::now_v7());
        for p in [own_manager, resident] {
            run(RegisterCommand::RegisterPerson(PersonRegistered {
                person_id: p,
                name: "Henkilö".into(),
                email: None,
                phone: None,
            }));
        }
        run(RegisterCommand::AssignStaff(StaffAssigned {
            assignment_id: Uuid::now_v7(),
            person_id: own_manager,
            role: StaffRole::PropertyManager,
            scope: StaffScope::Property {
                property_id: property,
            },
            contractor_company_id: None,
        }));
        World {
            register,
            property,
            other_property,
            own_manager,
            resident,
        }
    }

    fn details(property_id: Uuid) -> PropertyDetailsRecorded {
        PropertyDetailsRecorded {
            property_id,
            year_built: 1972,
            total_floor_area_m2: 2400,
            heating: HeatingType::DistrictHeating,
            plot: PlotTenure::Owned,
            plot_area_m2: Some(3100),
        }
    }

    fn contact(property_id: Uuid) -> PropertyContactSet {
        PropertyContactSet {
            property_id,
            contact_id: Uuid::now_v7(),
            kind: ContactKind::Caretaker,
            name: "Heikki Huoltomies".into(),
            phone: Some("+358 40 555 0101".into()),
            email: None,
            notes: Some("arkisin 7-15".into()),
        }
    }

    fn as_system(w: &World, command: RegisterCommand) -> Result<DomainEvent, Rejection> {
        w.register.decide(Actor::SYSTEM, None, command)
    }

    fn as_person(
        w: &World,
        person: Uuid,
        command: RegisterCommand,
    ) -> Result<DomainEvent, Rejection> {
        let principal = w
            .register
            .principal(person, chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let actor = Actor {
            person_id: person,
            role: ActorRole::PropertyManager,
        };
        w.register.decide(actor, principal.as_ref(), command)
    }

    #[test]
    fn details_and_contacts_fold_into_the_property() {
        let mut w = world();
        let e = as_system(
            &w,
            RegisterCommand::RecordPropertyDetails(details(w.property)),
        )
        .unwrap();
        w.register.apply(&e);
        let set = contact(w.property);
        let e = as_system(&w, RegisterCommand::SetPropertyContact(set.clone())).unwrap();
        w.register.apply(&e);
        let property = &w.register.properties[&w.property];
        assert_eq!(property.details.as_ref().unwrap().year_built, 1972);
        assert_eq!(property.contacts[&set.contact_id].name, "Heikki Huoltomies");
        let e = as_system(
            &w,
            RegisterCommand::RemovePropertyContact(PropertyContactRemoved {
                property_id: w.property,
                contact_id: set.contact_id,
            }),
        )
        .unwrap();
        w.register.apply(&e);
        assert!(w.register.properties[&w.property].contacts.is_empty());
    }

    #[test]
    fn a_propertys_own_manager_edits_its_details_and_contacts_only() {
        let w = world();
        assert!(
            as_person(
                &w,
                w.own_manager,
                RegisterCommand::RecordPropertyDetails(details(w.property))
            )
            .is_ok()
        );
        assert!(
            as_person(
                &w,
                w.own_manager,
                RegisterCommand::SetPropertyContact(contact(w.property))
            )
            .is_ok()
        );
        let elsewhere = as_person(
            &w,
            w.own_manager,
            RegisterCommand::SetPropertyContact(contact(w.other_property)),
        )
        .unwrap_err();
        assert_eq!(elsewhere.rule, "register.edit_requires_manager");
        let resident = as_person(
            &w,
            w.resident,
            RegisterCommand::RecordPropertyDetails(details(w.property)),
        )
        .unwrap_err();
        assert_eq!(resident.rule, "register.edit_requires_manager");
        let other_register_change = as_person(
            &w,
            w.own_manager,
            RegisterCommand::RegisterPerson(PersonRegistered {
                person_id: Uuid::now_v7(),
                name: "X".into(),
                email: None,
                phone: None,
            }),
        )
        .unwrap_err();
        assert_eq!(other_register_change.rule, "register.edit_requires_manager");
    }

    #[test]
    fn year_built_must_be_plausible() {
        let w = world();
        let mut d = details(w.property);
        d.year_built = 3000;
        let err = as_system(&w, RegisterCommand::RecordPropertyDetails(d)).unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.year_built_range", Some("year_built"))
        );
    }

    #[test]
    fn areas_must_be_positive() {
        let w = world();
        let mut d = details(w.property);
        d.total_floor_area_m2 = 0;
        let err = as_system(&w, RegisterCommand::RecordPropertyDetails(d)).unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.area_positive", Some("total_floor_area_m2"))
        );
        let mut d = details(w.property);
        d.plot_area_m2 = Some(0);
        let err = as_system(&w, RegisterCommand::RecordPropertyDetails(d)).unwrap_err();
        assert_eq!(err.field, Some("plot_area_m2"));
    }

    #[test]
    fn details_of_an_unknown_property_are_refused() {
        let w = world();
        let err = as_system(
            &w,
            RegisterCommand::RecordPropertyDetails(details(Uuid::now_v7())),
        )
        .unwrap_err();
        assert_eq!(err.rule, "register.property_unknown");
    }

    #[test]
    fn a_contact_needs_a_name_and_a_way_to_reach_them() {
        let w = world();
        let mut c = contact(w.property);
        c.name = "".into();
        let err = as_system(&w, RegisterCommand::SetPropertyContact(c)).unwrap_err();
        assert_eq!((err.rule, err.field), ("text.required", Some("name")));
        let mut c = contact(w.property);
        c.phone = None;
        let err = as_system(&w, RegisterCommand::SetPropertyContact(c)).unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.contact_reachable", Some("phone"))
        );
    }

    #[test]
    fn contact_phone_and_email_are_checked() {
        let w = world();
        let mut c = contact(w.property);
        c.phone = Some("soita heti".into());
        let err = as_system(&w, RegisterCommand::SetPropertyContact(c)).unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.phone_format", Some("phone"))
        );
        let mut c = contact(w.property);
        c.email = Some("huolto.example.fi".into());
        let err = as_system(&w, RegisterCommand::SetPropertyContact(c)).unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.email_format", Some("email"))
        );
        let mut c = contact(w.property);
        c.notes = Some("x".repeat(501));
        let err = as_system(&w, RegisterCommand::SetPropertyContact(c)).unwrap_err();
        assert_eq!((err.rule, err.field), ("text.too_long", Some("notes")));
    }

    #[test]
    fn removing_an_unknown_contact_is_refused() {
        let w = world();
        let err = as_system(
            &w,
            RegisterCommand::RemovePropertyContact(PropertyContactRemoved {
                property_id: w.property,
                contact_id: Uuid::now_v7(),
            }),
        )
        .unwrap_err();
        assert_eq!(
            (err.rule, err.field),
            ("register.contact_unknown", Some("contact_id"))
        );
    }
}

#[test]
fn contracts_are_found_by_person_and_by_apartment_and_an_ended_one_stops_being_a_home() {
    let mut world = World::new();
    let tenants: Vec<Uuid> = world
        .register
        .contracts_of(world.tenant)
        .map(|c| c.contract_id)
        .collect();
    assert_eq!(tenants.len(), 1);
    let mut living_at_home: Vec<Uuid> = world
        .register
        .occupants(world.home, date(10))
        .map(|c| c.person_id)
        .collect();
    living_at_home.sort();
    let mut expected = vec![world.tenant, world.owner];
    expected.sort();
    assert_eq!(living_at_home, expected);
    assert_eq!(world.principal(world.tenant).homes.len(), 1);

    world
        .register
        .apply(&DomainEvent::ContractEnded(ContractEnded {
            contract_id: tenants[0],
            ends_on: date(5),
        }));
    assert!(
        world
            .register
            .occupants(world.home, date(10))
            .all(|c| c.person_id == world.owner)
    );
    assert!(world.principal(world.tenant).homes.is_empty());
    // The ended contract is still the tenant's (a final invoice is read through it).
    assert_eq!(world.register.contracts_of(world.tenant).count(), 1);
    assert_eq!(world.register.contracts_of(world.auditor).count(), 0);

    // And still one of the property's, with every other contract on its apartments.
    let mut in_property: Vec<Uuid> = world
        .register
        .contracts_in(world.property)
        .map(|c| c.contract_id)
        .collect();
    in_property.sort();
    let mut on_its_apartments: Vec<Uuid> = world
        .register
        .contracts
        .values()
        .filter(|c| world.register.apartments[&c.apartment_id].property_id == world.property)
        .map(|c| c.contract_id)
        .collect();
    on_its_apartments.sort();
    assert!(in_property.contains(&tenants[0]));
    assert_eq!(in_property, on_its_apartments);
    assert!(
        world
            .register
            .contracts_in(world.other_property)
            .all(|c| !in_property.contains(&c.contract_id))
    );
    // Several properties at once: each one's contracts, and no others.
    let (building, apartment) = (Uuid::now_v7(), Uuid::now_v7());
    for event in [
        DomainEvent::BuildingAdded(BuildingAdded {
            property_id: world.other_property,
            building_id: building,
            code: "C".into(),
        }),
        DomainEvent::ApartmentAdded(ApartmentAdded {
            property_id: world.other_property,
            building_id: building,
            apartment_id: apartment,
            code: "C 3".into(),
            rooms: "1h+k".into(),
            floor_area_dm2: 3000,
        }),
        DomainEvent::ContractSigned(ContractSigned {
            contract_id: Uuid::now_v7(),
            apartment_id: apartment,
            person_id: world.neighbour,
            kind: ContractKind::Lease,
            starts_on: date(1),
            ends_on: None,
        }),
    ] {
        world.register.apply(&event);
    }
    let ids = |contracts: &mut dyn Iterator<Item = &Contract>| {
        let mut ids: Vec<Uuid> = contracts.map(|c| c.contract_id).collect();
        ids.sort();
        ids
    };
    let mut both = [world.property, world.other_property];
    both.sort();
    let mut each = ids(&mut world.register.contracts_in(world.property));
    each.extend(ids(&mut world.register.contracts_in(world.other_property)));
    each.sort();
    assert!(
        each.len() > in_property.len(),
        "the other property has contracts"
    );
    assert_eq!(ids(&mut world.register.contracts_in_any(&both)), each);
    assert_eq!(
        ids(&mut world.register.contracts_in_any(&[world.property])),
        in_property
    );
    assert_eq!(world.register.contracts_in_any(&[]).count(), 0);

    // Each contract with its property, as looking the contract and its apartment up gives it.
    let with_property = |wanted: &[Uuid]| {
        let mut found = world.register.contract_properties(|p| wanted.contains(&p));
        found.sort();
        found
    };
    let mut looked_up: Vec<(Uuid, Uuid)> = each
        .iter()
        .map(|id| {
            let apartment = world.register.contracts[id].apartment_id;
            (*id, world.register.apartments[&apartment].property_id)
        })
        .collect();
    looked_up.sort();
    assert_eq!(with_property(&both), looked_up);
    let mut own: Vec<(Uuid, Uuid)> = in_property.iter().map(|&c| (c, world.property)).collect();
    own.sort();
    assert_eq!(with_property(&[world.property]), own);
    assert!(with_property(&[]).is_empty());
}
