//! Renovation requests (muutostyöt): only a shareholder of the apartment may ask; the property
//! manager or technical manager asks for supplements and decides; the shareholder does the work
//! and the manager inspects it. Customer service follows and comments; tenants are not party.

use chrono::{DateTime, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::register::{ContractKind, StaffRole};
use talo_events_schema::renovation::*;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::access::Principal;
use crate::calendar::local_date;
use crate::decision::Decision;
use crate::register::Register;
use crate::rejection::{Rejection, require_text};

/// The renovation ticket series (muutostyö).
pub const RENOVATION_PREFIX: &str = "MT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenovationStatus {
    Submitted,
    SupplementRequested,
    /// Supplemented, waiting for the decision again.
    UnderReview,
    Approved,
    Rejected,
    WorkStarted,
    WorkCompleted,
    Inspected,
    Withdrawn,
}

impl RenovationStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Rejected | Self::Inspected | Self::Withdrawn)
    }

    /// Waiting for the manager's decision.
    pub fn awaits_decision(self) -> bool {
        matches!(self, Self::Submitted | Self::UnderReview)
    }

    pub fn after(event: &DomainEvent) -> Option<Self> {
        Some(match event {
            DomainEvent::RenovationRequested(_) => Self::Submitted,
            DomainEvent::RenovationSupplementRequested(_) => Self::SupplementRequested,
            DomainEvent::RenovationSupplemented(_) => Self::UnderReview,
            DomainEvent::RenovationApproved(_) => Self::Approved,
            DomainEvent::RenovationRejected(_) => Self::Rejected,
            DomainEvent::RenovationWorkStarted(_) => Self::WorkStarted,
            DomainEvent::RenovationWorkCompleted(_) => Self::WorkCompleted,
            DomainEvent::RenovationInspected(_) => Self::Inspected,
            DomainEvent::RenovationWithdrawn(_) => Self::Withdrawn,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renovation {
    pub renovation_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub shareholder_id: Uuid,
    pub status: RenovationStatus,
}

impl Renovation {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Option<Self> {
        let mut state: Option<Renovation> = None;
        for event in events {
            match (&mut state, event) {
                (None, DomainEvent::RenovationRequested(e)) => {
                    state = Some(Renovation {
                        renovation_id: e.renovation_id,
                        property_id: e.property_id,
                        apartment_id: e.apartment_id,
                        shareholder_id: e.shareholder_id,
                        status: RenovationStatus::Submitted,
                    })
                }
                (Some(s), e) => {
                    if let Some(status) = RenovationStatus::after(e) {
                        s.status = status;
                    }
                }
                (None, _) => {}
            }
        }
        state
    }
}

/// How a person takes part in a renovation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// A current shareholder of the apartment.
    Shareholder,
    /// The property manager or technical manager, who decide.
    Manager(ActorRole),
    /// Customer service: follows and comments.
    Office(ActorRole),
    /// The shareholder who filed it, after selling: reads only.
    PastShareholder,
    Auditor,
}

impl Party {
    pub fn role(self) -> ActorRole {
        match self {
            Party::Shareholder | Party::PastShareholder => ActorRole::Shareholder,
            Party::Manager(r) | Party::Office(r) => r,
            Party::Auditor => ActorRole::Auditor,
        }
    }
}

/// Whether and how `principal` takes part in a request on `apartment_id` filed by `filer`.
pub fn party(
    principal: &Principal,
    property_id: Uuid,
    apartment_id: Uuid,
    filer: Uuid,
) -> Option<Party> {
    if let Some(role) = principal.staff_role_for(
        property_id,
        &[StaffRole::PropertyManager, StaffRole::TechnicalManager],
    ) {
        return Some(Party::Manager(role));
    }
    if let Some(role) = principal.staff_role_for(property_id, &[StaffRole::CustomerService]) {
        return Some(Party::Office(role));
    }
    let owns = principal
        .homes
        .iter()
        .any(|h| h.apartment_id == apartment_id && h.kind == ContractKind::Shareholding);
    if owns {
        return Some(Party::Shareholder);
    }
    if filer == principal.person_id {
        return Some(Party::PastShareholder);
    }
    principal.is_auditor().then_some(Party::Auditor)
}

/// A new request, before it has a ticket number.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRenovation {
    pub renovation_id: Uuid,
    pub apartment_id: Uuid,
    pub work_types: Vec<RenovationWorkType>,
    pub description: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub contractors: Vec<String>,
    pub attachments: Vec<String>,
}

/// Checks a new request before a ticket number is issued.
pub fn check_request(
    command: &RequestRenovation,
    principal: &Principal,
    register: &Register,
    occurred_at: DateTime<Utc>,
) -> Result<Uuid, Rejection> {
    let apartment = register
        .apartments
        .get(&command.apartment_id)
        .ok_or_else(|| {
            Rejection::not_found(
                "apartment_id",
                "renovation.apartment_unknown",
                "no such apartment",
            )
        })?;
    let owns = principal
        .homes
        .iter()
        .any(|h| h.apartment_id == command.apartment_id && h.kind == ContractKind::Shareholding);
    if !owns {
        return Err(Rejection::forbidden(
            "renovation.shareholder_only",
            "only a shareholder of the apartment may request permission for renovation work; a tenant asks the owner",
        ));
    }
    if command.work_types.is_empty() {
        return Err(Rejection::invalid(
            "work_types",
            "renovation.work_type_required",
            "name at least one kind of work",
        ));
    }
    require_text("description", &command.description, 10_000)?;
    if command.planned_end < command.planned_start {
        return Err(Rejection::invalid(
            "planned_end",
            "renovation.schedule_order",
            "must not be before planned_start",
        ));
    }
    if command.planned_start < local_date(occurred_at) {
        return Err(Rejection::invalid(
            "planned_start",
            "renovation.start_in_past",
            "the request must come before the work starts",
        ));
    }
    for contractor in &command.contractors {
        require_text("contractors", contractor, 200)?;
    }
    check_attachments(&command.attachments)?;
    Ok(apartment.property_id)
}

fn check_attachments(attachments: &[String]) -> Result<(), Rejection> {
    if attachments.len() > 20 {
        return Err(Rejection::invalid(
            "attachments",
            "renovation.too_many_attachments",
            "at most 20 attachments",
        ));
    }
    for attachment in attachments {
        require_text("attachments", attachment, 500)?;
    }
    Ok(())
}

/// Files a checked request under its ticket number.
pub fn request(
    command: RequestRenovation,
    ticket: &TicketNumberIssued,
    principal: &Principal,
    register: &Register,
    occurred_at: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let property_id = check_request(&command, principal, register, occurred_at)?;
    Ok(Decision {
        role: ActorRole::Shareholder,
        events: vec![DomainEvent::RenovationRequested(RenovationRequested {
            renovation_id: command.renovation_id,
            ticket: ticket.ticket.clone(),
            property_id,
            apartment_id: command.apartment_id,
            shareholder_id: principal.person_id,
            work_types: command.work_types,
            description: command.description,
            planned_start: command.planned_start,
            planned_end: command.planned_end,
            contractors: command.contractors,
            attachments: command.attachments,
        })],
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum RenovationCommand {
    RequestSupplement {
        request: String,
    },
    Supplement {
        text: String,
        attachments: Vec<String>,
    },
    Comment {
        comment_id: Uuid,
        text: String,
    },
    Approve {
        conditions: Vec<String>,
    },
    Reject {
        reason: String,
    },
    StartWork,
    CompleteWork,
    Inspect {
        approved: bool,
        notes: String,
    },
    Withdraw {
        reason: String,
    },
}

/// The one answer for a request that does not exist or is not the caller's to see.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "renovation_id",
        "renovation.not_visible",
        "no such renovation request",
    )
}

pub fn decide(
    renovation: &Renovation,
    command: RenovationCommand,
    principal: &Principal,
) -> Result<Decision, Rejection> {
    use RenovationCommand as C;
    use RenovationStatus as S;
    let party = party(
        principal,
        renovation.property_id,
        renovation.apartment_id,
        renovation.shareholder_id,
    )
    .ok_or_else(not_visible)?;
    match party {
        Party::Auditor => {
            return Err(crate::access::auditor_read_only());
        }
        Party::PastShareholder => {
            return Err(Rejection::forbidden(
                "renovation.no_longer_shareholder",
                "you no longer own the apartment",
            ));
        }
        _ => {}
    }
    if renovation.status.is_closed() {
        return Err(Rejection::transition(
            "renovation.closed",
            "the request is closed and takes no more steps",
        ));
    }
    let manager = || match party {
        Party::Manager(_) => Ok(()),
        _ => Err(Rejection::forbidden(
            "renovation.manager_decides",
            "only the property manager or technical manager handles renovation requests",
        )),
    };
    let shareholder = || match party {
        Party::Shareholder => Ok(()),
        _ => Err(Rejection::forbidden(
            "renovation.shareholder_only",
            "only a shareholder of the apartment does this",
        )),
    };
    let expect = |allowed: &[RenovationStatus], rule: &'static str, why: &str| {
        if allowed.contains(&renovation.status) {
            Ok(())
        } else {
            Err(Rejection::transition(
                rule,
                format!("{why} (the request is {:?})", renovation.status),
            ))
        }
    };
    let id = renovation.renovation_id;
    let event: DomainEvent = match command {
        C::RequestSupplement { request } => {
            manager()?;
            expect(
                &[S::Submitted, S::UnderReview],
                "renovation.supplement_before_decision",
                "supplements are asked for before the decision",
            )?;
            require_text("request", &request, 4000)?;
            RenovationSupplementRequested {
                renovation_id: id,
                request,
            }
            .into()
        }
        C::Supplement { text, attachments } => {
            shareholder()?;
            expect(
                &[S::SupplementRequested],
                "renovation.supplement_not_requested",
                "nothing was asked for",
            )?;
            require_text("text", &text, 10_000)?;
            check_attachments(&attachments)?;
            RenovationSupplemented {
                renovation_id: id,
                text,
                attachments,
            }
            .into()
        }
        C::Comment { comment_id, text } => {
            require_text("text", &text, 4000)?;
            RenovationCommentAdded {
                renovation_id: id,
                comment_id,
                text,
            }
            .into()
        }
        C::Approve { conditions } => {
            manager()?;
            if renovation.status == S::SupplementRequested {
                return Err(Rejection::transition(
                    "renovation.awaiting_supplement",
                    "the shareholder has not supplemented the request yet",
                ));
            }
            expect(
                &[S::Submitted, S::UnderReview],
                "renovation.decided_once",
                "the request is already decided",
            )?;
            for condition in &conditions {
                require_text("conditions", condition, 1000)?;
            }
            RenovationApproved {
                renovation_id: id,
                conditions,
            }
            .into()
        }
        C::Reject { reason } => {
            manager()?;
            if renovation.status == S::SupplementRequested {
                return Err(Rejection::transition(
                    "renovation.awaiting_supplement",
                    "the shareholder has not supplemented the request yet",
                ));
            }
            expect(
                &[S::Submitted, S::UnderReview],
                "renovation.decided_once",
                "the request is already decided",
            )?;
            require_text("reason", &reason, 4000)?;
            RenovationRejected {
                renovation_id: id,
                reason,
            }
            .into()
        }
        C::StartWork => {
            shareholder()?;
            expect(
                &[S::Approved],
                "renovation.start_before_approval",
                "work starts only after approval",
            )?;
            RenovationWorkStarted { renovation_id: id }.into()
        }
        C::CompleteWork => {
            shareholder()?;
            expect(
                &[S::WorkStarted],
                "renovation.complete_before_start",
                "work must start before it completes",
            )?;
            RenovationWorkCompleted { renovation_id: id }.into()
        }
        C::Inspect { approved, notes } => {
            manager()?;
            expect(
                &[S::WorkCompleted],
                "renovation.inspect_before_completion",
                "work is inspected once completed",
            )?;
            require_text("notes", &notes, 4000)?;
            RenovationInspected {
                renovation_id: id,
                approved,
                notes,
            }
            .into()
        }
        C::Withdraw { reason } => {
            shareholder()?;
            expect(
                &[S::Submitted, S::SupplementRequested, S::UnderReview],
                "renovation.withdraw_after_decision",
                "a decided request cannot be withdrawn",
            )?;
            require_text("reason", &reason, 1000)?;
            RenovationWithdrawn {
                renovation_id: id,
                reason,
            }
            .into()
        }
    };
    Ok(Decision {
        events: vec![event],
        role: party.role(),
    })
}
