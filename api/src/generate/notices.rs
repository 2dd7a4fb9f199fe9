//! Announcements and documents: on the first of each month every property gets an
//! announcement or two (maintenance, outages, meetings) that residents read, and now and then a
//! document in its archive (minutes, financial statements, house rules), with its bytes in the
//! data directory's document store.

use chrono::{Datelike, Duration, NaiveDate};
use talo_domain::announcement::{self, Announcement, AnnouncementCommand, PublishAnnouncement};
use talo_domain::document::{self, AddDocument, DocumentFile, UploadLimits};
use talo_events_schema::announcement::{AnnouncementCategory, AnnouncementTarget};
use talo_events_schema::document::{DocumentAudience, DocumentCategory};
use talo_events_schema::envelope::Channel;
use talo_events_schema::register::PropertyKind;
use talo_events_schema::streams;

use super::register::Organisation;
use super::{GenerateError, World, principal_of};
use crate::blobs::BlobStore;

/// Announcements per property a month, on average.
const MONTHLY_ANNOUNCEMENTS: f64 = 1.5;

/// Documents per property a year, on average.
const YEARLY_DOCUMENTS: f64 = 4.0;

/// Share of the targeted residents who open an announcement.
const READERS: f64 = 0.3;

const ANNOUNCEMENTS: [(AnnouncementCategory, &str, &str); 4] = [
    (
        AnnouncementCategory::Outage,
        "Vesikatko",
        "Vesi on katki tiistaina klo 8-12 putkitöiden vuoksi.",
    ),
    (
        AnnouncementCategory::Maintenance,
        "Ikkunoiden pesu",
        "Ikkunat pestään ensi viikolla, jättäkää ikkunalaudat tyhjiksi.",
    ),
    (
        AnnouncementCategory::MeetingNotice,
        "Yhtiökokous",
        "Varsinainen yhtiökokous pidetään kerhohuoneella kuun lopussa klo 18.",
    ),
    (
        AnnouncementCategory::General,
        "Pihatalkoot",
        "Tervetuloa pihatalkoisiin lauantaina klo 10, tarjolla kahvia ja pullaa.",
    ),
];

pub fn month_begins(
    world: &mut World,
    org: &mut Organisation,
    blobs: &BlobStore,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let limits = UploadLimits {
        max_bytes: 20 * 1024 * 1024,
        allowed_types: vec!["application/pdf".into()],
    };
    for property in 0..org.properties.len() {
        for _ in 0..world.chance.count(MONTHLY_ANNOUNCEMENTS) {
            announce(world, org, property, day)?;
        }
        for _ in 0..world.chance.count(YEARLY_DOCUMENTS / 12.0) {
            archive(world, org, property, blobs, &limits, day)?;
        }
    }
    Ok(())
}

fn announce(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let state = &org.properties[property];
    let publish_day = day + Duration::days(world.chance.between(0, 20));
    if publish_day >= org.until {
        return Ok(());
    }
    let at = world.chance.office_after(
        publish_day
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc(),
        Duration::zero(),
    );
    let (category, title, body) = *world.chance.pick(&ANNOUNCEMENTS);
    let building_id = world
        .chance
        .chance(0.3)
        .then(|| *world.chance.pick(&state.buildings));
    let id = world.chance.id_at(at);
    let command = PublishAnnouncement {
        announcement_id: id,
        title: title.into(),
        body: body.into(),
        category,
        targets: vec![AnnouncementTarget {
            property_id: state.property_id,
            building_id,
        }],
        publish_at: at,
        expires_at: Some(at + Duration::days(14)),
    };
    let principal = principal_of(&state.register, state.manager, at)?;
    let decision = announcement::publish(command, &principal, &state.register)
        .map_err(GenerateError::refused("an announcement"))?;
    let mut events: Vec<_> = decision.events.clone();
    let act = world.act(state.manager, Channel::Portal, at, Some(state.property_id));
    let stream = streams::announcement(id);
    world.log.record(&mut world.chance, &stream, &act, decision);
    // Residents open it in the portal over the next days.
    let residents: Vec<_> = state
        .apartments
        .iter()
        .filter(|a| building_id.is_none_or(|b| b == a.building_id))
        .flat_map(|a| a.contracts.iter())
        .map(|c| &org.contracts[*c])
        .filter(|c| c.active_on(publish_day + Duration::days(14)) && c.active_on(publish_day))
        .map(|c| c.person_id)
        .collect();
    let mut reads = Vec::new();
    for person in residents {
        if world.chance.chance(READERS) {
            let wait = Duration::hours(world.chance.between(1, 24 * 10));
            reads.push((world.chance.resident_after(at, wait), person));
        }
    }
    reads.sort();
    for (read_at, person) in reads {
        if talo_domain::calendar::local_date(read_at) >= org.until {
            continue;
        }
        let state_now = Announcement::fold(events.iter()).ok_or(GenerateError::Refused {
            what: "an announcement read",
            rule: "generate.announcement_missing",
            message: "no announcement".into(),
        })?;
        let principal = principal_of(&state.register, person, read_at)?;
        let decision = announcement::decide(
            &state_now,
            AnnouncementCommand::Read,
            &principal,
            &state.register,
            read_at,
        )
        .map_err(GenerateError::refused("an announcement read"))?;
        events.extend(decision.events.iter().cloned());
        let act = world.act(person, Channel::Portal, read_at, Some(state.property_id));
        world.log.record(&mut world.chance, &stream, &act, decision);
    }
    Ok(())
}

fn archive(
    world: &mut World,
    org: &Organisation,
    property: usize,
    blobs: &BlobStore,
    limits: &UploadLimits,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let state = &org.properties[property];
    let added_on = day + Duration::days(world.chance.between(0, 25));
    if added_on >= org.until {
        return Ok(());
    }
    let at = world.chance.office_after(
        added_on.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        Duration::zero(),
    );
    let year = added_on.year();
    let cooperative = state.kind == PropertyKind::HousingCooperative;
    let (title, category, audience) = match world.chance.between(0, 3) {
        0 if cooperative => (
            format!(
                "Hallituksen kokouksen pöytäkirja {}/{year}",
                added_on.month()
            ),
            DocumentCategory::Minutes,
            DocumentAudience::Board,
        ),
        1 if cooperative => (
            format!("Tilinpäätös {}", year - 1),
            DocumentCategory::FinancialStatement,
            DocumentAudience::Shareholders,
        ),
        2 => (
            format!("Huoltokirja {year}"),
            DocumentCategory::Other,
            DocumentAudience::AllResidents,
        ),
        _ => (
            "Järjestyssäännöt".to_owned(),
            DocumentCategory::Other,
            DocumentAudience::AllResidents,
        ),
    };
    let id = world.chance.id_at(at);
    let bytes = format!("%PDF-1.4\n% {} / {title} / {id}\n%%EOF\n", state.name).into_bytes();
    let file = DocumentFile {
        filename: format!("{}.pdf", id.simple()),
        content_type: "application/pdf".into(),
        size_bytes: bytes.len() as u64,
        sha256: crate::blobs::sha256_hex(&bytes),
    };
    let command = AddDocument {
        document_id: id,
        property_id: state.property_id,
        title,
        category,
        audience,
        file,
    };
    let principal = principal_of(&state.register, state.manager, at)?;
    let ctx = document::Context {
        principal: &principal,
        register: &state.register,
        limits,
    };
    let decision = document::add(command, &ctx).map_err(GenerateError::refused("a document"))?;
    // The log never names content that is not on disk.
    blobs
        .put(&bytes)
        .map_err(|e| GenerateError::Blobs(e.to_string()))?;
    let act = world.act(state.manager, Channel::Portal, at, Some(state.property_id));
    world
        .log
        .record(&mut world.chance, &streams::document(id), &act, decision);
    Ok(())
}
