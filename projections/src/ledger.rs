//! The ledgers read model: every contract's ledger (folded by the domain's own `Ledger`), and
//! per organisation the index of invoice references, the bank ids of payments already
//! recorded, and the unmatched payments queue.
//!
//! Who may read a ledger is `talo_domain::ledger::reader`, asked at query time; standings,
//! arrears and their ageing are computed at query time from the day passed in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use talo_domain::ledger::Ledger;
use talo_domain::payment_queue::PaymentQueue;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{Position, RecordedEvent};
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractLedger {
    pub contract_id: Uuid,
    pub organisation_id: Uuid,
    pub ledger: Ledger,
    pub last_position: Position,
}

/// Where an invoice reference leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceTarget {
    pub contract_id: Uuid,
    pub invoice_id: Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationLedgers {
    pub contracts: BTreeSet<Uuid>,
    /// National reference to its invoice.
    pub references: BTreeMap<String, ReferenceTarget>,
    /// Bank ids (AcctSvcrRef) of payments recorded anywhere: in a ledger or in the queue.
    pub external_ids: BTreeMap<String, Uuid>,
    pub queue: PaymentQueue,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgersView {
    contracts: BTreeMap<Uuid, ContractLedger>,
    organisations: BTreeMap<Uuid, OrganisationLedgers>,
}

impl Projection for LedgersView {
    const NAME: &'static str = "ledgers";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let org_id = event.metadata.organisation_id;
        let contract_id = match decoded {
            DomainEvent::ChargeLineAdded(e) => e.contract_id,
            DomainEvent::ChargeLineEnded(e) => e.contract_id,
            DomainEvent::InvoiceIssued(e) => e.contract_id,
            DomainEvent::PaymentReceived(e) => e.contract_id,
            DomainEvent::UnmatchedPaymentReceived(e) => {
                let org = self.organisations.entry(org_id).or_default();
                if let Some(external) = &e.external_id {
                    org.external_ids.insert(external.clone(), e.payment_id);
                }
                org.queue.apply(decoded);
                return;
            }
            DomainEvent::UnmatchedPaymentAllocated(_) => {
                self.organisations
                    .entry(org_id)
                    .or_default()
                    .queue
                    .apply(decoded);
                return;
            }
            _ => return,
        };
        let org = self.organisations.entry(org_id).or_default();
        org.contracts.insert(contract_id);
        let record = self
            .contracts
            .entry(contract_id)
            .or_insert_with(|| ContractLedger {
                contract_id,
                organisation_id: org_id,
                ledger: Ledger::default(),
                last_position: event.position,
            });
        match decoded {
            DomainEvent::InvoiceIssued(e) => {
                org.references.insert(
                    e.reference.clone(),
                    ReferenceTarget {
                        contract_id,
                        invoice_id: e.invoice_id,
                    },
                );
            }
            DomainEvent::PaymentReceived(e) => {
                if let Some(external) = &e.external_id {
                    org.external_ids.insert(external.clone(), e.payment_id);
                }
            }
            _ => {}
        }
        record.ledger.apply(decoded);
        record.last_position = event.position;
    }
}

impl LedgersView {
    /// A contract's ledger in `organisation_id`, if anything was ever recorded on it.
    pub fn contract(&self, organisation_id: Uuid, contract_id: Uuid) -> Option<&ContractLedger> {
        self.contracts
            .get(&contract_id)
            .filter(|c| c.organisation_id == organisation_id)
    }

    pub fn organisation(&self, organisation_id: Uuid) -> Option<&OrganisationLedgers> {
        self.organisations.get(&organisation_id)
    }

    /// The invoice a national reference names in the organisation.
    pub fn find_reference(&self, organisation_id: Uuid, national: &str) -> Option<ReferenceTarget> {
        self.organisation(organisation_id)?
            .references
            .get(national)
            .copied()
    }

    /// The payment recorded under a bank id in the organisation, if any.
    pub fn payment_by_external_id(&self, organisation_id: Uuid, external_id: &str) -> Option<Uuid> {
        self.organisation(organisation_id)?
            .external_ids
            .get(external_id)
            .copied()
    }

    /// Every contract ledger of the organisation.
    pub fn ledgers_of(&self, organisation_id: Uuid) -> impl Iterator<Item = &ContractLedger> {
        self.organisation(organisation_id)
            .into_iter()
            .flat_map(|o| o.contracts.iter())
            .filter_map(|id| self.contracts.get(id))
    }
}
