//! State as of a past moment, for auditors: `auditAsOf(at: {...})` answers with the read models
//! the portal and the reports use (an apartment's occupants, a contract's ledger, a fault
//! report, a property's contacts, the promises report), folded from the log through a cut
//! (`talo_projections::as_of`). Entity states read only their own stream; the report folds the
//! whole log, so it costs a replay.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::ledger::Ledger;
use talo_domain::register::Register;
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_events_schema::register::ContractKind;
use talo_events_schema::streams;
use talo_projections::Projection;
use talo_projections::as_of::{Cut, fold_log, stream_events};
use talo_projections::engine::RebuildError;
use talo_projections::fault_reports::FaultReportsView;
use talo_projections::work_items::WorkItemsView;
use talo_store::LogFilter;
use uuid::Uuid;

use super::enums::{ContactKindGql, ContractKindGql, FaultStatusGql};
use super::session::Session;
use crate::error::{ApiError, IntoGraphql};
use crate::reports::ReportScope;
use crate::reports::names::Names;
use crate::reports::work_items::{
    ServiceLevelReportInput, ServiceLevelReportRow, service_level_rows,
};

/// Which moment to look at. Give a position, a recorded time, a business time, or several:
/// an event counts if it passes all of them.
#[derive(InputObject, Debug, Clone, Default)]
pub struct AsOfInput {
    /// The log up to and including this global position.
    pub position: Option<String>,
    /// What had been recorded by this moment.
    pub known_at: Option<DateTime<Utc>>,
    /// What was in effect by this moment (business time): a back-dated payment counts from
    /// its own date once it is recorded.
    pub effective_at: Option<DateTime<Utc>>,
}

pub struct AsOfState {
    cut: Cut,
    now: DateTime<Utc>,
    organisation_id: Uuid,
}

#[derive(SimpleObject)]
pub struct AsOfOccupant {
    pub person_id: Uuid,
    pub name: String,
    pub contract_id: Uuid,
    pub kind: ContractKindGql,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

#[derive(SimpleObject)]
pub struct AsOfApartment {
    pub apartment_id: Uuid,
    pub code: String,
    pub residents: Vec<AsOfOccupant>,
    pub shareholders: Vec<AsOfOccupant>,
}

#[derive(SimpleObject)]
pub struct AsOfContact {
    pub kind: ContactKindGql,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(SimpleObject)]
pub struct AsOfInvoice {
    pub invoice_number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub total_cents: i64,
    pub open_cents: i64,
}

#[derive(SimpleObject)]
pub struct AsOfPayment {
    pub payment_id: Uuid,
    pub amount_cents: i64,
    /// The day the money was booked at the bank: when the payment took effect.
    pub booked_on: NaiveDate,
    /// When the office or the bank statement import entered it (business time).
    pub entered_at: DateTime<Utc>,
    /// When Talo made the entry durable.
    pub recorded_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct AsOfLedger {
    pub contract_id: Uuid,
    pub invoiced_cents: i64,
    pub received_cents: i64,
    pub balance_cents: i64,
    pub overdue_cents: i64,
    pub prepayment_cents: i64,
    pub open_invoices: Vec<AsOfInvoice>,
    pub payments: Vec<AsOfPayment>,
}

#[derive(SimpleObject)]
pub struct AsOfStatusChange {
    pub status: FaultStatusGql,
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct AsOfFaultReport {
    pub fault_report_id: Uuid,
    pub ticket: String,
    pub status: FaultStatusGql,
    pub contractor_company_id: Option<Uuid>,
    pub promised_by: Option<NaiveDate>,
    pub reopen_count: u32,
    pub history: Vec<AsOfStatusChange>,
}

fn rebuilt(e: RebuildError) -> ApiError {
    ApiError::Internal(format!("rebuilding a past state: {e}"))
}

impl AsOfState {
    /// The organisation's register through the cut.
    async fn register(&self, talo: &crate::talo::Talo) -> Result<Register, ApiError> {
        let events = stream_events(
            talo.store.as_ref(),
            &streams::organisation(self.organisation_id),
            &self.cut,
        )
        .await
        .map_err(rebuilt)?;
        let mut register = Register::default();
        for (_, event) in &events {
            register.apply(event);
        }
        Ok(register)
    }

    /// A stream's events through the cut, or none if the stream is another organisation's.
    async fn own_stream(
        &self,
        talo: &crate::talo::Talo,
        stream: &str,
    ) -> Result<Vec<(RecordedEvent, talo_events_schema::DomainEvent)>, ApiError> {
        let events = stream_events(talo.store.as_ref(), stream, &self.cut)
            .await
            .map_err(rebuilt)?;
        if events
            .iter()
            .any(|(e, _)| e.metadata.organisation_id != self.organisation_id)
        {
            return Ok(Vec::new());
        }
        Ok(events)
    }
}

#[Object]
impl AsOfState {
    /// The moment relative things (overdue, age, promises) are computed at: `effectiveAt` if
    /// given, else `knownAt`, else the business time of the event at the position.
    async fn now(&self) -> DateTime<Utc> {
        self.now
    }

    async fn position(&self) -> Option<String> {
        self.cut.until.map(|p| p.to_string())
    }

    async fn known_at(&self) -> Option<DateTime<Utc>> {
        self.cut.known_at
    }

    async fn effective_at(&self) -> Option<DateTime<Utc>> {
        self.cut.effective_at
    }

    /// Who lived in and owned the apartment on that day.
    async fn apartment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<AsOfApartment>> {
        let session = Session::of(ctx).gql()?;
        let register = self.register(session.talo).await.gql()?;
        let Some(apartment) = register.apartments.get(&id) else {
            return Ok(None);
        };
        let day = local_date(self.now);
        let occupant = |kind: ContractKind| {
            register
                .occupants(id, day)
                .filter(|c| c.kind == kind)
                .map(|c| AsOfOccupant {
                    person_id: c.person_id,
                    name: register
                        .persons
                        .get(&c.person_id)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    contract_id: c.contract_id,
                    kind: c.kind.into(),
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                })
                .collect()
        };
        Ok(Some(AsOfApartment {
            apartment_id: id,
            code: apartment.code.clone(),
            residents: occupant(ContractKind::Lease),
            shareholders: occupant(ContractKind::Shareholding),
        }))
    }

    /// The property's contacts as the register card showed them.
    async fn property_contacts(
        &self,
        ctx: &Context<'_>,
        property_id: Uuid,
    ) -> Result<Vec<AsOfContact>> {
        let session = Session::of(ctx).gql()?;
        let register = self.register(session.talo).await.gql()?;
        Ok(register
            .properties
            .get(&property_id)
            .map(|p| {
                p.contacts
                    .values()
                    .map(|c| AsOfContact {
                        kind: c.kind.into(),
                        name: c.name.clone(),
                        phone: c.phone.clone(),
                        email: c.email.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A contract's balance, open invoices and payments (each with when it was effective and
    /// when it was entered).
    async fn ledger(&self, ctx: &Context<'_>, contract_id: Uuid) -> Result<Option<AsOfLedger>> {
        let session = Session::of(ctx).gql()?;
        let events = self
            .own_stream(session.talo, &streams::ledger(contract_id))
            .await
            .gql()?;
        if events.is_empty() {
            return Ok(None);
        }
        let ledger = Ledger::fold(events.iter().map(|(_, d)| d));
        let standing = ledger.standing(local_date(self.now));
        let payments = events
            .iter()
            .filter_map(|(recorded, decoded)| match decoded {
                talo_events_schema::DomainEvent::PaymentReceived(p) => Some(AsOfPayment {
                    payment_id: p.payment_id,
                    amount_cents: p.amount_cents,
                    booked_on: p.booked_on,
                    entered_at: recorded.metadata.occurred_at,
                    recorded_at: recorded.recorded_at,
                }),
                _ => None,
            })
            .collect();
        Ok(Some(AsOfLedger {
            contract_id,
            invoiced_cents: standing.invoiced_cents,
            received_cents: standing.received_cents,
            balance_cents: standing.balance_cents,
            overdue_cents: standing.overdue_cents,
            prepayment_cents: standing.prepayment_cents,
            open_invoices: ledger
                .invoices
                .iter()
                .filter(|i| i.is_open())
                .map(|i| AsOfInvoice {
                    invoice_number: i.invoice_number.to_string(),
                    issued_on: i.issued_on,
                    due_on: i.due_on,
                    total_cents: i.total_cents,
                    open_cents: i.open_cents(),
                })
                .collect(),
            payments,
        }))
    }

    /// A fault report as the portal's read model showed it.
    async fn fault_report(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<AsOfFaultReport>> {
        let session = Session::of(ctx).gql()?;
        let events = self
            .own_stream(session.talo, &streams::fault_report(id))
            .await
            .gql()?;
        let mut view = FaultReportsView::default();
        for (event, decoded) in &events {
            view.apply(event, decoded);
        }
        Ok(view.get(id).map(|r| AsOfFaultReport {
            fault_report_id: id,
            ticket: r.ticket.clone(),
            status: r.status.into(),
            contractor_company_id: r.contractor_company_id,
            promised_by: r.promised_by,
            reopen_count: r.reopen_count,
            history: r
                .history
                .iter()
                .map(|h| AsOfStatusChange {
                    status: h.status.into(),
                    at: h.at,
                })
                .collect(),
        }))
    }

    /// The promises report as it read then (folds the whole log).
    async fn service_level_report(
        &self,
        ctx: &Context<'_>,
        input: ServiceLevelReportInput,
    ) -> Result<Vec<ServiceLevelReportRow>> {
        let run = async {
            let session = Session::of(ctx)?;
            let scope = ReportScope::of(session.principal()?)?;
            let view: WorkItemsView = fold_log(&session.talo.store, &self.cut)
                .await
                .map_err(rebuilt)?;
            let names = Names::of(session.talo, &scope)?;
            service_level_rows(&view, &names, &scope, self.now, input)
        };
        run.await.gql()
    }
}

#[derive(Default)]
pub struct AsOfQuery;

#[Object]
impl AsOfQuery {
    /// The organisation's state as of a past moment, for auditors.
    async fn audit_as_of(&self, ctx: &Context<'_>, at: AsOfInput) -> Result<AsOfState> {
        let run = async {
            let session = Session::of(ctx)?;
            if !session.principal()?.is_auditor() {
                return Err(ApiError::Forbidden("auditAsOf: for auditors".into()));
            }
            let until = at
                .position
                .as_deref()
                .map(|p| {
                    p.parse::<Position>().map_err(|e| {
                        ApiError::bad_input("position", "as_of.position", e.to_string())
                    })
                })
                .transpose()?;
            if until.is_none() && at.known_at.is_none() && at.effective_at.is_none() {
                return Err(ApiError::bad_input(
                    "at",
                    "as_of.required",
                    "give a position, knownAt or effectiveAt",
                ));
            }
            let now = match (at.effective_at, at.known_at, until) {
                (Some(t), _, _) | (None, Some(t), _) => t,
                (None, None, Some(p)) => business_time_at(session.talo.store.as_ref(), p)
                    .await?
                    .ok_or_else(|| {
                        ApiError::bad_input(
                            "position",
                            "as_of.position",
                            "no event at this position",
                        )
                    })?,
                (None, None, None) => session.now,
            };
            Ok(AsOfState {
                cut: Cut {
                    until,
                    known_at: at.known_at,
                    effective_at: at.effective_at,
                },
                now,
                organisation_id: session.caller.organisation_id,
            })
        };
        run.await.gql()
    }
}

/// The business time of the event at `position`.
async fn business_time_at(
    store: &dyn talo_store::EventStore,
    position: Position,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let next = store.read_all(position, 1, &LogFilter::default()).await?;
    let before = next.first().map(|e| e.position);
    let at = store
        .read_all_backwards(before, 1, &LogFilter::default())
        .await?;
    Ok(at
        .first()
        .filter(|e| e.position == position)
        .map(|e| e.metadata.occurred_at))
}
