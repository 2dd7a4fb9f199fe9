//! Histories for the read models' unit tests: a register with properties, apartments and
//! contracts, and events folded into a read model as the engine folds them, with the metadata
//! (organisation, property, business time) read models look at.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use talo_domain::access::{Principal, StaffGrant};
use talo_domain::register::Register;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{EventMetadata, Position, RecordedEvent, StoredPayload};
use talo_events_schema::register::*;
use uuid::Uuid;

use crate::engine::Projection;

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

pub struct Given {
    pub organisation_id: Uuid,
    pub register: Register,
    position: u64,
}

impl Given {
    pub fn new() -> Self {
        Given {
            organisation_id: Uuid::now_v7(),
            register: Register::default(),
            position: 0,
        }
    }

    /// A property with one building; returns its id and the building's.
    pub fn property(&mut self, name: &str) -> (Uuid, Uuid) {
        let (property_id, building_id) = (Uuid::now_v7(), Uuid::now_v7());
        self.register.apply(
            &PropertyRegistered {
                property_id,
                name: name.into(),
                kind: PropertyKind::RentalCompany,
                business_id: "3982597-4".into(),
                street_address: "Testikatu 1".into(),
                postal_code: "00100".into(),
                city: "Helsinki".into(),
            }
            .into(),
        );
        self.register.apply(
            &BuildingAdded {
                property_id,
                building_id,
                code: "A".into(),
            }
            .into(),
        );
        (property_id, building_id)
    }

    pub fn apartment(&mut self, (property_id, building_id): (Uuid, Uuid), code: &str) -> Uuid {
        let apartment_id = Uuid::now_v7();
        self.register.apply(
            &ApartmentAdded {
                property_id,
                building_id,
                apartment_id,
                code: code.into(),
                rooms: "2h+k".into(),
                floor_area_dm2: 5000,
            }
            .into(),
        );
        apartment_id
    }

    /// A lease on the apartment for a new person; returns the contract and the person.
    pub fn lease(
        &mut self,
        apartment_id: Uuid,
        starts_on: NaiveDate,
        ends_on: Option<NaiveDate>,
    ) -> (Uuid, Uuid) {
        let (contract_id, person_id) = (Uuid::now_v7(), Uuid::now_v7());
        self.register.apply(
            &PersonRegistered {
                person_id,
                name: "Testi Asukas".into(),
                email: None,
                phone: None,
            }
            .into(),
        );
        self.register.apply(
            &ContractSigned {
                contract_id,
                apartment_id,
                person_id,
                kind: ContractKind::Lease,
                starts_on,
                ends_on,
            }
            .into(),
        );
        (contract_id, person_id)
    }

    /// A new person working in `role` for every property of the organisation.
    pub fn staff_everywhere(&self, role: StaffRole) -> Principal {
        Principal {
            person_id: Uuid::now_v7(),
            organisation_id: self.organisation_id,
            homes: Vec::new(),
            board_seats: Vec::new(),
            committees: Vec::new(),
            staff: vec![StaffGrant {
                role,
                scope: StaffScope::Organisation,
                contractor_company_id: None,
            }],
        }
    }

    /// Folds `event` into `view`, recorded at `at` on `property_id`.
    pub fn fold<P: Projection>(
        &mut self,
        view: &mut P,
        at: DateTime<Utc>,
        property_id: Option<Uuid>,
        event: impl Into<DomainEvent>,
    ) {
        let decoded: DomainEvent = event.into();
        self.position += 1;
        let recorded = RecordedEvent {
            event_id: Uuid::now_v7(),
            stream: "test".into(),
            revision: 0,
            position: Position::sequence(self.position),
            event_type: decoded.event_type().to_owned(),
            schema_version: decoded.schema_version(),
            recorded_at: at,
            metadata: EventMetadata {
                property_id,
                ..EventMetadata::system(self.organisation_id, Uuid::now_v7(), at)
            },
            payload: StoredPayload::from_value(&decoded.to_json()),
        };
        view.apply(&recorded, &decoded);
    }
}
