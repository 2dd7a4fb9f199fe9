//! The embedded store's stream index: where each stream's events are in the log.
//!
//! It has two parts. The `stream_index` table holds the place (revision, position) of every
//! event at or below `stream_index_through`; [`StreamIndex`], in memory, holds the places of
//! the events after it, by stream. The writer adds each committed batch to the part in memory
//! and moves that part into the table in one transaction ([`StreamIndex::flush`]) once it
//! holds enough events, when nothing is waiting to be appended, and when the store closes.
//!
//! Why not an index on the log: a B-tree keyed by (stream, revision) keeps each stream's newest
//! entries on that stream's own last page, so a commit of one event to each of 256 streams
//! dirtied 256 index pages, each written to the WAL and again by the checkpoint: a page per
//! event. Moved in batches, a busy stream's entries reach its page tens at a time.
//!
//! Nothing depends on the part in memory surviving a crash: it is rebuilt at open from the
//! events after `stream_index_through`, and after any commit whose outcome was unclear. A flush
//! that finds the mark moved by someone else (an auditor's tool that opened the file and stored
//! what it had when it closed, or an earlier flush whose commit reported an error but happened)
//! rebuilds it first too.
//!
//! A flush holds appends back while it runs. Where a flush moves many places of one stream
//! it is quick; where every place is a new stream with a random name it costs a page of the
//! table per place, as the index on the log did, but all at once: 16,384 such places took up
//! to 0.36 s on a store of ten million events (`store/examples/stream_index_flush.rs`). Smaller
//! flushes, more often, made the 99th percentile of appends worse (see BENCHMARKS.md).
//!
//! A reader takes `through` and the stream's places after it together, under one lock
//! ([`StreamIndex::recent`]), and asks the table only for places at or below that `through`. A
//! flush in between only adds rows above it, which the reader already has; a flush before it
//! has already committed the rows the reader will ask for.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rusqlite::Connection;

use crate::StoreError;
use crate::sqlite::{DbContext, clamp_usize};

/// An event's place in its stream and in the log: (revision, position).
pub(crate) type Place = (i64, i64);

/// The places of the events appended since the last flush, shared by the writer (which alone
/// changes them) and the readers.
#[derive(Clone, Default)]
pub(crate) struct StreamIndex(Arc<RwLock<Unflushed>>);

#[derive(Default)]
struct Unflushed {
    /// Every event at or below this position is in the `stream_index` table.
    through: i64,
    /// Each stream's places after `through`, in revision order.
    streams: HashMap<String, Vec<Place>>,
    /// How many places `streams` holds: the writer asks after every commit.
    events: usize,
}

/// Places written by one batch, not yet committed: the writer's view of its own transaction.
#[derive(Default)]
pub(crate) struct PendingPlaces(HashMap<String, Vec<Place>>);

impl PendingPlaces {
    pub(crate) fn push(&mut self, stream: &str, place: Place) {
        match self.0.get_mut(stream) {
            Some(places) => places.push(place),
            None => {
                self.0.insert(stream.to_owned(), vec![place]);
            }
        }
    }

    fn last_revision(&self, stream: &str) -> Option<i64> {
        self.0.get(stream).and_then(|p| p.last()).map(|p| p.0)
    }
}

impl StreamIndex {
    /// Reads `through` and rebuilds the places of the events after it.
    pub(crate) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let index = StreamIndex::default();
        index.reload(conn)?;
        Ok(index)
    }

    /// Rebuilds the part in memory from the database: at open, and after a commit whose
    /// outcome the writer could not tell.
    pub(crate) fn reload(&self, conn: &Connection) -> Result<(), StoreError> {
        let through = stored_through(conn)?;
        let mut unflushed = Unflushed {
            through,
            ..Unflushed::default()
        };
        let mut stmt = conn
            .prepare("SELECT stream, revision, position FROM events WHERE position > ?1 ORDER BY position")
            .ctx("prepare the read of the unindexed events")?;
        let mut rows = stmt.query([through]).ctx("read the unindexed events")?;
        while let Some(row) = rows.next().ctx("read the unindexed events")? {
            let stream: String = row.get(0).ctx("read an unindexed event's stream")?;
            let place = (
                row.get(1).ctx("read an unindexed event's revision")?,
                row.get(2).ctx("read an unindexed event's position")?,
            );
            unflushed.add(stream, place);
        }
        *self.write() = unflushed;
        Ok(())
    }

    /// How far the table is complete, and `stream`'s places after that, in revision order.
    pub(crate) fn recent(&self, stream: &str) -> (i64, Vec<Place>) {
        let unflushed = self.read();
        let places = unflushed.streams.get(stream).cloned().unwrap_or_default();
        (unflushed.through, places)
    }

    /// How far the table is complete.
    pub(crate) fn through(&self) -> i64 {
        self.read().through
    }

    /// Events held in memory, waiting for a flush.
    pub(crate) fn unflushed(&self) -> usize {
        self.read().events
    }

    /// The last revision of `stream` as the writer's transaction sees it: its own batch first,
    /// then the part in memory, then the table.
    pub(crate) fn current_revision(
        &self,
        conn: &Connection,
        pending: &PendingPlaces,
        stream: &str,
    ) -> Result<Option<i64>, StoreError> {
        if let Some(revision) = pending.last_revision(stream) {
            return Ok(Some(revision));
        }
        let recent = self
            .read()
            .streams
            .get(stream)
            .and_then(|p| p.last())
            .map(|p| p.0);
        if recent.is_some() {
            return Ok(recent);
        }
        conn.prepare_cached("SELECT max(revision) FROM stream_index WHERE stream = ?1")
            .ctx("prepare the stream revision lookup")?
            .query_row([stream], |r| r.get(0))
            .ctx("read the stream revision")
    }

    /// Adds a committed batch's places.
    pub(crate) fn add(&self, committed: PendingPlaces) {
        let mut unflushed = self.write();
        for (stream, places) in committed.0 {
            unflushed.events += places.len();
            unflushed.streams.entry(stream).or_default().extend(places);
        }
    }

    /// Moves the places of the oldest events in memory, at most `most` and none after `head`
    /// (the last committed position), into the table in one transaction, and marks the table
    /// complete up to the last of them. Returns how many it moved. On an error nothing is moved
    /// and the places stay in memory for the next try.
    ///
    /// Bounded, because appends wait while it runs: on a large store, places of new streams
    /// land on pages all over the table, each to be read and written.
    pub(crate) fn flush(
        &self,
        conn: &mut Connection,
        head: i64,
        most: usize,
    ) -> Result<usize, StoreError> {
        let tx = conn.transaction().ctx("begin a stream index flush")?;
        // Someone else moved places since memory was built: another store opened on the file
        // (the auditor's tools open one, and store what they loaded when they close), or a
        // flush whose commit reported an error but happened. Start again from the table.
        let recorded = stored_through(&tx)?;
        if recorded != self.through() {
            tracing::info!(
                recorded,
                "the stream index was stored elsewhere; rebuilding"
            );
            self.reload(&tx)?;
        }
        let (up_to, moved) = {
            let unflushed = self.read();
            // Positions are gapless and every one after `through` has its place here, so the
            // oldest `most` places are exactly those up to `through + most`.
            let up_to = head.min(unflushed.through.saturating_add(clamp_usize(most)));
            let mut streams: Vec<(&String, &[Place])> = unflushed
                .streams
                .iter()
                .map(|(stream, places)| {
                    let older = places.partition_point(|p| p.1 <= up_to);
                    (stream, &places[..older])
                })
                .filter(|(_, places)| !places.is_empty())
                .collect();
            // In key order, so each page of the table is visited once.
            streams.sort_unstable_by_key(|(stream, _)| stream.as_str());
            let mut insert = tx
                .prepare_cached(
                    // A place may be stored already by whoever moved the mark (see above).
                    "INSERT OR IGNORE INTO stream_index (stream, revision, position) \
                     VALUES (?1, ?2, ?3)",
                )
                .ctx("prepare the stream index insert")?;
            let mut moved = 0;
            for (stream, places) in streams {
                for (revision, position) in places {
                    insert
                        .execute(rusqlite::params![stream, revision, position])
                        .ctx("move a place into the stream index")?;
                }
                moved += places.len();
            }
            (up_to, moved)
        };
        tx.execute("UPDATE stream_index_through SET position = ?1", [up_to])
            .ctx("record how far the stream index is stored")?;
        tx.commit().ctx("commit a stream index flush")?;
        let mut unflushed = self.write();
        unflushed.streams.retain(|_, places| {
            let older = places.partition_point(|p| p.1 <= up_to);
            places.drain(..older);
            !places.is_empty()
        });
        unflushed.events -= moved;
        unflushed.through = up_to;
        Ok(moved)
    }

    fn read(&self) -> RwLockReadGuard<'_, Unflushed> {
        // Every change below is whole before the guard drops: a panic cannot leave it halfway.
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Unflushed> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The mark in the table: every event at or below it has its place there.
fn stored_through(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("SELECT position FROM stream_index_through", [], |r| {
        r.get(0)
    })
    .ctx("read how far the stream index is stored")
}

impl Unflushed {
    fn add(&mut self, stream: String, place: Place) {
        self.streams.entry(stream).or_default().push(place);
        self.events += 1;
    }
}
