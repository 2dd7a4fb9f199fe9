//! Announcements (tiedotteet): the property's office publishes to its properties (or single
//! buildings); a resident committee publishes to its own property only. Residents see what is
//! current for their home; corrections and withdrawals are new events, so history stays.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::announcement::*;
use talo_events_schema::envelope::ActorRole;
use uuid::Uuid;

use crate::access::Principal;
use crate::decision::Decision;
use crate::register::Register;
use crate::rejection::{Rejection, require_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub announcement_id: Uuid,
    pub targets: Vec<AnnouncementTarget>,
    pub publish_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub withdrawn: bool,
    pub readers: BTreeSet<Uuid>,
}

impl Announcement {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Option<Self> {
        let mut state: Option<Announcement> = None;
        for event in events {
            match (&mut state, event) {
                (None, DomainEvent::AnnouncementPublished(e)) => {
                    state = Some(Announcement {
                        announcement_id: e.announcement_id,
                        targets: e.targets.clone(),
                        publish_at: e.publish_at,
                        expires_at: e.expires_at,
                        withdrawn: false,
                        readers: BTreeSet::new(),
                    })
                }
                (Some(s), DomainEvent::AnnouncementCorrected(e)) => s.expires_at = e.expires_at,
                (Some(s), DomainEvent::AnnouncementWithdrawn(_)) => s.withdrawn = true,
                (Some(s), DomainEvent::AnnouncementRead(e)) => {
                    s.readers.insert(e.reader_id);
                }
                _ => {}
            }
        }
        state
    }

    /// Published, not expired, not withdrawn.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        !self.withdrawn && self.publish_at <= now && self.expires_at.is_none_or(|t| now < t)
    }
}

/// Whether an occupant's home is among the targets.
pub fn targets_home(
    targets: &[AnnouncementTarget],
    principal: &Principal,
    register: &Register,
) -> bool {
    principal.homes.iter().any(|home| {
        targets.iter().any(|t| {
            t.property_id == home.property_id
                && t.building_id.is_none_or(|b| {
                    register
                        .apartments
                        .get(&home.apartment_id)
                        .is_some_and(|a| a.building_id == b)
                })
        })
    })
}

/// The role under which `principal` may publish to every target: the office of each targeted
/// property, or the resident committee of the one property targeted.
pub fn publisher_role(
    targets: &[AnnouncementTarget],
    principal: &Principal,
) -> Result<ActorRole, Rejection> {
    let office: Option<Vec<ActorRole>> = targets
        .iter()
        .map(|t| principal.office_role_for(t.property_id))
        .collect();
    if let Some(role) = office.and_then(|roles| roles.first().copied()) {
        return Ok(role);
    }
    if !principal.committees.is_empty() {
        if targets
            .iter()
            .all(|t| principal.committees.contains(&t.property_id))
        {
            return Ok(ActorRole::ResidentCommittee);
        }
        return Err(Rejection::forbidden(
            "announcement.committee_own_property_only",
            "a resident committee publishes to its own property only",
        ));
    }
    Err(Rejection::forbidden(
        "announcement.publisher_only",
        "only the property's office or its resident committee publishes announcements",
    ))
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishAnnouncement {
    pub announcement_id: Uuid,
    pub title: String,
    pub body: String,
    pub category: AnnouncementCategory,
    pub targets: Vec<AnnouncementTarget>,
    pub publish_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub fn publish(
    command: PublishAnnouncement,
    principal: &Principal,
    register: &Register,
) -> Result<Decision, Rejection> {
    principal.refuse_auditor()?;
    require_text("title", &command.title, 200)?;
    require_text("body", &command.body, 20_000)?;
    if command.targets.is_empty() {
        return Err(Rejection::invalid(
            "targets",
            "announcement.target_required",
            "choose at least one property",
        ));
    }
    let unique: BTreeSet<(Uuid, Option<Uuid>)> = command
        .targets
        .iter()
        .map(|t| (t.property_id, t.building_id))
        .collect();
    if unique.len() != command.targets.len() {
        return Err(Rejection::invalid(
            "targets",
            "announcement.target_twice",
            "a target is listed twice",
        ));
    }
    for target in &command.targets {
        if !register.properties.contains_key(&target.property_id) {
            return Err(Rejection::not_found(
                "targets",
                "announcement.property_unknown",
                format!("no property {}", target.property_id),
            ));
        }
        if let Some(b) = target.building_id
            && register
                .buildings
                .get(&b)
                .is_none_or(|b| b.property_id != target.property_id)
        {
            return Err(Rejection::not_found(
                "targets",
                "announcement.building_unknown",
                format!("no building {b} in property {}", target.property_id),
            ));
        }
    }
    check_expiry(command.publish_at, command.expires_at)?;
    let role = publisher_role(&command.targets, principal)?;
    Ok(Decision {
        role,
        events: vec![DomainEvent::AnnouncementPublished(AnnouncementPublished {
            announcement_id: command.announcement_id,
            title: command.title,
            body: command.body,
            category: command.category,
            targets: command.targets,
            publish_at: command.publish_at,
            expires_at: command.expires_at,
        })],
    })
}

fn check_expiry(
    publish_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), Rejection> {
    if expires_at.is_some_and(|t| t <= publish_at) {
        return Err(Rejection::invalid(
            "expires_at",
            "announcement.expires_after_publish",
            "must be after publish_at",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnnouncementCommand {
    Correct {
        title: String,
        body: String,
        expires_at: Option<DateTime<Utc>>,
        reason: String,
    },
    Withdraw {
        reason: String,
    },
    /// The reader marks it read; reading twice records nothing new.
    Read,
}

/// The one answer for an announcement that does not exist or is not the caller's to see.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "announcement_id",
        "announcement.not_visible",
        "no such announcement",
    )
}

/// Whether `principal` may see the announcement: staff of a targeted property (always) and
/// auditors, occupants of a targeted home while it is current.
pub fn may_see(
    announcement: &Announcement,
    principal: &Principal,
    register: &Register,
    now: DateTime<Utc>,
) -> bool {
    announcement
        .targets
        .iter()
        .any(|t| principal.office_role_for(t.property_id).is_some())
        || principal.is_auditor()
        || announcement
            .targets
            .iter()
            .any(|t| principal.committees.contains(&t.property_id))
        || (announcement.is_current(now)
            && targets_home(&announcement.targets, principal, register))
}

pub fn decide(
    announcement: &Announcement,
    command: AnnouncementCommand,
    principal: &Principal,
    register: &Register,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if !may_see(announcement, principal, register, now) {
        return Err(not_visible());
    }
    let id = announcement.announcement_id;
    match command {
        AnnouncementCommand::Read => {
            let role = principal
                .homes
                .first()
                .map_or(ActorRole::Resident, |h| h.role());
            let events = if announcement.readers.contains(&principal.person_id)
                || !targets_home(&announcement.targets, principal, register)
            {
                // Read counts are about the audience; a second read, or staff opening it, adds nothing.
                Vec::new()
            } else {
                vec![
                    AnnouncementRead {
                        announcement_id: id,
                        reader_id: principal.person_id,
                    }
                    .into(),
                ]
            };
            Ok(Decision { events, role })
        }
        AnnouncementCommand::Correct {
            title,
            body,
            expires_at,
            reason,
        } => {
            principal.refuse_auditor()?;
            let role = publisher_role(&announcement.targets, principal)?;
            if announcement.withdrawn {
                return Err(Rejection::transition(
                    "announcement.withdrawn",
                    "a withdrawn announcement cannot be corrected",
                ));
            }
            require_text("title", &title, 200)?;
            require_text("body", &body, 20_000)?;
            require_text("reason", &reason, 1000)?;
            check_expiry(announcement.publish_at, expires_at)?;
            Ok(Decision {
                role,
                events: vec![
                    AnnouncementCorrected {
                        announcement_id: id,
                        title,
                        body,
                        expires_at,
                        reason,
                    }
                    .into(),
                ],
            })
        }
        AnnouncementCommand::Withdraw { reason } => {
            principal.refuse_auditor()?;
            let role = publisher_role(&announcement.targets, principal)?;
            if announcement.withdrawn {
                return Err(Rejection::transition(
                    "announcement.withdrawn",
                    "the announcement is already withdrawn",
                ));
            }
            require_text("reason", &reason, 1000)?;
            Ok(Decision {
                role,
                events: vec![
                    AnnouncementWithdrawn {
                        announcement_id: id,
                        reason,
                    }
                    .into(),
                ],
            })
        }
    }
}
