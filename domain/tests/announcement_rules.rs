//! Rules of announcements.

mod world;

use talo_domain::announcement::*;
use talo_events_schema::DomainEvent;
use talo_events_schema::announcement::{AnnouncementCategory, AnnouncementTarget};
use uuid::Uuid;
use world::*;

fn command(targets: Vec<AnnouncementTarget>) -> PublishAnnouncement {
    PublishAnnouncement {
        announcement_id: Uuid::now_v7(),
        title: "Vesikatko".into(),
        body: "Vesi on poikki tiistaina 8-12".into(),
        category: AnnouncementCategory::Outage,
        targets,
        publish_at: at(10, 6),
        expires_at: Some(at(12, 0)),
    }
}

fn target(property: Uuid, building: Option<Uuid>) -> AnnouncementTarget {
    AnnouncementTarget {
        property_id: property,
        building_id: building,
    }
}

#[test]
fn the_office_publishes_to_its_properties() {
    let world = World::new();
    let decision = publish(
        command(vec![
            target(world.property, None),
            target(world.other_property, None),
        ]),
        &world.principal(world.manager),
        &world.register,
    )
    .unwrap();
    assert!(matches!(
        decision.events[0],
        DomainEvent::AnnouncementPublished(_)
    ));
}

#[test]
fn a_resident_committee_publishes_to_its_own_property_only() {
    let world = World::new();
    let committee = world.principal(world.committee);
    assert!(
        publish(
            command(vec![target(world.property, None)]),
            &committee,
            &world.register
        )
        .is_ok()
    );
    let err = publish(
        command(vec![target(world.other_property, None)]),
        &committee,
        &world.register,
    )
    .unwrap_err();
    assert_eq!(err.rule, "announcement.committee_own_property_only");
    let err = publish(
        command(vec![target(world.property, None)]),
        &world.principal(world.tenant),
        &world.register,
    )
    .unwrap_err();
    assert_eq!(err.rule, "announcement.publisher_only");
}

#[test]
fn publications_are_checked() {
    let world = World::new();
    let manager = world.principal(world.manager);
    let mut backwards = command(vec![target(world.property, None)]);
    backwards.expires_at = Some(at(9, 0));
    let err = publish(backwards, &manager, &world.register).unwrap_err();
    assert_eq!(
        (err.field, err.rule),
        (Some("expires_at"), "announcement.expires_after_publish")
    );
    assert_eq!(
        publish(command(vec![]), &manager, &world.register)
            .unwrap_err()
            .rule,
        "announcement.target_required"
    );
    let wrong_building = command(vec![target(world.other_property, Some(world.building_a))]);
    assert_eq!(
        publish(wrong_building, &manager, &world.register)
            .unwrap_err()
            .rule,
        "announcement.building_unknown"
    );
}

fn published(world: &World, targets: Vec<AnnouncementTarget>) -> Announcement {
    let events = publish(
        command(targets),
        &world.principal(world.manager),
        &world.register,
    )
    .unwrap()
    .events;
    Announcement::fold(&events).unwrap()
}

#[test]
fn residents_see_current_announcements_for_their_home() {
    let world = World::new();
    let building_a_only = published(&world, vec![target(world.property, Some(world.building_a))]);
    assert!(may_see(
        &building_a_only,
        &world.principal(world.tenant),
        &world.register,
        at(11, 0)
    ));
    assert!(
        !may_see(
            &building_a_only,
            &world.principal(world.neighbour),
            &world.register,
            at(11, 0)
        ),
        "B is not targeted"
    );
    assert!(
        !may_see(
            &building_a_only,
            &world.principal(world.tenant),
            &world.register,
            at(10, 5)
        ),
        "not yet published"
    );
    assert!(
        !may_see(
            &building_a_only,
            &world.principal(world.tenant),
            &world.register,
            at(12, 0)
        ),
        "expired"
    );
    assert!(
        may_see(
            &building_a_only,
            &world.principal(world.manager),
            &world.register,
            at(12, 0)
        ),
        "staff see it always"
    );
}

#[test]
fn reading_counts_once_and_corrections_keep_the_history() {
    let world = World::new();
    let announcement = published(&world, vec![target(world.property, None)]);
    let tenant = world.principal(world.tenant);
    let read = decide(
        &announcement,
        AnnouncementCommand::Read,
        &tenant,
        &world.register,
        at(11, 0),
    )
    .unwrap();
    assert_eq!(read.events.len(), 1);
    let mut after = announcement.clone();
    after.readers.insert(world.tenant);
    assert!(
        decide(
            &after,
            AnnouncementCommand::Read,
            &tenant,
            &world.register,
            at(11, 0)
        )
        .unwrap()
        .events
        .is_empty()
    );
    let correct = AnnouncementCommand::Correct {
        title: "Vesikatko".into(),
        body: "Vesi on poikki keskiviikkona".into(),
        expires_at: None,
        reason: "Päivä vaihtui".into(),
    };
    assert_eq!(
        decide(
            &announcement,
            correct.clone(),
            &tenant,
            &world.register,
            at(11, 0)
        )
        .unwrap_err()
        .rule,
        "announcement.publisher_only"
    );
    assert!(
        decide(
            &announcement,
            correct,
            &world.principal(world.manager),
            &world.register,
            at(11, 0)
        )
        .is_ok()
    );
    let mut withdrawn = announcement.clone();
    withdrawn.withdrawn = true;
    let again = decide(
        &withdrawn,
        AnnouncementCommand::Withdraw { reason: "x".into() },
        &world.principal(world.manager),
        &world.register,
        at(11, 0),
    );
    assert_eq!(again.unwrap_err().rule, "announcement.withdrawn");
}
