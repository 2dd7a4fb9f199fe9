//! GraphQL enums mirroring the domain's, converted both ways by async-graphql's `remote`.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "FaultStatus",
    remote = "talo_domain::fault_report::FaultStatus"
)]
pub enum FaultStatusGql {
    Reported,
    Acknowledged,
    Assigned,
    VisitScheduled,
    InProgress,
    Resolved,
    Confirmed,
    Reopened,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "FaultCategory",
    remote = "talo_events_schema::fault_report::FaultCategory"
)]
pub enum FaultCategoryGql {
    Plumbing,
    Electrical,
    Heating,
    Ventilation,
    DoorsAndLocks,
    Appliances,
    Structure,
    OutdoorAreas,
    Pests,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "NoteVisibility",
    remote = "talo_events_schema::fault_report::NoteVisibility"
)]
pub enum NoteVisibilityGql {
    Internal,
    Shared,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
#[graphql(name = "Channel", remote = "talo_events_schema::envelope::Channel")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelGql {
    Portal,
    Phone,
    Email,
    Office,
    Field,
    System,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ActorRole", remote = "talo_events_schema::envelope::ActorRole")]
pub enum ActorRoleGql {
    Resident,
    Shareholder,
    BoardMember,
    BoardChair,
    ResidentCommittee,
    PropertyManager,
    TechnicalManager,
    CustomerService,
    Contractor,
    Applicant,
    Auditor,
    System,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "ContractKind",
    remote = "talo_events_schema::register::ContractKind"
)]
pub enum ContractKindGql {
    Lease,
    Shareholding,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OperationalGrouping")]
pub enum OperationalGroupingGql {
    Property,
    Contractor,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "QuestionType")]
pub enum QuestionTypeGql {
    Text,
    SingleChoice,
    MultipleChoice,
    YesNo,
    Date,
    Number,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "ServiceRequestStatus",
    remote = "talo_domain::request_form::ServiceRequestStatus"
)]
pub enum ServiceRequestStatusGql {
    Submitted,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "RenovationStatus",
    remote = "talo_domain::renovation::RenovationStatus"
)]
pub enum RenovationStatusGql {
    Submitted,
    SupplementRequested,
    UnderReview,
    Approved,
    Rejected,
    WorkStarted,
    WorkCompleted,
    Inspected,
    Withdrawn,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "RenovationWorkType",
    remote = "talo_events_schema::renovation::RenovationWorkType"
)]
pub enum RenovationWorkTypeGql {
    Bathroom,
    Kitchen,
    Plumbing,
    Electrical,
    Surfaces,
    Windows,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "ConversationEntryKind",
    remote = "talo_projections::renovations::EntryKind"
)]
pub enum EntryKindGql {
    SupplementRequest,
    Supplement,
    Comment,
}

/// Serialised as GraphQL names it, for report CSVs.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(
    name = "AnnouncementCategory",
    remote = "talo_events_schema::announcement::AnnouncementCategory"
)]
pub enum AnnouncementCategoryGql {
    Outage,
    Maintenance,
    MeetingNotice,
    General,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(
    name = "DocumentCategory",
    remote = "talo_events_schema::document::DocumentCategory"
)]
pub enum DocumentCategoryGql {
    Picture,
    Drawing,
    Minutes,
    MeetingMemo,
    FinancialStatement,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "DocumentAudience",
    remote = "talo_events_schema::document::DocumentAudience"
)]
pub enum DocumentAudienceGql {
    ChairOnly,
    Board,
    Shareholders,
    AllResidents,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "HeatingType",
    remote = "talo_events_schema::register::HeatingType"
)]
pub enum HeatingTypeGql {
    DistrictHeating,
    Electric,
    GroundSource,
    Oil,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "PlotTenure",
    remote = "talo_events_schema::register::PlotTenure"
)]
pub enum PlotTenureGql {
    Owned,
    Leased,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "ContactKind",
    remote = "talo_events_schema::register::ContactKind"
)]
pub enum ContactKindGql {
    PropertyManager,
    MaintenanceCompany,
    Caretaker,
    EmergencyNumber,
    BoardChair,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "MessageCategory",
    remote = "talo_events_schema::message_thread::MessageCategory"
)]
pub enum MessageCategoryGql {
    General,
    Billing,
    KeysAndAccess,
    ParkingAndSauna,
    Moving,
    Renovation,
    Complaint,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "MessageThreadStatus",
    remote = "talo_events_schema::message_thread::MessageThreadStatus"
)]
pub enum MessageThreadStatusGql {
    New,
    InProgress,
    WaitingForResident,
    Closed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "MessageSide",
    remote = "talo_events_schema::message_thread::MessageSide"
)]
pub enum MessageSideGql {
    Resident,
    Staff,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "StatusChangeCause",
    remote = "talo_events_schema::message_thread::StatusChangeCause"
)]
pub enum StatusChangeCauseGql {
    Staff,
    ResidentMessage,
    StaffMessage,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(
    name = "MessageThreadQueueOrder",
    remote = "talo_projections::message_threads::ThreadQueueOrder"
)]
pub enum MessageThreadQueueOrderGql {
    /// Oldest thread first.
    #[default]
    Age,
    /// Longest waiting for our answer first; threads not waiting for us after them.
    WaitingForUs,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "HousingOfferStatus",
    remote = "talo_domain::housing::OfferStatus"
)]
pub enum OfferStatusGql {
    Pending,
    Accepted,
    Declined,
    Expired,
}

/// Serialised as GraphQL names it, for report CSVs.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(
    name = "NotificationChannel",
    remote = "talo_events_schema::notification::NotificationChannel"
)]
pub enum NotificationChannelGql {
    Sms,
    Email,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "DeliveryStatus",
    remote = "talo_projections::notifications::DeliveryStatus"
)]
pub enum DeliveryStatusGql {
    Queued,
    Sent,
    Delivered,
    Failed,
    GaveUp,
}

/// Serialised as GraphQL names it, for report CSVs.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(
    name = "ResourceKind",
    remote = "talo_events_schema::booking::ResourceKind"
)]
pub enum ResourceKindGql {
    Sauna,
    Parking,
    Laundry,
    CommonRoom,
}
