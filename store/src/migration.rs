//! Copying a whole log from one store into another: an embedded store into a KurrentDB
//! cluster when an operator outgrows one machine (`talo migrate`).
//!
//! Every event is appended in the source's global order, to the stream it was in, with its
//! event id, type, schema version, metadata (business time, actor, channel, correlation,
//! organisation, idempotency key) and payload. Each stream's events are appended expecting
//! the revision before them, so the target numbers every stream exactly as the source does
//! and refuses if anyone else writes to it meanwhile. What the target assigns itself: global
//! positions and recording times (the migration's), and its own hash chain.
//!
//! A migration is resumable: the target's last event tells where it stopped. That event must
//! be the source's event at the same stream and revision; the copy goes on after the
//! source's position of it. So an interrupted run, or a second run after a finished one,
//! copies only what is missing, and a target holding anything else is refused rather than
//! mixed into.

use talo_events_schema::envelope::{NewEvent, Position, RecordedEvent};
use uuid::Uuid;

use crate::{
    CurrentRevision, Direction, EventStore, ExpectedRevision, LogFilter, StoreError, StreamFrom,
};

/// How far a migration got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationProgress {
    /// Events appended to the target by this run.
    pub copied: u64,
    /// The source position of the last event copied (or resumed after).
    pub source_position: Position,
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    /// The source position the run started after (`Position::START` for a fresh target).
    pub resumed_after: Position,
    /// Events appended by this run.
    pub copied: u64,
    /// The source position of the last event now in the target.
    pub source_position: Position,
}

/// How a run reads and when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationOptions {
    /// Source events read per page.
    pub page: usize,
    /// Stop after copying about this many events (a run in steps; tests).
    pub stop_after: Option<u64>,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        MigrationOptions {
            page: 1000,
            stop_after: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("reading the source: {0}")]
    Source(StoreError),
    #[error("writing the target: {0}")]
    Target(StoreError),
    #[error(
        "the target's last event {event_id} (stream `{stream}` revision {revision}) is not the source's event there; migrate into an empty store, or into the one this source was being migrated into"
    )]
    ForeignTarget {
        event_id: Uuid,
        stream: String,
        revision: u64,
    },
    #[error(
        "the target's stream `{stream}` is at {current:?} where the source's next event is revision {revision}: something else wrote to the target during the migration"
    )]
    TargetDiverged {
        stream: String,
        revision: u64,
        current: CurrentRevision,
    },
}

/// The source position after which events still have to be copied into `target`.
pub async fn resume_point(
    source: &dyn EventStore,
    target: &dyn EventStore,
) -> Result<Position, MigrationError> {
    let last = target
        .read_all_backwards(None, 1, &LogFilter::default())
        .await
        .map_err(MigrationError::Target)?;
    let Some(last) = last.first() else {
        return Ok(Position::START);
    };
    let there = source
        .read_stream(
            &last.stream,
            Direction::Forwards,
            StreamFrom::Revision(last.revision),
            1,
        )
        .await
        .map_err(MigrationError::Source)?;
    match there.first() {
        Some(event) if event.event_id == last.event_id && event.revision == last.revision => {
            Ok(event.position)
        }
        _ => Err(MigrationError::ForeignTarget {
            event_id: last.event_id,
            stream: last.stream.clone(),
            revision: last.revision,
        }),
    }
}

/// Copies what `target` is missing of `source`, in order, reporting progress after each
/// append.
pub async fn migrate(
    source: &dyn EventStore,
    target: &dyn EventStore,
    options: MigrationOptions,
    mut progress: impl FnMut(MigrationProgress),
) -> Result<MigrationReport, MigrationError> {
    let resumed_after = resume_point(source, target).await?;
    let mut after = resumed_after;
    let mut copied = 0;
    progress(MigrationProgress {
        copied,
        source_position: after,
    });
    loop {
        if options.stop_after.is_some_and(|limit| copied >= limit) {
            break;
        }
        let page = source
            .read_all(after, options.page.max(1), &LogFilter::default())
            .await
            .map_err(MigrationError::Source)?;
        if page.is_empty() {
            break;
        }
        for run in runs_by_stream(&page) {
            append_run(target, run).await?;
            copied += run.len() as u64;
            after = run[run.len() - 1].position;
            progress(MigrationProgress {
                copied,
                source_position: after,
            });
        }
    }
    Ok(MigrationReport {
        resumed_after,
        copied,
        source_position: after,
    })
}

/// Consecutive events of one stream, appended together.
fn runs_by_stream(events: &[RecordedEvent]) -> impl Iterator<Item = &[RecordedEvent]> {
    events.chunk_by(|a, b| a.stream == b.stream && b.revision == a.revision + 1)
}

async fn append_run(target: &dyn EventStore, run: &[RecordedEvent]) -> Result<(), MigrationError> {
    let first = &run[0];
    let expected = match first.revision {
        0 => ExpectedRevision::NoStream,
        n => ExpectedRevision::Exact(n - 1),
    };
    let events = run
        .iter()
        .map(|e| {
            // The payload is re-read from its stored text; written back compact with sorted
            // keys, it is the same text again.
            let payload = e.payload.to_value().map_err(|err| {
                MigrationError::Source(StoreError::Backend(format!(
                    "the payload of event {} (stream `{}` revision {}) is not JSON: {err}",
                    e.event_id, e.stream, e.revision
                )))
            })?;
            Ok(NewEvent {
                event_id: e.event_id,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                metadata: e.metadata.clone(),
                payload,
            })
        })
        .collect::<Result<Vec<_>, MigrationError>>()?;
    match target.append(&first.stream, expected, events).await {
        Ok(result) if result.next_expected_revision == run[run.len() - 1].revision => Ok(()),
        Ok(result) => Err(MigrationError::TargetDiverged {
            stream: first.stream.clone(),
            revision: first.revision,
            current: CurrentRevision::Current(result.next_expected_revision),
        }),
        Err(StoreError::WrongExpectedVersion { current, .. }) => {
            Err(MigrationError::TargetDiverged {
                stream: first.stream.clone(),
                revision: first.revision,
                current,
            })
        }
        Err(e) => Err(MigrationError::Target(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{sample_event, sample_occurred_at, unique_stream};
    use crate::{SqliteEventStore, SqliteOptions};

    struct Stores {
        _dir: tempfile::TempDir,
        source: SqliteEventStore,
        target: SqliteEventStore,
    }

    /// A source with interleaved streams, appends of several events, and business times out
    /// of recording order; an empty target.
    async fn stores() -> Stores {
        let dir = tempfile::tempdir().expect("temporary directory");
        let open = |name: &str| {
            SqliteEventStore::open(SqliteOptions::new(dir.path().join(name))).expect("store")
        };
        let (source, target) = (open("source.sqlite"), open("target.sqlite"));
        let streams = [unique_stream("a"), unique_stream("b"), unique_stream("c")];
        for i in 0..30_u64 {
            let events = (0..=(i % 3))
                .map(|n| {
                    let mut e = sample_event("migrated", i * 10 + n);
                    e.metadata.occurred_at =
                        sample_occurred_at() - chrono::Duration::days((i * 7 % 11) as i64);
                    e.metadata.idempotency_key = (i % 4 == 0).then(|| format!("key-{i}"));
                    e
                })
                .collect();
            source
                .append(&streams[(i % 3) as usize], ExpectedRevision::Any, events)
                .await
                .expect("source append");
        }
        Stores {
            _dir: dir,
            source,
            target,
        }
    }

    async fn everything(store: &SqliteEventStore) -> Vec<RecordedEvent> {
        store
            .read_all(Position::START, 100_000, &LogFilter::default())
            .await
            .expect("read")
    }

    /// What must survive a migration: all but position, recorded time and the chain.
    fn kept(e: &RecordedEvent) -> impl PartialEq + std::fmt::Debug + use<> {
        (
            e.event_id,
            e.stream.clone(),
            e.revision,
            e.event_type.clone(),
            e.schema_version,
            e.metadata.clone(),
            e.payload.clone(),
        )
    }

    #[tokio::test]
    async fn every_event_is_copied_in_order_with_its_id_stream_revision_and_business_time() {
        let s = stores().await;
        let mut seen = Vec::new();
        let report = migrate(
            &s.source,
            &s.target,
            MigrationOptions {
                page: 7,
                stop_after: None,
            },
            |p| seen.push(p),
        )
        .await
        .expect("migrates");
        let (source, target) = (everything(&s.source).await, everything(&s.target).await);
        assert_eq!(source.len(), 60);
        assert_eq!(
            target.iter().map(kept).collect::<Vec<_>>(),
            source.iter().map(kept).collect::<Vec<_>>()
        );
        assert_eq!(report.copied, 60);
        assert_eq!(report.resumed_after, Position::START);
        assert_eq!(report.source_position, source[59].position);
        assert_eq!(seen.last().map(|p| p.copied), Some(60));
        assert!(
            seen.windows(2)
                .all(|w| w[0].source_position <= w[1].source_position),
            "progress only moves forwards"
        );
    }

    #[tokio::test]
    async fn an_interrupted_migration_resumes_where_it_stopped() {
        let s = stores().await;
        let options = |stop_after| MigrationOptions {
            page: 5,
            stop_after,
        };
        let first = migrate(&s.source, &s.target, options(Some(12)), |_| {})
            .await
            .expect("first part");
        assert!(first.copied >= 12 && first.copied < 60, "{first:?}");
        let in_target = everything(&s.target).await.len() as u64;
        assert_eq!(in_target, first.copied);

        let second = migrate(&s.source, &s.target, options(None), |_| {})
            .await
            .expect("the rest");
        assert_eq!(second.resumed_after, first.source_position);
        assert_eq!(first.copied + second.copied, 60, "nothing copied twice");
        assert_eq!(
            everything(&s.target)
                .await
                .iter()
                .map(kept)
                .collect::<Vec<_>>(),
            everything(&s.source)
                .await
                .iter()
                .map(kept)
                .collect::<Vec<_>>()
        );

        let again = migrate(&s.source, &s.target, options(None), |_| {})
            .await
            .expect("a finished migration run again");
        assert_eq!(again.copied, 0);
    }

    #[tokio::test]
    async fn a_target_holding_other_events_is_refused() {
        let s = stores().await;
        s.target
            .append(
                "someone-else",
                ExpectedRevision::Any,
                vec![sample_event("foreign", 0)],
            )
            .await
            .expect("append");
        match migrate(&s.source, &s.target, MigrationOptions::default(), |_| {}).await {
            Err(MigrationError::ForeignTarget {
                stream, revision, ..
            }) => {
                assert_eq!((stream.as_str(), revision), ("someone-else", 0));
            }
            other => panic!("expected ForeignTarget, got {other:?}"),
        }
        assert_eq!(everything(&s.target).await.len(), 1, "nothing copied");
    }

    #[tokio::test]
    async fn a_stream_written_meanwhile_stops_the_migration() {
        let s = stores().await;
        let source = everything(&s.source).await;
        // The first event's stream already holds an event the source does not.
        s.target
            .append(
                &source[0].stream,
                ExpectedRevision::NoStream,
                vec![sample_event("meanwhile", 0)],
            )
            .await
            .expect("append");
        // Resuming needs the last event to be the source's: it is not.
        assert!(matches!(
            resume_point(&s.source, &s.target).await,
            Err(MigrationError::ForeignTarget { .. })
        ));
        let message = append_run(&s.target, &source[..1])
            .await
            .expect_err("the stream is not where the source's event goes")
            .to_string();
        assert!(message.contains(&source[0].stream), "{message}");
        assert!(
            message.contains("something else wrote to the target"),
            "{message}"
        );
    }
}
