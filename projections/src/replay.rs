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
use crate::feed::FeedReceiver;
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
    #[error("reading the log: {0}")]
    Feed(String),
    #[error("the replay's task failed: {0}")]
    Task(String),
    #[error("the snapshot changed during the replay: it was at position {expected}, now {}", found.map_or_else(|| "gone".to_owned(), |p| p.to_string()))]
    SnapshotChanged {
        expected: Position,
        found: Option<Position>,
    },
}

/// Rebuilds `P` from zero up to the checkpoint of its snapshot in `dir` and compares, reading
/// the log for `P` alone. [`crate::ReadModels::replay`] replays them all from one read.
pub async fn compare<P: Projection + PartialEq>(
    store: &dyn EventStore,
    dir: &Path,
) -> Result<ReplayOutcome, ReplayError> {
    let target = Target::of::<P>(store, dir).await?;
    let rebuilt = match target.until() {
        Some(until) => build_from_zero::<P>(store, until).await?,
        None => P::default(),
    };
    judge(rebuilt, target, dir)
}

/// How far a read model's replay folds, found before any folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Its snapshot's checkpoint, found in this log: rebuild to it and compare.
    Snapshot(Position),
    /// There is no snapshot: rebuild to the head of the log as the replay began.
    Head(Position),
    /// The snapshot is not of this log: nothing to rebuild or compare.
    NotOfThisLog(Position),
}

impl Target {
    pub(crate) async fn of<P: Projection>(
        store: &dyn EventStore,
        dir: &Path,
    ) -> Result<Target, ReplayError> {
        let path = dir.join(snapshot::file_name(P::NAME));
        Ok(
            match snapshot::load_checkpoint(&path, P::NAME, P::VERSION)? {
                None => Target::Head(store.head().await?),
                Some(checkpoint) if matches_log(store, &checkpoint).await? => {
                    Target::Snapshot(checkpoint.position)
                }
                Some(checkpoint) => Target::NotOfThisLog(checkpoint.position),
            },
        )
    }

    /// The last position to fold, when there is anything to rebuild.
    pub(crate) fn until(self) -> Option<Position> {
        match self {
            Target::Snapshot(position) | Target::Head(position) => Some(position),
            Target::NotOfThisLog(_) => None,
        }
    }
}

/// Folds the events a feed (started at the beginning of the log) hands over, up to `until`.
pub(crate) async fn fold_feed<P: Projection>(
    feed: FeedReceiver,
    until: Position,
) -> Result<P, ReplayError> {
    crate::feed::fold_until(feed, until, |_| true)
        .await
        .map_err(|e| ReplayError::Feed(e.to_string()))
}

/// The outcome for a state rebuilt to `target`: the snapshot's state is read only now, so a
/// replay holds one live state at a time. Equal states are told apart by `PartialEq`; only a
/// difference is encoded as JSON, to name where it is.
pub(crate) fn judge<P: Projection + PartialEq>(
    rebuilt: P,
    target: Target,
    dir: &Path,
) -> Result<ReplayOutcome, ReplayError> {
    let position = match target {
        Target::Head(position) => return Ok(ReplayOutcome::NoSnapshot { position }),
        Target::NotOfThisLog(position) => {
            return Ok(ReplayOutcome::SnapshotNotOfThisLog { position });
        }
        Target::Snapshot(position) => position,
    };
    let path = dir.join(snapshot::file_name(P::NAME));
    let found = snapshot::load::<P>(&path, P::NAME, P::VERSION)?;
    let live = match found {
        Some((checkpoint, live)) if checkpoint.position == position => live,
        other => {
            return Err(ReplayError::SnapshotChanged {
                expected: position,
                found: other.map(|(c, _)| c.position),
            });
        }
    };
    if live == rebuilt {
        return Ok(ReplayOutcome::Equal { position });
    }
    let live = serde_json::to_value(&live)?;
    let rebuilt = serde_json::to_value(&rebuilt)?;
    Ok(ReplayOutcome::Differs {
        position,
        // Unequal states can encode alike (a map's order, say): then the JSON root is named.
        path: first_difference(&live, &rebuilt, "$").unwrap_or_else(|| "$".to_owned()),
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
    use crate::feed::tests::organisation_registered;
    use crate::feed::{self, FeedBatch, decode_page};
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use std::sync::Arc;
    use talo_events_schema::DomainEvent;
    use talo_events_schema::envelope::RecordedEvent;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Count(u64);

    impl Projection for Count {
        const NAME: &'static str = "count";
        const VERSION: u32 = 1;
        fn apply(&mut self, _: &RecordedEvent, _: &DomainEvent) {
            self.0 += 1;
        }
    }

    fn batch(positions: std::ops::RangeInclusive<u64>) -> Arc<FeedBatch> {
        Arc::new(decode_page(
            positions.map(|n| Ok(organisation_registered(n))).collect(),
        ))
    }

    #[tokio::test]
    async fn a_fold_stops_at_its_target() {
        let (sender, receiver) = feed::channel();
        sender.send(batch(1..=3)).await.unwrap();
        sender.send(batch(4..=6)).await.unwrap();
        let count = fold_feed::<Count>(receiver, Position::sequence(4))
            .await
            .unwrap();
        assert_eq!(count, Count(4));
    }

    #[tokio::test]
    async fn a_fold_fails_where_the_log_could_not_be_read_or_ended_early() {
        let (sender, receiver) = feed::channel();
        let mut broken = decode_page(vec![Ok(organisation_registered(1))]);
        broken.stopped = Some("event at position 2: not JSON".to_owned());
        sender.send(Arc::new(broken)).await.unwrap();
        let error = fold_feed::<Count>(receiver, Position::sequence(5))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("event at position 2"), "{error}");

        let (sender, receiver) = feed::channel();
        sender.send(batch(1..=2)).await.unwrap();
        drop(sender);
        let error = fold_feed::<Count>(receiver, Position::sequence(5))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("ended before position 5"),
            "{error}"
        );
    }

    #[test]
    fn a_snapshot_that_moved_during_the_replay_is_not_compared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(snapshot::file_name(Count::NAME));
        let checkpoint = snapshot::Checkpoint {
            position: Position::sequence(7),
            last_event: None,
        };
        snapshot::save(&path, Count::NAME, Count::VERSION, &checkpoint, &Count(7)).unwrap();
        let error = judge(
            Count(5),
            Target::Snapshot(Position::sequence(5)),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                ReplayError::SnapshotChanged { expected, found: Some(found) }
                    if expected == Position::sequence(5) && found == Position::sequence(7)
            ),
            "{error}"
        );
        std::fs::remove_file(&path).unwrap();
        let error = judge(
            Count(5),
            Target::Snapshot(Position::sequence(5)),
            dir.path(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("now gone"), "{error}");
    }

    #[test]
    fn equal_states_are_equal_and_unequal_ones_name_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(snapshot::file_name(Count::NAME));
        let at = Position::sequence(3);
        let checkpoint = snapshot::Checkpoint {
            position: at,
            last_event: None,
        };
        snapshot::save(&path, Count::NAME, Count::VERSION, &checkpoint, &Count(3)).unwrap();
        assert_eq!(
            judge(Count(3), Target::Snapshot(at), dir.path()).unwrap(),
            ReplayOutcome::Equal { position: at }
        );
        assert_eq!(
            judge(Count(2), Target::Snapshot(at), dir.path()).unwrap(),
            ReplayOutcome::Differs {
                position: at,
                path: "$".to_owned()
            }
        );
        assert_eq!(
            snapshot::load_checkpoint(&path, Count::NAME, Count::VERSION).unwrap(),
            Some(checkpoint)
        );
        assert_eq!(
            snapshot::load_checkpoint(&path, Count::NAME, Count::VERSION + 1).unwrap(),
            None
        );
    }

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
