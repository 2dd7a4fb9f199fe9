//! Service-level promises: how fast an organisation promises to answer and to finish each kind
//! of work. One stream per organisation, `service-levels-<organisation id>`; each event replaces
//! the whole set from then on. Items keep the promise in force when they were created.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kinds of work a resident opens and the office answers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkProcess {
    FaultReport,
    MessageThread,
    ServiceRequest,
    Renovation,
}

impl WorkProcess {
    pub const ALL: [WorkProcess; 4] = [
        WorkProcess::FaultReport,
        WorkProcess::MessageThread,
        WorkProcess::ServiceRequest,
        WorkProcess::Renovation,
    ];
}

/// What a promise is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// The office's first answer or action (acknowledging, replying, taking a request up).
    FirstResponse,
    /// The work is done: a fault resolved, a thread closed, a request completed, a renovation
    /// decided.
    Resolution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromiseUnit {
    /// Monday to Friday, public holidays excepted.
    WorkingDays,
    CalendarDays,
}

/// One promise: `milestone` of `process` within `amount` `unit`s of the item's creation, by
/// the end of that local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceLevelTarget {
    pub process: WorkProcess,
    pub milestone: Milestone,
    pub amount: u32,
    pub unit: PromiseUnit,
}

/// The organisation's promises were set; they apply to items created from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceLevelTargetsSet {
    pub targets: Vec<ServiceLevelTarget>,
    /// An open item is at risk once less than this share of its allowed time remains.
    pub at_risk_percent: u32,
}
