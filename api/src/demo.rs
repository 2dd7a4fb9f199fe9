//! The demo organisation: a management company with two housing companies, about forty
//! apartments, residents, a shareholder, a board chair, office staff, two contractors, an
//! auditor, some fault-report history in different states, a few message threads and a bulk
//! notice. Seeded through the same commands as real use, so every event is valid. Tests seed it
//! too (twice, for isolation between organisations).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::bulk_notice::SendBulkNotice;
use talo_domain::calendar::local_date;
use talo_domain::fault_report::{FaultReportCommand as Step, ReportFault};
use talo_domain::message_thread::{MessageThreadCommand as Thread, StartMessageThread};
use talo_domain::register::RegisterCommand;
use talo_events_schema::bulk_notice::NoticeTarget;
use talo_events_schema::envelope::{Actor, Channel};
use talo_events_schema::fault_report::{
    FaultCategory, FaultLocation, NoteVisibility, PetsOnPremises, TimeWindow,
};
use talo_events_schema::message_thread::{MessageCategory, MessageSide, MessageThreadStatus};
use talo_events_schema::register::*;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dispatch::Request;
use crate::error::ApiError;
use crate::talo::Talo;

/// The roles that get a demo token, in the order they are printed.
pub const ROLES: [&str; 10] = [
    "resident",
    "neighbour",
    "shareholder",
    "board_chair",
    "property_manager",
    "technical_manager",
    "customer_service",
    "contractor",
    "other_contractor",
    "auditor",
];

/// The ids a walkthrough or a test needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoOrganisation {
    pub organisation_id: Uuid,
    /// Role name (see [`ROLES`]) to person id.
    pub people: BTreeMap<String, Uuid>,
    /// Property name to id.
    pub properties: BTreeMap<String, Uuid>,
    /// `"<property name>/<apartment code>"` to apartment id.
    pub apartments: BTreeMap<String, Uuid>,
    /// Company name to id.
    pub contractors: BTreeMap<String, Uuid>,
}

impl DemoOrganisation {
    pub fn person(&self, role: &str) -> Uuid {
        self.people.get(role).copied().unwrap_or_default()
    }

    pub fn caller(&self, role: &str) -> Caller {
        Caller {
            person_id: self.person(role),
            organisation_id: self.organisation_id,
        }
    }

    /// A token for every demo role, valid for `valid_for` from `now`.
    pub fn tokens(
        &self,
        talo: &Talo,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> BTreeMap<String, String> {
        ROLES
            .iter()
            .map(|role| {
                (
                    role.to_string(),
                    talo.keys.mint(self.caller(role), now, valid_for),
                )
            })
            .collect()
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(
            path,
            serde_json::to_string_pretty(self).map_err(std::io::Error::other)?,
        )
    }

    pub fn load(path: &Path) -> std::io::Result<Self> {
        serde_json::from_str(&std::fs::read_to_string(path)?).map_err(std::io::Error::other)
    }
}

pub const RENTAL: &str = "Vuokratalo Oy Rantapuisto";
pub const COOPERATIVE: &str = "As Oy Koivukuja";
pub const MAINTENANCE: &str = "Kiinteistöhuolto Kuusi Oy";
pub const PLUMBERS: &str = "Putki-Pro Oy";

const OTHER_RESIDENTS: [&str; 24] = [
    "Aleksi Virtanen",
    "Emma Korhonen",
    "Juha Mäkinen",
    "Laura Nieminen",
    "Mikko Mäkelä",
    "Sanna Hämäläinen",
    "Timo Laine",
    "Heidi Heikkinen",
    "Jari Koskinen",
    "Anna Järvinen",
    "Petri Lehtonen",
    "Kaisa Lehtinen",
    "Antti Saarinen",
    "Riikka Salminen",
    "Ville Heinonen",
    "Elina Niemi",
    "Markku Heikkilä",
    "Tiina Kinnunen",
    "Sami Salonen",
    "Minna Turunen",
    "Pekka Salo",
    "Hanna Laitinen",
    "Janne Tuominen",
    "Katja Rantanen",
];

/// Seeds one demo organisation named `name`, with history ending shortly before `now`.
pub async fn seed(
    talo: &Talo,
    name: &str,
    business_id: &str,
    now: DateTime<Utc>,
) -> Result<DemoOrganisation, ApiError> {
    let organisation_id = Uuid::now_v7();
    let mut demo = DemoOrganisation {
        organisation_id,
        people: BTreeMap::new(),
        properties: BTreeMap::new(),
        apartments: BTreeMap::new(),
        contractors: BTreeMap::new(),
    };
    let start = now - Duration::days(400);
    let system = Caller {
        person_id: Uuid::nil(),
        organisation_id,
    };
    let register = |command: RegisterCommand| {
        let request = Request {
            caller: system,
            channel: Channel::System,
            occurred_at: start,
            idempotency_key: None,
            correlation_id: organisation_id,
        };
        async move {
            talo.dispatcher
                .register(&request, Actor::SYSTEM, command)
                .await
        }
    };
    register(RegisterCommand::RegisterOrganisation(
        OrganisationRegistered {
            organisation_id,
            name: name.into(),
            business_id: business_id.into(),
            fault_reopen_window_days: 14,
        },
    ))
    .await?;

    let properties = [
        (
            RENTAL,
            PropertyKind::RentalCompany,
            "3982597-4",
            "Rantapuistontie 4",
            "00980",
        ),
        (
            COOPERATIVE,
            PropertyKind::HousingCooperative,
            "9190748-3",
            "Koivukuja 3",
            "00670",
        ),
    ];
    for (property_name, kind, property_business_id, street, postal_code) in properties {
        let property_id = Uuid::now_v7();
        demo.properties.insert(property_name.into(), property_id);
        register(RegisterCommand::RegisterProperty(PropertyRegistered {
            property_id,
            name: property_name.into(),
            kind,
            business_id: property_business_id.into(),
            street_address: street.into(),
            postal_code: postal_code.into(),
            city: "Helsinki".into(),
        }))
        .await?;
        for (code, numbers) in [("A", 1..=10), ("B", 11..=20)] {
            let building_id = Uuid::now_v7();
            register(RegisterCommand::AddBuilding(BuildingAdded {
                property_id,
                building_id,
                code: code.into(),
            }))
            .await?;
            for n in numbers {
                let apartment_id = Uuid::now_v7();
                let apartment_code = format!("{code} {n}");
                demo.apartments
                    .insert(format!("{property_name}/{apartment_code}"), apartment_id);
                register(RegisterCommand::AddApartment(ApartmentAdded {
                    property_id,
                    building_id,
                    apartment_id,
                    code: apartment_code,
                    rooms: ["1h+kk", "2h+k", "3h+k"][n as usize % 3].into(),
                    floor_area_dm2: 3000 + 1150 * (n % 4),
                }))
                .await?;
            }
        }
    }

    let named = [
        ("resident", "Aino Asukas"),
        ("neighbour", "Niko Naapuri"),
        ("shareholder", "Olli Osakas"),
        ("board_chair", "Paula Puheenjohtaja"),
        ("property_manager", "Maija Isännöitsijä"),
        ("technical_manager", "Teemu Tekninen"),
        ("customer_service", "Kaisa Palvelu"),
        ("contractor", "Heikki Huoltomies"),
        ("other_contractor", "Pirjo Putkimies"),
        ("auditor", "Tilda Tarkastaja"),
    ];
    for (role, person_name) in named {
        let person_id = Uuid::now_v7();
        demo.people.insert(role.into(), person_id);
        let email = format!("{}@example.fi", role.replace('_', "."));
        register(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: person_name.into(),
            email: Some(email),
            phone: Some("+358 40 555 0100".into()),
        }))
        .await?;
    }
    let contract = |person: Uuid, apartment: Uuid, kind| {
        RegisterCommand::SignContract(ContractSigned {
            contract_id: Uuid::now_v7(),
            apartment_id: apartment,
            person_id: person,
            kind,
            starts_on: local_date(start),
            ends_on: None,
        })
    };
    let apartment = |property: &str, code: &str| demo.apartments[&format!("{property}/{code}")];
    register(contract(
        demo.person("resident"),
        apartment(RENTAL, "A 4"),
        ContractKind::Lease,
    ))
    .await?;
    register(contract(
        demo.person("neighbour"),
        apartment(RENTAL, "A 5"),
        ContractKind::Lease,
    ))
    .await?;
    register(contract(
        demo.person("shareholder"),
        apartment(COOPERATIVE, "B 12"),
        ContractKind::Shareholding,
    ))
    .await?;
    register(contract(
        demo.person("board_chair"),
        apartment(COOPERATIVE, "A 1"),
        ContractKind::Shareholding,
    ))
    .await?;
    register(RegisterCommand::ElectBoardMember(BoardMemberElected {
        property_id: demo.properties[COOPERATIVE],
        person_id: demo.person("board_chair"),
        role: BoardRole::Chair,
        starts_on: local_date(start),
    }))
    .await?;

    // Other occupants, so the properties look lived in: leases in the rental company,
    // shareholdings in the cooperative.
    let free: Vec<(String, ContractKind)> = demo
        .apartments
        .keys()
        .filter(|k| {
            !["A 4", "A 5", "B 12", "A 1"]
                .iter()
                .any(|taken| k.ends_with(&format!("/{taken}")))
        })
        .map(|k| {
            (
                k.clone(),
                if k.starts_with(RENTAL) {
                    ContractKind::Lease
                } else {
                    ContractKind::Shareholding
                },
            )
        })
        .collect();
    for (person_name, (apartment_key, kind)) in OTHER_RESIDENTS.iter().zip(free) {
        let person_id = Uuid::now_v7();
        register(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: (*person_name).into(),
            email: None,
            phone: None,
        }))
        .await?;
        register(contract(person_id, demo.apartments[&apartment_key], kind)).await?;
    }

    for (company, company_business_id) in [(MAINTENANCE, "3378876-2"), (PLUMBERS, "2328601-3")] {
        let id = Uuid::now_v7();
        demo.contractors.insert(company.into(), id);
        register(RegisterCommand::RegisterContractorCompany(
            ContractorCompanyRegistered {
                contractor_company_id: id,
                name: company.into(),
                business_id: company_business_id.into(),
                phone: Some("+358 9 555 0200".into()),
            },
        ))
        .await?;
    }
    let staff = |person: Uuid, role, company: Option<Uuid>| {
        RegisterCommand::AssignStaff(StaffAssigned {
            assignment_id: Uuid::now_v7(),
            person_id: person,
            role,
            scope: StaffScope::Organisation,
            contractor_company_id: company,
        })
    };
    register(staff(
        demo.person("property_manager"),
        StaffRole::PropertyManager,
        None,
    ))
    .await?;
    register(staff(
        demo.person("technical_manager"),
        StaffRole::TechnicalManager,
        None,
    ))
    .await?;
    register(staff(
        demo.person("customer_service"),
        StaffRole::CustomerService,
        None,
    ))
    .await?;
    register(staff(
        demo.person("contractor"),
        StaffRole::ContractorWorker,
        Some(demo.contractors[MAINTENANCE]),
    ))
    .await?;
    register(staff(
        demo.person("other_contractor"),
        StaffRole::ContractorWorker,
        Some(demo.contractors[PLUMBERS]),
    ))
    .await?;
    register(staff(demo.person("auditor"), StaffRole::Auditor, None)).await?;

    seed_history(talo, &demo, now).await?;
    seed_messages(talo, &demo, now).await?;
    Ok(demo)
}

/// A few reports in different states: one closed, one overdue at the contractor, one waiting
/// for the office, one filed by phone for a common area.
async fn seed_history(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let request = |role: &str, at: DateTime<Utc>, channel: Channel| Request {
        caller: demo.caller(role),
        channel,
        occurred_at: at,
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    let rental = demo.properties[RENTAL];
    let cooperative = demo.properties[COOPERATIVE];
    let report = |id, property_id, location, category, description: &str, reporter| ReportFault {
        fault_report_id: id,
        property_id,
        location,
        category,
        description: description.into(),
        permission_to_enter: true,
        pets: PetsOnPremises {
            present: false,
            details: None,
        },
        preferred_visit: None,
        contact_phone: Some("+358 40 555 0100".into()),
        reporter_id: reporter,
    };
    let step = |role: &'static str, at, channel, id, command| {
        let r = request(role, at, channel);
        async move { talo.dispatcher.fault_report_step(&r, id, command).await }
    };
    let maintenance = demo.contractors[MAINTENANCE];

    // 1. A dripping tap, fixed and confirmed.
    let t = now - Duration::days(20);
    let tap = Uuid::now_v7();
    let location = FaultLocation::Apartment {
        apartment_id: demo.apartments[&format!("{RENTAL}/A 4")],
    };
    talo.dispatcher
        .report_fault(
            &request("resident", t, Channel::Portal),
            report(
                tap,
                rental,
                location,
                FaultCategory::Plumbing,
                "Keittiön hana vuotaa",
                demo.person("resident"),
            ),
        )
        .await?;
    step(
        "customer_service",
        t + Duration::hours(2),
        Channel::Portal,
        tap,
        Step::Acknowledge,
    )
    .await?;
    step(
        "customer_service",
        t + Duration::hours(3),
        Channel::Portal,
        tap,
        Step::Assign {
            contractor_company_id: maintenance,
            promised_by: local_date(t + Duration::days(5)),
        },
    )
    .await?;
    step(
        "contractor",
        t + Duration::days(3),
        Channel::Field,
        tap,
        Step::StartWork,
    )
    .await?;
    step(
        "contractor",
        t + Duration::days(3) + Duration::hours(1),
        Channel::Field,
        tap,
        Step::Resolve {
            work_summary: "Hanan tiiviste vaihdettu".into(),
        },
    )
    .await?;
    step(
        "resident",
        t + Duration::days(4),
        Channel::Portal,
        tap,
        Step::Confirm,
    )
    .await?;

    // 2. A stuck lock, promised for two days ago: overdue.
    let t = now - Duration::days(5);
    let lock = Uuid::now_v7();
    let location = FaultLocation::Apartment {
        apartment_id: demo.apartments[&format!("{COOPERATIVE}/B 12")],
    };
    talo.dispatcher
        .report_fault(
            &request("shareholder", t, Channel::Portal),
            report(
                lock,
                cooperative,
                location,
                FaultCategory::DoorsAndLocks,
                "Ulko-oven lukko jumittaa",
                demo.person("shareholder"),
            ),
        )
        .await?;
    step(
        "property_manager",
        t + Duration::hours(1),
        Channel::Portal,
        lock,
        Step::Acknowledge,
    )
    .await?;
    step(
        "property_manager",
        t + Duration::hours(2),
        Channel::Portal,
        lock,
        Step::Assign {
            contractor_company_id: maintenance,
            promised_by: local_date(now - Duration::days(2)),
        },
    )
    .await?;
    let visit = TimeWindow {
        starts_at: t + Duration::days(1),
        ends_at: t + Duration::days(1) + Duration::hours(2),
    };
    step(
        "contractor",
        t + Duration::hours(4),
        Channel::Field,
        lock,
        Step::ScheduleVisit { visit },
    )
    .await?;
    step(
        "contractor",
        t + Duration::hours(5),
        Channel::Field,
        lock,
        Step::AddNote {
            note_id: Uuid::now_v7(),
            text: "Tilattu uusi lukkopesä".into(),
            visibility: NoteVisibility::Internal,
        },
    )
    .await?;

    // 3. Ventilation, waiting for the office.
    let t = now - Duration::days(1);
    let vent = Uuid::now_v7();
    let location = FaultLocation::Apartment {
        apartment_id: demo.apartments[&format!("{RENTAL}/A 5")],
    };
    talo.dispatcher
        .report_fault(
            &request("neighbour", t, Channel::Portal),
            report(
                vent,
                rental,
                location,
                FaultCategory::Ventilation,
                "Kylpyhuoneen poistoilma ei vedä",
                demo.person("neighbour"),
            ),
        )
        .await?;

    // 4. The sauna stove, phoned in to customer service.
    let t = now - Duration::hours(3);
    let sauna = Uuid::now_v7();
    let location = FaultLocation::CommonArea {
        building_id: None,
        area: "sauna".into(),
    };
    talo.dispatcher
        .report_fault(
            &request("customer_service", t, Channel::Phone),
            report(
                sauna,
                rental,
                location,
                FaultCategory::Electrical,
                "Saunan kiuas ei lämpene",
                demo.person("resident"),
            ),
        )
        .await?;
    step(
        "customer_service",
        t + Duration::minutes(10),
        Channel::Portal,
        sauna,
        Step::Acknowledge,
    )
    .await?;
    Ok(())
}

/// A few message threads and a bulk notice: one answered, read and closed; one waiting for the
/// office; one phoned in and being handled; a water outage notice to building A of the rental
/// company.
async fn seed_messages(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let request = |role: &str, at: DateTime<Utc>, channel: Channel| Request {
        caller: demo.caller(role),
        channel,
        occurred_at: at,
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    let start = |role: &'static str, at, channel, command: StartMessageThread| {
        let r = request(role, at, channel);
        async move { talo.dispatcher.start_message_thread(&r, command).await }
    };
    let step = |role: &'static str, at, channel, id, command| {
        let r = request(role, at, channel);
        async move { talo.dispatcher.message_thread_step(&r, id, command).await }
    };
    let thread =
        |apartment: &str, resident: &str, category, subject: &str, body: &str| StartMessageThread {
            message_thread_id: Uuid::now_v7(),
            apartment_id: demo.apartments[apartment],
            category,
            subject: subject.into(),
            message_id: Uuid::now_v7(),
            body: body.into(),
            resident_id: demo.person(resident),
            opened_by: MessageSide::Resident,
        };
    let message = |body: &str| Thread::PostMessage {
        message_id: Uuid::now_v7(),
        body: body.into(),
        on_behalf_of: None,
    };

    // 1. A sauna shift question, answered, read both ways and closed.
    let t = now - Duration::days(6);
    let sauna = thread(
        &format!("{RENTAL}/A 4"),
        "resident",
        MessageCategory::ParkingAndSauna,
        "Saunavuoro",
        "Onko torstain saunavuoro vielä vapaana?",
    );
    let id = sauna.message_thread_id;
    start("resident", t, Channel::Portal, sauna).await?;
    let later = |hours| t + Duration::hours(hours);
    let read = Thread::MarkRead {
        up_to_message_id: None,
    };
    step(
        "customer_service",
        later(1),
        Channel::Portal,
        id,
        read.clone(),
    )
    .await?;
    step(
        "customer_service",
        later(2),
        Channel::Portal,
        id,
        message("Torstain vuoro klo 19 on vapaa, varasimme sen teille."),
    )
    .await?;
    step("resident", later(5), Channel::Portal, id, read).await?;
    step(
        "customer_service",
        later(30),
        Channel::Portal,
        id,
        Thread::SetStatus {
            status: MessageThreadStatus::Closed,
        },
    )
    .await?;

    // 2. A renovation question, not yet answered: waiting for the office.
    start(
        "shareholder",
        now - Duration::hours(5),
        Channel::Portal,
        thread(
            &format!("{COOPERATIVE}/B 12"),
            "shareholder",
            MessageCategory::Renovation,
            "Kylpyhuoneremontti",
            "Aion uusia kylpyhuoneen laatoituksen. Mitä minun pitää toimittaa?",
        ),
    )
    .await?;

    // 3. Lost keys, phoned in to customer service, who took it and noted what was done.
    let t = now - Duration::days(1);
    let keys = thread(
        &format!("{RENTAL}/A 5"),
        "neighbour",
        MessageCategory::KeysAndAccess,
        "Kadonneet avaimet",
        "Soitti: kadotti kotiavaimensa, tarvitsee uuden avaimen.",
    );
    let id = keys.message_thread_id;
    start("customer_service", t, Channel::Phone, keys).await?;
    step(
        "customer_service",
        t + Duration::minutes(5),
        Channel::Phone,
        id,
        Thread::Assign {
            handler_id: demo.person("customer_service"),
        },
    )
    .await?;
    step(
        "customer_service",
        t + Duration::minutes(6),
        Channel::Phone,
        id,
        Thread::SetStatus {
            status: MessageThreadStatus::InProgress,
        },
    )
    .await?;
    step(
        "customer_service",
        t + Duration::minutes(10),
        Channel::Phone,
        id,
        Thread::AddNote {
            note_id: Uuid::now_v7(),
            text: "Avain tilattu lukkoliikkeestä, henkilöllisyys tarkistettava luovutettaessa."
                .into(),
        },
    )
    .await?;

    // 4. A water outage in building A of the rental company, to everyone living there.
    let building_id = talo.with_register(demo.caller("property_manager"), |register| {
        register
            .apartments
            .get(&demo.apartments[&format!("{RENTAL}/A 4")])
            .map(|a| a.building_id)
            .ok_or_else(|| ApiError::Internal("demo apartment A 4 missing".into()))
    })?;
    talo.dispatcher
        .send_bulk_notice(
            &request(
                "property_manager",
                now - Duration::hours(20),
                Channel::Portal,
            ),
            SendBulkNotice {
                bulk_notice_id: Uuid::now_v7(),
                target: NoticeTarget::Building { building_id },
                subject: "Vesikatko A-rapussa".into(),
                body: "A-rapun vesi katkaistaan huomenna klo 9-12 putkitöiden vuoksi.".into(),
            },
        )
        .await?;
    Ok(())
}
