//! Rules of renovation requests.

mod world;

use talo_domain::RejectionKind;
use talo_domain::renovation::*;
use talo_events_schema::DomainEvent;
use talo_events_schema::renovation::RenovationWorkType;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;
use world::*;

fn command(world: &World) -> RequestRenovation {
    RequestRenovation {
        renovation_id: Uuid::now_v7(),
        apartment_id: world.home,
        work_types: vec![RenovationWorkType::Bathroom],
        description: "Kylpyhuoneen remontti".into(),
        planned_start: date(20),
        planned_end: date(30),
        contractors: vec!["Kylppärit Oy".into()],
        attachments: vec!["pohjapiirros.pdf".into()],
    }
}

fn ticket() -> TicketNumberIssued {
    TicketNumberIssued {
        prefix: "MT".into(),
        year: 2026,
        number: 1,
        ticket: "MT-2026-000001".into(),
        issued_for: Uuid::nil(),
    }
}

fn requested(world: &World) -> Vec<DomainEvent> {
    request(
        command(world),
        &ticket(),
        &world.principal(world.owner),
        &world.register,
        at(10, 9),
    )
    .unwrap()
    .events
}

fn when(
    world: &World,
    history: &[DomainEvent],
    actor: Uuid,
    command: RenovationCommand,
) -> Result<talo_domain::decision::Decision, talo_domain::Rejection> {
    decide(
        &Renovation::fold(history).unwrap(),
        command,
        &world.principal(actor),
    )
}

fn then(
    world: &World,
    mut history: Vec<DomainEvent>,
    actor: Uuid,
    command: RenovationCommand,
) -> Vec<DomainEvent> {
    history.extend(
        when(world, &history, actor, command)
            .expect("step allowed")
            .events,
    );
    history
}

#[test]
fn only_a_shareholder_of_the_apartment_files() {
    let world = World::new();
    assert_eq!(requested(&world).len(), 1);
    for person in [world.tenant, world.neighbour, world.manager] {
        let err = request(
            command(&world),
            &ticket(),
            &world.principal(person),
            &world.register,
            at(10, 9),
        )
        .unwrap_err();
        assert_eq!(
            (err.kind, err.rule),
            (RejectionKind::Forbidden, "renovation.shareholder_only")
        );
    }
}

#[test]
fn the_request_is_checked() {
    let world = World::new();
    let owner = world.principal(world.owner);
    let mut backwards = command(&world);
    backwards.planned_end = date(15);
    assert_eq!(
        request(backwards, &ticket(), &owner, &world.register, at(10, 9))
            .unwrap_err()
            .rule,
        "renovation.schedule_order"
    );
    let mut late = command(&world);
    late.planned_start = date(5);
    assert_eq!(
        request(late, &ticket(), &owner, &world.register, at(10, 9))
            .unwrap_err()
            .rule,
        "renovation.start_in_past"
    );
    let mut nothing = command(&world);
    nothing.work_types.clear();
    let err = request(nothing, &ticket(), &owner, &world.register, at(10, 9)).unwrap_err();
    assert_eq!(
        (err.field, err.rule),
        (Some("work_types"), "renovation.work_type_required")
    );
}

#[test]
fn supplements_then_approval_then_work_then_inspection() {
    let world = World::new();
    let history = then(
        &world,
        requested(&world),
        world.technical,
        RenovationCommand::RequestSupplement {
            request: "Vedeneristäjän sertifikaatti?".into(),
        },
    );
    let err = when(
        &world,
        &history,
        world.manager,
        RenovationCommand::Approve { conditions: vec![] },
    )
    .unwrap_err();
    assert_eq!(err.rule, "renovation.awaiting_supplement");
    let history = then(
        &world,
        history,
        world.owner,
        RenovationCommand::Supplement {
            text: "Liitteenä".into(),
            attachments: vec!["sertifikaatti.pdf".into()],
        },
    );
    let history = then(
        &world,
        history,
        world.service,
        RenovationCommand::Comment {
            comment_id: Uuid::now_v7(),
            text: "Kiitos".into(),
        },
    );
    let history = then(
        &world,
        history,
        world.technical,
        RenovationCommand::Approve {
            conditions: vec!["Vedeneristys sertifioidulla asentajalla".into()],
        },
    );
    assert_eq!(
        when(
            &world,
            &history,
            world.manager,
            RenovationCommand::Reject { reason: "x".into() }
        )
        .unwrap_err()
        .rule,
        "renovation.decided_once"
    );
    let history = then(&world, history, world.owner, RenovationCommand::StartWork);
    let history = then(
        &world,
        history,
        world.owner,
        RenovationCommand::CompleteWork,
    );
    let history = then(
        &world,
        history,
        world.technical,
        RenovationCommand::Inspect {
            approved: true,
            notes: "OK".into(),
        },
    );
    assert_eq!(
        Renovation::fold(&history).unwrap().status,
        RenovationStatus::Inspected
    );
    assert_eq!(
        when(
            &world,
            &history,
            world.owner,
            RenovationCommand::Comment {
                comment_id: Uuid::now_v7(),
                text: "x".into()
            }
        )
        .unwrap_err()
        .rule,
        "renovation.closed"
    );
}

#[test]
fn customer_service_comments_but_does_not_decide_and_tenants_are_not_party() {
    let world = World::new();
    let history = requested(&world);
    assert_eq!(
        when(
            &world,
            &history,
            world.service,
            RenovationCommand::Approve { conditions: vec![] }
        )
        .unwrap_err()
        .rule,
        "renovation.manager_decides"
    );
    assert_eq!(
        when(
            &world,
            &history,
            world.tenant,
            RenovationCommand::Comment {
                comment_id: Uuid::now_v7(),
                text: "x".into()
            }
        )
        .unwrap_err()
        .rule,
        "renovation.not_visible"
    );
    assert_eq!(
        when(&world, &history, world.owner, RenovationCommand::StartWork)
            .unwrap_err()
            .rule,
        "renovation.start_before_approval"
    );
    assert_eq!(
        when(
            &world,
            &history,
            world.auditor,
            RenovationCommand::Withdraw { reason: "x".into() }
        )
        .unwrap_err()
        .rule,
        "auditor.read_only"
    );
}

#[test]
fn the_shareholder_withdraws_before_the_decision_only() {
    let world = World::new();
    let history = requested(&world);
    assert!(
        when(
            &world,
            &history,
            world.owner,
            RenovationCommand::Withdraw {
                reason: "Myöhemmin".into()
            }
        )
        .is_ok()
    );
    let approved = then(
        &world,
        history,
        world.manager,
        RenovationCommand::Approve { conditions: vec![] },
    );
    assert_eq!(
        when(
            &world,
            &approved,
            world.owner,
            RenovationCommand::Withdraw { reason: "x".into() }
        )
        .unwrap_err()
        .rule,
        "renovation.withdraw_after_decision"
    );
}
