//! The command side: load what a decision needs, ask the domain, append the events with the
//! expected revision, and answer only once the read models show the change.
//!
//! Concurrency is optimistic: a write that lost a race on its stream is decided again on the
//! fresh state (so two notes added at once both land, and two incompatible steps end with the
//! second refused by a domain rule). Idempotency keys travel in the event metadata, so a
//! retried request is recognised from the log itself, also after a restart.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use talo_domain::Rejection;
use talo_domain::access::Principal;
use talo_domain::announcement::{self, Announcement, AnnouncementCommand, PublishAnnouncement};
use talo_domain::booking::{self, BookableResource, BookingCommand, DefineResource};
use talo_domain::booking_charge::{self, ChargeChange};
use talo_domain::bulk_notice::{self, BulkNotice, SendBulkNotice};
use talo_domain::calendar::local_date;
use talo_domain::decision::Decision;
use talo_domain::document::{self, AddDocument, Document, DocumentCommand, UploadLimits};
use talo_domain::fault_report::{self, Context, FaultReport, FaultReportCommand, ReportFault};
use talo_domain::housing::{
    self, ApplicationCommand, FileApplication, HousingApplication, HousingOffer, MakeOffer,
    OfferCommand,
};
use talo_domain::message_thread::{self, MessageThread, MessageThreadCommand, StartMessageThread};
use talo_domain::register::{Register, RegisterCommand};
use talo_domain::renovation::{
    self, RENOVATION_PREFIX, Renovation, RenovationCommand, RequestRenovation,
};
use talo_domain::request_form::{
    self, FileServiceRequest, FormDefinition, RequestForm, SERVICE_REQUEST_PREFIX, ServiceRequest,
    ServiceRequestCommand,
};
use talo_domain::ticket::{FAULT_REPORT_PREFIX, MESSAGE_THREAD_PREFIX, TicketSeries};
use talo_events_schema::envelope::{
    Actor, ActorRole, Channel, EventMetadata, NewEvent, Position, RecordedEvent,
};
use talo_events_schema::ticket::TicketNumberIssued;
use talo_events_schema::{DomainEvent, streams};
use talo_projections::ReadModels;
use talo_projections::idempotency::IdempotencyView;
use talo_store::{AppendResult, Direction, EventStore, ExpectedRevision, StoreError, StreamFrom};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::keyed_locks::KeyedLocks;
use crate::metrics::Metrics;

/// How many times a write that lost a race is decided again before giving up.
const MAX_ATTEMPTS: usize = 8;

/// One request's context: who, through which channel, when, and under which idempotency key.
#[derive(Debug, Clone)]
pub struct Request {
    pub caller: Caller,
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    pub correlation_id: Uuid,
}

/// Namespace of the ids Talo derives from idempotency keys.
const KEYED_IDS: Uuid = Uuid::from_u128(0x6f1d_2c2e_8a4b_4f7e_9a51_7a10_7a10_7a10);

impl Request {
    /// The id for an entity this request creates: derived from the idempotency key, so every
    /// retry names the same entity (and finds it), or a fresh UUID v7 without a key.
    pub fn new_entity_id(&self, kind: &str) -> Uuid {
        match &self.idempotency_key {
            Some(key) => Uuid::new_v5(
                &KEYED_IDS,
                format!(
                    "{}/{}/{kind}/{key}",
                    self.caller.organisation_id, self.caller.person_id
                )
                .as_bytes(),
            ),
            None => Uuid::now_v7(),
        }
    }
}

/// A decision and the property its events concern (recorded in their envelope).
pub struct Decided {
    pub decision: Decision,
    pub property_id: Option<Uuid>,
}

/// A stream as a command reads it before deciding.
pub(crate) enum AsRead<S> {
    /// An earlier try of this very request is in the stream: its outcome, nothing to decide.
    Answered(Outcome),
    /// What to decide on, the revision the stream continues at, and its last event's place.
    Found {
        state: S,
        next_revision: u64,
        last_position: Option<Position>,
    },
}

/// What a command wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stream: String,
    /// Position of the last event written (or of the original write, for a replayed request).
    pub position: Position,
    /// True when the idempotency key had been used: nothing new was written.
    pub replayed: bool,
}

pub struct Dispatcher {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) read_models: Arc<ReadModels>,
    metrics: Metrics,
    read_your_writes_timeout: Duration,
    /// Requests in flight per idempotency key: a retry waits for the first try to finish.
    in_flight: KeyedLocks,
    /// Writers per stream (a report, a ticket series, a register) on this node.
    streams: KeyedLocks,
    /// Requests waiting for a number of a ticket series, per series stream: whoever holds the
    /// series next issues all of them in one append, so concurrent requests share one commit
    /// instead of taking turns at one durable write each.
    ticket_waiters: std::sync::Mutex<std::collections::HashMap<String, Vec<TicketWaiter>>>,
    /// Contract ledgers folded through a revision, so a ledger read again folds on only what
    /// came after.
    pub ledgers: crate::ledger_cache::LedgerCache,
}

/// A request waiting for its ticket number.
struct TicketWaiter {
    request: Request,
    issued_for: Uuid,
    reply: tokio::sync::oneshot::Sender<Result<TicketNumberIssued, ApiError>>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn EventStore>,
        read_models: Arc<ReadModels>,
        metrics: Metrics,
        read_your_writes_timeout: Duration,
    ) -> Self {
        Dispatcher {
            store,
            read_models,
            metrics,
            read_your_writes_timeout,
            in_flight: KeyedLocks::default(),
            streams: KeyedLocks::default(),
            ticket_waiters: Default::default(),
            ledgers: Default::default(),
        }
    }

    /// Files a new fault report: checks it, issues its ticket number, records it.
    pub async fn report_fault(
        &self,
        request: &Request,
        command: ReportFault,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::fault_report(command.fault_report_id);
        let property_id = Some(command.property_id);
        self.create_numbered(
            request,
            &stream,
            FAULT_REPORT_PREFIX,
            command.fault_report_id,
            "FaultReported",
            |register, principal| {
                fault_report::check_report(&command, &context(request, register, principal))
                    .map(|_| ())
            },
            |ticket, register, principal| {
                let decision = fault_report::report(
                    command.clone(),
                    ticket,
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    decision,
                    property_id,
                })
            },
        )
        .await
    }

    /// Takes a step on an existing fault report.
    pub async fn fault_report_step(
        &self,
        request: &Request,
        fault_report_id: Uuid,
        command: FaultReportCommand,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::fault_report(fault_report_id);
        self.act_on(
            request,
            &stream,
            step_event_type(&command),
            |history, register, principal| {
                // Missing, in another organisation, or not the caller's to see: one answer.
                let not_found = || ApiError::Rejected(fault_report::not_visible());
                let decoded = decode_all(history)?;
                let state = FaultReport::fold(decoded.iter().map(|(e, at)| (e, *at)))
                    .ok_or_else(not_found)?;
                let decision = fault_report::decide(
                    &state,
                    command.clone(),
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    decision,
                    property_id: Some(state.property_id),
                })
            },
        )
        .await
    }

    /// Starts a message thread: checks it, issues its `YT` ticket number, records the start
    /// with its first message.
    pub async fn start_message_thread(
        &self,
        request: &Request,
        command: StartMessageThread,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::message_thread(command.message_thread_id);
        self.create_numbered(
            request,
            &stream,
            MESSAGE_THREAD_PREFIX,
            command.message_thread_id,
            "MessageThreadStarted",
            |register, principal| {
                message_thread::check_start(&command, &context(request, register, principal))
                    .map(|_| ())
            },
            |ticket, register, principal| {
                let decision = message_thread::start(
                    command.clone(),
                    ticket,
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    property_id: decision.events.first().and_then(property_of),
                    decision,
                })
            },
        )
        .await
    }

    /// Takes a step on an existing message thread: a message, a note, an assignment, a status,
    /// a read receipt.
    pub async fn message_thread_step(
        &self,
        request: &Request,
        message_thread_id: Uuid,
        command: MessageThreadCommand,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::message_thread(message_thread_id);
        self.act_on(
            request,
            &stream,
            command.event_type(),
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let state = MessageThread::fold(decoded.iter().map(|(e, at)| (e, *at)))
                    .ok_or_else(|| ApiError::Rejected(message_thread::not_visible()))?;
                let decision = message_thread::decide(
                    &state,
                    command.clone(),
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    decision,
                    property_id: Some(state.property_id),
                })
            },
        )
        .await
    }

    /// Sends a bulk notice to the current occupants of its target. The notice's id comes from
    /// the idempotency key, so a retry finds the notice its first try sent.
    pub async fn send_bulk_notice(
        &self,
        request: &Request,
        command: SendBulkNotice,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::bulk_notice(command.bulk_notice_id);
        self.act_on(
            request,
            &stream,
            "BulkNoticeSent",
            |history, register, principal| {
                if !history.is_empty() {
                    return Err(ApiError::Conflict {
                        rule: "idempotency.key_reused",
                        message: "idempotencyKey: this key names a notice sent by another request"
                            .into(),
                    });
                }
                let decision =
                    bulk_notice::send(command.clone(), &context(request, register, principal))?;
                Ok(Decided {
                    property_id: decision.events.first().and_then(property_of),
                    decision,
                })
            },
        )
        .await
    }

    /// A recipient marks a bulk notice read.
    pub async fn mark_bulk_notice_read(
        &self,
        request: &Request,
        bulk_notice_id: Uuid,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::bulk_notice(bulk_notice_id);
        self.act_on(
            request,
            &stream,
            "BulkNoticeRead",
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let readers = history.iter().map(|e| e.metadata.actor.person_id);
                let state = BulkNotice::fold(decoded.iter().map(|(e, _)| e).zip(readers))
                    .ok_or_else(|| ApiError::Rejected(bulk_notice::not_visible()))?;
                let decision =
                    bulk_notice::mark_read(&state, &context(request, register, principal))?;
                Ok(Decided {
                    decision,
                    property_id: Some(state.property_id),
                })
            },
        )
        .await
    }

    /// Creates a new stream whose first event carries a ticket number (`YT-2026-000042`):
    /// `check` runs before a number is issued, so a request refused by a rule uses none;
    /// `create` makes the events with the number. The stream's id should come from the
    /// idempotency key ([`Request::new_entity_id`]), so a retry finds what its first try made.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_numbered(
        &self,
        request: &Request,
        stream: &str,
        prefix: &str,
        issued_for: Uuid,
        expected_type: &str,
        check: impl Fn(&Register, &Principal) -> Result<(), Rejection>,
        create: impl Fn(&TicketNumberIssued, &Register, &Principal) -> Result<Decided, Rejection>,
    ) -> Result<Outcome, ApiError> {
        self.idempotent(request, expected_type, stream, async {
            let _writing = self.streams.lock(stream).await;
            let existing = self
                .store
                .read_stream(stream, Direction::Forwards, StreamFrom::Start, 1)
                .await?;
            if !existing.is_empty() {
                return earlier_outcome(request, expected_type, &existing);
            }
            self.with_register(request, |register, principal| {
                Ok(check(register, principal)?)
            })?;
            let ticket = self.issue_ticket(request, prefix, issued_for).await?;
            let decided = self.with_register(request, |register, principal| {
                Ok(create(&ticket, register, principal)?)
            })?;
            let events = envelope(
                request,
                decided.decision.role,
                decided.property_id,
                &decided.decision.events,
                request.caller.organisation_id,
            );
            match self
                .append(stream, ExpectedRevision::NoStream, events)
                .await
            {
                Ok(result) => Ok(Outcome {
                    stream: stream.to_owned(),
                    position: result.position,
                    replayed: false,
                }),
                Err(ApiError::Conflict {
                    rule: "store.wrong_expected_version",
                    ..
                }) => {
                    // Another node made the same request first.
                    let existing = self
                        .store
                        .read_stream(stream, Direction::Forwards, StreamFrom::Start, 1)
                        .await?;
                    earlier_outcome(request, expected_type, &existing)
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Sets the organisation's service-level promises (one stream per organisation).
    pub async fn set_service_levels(
        &self,
        request: &Request,
        command: talo_events_schema::service_level::ServiceLevelTargetsSet,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::service_levels(request.caller.organisation_id);
        self.act_on(
            request,
            &stream,
            "ServiceLevelTargetsSet",
            |_, _, principal| {
                Ok(Decided {
                    decision: talo_domain::service_level::set(principal, command.clone())?,
                    property_id: None,
                })
            },
        )
        .await
    }

    /// Decides on a stream's history and appends the result with the expected revision,
    /// deciding again on the fresh history if another writer got there first. `decide` gets
    /// the history (empty for a new stream, or for one of another organisation, so it answers
    /// as for a missing one) and the caller's register and principal.
    pub async fn act_on(
        &self,
        request: &Request,
        stream: &str,
        expected_type: &str,
        decide: impl Fn(&[RecordedEvent], &Register, &Principal) -> Result<Decided, ApiError>,
    ) -> Result<Outcome, ApiError> {
        self.act_on_read(
            request,
            stream,
            expected_type,
            || async move {
                let mut history = self.read_whole_stream(stream).await?;
                // A retry whose first try is in the log: recognised from the stream itself,
                // whatever the read models or other nodes know.
                if history.iter().any(|e| same_request(request, e)) {
                    return earlier_outcome(request, expected_type, &history).map(AsRead::Answered);
                }
                let next_revision = history.len() as u64;
                if history
                    .first()
                    .is_some_and(|e| e.metadata.organisation_id != request.caller.organisation_id)
                {
                    history.clear();
                }
                let last_position = history.last().map(|e| e.position);
                Ok(AsRead::Found {
                    state: history,
                    next_revision,
                    last_position,
                })
            },
            |history, register, principal| decide(history, register, principal),
            |_, _, _, _| {},
        )
        .await
    }

    /// [`Dispatcher::act_on`] on a state `read` makes of the stream (say, a ledger folded on
    /// from a kept one): decides on it and appends with the revision it was read at, reading
    /// and deciding again if another writer got there first. After an append, `appended` gets
    /// the state, the events recorded, the revision they begin at and the last one's position.
    pub(crate) async fn act_on_read<S, Read>(
        &self,
        request: &Request,
        stream: &str,
        expected_type: &str,
        read: impl Fn() -> Read,
        decide: impl Fn(&S, &Register, &Principal) -> Result<Decided, ApiError>,
        appended: impl Fn(S, &[DomainEvent], u64, Position),
    ) -> Result<Outcome, ApiError>
    where
        Read: Future<Output = Result<AsRead<S>, ApiError>>,
    {
        self.idempotent(request, expected_type, stream, async {
            let _writing = self.streams.lock(stream).await;
            for _ in 0..MAX_ATTEMPTS {
                let (state, next_revision, last_position) = match read().await? {
                    AsRead::Answered(outcome) => return Ok(outcome),
                    AsRead::Found {
                        state,
                        next_revision,
                        last_position,
                    } => (state, next_revision, last_position),
                };
                let decided = self.with_register(request, |register, principal| {
                    decide(&state, register, principal)
                })?;
                if decided.decision.events.is_empty() {
                    // Nothing new to record (a second read, say): nothing is appended, and the
                    // answer points at the stream as it stands.
                    let position = match last_position {
                        Some(last) => last,
                        None => self.store.head().await?,
                    };
                    return Ok(Outcome {
                        stream: stream.to_owned(),
                        position,
                        replayed: false,
                    });
                }
                let expected = match next_revision {
                    0 => ExpectedRevision::NoStream,
                    n => ExpectedRevision::Exact(n - 1),
                };
                let events = envelope(
                    request,
                    decided.decision.role,
                    decided.property_id,
                    &decided.decision.events,
                    request.caller.organisation_id,
                );
                match self.append(stream, expected, events).await {
                    Ok(result) => {
                        appended(
                            state,
                            &decided.decision.events,
                            next_revision,
                            result.position,
                        );
                        return Ok(Outcome {
                            stream: stream.to_owned(),
                            position: result.position,
                            replayed: false,
                        });
                    }
                    Err(ApiError::Conflict {
                        rule: "store.wrong_expected_version",
                        ..
                    }) => {
                        self.metrics.command_retried();
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(busy(stream))
        })
        .await
    }

    /// Changes the register of the caller's organisation (or creates it, for Talo itself).
    pub async fn register(
        &self,
        request: &Request,
        actor: Actor,
        command: RegisterCommand,
    ) -> Result<Outcome, ApiError> {
        let org = request.caller.organisation_id;
        let stream = streams::organisation(org);
        self.idempotent(request, "", &stream, async {
            let _writing = self.streams.lock(&stream).await;
            for _ in 0..MAX_ATTEMPTS {
                let (event, expected) = self
                    .on_register(&stream, org, |register| {
                        let principal =
                            register.principal(actor.person_id, local_date(request.occurred_at));
                        Ok(register.decide(actor, principal.as_ref(), command.clone())?)
                    })
                    .await?;
                let property_id = property_of(&event);
                let new_event = envelope_as(request, actor, property_id, &[event], org);
                match self.append(&stream, expected, new_event).await {
                    Ok(result) => {
                        return Ok(Outcome {
                            stream: stream.clone(),
                            position: result.position,
                            replayed: false,
                        });
                    }
                    Err(ApiError::Conflict {
                        rule: "store.wrong_expected_version",
                        ..
                    }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(busy(&stream))
        })
        .await
    }

    /// Runs `decide` on the organisation's register as its stream (`stream`) stands now, and
    /// gives the revision an append after it expects.
    ///
    /// The register read model is that stream folded, so once it has passed the stream's last
    /// event it holds what folding the stream would give, without reading it: a large
    /// organisation's register is a stream of 170,000 events, 0.6 s to read and fold for every
    /// change. A read model that does not get there within the read-your-writes timeout (it
    /// stopped on a failure, or is far behind) is passed over and the stream folded. Another
    /// writer appending meanwhile makes the append expecting this revision fail, and the caller
    /// decides again.
    async fn on_register<T>(
        &self,
        stream: &str,
        organisation_id: Uuid,
        decide: impl FnOnce(&Register) -> Result<T, ApiError>,
    ) -> Result<(T, ExpectedRevision), ApiError> {
        let last = self
            .store
            .read_stream(stream, Direction::Backwards, StreamFrom::End, 1)
            .await?;
        let Some(last) = last.first() else {
            return Ok((decide(&Register::default())?, ExpectedRevision::NoStream));
        };
        let expected = ExpectedRevision::Exact(last.revision);
        let register = &self.read_models.register;
        if register
            .wait_for(last.position, self.read_your_writes_timeout)
            .await
            .is_ok()
        {
            let view = register.read();
            if let Some(folded) = view.organisation(organisation_id) {
                return Ok((decide(folded)?, expected));
            }
        }
        let history = self.read_whole_stream(stream).await?;
        let mut folded = Register::default();
        for (event, _) in decode_all(&history)? {
            folded.apply(&event);
        }
        let expected = match history.last() {
            Some(e) => ExpectedRevision::Exact(e.revision),
            None => ExpectedRevision::NoStream,
        };
        Ok((decide(&folded)?, expected))
    }

    /// Publishes the first version of a new form (`form_id` None) or the next version of one.
    pub async fn publish_request_form(
        &self,
        request: &Request,
        form_id: Option<Uuid>,
        definition: FormDefinition,
    ) -> Result<Outcome, ApiError> {
        let id = form_id.unwrap_or_else(|| request.new_entity_id("request-form"));
        self.act_on(
            request,
            &streams::request_form(id),
            "RequestFormPublished",
            |history, _register, principal| {
                let current = RequestForm::fold(decode_all(history)?.iter().map(|(e, _)| e), None);
                if form_id.is_some() && current.is_none() {
                    return Err(ApiError::Rejected(request_form::form_not_found()));
                }
                let decision =
                    request_form::publish(current.as_ref(), id, definition.clone(), principal)?;
                Ok(Decided {
                    decision,
                    property_id: None,
                })
            },
        )
        .await
    }

    pub async fn retire_request_form(
        &self,
        request: &Request,
        form_id: Uuid,
    ) -> Result<Outcome, ApiError> {
        self.act_on(
            request,
            &streams::request_form(form_id),
            "RequestFormRetired",
            |history, _register, principal| {
                let current = RequestForm::fold(decode_all(history)?.iter().map(|(e, _)| e), None)
                    .ok_or_else(|| ApiError::Rejected(request_form::form_not_found()))?;
                Ok(Decided {
                    decision: request_form::retire(&current, principal)?,
                    property_id: None,
                })
            },
        )
        .await
    }

    /// Files a service request on the current version of a form.
    pub async fn file_service_request(
        &self,
        request: &Request,
        form_id: Uuid,
        command: FileServiceRequest,
    ) -> Result<Outcome, ApiError> {
        let form_history = self
            .read_whole_stream(&streams::request_form(form_id))
            .await?;
        let form = form_history
            .first()
            .filter(|e| e.metadata.organisation_id == request.caller.organisation_id)
            .map(|_| decode_all(&form_history))
            .transpose()?
            .and_then(|decoded| RequestForm::fold(decoded.iter().map(|(e, _)| e), None))
            .ok_or_else(|| ApiError::Rejected(request_form::form_not_found()))?;
        let stream = streams::service_request(command.request_id);
        self.create_numbered(
            request,
            &stream,
            SERVICE_REQUEST_PREFIX,
            command.request_id,
            "ServiceRequestFiled",
            |register, principal| {
                request_form::check_filing(&form, &command, &context(request, register, principal))
                    .map(|_| ())
            },
            |ticket, register, principal| {
                let property_id = register
                    .apartments
                    .get(&command.apartment_id)
                    .map(|a| a.property_id);
                let decision = request_form::file(
                    &form,
                    command.clone(),
                    ticket,
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    decision,
                    property_id,
                })
            },
        )
        .await
    }

    pub async fn service_request_step(
        &self,
        request: &Request,
        request_id: Uuid,
        command: ServiceRequestCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match &command {
            ServiceRequestCommand::Take => "ServiceRequestTaken",
            ServiceRequestCommand::AddNote { .. } => "ServiceRequestNoteAdded",
            ServiceRequestCommand::Complete { .. } => "ServiceRequestCompleted",
            ServiceRequestCommand::Reject { .. } => "ServiceRequestRejected",
            ServiceRequestCommand::Cancel { .. } => "ServiceRequestCancelled",
        };
        self.act_on(
            request,
            &streams::service_request(request_id),
            expected,
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let state = ServiceRequest::fold(decoded.iter().map(|(e, at)| (e, *at)))
                    .ok_or_else(|| ApiError::Rejected(request_form::not_visible()))?;
                let decision = request_form::decide(
                    &state,
                    command.clone(),
                    &context(request, register, principal),
                )?;
                Ok(Decided {
                    decision,
                    property_id: Some(state.property_id),
                })
            },
        )
        .await
    }

    /// A shareholder asks permission for renovation work.
    pub async fn request_renovation(
        &self,
        request: &Request,
        command: RequestRenovation,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::renovation(command.renovation_id);
        self.create_numbered(
            request,
            &stream,
            RENOVATION_PREFIX,
            command.renovation_id,
            "RenovationRequested",
            |register, principal| {
                renovation::check_request(&command, principal, register, request.occurred_at)
                    .map(|_| ())
            },
            |ticket, register, principal| {
                let decision = renovation::request(
                    command.clone(),
                    ticket,
                    principal,
                    register,
                    request.occurred_at,
                )?;
                let property_id = register
                    .apartments
                    .get(&command.apartment_id)
                    .map(|a| a.property_id);
                Ok(Decided {
                    decision,
                    property_id,
                })
            },
        )
        .await
    }

    pub async fn renovation_step(
        &self,
        request: &Request,
        renovation_id: Uuid,
        command: RenovationCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match &command {
            RenovationCommand::RequestSupplement { .. } => "RenovationSupplementRequested",
            RenovationCommand::Supplement { .. } => "RenovationSupplemented",
            RenovationCommand::Comment { .. } => "RenovationCommentAdded",
            RenovationCommand::Approve { .. } => "RenovationApproved",
            RenovationCommand::Reject { .. } => "RenovationRejected",
            RenovationCommand::StartWork => "RenovationWorkStarted",
            RenovationCommand::CompleteWork => "RenovationWorkCompleted",
            RenovationCommand::Inspect { .. } => "RenovationInspected",
            RenovationCommand::Withdraw { .. } => "RenovationWithdrawn",
        };
        self.act_on(
            request,
            &streams::renovation(renovation_id),
            expected,
            |history, _register, principal| {
                let decoded = decode_all(history)?;
                let state = Renovation::fold(decoded.iter().map(|(e, _)| e))
                    .ok_or_else(|| ApiError::Rejected(renovation::not_visible()))?;
                Ok(Decided {
                    decision: renovation::decide(&state, command.clone(), principal)?,
                    property_id: Some(state.property_id),
                })
            },
        )
        .await
    }

    pub async fn publish_announcement(
        &self,
        request: &Request,
        command: PublishAnnouncement,
    ) -> Result<Outcome, ApiError> {
        let property_id = command.targets.first().map(|t| t.property_id);
        self.act_on(
            request,
            &streams::announcement(command.announcement_id),
            "AnnouncementPublished",
            |history, register, principal| {
                if !history.is_empty() {
                    return Err(ApiError::Conflict {
                        rule: "announcement.exists",
                        message: "the announcement already exists".into(),
                    });
                }
                Ok(Decided {
                    decision: announcement::publish(command.clone(), principal, register)?,
                    property_id,
                })
            },
        )
        .await
    }

    pub async fn announcement_step(
        &self,
        request: &Request,
        announcement_id: Uuid,
        command: AnnouncementCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match &command {
            AnnouncementCommand::Correct { .. } => "AnnouncementCorrected",
            AnnouncementCommand::Withdraw { .. } => "AnnouncementWithdrawn",
            AnnouncementCommand::Read => "AnnouncementRead",
        };
        self.act_on(
            request,
            &streams::announcement(announcement_id),
            expected,
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let state = Announcement::fold(decoded.iter().map(|(e, _)| e))
                    .ok_or_else(|| ApiError::Rejected(announcement::not_visible()))?;
                let decision = announcement::decide(
                    &state,
                    command.clone(),
                    principal,
                    register,
                    request.occurred_at,
                )?;
                Ok(Decided {
                    decision,
                    property_id: state.targets.first().map(|t| t.property_id),
                })
            },
        )
        .await
    }

    /// Adds a document to a property's archive. The domain decides on the file's metadata
    /// first, so a refused upload stores nothing; then `store_content` writes the bytes, and
    /// only then is the event appended, so the log never names content that is not on disk.
    pub async fn add_document(
        &self,
        request: &Request,
        command: AddDocument,
        limits: &UploadLimits,
        store_content: impl Future<Output = Result<(), ApiError>>,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::document(command.document_id);
        let decide = |history: &[RecordedEvent], register: &Register, principal: &Principal| {
            if !history.is_empty() {
                return Err(ApiError::Conflict {
                    rule: "idempotency.key_reused",
                    message: "idempotencyKey: this key names a document added by another request"
                        .into(),
                });
            }
            let ctx = document::Context {
                principal,
                register,
                limits,
            };
            Ok(Decided {
                decision: document::add(command.clone(), &ctx)?,
                property_id: Some(command.property_id),
            })
        };
        self.decide_before_storing(request, &stream, &decide)
            .await?;
        store_content.await?;
        self.act_on(request, &stream, "DocumentAdded", decide).await
    }

    /// Adds a new version of a document's file, deciding before the bytes are stored as
    /// [`Dispatcher::add_document`] does.
    pub async fn add_document_version(
        &self,
        request: &Request,
        document_id: Uuid,
        command: DocumentCommand,
        limits: &UploadLimits,
        store_content: impl Future<Output = Result<(), ApiError>>,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::document(document_id);
        let decide = document_decider(command, limits);
        self.decide_before_storing(request, &stream, &decide)
            .await?;
        store_content.await?;
        self.act_on(request, &stream, "DocumentVersionAdded", decide)
            .await
    }

    /// Changes a document's audience or withdraws it.
    pub async fn document_step(
        &self,
        request: &Request,
        document_id: Uuid,
        command: DocumentCommand,
        limits: &UploadLimits,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::document(document_id);
        let expected_type = match &command {
            DocumentCommand::AddVersion { .. } => "DocumentVersionAdded",
            DocumentCommand::ChangeAudience { .. } => "DocumentAudienceChanged",
            DocumentCommand::Withdraw { .. } => "DocumentWithdrawn",
        };
        self.act_on(
            request,
            &stream,
            expected_type,
            document_decider(command, limits),
        )
        .await
    }

    /// Changes the register as the calling person: the domain lets only property managers
    /// (organisation-wide, or of the property for its details and contacts) do so, so that is
    /// the role recorded.
    pub async fn edit_register(
        &self,
        request: &Request,
        command: RegisterCommand,
    ) -> Result<Outcome, ApiError> {
        let actor = Actor {
            person_id: request.caller.person_id,
            role: ActorRole::PropertyManager,
        };
        self.register(request, actor, command).await
    }

    /// Runs `decide` on the stream as it is now without writing anything: a refusal before
    /// any side effect. A retry whose first try is in the log passes, to be answered by
    /// [`Dispatcher::act_on`].
    async fn decide_before_storing(
        &self,
        request: &Request,
        stream: &str,
        decide: &impl Fn(&[RecordedEvent], &Register, &Principal) -> Result<Decided, ApiError>,
    ) -> Result<(), ApiError> {
        let mut history = self.read_whole_stream(stream).await?;
        if history.iter().any(|e| same_request(request, e)) {
            return Ok(());
        }
        if history
            .first()
            .is_some_and(|e| e.metadata.organisation_id != request.caller.organisation_id)
        {
            history.clear();
        }
        self.with_register(request, |register, principal| {
            decide(&history, register, principal).map(|_| ())
        })
    }

    /// An applicant files a rental housing application for themselves.
    pub async fn file_housing_application(
        &self,
        request: &Request,
        command: FileApplication,
    ) -> Result<Outcome, ApiError> {
        let stream = streams::housing_application(command.application_id);
        self.act_on(
            request,
            &stream,
            "HousingApplicationFiled",
            |history, _register, principal| {
                if !history.is_empty() {
                    return Err(ApiError::Conflict {
                        rule: "idempotency.key_reused",
                        message:
                            "idempotencyKey: this key names an application made by another request"
                                .into(),
                    });
                }
                Ok(Decided {
                    decision: housing::file_application(
                        command.clone(),
                        principal,
                        request.occurred_at,
                    )?,
                    property_id: None,
                })
            },
        )
        .await
    }

    pub async fn housing_application_step(
        &self,
        request: &Request,
        application_id: Uuid,
        command: ApplicationCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match command {
            ApplicationCommand::Renew => "HousingApplicationRenewed",
            ApplicationCommand::Withdraw { .. } => "HousingApplicationWithdrawn",
        };
        self.act_on(
            request,
            &streams::housing_application(application_id),
            expected,
            |history, _register, principal| {
                let decoded = decode_all(history)?;
                let state = HousingApplication::fold(decoded.iter().map(|(e, _)| e))
                    .ok_or_else(|| ApiError::Rejected(housing::application_not_visible()))?;
                Ok(Decided {
                    decision: housing::decide_application(
                        &state,
                        command.clone(),
                        principal,
                        request.occurred_at,
                    )?,
                    property_id: None,
                })
            },
        )
        .await
    }

    /// The office offers a vacant apartment to an application.
    pub async fn make_housing_offer(
        &self,
        request: &Request,
        application_id: Uuid,
        command: MakeOffer,
    ) -> Result<Outcome, ApiError> {
        // Which offers are pending or accepted comes from the read model, which learns of an
        // offer only after its append. So offers to one application, and of one apartment,
        // take turns on this node: each is decided once the one before is in the read model
        // (`act_on` returns only then). Always the application's turn first, so two offers
        // never wait for each other.
        let _application_turn = self
            .streams
            .lock(&format!("offers-to-application/{application_id}"))
            .await;
        let _apartment_turn = self
            .streams
            .lock(&format!("offers-of-apartment/{}", command.apartment_id))
            .await;
        let application_history = self
            .read_whole_stream(&streams::housing_application(application_id))
            .await?;
        let application = application_history
            .first()
            .filter(|e| e.metadata.organisation_id == request.caller.organisation_id)
            .map(|_| decode_all(&application_history))
            .transpose()?
            .and_then(|decoded| HousingApplication::fold(decoded.iter().map(|(e, _)| e)))
            .ok_or_else(|| ApiError::Rejected(housing::application_not_visible()))?;
        let so_far = self
            .read_models
            .housing
            .read()
            .offers_so_far(application_id, command.apartment_id);
        self.act_on(
            request,
            &streams::housing_offer(command.offer_id),
            "HousingOfferMade",
            |history, register, principal| {
                if !history.is_empty() {
                    return Err(ApiError::Conflict {
                        rule: "idempotency.key_reused",
                        message: "idempotencyKey: this key names an offer made by another request"
                            .into(),
                    });
                }
                let decision = housing::make_offer(
                    &application,
                    command.clone(),
                    so_far,
                    principal,
                    register,
                    request.occurred_at,
                )?;
                let property_id = register
                    .apartments
                    .get(&command.apartment_id)
                    .map(|a| a.property_id);
                Ok(Decided {
                    decision,
                    property_id,
                })
            },
        )
        .await
    }

    /// Accepts, declines or expires an offer. An acceptance also signs the lease in the
    /// register; its contract id comes from the offer, so a retry never signs twice.
    pub async fn housing_offer_step(
        &self,
        request: &Request,
        offer_id: Uuid,
        command: OfferCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match command {
            OfferCommand::Accept { .. } => "HousingOfferAccepted",
            OfferCommand::Decline { .. } => "HousingOfferDeclined",
            OfferCommand::Expire => "HousingOfferExpired",
        };
        let outcome = self
            .act_on(
                request,
                &streams::housing_offer(offer_id),
                expected,
                |history, _register, principal| {
                    let decoded = decode_all(history)?;
                    let state = HousingOffer::fold(decoded.iter().map(|(e, _)| e))
                        .ok_or_else(|| ApiError::Rejected(housing::offer_not_visible()))?;
                    let decision = housing::decide_offer(
                        &state,
                        command.clone(),
                        principal,
                        request.occurred_at,
                    )?;
                    Ok(Decided {
                        decision,
                        property_id: Some(state.property_id),
                    })
                },
            )
            .await?;
        if let OfferCommand::Accept { contract_id } = command {
            let history = self
                .read_whole_stream(&streams::housing_offer(offer_id))
                .await?;
            if let Some(offer) = HousingOffer::fold(decode_all(&history)?.iter().map(|(e, _)| e)) {
                let lease = Request {
                    idempotency_key: None,
                    ..request.clone()
                };
                match self
                    .register(
                        &lease,
                        Actor::SYSTEM,
                        RegisterCommand::SignContract(housing::lease_for(&offer, contract_id)),
                    )
                    .await
                {
                    Ok(_)
                    | Err(ApiError::Rejected(Rejection {
                        rule: "register.contract_exists",
                        ..
                    })) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(outcome)
    }

    /// The lease id an accepted offer signs.
    pub fn lease_id_for(offer_id: Uuid) -> Uuid {
        Uuid::new_v5(&KEYED_IDS, format!("lease/{offer_id}").as_bytes())
    }

    /// Builds the caller's principal from the register read model and runs `decide` with it.
    /// The read lock is held only for this synchronous call.
    pub(crate) fn with_register<T>(
        &self,
        request: &Request,
        decide: impl FnOnce(&Register, &Principal) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let view = self.read_models.register.read();
        let register = view
            .organisation(request.caller.organisation_id)
            .ok_or_else(|| {
                ApiError::Forbidden("your organisation is not registered in Talo".into())
            })?;
        let principal = register
            .principal(request.caller.person_id, local_date(request.occurred_at))
            .ok_or_else(|| {
                ApiError::Forbidden("you are not in your organisation's register".into())
            })?;
        decide(register, &principal)
    }

    /// Issues the next number of a ticket series. Requests arriving together are numbered
    /// together: each still gets its own `TicketNumberIssued` event, in order, in one append.
    pub(crate) async fn issue_ticket(
        &self,
        request: &Request,
        prefix: &str,
        issued_for: Uuid,
    ) -> Result<TicketNumberIssued, ApiError> {
        let org = request.caller.organisation_id;
        let stream = streams::tickets(prefix, org);
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.with_waiters(&stream, |waiting| {
            waiting.push(TicketWaiter {
                request: request.clone(),
                issued_for,
                reply,
            })
        });
        let _issuing = self.streams.lock(&stream).await;
        // Numbered while waiting for the series, by the request that held it.
        if let Ok(issued) = answer.try_recv() {
            return issued;
        }
        let waiters = self.with_waiters(&stream, std::mem::take);
        let issued = self.issue_tickets(&stream, prefix, org, &waiters).await;
        for (waiter, result) in waiters.into_iter().zip(issued) {
            let _ = waiter.reply.send(result);
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::Internal("a ticket request was dropped".into())))
    }

    fn with_waiters<T>(&self, stream: &str, f: impl FnOnce(&mut Vec<TicketWaiter>) -> T) -> T {
        let mut all = self
            .ticket_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(all.entry(stream.to_owned()).or_default())
    }

    /// Numbers every waiter in order and records the numbers in one append.
    async fn issue_tickets(
        &self,
        stream: &str,
        prefix: &str,
        org: Uuid,
        waiters: &[TicketWaiter],
    ) -> Vec<Result<TicketNumberIssued, ApiError>> {
        let attempt = async {
            for _ in 0..MAX_ATTEMPTS {
                let last = self
                    .store
                    .read_stream(stream, Direction::Backwards, StreamFrom::End, 1)
                    .await?;
                let mut series = TicketSeries::default();
                for (event, _) in decode_all(&last)? {
                    series.apply(&event);
                }
                let mut tickets = Vec::with_capacity(waiters.len());
                let mut events = Vec::with_capacity(waiters.len());
                for waiter in waiters {
                    let ticket =
                        series.issue(prefix, waiter.issued_for, waiter.request.occurred_at);
                    series.apply(&ticket.clone().into());
                    let mut unkeyed = waiter.request.clone();
                    // The key marks the request's own result; the ticket is a side record of it.
                    unkeyed.idempotency_key = None;
                    events.extend(envelope_as(
                        &unkeyed,
                        Actor::SYSTEM,
                        None,
                        &[ticket.clone().into()],
                        org,
                    ));
                    tickets.push(ticket);
                }
                let expected = last.first().map_or(ExpectedRevision::NoStream, |e| {
                    ExpectedRevision::Exact(e.revision)
                });
                match self.append(stream, expected, events).await {
                    Ok(_) => return Ok(tickets),
                    Err(ApiError::Conflict {
                        rule: "store.wrong_expected_version",
                        ..
                    }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(busy(stream))
        };
        match attempt.await {
            Ok(tickets) => tickets.into_iter().map(Ok).collect(),
            Err(e) => {
                let message = e.to_string();
                waiters
                    .iter()
                    .map(|_| {
                        Err(match &e {
                            ApiError::Conflict { rule, .. } => ApiError::Conflict {
                                rule,
                                message: message.clone(),
                            },
                            _ => ApiError::Internal(message.clone()),
                        })
                    })
                    .collect()
            }
        }
    }

    pub(crate) async fn read_whole_stream(
        &self,
        stream: &str,
    ) -> Result<Vec<RecordedEvent>, ApiError> {
        self.read_stream_from(stream, 0).await
    }

    /// A stream's events from revision `first` to its end.
    pub(crate) async fn read_stream_from(
        &self,
        stream: &str,
        first: u64,
    ) -> Result<Vec<RecordedEvent>, ApiError> {
        // Most streams a command acts on hold a handful of events: a first page this small is
        // one short read, which the embedded store serves without a thread hand-off.
        let mut page = 64;
        let mut events = Vec::new();
        loop {
            let from = StreamFrom::Revision(first + events.len() as u64);
            let batch = self
                .store
                .read_stream(stream, Direction::Forwards, from, page)
                .await?;
            let done = batch.len() < page;
            events.extend(batch);
            if done {
                return Ok(events);
            }
            page = 1000;
        }
    }

    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, ApiError> {
        let count = events.len();
        let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
        match self.store.append(stream, expected, events).await {
            Ok(result) => {
                for t in &types {
                    self.metrics.event_appended(t);
                }
                tracing::debug!(stream, count, position = %result.position, "appended");
                Ok(result)
            }
            Err(StoreError::WrongExpectedVersion { .. }) => Err(ApiError::Conflict {
                rule: "store.wrong_expected_version",
                message: format!("`{stream}` changed while the request was decided"),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `work` once per idempotency key: a retry of a finished request returns the first
    /// one's outcome; a retry of one still running waits for it. Then waits until the read
    /// models show the change.
    async fn idempotent(
        &self,
        request: &Request,
        expected_type: &str,
        stream: &str,
        work: impl Future<Output = Result<Outcome, ApiError>>,
    ) -> Result<Outcome, ApiError> {
        let (org, person) = (request.caller.organisation_id, request.caller.person_id);
        // Held until the read models show the write, so a retry waiting on it finds the key.
        let _in_flight = match &request.idempotency_key {
            Some(key) => Some(
                self.in_flight
                    .lock(&IdempotencyView::key(org, person, key))
                    .await,
            ),
            None => None,
        };
        let earlier = request.idempotency_key.as_deref().and_then(|key| {
            let view = self.read_models.idempotency.read();
            view.find(org, person, key).cloned().map(|used| (key, used))
        });
        let outcome = match earlier {
            Some((key, used))
                if used.stream != stream
                    || (!expected_type.is_empty() && used.event_type != expected_type) =>
            {
                return Err(ApiError::Conflict {
                    rule: "idempotency.key_reused",
                    message: format!(
                        "idempotencyKey: `{key}` was already used for a different request ({} on `{}`)",
                        used.event_type, used.stream
                    ),
                });
            }
            Some((_, used)) => {
                self.metrics.command_replayed();
                Outcome {
                    stream: used.stream,
                    position: used.position,
                    replayed: true,
                }
            }
            None => work.await?,
        };
        self.read_models
            .wait_for(outcome.position, self.read_your_writes_timeout)
            .await
            .map_err(|lag| ApiError::NotYetVisible {
                position: outcome.position.to_string(),
                lag,
            })?;
        crate::receipts::note(&outcome);
        Ok(outcome)
    }
    /// The office makes a resource of a property bookable.
    pub async fn define_bookable_resource(
        &self,
        request: &Request,
        command: DefineResource,
    ) -> Result<Outcome, ApiError> {
        let property_id = Some(command.property_id);
        self.act_on(
            request,
            &streams::resource(command.resource_id),
            "BookableResourceDefined",
            |history, register, principal| {
                let decoded = decode_all(history)?;
                let existing = BookableResource::fold(decoded.iter().map(|(e, at)| (e, *at)));
                Ok(Decided {
                    decision: booking::define(
                        existing.as_ref(),
                        command.clone(),
                        principal,
                        register,
                    )?,
                    property_id,
                })
            },
        )
        .await
    }

    /// Books, queues or cancels on a resource's stream (where a lost race is decided again, so
    /// one slot has one holder), then starts or ends the monthly charges this caused in the
    /// contracts' ledgers. A retry finds its booking in the stream and settles the charges
    /// again, which adds nothing twice.
    pub async fn booking_step(
        &self,
        request: &Request,
        resource_id: Uuid,
        command: BookingCommand,
    ) -> Result<Outcome, ApiError> {
        let expected = match &command {
            BookingCommand::BookSaunaShift { .. } => "SaunaShiftBooked",
            BookingCommand::BookParkingSpace { .. } => "ParkingSpaceBooked",
            BookingCommand::JoinParkingQueue { .. } => "ParkingQueueJoined",
            BookingCommand::BookRoom { .. } => "RoomBooked",
            BookingCommand::Cancel { .. } => "BookingCancelled",
        };
        let stream = streams::resource(resource_id);
        let outcome = self
            .act_on(
                request,
                &stream,
                expected,
                |history, register, principal| {
                    let decoded = decode_all(history)?;
                    let state = BookableResource::fold(decoded.iter().map(|(e, at)| (e, *at)))
                        .ok_or_else(|| ApiError::Rejected(booking::not_visible()))?;
                    let decision = booking::decide(
                        &state,
                        command.clone(),
                        &context(request, register, principal),
                    )?;
                    Ok(Decided {
                        decision,
                        property_id: Some(state.property_id),
                    })
                },
            )
            .await?;
        let history = self.read_whole_stream(&stream).await?;
        let decoded = decode_all(&history)?;
        let Some(resource) = BookableResource::fold(decoded.iter().map(|(e, at)| (e, *at))) else {
            return Ok(outcome);
        };
        let ours = history
            .iter()
            .zip(&decoded)
            // This try's events (by correlation), or a first try's (by idempotency key).
            .filter(|(recorded, _)| {
                recorded.metadata.correlation_id == request.correlation_id
                    || same_request(request, recorded)
            })
            .map(|(recorded, (event, at))| (event, *at, recorded.metadata.actor.role));
        let changes: Vec<_> = ours
            .flat_map(|(event, at, role)| {
                booking_charge::changes_for(&resource, [(event, at)])
                    .into_iter()
                    .map(move |c| (c, role))
            })
            .collect();
        let mut last = outcome.clone();
        for (change, role) in changes {
            let mut charging = request.clone();
            // Its own key: the booking's key names the booking on the resource's stream.
            charging.idempotency_key = request.idempotency_key.as_ref().map(|key| {
                let booking = match &change {
                    ChargeChange::Add { booking_id, .. } | ChargeChange::End { booking_id, .. } => {
                        booking_id
                    }
                };
                format!("{key}#charge-{booking}")
            });
            let expected = match &change {
                ChargeChange::Add { .. } => "ChargeLineAdded",
                ChargeChange::End { .. } => "ChargeLineEnded",
            };
            let charged = self
                .act_on(
                    &charging,
                    &streams::ledger(change.contract_id()),
                    expected,
                    |history, _register, _principal| {
                        let decoded = decode_all(history)?;
                        Ok(Decided {
                            decision: booking_charge::decide(
                                decoded.iter().map(|(e, _)| e),
                                change.clone(),
                                role,
                            ),
                            property_id: Some(resource.property_id),
                        })
                    },
                )
                .await?;
            if charged.position > last.position {
                last.position = charged.position;
            }
        }
        Ok(Outcome {
            position: last.position,
            ..outcome
        })
    }
}

pub(crate) fn context<'a>(
    request: &Request,
    register: &'a Register,
    principal: &'a Principal,
) -> Context<'a> {
    Context {
        principal,
        register,
        occurred_at: request.occurred_at,
        channel: request.channel,
    }
}

/// Whether `event` was written by this same request on an earlier try.
fn same_request(request: &Request, event: &RecordedEvent) -> bool {
    request.idempotency_key.is_some()
        && event.metadata.idempotency_key == request.idempotency_key
        && event.metadata.actor.person_id == request.caller.person_id
}

/// The outcome of an earlier try of this request found in a stream's `history`, or a conflict
/// if the stream holds something else under that name.
fn earlier_outcome(
    request: &Request,
    expected_type: &str,
    history: &[RecordedEvent],
) -> Result<Outcome, ApiError> {
    let mut earlier = history.iter().filter(|e| same_request(request, e));
    match earlier.next() {
        Some(e) if e.event_type == expected_type => Ok(Outcome {
            stream: e.stream.clone(),
            // The last event of that request, as its first answer said.
            position: earlier.next_back().map_or(e.position, |last| last.position),
            replayed: true,
        }),
        Some(e) => Err(ApiError::Conflict {
            rule: "idempotency.key_reused",
            message: format!(
                "idempotencyKey: already used for a different request ({})",
                e.event_type
            ),
        }),
        None => Err(ApiError::Conflict {
            rule: "idempotency.key_reused",
            message: "idempotencyKey: this key names a record made by another request".into(),
        }),
    }
}

fn busy(stream: &str) -> ApiError {
    ApiError::Conflict {
        rule: "store.too_much_contention",
        message: format!("`{stream}` is changing too fast; try again"),
    }
}

/// Decides a step on a document from its stream; a missing document, one of another
/// organisation and one the caller may not see all get the same answer.
fn document_decider<'a>(
    command: DocumentCommand,
    limits: &'a UploadLimits,
) -> impl Fn(&[RecordedEvent], &Register, &Principal) -> Result<Decided, ApiError> + 'a {
    move |history, register, principal| {
        let decoded = decode_all(history)?;
        let state = Document::fold(decoded.iter().map(|(e, _)| e))
            .ok_or_else(|| ApiError::Rejected(document::not_visible()))?;
        let ctx = document::Context {
            principal,
            register,
            limits,
        };
        Ok(Decided {
            decision: document::decide(&state, command.clone(), &ctx)?,
            property_id: Some(state.property_id),
        })
    }
}

/// The event a step records, so a reused idempotency key can be told apart.
fn step_event_type(command: &FaultReportCommand) -> &'static str {
    match command {
        FaultReportCommand::Acknowledge => "FaultReportAcknowledged",
        FaultReportCommand::Assign { .. } => "FaultReportAssigned",
        FaultReportCommand::ScheduleVisit { .. } => "FaultReportVisitScheduled",
        FaultReportCommand::StartWork => "FaultReportWorkStarted",
        FaultReportCommand::AddNote { .. } => "FaultReportNoteAdded",
        FaultReportCommand::Resolve { .. } => "FaultReportResolved",
        FaultReportCommand::Confirm => "FaultReportConfirmed",
        FaultReportCommand::Reopen { .. } => "FaultReportReopened",
        FaultReportCommand::Cancel { .. } => "FaultReportCancelled",
    }
}

/// The property an event that creates or changes something of a property names.
fn property_of(event: &DomainEvent) -> Option<Uuid> {
    match event {
        DomainEvent::PropertyRegistered(e) => Some(e.property_id),
        DomainEvent::BuildingAdded(e) => Some(e.property_id),
        DomainEvent::ApartmentAdded(e) => Some(e.property_id),
        DomainEvent::BoardMemberElected(e) => Some(e.property_id),
        DomainEvent::BoardMembershipEnded(e) => Some(e.property_id),
        DomainEvent::ResidentCommitteeMemberAppointed(e) => Some(e.property_id),
        DomainEvent::ResidentCommitteeMembershipEnded(e) => Some(e.property_id),
        DomainEvent::PropertyDetailsRecorded(e) => Some(e.property_id),
        DomainEvent::PropertyContactSet(e) => Some(e.property_id),
        DomainEvent::PropertyContactRemoved(e) => Some(e.property_id),
        DomainEvent::MessageThreadStarted(e) => Some(e.property_id),
        DomainEvent::BulkNoticeSent(e) => Some(e.property_id),
        _ => None,
    }
}

pub fn decode_all(events: &[RecordedEvent]) -> Result<Vec<(DomainEvent, DateTime<Utc>)>, ApiError> {
    events
        .iter()
        .map(|e| {
            DomainEvent::from_json_text(&e.event_type, e.schema_version, e.payload.as_str())
                .map(|d| (d, e.metadata.occurred_at))
                .map_err(|err| {
                    ApiError::Internal(format!("`{}` at {}: {err}", e.stream, e.position))
                })
        })
        .collect()
}

fn envelope(
    request: &Request,
    role: ActorRole,
    property_id: Option<Uuid>,
    events: &[DomainEvent],
    org: Uuid,
) -> Vec<NewEvent> {
    let actor = Actor {
        person_id: request.caller.person_id,
        role,
    };
    envelope_as(request, actor, property_id, events, org)
}

fn envelope_as(
    request: &Request,
    actor: Actor,
    property_id: Option<Uuid>,
    events: &[DomainEvent],
    org: Uuid,
) -> Vec<NewEvent> {
    events
        .iter()
        .map(|event| {
            let metadata = EventMetadata {
                occurred_at: request.occurred_at,
                actor,
                channel: request.channel,
                correlation_id: request.correlation_id,
                causation_id: None,
                organisation_id: org,
                property_id,
                idempotency_key: request.idempotency_key.clone(),
            };
            NewEvent::of(Uuid::now_v7(), event, metadata)
        })
        .collect()
}
