//! The auditor's export: events as JSON Lines, each line the whole envelope, the payload, and
//! the event's hash and previous hash on the chain, plus the JSON Schemas of every payload
//! type, so the history can be read and its hashes recomputed without Talo.
//!
//! A line's `hash` is SHA-256 over the encoding documented in `talo_store::chain`, computed
//! from the line's own fields (timestamps to the microsecond, the payload written compactly
//! with sorted keys) and its `previous_hash`. An export of the whole log chains line to line;
//! a filtered one does not, but each line still checks against its own previous hash.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::{ChainHash, ChainLink, EventStore, LogFilter, StoreError};
use uuid::Uuid;

/// Events read per page.
const PAGE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("encoding a JSON schema: {0}")]
    Schema(serde_json::Error),
    /// The store returned an event without a chain link: the log is not fully chained.
    #[error("the event at position {0} has no chain link")]
    Unchained(Position),
}

/// Writes every event `filter` selects to `out`, one JSON line each, and returns how many.
/// `progress` hears the position reached after each page. The next page is read while one is
/// written, so reading the store and encoding lines run on both cores.
pub async fn write_events(
    store: &dyn EventStore,
    filter: &LogFilter,
    out: &mut dyn Write,
    out_path: &Path,
    progress: &mut dyn FnMut(Position),
) -> Result<u64, ExportError> {
    let written = |source| ExportError::Write {
        path: out_path.to_owned(),
        source,
    };
    let mut count = 0;
    let mut page = read_page(store, filter, Position::START).await?;
    while let Some(last) = page.events.last().map(|e| e.position) {
        let (next, lines) = futures::join!(read_page(store, filter, last), async {
            write_page(&page, out, &written)
        });
        count += lines?;
        progress(last);
        page = next?;
    }
    out.flush().map_err(written)?;
    Ok(count)
}

/// A page of events with their chain links, both in log order.
struct Page {
    events: Vec<RecordedEvent>,
    links: Vec<ChainLink>,
}

async fn read_page(
    store: &dyn EventStore,
    filter: &LogFilter,
    after: Position,
) -> Result<Page, ExportError> {
    let events = store.read_all(after, PAGE, filter).await?;
    let links = if events.is_empty() {
        Vec::new()
    } else if *filter == LogFilter::default() {
        store.read_chain(after, events.len()).await?
    } else {
        // A sparse selection: fetching the links between would read far more than needed.
        let mut links = Vec::with_capacity(events.len());
        for event in &events {
            links.extend(store.chain_link(event.position).await?);
        }
        links
    };
    Ok(Page { events, links })
}

/// Writes a page's lines; an event without its link is refused before anything of it is
/// written.
fn write_page(
    page: &Page,
    out: &mut dyn Write,
    written: &dyn Fn(std::io::Error) -> ExportError,
) -> Result<u64, ExportError> {
    let mut links = page.links.iter().peekable();
    for event in &page.events {
        // Both are in log order: the event's link is the next one not before it.
        while links.next_if(|l| l.position < event.position).is_some() {}
        let link = links
            .next_if(|l| l.position == event.position)
            .ok_or(ExportError::Unchained(event.position))?;
        serde_json::to_writer(&mut *out, &line(event, link)).map_err(|e| written(e.into()))?;
        out.write_all(b"\n").map_err(written)?;
    }
    Ok(page.events.len() as u64)
}

/// One exported event. The fields are in the order of a JSON object with sorted keys: the
/// lines are what they were when each was built as a `serde_json::Value` first, which cost
/// most of an export's time.
#[derive(Serialize)]
struct Line<'a> {
    actor: LineActor,
    causation_id: Option<Uuid>,
    channel: &'static str,
    correlation_id: Uuid,
    event_id: Uuid,
    event_type: &'a str,
    #[serde(serialize_with = "as_text")]
    hash: ChainHash,
    idempotency_key: Option<&'a str>,
    occurred_at: String,
    organisation_id: Uuid,
    payload: LinePayload<'a>,
    position: u64,
    #[serde(serialize_with = "as_text")]
    previous_hash: ChainHash,
    property_id: Option<Uuid>,
    recorded_at: String,
    revision: u64,
    schema_version: u32,
    stream: &'a str,
}

#[derive(Serialize)]
struct LineActor {
    person_id: Uuid,
    role: &'static str,
}

/// The payload exactly as stored (and hashed); not JSON only in a damaged store, exported then
/// as its text, and its hash will not match.
#[derive(Serialize)]
#[serde(untagged)]
enum LinePayload<'a> {
    Json(&'a RawValue),
    Text(&'a str),
}

fn as_text<S: serde::Serializer>(hash: &ChainHash, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(hash)
}

/// One exported event.
fn line<'a>(event: &'a RecordedEvent, link: &ChainLink) -> Line<'a> {
    let m = &event.metadata;
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let payload = event.payload.as_str();
    Line {
        actor: LineActor {
            person_id: m.actor.person_id,
            role: m.actor.role.as_str(),
        },
        causation_id: m.causation_id,
        channel: m.channel.as_str(),
        correlation_id: m.correlation_id,
        event_id: event.event_id,
        event_type: &event.event_type,
        hash: link.hash,
        idempotency_key: m.idempotency_key.as_deref(),
        occurred_at: time(m.occurred_at),
        organisation_id: m.organisation_id,
        payload: serde_json::from_str(payload)
            .map_or(LinePayload::Text(payload), LinePayload::Json),
        position: event.position.commit,
        previous_hash: link.previous_hash,
        property_id: m.property_id,
        recorded_at: time(event.recorded_at),
        revision: event.revision,
        schema_version: event.schema_version,
        stream: &event.stream,
    }
}

/// Writes the JSON Schema of every payload type (`<Type>.v<version>.json`) and of an export
/// line (`export-line.json`) into `dir`; returns how many files.
pub fn write_schemas(dir: &Path) -> Result<usize, ExportError> {
    let written = |path: &Path| {
        let path = path.to_owned();
        move |source| ExportError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(written(dir))?;
    let mut files = vec![("export-line.json".to_owned(), line_schema())];
    for (name, schema) in talo_events_schema::catalog::payload_schemas() {
        files.push((
            name,
            serde_json::to_value(&schema).map_err(ExportError::Schema)?,
        ));
    }
    for (name, schema) in &files {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(schema).map_err(ExportError::Schema)?;
        std::fs::write(&path, text + "\n").map_err(written(&path))?;
    }
    Ok(files.len())
}

/// The shape of one export line; the payload's own schema is `<event_type>.v<schema_version>.json`.
fn line_schema() -> Value {
    let uuid = json!({ "type": "string", "format": "uuid" });
    let optional_uuid = json!({ "type": ["string", "null"], "format": "uuid" });
    let time = json!({ "type": "string", "format": "date-time", "description": "UTC, to the microsecond" });
    let hash = json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Talo event export line",
        "description": "One stored event. `hash` is SHA-256 over the documented canonical encoding of every field below and `previous_hash` (the hash of the event at the previous position; 64 zeros for the first).",
        "type": "object",
        "required": ["position", "event_id", "stream", "revision", "event_type", "schema_version", "occurred_at", "recorded_at", "actor", "channel", "correlation_id", "causation_id", "organisation_id", "property_id", "idempotency_key", "payload", "hash", "previous_hash"],
        "properties": {
            "position": { "type": "integer", "minimum": 1 },
            "event_id": uuid,
            "stream": { "type": "string" },
            "revision": { "type": "integer", "minimum": 0 },
            "event_type": { "type": "string" },
            "schema_version": { "type": "integer", "minimum": 1 },
            "occurred_at": time,
            "recorded_at": time,
            "actor": {
                "type": "object",
                "required": ["person_id", "role"],
                "properties": { "person_id": uuid, "role": { "type": "string" } }
            },
            "channel": { "type": "string" },
            "correlation_id": uuid,
            "causation_id": optional_uuid,
            "organisation_id": uuid,
            "property_id": optional_uuid,
            "idempotency_key": { "type": ["string", "null"] },
            "payload": { "type": "object", "description": "see <event_type>.v<schema_version>.json" },
            "hash": hash,
            "previous_hash": hash
        }
    })
}

#[cfg(test)]
mod tests {
    use talo_events_schema::envelope::StoredPayload;
    use talo_store::conformance::sample_metadata;

    use super::*;

    fn event(payload: &str) -> RecordedEvent {
        let mut metadata = sample_metadata();
        metadata.causation_id = Some(Uuid::from_u128(7));
        metadata.idempotency_key = Some("k-\"1\"".to_owned());
        RecordedEvent {
            event_id: Uuid::from_u128(1),
            stream: "fault-report-1".to_owned(),
            revision: 2,
            position: Position::sequence(42),
            event_type: "FaultReported".to_owned(),
            schema_version: 2,
            recorded_at: metadata.occurred_at + chrono::Duration::microseconds(1_500_001),
            metadata,
            payload: StoredPayload::from_stored(payload.to_owned()),
        }
    }

    fn link() -> ChainLink {
        ChainLink {
            position: Position::sequence(42),
            hash: ChainHash([0xab; 32]),
            previous_hash: ChainHash([0x01; 32]),
        }
    }

    /// The line as the export wrote it when it built a `serde_json::Value` (keys sorted).
    fn as_a_value(event: &RecordedEvent, payload: Value) -> String {
        let m = &event.metadata;
        let time =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        json!({
            "position": 42, "event_id": event.event_id, "stream": event.stream,
            "revision": 2, "event_type": event.event_type, "schema_version": 2,
            "occurred_at": time(m.occurred_at), "recorded_at": time(event.recorded_at),
            "actor": { "person_id": m.actor.person_id, "role": m.actor.role.as_str() },
            "channel": m.channel.as_str(), "correlation_id": m.correlation_id,
            "causation_id": m.causation_id, "organisation_id": m.organisation_id,
            "property_id": m.property_id, "idempotency_key": m.idempotency_key,
            "payload": payload, "hash": "ab".repeat(32), "previous_hash": "01".repeat(32),
        })
        .to_string()
    }

    #[test]
    fn a_line_is_the_envelope_with_sorted_keys_and_the_payload_as_stored() {
        // As Talo stores payloads: compact, keys sorted, text escaped.
        let stored = r#"{"category":"plumbing","description":"Hana \"vuotaa\"\nkeittiössä","rooms":[1,2],"where":{"floor":3}}"#;
        let event = event(stored);
        let text = serde_json::to_string(&line(&event, &link())).unwrap();
        let payload: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(text, as_a_value(&event, payload));
        assert!(
            text.contains(stored),
            "the payload's text as stored: {text}"
        );
    }

    #[test]
    fn a_payload_that_is_not_json_is_exported_as_its_text() {
        let event = event("{\"n\": 1");
        let text = serde_json::to_string(&line(&event, &link())).unwrap();
        assert_eq!(text, as_a_value(&event, Value::String("{\"n\": 1".into())));
    }

    #[test]
    fn an_event_without_its_chain_link_is_refused_before_its_line() {
        let page = Page {
            events: vec![event("{}")],
            links: vec![ChainLink {
                position: Position::sequence(41),
                ..link()
            }],
        };
        let mut out = Vec::new();
        let refused = write_page(&page, &mut out, &|source| ExportError::Write {
            path: PathBuf::from("out"),
            source,
        });
        assert!(matches!(refused, Err(ExportError::Unchained(p)) if p == Position::sequence(42)));
        assert!(out.is_empty());
    }
}
