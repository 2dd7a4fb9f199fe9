//! The properties a report has rows for: those of the caller's organisation their scope
//! includes (and the filter, if given), in name order, so a property with nothing to count
//! still shows as zeros rather than disappearing.

use talo_domain::register::{Property, Register};
use uuid::Uuid;

use super::ReportScope;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::talo::Talo;

impl ReportScope {
    /// Runs `f` on the register of the caller's organisation.
    pub fn with_register<T>(
        &self,
        talo: &Talo,
        f: impl FnOnce(&Register) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let caller = Caller {
            person_id: self.principal.person_id,
            organisation_id: self.organisation_id(),
        };
        talo.with_register(caller, f)
    }

    /// The register's properties the caller sees and the filter lets through, by name.
    pub fn properties<'r>(
        &self,
        register: &'r Register,
        filter: Option<Uuid>,
    ) -> Vec<&'r Property> {
        let mut properties: Vec<&Property> = register
            .properties
            .values()
            .filter(|p| self.includes(p.property_id, filter))
            .collect();
        properties.sort_by(|a, b| (&a.name, a.property_id).cmp(&(&b.name, b.property_id)));
        properties
    }
}
