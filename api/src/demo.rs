//! The demo organisation: a management company with two housing companies, about forty
//! apartments, residents, a shareholder, a board chair, office staff, two contractors, an
//! auditor, some fault-report history in different states, request forms with a filed request,
//! a renovation request, announcements, message threads and a bulk notice, property details and
//! contacts, and a few documents in the archives. Seeded through the same commands as real use,
//! so every event is valid. Tests seed it too (twice, for isolation between organisations).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::bulk_notice::SendBulkNotice;
use talo_domain::calendar::local_date;
use talo_domain::document::{AddDocument, DocumentFile};
use talo_domain::fault_report::{FaultReportCommand as Step, ReportFault};
use talo_domain::message_thread::{MessageThreadCommand as Thread, StartMessageThread};
use talo_domain::reference::Iban;
use talo_domain::register::RegisterCommand;
use talo_events_schema::bulk_notice::NoticeTarget;
use talo_events_schema::document::{DocumentAudience, DocumentCategory};
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
use talo_domain::announcement::PublishAnnouncement;

/// The roles that get a demo token, in the order they are printed.
pub const ROLES: [&str; 11] = [
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
    "applicant",
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

/// The account the demo organisation's invoices are paid to: the account of Finance Finland's
/// virtual barcode examples.
pub const DEMO_IBAN: &str = "FI79 4405 2020 0360 82";

/// [`DEMO_IBAN`], checked.
pub fn demo_bank_account() -> Iban {
    Iban::parse("iban", DEMO_IBAN).unwrap_or_else(|e| panic!("the demo IBAN: {e}"))
}

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
        ("applicant", "Hilla Hakija"),
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
    seed_portal_requests(talo, &demo, now).await?;
    seed_property_register(talo, &demo, start).await?;
    seed_documents(talo, &demo, now).await?;
    seed_messages(talo, &demo, now).await?;
    seed_housing(talo, &demo, now).await?;
    seed_ledger(talo, &demo, now).await?;
    seed_bookings(talo, &demo, now).await?;
    Ok(demo)
}

/// Basic data and contacts of both properties, recorded by the property manager.
async fn seed_property_register(
    talo: &Talo,
    demo: &DemoOrganisation,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let request = Request {
        caller: demo.caller("property_manager"),
        channel: Channel::Office,
        occurred_at: at,
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    let manager = Actor {
        person_id: demo.person("property_manager"),
        role: talo_events_schema::envelope::ActorRole::PropertyManager,
    };
    let details = [
        (
            RENTAL,
            1968,
            2350,
            HeatingType::DistrictHeating,
            PlotTenure::Leased,
        ),
        (
            COOPERATIVE,
            1985,
            2480,
            HeatingType::GroundSource,
            PlotTenure::Owned,
        ),
    ];
    for (property, year_built, area, heating, plot) in details {
        let property_id = demo.properties[property];
        talo.dispatcher
            .register(
                &request,
                manager,
                RegisterCommand::RecordPropertyDetails(PropertyDetailsRecorded {
                    property_id,
                    year_built,
                    total_floor_area_m2: area,
                    heating,
                    plot,
                    plot_area_m2: Some(area + 900),
                }),
            )
            .await?;
        let contacts = [
            (
                ContactKind::PropertyManager,
                "Maija Isännöitsijä",
                Some("+358 40 555 0100"),
                Some("property.manager@example.fi"),
                Some("arkisin 9-15"),
            ),
            (
                ContactKind::MaintenanceCompany,
                MAINTENANCE,
                Some("+358 9 555 0200"),
                Some("huolto@kuusi.example.fi"),
                Some("vikailmoitukset portaalissa"),
            ),
            (
                ContactKind::Caretaker,
                "Heikki Huoltomies",
                Some("+358 40 555 0101"),
                None,
                Some("arkisin 7-15"),
            ),
            (
                ContactKind::EmergencyNumber,
                "Huollon päivystys",
                Some("+358 9 555 0299"),
                None,
                Some("24/7, vesivuodot ja hissit"),
            ),
        ];
        for (kind, name, phone, email, notes) in contacts {
            talo.dispatcher
                .register(
                    &request,
                    manager,
                    RegisterCommand::SetPropertyContact(PropertyContactSet {
                        property_id,
                        contact_id: Uuid::now_v7(),
                        kind,
                        name: name.into(),
                        phone: phone.map(Into::into),
                        email: email.map(Into::into),
                        notes: notes.map(Into::into),
                    }),
                )
                .await?;
        }
    }
    Ok(())
}

/// A few documents in the cooperative's archive, one for each audience, and house rules in
/// both properties.
async fn seed_documents(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let documents = [
        (
            COOPERATIVE,
            "Hallituksen kokouksen pöytäkirja 1/2026",
            DocumentCategory::Minutes,
            DocumentAudience::Board,
            "hallitus-1-2026.pdf",
        ),
        (
            COOPERATIVE,
            "Järjestyssäännöt",
            DocumentCategory::Other,
            DocumentAudience::AllResidents,
            "jarjestyssaannot.pdf",
        ),
        (
            RENTAL,
            "Järjestyssäännöt",
            DocumentCategory::Other,
            DocumentAudience::AllResidents,
            "jarjestyssaannot.pdf",
        ),
        (
            COOPERATIVE,
            "Tilinpäätös 2025",
            DocumentCategory::FinancialStatement,
            DocumentAudience::Shareholders,
            "tilinpaatos-2025.pdf",
        ),
        (
            COOPERATIVE,
            "Muistio isännöitsijän tapaamisesta",
            DocumentCategory::MeetingMemo,
            DocumentAudience::ChairOnly,
            "muistio-pj.pdf",
        ),
    ];
    for (n, (property, title, category, audience, filename)) in documents.into_iter().enumerate() {
        let request = Request {
            caller: demo.caller("property_manager"),
            channel: Channel::Portal,
            occurred_at: now - Duration::days(20 - n as i64),
            idempotency_key: None,
            correlation_id: Uuid::now_v7(),
        };
        let bytes = format!("%PDF-1.4\n% {title}\n%%EOF\n").into_bytes();
        let file = DocumentFile {
            filename: filename.into(),
            content_type: "application/pdf".into(),
            size_bytes: bytes.len() as u64,
            sha256: crate::blobs::sha256_hex(&bytes),
        };
        let command = AddDocument {
            document_id: Uuid::now_v7(),
            property_id: demo.properties[property],
            title: title.into(),
            category,
            audience,
            file,
        };
        let store = async {
            talo.blobs
                .put(&bytes)
                .map(|_| ())
                .map_err(|e| ApiError::Internal(e.to_string()))
        };
        talo.dispatcher
            .add_document(&request, command, &talo.upload_limits(), store)
            .await?;
    }
    Ok(())
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

/// The ids of the demo's request forms, renovation and announcement, for a walkthrough.
fn demo_request(demo: &DemoOrganisation, role: &str, at: DateTime<Utc>, key: &str) -> Request {
    Request {
        caller: demo.caller(role),
        channel: Channel::Portal,
        occurred_at: at,
        idempotency_key: Some(format!("demo-{key}")),
        correlation_id: Uuid::now_v7(),
    }
}

/// Two request forms (a key order and a document order) with a filed key order, a resident
/// committee member, a renovation request waiting for a supplement, and a current water-outage
/// announcement for building A of the rental company.
async fn seed_portal_requests(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use talo_domain::renovation::{RenovationCommand, RequestRenovation};
    use talo_domain::request_form::{FileServiceRequest, FormDefinition};
    use talo_events_schema::announcement::{AnnouncementCategory, AnnouncementTarget};
    use talo_events_schema::renovation::RenovationWorkType;
    use talo_events_schema::request_form::{Answer, AnswerValue, Question, QuestionKind};

    let t = now - Duration::days(30);
    let question = |id: &str, label: &str, required, kind| Question {
        question_id: id.into(),
        label: label.into(),
        help_text: None,
        required,
        kind,
    };
    let key_order = FormDefinition {
        name: "Avaintilaus".into(),
        description: "Lisäavaimet asuntoon tai varastoon".into(),
        questions: vec![
            question(
                "key_type",
                "Mihin avain?",
                true,
                QuestionKind::SingleChoice {
                    options: vec!["asunto".into(), "varasto".into(), "autotalli".into()],
                },
            ),
            question(
                "key_count",
                "Montako avainta?",
                true,
                QuestionKind::Number {
                    min: Some(1),
                    max: Some(5),
                },
            ),
            question("pickup_date", "Noutopäivä", false, QuestionKind::Date),
            question(
                "notes",
                "Lisätietoja",
                false,
                QuestionKind::Text { max_length: 500 },
            ),
        ],
    };
    let document_order = FormDefinition {
        name: "Asiakirjatilaus".into(),
        description: "Isännöitsijäntodistus, osakeluettelo ym.".into(),
        questions: vec![
            question(
                "documents",
                "Tilattavat asiakirjat",
                true,
                QuestionKind::MultipleChoice {
                    options: vec![
                        "isannoitsijantodistus".into(),
                        "kunnossapitotarveselvitys".into(),
                        "tilinpaatos".into(),
                    ],
                },
            ),
            question("express", "Pikatoimitus?", true, QuestionKind::YesNo),
        ],
    };
    let manager = |key: &str| demo_request(demo, "property_manager", t, key);
    let key_form = manager("form-keys").new_entity_id("request-form");
    talo.dispatcher
        .publish_request_form(&manager("form-keys"), None, key_order)
        .await?;
    talo.dispatcher
        .publish_request_form(&manager("form-documents"), None, document_order)
        .await?;

    let resident = demo_request(demo, "resident", now - Duration::days(2), "key-order");
    let answers = vec![
        Answer {
            question_id: "key_type".into(),
            value: AnswerValue::Choice("varasto".into()),
        },
        Answer {
            question_id: "key_count".into(),
            value: AnswerValue::Number(1),
        },
    ];
    let command = FileServiceRequest {
        request_id: resident.new_entity_id("service-request"),
        apartment_id: demo.apartments[&format!("{RENTAL}/A 4")],
        requester_id: demo.person("resident"),
        answers,
    };
    talo.dispatcher
        .file_service_request(&resident, key_form, command)
        .await?;

    let register = |command: RegisterCommand| {
        let request = Request {
            caller: Caller {
                person_id: Uuid::nil(),
                organisation_id: demo.organisation_id,
            },
            channel: Channel::System,
            occurred_at: t,
            idempotency_key: None,
            correlation_id: Uuid::now_v7(),
        };
        async move {
            talo.dispatcher
                .register(&request, Actor::SYSTEM, command)
                .await
        }
    };
    register(RegisterCommand::AppointResidentCommitteeMember(
        ResidentCommitteeMemberAppointed {
            property_id: demo.properties[RENTAL],
            person_id: demo.person("neighbour"),
            starts_on: local_date(t),
        },
    ))
    .await?;

    let shareholder = demo_request(demo, "shareholder", now - Duration::days(6), "bathroom");
    let renovation_id = shareholder.new_entity_id("renovation");
    let renovation = RequestRenovation {
        renovation_id,
        apartment_id: demo.apartments[&format!("{COOPERATIVE}/B 12")],
        work_types: vec![RenovationWorkType::Bathroom, RenovationWorkType::Plumbing],
        description: "Kylpyhuoneen täysremontti: vedeneristys, laatoitus, uusi lattiakaivo".into(),
        planned_start: local_date(now + Duration::days(30)),
        planned_end: local_date(now + Duration::days(51)),
        contractors: vec!["Kylppärimestarit Oy".into()],
        attachments: vec!["pohjapiirros.pdf".into()],
    };
    talo.dispatcher
        .request_renovation(&shareholder, renovation)
        .await?;
    let supplement = RenovationCommand::RequestSupplement {
        request: "Toimittakaa vedeneristäjän sertifikaatti ja työselostus".into(),
    };
    talo.dispatcher
        .renovation_step(
            &demo_request(
                demo,
                "technical_manager",
                now - Duration::days(5),
                "bathroom-supplement",
            ),
            renovation_id,
            supplement,
        )
        .await?;

    let building_a = {
        let view = talo.read_models.register.read();
        view.organisation(demo.organisation_id).and_then(|r| {
            r.apartments
                .get(&demo.apartments[&format!("{RENTAL}/A 4")])
                .map(|a| a.building_id)
        })
    };
    let outage = PublishAnnouncement {
        announcement_id: demo_request(demo, "property_manager", now, "water-outage")
            .new_entity_id("announcement"),
        title: "Vesikatko A-rapussa".into(),
        body: "Vesi on katki A-rapussa ensi tiistaina klo 8-12 putkiremontin vuoksi.".into(),
        category: AnnouncementCategory::Outage,
        targets: vec![AnnouncementTarget {
            property_id: demo.properties[RENTAL],
            building_id: building_a,
        }],
        publish_at: now - Duration::days(1),
        expires_at: Some(now + Duration::days(10)),
    };
    talo.dispatcher
        .publish_announcement(
            &demo_request(
                demo,
                "property_manager",
                now - Duration::days(1),
                "water-outage",
            ),
            outage,
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

/// The applicant's rental housing application, waiting for an offer.
async fn seed_housing(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use talo_domain::housing::FileApplication;
    let request = demo_request(
        demo,
        "applicant",
        now - Duration::days(10),
        "housing-application",
    );
    let command = FileApplication {
        application_id: request.new_entity_id("housing-application"),
        household_size: 2,
        desired_areas: vec!["Herttoniemi".into(), "Kulosaari".into()],
        apartment_types: vec!["2h+k".into()],
        max_rent_cents: 95_000,
        move_in_from: local_date(now + Duration::days(30)),
    };
    talo.dispatcher
        .file_housing_application(&request, command)
        .await?;
    Ok(())
}

/// The rental property's sauna (weekly shifts, one held by A 5), parking area (AP-1 rented by
/// A 5, with its monthly charge on A 5's lease) and laundry room, defined by the property
/// manager. A 4 books nothing, so the walkthrough can.
async fn seed_bookings(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use talo_domain::booking::{BookingCommand, DefineResource};
    use talo_events_schema::booking::{BookingRules, ResourceKind, WeeklyShift};

    let request = |role: &str, at: DateTime<Utc>| Request {
        caller: demo.caller(role),
        channel: Channel::Portal,
        occurred_at: at,
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    let defined_at = now - Duration::days(30);
    let hour = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let shift = |id: &str, weekday, h| WeeklyShift {
        shift_id: id.into(),
        weekday,
        starts_at: hour(h),
        ends_at: hour(h + 1),
    };
    let rules = |max_active, max_days_ahead, cancel_hours_before, price_cents| BookingRules {
        max_active_per_apartment: max_active,
        max_days_ahead,
        cancel_hours_before,
        price_cents,
        vat_rate_bp: 0,
    };
    let property_id = demo.properties[RENTAL];
    let define =
        |kind, name: &str, rules, shifts, spaces, hours: Option<(u32, u32)>| DefineResource {
            resource_id: Uuid::now_v7(),
            property_id,
            kind,
            name: name.into(),
            rules,
            shifts,
            spaces,
            opens_at: hours.map(|(o, _)| hour(o)),
            closes_at: hours.map(|(_, c)| hour(c)),
        };
    let sauna = define(
        ResourceKind::Sauna,
        "Saunavuorot",
        rules(1, 30, 0, 1500),
        vec![
            shift("tue-18", 2, 18),
            shift("tue-19", 2, 19),
            shift("thu-18", 4, 18),
            shift("thu-19", 4, 19),
            shift("fri-20", 5, 20),
        ],
        Vec::new(),
        None,
    );
    let parking = define(
        ResourceKind::Parking,
        "Autopaikat",
        rules(1, 30, 0, 3500),
        Vec::new(),
        vec!["AP-1".into(), "AP-2".into(), "AP-3".into()],
        None,
    );
    let laundry = define(
        ResourceKind::Laundry,
        "Pesutupa",
        rules(2, 7, 3, 0),
        Vec::new(),
        Vec::new(),
        Some((7, 22)),
    );
    let (sauna_id, parking_id) = (sauna.resource_id, parking.resource_id);
    for resource in [sauna, parking, laundry] {
        talo.dispatcher
            .define_bookable_resource(&request("property_manager", defined_at), resource)
            .await?;
    }
    let booked_at = now - Duration::days(20);
    let a5 = demo.apartments[&format!("{RENTAL}/A 5")];
    talo.dispatcher
        .booking_step(
            &request("neighbour", booked_at),
            sauna_id,
            BookingCommand::BookSaunaShift {
                booking_id: Uuid::now_v7(),
                apartment_id: a5,
                shift_id: "thu-18".into(),
            },
        )
        .await?;
    talo.dispatcher
        .booking_step(
            &request("neighbour", booked_at),
            parking_id,
            BookingCommand::BookParkingSpace {
                booking_id: Uuid::now_v7(),
                apartment_id: a5,
                space: Some("AP-1".into()),
            },
        )
        .await?;
    Ok(())
}

/// Charge lines on every contract (rent and water on the rental company's leases; maintenance
/// charge, financing charge and water on the cooperative's shareholdings), the previous and
/// the current month invoiced, and the previous month paid by everyone except the neighbour
/// (in arrears); the shareholder paid 100,00 € extra, which the current month consumed. One
/// bank payment with a mistyped reference waits in the unmatched queue.
async fn seed_ledger(
    talo: &Talo,
    demo: &DemoOrganisation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use talo_domain::ledger::{self, AddChargeLine, ReceivePayment};
    use talo_domain::money::Month;
    use talo_events_schema::ledger::{
        ChargeKind, PaymentSource, UnmatchedPaymentReceived, UnmatchedReason,
    };

    let request = |role: &str, at: DateTime<Utc>| Request {
        caller: demo.caller(role),
        channel: Channel::Office,
        occurred_at: at,
        idempotency_key: None,
        correlation_id: Uuid::now_v7(),
    };
    let contracts: Vec<(Uuid, ContractKind, u32, Uuid, chrono::NaiveDate)> =
        talo.with_register(demo.caller("property_manager"), |register| {
            Ok(register
                .contracts
                .values()
                .filter_map(|c| {
                    let a = register.apartments.get(&c.apartment_id)?;
                    Some((
                        c.contract_id,
                        c.kind,
                        a.floor_area_dm2,
                        c.person_id,
                        c.starts_on,
                    ))
                })
                .collect())
        })?;
    let setup = request("property_manager", now - Duration::days(60));
    for (contract_id, kind, area_dm2, _, starts_on) in &contracts {
        // Per square metre a month: rent 18,00 €, maintenance 4,60 €, financing 2,10 €.
        let lines: Vec<(ChargeKind, &str, i64)> = match kind {
            ContractKind::Lease => vec![
                (ChargeKind::Rent, "Vuokra", i64::from(*area_dm2) * 18),
                (ChargeKind::WaterAdvance, "Vesimaksu", 2_200),
            ],
            ContractKind::Shareholding => vec![
                (
                    ChargeKind::MaintenanceCharge,
                    "Hoitovastike",
                    i64::from(*area_dm2) * 46 / 10,
                ),
                (
                    ChargeKind::FinancingCharge,
                    "Rahoitusvastike",
                    i64::from(*area_dm2) * 21 / 10,
                ),
                (ChargeKind::WaterAdvance, "Vesiennakko", 2_500),
            ],
        };
        for (charge, description, cents) in lines {
            let command = AddChargeLine {
                contract_id: *contract_id,
                charge_line_id: Uuid::now_v7(),
                kind: charge,
                description: description.into(),
                monthly_amount_cents: cents,
                vat_rate_bp: 0,
                starts_on: *starts_on,
            };
            talo.dispatcher
                .ledger_step(&setup, *contract_id, "ChargeLineAdded", |state, ctx| {
                    ledger::add_charge_line(state, command.clone(), ctx)
                })
                .await?;
        }
    }
    let current = Month::of(local_date(now));
    let previous = Month::of(current.first_day() - Duration::days(1));
    let before = Month::of(previous.first_day() - Duration::days(1));
    let iban = &talo.config.bank_account;
    let noon = |date: chrono::NaiveDate| date.and_hms_opt(10, 0, 0).unwrap_or_default().and_utc();
    for (month, run_on) in [(previous, before.day(20)), (current, previous.day(20))] {
        talo.dispatcher
            .run_monthly_invoicing(
                &request("property_manager", noon(run_on)),
                month,
                None,
                iban,
            )
            .await?;
    }
    let paid_on = previous.day(3);
    let bank = request("customer_service", noon(paid_on));
    for (contract_id, _, _, person_id, _) in &contracts {
        if *person_id == demo.person("neighbour") {
            continue;
        }
        let invoice = talo
            .dispatcher
            .ledger(*contract_id)
            .await?
            .invoices
            .first()
            .cloned();
        let Some(invoice) = invoice else { continue };
        let extra = if *person_id == demo.person("shareholder") {
            10_000
        } else {
            0
        };
        let external_id = format!(
            "DEMO-{}-{}",
            paid_on.format("%Y%m%d"),
            invoice.invoice_number
        );
        let command = ReceivePayment {
            contract_id: *contract_id,
            payment_id: crate::ledger::bank_payment_id(demo.organisation_id, &external_id),
            source: PaymentSource::BankStatement,
            external_id: Some(external_id),
            amount_cents: invoice.total_cents + extra,
            booked_on: paid_on,
            matched_reference: Some(invoice.reference.to_string()),
            reference: Some(invoice.reference.to_string()),
            payer_name: None,
        };
        talo.dispatcher
            .ledger_step(&bank, *contract_id, "PaymentReceived", |state, ctx| {
                ledger::receive_payment(state, command.clone(), ctx)
            })
            .await?;
    }
    // A payment whose reference lost a digit on the way.
    let external_id = format!("DEMO-{}-UNMATCHED", paid_on.format("%Y%m%d"));
    let queued = UnmatchedPaymentReceived {
        payment_id: crate::ledger::bank_payment_id(demo.organisation_id, &external_id),
        external_id: Some(external_id),
        amount_cents: 4_500,
        booked_on: paid_on,
        reference: Some("2026000012".into()),
        payer_name: Some("Virtanen Aleksi".into()),
        reason: UnmatchedReason::ReferenceInvalid,
    };
    talo.dispatcher
        .queue_unmatched_payment(&bank, queued)
        .await?;
    Ok(())
}
