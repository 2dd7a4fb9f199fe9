//! Rules of the ledger: reference numbers and virtual barcodes against published examples,
//! charge lines, the monthly run (idempotent, prorated, final), separate and deposit invoices,
//! payments allocated oldest due first, prepayments, arrears and their ageing, the unmatched
//! payments queue, and who may do what. Given a ledger, when a command, then events or the rule.

mod world;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use talo_domain::RejectionKind;
use talo_domain::access::{Principal, StaffGrant};
use talo_domain::decision::{Context, Decision};
use talo_domain::ledger::*;
use talo_domain::money::Month;
use talo_domain::payment_queue::{self, PaymentQueue};
use talo_domain::reference::*;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::ledger::*;
use talo_events_schema::register::{ContractKind, StaffRole, StaffScope};
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;
use world::World;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Noon in Helsinki on a day.
fn noon(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

fn month(text: &str) -> Month {
    Month::parse("month", text).unwrap()
}

fn iban() -> Iban {
    Iban::parse("iban", "FI79 4405 2020 0360 82").unwrap()
}

struct Given {
    world: World,
    events: Vec<DomainEvent>,
    next_number: u32,
}

impl Given {
    fn new() -> Self {
        Given {
            world: World::new(),
            events: Vec::new(),
            next_number: 1,
        }
    }

    fn contract(&self, person: Uuid) -> Uuid {
        self.world
            .register
            .contracts
            .values()
            .find(|c| c.person_id == person)
            .unwrap()
            .contract_id
    }

    fn ledger(&self) -> Ledger {
        Ledger::fold(&self.events)
    }

    fn principal(&self, person: Uuid) -> Principal {
        self.world.principal(person)
    }

    fn ctx<'a>(&'a self, principal: &'a Principal, at: DateTime<Utc>) -> Context<'a> {
        Context {
            principal,
            register: &self.world.register,
            occurred_at: at,
            channel: Channel::Portal,
        }
    }

    fn record(&mut self, decision: Decision) -> Vec<DomainEvent> {
        self.events.extend(decision.events.clone());
        decision.events
    }

    /// The office adds a charge line from 1 March 2026.
    fn charge(&mut self, contract: Uuid, kind: ChargeKind, cents: i64, vat_bp: u32) -> Uuid {
        let manager = self.principal(self.world.manager);
        let id = Uuid::now_v7();
        let decision = add_charge_line(
            &self.ledger(),
            AddChargeLine {
                contract_id: contract,
                charge_line_id: id,
                kind,
                description: format!("{kind:?}"),
                monthly_amount_cents: cents,
                vat_rate_bp: vat_bp,
                starts_on: ymd(2026, 3, 1),
            },
            &self.ctx(&manager, noon(2026, 3, 2)),
        )
        .expect("charge line");
        self.record(decision);
        id
    }

    fn number(&mut self) -> TicketNumberIssued {
        let n = self.next_number;
        self.next_number += 1;
        TicketNumberIssued {
            prefix: INVOICE_PREFIX.into(),
            year: 2026,
            number: n,
            ticket: format!("LA-2026-{n:06}"),
            issued_for: Uuid::nil(),
        }
    }

    /// The monthly run for one contract on `at`, recording what it issues.
    fn invoice_month(
        &mut self,
        contract: Uuid,
        m: &str,
        at: DateTime<Utc>,
    ) -> Option<InvoiceIssued> {
        let manager = self.principal(self.world.manager);
        let draft = draft_monthly(&self.ledger(), contract, month(m), &self.ctx(&manager, at))
            .expect("draft")
            .draft()?;
        let number = self.number();
        let decision = issue(
            &self.ledger(),
            draft,
            &number,
            &iban(),
            &self.ctx(&manager, at),
        )
        .expect("issue");
        match self.record(decision).pop() {
            Some(DomainEvent::InvoiceIssued(e)) => Some(e),
            _ => None,
        }
    }

    fn pay(&mut self, contract: Uuid, cents: i64, on: NaiveDate) -> PaymentReceived {
        let service = self.principal(self.world.service);
        let decision = receive_payment(
            &self.ledger(),
            ReceivePayment {
                contract_id: contract,
                payment_id: Uuid::now_v7(),
                source: PaymentSource::Manual,
                external_id: None,
                amount_cents: cents,
                booked_on: on,
                matched_reference: None,
                reference: None,
                payer_name: None,
            },
            &self.ctx(&service, noon(2026, 6, 30)),
        )
        .expect("payment");
        match self.record(decision).pop() {
            Some(DomainEvent::PaymentReceived(e)) => e,
            other => panic!("expected a payment, got {other:?}"),
        }
    }
}

// --- Reference numbers ---------------------------------------------------------------------

#[test]
fn national_reference_check_digits_computed_by_hand() {
    // 1232: 2×7 + 3×3 + 2×1 + 1×7 = 32; the next ten is 40, so the check digit is 8.
    assert_eq!(national_check_digit("1232"), 8);
    assert_eq!(national_reference(1232), "12328");
    // 123: 3×7 + 2×3 + 1×1 = 28 → 2.
    assert_eq!(national_reference(123), "1232");
    // 123456: 6×7 + 5×3 + 4×1 + 3×7 + 2×3 + 1×1 = 89 → 1.
    assert_eq!(national_reference(123456), "1234561");
    // 1234567890: 0×7 + 9×3 + 8×1 + 7×7 + 6×3 + 5×1 + 4×7 + 3×3 + 2×1 + 1×7 = 153 → 7.
    assert_eq!(national_reference(1234567890), "12345678907");
    // A sum that is a multiple of ten gives 0: 505: 5×7 + 0×3 + 5×1 = 40.
    assert_eq!(national_reference(505), "5050");
}

#[test]
fn national_references_are_read_with_spaces_and_leading_zeros() {
    assert_eq!(
        Reference::parse("reference", "86851 62596 19897").unwrap(),
        Reference::National("868516259619897".into())
    );
    assert_eq!(
        Reference::parse("reference", "0000012328").unwrap(),
        Reference::National("12328".into())
    );
    assert_eq!(group_national("868516259619897"), "86851 62596 19897");
    assert_eq!(group_national("20260000011"), "2 02600 00011");
}

#[test]
fn a_wrong_national_check_digit_or_shape_is_refused_by_name() {
    let wrong = Reference::parse("reference", "12329").unwrap_err();
    assert_eq!(
        (wrong.kind, wrong.rule, wrong.field),
        (
            RejectionKind::InvalidInput,
            "ledger.reference_check_digit",
            Some("reference")
        )
    );
    assert!(wrong.message.starts_with("reference: `12329`"));
    for bad in ["123", "12a45", "123456789012345678901", ""] {
        assert_eq!(
            Reference::parse("reference", bad).unwrap_err().rule,
            "ledger.reference_format",
            "{bad}"
        );
    }
}

#[test]
fn rf_references_follow_iso_11649() {
    // The standard's own example.
    assert_eq!(rf_reference("539007547034"), "RF18539007547034");
    assert_eq!(
        Reference::parse("reference", "RF18 5390 0754 7034").unwrap(),
        Reference::Creditor {
            check: "18".into(),
            body: "539007547034".into()
        }
    );
    assert_eq!(group_rf("RF18539007547034"), "RF18 5390 0754 7034");
    // Lowercase is read too; letters in the body are numbers (A = 10).
    assert!(Reference::parse("reference", "rf18539007547034").is_ok());
    assert_eq!(
        rf_reference("ab12"),
        format!("RF{}AB12", &rf_reference("AB12")[2..4])
    );
    let wrong = Reference::parse("reference", "RF19539007547034").unwrap_err();
    assert_eq!(wrong.rule, "ledger.reference_check_digit");
    assert_eq!(
        Reference::parse("reference", "RF1").unwrap_err().rule,
        "ledger.reference_format"
    );
}

#[test]
fn an_rf_reference_made_from_a_national_one_finds_it() {
    // Finance Finland's example: national 86851 62596 19897 is RF09 8685 1625 9619 897.
    assert_eq!(rf_reference("868516259619897"), "RF09868516259619897");
    let rf = Reference::parse("reference", "RF09 8685 1625 9619 897").unwrap();
    assert_eq!(rf.national().as_deref(), Some("868516259619897"));
    // The ISO example's body is no valid national reference, so it names none.
    let iso = Reference::parse("reference", "RF18539007547034").unwrap();
    assert_eq!(iso.national(), None);
}

#[test]
fn invoice_references_come_from_the_invoice_number() {
    let number = TicketNumberIssued {
        prefix: "LA".into(),
        year: 2026,
        number: 1,
        ticket: "LA-2026-000001".into(),
        issued_for: Uuid::nil(),
    };
    // Base 2026000001: 1×7 + 0 + ... + 6×7 + 2×3 + 0×1 + 2×7 = 69 → 1.
    assert_eq!(invoice_reference(&number), "20260000011");
    assert_eq!(rf_reference("20260000011"), "RF6620260000011");
}

// --- IBAN and virtual barcodes -------------------------------------------------------------

#[test]
fn ibans_are_checked_mod_97() {
    let iban = Iban::parse("iban", "fi79 4405 2020 0360 82").unwrap();
    assert_eq!(iban.as_str(), "FI7944052020036082");
    assert_eq!(iban.grouped(), "FI79 4405 2020 0360 82");
    assert!(Iban::parse("iban", "FI21 1234 5600 0007 85").is_ok());
    assert!(Iban::parse("iban", "DE89 3704 0044 0532 0130 00").is_ok());
    let wrong = Iban::parse("iban", "FI79 4405 2020 0360 83").unwrap_err();
    assert_eq!(
        (wrong.rule, wrong.field),
        ("ledger.iban_check_digits", Some("iban"))
    );
    assert_eq!(
        Iban::parse("iban", "FI79 4405 2020 0360").unwrap_err().rule,
        "ledger.iban_format",
        "a Finnish IBAN has 18 characters"
    );
    assert_eq!(
        Iban::parse("iban", "79 FI").unwrap_err().rule,
        "ledger.iban_format"
    );
}

#[test]
fn virtual_barcode_version_4_matches_the_published_examples() {
    // Finance Finland, "Pankkiviivakoodi", examples of version 4.
    let cases = [
        (
            "FI79 4405 2020 0360 82",
            488_315,
            "86851 62596 19897",
            ymd(2010, 6, 12),
            "479440520200360820048831500000000868516259619897100612",
        ),
        (
            "FI58 1017 1000 0001 22",
            48_299,
            "55958 22432 94671",
            ymd(2012, 1, 31),
            "458101710000001220004829900000000559582243294671120131",
        ),
        (
            "FI02 5000 4640 0013 02",
            69_380,
            "69 87567 20834 35364",
            ymd(2011, 7, 24),
            "402500046400013020006938000000069875672083435364110724",
        ),
    ];
    for (account, cents, reference, due, expected) in cases {
        let code = virtual_barcode(
            &Iban::parse("iban", account).unwrap(),
            cents,
            &Reference::parse("reference", reference).unwrap(),
            Some(due),
        );
        assert_eq!(code.as_deref(), Some(expected), "{account} {reference}");
    }
}

#[test]
fn virtual_barcode_version_5_matches_the_published_example() {
    let code = virtual_barcode(
        &iban(),
        488_315,
        &Reference::parse("reference", "RF09 8685 1625 9619 897").unwrap(),
        Some(ymd(2010, 6, 12)),
    )
    .unwrap();
    assert_eq!(
        code,
        "579440520200360820048831509000000868516259619897100612"
    );
    assert_eq!(code.len(), 54);
}

#[test]
fn what_a_barcode_cannot_carry_gives_none() {
    let reference = Reference::parse("reference", "12328").unwrap();
    let foreign = Iban::parse("iban", "DE89 3704 0044 0532 0130 00").unwrap();
    assert_eq!(virtual_barcode(&foreign, 100, &reference, None), None);
    assert_eq!(
        virtual_barcode(&iban(), 100_000_000, &reference, None),
        None
    );
    assert_eq!(virtual_barcode(&iban(), 0, &reference, None), None);
    let letters = Reference::parse("reference", &rf_reference("AB12")).unwrap();
    assert_eq!(virtual_barcode(&iban(), 100, &letters, None), None);
    // Without a due date the field is zeros.
    let undated = virtual_barcode(&iban(), 100, &reference, None).unwrap();
    assert!(undated.ends_with("000000"));
}

// --- Charge lines --------------------------------------------------------------------------

#[test]
fn charge_lines_fit_the_contract_kind() {
    let given = Given::new();
    let manager = given.principal(given.world.manager);
    let ctx = given.ctx(&manager, noon(2026, 3, 2));
    let add = |contract, kind| AddChargeLine {
        contract_id: contract,
        charge_line_id: Uuid::now_v7(),
        kind,
        description: "Vastike".into(),
        monthly_amount_cents: 32_000,
        vat_rate_bp: 0,
        starts_on: ymd(2026, 3, 1),
    };
    let lease = given.contract(given.world.tenant);
    let share = given.contract(given.world.owner);
    let refused = add_charge_line(
        &Ledger::default(),
        add(lease, ChargeKind::MaintenanceCharge),
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (refused.rule, refused.field),
        ("ledger.charge_kind_contract", Some("kind"))
    );
    let refused =
        add_charge_line(&Ledger::default(), add(share, ChargeKind::Rent), &ctx).unwrap_err();
    assert_eq!(refused.rule, "ledger.charge_kind_contract");
    let decision = add_charge_line(
        &Ledger::default(),
        add(share, ChargeKind::MaintenanceCharge),
        &ctx,
    )
    .unwrap();
    assert_eq!(decision.role, ActorRole::PropertyManager);
    assert!(
        matches!(decision.events[..], [DomainEvent::ChargeLineAdded(ref e)] if e.booking_id.is_none())
    );
    // Water and parking go on either.
    assert!(
        add_charge_line(
            &Ledger::default(),
            add(lease, ChargeKind::WaterAdvance),
            &ctx
        )
        .is_ok()
    );
}

#[test]
fn charge_line_input_is_checked_by_field() {
    let given = Given::new();
    let manager = given.principal(given.world.manager);
    let ctx = given.ctx(&manager, noon(2026, 3, 2));
    let lease = given.contract(given.world.tenant);
    let base = AddChargeLine {
        contract_id: lease,
        charge_line_id: Uuid::now_v7(),
        kind: ChargeKind::Rent,
        description: "Vuokra".into(),
        monthly_amount_cents: 85_000,
        vat_rate_bp: 0,
        starts_on: ymd(2026, 3, 1),
    };
    let cases = [
        (
            AddChargeLine {
                monthly_amount_cents: 0,
                ..base.clone()
            },
            "ledger.amount_positive",
            "monthly_amount_cents",
        ),
        (
            AddChargeLine {
                vat_rate_bp: 10_001,
                ..base.clone()
            },
            "ledger.vat_rate_range",
            "vat_rate_bp",
        ),
        (
            AddChargeLine {
                description: " ".into(),
                ..base.clone()
            },
            "text.required",
            "description",
        ),
        (
            AddChargeLine {
                starts_on: ymd(2026, 2, 28),
                ..base.clone()
            },
            "ledger.charge_outside_contract",
            "starts_on",
        ),
    ];
    for (command, rule, field) in cases {
        let refused = add_charge_line(&Ledger::default(), command, &ctx).unwrap_err();
        assert_eq!((refused.rule, refused.field), (rule, Some(field)));
    }
    let unknown = add_charge_line(
        &Ledger::default(),
        AddChargeLine {
            contract_id: Uuid::now_v7(),
            ..base
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (unknown.kind, unknown.rule),
        (RejectionKind::NotFound, "ledger.contract_unknown")
    );
}

#[test]
fn only_the_office_keeps_ledgers() {
    let given = Given::new();
    let lease = given.contract(given.world.tenant);
    let command = AddChargeLine {
        contract_id: lease,
        charge_line_id: Uuid::now_v7(),
        kind: ChargeKind::Rent,
        description: "Vuokra".into(),
        monthly_amount_cents: 85_000,
        vat_rate_bp: 0,
        starts_on: ymd(2026, 3, 1),
    };
    let try_as = |person| {
        let principal = given.principal(person);
        add_charge_line(
            &Ledger::default(),
            command.clone(),
            &given.ctx(&principal, noon(2026, 3, 2)),
        )
    };
    // The holder sees the ledger but may not change it; the auditor reads only; a neighbour is
    // told there is no such contract; the technical manager is office staff but no keeper.
    assert_eq!(
        try_as(given.world.tenant).unwrap_err().rule,
        "ledger.keeper_only"
    );
    assert_eq!(
        try_as(given.world.auditor).unwrap_err().rule,
        "auditor.read_only"
    );
    assert_eq!(
        try_as(given.world.neighbour).unwrap_err().rule,
        "ledger.contract_unknown"
    );
    assert_eq!(
        try_as(given.world.technical).unwrap_err().rule,
        "ledger.keeper_only"
    );
    assert_eq!(
        try_as(given.world.service).unwrap().role,
        ActorRole::CustomerService
    );
}

#[test]
fn who_reads_a_ledger() {
    let given = Given::new();
    let lease = given.contract(given.world.tenant);
    let contract = &given.world.register.contracts[&lease];
    let read = |person| reader(&given.principal(person), contract, given.world.property);
    assert_eq!(
        read(given.world.tenant),
        Some(LedgerReader::Holder(ActorRole::Resident))
    );
    assert_eq!(
        read(given.world.manager),
        Some(LedgerReader::Office(ActorRole::PropertyManager))
    );
    assert_eq!(read(given.world.auditor), Some(LedgerReader::Auditor));
    // The owner of the same apartment does not read the tenant's lease.
    assert_eq!(read(given.world.owner), None);
    assert_eq!(read(given.world.technical), None);
    // Only keepers and auditors look for an invoice beyond their own contracts, and a keeper
    // of some properties only on those.
    let others = |person| others_ledgers(&given.principal(person));
    assert_eq!(others(given.world.manager), OthersLedgers::Organisation);
    assert_eq!(others(given.world.service), OthersLedgers::Organisation);
    assert_eq!(others(given.world.auditor), OthersLedgers::Organisation);
    assert_eq!(others(given.world.tenant), OthersLedgers::None);
    assert_eq!(others(given.world.owner), OthersLedgers::None);
    assert_eq!(others(given.world.technical), OthersLedgers::None);
    let mut keeper = given.principal(given.world.technical);
    for property_id in [
        given.world.other_property,
        given.world.property,
        given.world.property,
    ] {
        keeper.staff.push(StaffGrant {
            role: StaffRole::CustomerService,
            scope: StaffScope::Property { property_id },
            contractor_company_id: None,
        });
    }
    let mut both = vec![given.world.property, given.world.other_property];
    both.sort_unstable();
    assert_eq!(others_ledgers(&keeper), OthersLedgers::Properties(both));
    // The properties they keep decide contract by contract as the search does.
    assert_eq!(
        reader(&keeper, contract, given.world.property),
        Some(LedgerReader::Office(ActorRole::CustomerService))
    );
    keeper.staff.push(StaffGrant {
        role: StaffRole::PropertyManager,
        scope: StaffScope::Organisation,
        contractor_company_id: None,
    });
    assert_eq!(others_ledgers(&keeper), OthersLedgers::Organisation);
}

#[test]
fn ending_a_charge_line_is_checked() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    let line = given.charge(lease, ChargeKind::Rent, 85_000, 0);
    let manager = given.principal(given.world.manager);
    let ctx = given.ctx(&manager, noon(2026, 3, 2));
    let before = end_charge_line(&given.ledger(), lease, line, ymd(2026, 2, 1), &ctx).unwrap_err();
    assert_eq!(before.rule, "ledger.charge_line_dates");
    let unknown = end_charge_line(
        &given.ledger(),
        lease,
        Uuid::now_v7(),
        ymd(2026, 5, 31),
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (unknown.kind, unknown.rule),
        (RejectionKind::NotFound, "ledger.charge_line_unknown")
    );
    let ended = end_charge_line(&given.ledger(), lease, line, ymd(2026, 5, 31), &ctx).unwrap();
    given.record(ended);
    let ctx = given.ctx(&manager, noon(2026, 3, 2));
    let again = end_charge_line(&given.ledger(), lease, line, ymd(2026, 6, 30), &ctx).unwrap_err();
    assert_eq!(
        (again.kind, again.rule),
        (RejectionKind::InvalidTransition, "ledger.charge_line_ended")
    );
    // Charged through May, not in June.
    let ledger = given.ledger();
    assert!(ledger.charge_lines[0].charges(month("2026-05")));
    assert!(!ledger.charge_lines[0].charges(month("2026-06")));
}

// --- The monthly run -----------------------------------------------------------------------

#[test]
fn a_month_is_invoiced_once_whatever_the_number_of_runs() {
    let mut given = Given::new();
    let share = given.contract(given.world.owner);
    given.charge(share, ChargeKind::MaintenanceCharge, 32_000, 0);
    given.charge(share, ChargeKind::WaterAdvance, 2_500, 0);
    let first = given
        .invoice_month(share, "2026-04", noon(2026, 3, 20))
        .unwrap();
    assert_eq!(
        first.invoice_id,
        monthly_invoice_id(share, month("2026-04"))
    );
    assert_eq!(
        (first.kind, first.period.as_deref()),
        (InvoiceKind::Monthly, Some("2026-04"))
    );
    assert_eq!(first.total_cents, 34_500);
    assert_eq!(first.due_on, ymd(2026, 4, 5));
    assert_eq!(first.reference, "20260000011");
    assert_eq!(first.rf_reference, "RF6620260000011");
    assert_eq!(first.invoice_number, "LA-2026-000001");
    assert_eq!(first.lines[0].description, "MaintenanceCharge 4/2026");
    // The second run finds the month invoiced: no draft, and issuing the same draft again
    // (two runs racing) records nothing.
    assert_eq!(
        given.invoice_month(share, "2026-04", noon(2026, 3, 21)),
        None
    );
    let manager = given.principal(given.world.manager);
    let stale = InvoiceDraft {
        contract_id: share,
        invoice_id: first.invoice_id,
        kind: InvoiceKind::Monthly,
        period: Some(month("2026-04")),
        due_on: first.due_on,
        lines: first.lines.clone(),
        role: ActorRole::PropertyManager,
    };
    let again = issue(
        &given.ledger(),
        stale,
        &given.number(),
        &iban(),
        &given.ctx(&manager, noon(2026, 3, 21)),
    )
    .unwrap();
    assert!(again.events.is_empty());
    assert_eq!(given.ledger().invoices.len(), 1);
}

#[test]
fn every_active_charge_line_is_invoiced_with_its_vat() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    // A parking space from a booking, with VAT 25,5 %.
    given.events.push(
        ChargeLineAdded {
            contract_id: lease,
            charge_line_id: Uuid::now_v7(),
            kind: ChargeKind::Parking,
            description: "Autopaikka P3".into(),
            monthly_amount_cents: 4_000,
            vat_rate_bp: 2550,
            starts_on: ymd(2026, 4, 17),
            booking_id: Some(Uuid::now_v7()),
        }
        .into(),
    );
    let march = given
        .invoice_month(lease, "2026-03", noon(2026, 3, 2))
        .unwrap();
    assert_eq!(march.total_cents, 85_000, "the parking starts in April");
    // Issued on 2 March, the 5th is too close: due 14 days after issuing.
    assert_eq!(march.due_on, ymd(2026, 3, 16));
    let april = given
        .invoice_month(lease, "2026-04", noon(2026, 3, 20))
        .unwrap();
    assert_eq!(april.total_cents, 89_000);
    // 40,00 € × 2550 / 12550 = 8,127... → 8,13 €.
    assert_eq!(april.lines[1].vat_cents, 813);
    assert_eq!(april.vat_cents, 813);
}

#[test]
fn nothing_to_invoice_gives_no_invoice() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    assert_eq!(
        given.invoice_month(lease, "2026-04", noon(2026, 3, 20)),
        None,
        "no charge lines"
    );
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    assert_eq!(
        given.invoice_month(lease, "2026-02", noon(2026, 3, 20)),
        None,
        "before the contract"
    );
    let manager = given.principal(given.world.manager);
    let far = draft_monthly(
        &given.ledger(),
        lease,
        month("2026-06"),
        &given.ctx(&manager, noon(2026, 3, 20)),
    )
    .unwrap_err();
    assert_eq!(
        (far.rule, far.field),
        ("ledger.month_too_far_ahead", Some("month"))
    );
}

#[test]
fn the_month_a_contract_ends_in_gives_a_prorated_final_invoice() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    // The lease ends on 15 April.
    let ended = given
        .world
        .register
        .decide(
            talo_events_schema::envelope::Actor::SYSTEM,
            None,
            talo_domain::register::RegisterCommand::EndContract(
                talo_events_schema::register::ContractEnded {
                    contract_id: lease,
                    ends_on: ymd(2026, 4, 15),
                },
            ),
        )
        .unwrap();
    given.world.register.apply(&ended);
    let final_invoice = given
        .invoice_month(lease, "2026-04", noon(2026, 3, 20))
        .unwrap();
    assert_eq!(final_invoice.kind, InvoiceKind::Final);
    // 15 of April's 30 days: half of 850,00 €.
    assert_eq!(final_invoice.total_cents, 42_500);
    assert_eq!(final_invoice.lines[0].description, "Rent 4/2026 (15/30 pv)");
    assert_eq!(
        given.invoice_month(lease, "2026-05", noon(2026, 3, 20)),
        None,
        "after the end"
    );
}

// --- Separate and deposit invoices ---------------------------------------------------------

#[test]
fn a_separate_invoice_has_explicit_lines() {
    let given = Given::new();
    let lease = given.contract(given.world.tenant);
    let service = given.principal(given.world.service);
    let ctx = given.ctx(&service, noon(2026, 3, 2));
    let command = SeparateInvoice {
        contract_id: lease,
        invoice_id: Uuid::now_v7(),
        lines: vec![
            SeparateLine {
                kind: InvoiceLineKind::Key,
                description: "Lisäavain".into(),
                amount_cents: 4_500,
                vat_rate_bp: 2550,
            },
            SeparateLine {
                kind: InvoiceLineKind::Damage,
                description: "Ikkunan korjaus".into(),
                amount_cents: 12_000,
                vat_rate_bp: 2550,
            },
        ],
        due_on: None,
    };
    let draft = draft_separate(command.clone(), &ctx).unwrap();
    assert_eq!(draft.due_on, ymd(2026, 3, 16));
    // 45,00 € → 9,14 €; 120,00 € → 24,38 €.
    assert_eq!(
        draft.lines.iter().map(|l| l.vat_cents).collect::<Vec<_>>(),
        [914, 2438]
    );
    let decision = issue(&Ledger::default(), draft, &given_number(7), &iban(), &ctx).unwrap();
    let DomainEvent::InvoiceIssued(e) = &decision.events[0] else {
        panic!()
    };
    assert_eq!(
        (e.kind, e.total_cents, e.vat_cents, e.period.clone()),
        (InvoiceKind::Separate, 16_500, 3_352, None)
    );
    let empty = draft_separate(
        SeparateInvoice {
            lines: vec![],
            ..command.clone()
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (empty.rule, empty.field),
        ("ledger.lines_count", Some("lines"))
    );
    let past = draft_separate(
        SeparateInvoice {
            due_on: Some(ymd(2026, 3, 1)),
            ..command
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (past.rule, past.field),
        ("ledger.due_in_past", Some("due_on"))
    );
}

fn given_number(n: u32) -> TicketNumberIssued {
    TicketNumberIssued {
        prefix: "LA".into(),
        year: 2026,
        number: n,
        ticket: format!("LA-2026-{n:06}"),
        issued_for: Uuid::nil(),
    }
}

#[test]
fn a_security_deposit_is_invoiced_once_on_a_lease() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    let share = given.contract(given.world.owner);
    let manager = given.principal(given.world.manager);
    let at = noon(2026, 3, 2);
    let on_share = draft_security_deposit(
        &Ledger::default(),
        share,
        Uuid::now_v7(),
        170_000,
        None,
        &given.ctx(&manager, at),
    )
    .unwrap_err();
    assert_eq!(on_share.rule, "ledger.deposit_needs_lease");
    let draft = draft_security_deposit(
        &given.ledger(),
        lease,
        Uuid::now_v7(),
        170_000,
        None,
        &given.ctx(&manager, at),
    )
    .unwrap();
    let decision = issue(
        &given.ledger(),
        draft,
        &given_number(1),
        &iban(),
        &given.ctx(&manager, at),
    )
    .unwrap();
    given.record(decision);
    let twice = draft_security_deposit(
        &given.ledger(),
        lease,
        Uuid::now_v7(),
        170_000,
        None,
        &given.ctx(&manager, at),
    )
    .unwrap_err();
    assert_eq!(
        (twice.kind, twice.rule),
        (
            RejectionKind::InvalidTransition,
            "ledger.deposit_already_invoiced"
        )
    );
}

// --- Payments, allocation, standing --------------------------------------------------------

#[test]
fn payments_settle_the_oldest_due_invoice_first() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    let march = given
        .invoice_month(lease, "2026-03", noon(2026, 3, 2))
        .unwrap(); // due 16.3.
    let april = given
        .invoice_month(lease, "2026-04", noon(2026, 3, 20))
        .unwrap(); // due 5.4.
    let may = given
        .invoice_month(lease, "2026-05", noon(2026, 4, 20))
        .unwrap(); // due 5.5.
    // 1000,00 €: all of March, 150,00 € of April, nothing of May.
    let payment = given.pay(lease, 100_000, ymd(2026, 4, 1));
    assert_eq!(
        payment.allocations,
        vec![
            PaymentAllocation {
                invoice_id: march.invoice_id,
                amount_cents: 85_000
            },
            PaymentAllocation {
                invoice_id: april.invoice_id,
                amount_cents: 15_000
            },
        ]
    );
    assert_eq!(payment.prepayment_cents, 0);
    let ledger = given.ledger();
    assert_eq!(
        ledger.invoice(march.invoice_id).unwrap().paid_on,
        Some(ymd(2026, 4, 1))
    );
    assert_eq!(
        ledger.invoice(april.invoice_id).unwrap().open_cents(),
        70_000
    );
    assert_eq!(ledger.invoice(may.invoice_id).unwrap().open_cents(), 85_000);
    // The next payment goes to April before May.
    let next = given.pay(lease, 80_000, ymd(2026, 4, 3));
    assert_eq!(
        next.allocations[0],
        PaymentAllocation {
            invoice_id: april.invoice_id,
            amount_cents: 70_000
        }
    );
    assert_eq!(
        next.allocations[1],
        PaymentAllocation {
            invoice_id: may.invoice_id,
            amount_cents: 10_000
        }
    );
}

#[test]
fn arrears_age_into_buckets_and_a_payment_turns_them_into_prepayment() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    given.invoice_month(lease, "2026-03", noon(2026, 3, 2)); // due 16.3.
    given.invoice_month(lease, "2026-04", noon(2026, 3, 20)); // due 5.4.
    given.invoice_month(lease, "2026-05", noon(2026, 4, 20)); // due 5.5.
    let ledger = given.ledger();
    // On 20 May: March is 65 days late, April 45, May 15.
    let standing = ledger.standing(ymd(2026, 5, 20));
    assert_eq!(standing.status(), StandingStatus::Arrears);
    assert_eq!(
        (
            standing.invoiced_cents,
            standing.balance_cents,
            standing.overdue_cents
        ),
        (255_000, 255_000, 255_000)
    );
    assert_eq!(
        standing.ageing,
        Ageing {
            days_0_30_cents: 85_000,
            days_31_60_cents: 85_000,
            days_61_90_cents: 85_000,
            over_90_cents: 0
        }
    );
    // On 14 June March is 90 days late (still 61-90, with April's 70); on 15 June 91 days.
    assert_eq!(
        ledger.standing(ymd(2026, 6, 14)).ageing,
        Ageing {
            days_0_30_cents: 0,
            days_31_60_cents: 85_000,
            days_61_90_cents: 170_000,
            over_90_cents: 0
        }
    );
    assert_eq!(
        ledger.standing(ymd(2026, 6, 15)).ageing.over_90_cents,
        85_000
    );
    // On 10 March nothing is due yet.
    let early = ledger.standing(ymd(2026, 3, 10));
    assert_eq!(
        (early.status(), early.overdue_cents, early.due_later_cents),
        (StandingStatus::Due, 0, 255_000)
    );
    // 2700,00 € pays all three and leaves 150,00 € in advance.
    let payment = given.pay(lease, 270_000, ymd(2026, 5, 21));
    assert_eq!(payment.prepayment_cents, 15_000);
    let standing = given.ledger().standing(ymd(2026, 5, 21));
    assert_eq!(standing.status(), StandingStatus::Prepaid);
    assert_eq!(
        (
            standing.balance_cents,
            standing.prepayment_cents,
            standing.overdue_cents
        ),
        (-15_000, 15_000, 0)
    );
    assert_eq!(standing.ageing.total(), 0);
}

#[test]
fn arrears_on_a_past_day_leave_out_later_payments_and_later_invoices() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    given.charge(lease, ChargeKind::Rent, 85_000, 0);
    given.invoice_month(lease, "2026-03", noon(2026, 3, 2)); // due 16.3.
    given.invoice_month(lease, "2026-04", noon(2026, 3, 20)); // due 5.4.
    given.invoice_month(lease, "2026-05", noon(2026, 4, 20)); // due 5.5.
    // 1000,00 € booked on 21 May settles March and 150,00 € of April.
    given.pay(lease, 100_000, ymd(2026, 5, 21));
    let ledger = given.ledger();
    // On 20 May (the day before the money came): March 65 days late, April 45, May 15.
    assert_eq!(
        ledger.ageing_on(ymd(2026, 5, 20)),
        Ageing {
            days_0_30_cents: 85_000,
            days_31_60_cents: 85_000,
            days_61_90_cents: 85_000,
            over_90_cents: 0
        }
    );
    // On 21 May the payment counts, as it does for today's standing.
    assert_eq!(
        ledger.ageing_on(ymd(2026, 5, 21)),
        ledger.standing(ymd(2026, 5, 21)).ageing
    );
    assert_eq!(
        ledger.ageing_on(ymd(2026, 5, 21)),
        Ageing {
            days_0_30_cents: 85_000,
            days_31_60_cents: 70_000,
            days_61_90_cents: 0,
            over_90_cents: 0
        }
    );
    // On 10 April May's invoice was not yet issued and April's was 5 days late.
    assert_eq!(
        ledger.ageing_on(ymd(2026, 4, 10)),
        Ageing {
            days_0_30_cents: 170_000,
            ..Ageing::default()
        }
    );
}

#[test]
fn arrears_on_a_day_count_the_prepayment_an_invoice_consumed_when_issued() {
    let mut given = Given::new();
    let share = given.contract(given.world.owner);
    given.charge(share, ChargeKind::MaintenanceCharge, 30_000, 0);
    given.pay(share, 20_000, ymd(2026, 3, 2));
    given.invoice_month(share, "2026-04", noon(2026, 3, 20)); // due 5.4., 200,00 € prepaid
    given.pay(share, 4_000, ymd(2026, 4, 8));
    let ledger = given.ledger();
    assert_eq!(ledger.ageing_on(ymd(2026, 4, 7)).days_0_30_cents, 10_000);
    assert_eq!(ledger.ageing_on(ymd(2026, 4, 8)).days_0_30_cents, 6_000);
}

#[test]
fn a_prepayment_is_consumed_by_the_next_invoices() {
    let mut given = Given::new();
    let share = given.contract(given.world.owner);
    given.charge(share, ChargeKind::MaintenanceCharge, 30_000, 0);
    given.pay(share, 50_000, ymd(2026, 3, 2));
    assert_eq!(given.ledger().account.prepayment_cents, 50_000);
    let april = given
        .invoice_month(share, "2026-04", noon(2026, 3, 20))
        .unwrap();
    assert_eq!(april.prepayment_applied_cents, 30_000);
    let may = given
        .invoice_month(share, "2026-05", noon(2026, 4, 20))
        .unwrap();
    assert_eq!(may.prepayment_applied_cents, 20_000);
    let ledger = given.ledger();
    assert_eq!(ledger.account.prepayment_cents, 0);
    assert!(!ledger.invoice(april.invoice_id).unwrap().is_open());
    assert_eq!(
        ledger.invoice(april.invoice_id).unwrap().paid_on,
        Some(ymd(2026, 3, 20))
    );
    assert_eq!(ledger.invoice(may.invoice_id).unwrap().open_cents(), 10_000);
    assert_eq!(ledger.standing(ymd(2026, 5, 6)).overdue_cents, 10_000);
}

#[test]
fn a_payment_already_in_the_ledger_is_not_recorded_again() {
    let mut given = Given::new();
    let lease = given.contract(given.world.tenant);
    let first = given.pay(lease, 10_000, ymd(2026, 3, 2));
    let service = given.principal(given.world.service);
    let again = receive_payment(
        &given.ledger(),
        ReceivePayment {
            contract_id: lease,
            payment_id: first.payment_id,
            source: PaymentSource::BankStatement,
            external_id: Some("X".into()),
            amount_cents: 10_000,
            booked_on: ymd(2026, 3, 2),
            matched_reference: None,
            reference: None,
            payer_name: None,
        },
        &given.ctx(&service, noon(2026, 3, 2)),
    )
    .unwrap();
    assert!(again.events.is_empty());
}

#[test]
fn a_payment_is_checked() {
    let given = Given::new();
    let lease = given.contract(given.world.tenant);
    let service = given.principal(given.world.service);
    let ctx = given.ctx(&service, noon(2026, 3, 2));
    let base = ReceivePayment {
        contract_id: lease,
        payment_id: Uuid::now_v7(),
        source: PaymentSource::Manual,
        external_id: None,
        amount_cents: 10_000,
        booked_on: ymd(2026, 3, 2),
        matched_reference: None,
        reference: None,
        payer_name: None,
    };
    let future = receive_payment(
        &Ledger::default(),
        ReceivePayment {
            booked_on: ymd(2026, 3, 3),
            ..base.clone()
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(
        (future.rule, future.field),
        ("ledger.payment_in_future", Some("paid_on"))
    );
    let zero = receive_payment(
        &Ledger::default(),
        ReceivePayment {
            amount_cents: -5,
            ..base.clone()
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(zero.rule, "ledger.amount_positive");
    let elsewhere = receive_payment(
        &Ledger::default(),
        ReceivePayment {
            matched_reference: Some("12328".into()),
            ..base
        },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(elsewhere.rule, "ledger.reference_other_contract");
}

// --- The unmatched payments queue ----------------------------------------------------------

fn unmatched(payment_id: Uuid) -> UnmatchedPaymentReceived {
    UnmatchedPaymentReceived {
        payment_id,
        external_id: Some("2026040312345".into()),
        amount_cents: 20_000,
        booked_on: ymd(2026, 4, 3),
        reference: Some("99999".into()),
        payer_name: Some("Maksaja".into()),
        reason: UnmatchedReason::ReferenceInvalid,
    }
}

#[test]
fn an_unmatched_payment_waits_once_and_is_allocated_once() {
    let given = Given::new();
    let service = given.principal(given.world.service);
    let ctx = given.ctx(&service, noon(2026, 4, 3));
    let id = Uuid::now_v7();
    let mut queue = PaymentQueue::default();
    let received = payment_queue::receive(&queue, unmatched(id), &ctx).unwrap();
    assert_eq!(received.events.len(), 1);
    for e in &received.events {
        queue.apply(e);
    }
    assert!(
        payment_queue::receive(&queue, unmatched(id), &ctx)
            .unwrap()
            .events
            .is_empty()
    );
    let lease = given.contract(given.world.tenant);
    let (allocated, payment) = payment_queue::allocate(&queue, id, lease, &ctx).unwrap();
    assert_eq!(payment.amount_cents, 20_000);
    for e in &allocated.events {
        queue.apply(e);
    }
    assert_eq!(queue.payments[&id].allocated_to, Some(lease));
    // Again to the same contract: nothing new (a retry finishing the ledger's side).
    let (again, _) = payment_queue::allocate(&queue, id, lease, &ctx).unwrap();
    assert!(again.events.is_empty());
    let share = given.contract(given.world.owner);
    let other = payment_queue::allocate(&queue, id, share, &ctx).unwrap_err();
    assert_eq!(
        (other.kind, other.rule),
        (
            RejectionKind::InvalidTransition,
            "ledger.unmatched_payment_allocated"
        )
    );
    let unknown = payment_queue::allocate(&queue, Uuid::now_v7(), lease, &ctx).unwrap_err();
    assert_eq!(
        (unknown.kind, unknown.rule),
        (RejectionKind::NotFound, "ledger.unmatched_payment_unknown")
    );
}

#[test]
fn residents_and_auditors_do_not_work_the_queue() {
    let given = Given::new();
    let queue = PaymentQueue::default();
    for (person, rule) in [
        (given.world.tenant, "ledger.keeper_only"),
        (given.world.auditor, "auditor.read_only"),
        (given.world.technical, "ledger.keeper_only"),
    ] {
        let principal = given.principal(person);
        let refused = payment_queue::receive(
            &queue,
            unmatched(Uuid::now_v7()),
            &given.ctx(&principal, noon(2026, 4, 3)),
        )
        .unwrap_err();
        assert_eq!(
            (refused.kind, refused.rule),
            (RejectionKind::Forbidden, rule)
        );
    }
    let _ = ContractKind::Lease;
}
