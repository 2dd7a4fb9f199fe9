//! What an append to KurrentDB does, decided from the stream's end as read just before it:
//! a retry of an earlier append, a conflict of event ids, a stale expectation, or a write at
//! an exact revision with its chain link.
//!
//! # Idempotency, the server's and Talo's
//!
//! The server recognises a repeated append by its event ids when it expects the same
//! revision as the first one: with `NoStream` or an exact revision it compares the ids with
//! the events just after that revision and answers with the first append's result; with
//! `Any` it only checks a cache of recent ids, and it never looks at other streams. The
//! store's contract is stronger (a retry succeeds whatever revision it expects), so the
//! adapter decides itself, from what it read:
//!
//! - the stream's last [`RETRY_WINDOW`] events (read anyway: the last one is the previous
//!   link of the chain), and
//! - for an `Exact(n)` or `NoStream` append, the events right after `n`, where the server
//!   would look.
//!
//! Within them the rule is the embedded store's: the first id found starts a run that every
//! following id must continue (the earlier result is that run's last event); any id found
//! otherwise, or the same id twice in one append, is a conflict. What KurrentDB cannot offer:
//! an id reused in *another* stream is not noticed (the cluster has no index by event id),
//! and a retry with a different expectation whose first try is more than [`RETRY_WINDOW`]
//! events back in its stream is appended again. Talo's writers retry at once with the same
//! expectation, and mint fresh ids per stream, so neither happens in Talo.

use talo_events_schema::envelope::Position;
use uuid::Uuid;

use super::mapping::{StreamState, append_state, expectation_met};
use crate::chain::ChainHash;
use crate::{AppendResult, CurrentRevision, ExpectedRevision, StoreError};

/// How many of a stream's last events an append reads to recognise a retry.
pub const RETRY_WINDOW: usize = 64;

/// An event of the stream as the retry check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvent {
    pub event_id: Uuid,
    pub revision: u64,
    pub position: Position,
    pub hash: ChainHash,
}

/// What the adapter read of the stream before appending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamEnd {
    /// The stream's last events, oldest first, ending with its last event (empty: no stream).
    pub last: Vec<StoredEvent>,
    /// For `Exact(n)` / `NoStream`: the events from revision `n + 1` (or 0), oldest first,
    /// when they are older than `last`.
    pub after_expected: Vec<StoredEvent>,
}

impl StreamEnd {
    /// What the stream holds, by its last event.
    pub fn current(&self) -> CurrentRevision {
        self.last.last().map_or(CurrentRevision::NoStream, |e| {
            CurrentRevision::Current(e.revision)
        })
    }

    /// The revision the events after `expected` start at, if the last events do not reach
    /// back to it; `None` when no extra read is needed.
    pub fn extra_read_from(expected: ExpectedRevision, last: &[StoredEvent]) -> Option<u64> {
        let first_after = match expected {
            ExpectedRevision::NoStream => 0,
            ExpectedRevision::Exact(n) => n.checked_add(1)?,
            ExpectedRevision::Any | ExpectedRevision::StreamExists => return None,
        };
        let oldest_read = last.first()?.revision;
        let newest_read = last.last()?.revision;
        (first_after < oldest_read && first_after <= newest_read).then_some(first_after)
    }
}

/// What to do with an append.
#[derive(Debug)]
pub enum AppendPlan {
    /// Refuse without writing.
    Refuse(StoreError),
    /// The same events were appended before: answer with that result, write nothing.
    AlreadyAppended(AppendResult),
    /// Send the events with this expectation; the first lands at `first_revision` after an
    /// event whose hash is `previous`.
    Write {
        state: StreamState,
        first_revision: u64,
        previous: ChainHash,
    },
}

/// Decides an append of events with `ids` to `stream`, expecting `expected`, from `end`.
pub fn plan(stream: &str, expected: ExpectedRevision, ids: &[Uuid], end: &StreamEnd) -> AppendPlan {
    if ids.is_empty() {
        return AppendPlan::Refuse(StoreError::EmptyAppend);
    }
    if let Some(twice) = ids
        .iter()
        .enumerate()
        .find_map(|(i, id)| ids[..i].contains(id).then_some(*id))
    {
        return AppendPlan::Refuse(StoreError::EventIdConflict { event_id: twice });
    }
    match check_retry(&[&end.after_expected, &end.last], ids) {
        RetryCheck::Retry(result) => return AppendPlan::AlreadyAppended(result),
        RetryCheck::Conflict(event_id) => {
            return AppendPlan::Refuse(StoreError::EventIdConflict { event_id });
        }
        RetryCheck::New => {}
    }
    let current = end.current();
    if !expectation_met(expected, current) {
        return AppendPlan::Refuse(StoreError::WrongExpectedVersion {
            stream: stream.to_owned(),
            expected,
            current,
        });
    }
    let (first_revision, previous) = match end.last.last() {
        Some(last) => (last.revision + 1, last.hash),
        None => (0, ChainHash::GENESIS),
    };
    AppendPlan::Write {
        state: append_state(current),
        first_revision,
        previous,
    }
}

enum RetryCheck {
    New,
    Retry(AppendResult),
    Conflict(Uuid),
}

/// The embedded store's retry rule over what was read: `runs` are contiguous pieces of the
/// stream, each oldest first.
fn check_retry(runs: &[&[StoredEvent]], ids: &[Uuid]) -> RetryCheck {
    let first = ids[0];
    for run in runs {
        let Some(start) = run.iter().position(|e| e.event_id == first) else {
            continue;
        };
        let mut last = run[start];
        for (offset, id) in ids.iter().enumerate().skip(1) {
            match run.get(start + offset) {
                Some(e) if e.event_id == *id && e.revision == last.revision + 1 => last = *e,
                _ => return RetryCheck::Conflict(*id),
            }
        }
        return RetryCheck::Retry(AppendResult {
            next_expected_revision: last.revision,
            position: last.position,
        });
    }
    let known = ids[1..].iter().find(|id| {
        runs.iter()
            .any(|run| run.iter().any(|e| e.event_id == **id))
    });
    match known {
        Some(id) => RetryCheck::Conflict(*id),
        None => RetryCheck::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u64) -> StoredEvent {
        StoredEvent {
            event_id: Uuid::from_u128(1000 + u128::from(n)),
            revision: n,
            position: Position {
                commit: 100 * (n + 1),
                prepare: 100 * (n + 1),
            },
            hash: ChainHash([(n % 250) as u8 + 1; 32]),
        }
    }

    fn id(n: u64) -> Uuid {
        stored(n).event_id
    }

    fn fresh(n: u128) -> Uuid {
        Uuid::from_u128(9000 + n)
    }

    /// A stream of `count` events, all within the window.
    fn end_of(count: u64) -> StreamEnd {
        StreamEnd {
            last: (0..count).map(stored).collect(),
            after_expected: Vec::new(),
        }
    }

    fn plan_on(end: &StreamEnd, expected: ExpectedRevision, ids: &[Uuid]) -> AppendPlan {
        plan("s", expected, ids, end)
    }

    #[test]
    fn a_new_stream_is_written_from_revision_zero_after_genesis() {
        match plan_on(
            &end_of(0),
            ExpectedRevision::NoStream,
            &[fresh(1), fresh(2)],
        ) {
            AppendPlan::Write {
                state,
                first_revision,
                previous,
            } => {
                assert_eq!(state, StreamState::NoStream);
                assert_eq!(first_revision, 0);
                assert_eq!(previous, ChainHash::GENESIS);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn any_is_sent_as_the_exact_revision_read_and_chains_on_the_last_event() {
        for expected in [
            ExpectedRevision::Any,
            ExpectedRevision::StreamExists,
            ExpectedRevision::Exact(2),
        ] {
            match plan_on(&end_of(3), expected, &[fresh(1)]) {
                AppendPlan::Write {
                    state,
                    first_revision,
                    previous,
                } => {
                    assert_eq!(state, StreamState::StreamRevision(2), "{expected:?}");
                    assert_eq!(first_revision, 3);
                    assert_eq!(previous, stored(2).hash);
                }
                other => panic!("{expected:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn stale_expectations_are_refused_with_where_the_stream_is() {
        let cases = [
            (
                end_of(1),
                ExpectedRevision::NoStream,
                CurrentRevision::Current(0),
            ),
            (
                end_of(3),
                ExpectedRevision::Exact(1),
                CurrentRevision::Current(2),
            ),
            (
                end_of(0),
                ExpectedRevision::Exact(0),
                CurrentRevision::NoStream,
            ),
            (
                end_of(0),
                ExpectedRevision::StreamExists,
                CurrentRevision::NoStream,
            ),
        ];
        for (end, expected, current) in cases {
            match plan_on(&end, expected, &[fresh(1)]) {
                AppendPlan::Refuse(StoreError::WrongExpectedVersion {
                    stream,
                    expected: e,
                    current: c,
                }) => {
                    assert_eq!(stream, "s");
                    assert_eq!((e, c), (expected, current));
                }
                other => panic!("{expected:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_retry_returns_the_first_result_whatever_it_expects() {
        let end = end_of(5);
        for expected in [
            ExpectedRevision::NoStream,
            ExpectedRevision::Any,
            ExpectedRevision::StreamExists,
            ExpectedRevision::Exact(2),
            ExpectedRevision::Exact(77),
        ] {
            match plan_on(&end, expected, &[id(1), id(2), id(3)]) {
                AppendPlan::AlreadyAppended(result) => assert_eq!(
                    result,
                    AppendResult {
                        next_expected_revision: 3,
                        position: stored(3).position,
                    },
                    "{expected:?}"
                ),
                other => panic!("{expected:?}: {other:?}"),
            }
        }
        match plan_on(&end, ExpectedRevision::Any, &[id(1)]) {
            AppendPlan::AlreadyAppended(result) => {
                assert_eq!(
                    result.next_expected_revision, 1,
                    "a prefix ends at its own last event"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_retry_found_where_the_server_would_look() {
        // The stream grew far past the window since; the retry expects what the first try did.
        let end = StreamEnd {
            last: (500..500 + RETRY_WINDOW as u64).map(stored).collect(),
            after_expected: (10..12).map(stored).collect(),
        };
        match plan_on(&end, ExpectedRevision::Exact(9), &[id(10), id(11)]) {
            AppendPlan::AlreadyAppended(result) => {
                assert_eq!(result.next_expected_revision, 11);
                assert_eq!(result.position, stored(11).position);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_extra_read_is_needed_only_when_the_window_does_not_reach_back() {
        let window: Vec<_> = (500..564).map(stored).collect();
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::Exact(9), &window),
            Some(10)
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::NoStream, &window),
            Some(0)
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::Exact(499), &window),
            None,
            "revision 500 is in the window"
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::Exact(563), &window),
            None,
            "nothing after the last event"
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::Any, &window),
            None
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::NoStream, &[]),
            None,
            "no stream, nothing to look for"
        );
        assert_eq!(
            StreamEnd::extra_read_from(ExpectedRevision::Exact(u64::MAX), &window),
            None
        );
    }

    #[test]
    fn ids_reused_in_any_other_shape_conflict() {
        let end = end_of(4);
        let cases: Vec<(&str, Vec<Uuid>, Uuid)> = vec![
            (
                "a known id followed by a new one",
                vec![id(0), fresh(1)],
                fresh(1),
            ),
            ("known ids in another order", vec![id(1), id(0)], id(0)),
            (
                "a new id followed by a known one",
                vec![fresh(1), id(0)],
                id(0),
            ),
            ("a known id then a gap", vec![id(0), id(2)], id(2)),
            (
                "past the end of the stream",
                vec![id(3), fresh(2)],
                fresh(2),
            ),
            ("the same id twice", vec![fresh(3), fresh(3)], fresh(3)),
        ];
        for (what, ids, named) in cases {
            match plan_on(&end, ExpectedRevision::Any, &ids) {
                AppendPlan::Refuse(StoreError::EventIdConflict { event_id }) => {
                    assert_eq!(event_id, named, "{what}")
                }
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_append_is_refused() {
        assert!(matches!(
            plan_on(&end_of(0), ExpectedRevision::Any, &[]),
            AppendPlan::Refuse(StoreError::EmptyAppend)
        ));
    }

    #[test]
    fn a_retry_with_a_new_expectation_beyond_the_window_is_new_to_the_adapter() {
        // Documented limit: the first try is 64+ events back and the retry expects Any.
        let end = StreamEnd {
            last: (100..100 + RETRY_WINDOW as u64).map(stored).collect(),
            after_expected: Vec::new(),
        };
        assert!(matches!(
            plan_on(&end, ExpectedRevision::Any, &[id(3)]),
            AppendPlan::Write { .. }
        ));
    }
}
