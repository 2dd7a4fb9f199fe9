//! The message thread (yhteydenotto): one request about one apartment, with its own ticket
//! number, between the apartment's residents and the office. A resident (or shareholder) starts
//! it in the portal, or the office records a phone call, email or visit on their behalf, or the
//! office writes to the resident first. Messages go both ways; the office keeps internal notes
//! the residents never see, assigns a handler and sets the status; each side marks what it has
//! read, which is the other side's read receipt.
//!
//! Status follows the conversation: a message from the office makes the thread wait for the
//! resident; a message from the resident's side makes a waiting thread in progress again, and
//! reopens a closed one as `new`, so it is triaged again like a fresh contact (its handler
//! stays assigned). Those changes are recorded as their own events with their cause.

use chrono::{DateTime, NaiveDate, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::message_thread::*;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::access::{Principal, auditor_read_only, is_on_behalf_channel};
use crate::calendar::local_date;
pub use crate::decision::{Context, Decision};
use crate::rejection::{Rejection, require_text};

pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 4000;
pub const MAX_NOTE: usize = 4000;

/// What the rules need to know about one thread, folded from its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageThread {
    pub message_thread_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub resident_id: Uuid,
    /// The local day it was started.
    pub started_on: NaiveDate,
    pub status: MessageThreadStatus,
    pub handler_id: Option<Uuid>,
    /// Every message's id and side, oldest first.
    pub messages: Vec<(Uuid, MessageSide)>,
    /// How many messages each side has read (`[resident, staff]`).
    pub read_count: [usize; 2],
}

impl MessageThread {
    /// Folds the events of one thread's stream, oldest first, with their business times.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (&'a DomainEvent, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut state: Option<MessageThread> = None;
        for (event, at) in events {
            match (&mut state, event) {
                (None, DomainEvent::MessageThreadStarted(e)) => {
                    state = Some(MessageThread::started(e, at))
                }
                (Some(s), event) => s.apply(event),
                (None, _) => {}
            }
        }
        state
    }

    /// A thread as it is when just started, before its first message.
    fn started(e: &MessageThreadStarted, at: DateTime<Utc>) -> Self {
        MessageThread {
            message_thread_id: e.message_thread_id,
            property_id: e.property_id,
            apartment_id: e.apartment_id,
            resident_id: e.resident_id,
            started_on: local_date(at),
            status: MessageThreadStatus::New,
            handler_id: None,
            messages: Vec::new(),
            read_count: [0, 0],
        }
    }

    fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::MessagePosted(e) => self.messages.push((e.message_id, e.from)),
            DomainEvent::MessageThreadAssigned(e) => self.handler_id = Some(e.handler_id),
            DomainEvent::MessageThreadStatusChanged(e) => self.status = e.status,
            DomainEvent::MessageThreadRead(e) => {
                if let Some(i) = self.position_of(e.up_to_message_id) {
                    let read = &mut self.read_count[side_index(e.reader_side)];
                    *read = (*read).max(i + 1);
                }
            }
            _ => {}
        }
    }

    fn position_of(&self, message_id: Uuid) -> Option<usize> {
        self.messages.iter().position(|(id, _)| *id == message_id)
    }

    pub fn access(&self) -> MessageThreadAccess {
        MessageThreadAccess {
            property_id: self.property_id,
            apartment_id: self.apartment_id,
            resident_id: self.resident_id,
            started_on: self.started_on,
        }
    }
}

fn side_index(side: MessageSide) -> usize {
    match side {
        MessageSide::Resident => 0,
        MessageSide::Staff => 1,
    }
}

/// The facts about a thread that decide who may see it, as the read side keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageThreadAccess {
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub resident_id: Uuid,
    pub started_on: NaiveDate,
}

/// How a person takes part in a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The thread's resident while they still live in or own the apartment, or an occupant
    /// whose contract began on or before the day the thread started.
    Resident(ActorRole),
    /// The thread's resident after moving out: reads it (it is their receipt) and marks it read,
    /// but writes no more; the office takes it from there.
    FormerResident,
    /// An office role for the property.
    Office(ActorRole),
    /// Reads everything, notes included; changes nothing.
    Auditor,
}

impl Viewer {
    pub fn sees_internal_notes(self) -> bool {
        matches!(self, Viewer::Office(_) | Viewer::Auditor)
    }

    /// The side whose reading this viewer's reading is, if they take part.
    pub fn side(self) -> Option<MessageSide> {
        match self {
            Viewer::Resident(_) | Viewer::FormerResident => Some(MessageSide::Resident),
            Viewer::Office(_) => Some(MessageSide::Staff),
            Viewer::Auditor => None,
        }
    }

    pub fn role(self) -> ActorRole {
        match self {
            Viewer::FormerResident => ActorRole::Resident,
            Viewer::Resident(r) | Viewer::Office(r) => r,
            Viewer::Auditor => ActorRole::Auditor,
        }
    }
}

/// Whether and how `principal` may see a thread. Office roles come first: a manager who also
/// lives in the building handles the thread as staff. Contractors see no threads.
pub fn viewer(principal: &Principal, thread: &MessageThreadAccess) -> Option<Viewer> {
    if let Some(role) = principal.office_role_for(thread.property_id) {
        return Some(Viewer::Office(role));
    }
    let is_resident = thread.resident_id == principal.person_id;
    if let Some(role) =
        principal.occupant_role_since(thread.apartment_id, thread.started_on, is_resident)
    {
        return Some(Viewer::Resident(role));
    }
    if is_resident {
        return Some(Viewer::FormerResident);
    }
    if principal.is_auditor() {
        return Some(Viewer::Auditor);
    }
    None
}

/// A new thread, before it has a ticket number.
#[derive(Debug, Clone, PartialEq)]
pub struct StartMessageThread {
    pub message_thread_id: Uuid,
    pub apartment_id: Uuid,
    pub category: MessageCategory,
    pub subject: String,
    /// The first message.
    pub message_id: Uuid,
    pub body: String,
    /// The resident the thread is with: the actor themselves, the person the office records a
    /// contact for, or the person the office writes to.
    pub resident_id: Uuid,
    /// Whose first message it is: the resident's (their own, or recorded on their behalf), or
    /// the office's.
    pub opened_by: MessageSide,
}

/// A step on an existing thread.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageThreadCommand {
    /// A message: from the resident's side when a resident writes, or when the office records
    /// a contact `on_behalf_of` one; from the office otherwise.
    PostMessage {
        message_id: Uuid,
        body: String,
        on_behalf_of: Option<Uuid>,
    },
    AddNote {
        note_id: Uuid,
        text: String,
    },
    Assign {
        handler_id: Uuid,
    },
    SetStatus {
        status: MessageThreadStatus,
    },
    /// Marks the thread read up to a message (the latest, if none is named).
    MarkRead {
        up_to_message_id: Option<Uuid>,
    },
}

impl MessageThreadCommand {
    /// The event type a command records first, so a reused idempotency key can be told apart.
    pub fn event_type(&self) -> &'static str {
        match self {
            MessageThreadCommand::PostMessage { .. } => "MessagePosted",
            MessageThreadCommand::AddNote { .. } => "MessageThreadNoteAdded",
            MessageThreadCommand::Assign { .. } => "MessageThreadAssigned",
            MessageThreadCommand::SetStatus { .. } => "MessageThreadStatusChanged",
            MessageThreadCommand::MarkRead { .. } => "MessageThreadRead",
        }
    }
}

/// Checks a new thread and names the role the actor starts it in. Call before issuing a ticket
/// number, so a refused thread does not use one up.
pub fn check_start(
    command: &StartMessageThread,
    ctx: &Context<'_>,
) -> Result<(ActorRole, Uuid), Rejection> {
    ctx.principal.refuse_auditor()?;
    let apartment = ctx
        .register
        .apartments
        .get(&command.apartment_id)
        .ok_or_else(|| {
            Rejection::not_found(
                "apartment_id",
                "message_thread.apartment_unknown",
                "no such apartment",
            )
        })?;
    let property_id = apartment.property_id;
    require_text("subject", &command.subject, MAX_SUBJECT)?;
    require_text("body", &command.body, MAX_BODY)?;
    let today = local_date(ctx.occurred_at);
    let lives_there = |person: Uuid| {
        ctx.register
            .occupants(command.apartment_id, today)
            .any(|c| c.person_id == person)
    };
    let own = command.resident_id == ctx.principal.person_id;
    if own && command.opened_by == MessageSide::Resident {
        let role = ctx
            .principal
            .home_role(command.apartment_id)
            .ok_or_else(|| {
                Rejection::forbidden(
                    "message_thread.own_home_only",
                    "you may start threads only about your own apartment",
                )
            })?;
        return Ok((role, property_id));
    }
    let role = ctx.principal.office_role_for(property_id).ok_or_else(|| {
        Rejection::forbidden(
            "message_thread.office_only",
            "only the property's office staff may start a thread with another person",
        )
    })?;
    if command.opened_by == MessageSide::Resident && !is_on_behalf_channel(ctx.channel) {
        return Err(on_behalf_channel());
    }
    if !lives_there(command.resident_id) {
        return Err(Rejection::invalid(
            "resident_id",
            "message_thread.resident_not_occupant",
            "the resident must live in or own the apartment today",
        ));
    }
    Ok((role, property_id))
}

/// Starts a checked thread under the ticket number issued for it: the start, its first
/// message, and the status that message leads to.
pub fn start(
    command: StartMessageThread,
    ticket: &TicketNumberIssued,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let (role, property_id) = check_start(&command, ctx)?;
    let id = command.message_thread_id;
    let started = MessageThreadStarted {
        message_thread_id: id,
        ticket: ticket.ticket.clone(),
        property_id,
        apartment_id: command.apartment_id,
        resident_id: command.resident_id,
        category: command.category,
        subject: command.subject,
    };
    let thread = MessageThread::started(&started, ctx.occurred_at);
    let mut events = vec![started.into()];
    let sender_id = match command.opened_by {
        MessageSide::Resident => command.resident_id,
        MessageSide::Staff => ctx.principal.person_id,
    };
    events.extend(post(
        &thread,
        command.opened_by,
        sender_id,
        command.message_id,
        command.body,
    ));
    Ok(Decision { events, role })
}

/// Decides a step on an existing thread.
pub fn decide(
    thread: &MessageThread,
    command: MessageThreadCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    use MessageThreadCommand as C;
    use MessageThreadStatus as S;
    ctx.principal.refuse_auditor()?;
    let viewer = viewer(ctx.principal, &thread.access()).ok_or_else(not_visible)?;
    if viewer == Viewer::Auditor {
        return Err(auditor_read_only());
    }
    let id = thread.message_thread_id;
    let events: Vec<DomainEvent> = match command {
        C::PostMessage {
            message_id,
            body,
            on_behalf_of,
        } => {
            require_text("body", &body, MAX_BODY)?;
            match (viewer, on_behalf_of) {
                (Viewer::Resident(_), None) => post(
                    thread,
                    MessageSide::Resident,
                    ctx.principal.person_id,
                    message_id,
                    body,
                ),
                (Viewer::Resident(_), Some(_)) => {
                    return Err(Rejection::forbidden(
                        "message_thread.on_behalf_requires_office",
                        "only the office may record a message on someone else's behalf",
                    ));
                }
                (Viewer::FormerResident, _) => return Err(no_longer_occupant()),
                (Viewer::Office(_), Some(sender)) => {
                    if !is_on_behalf_channel(ctx.channel) {
                        return Err(on_behalf_channel());
                    }
                    let sender_is_resident = ctx
                        .register
                        .principal(sender, local_date(ctx.occurred_at))
                        .and_then(|p| self::viewer(&p, &thread.access()))
                        .is_some_and(|v| matches!(v, Viewer::Resident(_)));
                    if !sender_is_resident {
                        return Err(Rejection::invalid(
                            "on_behalf_of",
                            "message_thread.sender_not_resident",
                            "the person must be one of the thread's residents today",
                        ));
                    }
                    post(thread, MessageSide::Resident, sender, message_id, body)
                }
                (Viewer::Office(_), None) => {
                    if thread.status == S::Closed {
                        return Err(Rejection::transition(
                            "message_thread.closed",
                            "the thread is closed; set it in progress before writing to the resident",
                        ));
                    }
                    post(
                        thread,
                        MessageSide::Staff,
                        ctx.principal.person_id,
                        message_id,
                        body,
                    )
                }
                (Viewer::Auditor, _) => return Err(auditor_read_only()),
            }
        }
        C::AddNote { note_id, text } => {
            office_only(viewer, "add internal notes to")?;
            require_text("text", &text, MAX_NOTE)?;
            vec![
                MessageThreadNoteAdded {
                    message_thread_id: id,
                    note_id,
                    text,
                }
                .into(),
            ]
        }
        C::Assign { handler_id } => {
            office_only(viewer, "assign")?;
            if thread.status == S::Closed {
                return Err(Rejection::transition(
                    "message_thread.closed",
                    "the thread is closed; set it in progress before assigning it",
                ));
            }
            if thread.handler_id == Some(handler_id) {
                return Err(Rejection::transition(
                    "message_thread.already_assigned",
                    "the thread is already assigned to this person",
                ));
            }
            let is_office = ctx
                .register
                .principal(handler_id, local_date(ctx.occurred_at))
                .is_some_and(|p| p.office_role_for(thread.property_id).is_some());
            if !is_office {
                return Err(Rejection::invalid(
                    "handler_id",
                    "message_thread.handler_not_office",
                    "the handler must be office staff of the thread's property",
                ));
            }
            vec![
                MessageThreadAssigned {
                    message_thread_id: id,
                    handler_id,
                }
                .into(),
            ]
        }
        C::SetStatus { status } => {
            office_only(viewer, "set the status of")?;
            if status == S::New {
                return Err(Rejection::invalid(
                    "status",
                    "message_thread.status_new_by_message",
                    "a thread is new until the office takes it up, or again when the resident writes to a closed one; it cannot be set back",
                ));
            }
            if status == thread.status {
                return Err(Rejection::transition(
                    "message_thread.status_unchanged",
                    format!("the thread is already {}", status_word(status)),
                ));
            }
            vec![status_changed(id, status, StatusChangeCause::Staff)]
        }
        C::MarkRead { up_to_message_id } => {
            let side = viewer.side().ok_or_else(auditor_read_only)?;
            let up_to = match up_to_message_id {
                Some(m) => thread.position_of(m).ok_or_else(|| {
                    Rejection::not_found(
                        "up_to_message_id",
                        "message_thread.message_unknown",
                        "no such message in the thread",
                    )
                })?,
                None => match thread.messages.len() {
                    0 => return Ok(nothing(viewer)),
                    n => n - 1,
                },
            };
            let already = thread.read_count[side_index(side)];
            // Recorded only when it tells the other side something: one of their messages
            // newly read. Marking read again, or reading one's own messages, records nothing.
            let news = thread
                .messages
                .get(already..=up_to)
                .is_some_and(|unread| unread.iter().any(|(_, from)| *from == side.other()));
            if !news {
                return Ok(nothing(viewer));
            }
            vec![
                MessageThreadRead {
                    message_thread_id: id,
                    reader_side: side,
                    up_to_message_id: thread.messages[up_to].0,
                }
                .into(),
            ]
        }
    };
    Ok(Decision {
        events,
        role: viewer.role(),
    })
}

/// A message and the status change it causes, if any.
fn post(
    thread: &MessageThread,
    from: MessageSide,
    sender_id: Uuid,
    message_id: Uuid,
    body: String,
) -> Vec<DomainEvent> {
    use MessageThreadStatus as S;
    let id = thread.message_thread_id;
    let (next, cause) = match from {
        MessageSide::Resident => (
            match thread.status {
                S::Closed => S::New,
                S::WaitingForResident => S::InProgress,
                unchanged => unchanged,
            },
            StatusChangeCause::ResidentMessage,
        ),
        MessageSide::Staff => (S::WaitingForResident, StatusChangeCause::StaffMessage),
    };
    let message = MessagePosted {
        message_thread_id: id,
        message_id,
        from,
        sender_id,
        body,
    }
    .into();
    let mut events = vec![message];
    if next != thread.status {
        events.push(status_changed(id, next, cause));
    }
    events
}

fn status_changed(id: Uuid, status: MessageThreadStatus, cause: StatusChangeCause) -> DomainEvent {
    MessageThreadStatusChanged {
        message_thread_id: id,
        status,
        cause,
    }
    .into()
}

fn nothing(viewer: Viewer) -> Decision {
    Decision {
        events: Vec::new(),
        role: viewer.role(),
    }
}

/// The one answer for a thread that does not exist, is in another organisation, or is not the
/// caller's to see, so the answer does not tell which.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "message_thread_id",
        "message_thread.not_visible",
        "no such message thread",
    )
}

fn no_longer_occupant() -> Rejection {
    Rejection::forbidden(
        "message_thread.no_longer_occupant",
        "you no longer live in or own the apartment; start a new contact with the office",
    )
}

fn on_behalf_channel() -> Rejection {
    Rejection::invalid(
        "channel",
        "message_thread.on_behalf_channel",
        "a contact recorded on a resident's behalf must say how they got in touch: phone, email or office",
    )
}

fn office_only(viewer: Viewer, what: &str) -> Result<(), Rejection> {
    match viewer {
        Viewer::Office(_) => Ok(()),
        _ => Err(Rejection::forbidden(
            "message_thread.office_only",
            format!("only the property's office staff may {what} a thread"),
        )),
    }
}

fn status_word(status: MessageThreadStatus) -> &'static str {
    match status {
        MessageThreadStatus::New => "new",
        MessageThreadStatus::InProgress => "in progress",
        MessageThreadStatus::WaitingForResident => "waiting for the resident",
        MessageThreadStatus::Closed => "closed",
    }
}
