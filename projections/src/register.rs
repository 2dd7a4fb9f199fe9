//! The register read model: every organisation's register, folded by the same code the command
//! side uses, so "who may do what" reads the same on both sides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use talo_domain::register::Register;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::RecordedEvent;
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterView {
    organisations: BTreeMap<Uuid, Register>,
}

impl Projection for RegisterView {
    const NAME: &'static str = "register";
    /// 2: contracts indexed by person and by apartment.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        if event.stream.starts_with("organisation-") {
            self.organisations
                .entry(event.metadata.organisation_id)
                .or_default()
                .apply(decoded);
        }
    }
}

impl RegisterView {
    pub fn organisation(&self, organisation_id: Uuid) -> Option<&Register> {
        self.organisations.get(&organisation_id)
    }
}
