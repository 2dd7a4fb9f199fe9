//! All of Talo's read models, started together, waited on together and stopped together.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use talo_events_schema::envelope::Position;
use talo_store::EventStore;

use crate::engine::{Lagging, ProjectionStatus, Running, SnapshotPolicy};
use crate::fault_reports::FaultReportsView;
use crate::idempotency::IdempotencyView;
use crate::register::RegisterView;
use crate::snapshot::SnapshotError;

#[derive(Debug, Clone)]
pub struct ReadModelsOptions {
    /// Where snapshots are kept.
    pub dir: PathBuf,
    pub snapshots: SnapshotPolicy,
}

pub struct ReadModels {
    pub register: Running<RegisterView>,
    pub fault_reports: Running<FaultReportsView>,
    pub idempotency: Running<IdempotencyView>,
}

impl ReadModels {
    pub async fn start(
        store: Arc<dyn EventStore>,
        options: &ReadModelsOptions,
    ) -> Result<Self, SnapshotError> {
        std::fs::create_dir_all(&options.dir).map_err(|source| SnapshotError::Io {
            path: options.dir.clone(),
            source,
        })?;
        Ok(ReadModels {
            register: Running::start(store.clone(), options.dir.clone(), options.snapshots).await,
            fault_reports: Running::start(store.clone(), options.dir.clone(), options.snapshots)
                .await,
            idempotency: Running::start(store, options.dir.clone(), options.snapshots).await,
        })
    }

    /// Waits until every read model has folded the log up to `position`: what a mutation
    /// waits for before it answers, so the portal never shows the state before the write.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> Result<(), Lagging> {
        let deadline = tokio::time::Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
        self.register.wait_for(position, left()).await?;
        self.fault_reports.wait_for(position, left()).await?;
        self.idempotency.wait_for(position, left()).await
    }

    pub fn statuses(&self) -> Vec<ProjectionStatus> {
        vec![
            self.register.status(),
            self.fault_reports.status(),
            self.idempotency.status(),
        ]
    }

    /// Stops every projection and writes its final snapshot.
    pub async fn shutdown(&self) {
        self.register.shutdown().await;
        self.fault_reports.shutdown().await;
        self.idempotency.shutdown().await;
    }

    /// Stops every projection without final snapshots, as a crash would.
    pub fn abort(&self) {
        self.register.abort();
        self.fault_reports.abort();
        self.idempotency.abort();
    }
}
