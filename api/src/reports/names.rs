//! Names beside ids in report rows, read from the organisation's register, so a downloaded
//! file can be read without looking ids up.

use talo_projections::engine::ReadGuard;

use talo_domain::register::Register;
use talo_projections::register::RegisterView;
use uuid::Uuid;

use crate::error::ApiError;
use crate::reports::ReportScope;
use crate::talo::Talo;

/// The register, held for reading while a report names its rows (looked up per row rather
/// than copied, so a large organisation costs nothing extra). Take it before any other read
/// model, as every reader of two does (a report taking work items then the register while
/// another takes them the other way round could each wait behind the other's writer), and
/// do not read the register again while holding it: that, too, could wait behind a writer
/// forever.
pub struct Names<'a> {
    view: ReadGuard<'a, RegisterView>,
    organisation_id: Uuid,
}

impl<'a> Names<'a> {
    pub fn of(talo: &'a Talo, scope: &ReportScope) -> Result<Self, ApiError> {
        let view = talo.read_models.register.read();
        if view.organisation(scope.organisation_id()).is_none() {
            return Err(ApiError::Forbidden(
                "your organisation is not registered in Talo".into(),
            ));
        }
        Ok(Names {
            view,
            organisation_id: scope.organisation_id(),
        })
    }

    fn register(&self) -> Option<&Register> {
        self.view.organisation(self.organisation_id)
    }

    pub fn property(&self, id: Uuid) -> String {
        self.register()
            .and_then(|r| r.properties.get(&id))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    pub fn person(&self, id: Uuid) -> String {
        self.register()
            .and_then(|r| r.persons.get(&id))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    pub fn contractor(&self, id: Uuid) -> String {
        self.register()
            .and_then(|r| r.contractors.get(&id))
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }
}
