//! Announcements (tiedotteet): written by the manager (or a resident committee for its own
//! property), targeted at properties or buildings, published at a time and expiring. A
//! correction is a new event; the history stays. Stream: `announcement-<id>`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnnouncementCategory {
    Outage,
    Maintenance,
    MeetingNotice,
    General,
}

/// Who an announcement is for: a property, or one building of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct AnnouncementTarget {
    pub property_id: Uuid,
    pub building_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnnouncementPublished {
    pub announcement_id: Uuid,
    pub title: String,
    pub body: String,
    pub category: AnnouncementCategory,
    pub targets: Vec<AnnouncementTarget>,
    /// Shown from this moment (may be in the future: scheduled).
    pub publish_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The text was corrected; the earlier text stays in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnnouncementCorrected {
    pub announcement_id: Uuid,
    pub title: String,
    pub body: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnnouncementWithdrawn {
    pub announcement_id: Uuid,
    pub reason: String,
}

/// A resident opened the announcement (for the managers' read counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnnouncementRead {
    pub announcement_id: Uuid,
    pub reader_id: Uuid,
}
