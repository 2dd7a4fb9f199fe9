//! The organisation's register: the management company, its staff and contractors, the
//! properties with their buildings and apartments, residents and their contracts, boards and
//! committees, and the turnover of residents over the years.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::ledger::Ledger;
use talo_domain::money::Month;
use talo_domain::register::{Register, RegisterCommand};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Actor, ActorRole, Channel};
use talo_events_schema::register::*;
use talo_events_schema::streams;
use uuid::Uuid;

use super::chance::Chance;
use super::housing::Housing;
use super::ledger::{self, PayHabit};
use super::{GenerateError, GenerateOptions, World, principal_of};

/// The organisation as the generator keeps it.
pub struct Organisation {
    /// The organisation-wide property manager.
    pub head_manager: Uuid,
    /// The history ends the day before.
    pub until: NaiveDate,
    pub customer_service: Vec<Uuid>,
    /// The organisation's auditor.
    pub auditor: Uuid,
    pub contractors: Vec<Contractor>,
    pub properties: Vec<Property>,
    /// Every contract ever signed, with its ledger; apartments point into it.
    pub contracts: Vec<ContractFile>,
    /// Contract id to its index in `contracts`.
    pub contract_index: std::collections::HashMap<Uuid, usize>,
    /// The organisation-wide part of the register (organisation, staff, contractors), and the
    /// housing applicants until they sign a lease.
    register: Register,
    /// The business time of the last event on the register's stream: the office edits the
    /// register one change after another, so no change is recorded before an earlier one.
    register_clock: DateTime<Utc>,
    pub(super) ledger: ledger::Payments,
}

pub struct Contractor {
    pub company_id: Uuid,
    pub workers: Vec<Uuid>,
}

pub struct Property {
    pub property_id: Uuid,
    pub kind: PropertyKind,
    pub name: String,
    pub city: &'static str,
    /// This property's slice of the register.
    pub register: Register,
    pub buildings: Vec<Uuid>,
    pub apartments: Vec<Apartment>,
    pub manager: Uuid,
    pub technical_manager: Uuid,
}

pub struct Apartment {
    pub apartment_id: Uuid,
    pub building_id: Uuid,
    /// The apartment type, as applicants name what they want (`2h+k`).
    pub rooms: &'static str,
    pub floor_area_dm2: u32,
    /// Indices into [`Organisation::contracts`], oldest first.
    pub contracts: Vec<usize>,
}

pub struct ContractFile {
    pub contract_id: Uuid,
    pub person_id: Uuid,
    pub property: usize,
    pub apartment: usize,
    pub kind: ContractKind,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub ledger: Ledger,
    /// The charge-line events of the ledger's stream (what a booking's charge decides on).
    pub charge_events: Vec<DomainEvent>,
    pub habit: PayHabit,
    /// The business time of the ledger's last event: what comes next is not before it.
    pub last_at: DateTime<Utc>,
}

impl ContractFile {
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|end| day <= end)
    }

    pub fn active_in(&self, month: Month) -> bool {
        self.starts_on <= month.last_day() && self.ends_on.is_none_or(|e| e >= month.first_day())
    }
}

/// Which slice of the register a command changes.
#[derive(Clone, Copy)]
enum Scope {
    Organisation,
    Property(usize),
    /// The organisation-wide part only: a housing applicant, who joins a property's slice when
    /// they sign a lease there.
    Applicants,
}

const FIRST_NAMES: [&str; 24] = [
    "Aino", "Eino", "Helmi", "Onni", "Aada", "Leo", "Sofia", "Elias", "Olivia", "Väinö", "Emma",
    "Oliver", "Lilja", "Eetu", "Venla", "Juho", "Kerttu", "Matti", "Liisa", "Pekka", "Anni",
    "Ville", "Sanni", "Tuomas",
];
const SURNAMES: [&str; 24] = [
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
];
const STREETS: [&str; 16] = [
    "Koivukuja",
    "Rantapuistontie",
    "Mäntytie",
    "Kuusikallio",
    "Vaahterakatu",
    "Pihlajatie",
    "Haapaniemenkatu",
    "Kalliolanrinne",
    "Sepänkatu",
    "Myllytie",
    "Satamakatu",
    "Tammelantie",
    "Kirkkokatu",
    "Puistokatu",
    "Järvenrannantie",
    "Lehtotie",
];
pub(super) const CITIES: [(&str, &str); 6] = [
    ("Helsinki", "00"),
    ("Espoo", "02"),
    ("Vantaa", "01"),
    ("Tampere", "33"),
    ("Turku", "20"),
    ("Oulu", "90"),
];
pub(super) const ROOMS: [&str; 5] = ["1h+kk", "2h+k", "2h+kk", "3h+k", "4h+k"];

impl Organisation {
    /// Registers the organisation, its staff and contractors, and every property with its
    /// residents, shortly before `start`.
    pub fn found(
        world: &mut World,
        options: &GenerateOptions,
        start: NaiveDate,
    ) -> Result<Organisation, GenerateError> {
        let at = (start - Duration::days(14))
            .and_hms_opt(6, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let mut org = Organisation {
            head_manager: Uuid::nil(),
            until: options.until,
            customer_service: Vec::new(),
            auditor: Uuid::nil(),
            contractors: Vec::new(),
            properties: Vec::new(),
            contracts: Vec::new(),
            contract_index: std::collections::HashMap::new(),
            register: Register::default(),
            register_clock: at,
            ledger: ledger::Payments::default(),
        };
        let organisation_business_id = business_id(&mut world.chance);
        org.register_command(
            world,
            Scope::Organisation,
            Actor::SYSTEM,
            at,
            RegisterCommand::RegisterOrganisation(OrganisationRegistered {
                organisation_id: world.organisation_id,
                name: "Isännöinti Generoitu Oy".into(),
                business_id: organisation_business_id,
                fault_reopen_window_days: 14,
            }),
        )?;
        let staff = |org: &mut Organisation, world: &mut World, role, scope, company| {
            let person_id = org.person(world, Scope::Organisation, at, true)?;
            org.assign(world, person_id, role, scope, company, at)?;
            Ok::<Uuid, GenerateError>(person_id)
        };
        org.head_manager = staff(
            &mut org,
            world,
            StaffRole::PropertyManager,
            StaffScope::Organisation,
            None,
        )?;
        for _ in 0..(options.apartments / 4_000).max(2) {
            let person = staff(
                &mut org,
                world,
                StaffRole::CustomerService,
                StaffScope::Organisation,
                None,
            )?;
            org.customer_service.push(person);
        }
        org.auditor = staff(
            &mut org,
            world,
            StaffRole::Auditor,
            StaffScope::Organisation,
            None,
        )?;
        for n in 0..(options.properties / 25).clamp(3, 40) {
            let company_id = world.chance.id_at(at);
            let business_id = business_id(&mut world.chance);
            org.register_command(
                world,
                Scope::Organisation,
                Actor::SYSTEM,
                at,
                RegisterCommand::RegisterContractorCompany(ContractorCompanyRegistered {
                    contractor_company_id: company_id,
                    name: format!("{} Huolto Oy", SURNAMES[n % SURNAMES.len()]),
                    business_id,
                    phone: Some(format!("+358 9 555 {:04}", n)),
                }),
            )?;
            let mut workers = Vec::new();
            for _ in 0..3 {
                workers.push(staff(
                    &mut org,
                    world,
                    StaffRole::ContractorWorker,
                    StaffScope::Organisation,
                    Some(company_id),
                )?);
            }
            org.contractors.push(Contractor {
                company_id,
                workers,
            });
        }
        // Managers and technical managers of groups of properties, assigned per property.
        let managers: Vec<Uuid> = (0..options.properties.div_ceil(25))
            .map(|_| org.person(world, Scope::Organisation, at, true))
            .collect::<Result<_, _>>()?;
        let technical: Vec<Uuid> = (0..options.properties.div_ceil(50))
            .map(|_| org.person(world, Scope::Organisation, at, true))
            .collect::<Result<_, _>>()?;

        let sizes = apartment_counts(&mut world.chance, options);
        for (index, size) in sizes.into_iter().enumerate() {
            let manager = managers[index / 25];
            let technical_manager = technical[index / 50];
            org.add_property(world, index, size, (manager, technical_manager), at, start)?;
        }
        Ok(org)
    }

    fn add_property(
        &mut self,
        world: &mut World,
        index: usize,
        size: usize,
        (manager, technical_manager): (Uuid, Uuid),
        at: DateTime<Utc>,
        start: NaiveDate,
    ) -> Result<(), GenerateError> {
        let chance = &mut world.chance;
        // Seven in twenty are rental companies, spread through the list so that even a small
        // organisation has both kinds.
        let kind = if (index * 7) % 20 < 7 {
            PropertyKind::RentalCompany
        } else {
            PropertyKind::HousingCooperative
        };
        let street = *chance.pick(&STREETS);
        let number = chance.between(1, 60);
        let (city, postal_prefix) = *chance.pick(&CITIES);
        let name = match kind {
            PropertyKind::RentalCompany => format!("Vuokratalo Oy {street} {number}"),
            PropertyKind::HousingCooperative => format!("As Oy {street} {number}"),
        };
        let property_id = chance.id_at(at);
        let business_id = business_id(chance);
        let postal_code = format!("{postal_prefix}{:03}", chance.between(100, 990));
        // The organisation's register so far, which the property's slice starts from.
        let register = self.register.clone();
        self.properties.push(Property {
            property_id,
            kind,
            name: name.clone(),
            city,
            register,
            buildings: Vec::new(),
            apartments: Vec::new(),
            manager,
            technical_manager,
        });
        let scope = Scope::Property(index);
        self.register_command(
            world,
            scope,
            Actor::SYSTEM,
            at,
            RegisterCommand::RegisterProperty(PropertyRegistered {
                property_id,
                name,
                kind,
                business_id,
                street_address: format!("{street} {number}"),
                postal_code,
                city: city.into(),
            }),
        )?;
        for person in [manager, technical_manager] {
            let role = if person == manager {
                StaffRole::PropertyManager
            } else {
                StaffRole::TechnicalManager
            };
            let assignment_id = world.chance.id_at(at);
            self.register_command(
                world,
                scope,
                Actor::SYSTEM,
                at,
                RegisterCommand::AssignStaff(StaffAssigned {
                    assignment_id,
                    person_id: person,
                    role,
                    scope: StaffScope::Property { property_id },
                    contractor_company_id: None,
                }),
            )?;
        }
        let buildings = size.div_ceil(18);
        for b in 0..buildings {
            let building_id = world.chance.id_at(at);
            let code = ((b'A' + (b % 26) as u8) as char).to_string();
            self.register_command(
                world,
                scope,
                Actor::SYSTEM,
                at,
                RegisterCommand::AddBuilding(BuildingAdded {
                    property_id,
                    building_id,
                    code: code.clone(),
                }),
            )?;
            self.properties[index].buildings.push(building_id);
            let in_building = size / buildings + usize::from(b < size % buildings);
            for n in 1..=in_building {
                let apartment_id = world.chance.id_at(at);
                let rooms = *world.chance.pick(&ROOMS);
                let floor_area_dm2 = 2_500
                    + 900 * (rooms.as_bytes()[0] - b'0') as u32
                    + world.chance.between(0, 1_200) as u32;
                self.register_command(
                    world,
                    scope,
                    Actor::SYSTEM,
                    at,
                    RegisterCommand::AddApartment(ApartmentAdded {
                        property_id,
                        building_id,
                        apartment_id,
                        code: format!("{code} {}", (b / 26) * 100 + n),
                        rooms: rooms.into(),
                        floor_area_dm2,
                    }),
                )?;
                self.properties[index].apartments.push(Apartment {
                    apartment_id,
                    building_id,
                    rooms,
                    floor_area_dm2,
                    contracts: Vec::new(),
                });
            }
        }
        let details = RegisterCommand::RecordPropertyDetails(PropertyDetailsRecorded {
            property_id,
            year_built: world.chance.between(1955, 2022) as u16,
            total_floor_area_m2: (size as u32) * 65,
            heating: if world.chance.chance(0.8) {
                HeatingType::DistrictHeating
            } else {
                HeatingType::GroundSource
            },
            plot: if world.chance.chance(0.5) {
                PlotTenure::Owned
            } else {
                PlotTenure::Leased
            },
            plot_area_m2: Some((size as u32) * 90),
        });
        let as_manager = Actor {
            person_id: manager,
            role: ActorRole::PropertyManager,
        };
        self.register_command(world, scope, as_manager, at, details)?;
        let contact_id = world.chance.id_at(at);
        self.register_command(
            world,
            scope,
            as_manager,
            at,
            RegisterCommand::SetPropertyContact(PropertyContactSet {
                property_id,
                contact_id,
                kind: ContactKind::EmergencyNumber,
                name: "Huollon päivystys".into(),
                phone: Some("+358 9 555 0299".into()),
                email: None,
                notes: Some("24/7, vesivuodot ja hissit".into()),
            }),
        )?;
        // Residents: most apartments are lived in when the history starts.
        let contract_kind = match kind {
            PropertyKind::RentalCompany => ContractKind::Lease,
            PropertyKind::HousingCooperative => ContractKind::Shareholding,
        };
        for apartment in 0..size {
            if !world.chance.chance(0.97) {
                continue;
            }
            let since = start - Duration::days(world.chance.between(30, 12 * 365));
            self.move_in(world, index, apartment, contract_kind, since, at)?;
        }
        // A cooperative's board, or a rental company's resident committee.
        let residents: Vec<Uuid> = self.properties[index]
            .apartments
            .iter()
            .filter_map(|a| a.contracts.last())
            .map(|c| self.contracts[*c].person_id)
            .collect();
        let since = start - Duration::days(200);
        match kind {
            PropertyKind::HousingCooperative => {
                for (n, person_id) in residents.iter().take(3).enumerate() {
                    self.register_command(
                        world,
                        scope,
                        Actor::SYSTEM,
                        at,
                        RegisterCommand::ElectBoardMember(BoardMemberElected {
                            property_id,
                            person_id: *person_id,
                            role: if n == 0 {
                                BoardRole::Chair
                            } else {
                                BoardRole::Member
                            },
                            starts_on: since,
                        }),
                    )?;
                }
            }
            PropertyKind::RentalCompany => {
                if let Some(person_id) = residents.first() {
                    self.register_command(
                        world,
                        scope,
                        Actor::SYSTEM,
                        at,
                        RegisterCommand::AppointResidentCommitteeMember(
                            ResidentCommitteeMemberAppointed {
                                property_id,
                                person_id: *person_id,
                                starts_on: local_date(at),
                            },
                        ),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// A new resident: registered, signed on the apartment from `starts_on`, and the
    /// contract's monthly charges set up by the property manager.
    fn move_in(
        &mut self,
        world: &mut World,
        property: usize,
        apartment: usize,
        kind: ContractKind,
        starts_on: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<usize, GenerateError> {
        let person_id = self.person(world, Scope::Property(property), at, false)?;
        let contract_id = world.chance.id_at(at);
        let apartment_id = self.properties[property].apartments[apartment].apartment_id;
        let signed = ContractSigned {
            contract_id,
            apartment_id,
            person_id,
            kind,
            starts_on,
            ends_on: None,
        };
        self.sign(world, property, apartment, signed, at)
    }

    /// A housing applicant's lease, signed by their acceptance of an offer: they join the
    /// property's slice of the register, and the lease's charges are set up.
    pub(super) fn sign_lease(
        &mut self,
        world: &mut World,
        property: usize,
        apartment: usize,
        lease: ContractSigned,
        at: DateTime<Utc>,
    ) -> Result<usize, GenerateError> {
        let person = self.register.persons.get(&lease.person_id).cloned();
        if let Some(person) = person {
            self.properties[property]
                .register
                .apply(&DomainEvent::PersonRegistered(PersonRegistered {
                    person_id: person.person_id,
                    name: person.name,
                    email: person.email,
                    phone: person.phone,
                }));
        }
        self.sign(world, property, apartment, lease, at)
    }

    fn sign(
        &mut self,
        world: &mut World,
        property: usize,
        apartment: usize,
        signed: ContractSigned,
        at: DateTime<Utc>,
    ) -> Result<usize, GenerateError> {
        let at = self.register_time(at);
        let (contract_id, person_id, kind, starts_on) = (
            signed.contract_id,
            signed.person_id,
            signed.kind,
            signed.starts_on,
        );
        self.register_command(
            world,
            Scope::Property(property),
            Actor::SYSTEM,
            at,
            RegisterCommand::SignContract(signed),
        )?;
        let habit = PayHabit::draw(&mut world.chance);
        self.contracts.push(ContractFile {
            contract_id,
            person_id,
            property,
            apartment,
            kind,
            starts_on,
            ends_on: None,
            ledger: Ledger::default(),
            charge_events: Vec::new(),
            habit,
            last_at: at,
        });
        let index = self.contracts.len() - 1;
        self.contract_index.insert(contract_id, index);
        self.properties[property].apartments[apartment]
            .contracts
            .push(index);
        ledger::open(world, self, index, at)?;
        Ok(index)
    }

    /// Registers someone applying for rental housing, in the organisation-wide part of the
    /// register only (see [`Scope::Applicants`]).
    pub(super) fn register_applicant(
        &mut self,
        world: &mut World,
        at: DateTime<Utc>,
    ) -> Result<Uuid, GenerateError> {
        self.person(world, Scope::Applicants, at, false)
    }

    /// A housing applicant as the register knows them (a person with no home here yet).
    pub(super) fn applicant(
        &self,
        person_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<talo_domain::access::Principal, GenerateError> {
        principal_of(&self.register, person_id, at)
    }

    /// The business time a register change asked for at `at` is recorded at: never before
    /// the register's last change.
    pub(super) fn register_time(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at.max(self.register_clock)
    }

    /// Registers a person: staff (with email and phone), or a resident of a property.
    fn person(
        &mut self,
        world: &mut World,
        scope: Scope,
        at: DateTime<Utc>,
        staff: bool,
    ) -> Result<Uuid, GenerateError> {
        let person_id = world.chance.id_at(at);
        let first = *world.chance.pick(&FIRST_NAMES);
        let last = *world.chance.pick(&SURNAMES);
        let email = (staff || world.chance.chance(0.8)).then(|| {
            format!(
                "{}.{}.{}@example.fi",
                first.to_lowercase(),
                last.to_lowercase(),
                &person_id.simple().to_string()[24..]
            )
        });
        let phone = (staff || world.chance.chance(0.7)).then(|| {
            format!(
                "+358 40 {:03} {:04}",
                world.chance.between(100, 999),
                world.chance.between(0, 9999)
            )
        });
        self.register_command(
            world,
            scope,
            Actor::SYSTEM,
            at,
            RegisterCommand::RegisterPerson(PersonRegistered {
                person_id,
                name: format!("{first} {last}"),
                email,
                phone,
            }),
        )?;
        Ok(person_id)
    }

    fn assign(
        &mut self,
        world: &mut World,
        person_id: Uuid,
        role: StaffRole,
        scope: StaffScope,
        company: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<(), GenerateError> {
        let assignment_id = world.chance.id_at(at);
        self.register_command(
            world,
            Scope::Organisation,
            Actor::SYSTEM,
            at,
            RegisterCommand::AssignStaff(StaffAssigned {
                assignment_id,
                person_id,
                role,
                scope,
                contractor_company_id: company,
            }),
        )
    }

    /// Decides a register command on its slice of the register and records it on the
    /// organisation's stream; an organisation-wide change reaches every slice.
    fn register_command(
        &mut self,
        world: &mut World,
        scope: Scope,
        actor: Actor,
        at: DateTime<Utc>,
        command: RegisterCommand,
    ) -> Result<(), GenerateError> {
        let at = self.register_time(at);
        self.register_clock = at;
        let register = match scope {
            Scope::Organisation | Scope::Applicants => &self.register,
            Scope::Property(i) => &self.properties[i].register,
        };
        let principal = match actor.role {
            ActorRole::System => None,
            _ => Some(principal_of(register, actor.person_id, at)?),
        };
        let event = register
            .decide(actor, principal.as_ref(), command)
            .map_err(GenerateError::refused("a register change"))?;
        let everywhere = matches!(
            event,
            DomainEvent::StaffAssigned(_)
                | DomainEvent::StaffAssignmentEnded(_)
                | DomainEvent::ContractorCompanyRegistered(_)
        );
        match scope {
            Scope::Property(_) if everywhere => {
                self.register.apply(&event);
                for property in &mut self.properties {
                    property.register.apply(&event);
                }
            }
            Scope::Organisation => {
                self.register.apply(&event);
                for property in &mut self.properties {
                    property.register.apply(&event);
                }
            }
            Scope::Property(i) => self.properties[i].register.apply(&event),
            Scope::Applicants => self.register.apply(&event),
        }
        let channel = match actor.role {
            ActorRole::System => Channel::System,
            _ => Channel::Office,
        };
        let act = world.act(actor.person_id, channel, at, property_of(&event));
        let stream = streams::organisation(world.organisation_id);
        world
            .log
            .record_as(&mut world.chance, &stream, &act, actor, vec![event]);
        Ok(())
    }
}

/// Residents moving out and in. On the first of a month some give notice: the contract ends
/// at the end of the next month. The buyer of a shareholder's shares moves in the day after,
/// signed at once; a rental apartment falls vacant and is offered to housing applicants
/// ([`Housing`]).
pub fn turnover(
    world: &mut World,
    org: &mut Organisation,
    housing: &mut Housing,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    use chrono::Datelike;
    if day.day() != 1 {
        return Ok(());
    }
    let ends_on = Month::of(day).next().last_day();
    // The office works through the notices one after another on the register's stream.
    let mut clock = world.chance.time_on(day, 9, 10);
    for property in 0..org.properties.len() {
        for apartment in 0..org.properties[property].apartments.len() {
            let current = org.properties[property].apartments[apartment]
                .contracts
                .last()
                .copied();
            let Some(current) = current else { continue };
            let contract = &org.contracts[current];
            if contract.ends_on.is_some() {
                continue;
            }
            let yearly = match contract.kind {
                ContractKind::Lease => 0.15,
                ContractKind::Shareholding => 0.07,
            };
            if !world.chance.chance(yearly / 12.0) {
                continue;
            }
            clock += Duration::minutes(world.chance.between(1, 15));
            let at = clock;
            let (contract_id, kind) = (contract.contract_id, contract.kind);
            org.register_command(
                world,
                Scope::Property(property),
                Actor::SYSTEM,
                at,
                RegisterCommand::EndContract(ContractEnded {
                    contract_id,
                    ends_on,
                }),
            )?;
            org.contracts[current].ends_on = Some(ends_on);
            let starts_on = ends_on + Duration::days(1);
            match kind {
                ContractKind::Shareholding => {
                    org.move_in(world, property, apartment, kind, starts_on, at)?;
                }
                ContractKind::Lease => housing.vacate(property, apartment, starts_on),
            }
        }
    }
    Ok(())
}

/// The property a register event concerns, as the dispatcher records it in the envelope.
fn property_of(event: &DomainEvent) -> Option<Uuid> {
    match event {
        DomainEvent::PropertyRegistered(e) => Some(e.property_id),
        DomainEvent::BuildingAdded(e) => Some(e.property_id),
        DomainEvent::ApartmentAdded(e) => Some(e.property_id),
        DomainEvent::BoardMemberElected(e) => Some(e.property_id),
        DomainEvent::BoardMembershipEnded(e) => Some(e.property_id),
        DomainEvent::ResidentCommitteeMemberAppointed(e) => Some(e.property_id),
        DomainEvent::ResidentCommitteeMembershipEnded(e) => Some(e.property_id),
        DomainEvent::PropertyDetailsRecorded(e) => Some(e.property_id),
        DomainEvent::PropertyContactSet(e) => Some(e.property_id),
        DomainEvent::PropertyContactRemoved(e) => Some(e.property_id),
        _ => None,
    }
}

/// A valid Finnish business id (seven digits and the mod-11 check digit).
fn business_id(chance: &mut Chance) -> String {
    loop {
        let digits = format!("{:07}", chance.between(1_000_000, 9_999_999));
        let weights = [7u32, 9, 10, 5, 8, 4, 2];
        let sum: u32 = digits
            .bytes()
            .zip(weights)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let check = match sum % 11 {
            0 => 0,
            1 => continue,
            r => 11 - r,
        };
        return format!("{digits}-{check}");
    }
}

/// Apartments per property: between a third and twice the average, adding up to the total.
fn apartment_counts(chance: &mut Chance, options: &GenerateOptions) -> Vec<usize> {
    let weights: Vec<f64> = (0..options.properties)
        .map(|_| chance.between(35, 200) as f64)
        .collect();
    let sum: f64 = weights.iter().sum();
    let spare = options.apartments - options.properties;
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|w| 1 + (spare as f64 * w / sum).floor() as usize)
        .collect();
    let mut missing = options.apartments - counts.iter().sum::<usize>();
    let mut i = 0;
    while missing > 0 {
        let n = counts.len();
        counts[i % n] += 1;
        missing -= 1;
        i += 1;
    }
    counts
}
