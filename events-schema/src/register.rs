//! Events of the organisation register (kohderekisteri): the management company, its housing
//! companies and their buildings and apartments, the people, their contracts, board seats and
//! staff assignments. One stream per organisation: `organisation-<id>`.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A management company (the tenant of Talo) started using the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrganisationRegistered {
    pub organisation_id: Uuid,
    pub name: String,
    /// Finnish business id (Y-tunnus), e.g. `1234567-8`.
    pub business_id: String,
    /// Days after resolution during which a resident may reopen a fault report.
    pub fault_reopen_window_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    /// Asunto-osakeyhtiö: owned by shareholders, who pay a maintenance charge.
    HousingCooperative,
    /// Vuokrataloyhtiö: apartments are let to residents.
    RentalCompany,
}

/// A housing company and its property joined the organisation's portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropertyRegistered {
    pub property_id: Uuid,
    pub name: String,
    pub kind: PropertyKind,
    pub business_id: String,
    pub street_address: String,
    pub postal_code: String,
    pub city: String,
}

/// A building (stairway) of a property, named by its letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BuildingAdded {
    pub property_id: Uuid,
    pub building_id: Uuid,
    /// `A`, `B`, ...
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApartmentAdded {
    pub property_id: Uuid,
    pub building_id: Uuid,
    pub apartment_id: Uuid,
    /// As written on the door and the contract, e.g. `B 12`.
    pub code: String,
    pub rooms: String,
    pub floor_area_dm2: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PersonRegistered {
    pub person_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// A lease: the person is a resident (asukas).
    Lease,
    /// A shareholding: the person owns the apartment's shares (osakas).
    Shareholding,
}

/// A person's lease or shareholding on an apartment began, for a date range in local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractSigned {
    pub contract_id: Uuid,
    pub apartment_id: Uuid,
    pub person_id: Uuid,
    pub kind: ContractKind,
    pub starts_on: NaiveDate,
    /// Last day of the contract, if fixed-term.
    pub ends_on: Option<NaiveDate>,
}

/// A contract was ended: `ends_on` is its last day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractEnded {
    pub contract_id: Uuid,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardRole {
    Member,
    Chair,
}

/// A person took a seat on a housing company's board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoardMemberElected {
    pub property_id: Uuid,
    pub person_id: Uuid,
    pub role: BoardRole,
    pub starts_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoardMembershipEnded {
    pub property_id: Uuid,
    pub person_id: Uuid,
    pub ends_on: NaiveDate,
}

/// A maintenance contractor (huoltoliike) the organisation sends work orders to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractorCompanyRegistered {
    pub contractor_company_id: Uuid,
    pub name: String,
    pub business_id: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    PropertyManager,
    TechnicalManager,
    CustomerService,
    /// A worker of a contractor company (huoltomies).
    ContractorWorker,
    Auditor,
}

/// Where a staff assignment applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum StaffScope {
    /// Every property of the organisation.
    Organisation,
    Property {
        property_id: Uuid,
    },
}

/// A person was given a staff role in the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StaffAssigned {
    pub assignment_id: Uuid,
    pub person_id: Uuid,
    pub role: StaffRole,
    pub scope: StaffScope,
    /// Set for contractor workers: the company they work for.
    pub contractor_company_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StaffAssignmentEnded {
    pub assignment_id: Uuid,
}

/// A resident joined the property's resident committee (asukastoimikunta), which may publish
/// announcements to its own property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResidentCommitteeMemberAppointed {
    pub property_id: Uuid,
    pub person_id: Uuid,
    pub starts_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResidentCommitteeMembershipEnded {
    pub property_id: Uuid,
    pub person_id: Uuid,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeatingType {
    DistrictHeating,
    Electric,
    GroundSource,
    Oil,
    Other,
}

/// Whether the housing company owns its plot or leases it (typically from the city).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlotTenure {
    Owned,
    Leased,
}

/// The basic data of a property as of now; replaces what was recorded before. The number of
/// apartments is not recorded: it follows from the apartments in the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropertyDetailsRecorded {
    pub property_id: Uuid,
    pub year_built: u16,
    /// Total floor area of the buildings, in square metres.
    pub total_floor_area_m2: u32,
    pub heating: HeatingType,
    pub plot: PlotTenure,
    /// Area of the plot, in square metres, if known.
    pub plot_area_m2: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    PropertyManager,
    MaintenanceCompany,
    Caretaker,
    /// The round-the-clock number for emergencies (water leak, lift stuck).
    EmergencyNumber,
    BoardChair,
    Other,
}

/// A contact of a property was added, or changed (same `contact_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropertyContactSet {
    pub property_id: Uuid,
    pub contact_id: Uuid,
    pub kind: ContactKind,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// e.g. opening hours, "24/7".
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropertyContactRemoved {
    pub property_id: Uuid,
    pub contact_id: Uuid,
}
