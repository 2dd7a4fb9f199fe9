//! Money: each contract's monthly charges, the monthly invoicing run on the 20th for the next
//! month (each invoice numbered from the `LA` series), and payments, most from bank statements
//! matched by reference, some entered by hand, some late, by each payer's habit.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use talo_domain::decision::Context;
use talo_domain::ledger::{self as rules, AddChargeLine, MonthlyInvoicing, ReceivePayment};
use talo_domain::money::Month;
use talo_events_schema::envelope::Channel;
use talo_events_schema::ledger::{ChargeKind, PaymentSource};
use talo_events_schema::register::ContractKind;
use talo_events_schema::streams;
use uuid::Uuid;

use super::chance::Chance;
use super::register::Organisation;
use super::{GenerateError, World, principal_of};

/// How a payer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayHabit {
    /// Before the due date, every time.
    OnTime,
    /// Usually on time, now and then weeks late.
    SometimesLate,
    /// Weeks late as a rule.
    Late,
}

impl PayHabit {
    pub fn draw(chance: &mut Chance) -> PayHabit {
        match chance.between(0, 99) {
            0..=74 => PayHabit::OnTime,
            75..=94 => PayHabit::SometimesLate,
            _ => PayHabit::Late,
        }
    }
}

/// Payments planned for the days they will be booked.
#[derive(Default)]
pub struct Payments {
    due: BTreeMap<NaiveDate, Vec<Planned>>,
    /// Bank ids are unique per statement line.
    statement_lines: u64,
}

struct Planned {
    contract: usize,
    booked_on: NaiveDate,
    invoice_id: Uuid,
    amount_cents: i64,
    source: PaymentSource,
}

/// A rental apartment's monthly rent: what its lease charges and what an offer of it says.
pub fn monthly_rent_cents(floor_area_dm2: i64) -> i64 {
    floor_area_dm2 * 18
}

/// Sets up a new contract's monthly charges, by the property's manager.
pub fn open(
    world: &mut World,
    org: &mut Organisation,
    contract: usize,
    at: DateTime<Utc>,
) -> Result<(), GenerateError> {
    let file = &org.contracts[contract];
    let property = &org.properties[file.property];
    let (contract_id, manager, contract_starts) =
        (file.contract_id, property.manager, file.starts_on);
    let area = i64::from(property.apartments[file.apartment].floor_area_dm2);
    let lines: Vec<(ChargeKind, &str, i64)> = match file.kind {
        ContractKind::Lease => vec![
            (ChargeKind::Rent, "Vuokra", monthly_rent_cents(area)),
            (ChargeKind::WaterAdvance, "Vesimaksu", 2_200),
        ],
        ContractKind::Shareholding => vec![
            (
                ChargeKind::MaintenanceCharge,
                "Hoitovastike",
                area * 46 / 10,
            ),
            (
                ChargeKind::FinancingCharge,
                "Rahoitusvastike",
                area * 21 / 10,
            ),
            (ChargeKind::WaterAdvance, "Vesiennakko", 2_500),
        ],
    };
    // Charges start when the history does for contracts signed before it.
    let starts_on = contract_starts.max(talo_domain::calendar::local_date(at));
    for (kind, description, cents) in lines {
        let command = AddChargeLine {
            contract_id,
            charge_line_id: world.chance.id_at(at),
            kind,
            description: description.into(),
            monthly_amount_cents: cents,
            vat_rate_bp: 0,
            starts_on,
        };
        step(
            world,
            org,
            contract,
            manager,
            Channel::Office,
            at,
            |ledger, ctx| rules::add_charge_line(ledger, command.clone(), ctx),
        )?;
    }
    Ok(())
}

/// Decides a step on a contract's ledger as `person` and records it on the ledger's stream.
pub fn step(
    world: &mut World,
    org: &mut Organisation,
    contract: usize,
    person: Uuid,
    channel: Channel,
    at: DateTime<Utc>,
    decide: impl Fn(
        &talo_domain::ledger::Ledger,
        &Context<'_>,
    ) -> Result<talo_domain::decision::Decision, talo_domain::Rejection>,
) -> Result<(), GenerateError> {
    let file = &org.contracts[contract];
    let property = &org.properties[file.property];
    let principal = principal_of(&property.register, person, at)?;
    let ctx = Context {
        principal: &principal,
        register: &property.register,
        occurred_at: at,
        channel,
    };
    let decision = decide(&file.ledger, &ctx).map_err(GenerateError::refused("a ledger step"))?;
    let act = world.act(person, channel, at, Some(property.property_id));
    let stream = streams::ledger(file.contract_id);
    let file = &mut org.contracts[contract];
    file.last_at = file.last_at.max(at);
    for event in &decision.events {
        file.ledger.apply(event);
        if matches!(
            event,
            talo_events_schema::DomainEvent::ChargeLineAdded(_)
                | talo_events_schema::DomainEvent::ChargeLineEnded(_)
        ) {
            file.charge_events.push(event.clone());
        }
    }
    world.log.record(&mut world.chance, &stream, &act, decision);
    Ok(())
}

/// The ledger's day: the monthly run (the first month's on the first day, later ones on the
/// 20th for the next month) and the payments booked the day before, imported in the morning.
pub fn day(
    world: &mut World,
    org: &mut Organisation,
    day: NaiveDate,
    until: NaiveDate,
    first_day: bool,
) -> Result<(), GenerateError> {
    // Payments first: the statement is imported in the morning, before the run.
    if let Some(planned) = org.ledger.due.remove(&day) {
        let mut timed: Vec<(DateTime<Utc>, Planned)> = planned
            .into_iter()
            .map(|p| {
                let at = match p.source {
                    PaymentSource::BankStatement => world.chance.time_on(day, 8, 9),
                    _ => world.chance.time_on(day, 9, 16),
                };
                (at, p)
            })
            .collect();
        // A ledger's events keep their business order.
        timed.sort_by_key(|(at, _)| *at);
        for (at, payment) in timed {
            receive(world, org, payment, at, until)?;
        }
    }
    if first_day {
        invoice_month(world, org, Month::of(day), day, until)?;
    } else if day.day() == 20 {
        invoice_month(world, org, Month::of(day).next(), day, until)?;
    }
    Ok(())
}

fn invoice_month(
    world: &mut World,
    org: &mut Organisation,
    month: Month,
    run_on: NaiveDate,
    until: NaiveDate,
) -> Result<(), GenerateError> {
    let iban = crate::demo::demo_bank_account();
    for property in 0..org.properties.len() {
        let manager = org.properties[property].manager;
        let at = world.chance.time_on(run_on, 9, 11);
        let contracts: Vec<usize> = org.properties[property]
            .apartments
            .iter()
            .flat_map(|a| a.contracts.iter().copied())
            .filter(|c| org.contracts[*c].active_in(month))
            .collect();
        for contract in contracts {
            let file = &org.contracts[contract];
            // Not before what the ledger already holds (a payment or a lease signed earlier
            // in the day).
            let at = at.max(file.last_at);
            let property_state = &org.properties[property];
            let principal = principal_of(&property_state.register, manager, at)?;
            let ctx = Context {
                principal: &principal,
                register: &property_state.register,
                occurred_at: at,
                channel: Channel::Office,
            };
            let drafted = rules::draft_monthly(&file.ledger, file.contract_id, month, &ctx)
                .map_err(GenerateError::refused("a monthly invoice"))?;
            let MonthlyInvoicing::Draft(draft) = drafted else {
                continue;
            };
            let act = world.act(
                manager,
                Channel::Office,
                at,
                Some(property_state.property_id),
            );
            let ticket = world.issue_ticket(rules::INVOICE_PREFIX, draft.invoice_id, &act);
            let decision = rules::issue(&file.ledger, draft, &ticket, &iban, &ctx)
                .map_err(GenerateError::refused("an invoice"))?;
            let stream = streams::ledger(file.contract_id);
            let file = &mut org.contracts[contract];
            for event in &decision.events {
                file.ledger.apply(event);
            }
            file.last_at = at;
            world.log.record(&mut world.chance, &stream, &act, decision);
            if let Some(invoice_id) = file.ledger.invoices.last().map(|i| i.invoice_id) {
                plan_payment(world, org, contract, invoice_id, until);
            }
        }
    }
    Ok(())
}

/// When and how the payer will pay the invoice just issued.
fn plan_payment(
    world: &mut World,
    org: &mut Organisation,
    contract: usize,
    invoice_id: Uuid,
    until: NaiveDate,
) {
    let file = &org.contracts[contract];
    let Some(invoice) = file.ledger.invoice(invoice_id) else {
        return;
    };
    let open = invoice.open_cents();
    if open <= 0 {
        return;
    }
    let chance = &mut world.chance;
    let late = match file.habit {
        PayHabit::OnTime => false,
        PayHabit::SometimesLate => chance.chance(0.3),
        PayHabit::Late => chance.chance(0.9),
    };
    let booked_on = if late {
        invoice.due_on + Duration::days(chance.between(3, 45))
    } else {
        (invoice.due_on - Duration::days(chance.between(0, 7)))
            .max(invoice.issued_on + Duration::days(1))
    };
    if booked_on >= until {
        return;
    }
    // Now and then a payer rounds up; the rest is prepayment the next invoice consumes.
    let amount_cents = if chance.chance(0.02) {
        (open / 10_000 + 1) * 10_000
    } else {
        open
    };
    let source = if chance.chance(0.9) {
        PaymentSource::BankStatement
    } else {
        PaymentSource::Manual
    };
    // Bank payments arrive on the next working day's statement; manual ones are entered the
    // day they are made.
    let recorded_on = match source {
        PaymentSource::BankStatement => next_working_day(booked_on),
        _ => booked_on,
    };
    org.ledger
        .due
        .entry(recorded_on)
        .or_default()
        .push(Planned {
            contract,
            booked_on,
            invoice_id,
            amount_cents,
            source,
        });
}

/// Records a planned payment: a bank payment from the next working day's statement, matched by
/// the invoice's reference; a manual one as customer service enters it that day.
fn receive(
    world: &mut World,
    org: &mut Organisation,
    planned: Planned,
    at: DateTime<Utc>,
    until: NaiveDate,
) -> Result<(), GenerateError> {
    if talo_domain::calendar::local_date(at) >= until {
        return Ok(());
    }
    let booked_on = planned.booked_on;
    let clerk = *world.chance.pick(&org.customer_service);
    let file = &org.contracts[planned.contract];
    let Some(invoice) = file.ledger.invoice(planned.invoice_id) else {
        return Ok(());
    };
    let (payment_id, external_id, matched) = match planned.source {
        PaymentSource::BankStatement => {
            org.ledger.statement_lines += 1;
            let external_id = format!(
                "GEN{}{:010}",
                booked_on.format("%Y%m%d"),
                org.ledger.statement_lines
            );
            (
                crate::ledger::bank_payment_id(world.organisation_id, &external_id),
                Some(external_id),
                Some(invoice.reference.to_string()),
            )
        }
        _ => (world.chance.id_at(at), None, None),
    };
    let payer_name = org.properties[file.property]
        .register
        .persons
        .get(&file.person_id)
        .map(|p| p.name.clone());
    let command = ReceivePayment {
        contract_id: file.contract_id,
        payment_id,
        source: planned.source,
        external_id,
        amount_cents: planned.amount_cents,
        booked_on,
        reference: matched.clone(),
        matched_reference: matched,
        payer_name,
    };
    let channel = match planned.source {
        PaymentSource::BankStatement => Channel::System,
        _ => Channel::Office,
    };
    step(
        world,
        org,
        planned.contract,
        clerk,
        channel,
        at,
        |ledger, ctx| rules::receive_payment(ledger, command.clone(), ctx),
    )
}

fn next_working_day(day: NaiveDate) -> NaiveDate {
    let mut next = day + Duration::days(1);
    while matches!(next.weekday(), Weekday::Sat | Weekday::Sun) {
        next += Duration::days(1);
    }
    next
}
