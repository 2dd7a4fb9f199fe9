//! The bulk notice: one message from the office to everyone affected at once (a water outage,
//! an apology for a broken promise), for service recovery. The audience is every current
//! occupant of a property, a building or a list of apartments of one property, resolved from
//! the register's contracts on the day it is sent and recorded in the event. Each recipient
//! marks it read; the office counts who has.

use std::collections::BTreeSet;

use talo_events_schema::DomainEvent;
use talo_events_schema::bulk_notice::*;
use talo_events_schema::envelope::ActorRole;
use uuid::Uuid;

use crate::access::{Principal, auditor_read_only};
use crate::calendar::local_date;
pub use crate::decision::{Context, Decision};
use crate::rejection::{Rejection, require_text};

pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 4000;
/// At most this many apartments may be listed one by one; larger audiences are a building or a
/// property.
pub const MAX_APARTMENTS: usize = 500;

/// A notice about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SendBulkNotice {
    pub bulk_notice_id: Uuid,
    pub target: NoticeTarget,
    pub subject: String,
    pub body: String,
}

/// What the rules need to know about one notice, folded from its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkNotice {
    pub bulk_notice_id: Uuid,
    pub property_id: Uuid,
    pub recipients: BTreeSet<Uuid>,
    pub read_by: BTreeSet<Uuid>,
}

impl BulkNotice {
    /// Folds one notice's stream, oldest first, with each event's actor.
    pub fn fold<'a>(events: impl IntoIterator<Item = (&'a DomainEvent, Uuid)>) -> Option<Self> {
        let mut state: Option<BulkNotice> = None;
        for (event, actor) in events {
            match (&mut state, event) {
                (None, DomainEvent::BulkNoticeSent(e)) => {
                    state = Some(BulkNotice {
                        bulk_notice_id: e.bulk_notice_id,
                        property_id: e.property_id,
                        recipients: e.recipients.iter().map(|r| r.person_id).collect(),
                        read_by: BTreeSet::new(),
                    })
                }
                (Some(s), DomainEvent::BulkNoticeRead(_)) => {
                    s.read_by.insert(actor);
                }
                _ => {}
            }
        }
        state
    }
}

/// How a person sees a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Someone it was sent to, whether or not they still live there: it is theirs.
    Recipient,
    /// An office role for the property: sees the audience and who has read it.
    Office(ActorRole),
    Auditor,
}

impl Viewer {
    /// Sees the list of recipients and the read counts.
    pub fn sees_audience(self) -> bool {
        matches!(self, Viewer::Office(_) | Viewer::Auditor)
    }
}

/// Whether and how `principal` may see a notice of `property_id` sent to `is_recipient`.
pub fn viewer(principal: &Principal, property_id: Uuid, is_recipient: bool) -> Option<Viewer> {
    if let Some(role) = principal.office_role_for(property_id) {
        return Some(Viewer::Office(role));
    }
    if is_recipient {
        return Some(Viewer::Recipient);
    }
    if principal.is_auditor() {
        return Some(Viewer::Auditor);
    }
    None
}

/// Resolves the audience from today's contracts and sends the notice.
pub fn send(command: SendBulkNotice, ctx: &Context<'_>) -> Result<Decision, Rejection> {
    ctx.principal.refuse_auditor()?;
    let register = ctx.register;
    let (property_id, apartments): (Uuid, BTreeSet<Uuid>) = match &command.target {
        NoticeTarget::Property { property_id } => {
            if !register.properties.contains_key(property_id) {
                return Err(Rejection::not_found(
                    "target.property_id",
                    "bulk_notice.property_unknown",
                    "no such property",
                ));
            }
            let apartments = register
                .apartments
                .values()
                .filter(|a| a.property_id == *property_id)
                .map(|a| a.apartment_id)
                .collect();
            (*property_id, apartments)
        }
        NoticeTarget::Building { building_id } => {
            let building = register.buildings.get(building_id).ok_or_else(|| {
                Rejection::not_found(
                    "target.building_id",
                    "bulk_notice.building_unknown",
                    "no such building",
                )
            })?;
            let apartments = register
                .apartments
                .values()
                .filter(|a| a.building_id == *building_id)
                .map(|a| a.apartment_id)
                .collect();
            (building.property_id, apartments)
        }
        NoticeTarget::Apartments { apartment_ids } => {
            if apartment_ids.is_empty() || apartment_ids.len() > MAX_APARTMENTS {
                return Err(Rejection::invalid(
                    "target.apartment_ids",
                    "bulk_notice.apartment_count",
                    format!("must list from 1 to {MAX_APARTMENTS} apartments"),
                ));
            }
            let mut properties = BTreeSet::new();
            for id in apartment_ids {
                let apartment = register.apartments.get(id).ok_or_else(|| {
                    Rejection::not_found(
                        "target.apartment_ids",
                        "bulk_notice.apartment_unknown",
                        format!("no such apartment {id}"),
                    )
                })?;
                properties.insert(apartment.property_id);
            }
            let [property_id] = properties.into_iter().collect::<Vec<_>>()[..] else {
                return Err(Rejection::invalid(
                    "target.apartment_ids",
                    "bulk_notice.one_property",
                    "the apartments must all be in one property; send one notice per property",
                ));
            };
            (property_id, apartment_ids.iter().copied().collect())
        }
    };
    // The target as recorded: a listed apartment once, in a stable order.
    let target = match command.target {
        NoticeTarget::Apartments { .. } => NoticeTarget::Apartments {
            apartment_ids: apartments.iter().copied().collect(),
        },
        other => other,
    };
    let role = ctx.principal.office_role_for(property_id).ok_or_else(|| {
        Rejection::forbidden(
            "bulk_notice.office_only",
            "only the property's office staff may send notices to its residents",
        )
    })?;
    require_text("subject", &command.subject, MAX_SUBJECT)?;
    require_text("body", &command.body, MAX_BODY)?;
    let today = local_date(ctx.occurred_at);
    let recipients: BTreeSet<NoticeRecipient> = apartments
        .iter()
        .flat_map(|a| register.occupants(*a, today))
        .map(|c| NoticeRecipient {
            person_id: c.person_id,
            apartment_id: c.apartment_id,
        })
        .collect();
    if recipients.is_empty() {
        return Err(Rejection::invalid(
            "target",
            "bulk_notice.no_recipients",
            "nobody lives in or owns an apartment of the target today",
        ));
    }
    Ok(Decision {
        role,
        events: vec![
            BulkNoticeSent {
                bulk_notice_id: command.bulk_notice_id,
                property_id,
                target,
                subject: command.subject,
                body: command.body,
                recipients_on: today,
                recipients: recipients.into_iter().collect(),
            }
            .into(),
        ],
    })
}

/// A recipient marks the notice read; reading it again records nothing.
pub fn mark_read(notice: &BulkNotice, ctx: &Context<'_>) -> Result<Decision, Rejection> {
    ctx.principal.refuse_auditor()?;
    let person = ctx.principal.person_id;
    if !notice.recipients.contains(&person) {
        return Err(match viewer(ctx.principal, notice.property_id, false) {
            None => not_visible(),
            Some(Viewer::Auditor) => auditor_read_only(),
            Some(_) => Rejection::forbidden(
                "bulk_notice.recipient_only",
                "only the notice's recipients mark it read; the office sees who has",
            ),
        });
    }
    let role = ctx
        .principal
        .occupant_role_in(notice.property_id)
        .unwrap_or(ActorRole::Resident);
    let events = if notice.read_by.contains(&person) {
        Vec::new()
    } else {
        vec![
            BulkNoticeRead {
                bulk_notice_id: notice.bulk_notice_id,
            }
            .into(),
        ]
    };
    Ok(Decision { events, role })
}

/// The one answer for a notice that does not exist or is not the caller's to see.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "bulk_notice_id",
        "bulk_notice.not_visible",
        "no such bulk notice",
    )
}
