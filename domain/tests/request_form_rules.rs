//! Rules of request forms and the service requests filed on them.

mod world;

use talo_domain::RejectionKind;
use talo_domain::request_form::*;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Channel;
use talo_events_schema::fault_report::NoteVisibility;
use talo_events_schema::request_form::*;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;
use world::*;

fn key_order() -> FormDefinition {
    FormDefinition {
        name: "Avaintilaus".into(),
        description: "Order extra keys".into(),
        questions: vec![
            Question {
                question_id: "key_count".into(),
                label: "How many keys".into(),
                help_text: None,
                required: true,
                kind: QuestionKind::Number {
                    min: Some(1),
                    max: Some(5),
                },
            },
            Question {
                question_id: "key_type".into(),
                label: "Which keys".into(),
                help_text: Some("Front door or storage".into()),
                required: true,
                kind: QuestionKind::SingleChoice {
                    options: vec!["front_door".into(), "storage".into()],
                },
            },
            Question {
                question_id: "pickup".into(),
                label: "Pickup date".into(),
                help_text: None,
                required: false,
                kind: QuestionKind::Date,
            },
            Question {
                question_id: "notes".into(),
                label: "Notes".into(),
                help_text: None,
                required: false,
                kind: QuestionKind::Text { max_length: 20 },
            },
        ],
    }
}

fn form(world: &World) -> RequestForm {
    let decision = publish(
        None,
        Uuid::now_v7(),
        key_order(),
        &world.principal(world.manager),
    )
    .unwrap();
    RequestForm::fold(decision.events.iter(), None).unwrap()
}

fn answers(count: i64) -> Vec<Answer> {
    vec![
        Answer {
            question_id: "key_count".into(),
            value: AnswerValue::Number(count),
        },
        Answer {
            question_id: "key_type".into(),
            value: AnswerValue::Choice("front_door".into()),
        },
    ]
}

fn ctx<'a>(
    world: &'a World,
    principal: &'a talo_domain::access::Principal,
    channel: Channel,
) -> Context<'a> {
    Context {
        principal,
        register: &world.register,
        occurred_at: at(10, 9),
        channel,
    }
}

fn file_as(
    world: &World,
    actor: Uuid,
    requester: Uuid,
    channel: Channel,
    answers: Vec<Answer>,
) -> Result<talo_domain::decision::Decision, talo_domain::Rejection> {
    let principal = world.principal(actor);
    let command = FileServiceRequest {
        request_id: Uuid::now_v7(),
        apartment_id: world.home,
        requester_id: requester,
        answers,
    };
    let ticket = TicketNumberIssued {
        prefix: "PY".into(),
        year: 2026,
        number: 1,
        ticket: "PY-2026-000001".into(),
        issued_for: command.request_id,
    };
    file(
        &form(world),
        command,
        &ticket,
        &ctx(world, &principal, channel),
    )
}

#[test]
fn forms_are_versioned_and_defined_by_organisation_staff() {
    let world = World::new();
    let first = form(&world);
    assert_eq!(first.version, 1);
    let next = publish(
        Some(&first),
        first.form_id,
        key_order(),
        &world.principal(world.service),
    )
    .unwrap();
    let DomainEvent::RequestFormPublished(e) = &next.events[0] else {
        panic!()
    };
    assert_eq!(e.version, 2);
    let err = publish(
        None,
        Uuid::now_v7(),
        key_order(),
        &world.principal(world.technical),
    )
    .unwrap_err();
    assert_eq!(
        (err.kind, err.rule),
        (
            RejectionKind::Forbidden,
            "request_form.organisation_staff_only"
        )
    );
}

#[test]
fn form_definitions_are_checked() {
    let world = World::new();
    let manager = world.principal(world.manager);
    let mut twice = key_order();
    twice.questions[1].question_id = "key_count".into();
    assert_eq!(
        publish(None, Uuid::now_v7(), twice, &manager)
            .unwrap_err()
            .rule,
        "request_form.question_id_unique"
    );
    let mut no_options = key_order();
    no_options.questions[1].kind = QuestionKind::SingleChoice { options: vec![] };
    assert_eq!(
        publish(None, Uuid::now_v7(), no_options, &manager)
            .unwrap_err()
            .rule,
        "request_form.options"
    );
    let empty = FormDefinition {
        questions: vec![],
        ..key_order()
    };
    assert_eq!(
        publish(None, Uuid::now_v7(), empty, &manager)
            .unwrap_err()
            .rule,
        "request_form.questions_required"
    );
}

#[test]
fn a_resident_files_on_the_current_version() {
    let world = World::new();
    let decision = file_as(
        &world,
        world.tenant,
        world.tenant,
        Channel::Portal,
        answers(2),
    )
    .unwrap();
    let DomainEvent::ServiceRequestFiled(e) = &decision.events[0] else {
        panic!()
    };
    assert_eq!((e.form_version, e.property_id), (1, world.property));
}

#[test]
fn a_missing_required_answer_names_the_question() {
    let world = World::new();
    let err = file_as(
        &world,
        world.tenant,
        world.tenant,
        Channel::Portal,
        answers(2)[..1].to_vec(),
    )
    .unwrap_err();
    assert_eq!(
        (err.rule, err.field),
        ("request_form.answer_required", Some("answers"))
    );
    assert!(
        err.message.contains("`key_type`") && err.message.contains("Which keys"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_answers_name_the_question_and_the_rule() {
    let world = World::new();
    let out_of_range = file_as(
        &world,
        world.tenant,
        world.tenant,
        Channel::Portal,
        answers(9),
    )
    .unwrap_err();
    assert_eq!(out_of_range.rule, "request_form.answer_out_of_range");
    assert!(out_of_range.message.contains("`key_count`"));
    let mut wrong_type = answers(2);
    wrong_type[0].value = AnswerValue::Text("two".into());
    assert_eq!(
        file_as(
            &world,
            world.tenant,
            world.tenant,
            Channel::Portal,
            wrong_type
        )
        .unwrap_err()
        .rule,
        "request_form.answer_type"
    );
    let mut bad_option = answers(2);
    bad_option[1].value = AnswerValue::Choice("garage".into());
    assert_eq!(
        file_as(
            &world,
            world.tenant,
            world.tenant,
            Channel::Portal,
            bad_option
        )
        .unwrap_err()
        .rule,
        "request_form.answer_option"
    );
    let mut unknown = answers(2);
    unknown.push(Answer {
        question_id: "colour".into(),
        value: AnswerValue::Text("red".into()),
    });
    assert_eq!(
        file_as(&world, world.tenant, world.tenant, Channel::Portal, unknown)
            .unwrap_err()
            .rule,
        "request_form.unknown_question"
    );
    let mut long = answers(2);
    long.push(Answer {
        question_id: "notes".into(),
        value: AnswerValue::Text("x".repeat(21)),
    });
    assert_eq!(
        file_as(&world, world.tenant, world.tenant, Channel::Portal, long)
            .unwrap_err()
            .rule,
        "request_form.answer_too_long"
    );
}

#[test]
fn only_occupants_file_and_the_office_files_on_their_behalf_by_phone() {
    let world = World::new();
    assert_eq!(
        file_as(
            &world,
            world.neighbour,
            world.neighbour,
            Channel::Portal,
            answers(1)
        )
        .unwrap_err()
        .rule,
        "service_request.own_home_only"
    );
    assert!(
        file_as(
            &world,
            world.service,
            world.tenant,
            Channel::Phone,
            answers(1)
        )
        .is_ok()
    );
    assert_eq!(
        file_as(
            &world,
            world.service,
            world.tenant,
            Channel::Portal,
            answers(1)
        )
        .unwrap_err()
        .rule,
        "service_request.on_behalf_channel"
    );
}

fn filed(world: &World) -> Vec<(DomainEvent, chrono::DateTime<chrono::Utc>)> {
    file_as(
        world,
        world.tenant,
        world.tenant,
        Channel::Portal,
        answers(1),
    )
    .unwrap()
    .events
    .into_iter()
    .map(|e| (e, at(10, 9)))
    .collect()
}

fn when(
    world: &World,
    history: &[(DomainEvent, chrono::DateTime<chrono::Utc>)],
    actor: Uuid,
    command: ServiceRequestCommand,
) -> Result<talo_domain::decision::Decision, talo_domain::Rejection> {
    let state = ServiceRequest::fold(history.iter().map(|(e, t)| (e, *t))).unwrap();
    let principal = world.principal(actor);
    decide(&state, command, &ctx(world, &principal, Channel::Portal))
}

#[test]
fn requests_are_handled_like_fault_reports() {
    let world = World::new();
    let mut history = filed(&world);
    assert_eq!(
        when(&world, &history, world.tenant, ServiceRequestCommand::Take)
            .unwrap_err()
            .rule,
        "service_request.office_only"
    );
    let taken = when(&world, &history, world.service, ServiceRequestCommand::Take).unwrap();
    history.extend(taken.events.into_iter().map(|e| (e, at(10, 10))));
    assert_eq!(
        when(
            &world,
            &history,
            world.tenant,
            ServiceRequestCommand::Cancel { reason: "x".into() }
        )
        .unwrap_err()
        .rule,
        "service_request.cancel_after_taken"
    );
    let internal = ServiceRequestCommand::AddNote {
        note_id: Uuid::now_v7(),
        text: "x".into(),
        visibility: NoteVisibility::Internal,
    };
    assert_eq!(
        when(&world, &history, world.tenant, internal)
            .unwrap_err()
            .rule,
        "service_request.resident_notes_shared"
    );
    let done = when(
        &world,
        &history,
        world.service,
        ServiceRequestCommand::Complete {
            summary: "Keys at the office".into(),
        },
    )
    .unwrap();
    history.extend(done.events.into_iter().map(|e| (e, at(10, 11))));
    assert_eq!(
        when(&world, &history, world.service, ServiceRequestCommand::Take)
            .unwrap_err()
            .rule,
        "service_request.closed"
    );
    assert_eq!(
        when(
            &world,
            &history,
            world.neighbour,
            ServiceRequestCommand::Take
        )
        .unwrap_err()
        .rule,
        "service_request.not_visible"
    );
    assert_eq!(
        when(&world, &history, world.auditor, ServiceRequestCommand::Take)
            .unwrap_err()
            .rule,
        "auditor.read_only"
    );
}
