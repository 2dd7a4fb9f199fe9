//! Renovation requests (muutostyöilmoitukset): a shareholder asks permission for alteration
//! work; the manager or technical manager asks for supplements and decides; the work is started,
//! completed and inspected. The whole conversation is part of the request's stream,
//! `renovation-<id>`.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenovationWorkType {
    Bathroom,
    Kitchen,
    Plumbing,
    Electrical,
    Surfaces,
    Windows,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationRequested {
    pub renovation_id: Uuid,
    /// E.g. `MT-2026-000003`.
    pub ticket: String,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub shareholder_id: Uuid,
    pub work_types: Vec<RenovationWorkType>,
    pub description: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    /// The firms doing the work, as the shareholder names them.
    pub contractors: Vec<String>,
    /// Names of attached plans and drawings (kept in the document archive).
    pub attachments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationSupplementRequested {
    pub renovation_id: Uuid,
    pub request: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationSupplemented {
    pub renovation_id: Uuid,
    pub text: String,
    pub attachments: Vec<String>,
}

/// A message in the conversation on the request, by either side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationCommentAdded {
    pub renovation_id: Uuid,
    pub comment_id: Uuid,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationApproved {
    pub renovation_id: Uuid,
    /// Conditions the work must meet (e.g. waterproofing by a certified installer).
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationRejected {
    pub renovation_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationWorkStarted {
    pub renovation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationWorkCompleted {
    pub renovation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationInspected {
    pub renovation_id: Uuid,
    pub approved: bool,
    pub notes: String,
}

/// The shareholder withdrew the request before a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenovationWithdrawn {
    pub renovation_id: Uuid,
    pub reason: String,
}
