//! Events of a bulk notice: one message from the office to everyone affected (a water outage,
//! an apology for a broken promise), one stream per notice: `bulk-notice-<id>`. The recipients
//! are resolved from the register when it is sent and recorded in the event, so who got it is
//! a fact of history, not a query over today's contracts.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whose current occupants a notice is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeTarget {
    Property { property_id: Uuid },
    Building { building_id: Uuid },
    Apartments { apartment_ids: Vec<Uuid> },
}

/// A person who got the notice, through a contract on an apartment of the target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct NoticeRecipient {
    pub person_id: Uuid,
    pub apartment_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BulkNoticeSent {
    pub bulk_notice_id: Uuid,
    pub property_id: Uuid,
    pub target: NoticeTarget,
    pub subject: String,
    pub body: String,
    /// The local day whose contracts decided the recipients.
    pub recipients_on: NaiveDate,
    /// Everyone with a contract on an apartment of the target that day, one row per person and
    /// apartment.
    pub recipients: Vec<NoticeRecipient>,
}

/// A recipient read the notice; the reader is the event's actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BulkNoticeRead {
    pub bulk_notice_id: Uuid,
}
