//! The embedded store's mention index: which events name an entity, for
//! [`LogFilter::mentions`](crate::LogFilter::mentions) (an auditor's `entityHistory`).
//!
//! Without it, finding the seven events that name one fault report meant SQLite reading every
//! row of the log: 7.5 s on ten million events (BENCHMARKS.md, thirteenth part).
//!
//! It lives in a file of its own beside the store's (`events.sqlite-mentions`), written by a
//! thread of its own that follows the log, so an append never waits for it and its pages never
//! share the store's WAL. It is derived from the log alone: a missing file is rebuilt, and so
//! is one whose last indexed event does not have the hash the log has at that position (a file
//! left beside another store). It is written without fsync (`synchronous=NORMAL`): after a
//! crash it may have lost its last segments, which are indexed again.
//!
//! Why segments: an index keyed by (entity, position) would take each event's few mentions to
//! as many pages scattered over the whole index, a page written per mention, as the stream
//! index on the log once did per stream (see `sqlite_streams.rs`). Here every `segment`
//! consecutive events are indexed together, keyed by (segment, entity, position): a segment is
//! inserted after the one before it, in key order, so its pages are written once, in order.
//! A lookup seeks once per segment (about 1,200 on ten million events at 8,192 events each).
//! The events after the last whole segment are not indexed; a lookup scans them, which is at
//! most a segment's worth of rows.
//!
//! What counts as naming an id is what [`LogFilter::mentions`](crate::LogFilter::mentions)
//! says: the last 36 characters of the stream, the actor, the property, and every 36-character
//! string between two quotes in the payload's JSON text that is an id written as ids are
//! written (lower case, hyphenated). Found on the bytes, without parsing the payload.
//!
//! While a subscription reads the log far behind its head (a replay: a first start, a new
//! read model, an auditor's fold), the indexer waits for it, up to [`MAX_WAIT_FOR_REPLAY`]:
//! both would take the same two cores, and a first start on a store without its index built
//! both at once, 28-33 s to ready against 22-28 s with the index there (BENCHMARKS.md,
//! twenty-first part). Until it is indexed, a read by mention scans what is not.
//!
//! Each segment also records the earliest and latest business time (`occurred_at`) of its
//! events, so a read of a business-time window (an auditor's `auditLog` for a day) reads only
//! the segments that meet it. Business time may lie before or after the recording time (a
//! payment booked at the bank last week), which a segment's span simply includes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::watch;
use uuid::Uuid;

use crate::StoreError;
use crate::sqlite::{DbContext, clamp_usize};

/// The schema of the index file; a file of another version is rebuilt.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS segments (
        first        INTEGER PRIMARY KEY,
        last         INTEGER NOT NULL,
        last_hash    BLOB    NOT NULL,
        occurred_min INTEGER NOT NULL,
        occurred_max INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS mentions (
        segment  INTEGER NOT NULL,
        entity   BLOB    NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (segment, entity, position)
    ) STRICT, WITHOUT ROWID;
";

/// How often the indexer looks at the log's head when it has nothing to do.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// How long the indexer waits after a failure before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Events behind the log from which the indexer says when it has caught up.
const CATCH_UP: i64 = 1_000_000;

/// How long the indexer waits for replaying subscriptions ([`Replays`]) before it indexes
/// beside them: a replay of ten million events takes about half a minute here, and a
/// subscription that stays far behind (a read model that cannot keep up) must not keep the
/// index from ever being built.
const MAX_WAIT_FOR_REPLAY: Duration = Duration::from_secs(300);

/// How many subscriptions are reading the log far behind its head: replays, which the
/// indexer waits for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replays(Arc<AtomicUsize>);

impl Replays {
    /// Counts a replay until the returned guard is dropped.
    pub(crate) fn start(&self) -> Replaying {
        self.0.fetch_add(1, Ordering::AcqRel);
        Replaying(Arc::clone(&self.0))
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

/// One replay under way; it ends when this is dropped.
#[derive(Debug)]
pub(crate) struct Replaying(Arc<AtomicUsize>);

impl Drop for Replaying {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The index file and the thread keeping it up with the log.
pub(crate) struct MentionIndex {
    path: PathBuf,
    /// Every event at or below this position is in the index.
    through: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl MentionIndex {
    /// Opens the index beside the store at `store` (rebuilding it if it is not this log's),
    /// and starts the thread that indexes every `segment` events once the log's `head` has
    /// passed them. `log` is the store's writer connection, already migrated.
    pub(crate) fn open(
        store: &Path,
        log: &Connection,
        segment: usize,
        head: watch::Receiver<u64>,
        replays: Replays,
    ) -> Result<Self, StoreError> {
        let mut name = store.as_os_str().to_owned();
        name.push("-mentions");
        let path = PathBuf::from(name);
        let (index, through) = match open_index(&path, log)? {
            Some(opened) => opened,
            None => {
                tracing::info!(path = %path.display(), "the mention index is not this log's; rebuilding it");
                remove_index(&path)?;
                open_index(&path, log)?.ok_or_else(|| {
                    StoreError::Backend("a new mention index already holds segments".into())
                })?
            }
        };
        let reader = Connection::open_with_flags(
            store,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ctx("open the mention indexer's read connection")?;
        let through = Arc::new(AtomicI64::new(through));
        let stop = Arc::new(AtomicBool::new(false));
        let indexer = Indexer {
            index,
            log: reader,
            through: Arc::clone(&through),
            stop: Arc::clone(&stop),
            head,
            segment: clamp_usize(segment.max(1)),
            replays,
        };
        let thread = std::thread::Builder::new()
            .name("talo-store-mentions".to_owned())
            .spawn(move || indexer.run())
            .map_err(|e| StoreError::Backend(format!("start the mention indexer: {e}")))?;
        Ok(MentionIndex {
            path,
            through,
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The index file, for the read connections to [`attach`].
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Every event at or below this position is in the index (read it before the index).
    pub(crate) fn through(&self) -> i64 {
        self.through.load(Ordering::Acquire)
    }

    /// Stops the indexer after the segment it is writing, and waits for it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            thread.thread().unpark();
            if thread.join().is_err() {
                tracing::error!("the mention indexer panicked");
            }
        }
    }
}

/// Opens (creating) the index file and answers how far it is indexed, or `None` when what it
/// holds is not this log's.
fn open_index(path: &Path, log: &Connection) -> Result<Option<(Connection, i64)>, StoreError> {
    let index = Connection::open(path).ctx("open the mention index")?;
    index
        .busy_timeout(Duration::from_secs(5))
        .ctx("configure the mention index")?;
    index
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
        .ctx("switch the mention index to WAL")?;
    // Derived from the log: what a crash loses is indexed again.
    index
        .pragma_update(None, "synchronous", "NORMAL")
        .ctx("configure the mention index")?;
    let version: i64 = index
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("read the mention index's version")?;
    let fresh = !index
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'segments')",
            [],
            |r| r.get::<_, bool>(0),
        )
        .ctx("look for the mention index's tables")?;
    if fresh {
        index
            .execute_batch(SCHEMA)
            .ctx("create the mention index")?;
        index
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .ctx("record the mention index's version")?;
        return Ok(Some((index, 0)));
    }
    if version != SCHEMA_VERSION {
        return Ok(None);
    }
    let last: Option<(i64, Vec<u8>)> = index
        .query_row(
            "SELECT last, last_hash FROM segments ORDER BY first DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("read the mention index's last segment")?;
    let Some((last, hash)) = last else {
        return Ok(Some((index, 0)));
    };
    let logged: Option<Option<Vec<u8>>> = log
        .query_row("SELECT hash FROM events WHERE position = ?1", [last], |r| {
            r.get(0)
        })
        .optional()
        .ctx("read the hash the mention index ends at")?;
    Ok((logged == Some(Some(hash))).then_some((index, last)))
}

fn remove_index(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Backend(format!(
                    "remove the mention index {}: {e}",
                    Path::new(&name).display()
                )));
            }
        }
    }
    Ok(())
}

struct Indexer {
    index: Connection,
    log: Connection,
    through: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
    head: watch::Receiver<u64>,
    segment: i64,
    replays: Replays,
}

impl Indexer {
    fn run(mut self) {
        // A long catch-up (a store indexed for the first time) is told of when it ends.
        let mut catching_up: Option<(Instant, i64)> = None;
        // Since when the indexer has had work and waited for replays; it stops waiting after
        // `MAX_WAIT_FOR_REPLAY` until none is under way.
        let mut waiting_since: Option<Instant> = None;
        while !self.stop.load(Ordering::Acquire) {
            let through = self.through.load(Ordering::Acquire);
            let head = i64::try_from(*self.head.borrow()).unwrap_or(i64::MAX);
            if head - through < self.segment {
                if let Some((started, from)) = catching_up.take() {
                    tracing::info!(events = through - from, elapsed = ?started.elapsed(), "the mention index caught up with the log");
                }
                std::thread::park_timeout(IDLE_POLL);
                continue;
            }
            if !self.replays.any() {
                waiting_since = None;
            } else if waiting_since.get_or_insert_with(Instant::now).elapsed() < MAX_WAIT_FOR_REPLAY
            {
                std::thread::park_timeout(IDLE_POLL);
                continue;
            }
            if catching_up.is_none() && head - through >= CATCH_UP {
                tracing::info!(
                    events = head - through,
                    "indexing mentions in the background; until done, reads by mention scan what is not indexed"
                );
                catching_up = Some((Instant::now(), through));
            }
            let last = through + self.segment;
            match self.add_segment(through, last) {
                Ok(()) => self.through.store(last, Ordering::Release),
                Err(e) => {
                    tracing::error!(error = %e, first = through + 1, last, "indexing a segment of mentions failed");
                    std::thread::park_timeout(RETRY_AFTER);
                }
            }
        }
    }

    /// Indexes the events after `after` up to and including `last`, in one transaction.
    fn add_segment(&mut self, after: i64, last: i64) -> Result<(), StoreError> {
        let mut rows: Vec<([u8; 16], i64)> = Vec::new();
        let mut named = Vec::new();
        let mut last_hash = None;
        let (mut occurred_min, mut occurred_max) = (i64::MAX, i64::MIN);
        {
            let mut read = self
                .log
                .prepare_cached(
                    "SELECT position, stream, actor_id, property_id, payload, hash, occurred_at \
                     FROM events \
                     WHERE position > ?1 AND position <= ?2 ORDER BY position",
                )
                .ctx("prepare the mention indexer's read")?;
            let mut events = read
                .query([after, last])
                .ctx("read events to index mentions")?;
            while let Some(event) = events.next().ctx("read an event to index")? {
                let position: i64 = event.get(0).ctx("read a position")?;
                let occurred: i64 = event.get(6).ctx("read a business time")?;
                occurred_min = occurred_min.min(occurred);
                occurred_max = occurred_max.max(occurred);
                let stream = event.get_ref(1).and_then(|v| Ok(v.as_str()?));
                let actor = event.get_ref(2).and_then(|v| Ok(v.as_blob()?));
                let property = event.get_ref(3).and_then(|v| Ok(v.as_blob_or_null()?));
                let payload = event.get_ref(4).and_then(|v| Ok(v.as_str()?));
                named.clear();
                named_ids(
                    stream.ctx("read a stream")?,
                    actor.ctx("read an actor")?,
                    property.ctx("read a property")?,
                    payload.ctx("read a payload")?,
                    &mut named,
                );
                named.sort_unstable();
                named.dedup();
                rows.extend(named.iter().map(|id| (*id, position)));
                if position == last {
                    last_hash = Some(event.get::<_, Vec<u8>>(5).ctx("read a hash")?);
                }
            }
        }
        let last_hash = last_hash.ok_or_else(|| {
            StoreError::Backend(format!(
                "the log's head is past {last}, but it has no event there"
            ))
        })?;
        rows.sort_unstable();
        let tx = self
            .index
            .transaction()
            .ctx("begin a mention index segment")?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO mentions (segment, entity, position) VALUES (?1, ?2, ?3)",
                )
                .ctx("prepare the mention insert")?;
            for (entity, position) in &rows {
                insert
                    .execute(rusqlite::params![after + 1, &entity[..], position])
                    .ctx("insert a mention")?;
            }
        }
        tx.execute(
            "INSERT INTO segments (first, last, last_hash, occurred_min, occurred_max) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![after + 1, last, last_hash, occurred_min, occurred_max],
        )
        .ctx("record a mention index segment")?;
        tx.commit().ctx("commit a mention index segment")
    }
}

/// Attaches the index file at `index` to a read connection as `mention_index`, the name the
/// lookups below read it by (read-only, as the connection is).
pub(crate) fn attach(conn: &Connection, index: &Path) -> Result<(), StoreError> {
    conn.execute(
        "ATTACH DATABASE ?1 AS mention_index",
        [index.to_string_lossy()],
    )
    .ctx("attach the mention index")?;
    Ok(())
}

/// The positions after `after` and at or below `through` (the index's mark, read before this)
/// of the events naming `id`, at most `limit`, in log order. On a read connection that has the
/// index attached.
pub(crate) fn positions(
    conn: &Connection,
    id: Uuid,
    after: i64,
    through: i64,
    limit: usize,
) -> Result<Vec<i64>, StoreError> {
    // `CROSS JOIN` keeps the segments the outer loop, in order, so the answer comes out in
    // log order and the limit stops the walk.
    let mut lookup = conn
        .prepare_cached(
            "SELECT m.position FROM mention_index.segments s \
             CROSS JOIN mention_index.mentions m \
             ON m.segment = s.first AND m.entity = ?1 AND m.position > ?2 \
             WHERE s.last > ?2 AND s.last <= ?3 ORDER BY s.first, m.position LIMIT ?4",
        )
        .ctx("prepare a mention lookup")?;
    let found = lookup
        .query_map(
            rusqlite::params![&id.as_bytes()[..], after, through, clamp_usize(limit)],
            |r| r.get(0),
        )
        .ctx("look up mentions")?
        .collect::<Result<Vec<i64>, _>>()
        .ctx("read a mention")?;
    Ok(found)
}

/// The spans of positions (first, last) after `after` and at or below `through` (the index's
/// mark, read before this) whose events' business times may meet the window from `from`
/// (inclusive) until `until` (exclusive), in microseconds: the segments that meet it, those
/// next to each other joined. On a read connection that has the index attached.
pub(crate) fn spans_meeting(
    conn: &Connection,
    after: i64,
    through: i64,
    from: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut segments = conn
        .prepare_cached(
            "SELECT first, last FROM mention_index.segments \
             WHERE last > ?1 AND last <= ?2 AND occurred_max >= ?3 AND occurred_min < ?4 \
             ORDER BY first",
        )
        .ctx("prepare a look at the segments' business times")?;
    let rows = segments
        .query_map(
            rusqlite::params![
                after,
                through,
                from.unwrap_or(i64::MIN),
                until.unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .ctx("look at the segments' business times")?;
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for row in rows {
        let (first, last) = row.ctx("read a segment's span")?;
        match spans.last_mut() {
            Some(span) if span.1 + 1 == first => span.1 = last,
            _ => spans.push((first, last)),
        }
    }
    Ok(spans)
}

/// Adds the ids an event names to `named` (see the module doc), with repeats.
pub(crate) fn named_ids(
    stream: &str,
    actor: &[u8],
    property: Option<&[u8]>,
    payload: &str,
    named: &mut Vec<[u8; 16]>,
) {
    let stream = stream.as_bytes();
    if let Some(own) = stream
        .len()
        .checked_sub(36)
        .and_then(|start| written_id(&stream[start..]))
    {
        named.push(own);
    }
    named.extend(<[u8; 16]>::try_from(actor).ok());
    named.extend(property.and_then(|p| <[u8; 16]>::try_from(p).ok()));
    let payload = payload.as_bytes();
    let mut at = 0;
    while let Some(quote) = payload[at..].iter().position(|&b| b == b'"') {
        let open = at + quote;
        at = open + 1;
        if payload.get(open + 37) == Some(&b'"')
            && let Some(id) = written_id(&payload[open + 1..open + 37])
        {
            named.push(id);
        }
    }
}

/// The id `text` is, if it is written as ids are written (36 characters, lower case,
/// hyphenated): the form `LogFilter::mentions` looks for.
fn written_id(text: &[u8]) -> Option<[u8; 16]> {
    if text.len() != 36 || text[8] != b'-' {
        return None;
    }
    let id = Uuid::try_parse_ascii(text).ok()?;
    let mut written = [0_u8; 36];
    (id.hyphenated().encode_lower(&mut written).as_bytes() == text).then(|| *id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(stream: &str, actor: Uuid, property: Option<Uuid>, payload: &str) -> Vec<Uuid> {
        let mut out = Vec::new();
        named_ids(
            stream,
            actor.as_bytes(),
            property.as_ref().map(|p| &p.as_bytes()[..]),
            payload,
            &mut out,
        );
        out.into_iter().map(Uuid::from_bytes).collect()
    }

    #[test]
    fn an_event_names_its_stream_actor_property_and_the_ids_in_its_payload() {
        let [own, actor, property, a, b] = [(); 5].map(|()| Uuid::now_v7());
        let payload = format!(r#"{{"about":"{a}","items":[{{"ref":"{b}"}}],"n":1}}"#);
        assert_eq!(
            named(
                &format!("fault-report-{own}"),
                actor,
                Some(property),
                &payload
            ),
            vec![own, actor, property, a, b]
        );
    }

    #[test]
    fn an_id_is_named_only_as_a_whole_string_written_as_ids_are() {
        let actor = Uuid::nil();
        let id = Uuid::now_v7();
        let upper = id.to_string().to_uppercase();
        let simple = id.simple().to_string();
        for payload in [
            format!(r#"{{"about":"{upper}"}}"#),
            format!(r#"{{"about":"{simple}"}}"#),
            format!(r#"{{"text":"see {id} here"}}"#),
            format!(r#"{{"text":"x{id}"}}"#),
            format!(r#"{{"text":"{id}x"}}"#),
            format!(r#"{{"n":"{}""#, &id.to_string()[..35]),
        ] {
            assert_eq!(
                named("register", actor, None, &payload),
                vec![actor],
                "{payload}"
            );
        }
        // A key written as an id is named too: a superset, as `LogFilter::mentions` allows.
        assert_eq!(
            named("register", actor, None, &format!(r#"{{"{id}":1}}"#)),
            vec![actor, id]
        );
        // A stream that does not end in an id names nothing; one that ends in one, it.
        assert_eq!(named("organisation-x", actor, None, "{}"), vec![actor]);
        assert_eq!(
            named(&format!("contract-{upper}"), actor, None, "{}"),
            vec![actor]
        );
    }

    #[test]
    fn a_payload_ending_in_a_quote_is_read_to_its_end_without_overrunning() {
        let actor = Uuid::nil();
        let id = Uuid::now_v7();
        assert_eq!(
            named("s", actor, None, &format!(r#""{id}""#)),
            vec![actor, id]
        );
        assert_eq!(named("s", actor, None, "\""), vec![actor]);
        assert_eq!(named("s", actor, None, ""), vec![actor]);
    }
}
