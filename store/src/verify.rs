//! What a walk over the hash chain found: how much of the log it verified and, if the log was
//! tampered with, the first place where it stopped holding together and why.

use std::fmt;

use chrono::NaiveDate;
use talo_events_schema::envelope::Position;

use crate::chain::{ChainHash, ChainLink};

/// The outcome of verifying the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Events whose hash and previous hash were recomputed and found right, from position 1.
    pub events_verified: u64,
    /// The last verified event's link; `None` when nothing was verified.
    pub head: Option<ChainLink>,
    /// Daily anchors found to agree with the chain.
    pub anchors_checked: u64,
    /// The first break, in log order; `None` when the log is intact.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The log skips from `expected - 1` to `found`: events were deleted.
    Gap { expected: u64, found: u64 },
    /// The event's recorded previous hash is not the hash of the event before it: the event
    /// before it was removed or replaced, or events were reordered.
    PreviousHashMismatch {
        position: u64,
        recorded: Option<ChainHash>,
        expected: ChainHash,
    },
    /// The event no longer hashes to its recorded hash: its content changed after it was stored.
    ContentChanged {
        position: u64,
        recorded: Option<ChainHash>,
        computed: ChainHash,
    },
    /// A column of the event cannot be read as the store writes it (wrong type or size).
    Unreadable { position: u64, detail: String },
    /// A local day ended at `position` (the next event is of a later day) but no anchor of
    /// that day is stored.
    AnchorMissing { date: NaiveDate, position: u64 },
    /// The stored anchor of `date` names another position or hash than the chain.
    AnchorMismatch {
        date: NaiveDate,
        /// Where the day ends in the chain, and the chain's hash there.
        position: u64,
        chained: ChainHash,
        anchored_position: u64,
        anchored: Option<ChainHash>,
    },
    /// An anchor is stored for a day that does not end at its position in the log, or past
    /// the log's end (events after it were removed).
    AnchorUnexpected {
        date: NaiveDate,
        position: u64,
        head: u64,
    },
    /// An anchor row cannot be read as the store writes it.
    AnchorUnreadable { day: String, detail: String },
    /// On a backend that chains each stream ([`crate::stream_chain`]): the stream skips from
    /// revision `expected - 1` to `found` (events removed, or the stream's start truncated).
    StreamGap {
        stream: String,
        position: Position,
        expected: u64,
        found: u64,
    },
    /// On a stream-chained backend: the event's previous hash is not the hash of its stream's
    /// event before it.
    StreamPreviousHashMismatch {
        stream: String,
        revision: u64,
        position: Position,
        recorded: ChainHash,
        expected: ChainHash,
    },
    /// On a stream-chained backend: the event no longer hashes to its recorded hash.
    StreamContentChanged {
        stream: String,
        revision: u64,
        position: Position,
        recorded: ChainHash,
        computed: ChainHash,
    },
}

impl ChainBreak {
    /// The log position the break is at (for an unreadable anchor, 0).
    pub fn position(&self) -> u64 {
        match self {
            ChainBreak::Gap { expected, .. } => *expected,
            ChainBreak::PreviousHashMismatch { position, .. }
            | ChainBreak::ContentChanged { position, .. }
            | ChainBreak::Unreadable { position, .. }
            | ChainBreak::AnchorMissing { position, .. }
            | ChainBreak::AnchorMismatch { position, .. }
            | ChainBreak::AnchorUnexpected { position, .. } => *position,
            ChainBreak::AnchorUnreadable { .. } => 0,
            ChainBreak::StreamGap { position, .. }
            | ChainBreak::StreamPreviousHashMismatch { position, .. }
            | ChainBreak::StreamContentChanged { position, .. } => position.commit,
        }
    }
}

struct Shown<'a>(&'a Option<ChainHash>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hash) => write!(f, "{hash}"),
            None => f.write_str("none"),
        }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Gap { expected, found } => write!(
                f,
                "position {expected}: gap in positions, the next event is at {found} (events deleted)"
            ),
            ChainBreak::PreviousHashMismatch {
                position,
                recorded,
                expected,
            } => write!(
                f,
                "position {position}: previous hash {} is not the hash {expected} of the event before it (an event deleted, replaced or reordered)",
                Shown(recorded)
            ),
            ChainBreak::ContentChanged {
                position,
                recorded,
                computed,
            } => write!(
                f,
                "position {position}: content changed, it hashes to {computed} but its recorded hash is {}",
                Shown(recorded)
            ),
            ChainBreak::Unreadable { position, detail } => {
                write!(f, "position {position}: unreadable ({detail})")
            }
            ChainBreak::AnchorMissing { date, position } => write!(
                f,
                "position {position}: the day {date} ends here but its anchor is missing"
            ),
            ChainBreak::AnchorMismatch {
                date,
                position,
                chained,
                anchored_position,
                anchored,
            } => write!(
                f,
                "position {position}: the anchor of {date} says position {anchored_position} hash {} but the chain has {chained} there",
                Shown(anchored)
            ),
            ChainBreak::AnchorUnexpected {
                date,
                position,
                head,
            } if position > head => write!(
                f,
                "position {position}: the anchor of {date} is past the end of the log at {head} (events removed)"
            ),
            ChainBreak::AnchorUnexpected { date, position, .. } => write!(
                f,
                "position {position}: the anchor of {date} is not where that day ends in the log"
            ),
            ChainBreak::AnchorUnreadable { day, detail } => {
                write!(f, "anchor `{day}`: unreadable ({detail})")
            }
            ChainBreak::StreamGap {
                stream,
                position,
                expected,
                found,
            } => write!(
                f,
                "position {position}: stream `{stream}` skips from revision {expected} to {found} (events removed)"
            ),
            ChainBreak::StreamPreviousHashMismatch {
                stream,
                revision,
                position,
                recorded,
                expected,
            } => write!(
                f,
                "position {position}: stream `{stream}` revision {revision}: previous hash {recorded} is not the hash {expected} of the stream's event before it (an event replaced)"
            ),
            ChainBreak::StreamContentChanged {
                stream,
                revision,
                position,
                recorded,
                computed,
            } => write!(
                f,
                "position {position}: stream `{stream}` revision {revision}: content changed, it hashes to {computed} but its recorded hash is {recorded}"
            ),
        }
    }
}
