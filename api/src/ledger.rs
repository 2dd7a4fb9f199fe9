//! The ledger's command side: steps on a contract's ledger (charge lines, payments), invoices
//! numbered from the organisation's `LA` series, the monthly run over many contracts, bank
//! statement imports and the unmatched payments queue. The rules are the domain's
//! (`talo_domain::ledger`, `talo_domain::payment_queue`); this is where streams are read and
//! written.
//!
//! A monthly run and an import write to many streams, one decision each: each write is
//! idempotent on its own (an invoice's id comes from contract and month, a bank payment's from
//! its bank id), so a run or an import repeated, or resumed after a failure, adds only what is
//! missing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use futures::StreamExt;
use talo_domain::Rejection;
use talo_domain::access::Principal;
use talo_domain::calendar::local_date;
use talo_domain::decision::{Context, Decision};
use talo_domain::ledger::{self, InvoiceDraft, Ledger, MonthlyInvoicing, ReceivePayment};
use talo_domain::money::Month;
use talo_domain::payment_queue::{self, PaymentQueue};
use talo_domain::reference::{Iban, Reference};
use talo_domain::register::Register;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::ledger::{PaymentSource, UnmatchedPaymentReceived, UnmatchedReason};
use talo_events_schema::streams;
use talo_projections::ledger::ReferenceTarget;
use uuid::Uuid;

use crate::camt054::{Statement, StatementPayment};
use crate::dispatch::{AsRead, Decided, Dispatcher, Outcome, Request, context, decode_all};
use crate::error::ApiError;
use crate::ledger_cache::KeptLedger;

/// Contracts a monthly run invoices at once: each waits for its ticket and its invoice to be
/// made durable, and the store commits what waits together. Each contract's whole ledger stream
/// is read once, to draft; the decision under the stream's lock folds on from the ledger kept
/// then ([`Dispatcher::act_on_ledger`]).
const CONTRACTS_AT_ONCE: usize = 64;

/// Lanes of a bank statement imported at once (see [`Dispatcher::import_lanes`]): as with a
/// monthly run, the payments of different contracts wait for durability together and the
/// store commits them in one go, instead of one fsync after another.
const LANES_AT_ONCE: usize = 64;

/// Namespace of payment ids derived from a bank's id of the payment.
const BANK_PAYMENTS: Uuid = Uuid::from_u128(0x5b1c_2f80_4d3e_4a6b_9c7d_0a11_ba4c_0001);

/// The payment id of a bank payment: the same whenever the same statement is imported.
pub fn bank_payment_id(organisation_id: Uuid, external_id: &str) -> Uuid {
    Uuid::new_v5(
        &BANK_PAYMENTS,
        format!("{organisation_id}/{external_id}").as_bytes(),
    )
}

/// What happened to one invoice the dispatcher was asked to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    New { invoice_id: Uuid },
    AlreadyInvoiced { invoice_id: Uuid },
    NothingToInvoice,
}

/// One contract's part of a monthly run.
#[derive(Debug)]
pub struct ContractRun {
    pub contract_id: Uuid,
    pub result: Result<Issued, ApiError>,
}

/// One payment's part of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Recorded on the contract whose invoice the reference names.
    Matched { contract_id: Uuid, payment_id: Uuid },
    /// Recorded in the unmatched payments queue.
    Unmatched {
        payment_id: Uuid,
        reason: UnmatchedReason,
    },
    /// Recorded by an earlier import.
    AlreadyRecorded { payment_id: Uuid },
    /// Not a payment to record: a debit, not booked, not in euros.
    Ignored { why: String },
    /// Refused by a rule (say, a contract of a property the caller does not keep).
    Refused { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPayment {
    pub payment: StatementPayment,
    pub outcome: ImportOutcome,
}

fn property_of_contract(register: &Register, contract_id: Uuid) -> Option<Uuid> {
    ledger::contract_of(register, contract_id)
        .ok()
        .map(|(_, p)| p)
}

impl Dispatcher {
    /// A contract's whole ledger, folded from its stream: the read model keeps only accounts
    /// (`talo_projections::ledger`), so the documents are read when one ledger is opened. A
    /// ledger opened before is folded on from where it was kept ([`crate::ledger_cache::LedgerCache`]): only the
    /// events after it are read, and the answer is the stream as the store has it now.
    pub async fn ledger(&self, contract_id: Uuid) -> Result<Arc<Ledger>, ApiError> {
        Ok(self.kept_ledger(contract_id).await?.ledger)
    }

    /// The contract's ledger folded to the end of its stream as the store has it now: the
    /// kept one folded on with the events after it, and kept so.
    async fn kept_ledger(&self, contract_id: Uuid) -> Result<KeptLedger, ApiError> {
        let mut kept = self.ledgers.get(contract_id).unwrap_or_default();
        let newer = self
            .read_stream_from(&streams::ledger(contract_id), kept.next_revision)
            .await?;
        let (Some(first), Some(last)) = (newer.first(), newer.last()) else {
            return Ok(kept);
        };
        kept.organisation_id
            .get_or_insert(first.metadata.organisation_id);
        kept.next_revision = last.revision + 1;
        kept.last_position = Some(last.position);
        let ledger = Arc::make_mut(&mut kept.ledger);
        for (event, _) in decode_all(&newer)? {
            ledger.apply(&event);
        }
        self.ledgers.keep(contract_id, kept.clone());
        Ok(kept)
    }

    /// Decides a step on a contract's ledger (a charge line, a payment) and records it.
    pub async fn ledger_step(
        &self,
        request: &Request,
        contract_id: Uuid,
        expected_type: &str,
        decide: impl Fn(&Ledger, &Context<'_>) -> Result<Decision, Rejection>,
    ) -> Result<Outcome, ApiError> {
        self.act_on_ledger(
            request,
            contract_id,
            expected_type,
            |state, register, principal| {
                Ok(Decided {
                    decision: decide(state, &context(request, register, principal))?,
                    property_id: property_of_contract(register, contract_id),
                })
            },
        )
        .await
    }

    /// [`Dispatcher::act_on`] for a contract's ledger: `decide` gets the ledger as the store
    /// has it (a default one for a new stream or one of another organisation). A request
    /// without an idempotency key decides on the kept ledger folded on, and keeps it with what
    /// it recorded: a monthly run or a statement import then reads only the newest events of
    /// a five-year ledger. A keyed request reads the whole stream, where a retry's first try
    /// is recognised by its key.
    async fn act_on_ledger(
        &self,
        request: &Request,
        contract_id: Uuid,
        expected_type: &str,
        decide: impl Fn(&Ledger, &Register, &Principal) -> Result<Decided, ApiError>,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::ledger(contract_id);
        if request.idempotency_key.is_some() {
            return self
                .act_on(
                    request,
                    &stream,
                    expected_type,
                    |history, register, principal| {
                        let decoded = decode_all(history)?;
                        let state = Ledger::fold(decoded.iter().map(|(e, _)| e));
                        decide(&state, register, principal)
                    },
                )
                .await;
        }
        let org = request.caller.organisation_id;
        let none = Ledger::default();
        self.act_on_read(
            request,
            &stream,
            expected_type,
            || async move {
                let kept = self.kept_ledger(contract_id).await?;
                // Another organisation's stream is answered as a missing one.
                let ours = kept.organisation_id.is_none_or(|o| o == org);
                Ok(AsRead::Found {
                    next_revision: kept.next_revision,
                    last_position: kept.last_position.filter(|_| ours),
                    state: kept,
                })
            },
            |kept, register, principal| {
                let ours = kept.organisation_id.is_none_or(|o| o == org);
                decide(if ours { &kept.ledger } else { &none }, register, principal)
            },
            |mut kept, events, next_revision, position| {
                let ledger = Arc::make_mut(&mut kept.ledger);
                for event in events {
                    ledger.apply(event);
                }
                kept.organisation_id.get_or_insert(org);
                kept.next_revision = next_revision + events.len() as u64;
                kept.last_position = Some(position);
                self.ledgers.keep(contract_id, kept);
            },
        )
        .await
    }

    /// Numbers and issues the invoice `draft` finds on the contract's ledger. The number is
    /// taken only once the ledger as it stands has something to issue; the write itself is
    /// [`Dispatcher::act_on_ledger`]'s, deciding again on a fresh ledger if another writer got there
    /// first (a concurrent run then finds the month invoiced, and the number stays unused).
    async fn issue_invoice(
        &self,
        request: &Request,
        contract_id: Uuid,
        iban: &Iban,
        draft: impl Fn(&Ledger, &Context<'_>) -> Result<MonthlyInvoicing, Rejection>,
    ) -> Result<(Issued, Outcome), ApiError> {
        let stream = streams::ledger(contract_id);
        let kept = self.kept_ledger(contract_id).await?;
        let position = match kept.last_position {
            Some(last) => last,
            None => self.store.head().await?,
        };
        let nothing_new = |issued| {
            let outcome = Outcome {
                stream: stream.clone(),
                position,
                replayed: true,
            };
            Ok((issued, outcome))
        };
        let state = if kept
            .organisation_id
            .is_none_or(|o| o == request.caller.organisation_id)
        {
            kept.ledger
        } else {
            Arc::default()
        };
        let found = self.with_register(request, |register, principal| {
            Ok(draft(&state, &context(request, register, principal))?)
        })?;
        let invoice_id = match found {
            MonthlyInvoicing::Draft(d) if state.invoice(d.invoice_id).is_none() => d.invoice_id,
            MonthlyInvoicing::Draft(d) => {
                return nothing_new(Issued::AlreadyInvoiced {
                    invoice_id: d.invoice_id,
                });
            }
            MonthlyInvoicing::AlreadyInvoiced(invoice_id) => {
                return nothing_new(Issued::AlreadyInvoiced { invoice_id });
            }
            MonthlyInvoicing::NothingToInvoice => return nothing_new(Issued::NothingToInvoice),
        };
        let ticket = self
            .issue_ticket(request, ledger::INVOICE_PREFIX, invoice_id)
            .await?;
        let issued = AtomicBool::new(false);
        let outcome = self
            .act_on_ledger(
                request,
                contract_id,
                "InvoiceIssued",
                |state, register, principal| {
                    let ctx = context(request, register, principal);
                    let decision = match draft(state, &ctx)? {
                        MonthlyInvoicing::Draft(d) => ledger::issue(state, d, &ticket, iban, &ctx)?,
                        // Invoiced meanwhile: nothing is recorded, so no role is either.
                        _ => Decision {
                            events: vec![],
                            role: ActorRole::System,
                        },
                    };
                    issued.store(!decision.events.is_empty(), Ordering::Relaxed);
                    Ok(Decided {
                        decision,
                        property_id: property_of_contract(register, contract_id),
                    })
                },
            )
            .await?;
        let issued = if issued.into_inner() {
            Issued::New { invoice_id }
        } else {
            Issued::AlreadyInvoiced { invoice_id }
        };
        Ok((issued, outcome))
    }

    /// Issues one invoice outside the monthly run (separate, security deposit). Its id comes
    /// from the idempotency key, so a retry finds it instead of issuing a second one.
    pub async fn issue_single_invoice(
        &self,
        request: &Request,
        contract_id: Uuid,
        iban: &Iban,
        draft: impl Fn(&Ledger, &Context<'_>) -> Result<InvoiceDraft, Rejection>,
    ) -> Result<Outcome, ApiError> {
        let (_, outcome) = self
            .issue_invoice(request, contract_id, iban, |state, ctx| {
                draft(state, ctx).map(MonthlyInvoicing::Draft)
            })
            .await?;
        Ok(outcome)
    }

    /// Invoices `month` for every contract the caller keeps (on `property_id`, or on all their
    /// properties). Contracts that are already invoiced or have nothing to invoice are listed
    /// as such; a contract refused by a rule does not stop the others.
    pub async fn run_monthly_invoicing(
        &self,
        request: &Request,
        month: Month,
        property_id: Option<Uuid>,
        iban: &Iban,
    ) -> Result<Vec<ContractRun>, ApiError> {
        ledger::check_month(month, local_date(request.occurred_at))?;
        let contracts = self.with_register(request, |register, principal| {
            Ok(ledger::invoicing_scope(
                principal,
                register,
                property_id,
                month,
            )?)
        })?;
        let org = request.caller.organisation_id;
        let runs = futures::stream::iter(contracts)
            .map(|contract_id| async move {
                // Invoiced already, as the read model shows: a read model holds only what the
                // log does, so a run repeated reads no five-year ledger stream for these.
                let invoice_id = ledger::monthly_invoice_id(contract_id, month);
                let recorded = self
                    .read_models
                    .ledgers
                    .read()
                    .contract(org, contract_id)
                    .is_some_and(|l| l.account.has_invoice(invoice_id));
                if recorded {
                    return ContractRun {
                        contract_id,
                        result: Ok(Issued::AlreadyInvoiced { invoice_id }),
                    };
                }
                let result = self
                    .issue_invoice(request, contract_id, iban, |state, ctx| {
                        ledger::draft_monthly(state, contract_id, month, ctx)
                    })
                    .await
                    .map(|(issued, _)| issued);
                if let Err(e @ (ApiError::Internal(_) | ApiError::Conflict { .. })) = &result {
                    tracing::warn!(%contract_id, error = %e, "monthly invoicing of a contract failed");
                }
                ContractRun {
                    contract_id,
                    result,
                }
            })
            .buffered(CONTRACTS_AT_ONCE)
            .collect()
            .await;
        Ok(runs)
    }

    /// Refuses anyone who may not import bank statements: only ledger keepers may.
    pub fn check_statement_importer(&self, request: &Request) -> Result<(), ApiError> {
        self.with_register(request, |_, principal| {
            Ok(payment_queue::keeper_anywhere(principal).map(|_| ())?)
        })
    }

    /// Records a bank statement's payments: each credit in euros is matched by its reference
    /// to an invoice and recorded on that contract, or queued for the office; a payment whose
    /// bank id is known already is not recorded again.
    pub async fn import_statement(
        &self,
        request: &Request,
        statement: Statement,
        iban: &Iban,
    ) -> Result<Vec<ImportedPayment>, ApiError> {
        self.check_statement_importer(request)?;
        if let Some(other) = statement
            .accounts
            .iter()
            .find(|a| Iban::parse("IBAN", a).map_or(true, |parsed| parsed != *iban))
        {
            return Err(ApiError::bad_input(
                "body",
                "camt054.other_account",
                format!(
                    "the statement is for account `{other}`, not the organisation's {}",
                    iban.grouped()
                ),
            ));
        }
        let org = request.caller.organisation_id;
        let payments = &statement.payments;
        let lanes = self.import_lanes(org, payments);
        let done: Vec<Vec<(usize, ImportOutcome)>> = futures::stream::iter(lanes)
            .map(|lane| async move {
                let mut done = Vec::with_capacity(lane.len());
                for index in lane {
                    let outcome = self.import_payment(request, org, &payments[index]).await;
                    let outcome = outcome.unwrap_or_else(|e| match e {
                        ApiError::Rejected(r) => ImportOutcome::Refused { message: r.message },
                        other => ImportOutcome::Refused {
                            message: other.to_string(),
                        },
                    });
                    done.push((index, outcome));
                }
                done
            })
            .buffer_unordered(LANES_AT_ONCE)
            .collect()
            .await;
        let mut outcomes: Vec<Option<ImportOutcome>> = vec![None; payments.len()];
        for (index, outcome) in done.into_iter().flatten() {
            outcomes[index] = Some(outcome);
        }
        statement
            .payments
            .into_iter()
            .zip(outcomes)
            .map(|(payment, outcome)| {
                let outcome = outcome.ok_or_else(|| {
                    ApiError::Internal(format!("payment {} was not imported", payment.path))
                })?;
                Ok(ImportedPayment { payment, outcome })
            })
            .collect()
    }

    /// The statement's payments in lanes, each lane's in statement order: the payments to one
    /// contract, or to the unmatched queue, share a lane, and so do payments with one bank id
    /// (a statement that lists one twice records it once, whatever its references say).
    /// Payments that record nothing (debits, pending, other currencies) have a lane each.
    fn import_lanes(&self, org: Uuid, payments: &[StatementPayment]) -> Vec<Vec<usize>> {
        #[derive(PartialEq, Eq, Hash)]
        enum Writes {
            Ledger(Uuid),
            Queue,
        }
        let mut lanes: Vec<Vec<usize>> = Vec::new();
        let mut lane_of_stream = HashMap::new();
        let mut lane_of_bank_id: HashMap<&str, usize> = HashMap::new();
        for (index, payment) in payments.iter().enumerate() {
            let lane = if let Some(&lane) = lane_of_bank_id.get(payment.external_id.as_str()) {
                lane
            } else if not_recorded_because(payment).is_some() {
                lanes.push(Vec::new());
                lanes.len() - 1
            } else {
                let writes = match self.payment_target(org, payment).0 {
                    Some((target, _)) => Writes::Ledger(target.contract_id),
                    None => Writes::Queue,
                };
                *lane_of_stream.entry(writes).or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                })
            };
            lanes[lane].push(index);
            lane_of_bank_id.insert(&payment.external_id, lane);
        }
        lanes
    }

    /// The invoice a payment's reference names in the organisation, with the reference in its
    /// national form; or why it names none.
    fn payment_target(
        &self,
        org: Uuid,
        payment: &StatementPayment,
    ) -> (Option<(ReferenceTarget, String)>, UnmatchedReason) {
        match payment.reference.as_deref() {
            None => (None, UnmatchedReason::NoReference),
            Some(text) => match Reference::parse("reference", text) {
                Err(_) => (None, UnmatchedReason::ReferenceInvalid),
                Ok(reference) => {
                    let target = reference.national().and_then(|national| {
                        self.read_models
                            .ledgers
                            .read()
                            .find_reference(org, &national)
                            .map(|t| (t, national))
                    });
                    (target, UnmatchedReason::ReferenceUnknown)
                }
            },
        }
    }

    async fn import_payment(
        &self,
        request: &Request,
        org: Uuid,
        payment: &StatementPayment,
    ) -> Result<ImportOutcome, ApiError> {
        if let Some(why) = not_recorded_because(payment) {
            return Ok(ImportOutcome::Ignored { why });
        }
        let payment_id = bank_payment_id(org, &payment.external_id);
        let known = self
            .read_models
            .ledgers
            .read()
            .payment_by_external_id(org, &payment.external_id);
        if known.is_some() {
            return Ok(ImportOutcome::AlreadyRecorded { payment_id });
        }
        let (target, reason) = self.payment_target(org, payment);
        let Some((target, national)) = target else {
            let event = UnmatchedPaymentReceived {
                payment_id,
                external_id: Some(payment.external_id.clone()),
                amount_cents: payment.amount_cents,
                booked_on: payment.booked_on,
                reference: payment.reference.clone(),
                payer_name: payment.payer_name.clone(),
                reason,
            };
            return Ok(if self.queue_unmatched_payment(request, event).await? {
                ImportOutcome::Unmatched { payment_id, reason }
            } else {
                ImportOutcome::AlreadyRecorded { payment_id }
            });
        };
        let command = ReceivePayment {
            contract_id: target.contract_id,
            payment_id,
            source: PaymentSource::BankStatement,
            external_id: Some(payment.external_id.clone()),
            amount_cents: payment.amount_cents,
            booked_on: payment.booked_on,
            matched_reference: Some(national),
            reference: payment.reference.clone(),
            payer_name: payment.payer_name.clone(),
        };
        // The same statement imported twice at once: the other import may record it first.
        let recorded_before = self
            .read_models
            .ledgers
            .read()
            .payment_by_external_id(org, &payment.external_id)
            .is_some();
        self.ledger_step(
            request,
            target.contract_id,
            "PaymentReceived",
            |state, ctx| ledger::receive_payment(state, command.clone(), ctx),
        )
        .await?;
        Ok(if recorded_before {
            ImportOutcome::AlreadyRecorded { payment_id }
        } else {
            ImportOutcome::Matched {
                contract_id: target.contract_id,
                payment_id,
            }
        })
    }

    /// Puts a payment that matched no contract in the organisation's queue, once: the answer
    /// says whether it was new.
    pub async fn queue_unmatched_payment(
        &self,
        request: &Request,
        payment: UnmatchedPaymentReceived,
    ) -> Result<bool, ApiError> {
        let recorded = AtomicBool::new(false);
        self.act_on(
            request,
            &streams::payments(request.caller.organisation_id),
            "UnmatchedPaymentReceived",
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let queue = PaymentQueue::fold(decoded.iter().map(|(e, _)| e));
                let decision = payment_queue::receive(
                    &queue,
                    payment.clone(),
                    &context(request, register, principal),
                )?;
                recorded.store(!decision.events.is_empty(), Ordering::Relaxed);
                Ok(Decided {
                    decision,
                    property_id: None,
                })
            },
        )
        .await?;
        Ok(recorded.into_inner())
    }

    /// The office allocates a payment from the unmatched queue to a contract: first the
    /// queue records the allocation (so two people cannot allocate it twice), then the
    /// contract's ledger records the payment under the same id. A retry finishes a first try
    /// that stopped between the two.
    pub async fn allocate_unmatched_payment(
        &self,
        request: &Request,
        payment_id: Uuid,
        contract_id: Uuid,
    ) -> Result<Outcome, ApiError> {
        let org = request.caller.organisation_id;
        let allocation = self
            .act_on(
                request,
                &streams::payments(org),
                "UnmatchedPaymentAllocated",
                |history, register, principal| {
                    let decoded = decode_all(history)?;
                    let queue = PaymentQueue::fold(decoded.iter().map(|(e, _)| e));
                    let (decision, _) = payment_queue::allocate(
                        &queue,
                        payment_id,
                        contract_id,
                        &context(request, register, principal),
                    )?;
                    Ok(Decided {
                        decision,
                        property_id: property_of_contract(register, contract_id),
                    })
                },
            )
            .await?;
        let queued = self
            .read_models
            .ledgers
            .read()
            .organisation(org)
            .and_then(|o| o.queue.payments.get(&payment_id).cloned())
            .ok_or_else(|| ApiError::Internal(format!("payment {payment_id} left the queue")))?;
        // The ledger's side carries no key: the payment id makes it idempotent.
        let mut unkeyed = request.clone();
        unkeyed.idempotency_key = None;
        let mut outcome = self
            .ledger_step(&unkeyed, contract_id, "PaymentReceived", |state, ctx| {
                ledger::receive_payment(
                    state,
                    ReceivePayment {
                        contract_id,
                        payment_id,
                        source: PaymentSource::UnmatchedQueue,
                        external_id: queued.external_id.clone(),
                        amount_cents: queued.amount_cents,
                        booked_on: queued.booked_on,
                        matched_reference: None,
                        reference: queued.reference.clone(),
                        payer_name: queued.payer_name.clone(),
                    },
                    ctx,
                )
            })
            .await?;
        // A retry of an allocation is a replay, whatever the ledger's side had left to do.
        outcome.replayed = allocation.replayed;
        Ok(outcome)
    }
}

/// Why a statement's entry is no payment received to record: a debit, not booked yet, or not
/// in euros.
fn not_recorded_because(payment: &StatementPayment) -> Option<String> {
    if !payment.credit {
        Some("a debit, not a payment received".into())
    } else if !payment.booked {
        Some("not booked yet".into())
    } else if payment.currency != "EUR" {
        Some(format!("in {}, not in euros", payment.currency))
    } else {
        None
    }
}

/// The day a manual payment was made, defaulting to today.
pub fn paid_on(given: Option<NaiveDate>, request: &Request) -> NaiveDate {
    given.unwrap_or_else(|| local_date(request.occurred_at))
}
