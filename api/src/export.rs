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
use serde_json::{Value, json};
use talo_events_schema::envelope::{Position, RecordedEvent};
use talo_store::{ChainLink, EventStore, LogFilter, StoreError};

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
/// `progress` hears the position reached after each page.
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
    let whole_log = *filter == LogFilter::default();
    let mut after = Position::START;
    let mut count = 0;
    loop {
        let events = store.read_all(after, PAGE, filter).await?;
        let Some(last) = events.last() else { break };
        let last = last.position;
        let links = if whole_log {
            store.read_chain(after, events.len()).await?
        } else {
            // A sparse selection: fetching the links between would read far more than needed.
            let mut links = Vec::with_capacity(events.len());
            for event in &events {
                links.extend(store.chain_link(event.position).await?);
            }
            links
        };
        for event in &events {
            let link = links
                .iter()
                .find(|l| l.position == event.position)
                .ok_or(ExportError::Unchained(event.position))?;
            serde_json::to_writer(&mut *out, &line(event, link)).map_err(|e| written(e.into()))?;
            out.write_all(b"\n").map_err(written)?;
            count += 1;
        }
        after = last;
        progress(after);
    }
    out.flush().map_err(written)?;
    Ok(count)
}

/// One exported event.
pub fn line(event: &RecordedEvent, link: &ChainLink) -> Value {
    let m = &event.metadata;
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    json!({
        "position": event.position.commit,
        "event_id": event.event_id,
        "stream": event.stream,
        "revision": event.revision,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": time(m.occurred_at),
        "recorded_at": time(event.recorded_at),
        "actor": { "person_id": m.actor.person_id, "role": m.actor.role.as_str() },
        "channel": m.channel.as_str(),
        "correlation_id": m.correlation_id,
        "causation_id": m.causation_id,
        "organisation_id": m.organisation_id,
        "property_id": m.property_id,
        "idempotency_key": m.idempotency_key,
        // Not JSON only in a damaged store: exported as its text, and its hash will not match.
        "payload": event
            .payload
            .to_value()
            .unwrap_or_else(|_| Value::String(event.payload.to_string())),
        "hash": link.hash.to_string(),
        "previous_hash": link.previous_hash.to_string(),
    })
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
