//! The hash chain on the SQLite file: the chain's tip the writer continues from, the backfill
//! that chains a store written before the chain existed, and the walk that verifies every
//! event and every daily anchor.
//!
//! All three read rows the same way ([`StoredRow`]) and find day ends with the same rule
//! ([`DayBoundaries`]), so what the writer and the backfill record is exactly what the verifier
//! expects.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction};
use talo_events_schema::envelope::Position;
use uuid::Uuid;

use crate::StoreError;
use crate::chain::{ChainHash, ChainLink, ChainedEvent, DailyAnchor, DayBoundaries, local_day};
use crate::sqlite::DbContext;
use crate::verify::{ChainBreak, ChainReport};

/// How many rows the backfill and the verifier read per query.
const CHUNK: i64 = 1000;

/// Every hashed column, then the chain columns, in the order [`StoredRow::read`] expects.
macro_rules! select_chained {
    ($where:literal) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, \
             occurred_at, recorded_at, actor_id, actor_role, channel, correlation_id, \
             causation_id, organisation_id, property_id, idempotency_key, payload, \
             previous_hash, hash FROM events ",
            $where
        )
    };
}

const SELECT_CHAINED: &str = select_chained!("WHERE position > ?1 ORDER BY position LIMIT ?2");
const SELECT_CHAINED_RANGE: &str =
    select_chained!("WHERE position > ?1 AND position <= ?2 ORDER BY position");

pub(crate) const INSERT_ANCHOR: &str =
    "INSERT INTO anchors (day, position, hash) VALUES (?1, ?2, ?3)";

/// Where the chain ends: what the writer continues from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainTip {
    pub position: i64,
    pub hash: ChainHash,
    /// The latest `recorded_at` in the log (microseconds); the writer never records earlier,
    /// so local days only move forwards along the log.
    pub latest_recorded_at: i64,
    pub days: DayBoundaries,
}

impl ChainTip {
    /// The tip of an empty log.
    pub fn empty() -> ChainTip {
        ChainTip {
            position: 0,
            hash: ChainHash::GENESIS,
            latest_recorded_at: i64::MIN,
            days: DayBoundaries::default(),
        }
    }

    /// Reads the tip of a fully chained log.
    pub fn load(conn: &Connection) -> Result<ChainTip, StoreError> {
        // The writer never records an event earlier than the one before it, so the last
        // event's recording time is the latest (`max(recorded_at)` scanned the whole table: a
        // few seconds of every start on a ten-million-event store).
        let last: Option<(i64, Option<Vec<u8>>, i64)> = conn
            .query_row(
                "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .ctx("read the chain head")?;
        let Some((position, hash, latest_recorded_at)) = last else {
            return Ok(ChainTip::empty());
        };
        let hash = hash
            .as_deref()
            .and_then(ChainHash::from_slice)
            .ok_or_else(|| {
                StoreError::Backend(format!(
                    "the event at position {position} has no chain hash"
                ))
            })?;
        let day = local_day(micros(latest_recorded_at, position)?);
        Ok(ChainTip {
            position,
            hash,
            latest_recorded_at,
            days: DayBoundaries::resume(day, u64::try_from(position).unwrap_or(0), hash),
        })
    }

    /// Chains the next event (at `self.position + 1`), recording the anchor of the day it
    /// closes, and returns its previous hash and hash for the insert.
    pub fn extend(
        &mut self,
        tx: &Connection,
        event: &ChainedEvent<'_>,
    ) -> Result<(ChainHash, ChainHash), StoreError> {
        let previous = self.hash;
        let hash = event.hash(&previous);
        let recorded_at = micros(event.recorded_at, event.position as i64)?;
        if let Some(anchor) = self.days.observe(event.position, hash, recorded_at) {
            insert_anchor(tx, &anchor)?;
        }
        self.position = event.position as i64;
        self.hash = hash;
        self.latest_recorded_at = self.latest_recorded_at.max(event.recorded_at);
        Ok((previous, hash))
    }
}

fn insert_anchor(conn: &Connection, anchor: &DailyAnchor) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_ANCHOR)
        .ctx("prepare the anchor insert")?
        .execute(rusqlite::params![
            anchor.date.to_string(),
            anchor.position.commit as i64,
            anchor.hash.0.as_slice(),
        ])
        .ctx("record a daily anchor")?;
    Ok(())
}

/// Chains the events of a store written before the chain existed, and records the anchors of
/// their days, in one transaction. Returns how many events it chained.
///
/// The writer chains every event it inserts and this runs atomically, so either every event is
/// chained or none is; a log chained only in part is refused rather than guessed at.
pub(crate) fn backfill(conn: &mut Connection) -> Result<u64, StoreError> {
    let head_unchained: Option<bool> = conn
        .query_row(
            "SELECT hash IS NULL FROM events ORDER BY position DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .ctx("check whether the log is chained")?;
    if head_unchained != Some(true) {
        return Ok(0);
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .ctx("begin the chain backfill")?;
    let chained: i64 = tx
        .query_row(
            "SELECT count(*) FROM events WHERE hash IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .ctx("count chained events")?;
    if chained > 0 {
        return Err(StoreError::Backend(format!(
            "the hash chain covers {chained} events but not the last one; refusing to extend a chain with a hole"
        )));
    }
    let mut tip = ChainTip::empty();
    let mut after = 0_i64;
    let mut count = 0_u64;
    loop {
        let rows = read_chunk(&tx, after)?;
        let Some(last) = rows.last() else { break };
        after = last.position;
        for row in &rows {
            let row = row.decoded.as_ref().map_err(|detail| {
                StoreError::Backend(format!("event at position {}: {detail}", row.position))
            })?;
            let (previous, hash) = tip.extend(&tx, &row.chained())?;
            update_hashes(&tx, row.position, previous, hash)?;
            count += 1;
        }
    }
    tx.commit().ctx("commit the chain backfill")?;
    Ok(count)
}

fn update_hashes(
    tx: &Transaction<'_>,
    position: i64,
    previous: ChainHash,
    hash: ChainHash,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE events SET previous_hash = ?1, hash = ?2 WHERE position = ?3")
        .ctx("prepare the chain backfill")?
        .execute(rusqlite::params![
            previous.0.as_slice(),
            hash.0.as_slice(),
            position
        ])
        .ctx("chain an existing event")?;
    Ok(())
}

/// Chain readers the verifier runs: reading rows and hashing them is nearly all of a walk's
/// work (the walk itself only compares), and each chunk can be read and hashed alone.
const CHAIN_READERS: usize = 2;

/// Walks the log from position 1 to its head when the walk starts, recomputing every hash and
/// every day end, and stops at the first break. `progress` hears (verified, total) after each
/// chunk.
///
/// The rows are read and hashed ahead on [`CHAIN_READERS`] connections that `open_reader`
/// opens, each taking every other chunk of positions; the walk takes the chunks in order. A
/// row is hashed after its own recorded previous hash, which the walk checks against the
/// chain before it compares hashes, so the outcome is the one a walk on one connection finds
/// (a ten-million-event log took 23 s on one core).
pub(crate) fn verify(
    conn: &Connection,
    open_reader: &(dyn Fn() -> Result<Connection, StoreError> + Sync),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ChainReport, StoreError> {
    let head: i64 = conn
        .query_row("SELECT coalesce(max(position), 0) FROM events", [], |r| {
            r.get(0)
        })
        .ctx("read the head of the log")?;
    let mut report = ChainReport {
        events_verified: 0,
        head: None,
        anchors_checked: 0,
        first_break: None,
    };
    let anchors = match stored_anchors(conn)? {
        Ok(anchors) => anchors,
        Err(unreadable) => {
            report.first_break = Some(unreadable);
            return Ok(report);
        }
    };
    let chunks = usize::try_from((head + CHUNK - 1) / CHUNK).unwrap_or(0);
    std::thread::scope(|scope| {
        let chunks_read: Vec<_> = (0..CHAIN_READERS)
            .map(|first| {
                let (sender, chunks_read) = std::sync::mpsc::sync_channel(2);
                scope.spawn(move || read_and_hash(open_reader, first, chunks, head, sender));
                chunks_read
            })
            .collect();
        // Dropping the receivers on any return stops the readers at their next chunk.
        let mut next_chunk = |k: usize| {
            chunks_read[k % CHAIN_READERS].recv().unwrap_or_else(|_| {
                Err(StoreError::Backend(
                    "a chain reader stopped before its chunk".to_owned(),
                ))
            })
        };
        walk(&mut next_chunk, chunks, head, anchors, report, progress)
    })
}

/// Reads chunks `first`, `first + CHAIN_READERS`, ... of positions up to `head` and hashes
/// their rows, handing them over in order until the walk stops taking them.
fn read_and_hash(
    open_reader: &(dyn Fn() -> Result<Connection, StoreError> + Sync),
    first: usize,
    chunks: usize,
    head: i64,
    chunks_read: std::sync::mpsc::SyncSender<Result<Vec<HashedRow>, StoreError>>,
) {
    let conn = match open_reader() {
        Ok(conn) => conn,
        Err(e) => {
            let _ = chunks_read.send(Err(e));
            return;
        }
    };
    for k in (first..chunks).step_by(CHAIN_READERS) {
        let after = k as i64 * CHUNK;
        let through = (after + CHUNK).min(head);
        let chunk = read_range(&conn, after, through).map(|rows| {
            rows.into_iter()
                .map(|row| {
                    let computed = row.decoded.as_ref().ok().and_then(|decoded| {
                        decoded
                            .previous_hash
                            .map(|previous| decoded.chained().hash(&previous))
                    });
                    HashedRow { row, computed }
                })
                .collect()
        });
        let failed = chunk.is_err();
        if chunks_read.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// A row read for the walk, with the hash its content gives after its own recorded previous
/// hash (`None` if it has none or cannot be read).
struct HashedRow {
    row: ReadRow,
    computed: Option<ChainHash>,
}

/// The walk over the chunks in log order: every check that needs the chain so far.
fn walk(
    next_chunk: &mut dyn FnMut(usize) -> Result<Vec<HashedRow>, StoreError>,
    chunks: usize,
    head: i64,
    mut anchors: StoredAnchors,
    mut report: ChainReport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ChainReport, StoreError> {
    let total = u64::try_from(head).unwrap_or(0);
    let mut previous = ChainHash::GENESIS;
    let mut days = DayBoundaries::default();
    let mut after = 0_i64;
    for k in 0..chunks {
        for HashedRow { row, computed } in next_chunk(k)? {
            let (decoded, hash) = match check_row(&row, after + 1, previous, computed) {
                Ok(checked) => checked,
                Err(found) => {
                    report.first_break = Some(found);
                    return Ok(report);
                }
            };
            let recorded_at = micros(decoded.recorded_at, row.position)?;
            if let Some(anchor) = days.observe(row.position as u64, hash, recorded_at) {
                if let Some(found) = check_anchor(&mut anchors, &anchor) {
                    report.first_break = Some(found);
                    return Ok(report);
                }
                report.anchors_checked += 1;
            }
            report.head = Some(ChainLink {
                position: Position::sequence(row.position as u64),
                hash,
                previous_hash: previous,
            });
            report.events_verified += 1;
            previous = hash;
            after = row.position;
        }
        progress(report.events_verified, total);
    }
    // What is left names no day end in the log. The anchor of a day that ended exactly at the
    // head is fine: the next day's first event may have been appended after the walk began.
    for (date, (position, hash)) in anchors {
        let at_head = position == head && report.head.is_some_and(|h| Some(h.hash) == hash);
        if !at_head {
            report.first_break = Some(ChainBreak::AnchorUnexpected {
                date,
                position: u64::try_from(position).unwrap_or(0),
                head: total,
            });
            return Ok(report);
        }
        report.anchors_checked += 1;
    }
    Ok(report)
}

/// Checks one row's position, previous hash and content against the chain so far; gives its
/// columns and hash if they hold. `computed` is its hash after its recorded previous hash, if
/// already known.
fn check_row(
    row: &ReadRow,
    expected: i64,
    previous: ChainHash,
    computed: Option<ChainHash>,
) -> Result<(&StoredRow, ChainHash), ChainBreak> {
    if row.position != expected {
        return Err(ChainBreak::Gap {
            expected: expected as u64,
            found: row.position as u64,
        });
    }
    let position = row.position as u64;
    let decoded = match &row.decoded {
        Ok(decoded) => decoded,
        Err(detail) => {
            return Err(ChainBreak::Unreadable {
                position,
                detail: detail.clone(),
            });
        }
    };
    if decoded.previous_hash != Some(previous) {
        return Err(ChainBreak::PreviousHashMismatch {
            position,
            recorded: decoded.previous_hash,
            expected: previous,
        });
    }
    // The recorded previous hash is `previous` by now, so a hash after it is the chain's.
    let computed = computed.unwrap_or_else(|| decoded.chained().hash(&previous));
    if decoded.hash != Some(computed) {
        return Err(ChainBreak::ContentChanged {
            position,
            recorded: decoded.hash,
            computed,
        });
    }
    Ok((decoded, computed))
}

type StoredAnchors = BTreeMap<NaiveDate, (i64, Option<ChainHash>)>;

fn check_anchor(stored: &mut StoredAnchors, expected: &DailyAnchor) -> Option<ChainBreak> {
    let position = expected.position.commit;
    match stored.remove(&expected.date) {
        None => Some(ChainBreak::AnchorMissing {
            date: expected.date,
            position,
        }),
        Some((anchored_position, anchored))
            if anchored_position as u64 != position || anchored != Some(expected.hash) =>
        {
            Some(ChainBreak::AnchorMismatch {
                date: expected.date,
                position,
                chained: expected.hash,
                anchored_position: anchored_position as u64,
                anchored,
            })
        }
        Some(_) => None,
    }
}

fn stored_anchors(conn: &Connection) -> Result<Result<StoredAnchors, ChainBreak>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT day, position, hash FROM anchors ORDER BY day")
        .ctx("prepare the anchor read")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .ctx("read anchors")?;
    let mut anchors = BTreeMap::new();
    for row in rows {
        let (day, position, hash) = row.ctx("read an anchor")?;
        let Ok(date) = day.parse::<NaiveDate>() else {
            return Ok(Err(ChainBreak::AnchorUnreadable {
                detail: "not a YYYY-MM-DD date".to_owned(),
                day,
            }));
        };
        anchors.insert(date, (position, ChainHash::from_slice(&hash)));
    }
    Ok(Ok(anchors))
}

/// Daily anchors for `from..=until`.
pub(crate) fn read_anchors(
    conn: &Connection,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<DailyAnchor>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT day, position, hash FROM anchors WHERE day >= ?1 AND day <= ?2 ORDER BY day",
        )
        .ctx("prepare the anchor read")?;
    // Days are stored as `YYYY-MM-DD` and compared as text, which orders only four-digit years.
    let four_digits = |year| NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let from = from.max(four_digits(0));
    let until = until.min(four_digits(9999).with_ordinal(365).unwrap_or_default());
    let rows = stmt
        .query_map([from.to_string(), until.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .ctx("read anchors")?;
    let mut anchors = Vec::new();
    for row in rows {
        let (day, position, hash) = row.ctx("read an anchor")?;
        let corrupt = |what: &str| StoreError::Backend(format!("anchor `{day}`: {what}"));
        anchors.push(DailyAnchor {
            date: day.parse().map_err(|_| corrupt("not a date"))?,
            position: Position::sequence(
                u64::try_from(position).map_err(|_| corrupt("negative position"))?,
            ),
            hash: ChainHash::from_slice(&hash).ok_or_else(|| corrupt("not a 32-byte hash"))?,
        });
    }
    Ok(anchors)
}

/// Chain links of the events selected by `sql` (which selects position, hash, previous_hash).
pub(crate) fn read_links(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ChainLink>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).ctx("prepare a chain read")?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })
        .ctx("read chain links")?;
    let mut links = Vec::new();
    for row in rows {
        let (position, hash, previous) = row.ctx("read a chain link")?;
        let hash_of = |bytes: Option<Vec<u8>>, what: &str| {
            bytes
                .as_deref()
                .and_then(ChainHash::from_slice)
                .ok_or_else(|| {
                    StoreError::Backend(format!(
                        "event at position {position}: {what} is not a 32-byte hash"
                    ))
                })
        };
        links.push(ChainLink {
            position: Position::sequence(u64::try_from(position).unwrap_or(0)),
            hash: hash_of(hash, "hash")?,
            previous_hash: hash_of(previous, "previous hash")?,
        });
    }
    Ok(links)
}

/// A row as read for the chain: its position always, its columns if they are readable.
struct ReadRow {
    position: i64,
    decoded: Result<StoredRow, String>,
}

/// The hashed columns of one event, exactly as stored.
struct StoredRow {
    position: i64,
    event_id: Uuid,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i64,
    occurred_at: i64,
    recorded_at: i64,
    actor_id: Uuid,
    actor_role: String,
    channel: String,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    organisation_id: Uuid,
    property_id: Option<Uuid>,
    idempotency_key: Option<String>,
    payload: String,
    previous_hash: Option<ChainHash>,
    hash: Option<ChainHash>,
}

impl StoredRow {
    fn read(row: &Row<'_>) -> Result<StoredRow, String> {
        fn col<T: rusqlite::types::FromSql>(row: &Row<'_>, idx: usize) -> Result<T, String> {
            row.get(idx).map_err(|e| e.to_string())
        }
        let uuid = |idx: usize, what: &str| -> Result<Option<Uuid>, String> {
            match col::<Option<Vec<u8>>>(row, idx)? {
                Some(bytes) => Uuid::from_slice(&bytes)
                    .map(Some)
                    .map_err(|_| format!("{what} is not 16 bytes")),
                None => Ok(None),
            }
        };
        let required = |idx: usize, what: &str| -> Result<Uuid, String> {
            uuid(idx, what)?.ok_or_else(|| format!("{what} is missing"))
        };
        let hash = |idx: usize, what: &str| -> Result<Option<ChainHash>, String> {
            match col::<Option<Vec<u8>>>(row, idx)? {
                Some(bytes) => ChainHash::from_slice(&bytes)
                    .map(Some)
                    .ok_or_else(|| format!("{what} is not 32 bytes")),
                None => Ok(None),
            }
        };
        let schema_version: i64 = col(row, 5)?;
        let revision: i64 = col(row, 3)?;
        if u32::try_from(schema_version).is_err() || revision < 0 {
            return Err("revision or schema version out of range".to_owned());
        }
        Ok(StoredRow {
            position: col(row, 0)?,
            event_id: required(1, "event id")?,
            stream: col(row, 2)?,
            revision,
            event_type: col(row, 4)?,
            schema_version,
            occurred_at: col(row, 6)?,
            recorded_at: col(row, 7)?,
            actor_id: required(8, "actor id")?,
            actor_role: col(row, 9)?,
            channel: col(row, 10)?,
            correlation_id: required(11, "correlation id")?,
            causation_id: uuid(12, "causation id")?,
            organisation_id: required(13, "organisation id")?,
            property_id: uuid(14, "property id")?,
            idempotency_key: col(row, 15)?,
            payload: col(row, 16)?,
            previous_hash: hash(17, "previous hash")?,
            hash: hash(18, "hash")?,
        })
    }

    fn chained(&self) -> ChainedEvent<'_> {
        ChainedEvent {
            position: self.position as u64,
            event_id: self.event_id,
            stream: &self.stream,
            revision: self.revision as u64,
            event_type: &self.event_type,
            schema_version: self.schema_version as u32,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor_id: self.actor_id,
            actor_role: &self.actor_role,
            channel: &self.channel,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            organisation_id: self.organisation_id,
            property_id: self.property_id,
            idempotency_key: self.idempotency_key.as_deref(),
            payload: &self.payload,
        }
    }
}

/// The rows at positions `after + 1 ..= through`, for the verifier.
fn read_range(conn: &Connection, after: i64, through: i64) -> Result<Vec<ReadRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(SELECT_CHAINED_RANGE)
        .ctx("prepare the chain walk")?;
    let rows = stmt
        .query(rusqlite::params![after, through])
        .ctx("read the log")?;
    read_rows(rows)
}

fn read_chunk(conn: &Connection, after: i64) -> Result<Vec<ReadRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(SELECT_CHAINED)
        .ctx("prepare the chain walk")?;
    let rows = stmt
        .query(rusqlite::params![after, CHUNK])
        .ctx("read the log")?;
    read_rows(rows)
}

fn read_rows(mut rows: rusqlite::Rows<'_>) -> Result<Vec<ReadRow>, StoreError> {
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx("read the log")? {
        let position: i64 = row.get(0).ctx("read a position")?;
        out.push(ReadRow {
            position,
            decoded: StoredRow::read(row),
        });
    }
    Ok(out)
}

fn micros(value: i64, position: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        StoreError::Backend(format!(
            "event at position {position}: recorded at {value} is out of range"
        ))
    })
}
