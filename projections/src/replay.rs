//! Replaying history to check a read model: rebuild it from zero up to the checkpoint of its
//! persisted snapshot and compare the two states.
//!
//! A projection's `apply` must be deterministic; if it is, the live state (folded in batches,
//! across restarts, from snapshots) equals a fresh fold of the same events. A difference means
//! the live read model cannot be trusted (an `apply` that reads a clock, iterates a hash map
//! into a list, or depends on batch boundaries), and the auditor is told which one and where.

use std::fmt;
use std::path::Path;

use serde_json::Value;
use talo_events_schema::envelope::Position;
use talo_store::{EventStore, StoreError};

use crate::engine::{Projection, RebuildError, build_from_zero, matches_log};
use crate::snapshot::{self, SnapshotError};

/// What comparing one read model found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The rebuild equals the snapshot at its checkpoint.
    Equal { position: Position },
    /// The rebuild differs from the snapshot at its checkpoint; `path` is the first place
    /// (JSON path into the state) where they differ.
    Differs { position: Position, path: String },
    /// There is no snapshot; the read model was rebuilt up to `position` without error, but
    /// there is nothing to compare it with.
    NoSnapshot { position: Position },
    /// The snapshot names an event that is not at its checkpoint in this log (a snapshot of
    /// another or an older store); the read model would rebuild from zero at start.
    SnapshotNotOfThisLog { position: Position },
}

impl ReplayOutcome {
    /// Whether this outcome means the live read model is not what its events say.
    pub fn is_difference(&self) -> bool {
        matches!(self, ReplayOutcome::Differs { .. })
    }
}

impl fmt::Display for ReplayOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayOutcome::Equal { position } => {
                write!(f, "equal to its snapshot at position {position}")
            }
            ReplayOutcome::Differs { position, path } => write!(
                f,
                "DIFFERS from its snapshot at position {position}, first at {path}"
            ),
            ReplayOutcome::NoSnapshot { position } => write!(
                f,
                "rebuilt up to position {position}, no snapshot to compare"
            ),
            ReplayOutcome::SnapshotNotOfThisLog { position } => write!(
                f,
                "its snapshot at position {position} is not of this log, nothing to compare"
            ),
        }
    }
}

/// A read model could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rebuilding from zero: {0}")]
    Rebuild(#[from] RebuildError),
    #[error("encoding the state for comparison: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Rebuilds `P` from zero up to the checkpoint of its snapshot in `dir` and compares.
pub async fn compare<P: Projection>(
    store: &dyn EventStore,
    dir: &Path,
) -> Result<ReplayOutcome, ReplayError> {
    let path = dir.join(snapshot::file_name(P::NAME));
    let Some((checkpoint, live)) = snapshot::load::<P>(&path, P::NAME, P::VERSION)? else {
        let position = store.head().await?;
        build_from_zero::<P>(store, position).await?;
        return Ok(ReplayOutcome::NoSnapshot { position });
    };
    let position = checkpoint.position;
    if !matches_log(store, &checkpoint).await? {
        return Ok(ReplayOutcome::SnapshotNotOfThisLog { position });
    }
    let rebuilt = build_from_zero::<P>(store, position).await?;
    let live = serde_json::to_value(&live)?;
    let rebuilt = serde_json::to_value(&rebuilt)?;
    Ok(match first_difference(&live, &rebuilt, "$") {
        None => ReplayOutcome::Equal { position },
        Some(path) => ReplayOutcome::Differs { position, path },
    })
}

/// The JSON path of the first place where `a` and `b` differ, in document order.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            // Maps are sorted by key, so both sides are walked in the same order.
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                let inner = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(x, y, &inner),
                    _ => Some(inner),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]")))
            .or_else(|| (a.len() != b.len()).then(|| format!("{path} (length)"))),
        _ => (a != b).then(|| path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = json!({"a": 1, "b": {"c": [1, 2, 3]}, "d": "x"});
        assert_eq!(first_difference(&a, &a.clone(), "$"), None);
        let b = json!({"a": 1, "b": {"c": [1, 5, 3]}, "d": "y"});
        assert_eq!(first_difference(&a, &b, "$").as_deref(), Some("$.b.c[1]"));
        let shorter = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x"});
        assert_eq!(
            first_difference(&a, &shorter, "$").as_deref(),
            Some("$.b.c (length)")
        );
        let missing = json!({"a": 1, "d": "x"});
        assert_eq!(first_difference(&a, &missing, "$").as_deref(), Some("$.b"));
    }
}
