//! Events of the document archive (dokumenttiarkisto): files the office adds to a property,
//! each with an audience, new versions of them, audience changes and withdrawals. One stream
//! per document: `document-<id>`. The bytes live outside the log, content-addressed by their
//! SHA-256; the events name them by that hash, so the log says exactly which bytes were shown.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentCategory {
    Picture,
    Drawing,
    Minutes,
    MeetingMemo,
    FinancialStatement,
    Other,
}

/// Who besides the office and the auditors may read a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentAudience {
    /// The chair of the board (hallituksen puheenjohtaja).
    ChairOnly,
    /// Board members and the chair.
    Board,
    /// Shareholders of the property, and the board.
    Shareholders,
    /// Everyone with an active lease or shareholding in the property, and the board.
    AllResidents,
}

/// A document was added to a property's archive; this is its version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentAdded {
    pub document_id: Uuid,
    pub property_id: Uuid,
    pub title: String,
    pub category: DocumentCategory,
    pub audience: DocumentAudience,
    /// The file name as uploaded, e.g. `yhtiokokous-2026.pdf`.
    pub filename: String,
    /// The media type the bytes are served with, e.g. `application/pdf`.
    pub content_type: String,
    pub size_bytes: u64,
    /// SHA-256 of the bytes, lowercase hex: the name of the stored content.
    pub sha256: String,
}

/// A new version of a document's file; readers get the latest by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentVersionAdded {
    pub document_id: Uuid,
    /// 2, 3, ...: one more than the latest.
    pub version: u32,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentAudienceChanged {
    pub document_id: Uuid,
    pub audience: DocumentAudience,
}

/// The document is no longer shown to its audience; the office and auditors still see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentWithdrawn {
    pub document_id: Uuid,
    pub reason: String,
}
