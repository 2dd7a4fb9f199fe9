//! How the store's words map onto KurrentDB's: stream names, expected revisions, the refusal
//! of a stale write, global positions, and which events of `$all` are Talo's.
//!
//! The client's own types appear only in the feature-gated adapter; here they are mirrored
//! one to one ([`StreamState`], [`ServerRevision`]), so every rule is tested without a
//! server and without building gRPC.

use talo_events_schema::envelope::Position;

use crate::{CurrentRevision, ExpectedRevision, StoreError, validate_stream_name};

/// The client's `StreamState`, the expectation sent with an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Any,
    StreamExists,
    NoStream,
    StreamRevision(u64),
}

/// The client's `CurrentRevision`: what the server says a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRevision {
    NoStream,
    Current(u64),
}

/// A Talo stream name as a KurrentDB stream name: the same text, once checked.
///
/// The names are kept as they are so an operator or auditor finds `fault-report-<id>` under
/// that name in the cluster's UI, and a migration keeps every stream where it was. The check
/// refuses a leading `$`, which KurrentDB reserves for its system streams. KurrentDB's
/// `$by_category` projection takes what comes before the first `-` as the category, so
/// `$ce-fault` holds every `fault-report-*` stream.
pub fn stream_name(stream: &str) -> Result<&str, StoreError> {
    validate_stream_name(stream)?;
    Ok(stream)
}

/// Whether an event of `$all` is one of Talo's: system streams (`$stats-...`, `$$...`
/// metadata, projections' output) and system event types (`$metadata`, `$>` links,
/// `$streamCreated`, ...) are the server's own and are skipped everywhere, as the
/// subscription's server-side filter does.
pub fn is_talo_event(stream: &str, event_type: &str) -> bool {
    !stream.starts_with('$') && !event_type.starts_with('$')
}

/// The regular expression of the server-side filter on event types used for `$all` reads and
/// subscriptions: anything that does not start with `$` (the client's
/// `exclude_system_events`).
pub const USER_EVENT_TYPES: &str = "^[^\\$].*";

/// What a Talo append expects, in the client's terms. This is the mapping the adapter would
/// use if it passed the caller's expectation through unchanged; it does not (see
/// [`append_state`]), but a retry with the same ids compares against it.
pub fn stream_state(expected: ExpectedRevision) -> StreamState {
    match expected {
        ExpectedRevision::Any => StreamState::Any,
        ExpectedRevision::NoStream => StreamState::NoStream,
        ExpectedRevision::StreamExists => StreamState::StreamExists,
        ExpectedRevision::Exact(revision) => StreamState::StreamRevision(revision),
    }
}

/// Whether a stream holding `current` meets `expected`: the store's rule, the same on every
/// backend.
pub fn expectation_met(expected: ExpectedRevision, current: CurrentRevision) -> bool {
    match (expected, current) {
        (ExpectedRevision::Any, _)
        | (ExpectedRevision::NoStream, CurrentRevision::NoStream)
        | (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
        (ExpectedRevision::Exact(expected), CurrentRevision::Current(actual)) => expected == actual,
        _ => false,
    }
}

/// The expectation the adapter actually sends: the exact revision it read the stream at.
///
/// Each event's metadata carries the hash of its stream's event before it, computed from the
/// stream's last event as read. Sending that exact revision makes the server refuse the
/// append if anything was appended in between, so the chain can never fork; for a caller who
/// said `Any` or `StreamExists`, the adapter then reads again and retries.
pub fn append_state(observed: CurrentRevision) -> StreamState {
    match observed {
        CurrentRevision::NoStream => StreamState::NoStream,
        CurrentRevision::Current(revision) => StreamState::StreamRevision(revision),
    }
}

/// The store's own refusal for a stale write, naming the caller's expectation (not the exact
/// revision the adapter sent) and what the stream holds.
pub fn wrong_expected_version(
    stream: &str,
    expected: ExpectedRevision,
    current: ServerRevision,
) -> StoreError {
    StoreError::WrongExpectedVersion {
        stream: stream.to_owned(),
        expected,
        current: current_revision(current),
    }
}

pub fn current_revision(current: ServerRevision) -> CurrentRevision {
    match current {
        ServerRevision::NoStream => CurrentRevision::NoStream,
        ServerRevision::Current(revision) => CurrentRevision::Current(revision),
    }
}

/// A position of the cluster's log, `(commit, prepare)`, as Talo's [`Position`]: the same two
/// numbers, ordered the same way (commit first, then prepare), so checkpoints compare as the
/// cluster orders its log.
pub fn position(commit: u64, prepare: u64) -> Position {
    Position { commit, prepare }
}

/// Where a forward read or subscription of `$all` starts for "strictly after `after`".
///
/// The server starts a subscription after the position it is given but a read *at* it, so
/// the adapter always drops events at or before `after` as well (see
/// [`super::resubscribe::Resumption`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllFrom {
    Start,
    Position(Position),
}

pub fn all_from(after: Position) -> AllFrom {
    if after == Position::START {
        AllFrom::Start
    } else {
        AllFrom::Position(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_pass_unchanged_and_system_names_are_refused() {
        assert_eq!(
            stream_name("fault-report-0190").expect("a Talo name"),
            "fault-report-0190"
        );
        for refused in ["$all", "$ce-fault", "$$fault-report-1", "", "a b"] {
            match stream_name(refused) {
                Err(StoreError::InvalidStreamName(message)) => {
                    assert!(message.contains("not starting with `$`"), "{message}")
                }
                other => panic!("{refused:?}: expected InvalidStreamName, got {other:?}"),
            }
        }
    }

    #[test]
    fn system_events_are_not_talos() {
        assert!(is_talo_event("fault-report-1", "FaultReported"));
        assert!(!is_talo_event("$stats-127.0.0.1:2113", "$statsCollected"));
        assert!(!is_talo_event("$$fault-report-1", "$metadata"));
        assert!(!is_talo_event("fault-report-1", "$>"));
        assert!(!is_talo_event("$ce-fault", "FaultReported"));
        assert_eq!(USER_EVENT_TYPES, "^[^\\$].*", "the client's own filter");
    }

    #[test]
    fn every_expected_revision_maps_one_to_one() {
        assert_eq!(stream_state(ExpectedRevision::Any), StreamState::Any);
        assert_eq!(
            stream_state(ExpectedRevision::NoStream),
            StreamState::NoStream
        );
        assert_eq!(
            stream_state(ExpectedRevision::StreamExists),
            StreamState::StreamExists
        );
        assert_eq!(
            stream_state(ExpectedRevision::Exact(7)),
            StreamState::StreamRevision(7)
        );
    }

    #[test]
    fn appends_are_sent_with_the_exact_revision_read() {
        assert_eq!(
            append_state(CurrentRevision::NoStream),
            StreamState::NoStream
        );
        assert_eq!(
            append_state(CurrentRevision::Current(41)),
            StreamState::StreamRevision(41)
        );
    }

    #[test]
    fn expectations_are_checked_as_on_every_backend() {
        use CurrentRevision::{Current, NoStream};
        use ExpectedRevision as E;
        let table = [
            (E::Any, NoStream, true),
            (E::Any, Current(3), true),
            (E::NoStream, NoStream, true),
            (E::NoStream, Current(0), false),
            (E::StreamExists, NoStream, false),
            (E::StreamExists, Current(0), true),
            (E::Exact(0), NoStream, false),
            (E::Exact(2), Current(2), true),
            (E::Exact(2), Current(3), false),
            (E::Exact(u64::MAX), Current(2), false),
        ];
        for (expected, current, met) in table {
            assert_eq!(
                expectation_met(expected, current),
                met,
                "{expected:?} on {current:?}"
            );
        }
    }

    #[test]
    fn the_servers_refusal_becomes_the_stores_naming_the_callers_expectation() {
        match wrong_expected_version(
            "ledger-1",
            ExpectedRevision::Exact(4),
            ServerRevision::Current(6),
        ) {
            StoreError::WrongExpectedVersion {
                stream,
                expected,
                current,
            } => {
                assert_eq!(stream, "ledger-1");
                assert_eq!(expected, ExpectedRevision::Exact(4));
                assert_eq!(current, CurrentRevision::Current(6));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            wrong_expected_version(
                "s",
                ExpectedRevision::StreamExists,
                ServerRevision::NoStream
            ),
            StoreError::WrongExpectedVersion {
                current: CurrentRevision::NoStream,
                ..
            }
        ));
    }

    #[test]
    fn positions_keep_both_numbers_and_the_clusters_order() {
        let first = position(1000, 990);
        let second_of_same_commit = position(1000, 1020);
        let next_commit = position(1100, 1100);
        assert!(first < second_of_same_commit);
        assert!(second_of_same_commit < next_commit);
        assert_eq!(first.to_string(), "1000/990");
        assert_eq!("1000/990".parse::<Position>(), Ok(first));
        assert_eq!(
            serde_json::to_value(first).expect("checkpoint JSON"),
            serde_json::json!({"commit": 1000, "prepare": 990}),
            "projection checkpoints store both numbers"
        );
    }

    #[test]
    fn reading_after_the_start_reads_from_the_start() {
        assert_eq!(all_from(Position::START), AllFrom::Start);
        assert_eq!(all_from(position(5, 5)), AllFrom::Position(position(5, 5)));
    }
}
