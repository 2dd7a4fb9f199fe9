//! Keeping a catch-up subscription to `$all` going across dropped connections.
//!
//! The projections engine asks once for "every event after my checkpoint" and expects one
//! unbroken, ordered feed. A gRPC subscription ends when its connection does (a leader
//! election, a restarted node, a network blip), so the adapter subscribes again from the last
//! position it delivered. [`Resumption`] holds that rule: resume strictly after the last
//! delivered position, drop anything at or before it (the server may repeat the event it
//! resumes at), wait a little longer after each failed attempt, and give up only after
//! [`MAX_ATTEMPTS`] attempts in a row without an event, so a cluster that is gone for good
//! shows as a stopped read model rather than a silent one.

use std::time::Duration;

use talo_events_schema::envelope::Position;

use super::mapping::{AllFrom, all_from};

/// Attempts in a row, without an event delivered in between, before the feed fails.
pub const MAX_ATTEMPTS: u32 = 30;

/// The wait before the first new attempt; it doubles up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_millis(100);

pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// The connection or the node went away, or the leader changed: try again.
    Transient,
    /// The server refused (access denied, unknown request): trying again changes nothing.
    Permanent,
}

/// What to do after a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Resubscribe { from: AllFrom, after: Duration },
    Fail,
}

/// The state of one logical subscription across its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumption {
    last: Position,
    failed_attempts: u32,
}

impl Resumption {
    /// A feed of everything strictly after `after`.
    pub fn new(after: Position) -> Self {
        Resumption {
            last: after,
            failed_attempts: 0,
        }
    }

    /// Where the next (re)subscription starts.
    pub fn from(&self) -> AllFrom {
        all_from(self.last)
    }

    /// The last position delivered (or the starting one).
    pub fn last(&self) -> Position {
        self.last
    }

    /// Whether an event the server sent at `position` is delivered: only if it is past
    /// everything delivered so far. Delivering one resets the attempt count.
    pub fn accept(&mut self, position: Position) -> bool {
        if position <= self.last {
            return false;
        }
        self.last = position;
        self.failed_attempts = 0;
        true
    }

    /// The subscription ended for `cause`.
    pub fn dropped(&mut self, cause: DropCause) -> Next {
        if cause == DropCause::Permanent || self.failed_attempts >= MAX_ATTEMPTS {
            return Next::Fail;
        }
        let doublings = self.failed_attempts.min(16);
        self.failed_attempts += 1;
        let after = FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
        Next::Resubscribe {
            from: self.from(),
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> Position {
        Position {
            commit: n * 10,
            prepare: n * 10,
        }
    }

    /// A server that delivers the log after a position, including the position itself (as a
    /// read would), and drops the connection after `drop_after` events.
    fn serve(log: &[Position], from: AllFrom, drop_after: usize) -> Vec<Position> {
        log.iter()
            .copied()
            .filter(|q| match from {
                AllFrom::Start => true,
                AllFrom::Position(at) => *q >= at,
            })
            .take(drop_after)
            .collect()
    }

    #[test]
    fn a_feed_cut_three_times_delivers_every_event_once_in_order() {
        let log: Vec<Position> = (1..=20).map(p).collect();
        let mut resumption = Resumption::new(p(4));
        let mut delivered = Vec::new();
        let mut from = resumption.from();
        for drop_after in [3, 1, 7, usize::MAX] {
            for position in serve(&log, from, drop_after) {
                if resumption.accept(position) {
                    delivered.push(position);
                }
            }
            match resumption.dropped(DropCause::Transient) {
                Next::Resubscribe { from: next, .. } => from = next,
                Next::Fail => panic!("a transient drop is retried"),
            }
        }
        assert_eq!(delivered, (5..=20).map(p).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_subscription_from_the_start_reads_from_the_start() {
        let resumption = Resumption::new(Position::START);
        assert_eq!(resumption.from(), AllFrom::Start);
        let mut resumption = resumption;
        assert!(resumption.accept(p(1)));
        assert_eq!(resumption.from(), AllFrom::Position(p(1)));
    }

    #[test]
    fn repeated_and_older_events_are_dropped() {
        let mut resumption = Resumption::new(p(5));
        assert!(!resumption.accept(p(5)), "the checkpoint itself");
        assert!(!resumption.accept(p(3)));
        assert!(resumption.accept(p(6)));
        assert!(!resumption.accept(p(6)));
        assert!(
            resumption.accept(Position {
                commit: 60,
                prepare: 61
            }),
            "a later event of the same commit"
        );
        assert_eq!(
            resumption.last(),
            Position {
                commit: 60,
                prepare: 61
            }
        );
    }

    #[test]
    fn waits_grow_and_an_event_resets_them() {
        let mut resumption = Resumption::new(p(1));
        let delays: Vec<Duration> = (0..8)
            .map(|_| match resumption.dropped(DropCause::Transient) {
                Next::Resubscribe { after, .. } => after,
                Next::Fail => panic!("not yet"),
            })
            .collect();
        assert_eq!(delays[0], FIRST_DELAY);
        assert_eq!(delays[1], FIRST_DELAY * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().expect("a delay"), MAX_DELAY);
        assert!(resumption.accept(p(2)));
        assert_eq!(
            resumption.dropped(DropCause::Transient),
            Next::Resubscribe {
                from: AllFrom::Position(p(2)),
                after: FIRST_DELAY
            }
        );
    }

    #[test]
    fn a_cluster_gone_for_good_fails_the_feed() {
        let mut resumption = Resumption::new(p(1));
        for attempt in 0..MAX_ATTEMPTS {
            assert!(
                matches!(
                    resumption.dropped(DropCause::Transient),
                    Next::Resubscribe { .. }
                ),
                "attempt {attempt}"
            );
        }
        assert_eq!(resumption.dropped(DropCause::Transient), Next::Fail);
        let mut refused = Resumption::new(p(1));
        assert_eq!(refused.dropped(DropCause::Permanent), Next::Fail);
    }
}
