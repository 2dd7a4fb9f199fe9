//! The catalog of event types: every payload's type name and current version, encoding to and
//! decoding from stored JSON (through the upcasters), and the JSON Schema of each.
//!
//! The type name of an event is the name of its payload struct, so what is stored reads the
//! same as the code.

use schemars::Schema;
use serde_json::Value;

use crate::announcement::*;
use crate::booking::*;
use crate::bulk_notice::*;
use crate::document::*;
use crate::fault_report::*;
use crate::housing::*;
use crate::ledger::*;
use crate::message_thread::*;
use crate::notification::*;
use crate::register::*;
use crate::renovation::*;
use crate::request_form::*;
use crate::service_level::*;
use crate::ticket::*;
use crate::upcast;

/// A stored event could not be read as a known event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event_type: `{0}` is not a known event type")]
    UnknownType(String),
    #[error(
        "schema_version: `{event_type}` version {version} is newer than this build knows ({current})"
    )]
    NewerVersion {
        event_type: String,
        version: u32,
        current: u32,
    },
    #[error("schema_version: `{event_type}` has no upcaster from version {version}")]
    NoUpcaster { event_type: String, version: u32 },
    #[error("payload: `{event_type}` v{version} does not match its schema: {reason}")]
    Invalid {
        event_type: String,
        version: u32,
        reason: String,
    },
}

macro_rules! catalog {
    ($( $name:ident = $version:literal ),* $(,)?) => {
        /// Every event Talo writes, in its current version.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent {
            $( $name($name), )*
        }

        $(
            impl From<$name> for DomainEvent {
                fn from(payload: $name) -> Self {
                    DomainEvent::$name(payload)
                }
            }
        )*

        /// `(event type, current schema version)` of every event type.
        pub const EVENT_TYPES: &[(&str, u32)] = &[ $( (stringify!($name), $version), )* ];

        impl DomainEvent {
            pub fn event_type(&self) -> &'static str {
                match self { $( DomainEvent::$name(_) => stringify!($name), )* }
            }

            pub fn schema_version(&self) -> u32 {
                match self { $( DomainEvent::$name(_) => $version, )* }
            }

            /// The payload as stored.
            pub fn to_json(&self) -> Value {
                let encoded = match self {
                    $( DomainEvent::$name(p) => serde_json::to_value(p), )*
                };
                // Serialising these plain structs into a Value cannot fail: no maps with
                // non-string keys, no custom serialisers.
                encoded.unwrap_or(Value::Null)
            }

            /// Reads a stored payload of any known version, upcasting it to the current one.
            pub fn from_json(event_type: &str, version: u32, payload: Value) -> Result<Self, DecodeError> {
                let current = current_version(event_type)
                    .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
                if version > current {
                    return Err(DecodeError::NewerVersion { event_type: event_type.to_owned(), version, current });
                }
                let payload = upcast::to_current(event_type, version, current, payload)?;
                let invalid = |e: serde_json::Error| DecodeError::Invalid {
                    event_type: event_type.to_owned(), version, reason: e.to_string(),
                };
                match event_type {
                    $( stringify!($name) => serde_json::from_value::<$name>(payload).map(DomainEvent::$name).map_err(invalid), )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// Reads a stored payload from its JSON text. A payload of the current version is
            /// parsed straight into its typed struct: building a `serde_json::Value` first
            /// costs as much again, and a replay decodes every event of the log. Older versions
            /// go through the upcasters, which work on `Value`s.
            pub fn from_json_text(event_type: &str, version: u32, text: &str) -> Result<Self, DecodeError> {
                let current = current_version(event_type)
                    .ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
                let invalid = |e: serde_json::Error| DecodeError::Invalid {
                    event_type: event_type.to_owned(), version, reason: e.to_string(),
                };
                if version != current {
                    let payload: Value = serde_json::from_str(text).map_err(invalid)?;
                    return Self::from_json(event_type, version, payload);
                }
                match event_type {
                    $( stringify!($name) => serde_json::from_str::<$name>(text).map(DomainEvent::$name).map_err(invalid), )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        /// The JSON Schema of every current payload, keyed by its file name under `schemas/`.
        pub fn payload_schemas() -> Vec<(String, Schema)> {
            vec![ $( (format!("{}.v{}.json", stringify!($name), $version), schemars::schema_for!($name)), )* ]
        }
    };
}

catalog! {
    OrganisationRegistered = 1,
    PropertyRegistered = 1,
    BuildingAdded = 1,
    ApartmentAdded = 1,
    PersonRegistered = 1,
    ContractSigned = 1,
    ContractEnded = 1,
    BoardMemberElected = 1,
    BoardMembershipEnded = 1,
    ContractorCompanyRegistered = 1,
    StaffAssigned = 1,
    StaffAssignmentEnded = 1,
    TicketNumberIssued = 1,
    FaultReported = 2,
    FaultReportAcknowledged = 1,
    FaultReportAssigned = 1,
    FaultReportVisitScheduled = 1,
    FaultReportWorkStarted = 1,
    FaultReportNoteAdded = 1,
    FaultReportResolved = 1,
    FaultReportConfirmed = 1,
    FaultReportReopened = 1,
    FaultReportCancelled = 1,
    // Request forms and service requests
    RequestFormPublished = 1,
    RequestFormRetired = 1,
    ServiceRequestFiled = 1,
    ServiceRequestTaken = 1,
    ServiceRequestNoteAdded = 1,
    ServiceRequestCompleted = 1,
    ServiceRequestRejected = 1,
    ServiceRequestCancelled = 1,
    // Renovation requests
    RenovationRequested = 1,
    RenovationSupplementRequested = 1,
    RenovationSupplemented = 1,
    RenovationCommentAdded = 1,
    RenovationApproved = 1,
    RenovationRejected = 1,
    RenovationWorkStarted = 1,
    RenovationWorkCompleted = 1,
    RenovationInspected = 1,
    RenovationWithdrawn = 1,
    // Announcements
    AnnouncementPublished = 1,
    AnnouncementCorrected = 1,
    AnnouncementWithdrawn = 1,
    AnnouncementRead = 1,
    // Resident committees
    ResidentCommitteeMemberAppointed = 1,
    ResidentCommitteeMembershipEnded = 1,
    // Property register: details and contacts
    PropertyDetailsRecorded = 1,
    PropertyContactSet = 1,
    PropertyContactRemoved = 1,
    // Document archive
    DocumentAdded = 1,
    DocumentVersionAdded = 1,
    DocumentAudienceChanged = 1,
    DocumentWithdrawn = 1,
    // Messages and bulk notices
    MessageThreadStarted = 1,
    MessagePosted = 1,
    MessageThreadNoteAdded = 1,
    MessageThreadAssigned = 1,
    MessageThreadStatusChanged = 1,
    MessageThreadRead = 1,
    BulkNoticeSent = 1,
    BulkNoticeRead = 1,
    // Ledger: charge lines, invoices, payments and the unmatched payments queue
    ChargeLineAdded = 1,
    ChargeLineEnded = 1,
    // Housing applications and offers
    HousingApplicationFiled = 1,
    HousingApplicationRenewed = 1,
    HousingApplicationWithdrawn = 1,
    HousingOfferMade = 1,
    HousingOfferAccepted = 1,
    HousingOfferDeclined = 1,
    HousingOfferExpired = 1,
    // Notifications
    NotificationQueued = 1,
    NotificationSent = 1,
    NotificationDelivered = 1,
    NotificationFailed = 1,
    // Bookings
    BookableResourceDefined = 1,
    SaunaShiftBooked = 1,
    ParkingSpaceBooked = 1,
    ParkingQueueJoined = 1,
    RoomBooked = 1,
    BookingCancelled = 1,
    InvoiceIssued = 1,
    PaymentReceived = 1,
    UnmatchedPaymentReceived = 1,
    UnmatchedPaymentAllocated = 1,
    // Service-level promises
    ServiceLevelTargetsSet = 1,
}

/// The current schema version of an event type, if the type is known.
pub fn current_version(event_type: &str) -> Option<u32> {
    EVENT_TYPES
        .iter()
        .find(|(name, _)| *name == event_type)
        .map(|(_, v)| *v)
}
