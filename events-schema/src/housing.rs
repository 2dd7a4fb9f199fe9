//! Rental housing applications and offers (asuntohakemukset ja -tarjoukset): an applicant's
//! application in `housing-application-<id>`, each offer of a vacant apartment in
//! `housing-offer-<id>`. An accepted offer becomes a lease in the register.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingApplicationFiled {
    pub application_id: Uuid,
    pub applicant_id: Uuid,
    pub household_size: u32,
    /// Districts or towns, as the applicant names them.
    pub desired_areas: Vec<String>,
    /// Apartment types, e.g. `1h+kk`, `2h+k`.
    pub apartment_types: Vec<String>,
    pub max_rent_cents: i64,
    pub move_in_from: NaiveDate,
    /// The application lapses after this day unless renewed.
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingApplicationRenewed {
    pub application_id: Uuid,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingApplicationWithdrawn {
    pub application_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingOfferMade {
    pub offer_id: Uuid,
    pub application_id: Uuid,
    pub applicant_id: Uuid,
    pub property_id: Uuid,
    pub apartment_id: Uuid,
    pub monthly_rent_cents: i64,
    pub lease_starts_on: NaiveDate,
    /// The applicant must answer before this moment; after it the offer expires.
    pub answer_by: DateTime<Utc>,
}

/// The applicant accepted; `contract_id` is the lease signed in the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingOfferAccepted {
    pub offer_id: Uuid,
    pub contract_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingOfferDeclined {
    pub offer_id: Uuid,
    pub reason: String,
}

/// Nobody answered before the deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HousingOfferExpired {
    pub offer_id: Uuid,
}
