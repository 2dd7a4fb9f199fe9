//! Notifications (SMS and email) through an outbox: each in its own stream,
//! `notification-<id>`, queued for a person because of an event that matters to them, then
//! sent, delivered, or failed (with the next try's time, or none when given up).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationChannel {
    Sms,
    Email,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationQueued {
    pub notification_id: Uuid,
    pub person_id: Uuid,
    pub channel: NotificationChannel,
    /// The phone number or email address as the register had it.
    pub address: String,
    pub subject: String,
    pub body: String,
    /// The event that made it matter, and its type.
    pub cause_event_id: Uuid,
    pub cause_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationSent {
    pub notification_id: Uuid,
    pub attempt: u32,
}

/// The transport confirmed delivery (an SMS receipt; for email, accepted by the server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationDelivered {
    pub notification_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationFailed {
    pub notification_id: Uuid,
    pub attempt: u32,
    pub error: String,
    /// When to try again; `None` when the outbox gave up.
    pub retry_at: Option<DateTime<Utc>>,
}
