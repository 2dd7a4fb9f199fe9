//! Request forms with question sets (kysymyspatteri) and the service requests filed on them:
//! a key order, a document order, anything the organisation wants logged like a fault report.
//! A form's versions live in `request-form-<id>`; each filed request in `service-request-<id>`.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Text {
        max_length: u32,
    },
    SingleChoice {
        options: Vec<String>,
    },
    MultipleChoice {
        options: Vec<String>,
    },
    YesNo,
    Date,
    /// A whole number, optionally bounded.
    Number {
        min: Option<i64>,
        max: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Question {
    /// Stable within the form across versions, e.g. `key_count`.
    pub question_id: String,
    pub label: String,
    pub help_text: Option<String>,
    pub required: bool,
    pub kind: QuestionKind,
}

/// A version of a form was published; earlier requests keep the version they were filed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestFormPublished {
    pub form_id: Uuid,
    /// 1 for the first version.
    pub version: u32,
    pub name: String,
    pub description: String,
    pub questions: Vec<Question>,
}

/// The form takes no more requests; filed ones are handled as before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestFormRetired {
    pub form_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    Text(String),
    Choice(String),
    Choices(Vec<String>),
    YesNo(bool),
    Date(NaiveDate),
    Number(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    pub question_id: String,
    pub value: AnswerValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestFiled {
    pub request_id: Uuid,
    /// E.g. `PY-2026-000007`.
    pub ticket: String,
    pub form_id: Uuid,
    pub form_version: u32,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    /// The resident it is for; differs from the actor when the office files it for them.
    pub requester_id: Uuid,
    pub answers: Vec<Answer>,
}

/// The office took the request into work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestTaken {
    pub request_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestNoteAdded {
    pub request_id: Uuid,
    pub note_id: Uuid,
    pub text: String,
    pub visibility: crate::fault_report::NoteVisibility,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestCompleted {
    pub request_id: Uuid,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestRejected {
    pub request_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequestCancelled {
    pub request_id: Uuid,
    pub reason: String,
}
