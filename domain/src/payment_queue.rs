//! The unmatched payments queue of an organisation (`payments-<organisation id>`): payments
//! from a bank statement whose reference names no invoice wait here until the office
//! allocates each to a contract. The allocation is recorded here first and then, as a payment,
//! in the contract's ledger; the queue's expected revision keeps two people from allocating
//! the same payment twice, and a retry of an allocation completes one that stopped halfway.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::ledger::*;
use uuid::Uuid;

use crate::access::Principal;
use crate::decision::{Context, Decision};
use crate::ledger::{LEDGER_ROLES, keeper_of};
use crate::money::check_amount;
use crate::rejection::Rejection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedPayment {
    pub payment_id: Uuid,
    pub external_id: Option<String>,
    pub amount_cents: i64,
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub payer_name: Option<String>,
    pub reason: UnmatchedReason,
    /// The contract it was allocated to, once it was.
    pub allocated_to: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentQueue {
    pub payments: BTreeMap<Uuid, QueuedPayment>,
}

impl PaymentQueue {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> PaymentQueue {
        let mut queue = PaymentQueue::default();
        for event in events {
            queue.apply(event);
        }
        queue
    }

    pub fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::UnmatchedPaymentReceived(e) => {
                self.payments.insert(
                    e.payment_id,
                    QueuedPayment {
                        payment_id: e.payment_id,
                        external_id: e.external_id.clone(),
                        amount_cents: e.amount_cents,
                        booked_on: e.booked_on,
                        reference: e.reference.clone(),
                        payer_name: e.payer_name.clone(),
                        reason: e.reason,
                        allocated_to: None,
                    },
                );
            }
            DomainEvent::UnmatchedPaymentAllocated(e) => {
                if let Some(p) = self.payments.get_mut(&e.payment_id) {
                    p.allocated_to = Some(e.contract_id);
                }
            }
            _ => {}
        }
    }
}

/// The role under which `principal` works the queue and imports bank statements: a ledger
/// role for any property.
pub fn keeper_anywhere(principal: &Principal) -> Result<ActorRole, Rejection> {
    principal.refuse_auditor()?;
    LEDGER_ROLES
        .iter()
        .find_map(|wanted| {
            principal
                .staff
                .iter()
                .any(|g| g.role == *wanted)
                .then(|| crate::access::staff_actor_role(*wanted))
        })
        .ok_or_else(|| {
            Rejection::forbidden(
                "ledger.keeper_only",
                "only property managers and customer service handle payments",
            )
        })
}

/// A payment that matched no contract joins the queue; nothing if it is there already.
pub fn receive(
    queue: &PaymentQueue,
    payment: UnmatchedPaymentReceived,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    let role = keeper_anywhere(ctx.principal)?;
    if queue.payments.contains_key(&payment.payment_id) {
        return Ok(Decision {
            events: vec![],
            role,
        });
    }
    check_amount("amount_cents", payment.amount_cents)?;
    Ok(Decision {
        events: vec![payment.into()],
        role,
    })
}

/// The office allocates a waiting payment to a contract of a property it keeps. Allocating it
/// again to the same contract changes nothing (and lets a retry finish the ledger's side).
pub fn allocate(
    queue: &PaymentQueue,
    payment_id: Uuid,
    contract_id: Uuid,
    ctx: &Context<'_>,
) -> Result<(Decision, QueuedPayment), Rejection> {
    keeper_anywhere(ctx.principal)?;
    let payment = queue.payments.get(&payment_id).ok_or_else(|| {
        Rejection::not_found(
            "payment_id",
            "ledger.unmatched_payment_unknown",
            "no such payment in the unmatched queue",
        )
    })?;
    let (_, role) = keeper_of(ctx, contract_id)?;
    let events = match payment.allocated_to {
        Some(c) if c == contract_id => vec![],
        Some(_) => {
            return Err(Rejection::transition(
                "ledger.unmatched_payment_allocated",
                "the payment has already been allocated to another contract",
            ));
        }
        None => vec![
            UnmatchedPaymentAllocated {
                payment_id,
                contract_id,
            }
            .into(),
        ],
    };
    Ok((Decision { events, role }, payment.clone()))
}
