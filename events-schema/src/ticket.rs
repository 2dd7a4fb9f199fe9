//! Ticket numbers (`VK-2026-000123`, `YT-2026-000042`): one stream per organisation and
//! series, `tickets-<prefix>-<organisation id>`, so numbers are unique and issued in order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A ticket number was issued from an organisation's series, e.g. `VK-2026-000123`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketNumberIssued {
    pub prefix: String,
    pub year: i32,
    pub number: u32,
    pub ticket: String,
    /// The entity the number belongs to.
    pub issued_for: Uuid,
}
