//! Events of a message thread (yhteydenotto), one stream per thread: `message-thread-<id>`.
//! A thread is one request with its own ticket number (`YT-2026-000042`), about one apartment,
//! between the apartment's residents and the office.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a thread is about, for the queue and the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageCategory {
    General,
    Billing,
    KeysAndAccess,
    ParkingAndSauna,
    Moving,
    Renovation,
    Complaint,
    Other,
}

/// The two sides of a conversation: the apartment's residents and the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageSide {
    Resident,
    Staff,
}

impl MessageSide {
    pub fn other(self) -> MessageSide {
        match self {
            MessageSide::Resident => MessageSide::Staff,
            MessageSide::Staff => MessageSide::Resident,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageThreadStatus {
    /// Nobody at the office has answered or taken it up yet (also after a resident reopens it).
    New,
    InProgress,
    /// The office answered; the next move is the resident's.
    WaitingForResident,
    Closed,
}

/// Why a thread's status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusChangeCause {
    /// Office staff set it.
    Staff,
    /// A message from the resident's side moved it (back to in progress, or reopened it).
    ResidentMessage,
    /// A message from the office moved it to waiting for the resident.
    StaffMessage,
}

/// A thread was started. Its first message follows in the same append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageThreadStarted {
    pub message_thread_id: Uuid,
    pub ticket: String,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    /// The resident the thread is with: who wrote in, on whose behalf the office recorded the
    /// contact, or whom the office wrote to. Keeps read access after moving out.
    pub resident_id: Uuid,
    pub category: MessageCategory,
    pub subject: String,
}

/// A message on the thread. From the resident's side it is written in the portal by a
/// resident, or is a phone call, email or office visit the office recorded on their behalf (the
/// envelope's actor and channel say which); from the office it is a reply, or the first word
/// of a thread the office opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessagePosted {
    pub message_thread_id: Uuid,
    pub message_id: Uuid,
    pub from: MessageSide,
    /// The person whose message it is; differs from the actor when the office recorded a
    /// resident's contact on their behalf.
    pub sender_id: Uuid,
    pub body: String,
}

/// A staff-internal note: office staff and auditors read it, residents never do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageThreadNoteAdded {
    pub message_thread_id: Uuid,
    pub note_id: Uuid,
    pub text: String,
}

/// The thread was given to an office staff member to handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageThreadAssigned {
    pub message_thread_id: Uuid,
    pub handler_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageThreadStatusChanged {
    pub message_thread_id: Uuid,
    pub status: MessageThreadStatus,
    pub cause: StatusChangeCause,
}

/// One side read the thread up to and including a message: the other side's messages up to it
/// show as read from this event's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageThreadRead {
    pub message_thread_id: Uuid,
    pub reader_side: MessageSide,
    pub up_to_message_id: Uuid,
}
