//! Names beside ids in report rows, read from the organisation's register, so a downloaded
//! file can be read without looking ids up.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::error::ApiError;
use crate::reports::ReportScope;
use crate::talo::Talo;

/// The names a report may show: copied out of the register so no lock is held while the
/// report runs.
pub struct Names {
    properties: BTreeMap<Uuid, String>,
    persons: BTreeMap<Uuid, String>,
    contractors: BTreeMap<Uuid, String>,
}

impl Names {
    pub fn of(talo: &Talo, scope: &ReportScope) -> Result<Self, ApiError> {
        let view = talo.read_models.register.read();
        let register = view.organisation(scope.organisation_id()).ok_or_else(|| {
            ApiError::Forbidden("your organisation is not registered in Talo".into())
        })?;
        Ok(Names {
            properties: register
                .properties
                .iter()
                .map(|(id, p)| (*id, p.name.clone()))
                .collect(),
            persons: register
                .persons
                .iter()
                .map(|(id, p)| (*id, p.name.clone()))
                .collect(),
            contractors: register
                .contractors
                .iter()
                .map(|(id, c)| (*id, c.name.clone()))
                .collect(),
        })
    }

    pub fn property(&self, id: Uuid) -> String {
        self.properties.get(&id).cloned().unwrap_or_default()
    }

    pub fn person(&self, id: Uuid) -> String {
        self.persons.get(&id).cloned().unwrap_or_default()
    }

    pub fn contractor(&self, id: Uuid) -> String {
        self.contractors.get(&id).cloned().unwrap_or_default()
    }
}
