//! Rules of housing applications and offers.

mod world;

use chrono::Duration;
use talo_domain::housing::*;
use talo_domain::register::RegisterCommand;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Actor;
use talo_events_schema::register::*;
use uuid::Uuid;
use world::*;

/// The world plus a rental company with one vacant apartment and an applicant.
struct Rental {
    world: World,
    apartment: Uuid,
    applicant: Uuid,
}

fn rental() -> Rental {
    let mut world = World::new();
    let (property, building, apartment, applicant) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut run = |cmd| {
        let event = world.register.decide(Actor::SYSTEM, None, cmd).unwrap();
        world.register.apply(&event);
    };
    run(RegisterCommand::RegisterProperty(PropertyRegistered {
        property_id: property,
        name: "Vuokra Oy".into(),
        kind: PropertyKind::RentalCompany,
        business_id: "0737546-2".into(),
        street_address: "Tie 2".into(),
        postal_code: "00100".into(),
        city: "Helsinki".into(),
    }));
    run(RegisterCommand::AddBuilding(BuildingAdded {
        property_id: property,
        building_id: building,
        code: "C".into(),
    }));
    run(RegisterCommand::AddApartment(ApartmentAdded {
        property_id: property,
        building_id: building,
        apartment_id: apartment,
        code: "C 3".into(),
        rooms: "1h+kk".into(),
        floor_area_dm2: 3200,
    }));
    run(RegisterCommand::RegisterPerson(PersonRegistered {
        person_id: applicant,
        name: "Hakija".into(),
        email: None,
        phone: None,
    }));
    Rental {
        world,
        apartment,
        applicant,
    }
}

fn application(r: &Rental) -> HousingApplication {
    let command = FileApplication {
        application_id: Uuid::now_v7(),
        household_size: 2,
        desired_areas: vec!["Kallio".into()],
        apartment_types: vec!["1h+kk".into()],
        max_rent_cents: 90_000,
        move_in_from: date(15),
    };
    let decision = file_application(command, &r.world.principal(r.applicant), at(10, 9)).unwrap();
    HousingApplication::fold(&decision.events).unwrap()
}

fn offer_command(r: &Rental) -> MakeOffer {
    MakeOffer {
        offer_id: Uuid::now_v7(),
        apartment_id: r.apartment,
        monthly_rent_cents: 85_000,
        lease_starts_on: date(15),
        answer_by: at(13, 12),
    }
}

fn offer(r: &Rental) -> HousingOffer {
    let decision = make_offer(
        &application(r),
        offer_command(r),
        OffersSoFar::default(),
        &r.world.principal(r.world.manager),
        &r.world.register,
        at(10, 10),
    )
    .unwrap();
    HousingOffer::fold(&decision.events).unwrap()
}

#[test]
fn an_application_is_valid_for_a_set_time_and_renewable() {
    let r = rental();
    let app = application(&r);
    assert_eq!(
        app.valid_until,
        date(10) + Duration::days(APPLICATION_VALID_DAYS)
    );
    let renewed = decide_application(
        &app,
        ApplicationCommand::Renew,
        &r.world.principal(r.applicant),
        at(10, 9) + Duration::days(60),
    )
    .unwrap();
    let DomainEvent::HousingApplicationRenewed(e) = &renewed.events[0] else {
        panic!()
    };
    assert_eq!(
        e.valid_until,
        date(10) + Duration::days(60 + APPLICATION_VALID_DAYS)
    );
    let err = decide_application(
        &app,
        ApplicationCommand::Renew,
        &r.world.principal(r.world.tenant),
        at(10, 9),
    )
    .unwrap_err();
    assert_eq!(err.rule, "housing.application_not_visible");
}

#[test]
fn applications_are_checked() {
    let r = rental();
    let bad = FileApplication {
        application_id: Uuid::now_v7(),
        household_size: 0,
        desired_areas: vec!["x".into()],
        apartment_types: vec!["x".into()],
        max_rent_cents: 1,
        move_in_from: date(15),
    };
    let err = file_application(bad, &r.world.principal(r.applicant), at(10, 9)).unwrap_err();
    assert_eq!(
        (err.field, err.rule),
        (Some("household_size"), "housing.household_size")
    );
}

#[test]
fn the_office_offers_a_vacant_rental_apartment_to_a_valid_application() {
    let r = rental();
    let app = application(&r);
    let manager = r.world.principal(r.world.manager);
    assert!(
        make_offer(
            &app,
            offer_command(&r),
            OffersSoFar::default(),
            &manager,
            &r.world.register,
            at(10, 10)
        )
        .is_ok()
    );
    assert_eq!(
        make_offer(
            &app,
            offer_command(&r),
            OffersSoFar {
                pending_on_apartment: 1,
                ..OffersSoFar::default()
            },
            &manager,
            &r.world.register,
            at(10, 10)
        )
        .unwrap_err()
        .rule,
        "housing.apartment_already_offered"
    );
    // One offer at a time per application, and none once its applicant accepted one (even
    // while it is still within its validity).
    let waiting = OffersSoFar {
        pending_on_application: 1,
        ..OffersSoFar::default()
    };
    let housed = OffersSoFar {
        accepted_on_application: Some(Uuid::now_v7()),
        ..OffersSoFar::default()
    };
    for (so_far, rule) in [
        (waiting, "housing.application_already_offered"),
        (housed, "housing.application_housed"),
    ] {
        let err = make_offer(
            &app,
            offer_command(&r),
            so_far,
            &manager,
            &r.world.register,
            at(10, 10),
        )
        .unwrap_err();
        assert_eq!((err.rule, err.field), (rule, None));
    }
    let expired = make_offer(
        &app,
        offer_command(&r),
        OffersSoFar::default(),
        &manager,
        &r.world.register,
        at(10, 10) + Duration::days(APPLICATION_VALID_DAYS + 1),
    );
    assert_eq!(expired.unwrap_err().rule, "housing.application_not_valid");
    let mut cooperative = offer_command(&r);
    cooperative.apartment_id = r.world.home;
    assert_eq!(
        make_offer(
            &app,
            cooperative,
            OffersSoFar::default(),
            &manager,
            &r.world.register,
            at(10, 10)
        )
        .unwrap_err()
        .rule,
        "housing.rental_apartments_only"
    );
    assert_eq!(
        make_offer(
            &app,
            offer_command(&r),
            OffersSoFar::default(),
            &r.world.principal(r.world.tenant),
            &r.world.register,
            at(10, 10)
        )
        .unwrap_err()
        .rule,
        "housing.office_only"
    );
}

#[test]
fn the_applicant_accepts_before_the_deadline_and_the_lease_follows() {
    let r = rental();
    let offer = offer(&r);
    let contract = Uuid::now_v7();
    let accepted = decide_offer(
        &offer,
        OfferCommand::Accept {
            contract_id: contract,
        },
        &r.world.principal(r.applicant),
        at(12, 9),
    )
    .unwrap();
    assert!(matches!(
        accepted.events[0],
        DomainEvent::HousingOfferAccepted(_)
    ));
    let lease = lease_for(&offer, contract);
    assert_eq!(
        (
            lease.person_id,
            lease.apartment_id,
            lease.kind,
            lease.starts_on
        ),
        (r.applicant, r.apartment, ContractKind::Lease, date(15))
    );
    let late = decide_offer(
        &offer,
        OfferCommand::Accept {
            contract_id: contract,
        },
        &r.world.principal(r.applicant),
        at(13, 12),
    );
    assert_eq!(late.unwrap_err().rule, "housing.offer_expired");
}

#[test]
fn an_unanswered_offer_expires_only_after_its_deadline() {
    let r = rental();
    let offer = offer(&r);
    let manager = r.world.principal(r.world.manager);
    assert_eq!(
        decide_offer(&offer, OfferCommand::Expire, &manager, at(12, 9))
            .unwrap_err()
            .rule,
        "housing.offer_not_due"
    );
    assert!(decide_offer(&offer, OfferCommand::Expire, &manager, at(13, 12)).is_ok());
    let mut answered = offer.clone();
    answered.status = OfferStatus::Declined;
    assert_eq!(
        decide_offer(&answered, OfferCommand::Expire, &manager, at(14, 0))
            .unwrap_err()
            .rule,
        "housing.offer_answered"
    );
    assert_eq!(
        decide_offer(
            &offer,
            OfferCommand::Decline { reason: "x".into() },
            &manager,
            at(12, 0)
        )
        .unwrap_err()
        .rule,
        "housing.applicant_only"
    );
}
