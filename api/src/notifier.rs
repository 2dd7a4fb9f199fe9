//! The notification outbox at work: one task follows the log and queues a notification for
//! every person an event matters to (ids derived from the causing event, so following part of
//! the log again after a crash queues nothing twice), saving how far it got so a restart goes
//! on from there; another delivers what is due through a [`Transport`] and records sent,
//! delivered or failed with the next try's time.
//!
//! The embedded default transport writes each notification as a JSON line to
//! `DATA/outbox/<channel>.jsonl`, where a gateway (or a person testing) picks them up; email can
//! go through an SMTP relay instead ([`SmtpMail`], `--smtp-url`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use talo_domain::notification::{Audience, addresses, notices_for, retry_at};
use talo_events_schema::envelope::{EventMetadata, NewEvent, Position, RecordedEvent};
use talo_events_schema::notification::*;
use talo_events_schema::{DomainEvent, streams};
use talo_projections::engine::{SnapshotPolicy, load_checked};
use talo_projections::notifications::{self, MessageError, NotificationMessage};
use talo_projections::snapshot::{self, Checkpoint};
use talo_store::ExpectedRevision;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::talo::Talo;

/// Namespace of notification ids derived from their cause.
const NOTIFICATION_IDS: Uuid = Uuid::from_u128(0x3c5e_0a11_9d2b_4e61_8f3a_0b7e_4a11_0a11);

/// How often the deliverer looks for due notifications.
const DELIVERY_INTERVAL: Duration = Duration::from_millis(100);

/// A notification as it goes out: who it is for, by which channel, and what it says (read from
/// the log as it is sent; the outbox read model keeps only its delivery state).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub notification_id: Uuid,
    pub person_id: Uuid,
    pub channel: NotificationChannel,
    /// This delivery's attempt, from 1.
    pub attempt: u32,
    pub message: NotificationMessage,
}

/// Sends one notification; `Err` carries why it failed, for the log and the retry.
pub trait Transport: Send + Sync + 'static {
    fn deliver(&self, notification: &Outgoing) -> Result<(), String>;
}

/// Appends each notification as a JSON line to a file per channel.
pub struct FileTransport {
    pub dir: PathBuf,
}

impl Transport for FileTransport {
    fn deliver(&self, n: &Outgoing) -> Result<(), String> {
        let file = match n.channel {
            NotificationChannel::Sms => "sms.jsonl",
            NotificationChannel::Email => "email.jsonl",
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("outbox directory: {e}"))?;
        let line = serde_json::json!({
            "notification_id": n.notification_id,
            "to": n.message.address,
            "subject": n.message.subject,
            "body": n.message.body,
        });
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file))
            .map_err(|e| format!("{file}: {e}"))?;
        writeln!(out, "{line}")
            .and_then(|_| out.sync_data())
            .map_err(|e| format!("{file}: {e}"))
    }
}

/// Email through an SMTP relay (plain SMTP, e.g. a local Postfix; the relay does TLS onwards).
pub struct SmtpMail {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
}

impl SmtpMail {
    /// From `smtp://host[:port]` and the sender address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("smtp url: expected `smtp://host[:port]`, got `{url}`"))?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("smtp url: `{port}` is not a port"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() {
            return Err("smtp url: the host is missing".into());
        }
        let from = from.parse().map_err(|e| format!("smtp from: {e}"))?;
        let transport = lettre::SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(SmtpMail { transport, from })
    }
}

impl Transport for SmtpMail {
    fn deliver(&self, n: &Outgoing) -> Result<(), String> {
        use lettre::Transport as _;
        let to = n
            .message
            .address
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("address `{}`: {e}", n.message.address))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(n.message.subject.clone())
            .body(n.message.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("smtp: {e}"))
    }
}

/// Sends each channel through its own transport (email by SMTP, SMS to the file, say).
pub struct ByChannel {
    pub sms: Arc<dyn Transport>,
    pub email: Arc<dyn Transport>,
}

impl Transport for ByChannel {
    fn deliver(&self, n: &Outgoing) -> Result<(), String> {
        match n.channel {
            NotificationChannel::Sms => self.sms.deliver(n),
            NotificationChannel::Email => self.email.deliver(n),
        }
    }
}

/// The outbox's two tasks. Stopped by [`Notifier::shutdown`], queueing saves how far it has
/// followed the log first.
pub struct Notifier {
    stop: Arc<Notify>,
    queueing: JoinHandle<()>,
    delivering: JoinHandle<()>,
}

impl Notifier {
    /// Starts queueing (from the progress saved in the read models' directory, or the log's
    /// start) and delivering.
    pub fn start(talo: &Arc<Talo>, transport: Arc<dyn Transport>) -> Self {
        let stop = Arc::new(Notify::new());
        Notifier {
            queueing: tokio::spawn(enqueue(talo.clone(), stop.clone())),
            delivering: tokio::spawn(deliver(talo.clone(), transport)),
            stop,
        }
    }

    /// Stops delivering at once, and queueing after the event in hand, once its progress is
    /// saved.
    pub async fn shutdown(self) {
        self.delivering.abort();
        self.stop.notify_one();
        let _ = self.queueing.await;
    }

    /// Stops both tasks as a crash would: the progress is not saved.
    pub fn abort(self) {
        self.delivering.abort();
        self.queueing.abort();
    }
}

/// The notifier's progress file in the read models' directory: how far it has followed the log
/// and the [`Audience`] folded so far. Following the whole log again at every start cost 17 s of
/// CPU on 1.27 million events (an append refused for every notification ever queued among it);
/// the log is still the truth, so a progress file that is unreadable or not of this log is
/// ignored.
const PROGRESS: &str = "notifier";
const PROGRESS_VERSION: u32 = 1;

/// How far queueing got, and when that was last saved.
struct Progress {
    path: PathBuf,
    policy: SnapshotPolicy,
    checkpoint: Checkpoint,
    saved: Position,
    saved_at: Instant,
    save_took: Duration,
}

impl Progress {
    /// The saved progress if it is readable and of this log, else the start of the log.
    async fn resume(talo: &Talo) -> (Progress, Audience) {
        let path = talo.read_models_dir().join(snapshot::file_name(PROGRESS));
        let (checkpoint, audience) = load_checked(
            talo.store.as_ref(),
            path.clone(),
            PROGRESS,
            PROGRESS_VERSION,
        )
        .await;
        let progress = Progress {
            path,
            policy: talo.config.snapshots,
            saved: checkpoint.position,
            checkpoint,
            saved_at: Instant::now(),
            save_took: Duration::ZERO,
        };
        (progress, audience)
    }

    fn is_due(&self) -> bool {
        self.policy.is_due(
            self.saved,
            self.checkpoint.position,
            self.saved_at.elapsed(),
            self.save_took,
        )
    }

    /// Saves the progress off the async workers; the audience goes along and comes back, or
    /// `None` if the saving task panicked and took it along.
    async fn save(&mut self, audience: Audience) -> Option<Audience> {
        if self.checkpoint.position == self.saved {
            return Some(audience);
        }
        let started = Instant::now();
        let (path, checkpoint) = (self.path.clone(), self.checkpoint.clone());
        let saving = tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let saved = snapshot::save(&path, PROGRESS, PROGRESS_VERSION, &checkpoint, &audience);
            (audience, saved)
        });
        match saving.await {
            Ok((audience, Ok(()))) => {
                self.saved = self.checkpoint.position;
                self.saved_at = Instant::now();
                self.save_took = started.elapsed();
                Some(audience)
            }
            Ok((audience, Err(error))) => {
                // Not fatal: a restart follows the log again from the last saved progress.
                tracing::warn!(%error, "the notifier's progress was not saved");
                self.saved_at = Instant::now();
                Some(audience)
            }
            Err(error) => {
                tracing::error!(%error, "saving the notifier's progress panicked");
                None
            }
        }
    }
}

/// Why following the log ended.
enum Followed {
    /// Asked to stop, or the log's subscription ended.
    Stopped,
    /// The audience was lost: going on without it would tell nobody about their reports.
    AudienceLost,
}

async fn enqueue(talo: Arc<Talo>, stop: Arc<Notify>) {
    // A lost audience is found again where it was last saved (or by following from the start).
    while let Followed::AudienceLost = follow(&talo, &stop).await {}
}

async fn follow(talo: &Talo, stop: &Notify) -> Followed {
    let (mut progress, mut audience) = Progress::resume(talo).await;
    talo.metrics.notifier_resumed(progress.checkpoint.position);
    let mut events = talo.store.subscribe_all(progress.checkpoint.position);
    loop {
        let item = tokio::select! {
            biased;
            () = stop.notified() => break,
            item = events.next() => item,
        };
        let Some(Ok(event)) = item else { break };
        queue_notices(talo, &mut audience, &event).await;
        progress.checkpoint = Checkpoint::after(&event);
        talo.metrics.notifier_followed(event.position);
        if progress.is_due() {
            match progress.save(audience).await {
                Some(kept) => audience = kept,
                None => return Followed::AudienceLost,
            }
        }
    }
    progress.save(audience).await;
    Followed::Stopped
}

/// Queues what `event` is worth telling, then folds it into the audience.
async fn queue_notices(talo: &Talo, audience: &mut Audience, event: &RecordedEvent) {
    let Ok(decoded) = DomainEvent::from_json_text(
        &event.event_type,
        event.schema_version,
        event.payload.as_str(),
    ) else {
        return;
    };
    let notices = notices_for(&decoded, audience);
    audience.apply(&decoded);
    for notice in notices {
        let targets = talo
            .read_models
            .register
            .read()
            .organisation(event.metadata.organisation_id)
            .and_then(|r| r.persons.get(&notice.person_id))
            .map(addresses)
            .unwrap_or_default();
        for (channel, address) in targets {
            let id = Uuid::new_v5(
                &NOTIFICATION_IDS,
                format!("{}/{}/{:?}", event.event_id, notice.person_id, channel).as_bytes(),
            );
            let queued = NotificationQueued {
                notification_id: id,
                person_id: notice.person_id,
                channel,
                address,
                subject: notice.subject.clone(),
                body: notice.body.clone(),
                cause_event_id: event.event_id,
                cause_type: event.event_type.clone(),
            };
            // Already queued (the log is followed again after a restart from the last saved
            // progress, or after a crash): the stream exists and nothing is appended.
            let _ = talo
                .store
                .append(
                    &streams::notification(id),
                    ExpectedRevision::NoStream,
                    vec![system_event(
                        event,
                        id,
                        queued.into(),
                        event.metadata.occurred_at,
                    )],
                )
                .await;
        }
    }
}

async fn deliver(talo: Arc<Talo>, transport: Arc<dyn Transport>) {
    loop {
        tokio::time::sleep(DELIVERY_INTERVAL).await;
        let now = talo.now();
        let due: Vec<notifications::NotificationRecord> = talo
            .read_models
            .notifications
            .read()
            .due(now)
            .into_iter()
            .cloned()
            .collect();
        for n in due {
            let attempt = n.attempts + 1;
            let Some((delivered, expected)) = try_once(&talo, &transport, &n, attempt).await else {
                continue;
            };
            let outcome: Vec<DomainEvent> = match delivered {
                Ok(()) => vec![
                    NotificationSent {
                        notification_id: n.notification_id,
                        attempt,
                    }
                    .into(),
                    NotificationDelivered {
                        notification_id: n.notification_id,
                    }
                    .into(),
                ],
                Err(error) => {
                    tracing::warn!(notification = %n.notification_id, attempt, %error, "notification not delivered");
                    vec![
                        NotificationFailed {
                            notification_id: n.notification_id,
                            attempt,
                            error,
                            retry_at: retry_at(attempt, now),
                        }
                        .into(),
                    ]
                }
            };
            let events = outcome
                .iter()
                .map(|e| {
                    let metadata = EventMetadata::system(n.organisation_id, Uuid::now_v7(), now);
                    NewEvent::of(Uuid::now_v7(), e, metadata)
                })
                .collect();
            match talo
                .store
                .append(&streams::notification(n.notification_id), expected, events)
                .await
            {
                // Wait until the outbox shows it, so the next round does not send it again.
                Ok(result) => {
                    let _ = talo
                        .read_models
                        .wait_for(result.position, Duration::from_secs(5))
                        .await;
                }
                Err(e) => {
                    tracing::error!(notification = %n.notification_id, error = %e, "delivery outcome not recorded")
                }
            }
        }
    }
}

/// Sends `n` once: whether it went, and what the stream its outcome is appended to must be.
/// `None` if the store could not be read, and nothing was tried.
async fn try_once(
    talo: &Talo,
    transport: &Arc<dyn Transport>,
    n: &notifications::NotificationRecord,
    attempt: u32,
) -> Option<(Result<(), String>, ExpectedRevision)> {
    match notifications::message(talo.store.as_ref(), n.notification_id).await {
        Ok(message) => {
            let outgoing = Outgoing {
                notification_id: n.notification_id,
                person_id: n.person_id,
                channel: n.channel,
                attempt,
                message,
            };
            // Transports may block on the network (SMTP): keep them off the async workers.
            let sender = transport.clone();
            let sent = tokio::task::spawn_blocking(move || sender.deliver(&outgoing))
                .await
                .unwrap_or_else(|e| Err(format!("transport panicked: {e}")));
            Some((sent, ExpectedRevision::StreamExists))
        }
        // Not in the log as queued, or not readable: an attempt that fails, so it is given up
        // in time. Its stream may not even exist; the failure then starts it.
        Err(e @ (MessageError::NotQueued(_) | MessageError::Decode(_))) => {
            Some((Err(e.to_string()), ExpectedRevision::Any))
        }
        // The store could not be read: try in the next round.
        Err(e @ MessageError::Store(_)) => {
            tracing::warn!(notification = %n.notification_id, error = %e, "notification message not read");
            None
        }
    }
}

fn system_event(
    cause: &RecordedEvent,
    id: Uuid,
    event: DomainEvent,
    at: chrono::DateTime<chrono::Utc>,
) -> NewEvent {
    let metadata = EventMetadata {
        property_id: cause.metadata.property_id,
        causation_id: Some(cause.event_id),
        ..EventMetadata::system(
            cause.metadata.organisation_id,
            cause.metadata.correlation_id,
            at,
        )
    };
    NewEvent::of(
        Uuid::new_v5(&NOTIFICATION_IDS, format!("{id}/queued").as_bytes()),
        &event,
        metadata,
    )
}
