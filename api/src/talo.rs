//! A running Talo: the event store, the read models folding it, the command dispatcher, the
//! token keys, metrics and the clock. `Talo::open` brings it up on a data directory and waits
//! until the read models have caught up with the log, so it never serves stale state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use talo_domain::access::Principal;
use talo_domain::calendar::local_date;
use talo_domain::document::UploadLimits;
use talo_domain::reference::Iban;
use talo_domain::register::Register;
use talo_projections::engine::SnapshotPolicy;
use talo_projections::{ReadModels, ReadModelsOptions};
use talo_store::{EventStore, SqliteEventStore, SqliteOptions};

use crate::auth::{Caller, TokenKeys};
use crate::blobs::BlobStore;
use crate::clock::{Clock, SystemClock};
use crate::dispatch::Dispatcher;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::serving_lock::{ServingLock, ServingLockError};

/// How to run Talo.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// HS256 secret; without one, a development secret is kept in the data directory.
    pub jwt_secret: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// How long a mutation waits for the read models to show its change.
    pub read_your_writes_timeout: Duration,
    pub snapshots: SnapshotPolicy,
    pub limits: Limits,
    /// Whether the notification outbox runs (queueing and delivering).
    pub notifications: bool,
    /// Where notifications go; without one they are written under `DATA/outbox/`.
    pub notification_transport: Option<Arc<dyn crate::notifier::Transport>>,
    /// The account invoices ask to be paid to; bank statements of other accounts are refused.
    pub bank_account: Iban,
}

/// Limits against abusive or accidental heavy requests.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: usize,
    /// Largest document file accepted by the upload endpoints.
    pub max_document_bytes: usize,
    /// Media types the document archive accepts.
    pub allowed_document_types: Vec<String>,
    /// Largest bank statement (camt.054) accepted for import.
    pub max_statement_bytes: usize,
}

/// PDF, the common image formats, plain text and the Office formats (old and OOXML).
pub const DEFAULT_DOCUMENT_TYPES: [&str; 11] = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_depth: 12,
            max_complexity: 2_000,
            max_page_size: 100,
            max_document_bytes: 20 * 1024 * 1024,
            allowed_document_types: DEFAULT_DOCUMENT_TYPES.map(String::from).to_vec(),
            max_statement_bytes: 5 * 1024 * 1024,
        }
    }
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            jwt_secret: None,
            clock: Arc::new(SystemClock),
            read_your_writes_timeout: Duration::from_secs(5),
            snapshots: SnapshotPolicy::default(),
            limits: Limits::default(),
            notifications: true,
            notification_transport: None,
            bank_account: crate::demo::demo_bank_account(),
        }
    }
}

/// Talo could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory `{path}`: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] talo_store::StoreError),
    #[error(transparent)]
    Snapshot(#[from] talo_projections::snapshot::SnapshotError),
    #[error("read models did not catch up with the log: {0}")]
    CatchUp(String),
    #[error(transparent)]
    InUse(#[from] ServingLockError),
}

pub struct Talo {
    pub config: Config,
    pub store: Arc<dyn EventStore>,
    pub read_models: Arc<ReadModels>,
    pub dispatcher: Dispatcher,
    pub keys: TokenKeys,
    pub metrics: Metrics,
    /// Document content, by hash.
    pub blobs: BlobStore,
    /// The notification outbox, stopped before the store closes.
    notifier: std::sync::Mutex<Option<crate::notifier::Notifier>>,
    /// This Talo's hold on its data directory, released once the store is closed.
    serving: ServingLock,
}

fn read_models_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("read-models")
}

/// Creates the data directory if need be and takes its serving lock.
fn take_data_dir(data_dir: &std::path::Path) -> Result<ServingLock, StartError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    Ok(ServingLock::take(data_dir)?)
}

impl Talo {
    /// Opens Talo on the embedded SQLite store in the data directory. Refused while another
    /// Talo serves the directory (`serving_lock.rs`), before the store is touched.
    pub async fn open(config: Config) -> Result<Arc<Talo>, StartError> {
        let serving = take_data_dir(&config.data_dir)?;
        let sqlite =
            SqliteEventStore::open(SqliteOptions::new(config.data_dir.join("events.sqlite")))?;
        Self::open_serving(config, Arc::new(sqlite), serving).await
    }

    /// Opens Talo on a given store; the data directory keeps the read-model snapshots and the
    /// development secret, and is refused while another Talo serves it.
    pub async fn open_with_store(
        config: Config,
        store: Arc<dyn EventStore>,
    ) -> Result<Arc<Talo>, StartError> {
        let serving = take_data_dir(&config.data_dir)?;
        Self::open_serving(config, store, serving).await
    }

    async fn open_serving(
        config: Config,
        store: Arc<dyn EventStore>,
        serving: ServingLock,
    ) -> Result<Arc<Talo>, StartError> {
        let data_dir = config.data_dir.clone();
        let keys = TokenKeys::load(config.jwt_secret.as_deref(), &data_dir).map_err(|source| {
            StartError::DataDir {
                path: data_dir.clone(),
                source,
            }
        })?;
        let read_models = Arc::new(
            ReadModels::start(
                store.clone(),
                &ReadModelsOptions {
                    dir: read_models_dir(&data_dir),
                    snapshots: config.snapshots,
                },
            )
            .await?,
        );
        let head = store.head().await?;
        // Catching up is bounded by the log's size, not by a timeout: a large log just takes
        // longer to start, and `/readyz` is not served before.
        read_models
            .wait_for(head, Duration::from_secs(24 * 3600))
            .await
            .map_err(|lag| StartError::CatchUp(lag.to_string()))?;
        let metrics = Metrics::default();
        let dispatcher = Dispatcher::new(
            store.clone(),
            read_models.clone(),
            metrics.clone(),
            config.read_your_writes_timeout,
        );
        let blobs = BlobStore::new(&data_dir);
        let transport = config.notification_transport.clone().unwrap_or_else(|| {
            Arc::new(crate::notifier::FileTransport {
                dir: data_dir.join("outbox"),
            })
        });
        let talo = Arc::new(Talo {
            blobs,
            config,
            store,
            read_models,
            dispatcher,
            keys,
            metrics,
            notifier: std::sync::Mutex::new(None),
            serving,
        });
        if talo.config.notifications {
            let notifier = crate::notifier::Notifier::start(&talo, transport);
            *talo.notifier.lock().unwrap_or_else(|p| p.into_inner()) = Some(notifier);
        }
        Ok(talo)
    }

    /// The upload limits, as the domain checks them.
    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            max_bytes: self.config.limits.max_document_bytes as u64,
            allowed_types: self.config.limits.allowed_document_types.clone(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// The caller as the register knows them today.
    pub fn principal(&self, caller: Caller, now: DateTime<Utc>) -> Result<Principal, ApiError> {
        self.with_register(caller, |register| {
            register
                .principal(caller.person_id, local_date(now))
                .ok_or_else(|| {
                    ApiError::Forbidden("you are not in your organisation's register".into())
                })
        })
    }

    /// Runs `f` on the caller's organisation register under the read model's lock.
    pub fn with_register<T>(
        &self,
        caller: Caller,
        f: impl FnOnce(&Register) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let view = self.read_models.register.read();
        let register = view.organisation(caller.organisation_id).ok_or_else(|| {
            ApiError::Forbidden("your organisation is not registered in Talo".into())
        })?;
        f(register)
    }

    /// True once every read model runs without failure.
    pub fn is_ready(&self) -> bool {
        self.read_models
            .statuses()
            .iter()
            .all(|s| s.failure.is_none())
    }

    /// Stops the notifier (saving its progress) and the read models (writing their snapshots),
    /// and closes the store.
    pub async fn shutdown(&self) {
        if let Some(notifier) = self.take_notifier() {
            notifier.shutdown().await;
        }
        self.read_models.shutdown().await;
        self.store.close().await;
        self.serving.release();
    }

    fn take_notifier(&self) -> Option<crate::notifier::Notifier> {
        self.notifier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Where the read models' snapshots (and the notifier's progress) are kept.
    pub fn read_models_dir(&self) -> std::path::PathBuf {
        read_models_dir(&self.config.data_dir)
    }

    /// Stops as a crash would: no final snapshots. For tests of crash recovery.
    pub async fn crash(&self) {
        if let Some(notifier) = self.take_notifier() {
            notifier.abort();
        }
        self.read_models.abort();
        self.store.close().await;
        self.serving.release();
    }
}
