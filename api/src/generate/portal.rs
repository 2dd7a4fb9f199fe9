//! Service requests and renovations, the portal's other two cases: residents order keys on
//! the organisation's key order form (about 0.3 a year per apartment; the office takes and
//! completes most, rejects a few), and shareholders ask permission for renovations (about 0.05
//! a year per owned apartment: reviewed, sometimes supplemented, approved with conditions or
//! rejected, worked and inspected).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::decision::Context;
use talo_domain::renovation::{
    self, RENOVATION_PREFIX, Renovation, RenovationCommand, RequestRenovation,
};
use talo_domain::request_form::{
    self, FileServiceRequest, FormDefinition, RequestForm, SERVICE_REQUEST_PREFIX, ServiceRequest,
    ServiceRequestCommand,
};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Channel;
use talo_events_schema::register::ContractKind;
use talo_events_schema::renovation::RenovationWorkType;
use talo_events_schema::request_form::{Answer, AnswerValue, Question, QuestionKind};
use talo_events_schema::streams;
use uuid::Uuid;

use super::register::Organisation;
use super::{GenerateError, World, principal_of};

/// Service requests per apartment a year.
const YEARLY_REQUESTS: f64 = 0.3;

/// Renovation requests per owned apartment a year.
const YEARLY_RENOVATIONS: f64 = 0.05;

/// The key order form, published by the organisation-wide manager before the history starts.
pub fn publish_form(
    world: &mut World,
    org: &Organisation,
    at: DateTime<Utc>,
) -> Result<RequestForm, GenerateError> {
    let question = |id: &str, label: &str, kind| Question {
        question_id: id.into(),
        label: label.into(),
        help_text: None,
        required: true,
        kind,
    };
    let definition = FormDefinition {
        name: "Avaintilaus".into(),
        description: "Lisäavaimet asuntoon tai varastoon".into(),
        questions: vec![
            question(
                "key_type",
                "Mihin avain?",
                QuestionKind::SingleChoice {
                    options: vec!["asunto".into(), "varasto".into(), "autotalli".into()],
                },
            ),
            question(
                "key_count",
                "Montako avainta?",
                QuestionKind::Number {
                    min: Some(1),
                    max: Some(5),
                },
            ),
        ],
    };
    let form_id = world.chance.id_at(at);
    let register = &org.properties[0].register;
    let principal = principal_of(register, org.head_manager, at)?;
    let decision = request_form::publish(None, form_id, definition, &principal)
        .map_err(GenerateError::refused("a request form"))?;
    let form = RequestForm::fold(decision.events.iter(), None).ok_or(GenerateError::Refused {
        what: "a request form",
        rule: "generate.form_missing",
        message: "publishing made no form".into(),
    })?;
    let act = world.act(org.head_manager, Channel::Portal, at, None);
    world.log.record(
        &mut world.chance,
        &streams::request_form(form_id),
        &act,
        decision,
    );
    Ok(form)
}

pub fn day(
    world: &mut World,
    org: &Organisation,
    form: &RequestForm,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    for property in 0..org.properties.len() {
        let apartments = org.properties[property].apartments.len() as f64;
        for _ in 0..world.chance.count(apartments * YEARLY_REQUESTS / 365.0) {
            service_request(world, org, form, property, day)?;
        }
        for _ in 0..world.chance.count(apartments * YEARLY_RENOVATIONS / 365.0) {
            renovation(world, org, property, day)?;
        }
    }
    Ok(())
}

/// A resident of a random apartment living there, on the contract kind asked, for `days` more.
fn resident_for(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
    days: i64,
    kind: Option<ContractKind>,
) -> Option<(Uuid, Uuid)> {
    let apartments = &org.properties[property].apartments;
    let apartment = &apartments[world.chance.index(apartments.len())];
    apartment
        .contracts
        .iter()
        .map(|c| &org.contracts[*c])
        .find(|c| {
            c.active_on(day)
                && c.active_on(day + Duration::days(days))
                && kind.is_none_or(|k| c.kind == k)
        })
        .map(|c| (apartment.apartment_id, c.person_id))
}

fn service_request(
    world: &mut World,
    org: &Organisation,
    form: &RequestForm,
    property: usize,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let Some((apartment_id, resident)) = resident_for(world, org, property, day, 30, None) else {
        return Ok(());
    };
    let state = &org.properties[property];
    let at = world.chance.time_on(day, 7, 22);
    if local_date(at) >= org.until {
        return Ok(());
    }
    let key_type = *world.chance.pick(&["asunto", "varasto", "autotalli"]);
    let command = FileServiceRequest {
        request_id: world.chance.id_at(at),
        apartment_id,
        requester_id: resident,
        answers: vec![
            Answer {
                question_id: "key_type".into(),
                value: AnswerValue::Choice(key_type.into()),
            },
            Answer {
                question_id: "key_count".into(),
                value: AnswerValue::Number(world.chance.between(1, 3)),
            },
        ],
    };
    let id = command.request_id;
    let principal = principal_of(&state.register, resident, at)?;
    let ctx = Context {
        principal: &principal,
        register: &state.register,
        occurred_at: at,
        channel: Channel::Portal,
    };
    request_form::check_filing(form, &command, &ctx)
        .map_err(GenerateError::refused("a service request"))?;
    let act = world.act(resident, Channel::Portal, at, Some(state.property_id));
    let ticket = world.issue_ticket(SERVICE_REQUEST_PREFIX, id, &act);
    let decision = request_form::file(form, command, &ticket, &ctx)
        .map_err(GenerateError::refused("a service request"))?;
    let stream = streams::service_request(id);
    let mut history: Vec<(DomainEvent, DateTime<Utc>)> =
        decision.events.iter().cloned().map(|e| (e, at)).collect();
    world.log.record(&mut world.chance, &stream, &act, decision);
    let clerk = *world.chance.pick(&org.customer_service);
    let taken_at = world.chance.office_after(at, Duration::minutes(30));
    let wait = Duration::hours(world.chance.between(2, 72));
    let done_at = world.chance.office_after(taken_at, wait);
    let last = if world.chance.chance(0.9) {
        ServiceRequestCommand::Complete {
            summary: "Avaimet noudettavissa toimistolta".into(),
        }
    } else {
        ServiceRequestCommand::Reject {
            reason: "Avaintilaus vaatii osakkaan luvan".into(),
        }
    };
    for (at, command) in [(taken_at, ServiceRequestCommand::Take), (done_at, last)] {
        if local_date(at) >= org.until {
            return Ok(());
        }
        let current = ServiceRequest::fold(history.iter().map(|(e, at)| (e, *at))).ok_or(
            GenerateError::Refused {
                what: "a service request step",
                rule: "generate.request_missing",
                message: "no request".into(),
            },
        )?;
        let principal = principal_of(&state.register, clerk, at)?;
        let ctx = Context {
            principal: &principal,
            register: &state.register,
            occurred_at: at,
            channel: Channel::Portal,
        };
        let decision = request_form::decide(&current, command, &ctx)
            .map_err(GenerateError::refused("a service request step"))?;
        history.extend(decision.events.iter().cloned().map(|e| (e, at)));
        let act = world.act(clerk, Channel::Portal, at, Some(state.property_id));
        world.log.record(&mut world.chance, &stream, &act, decision);
    }
    Ok(())
}

fn renovation(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let shareholding = Some(ContractKind::Shareholding);
    let Some((apartment_id, owner)) = resident_for(world, org, property, day, 150, shareholding)
    else {
        return Ok(());
    };
    let state = &org.properties[property];
    let at = world.chance.time_on(day, 7, 22);
    if local_date(at) >= org.until {
        return Ok(());
    }
    let planned_start = local_date(at) + Duration::days(world.chance.between(30, 60));
    let planned_end = planned_start + Duration::days(world.chance.between(14, 45));
    let (work, description) = *world.chance.pick(&[
        (RenovationWorkType::Bathroom, "Kylpyhuoneen täysremontti"),
        (
            RenovationWorkType::Kitchen,
            "Keittiön kalusteiden uusiminen",
        ),
        (RenovationWorkType::Surfaces, "Lattioiden uusiminen"),
        (RenovationWorkType::Windows, "Ikkunoiden vaihto"),
    ]);
    let command = RequestRenovation {
        renovation_id: world.chance.id_at(at),
        apartment_id,
        work_types: vec![work],
        description: description.into(),
        planned_start,
        planned_end,
        contractors: vec!["Remonttimestarit Oy".into()],
        attachments: vec!["tyoselostus.pdf".into()],
    };
    let id = command.renovation_id;
    let principal = principal_of(&state.register, owner, at)?;
    renovation::check_request(&command, &principal, &state.register, at)
        .map_err(GenerateError::refused("a renovation"))?;
    let act = world.act(owner, Channel::Portal, at, Some(state.property_id));
    let ticket = world.issue_ticket(RENOVATION_PREFIX, id, &act);
    let decision = renovation::request(command, &ticket, &principal, &state.register, at)
        .map_err(GenerateError::refused("a renovation"))?;
    let stream = streams::renovation(id);
    let mut history: Vec<DomainEvent> = decision.events.clone();
    world.log.record(&mut world.chance, &stream, &act, decision);

    let manager = state.technical_manager;
    let mut steps: Vec<(Uuid, DateTime<Utc>, RenovationCommand)> = Vec::new();
    let mut t = world.chance.office_after(at, Duration::hours(4));
    if world.chance.chance(0.3) {
        steps.push((
            manager,
            t,
            RenovationCommand::RequestSupplement {
                request: "Toimittakaa vedeneristäjän sertifikaatti".into(),
            },
        ));
        t = world.chance.resident_after(t, Duration::hours(24));
        steps.push((
            owner,
            t,
            RenovationCommand::Supplement {
                text: "Sertifikaatti liitteenä".into(),
                attachments: vec!["sertifikaatti.pdf".into()],
            },
        ));
        t = world.chance.office_after(t, Duration::hours(2));
    }
    if world.chance.chance(0.1) {
        steps.push((
            manager,
            t,
            RenovationCommand::Reject {
                reason: "Suunnitelma ei täytä taloyhtiön vaatimuksia".into(),
            },
        ));
    } else {
        steps.push((
            manager,
            t,
            RenovationCommand::Approve {
                conditions: vec!["Työt arkisin klo 8-18".into()],
            },
        ));
        let start = world.chance.time_on(planned_start, 8, 10).max(t);
        let end = world.chance.time_on(planned_end, 14, 16).max(start);
        let inspect = world.chance.office_after(end, Duration::hours(24));
        steps.push((owner, start, RenovationCommand::StartWork));
        steps.push((owner, end, RenovationCommand::CompleteWork));
        steps.push((
            manager,
            inspect,
            RenovationCommand::Inspect {
                approved: true,
                notes: "Työt tehty hyvän rakennustavan mukaisesti".into(),
            },
        ));
    }
    for (person, at, command) in steps {
        if local_date(at) >= org.until {
            return Ok(());
        }
        let current = Renovation::fold(history.iter()).ok_or(GenerateError::Refused {
            what: "a renovation step",
            rule: "generate.renovation_missing",
            message: "no renovation".into(),
        })?;
        let principal = principal_of(&state.register, person, at)?;
        let decision = renovation::decide(&current, command, &principal)
            .map_err(GenerateError::refused("a renovation step"))?;
        history.extend(decision.events.iter().cloned());
        let act = world.act(person, Channel::Portal, at, Some(state.property_id));
        world.log.record(&mut world.chance, &stream, &act, decision);
    }
    Ok(())
}
