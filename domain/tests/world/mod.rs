//! A small register for the rule tests: one cooperative with two buildings, a tenant and an
//! owner in A 1, a neighbour in B 2, a property manager, customer service, a technical manager,
//! a resident committee member and an auditor.

#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use talo_domain::access::Principal;
use talo_domain::register::{Register, RegisterCommand};
use talo_events_schema::envelope::Actor;
use talo_events_schema::register::*;
use uuid::Uuid;

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

pub fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

pub struct World {
    pub register: Register,
    pub property: Uuid,
    pub other_property: Uuid,
    pub building_a: Uuid,
    pub building_b: Uuid,
    pub home: Uuid,
    pub neighbours_home: Uuid,
    pub tenant: Uuid,
    pub owner: Uuid,
    pub neighbour: Uuid,
    pub manager: Uuid,
    pub technical: Uuid,
    pub service: Uuid,
    pub committee: Uuid,
    pub auditor: Uuid,
}

impl World {
    pub fn new() -> Self {
        let mut register = Register::default();
        let mut run = |cmd: RegisterCommand| {
            let event = register
                .decide(Actor::SYSTEM, None, cmd)
                .expect("register command");
            register.apply(&event);
        };
        run(RegisterCommand::RegisterOrganisation(
            OrganisationRegistered {
                organisation_id: Uuid::now_v7(),
                name: "Isännöinti Oy".into(),
                business_id: "1572860-0".into(),
                fault_reopen_window_days: 14,
            },
        ));
        let (property, other_property, building_a, building_b, home, neighbours_home) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        for (p, name) in [(property, "As Oy Koivu"), (other_property, "As Oy Mänty")] {
            run(RegisterCommand::RegisterProperty(PropertyRegistered {
                property_id: p,
                name: name.into(),
                kind: PropertyKind::HousingCooperative,
                business_id: "0737546-2".into(),
                street_address: "Tie 1".into(),
                postal_code: "00100".into(),
                city: "Helsinki".into(),
            }));
        }
        run(RegisterCommand::AddBuilding(BuildingAdded {
            property_id: property,
            building_id: building_a,
            code: "A".into(),
        }));
        run(RegisterCommand::AddBuilding(BuildingAdded {
            property_id: property,
            building_id: building_b,
            code: "B".into(),
        }));
        run(RegisterCommand::AddApartment(ApartmentAdded {
            property_id: property,
            building_id: building_a,
            apartment_id: home,
            code: "A 1".into(),
            rooms: "2h".into(),
            floor_area_dm2: 5000,
        }));
        run(RegisterCommand::AddApartment(ApartmentAdded {
            property_id: property,
            building_id: building_b,
            apartment_id: neighbours_home,
            code: "B 2".into(),
            rooms: "2h".into(),
            floor_area_dm2: 5000,
        }));
        let people: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
        for p in &people {
            run(RegisterCommand::RegisterPerson(PersonRegistered {
                person_id: *p,
                name: "P".into(),
                email: None,
                phone: None,
            }));
        }
        let [
            tenant,
            owner,
            neighbour,
            manager,
            technical,
            service,
            committee,
            auditor,
        ] = people[..]
        else {
            unreachable!()
        };
        let sign = |person, apartment, kind| {
            RegisterCommand::SignContract(ContractSigned {
                contract_id: Uuid::now_v7(),
                apartment_id: apartment,
                person_id: person,
                kind,
                starts_on: date(1),
                ends_on: None,
            })
        };
        run(sign(tenant, home, ContractKind::Lease));
        run(sign(owner, home, ContractKind::Shareholding));
        run(sign(neighbour, neighbours_home, ContractKind::Lease));
        run(sign(committee, neighbours_home, ContractKind::Lease));
        run(RegisterCommand::AppointResidentCommitteeMember(
            ResidentCommitteeMemberAppointed {
                property_id: property,
                person_id: committee,
                starts_on: date(1),
            },
        ));
        let staff = |person, role, scope| {
            RegisterCommand::AssignStaff(StaffAssigned {
                assignment_id: Uuid::now_v7(),
                person_id: person,
                role,
                scope,
                contractor_company_id: None,
            })
        };
        run(staff(
            manager,
            StaffRole::PropertyManager,
            StaffScope::Organisation,
        ));
        run(staff(
            technical,
            StaffRole::TechnicalManager,
            StaffScope::Property {
                property_id: property,
            },
        ));
        run(staff(
            service,
            StaffRole::CustomerService,
            StaffScope::Organisation,
        ));
        run(staff(auditor, StaffRole::Auditor, StaffScope::Organisation));
        World {
            register,
            property,
            other_property,
            building_a,
            building_b,
            home,
            neighbours_home,
            tenant,
            owner,
            neighbour,
            manager,
            technical,
            service,
            committee,
            auditor,
        }
    }

    pub fn principal(&self, person: Uuid) -> Principal {
        self.register
            .principal(person, date(10))
            .expect("person in register")
    }
}
