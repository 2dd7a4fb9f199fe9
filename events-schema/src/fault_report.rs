//! Events of a fault report (vikailmoitus), one stream per report: `fault-report-<id>`.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultCategory {
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

/// Where the fault is: inside an apartment, or in a common area of a property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultLocation {
    Apartment {
        apartment_id: Uuid,
    },
    CommonArea {
        building_id: Option<Uuid>,
        /// E.g. "sauna", "stairwell", "yard".
        area: String,
    },
}

/// Pets the contractor must know about before entering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PetsOnPremises {
    pub present: bool,
    pub details: Option<String>,
}

/// A span of business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeWindow {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A fault was reported. Version 2: `pets` became a structure with details and
/// `preferred_visit` was added (see the upcaster from version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReported {
    pub fault_report_id: Uuid,
    pub ticket: String,
    pub property_id: Uuid,
    pub location: FaultLocation,
    pub category: FaultCategory,
    pub description: String,
    /// The contractor may enter with a master key when nobody is home.
    pub permission_to_enter: bool,
    pub pets: PetsOnPremises,
    pub preferred_visit: Option<TimeWindow>,
    pub contact_phone: Option<String>,
    /// The resident the report is for; differs from the actor when customer service files it
    /// on their behalf.
    pub reporter_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportAcknowledged {
    pub fault_report_id: Uuid,
}

/// The report became a work order for a contractor, who promised to fix it by a local date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportAssigned {
    pub fault_report_id: Uuid,
    pub contractor_company_id: Uuid,
    pub promised_by: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportVisitScheduled {
    pub fault_report_id: Uuid,
    pub visit: TimeWindow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportWorkStarted {
    pub fault_report_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteVisibility {
    /// Staff and contractors only.
    Internal,
    /// Also shown to the resident.
    Shared,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportNoteAdded {
    pub fault_report_id: Uuid,
    pub note_id: Uuid,
    pub text: String,
    pub visibility: NoteVisibility,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportResolved {
    pub fault_report_id: Uuid,
    pub work_summary: String,
}

/// The resident confirmed the fix; the report is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportConfirmed {
    pub fault_report_id: Uuid,
}

/// The fix did not hold: the report is open again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportReopened {
    pub fault_report_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultReportCancelled {
    pub fault_report_id: Uuid,
    pub reason: String,
}
