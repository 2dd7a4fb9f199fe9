//! A projection's state and checkpoint on disk: one file written atomically (write a
//! temporary file, sync it, rename it over the old one, sync the directory), so what is read
//! back is always a state together with the exact position it reflects.
//!
//! The file is a text line naming the format, then MessagePack: a header (projection and
//! version), then the checkpoint and the state. Snapshots exist to make startup fast, and for a
//! ten-million-event organisation the read models were 4 GB of JSON: formatting and parsing it
//! (escaping every string, printing every UUID as text) took longer than the replay it saved.
//! MessagePack rather than a schema-less format such as postcard, because some states hold
//! internally tagged enums from the event payloads, which only a self-describing format can
//! read back. The format is an internal cache, not an interface: `talo replay` and `talo
//! export` are how state and history are inspected.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use talo_events_schema::envelope::{Position, RecordedEvent};
use uuid::Uuid;

/// The first bytes of every snapshot file: what it is and in which encoding.
const MAGIC: &[u8] = b"talo-snapshot msgpack 1\n";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot `{path}`: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// The snapshot file of `projection` in a snapshot directory.
pub fn file_name(projection: &str) -> String {
    format!("{projection}.snapshot")
}

/// The last event a snapshot reflects. Checked against the log on start, so a snapshot is
/// never trusted against a log that was replaced or restored from an older backup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub position: Position,
    /// `None` at the start of the log.
    pub last_event: Option<EventRef>,
}

impl Checkpoint {
    /// The checkpoint of a state that has folded every event up to and including `event`.
    pub fn after(event: &RecordedEvent) -> Self {
        Checkpoint {
            position: event.position,
            last_event: Some(EventRef {
                stream: event.stream.clone(),
                revision: event.revision,
                event_id: event.event_id,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub stream: String,
    pub revision: u64,
    pub event_id: Uuid,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    projection: &'a str,
    version: u32,
}

/// What names a snapshot, read first so a snapshot of another projection or version is
/// skipped without decoding its state (which may not even have the same shape).
#[derive(Deserialize)]
struct HeaderIn {
    projection: String,
    version: u32,
}

/// Writes `state` as of `checkpoint` to `path`, replacing the previous snapshot atomically.
pub fn save<S: Serialize>(
    path: &Path,
    projection: &str,
    version: u32,
    checkpoint: &Checkpoint,
    state: &S,
) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        let file = File::create(&tmp).map_err(io)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        writer.write_all(MAGIC).map_err(io)?;
        let mut encoder = rmp_serde::Serializer::new(&mut writer);
        HeaderOut {
            projection,
            version,
        }
        .serialize(&mut encoder)
        .and_then(|()| (checkpoint, state).serialize(&mut encoder))
        .map_err(|e| format_error(path, e.to_string()))?;
        writer.flush().map_err(io)?;
        writer.get_ref().sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

/// Reads a snapshot. `None` when there is none, or it belongs to another projection or
/// version (the projection then rebuilds from zero).
pub fn load<S: DeserializeOwned>(
    path: &Path,
    projection: &str,
    version: u32,
) -> Result<Option<(Checkpoint, S)>, SnapshotError> {
    let Some(mut reader) = open(path, projection, version)? else {
        return Ok(None);
    };
    <(Checkpoint, S)>::deserialize(&mut rmp_serde::Deserializer::new(&mut reader))
        .map(Some)
        .map_err(|e| format_error(path, e.to_string()))
}

/// Reads only a snapshot's checkpoint, `None` as [`load`] would: the state after it is not
/// read at all (for the ledgers of a large organisation, a gigabyte).
pub fn load_checkpoint(
    path: &Path,
    projection: &str,
    version: u32,
) -> Result<Option<Checkpoint>, SnapshotError> {
    let Some(mut reader) = open(path, projection, version)? else {
        return Ok(None);
    };
    // `(checkpoint, state)` is a MessagePack array of two: its marker is the one byte 0x92.
    let mut marker = [0u8; 1];
    if reader.read_exact(&mut marker).is_err() || marker != [0x92] {
        return Err(format_error(path, "no checkpoint after the header".into()));
    }
    Checkpoint::deserialize(&mut rmp_serde::Deserializer::new(&mut reader))
        .map(Some)
        .map_err(|e| format_error(path, e.to_string()))
}

/// Opens a snapshot and reads its header: the reader is then at the checkpoint and state, or
/// `None` when there is no snapshot of this projection and version.
fn open(
    path: &Path,
    projection: &str,
    version: u32,
) -> Result<Option<BufReader<File>>, SnapshotError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    // Decoded as it is read: reading a gigabyte-sized file into memory first cost as much
    // memory again, and the time to fault those pages in.
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; MAGIC.len()];
    if reader.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(format_error(
            path,
            "not a Talo snapshot (its header is missing)".into(),
        ));
    }
    let header = HeaderIn::deserialize(&mut rmp_serde::Deserializer::new(&mut reader))
        .map_err(|e| format_error(path, e.to_string()))?;
    Ok((header.projection == projection && header.version == version).then_some(reader))
}

fn format_error(path: &Path, reason: String) -> SnapshotError {
    SnapshotError::Format {
        path: path.to_owned(),
        reason,
    }
}

/// Removes the JSON snapshot an earlier release kept for `projection` in `dir`: it is never
/// read again, and for a large organisation it is gigabytes.
pub fn remove_json_snapshot(dir: &Path, projection: &str) {
    let old = dir.join(format!("{projection}.json"));
    match fs::remove_file(&old) {
        Ok(()) => {
            tracing::info!(path = %old.display(), "removed a JSON snapshot of an earlier release")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %old.display(), error = %e, "could not remove an old JSON snapshot")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_snapshot_loads_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        let checkpoint = Checkpoint {
            position: Position::sequence(7),
            last_event: Some(EventRef {
                stream: "s".into(),
                revision: 3,
                event_id: Uuid::now_v7(),
            }),
        };
        save(&path, "p", 1, &checkpoint, &vec![1, 2, 3]).unwrap();
        let loaded: Option<(Checkpoint, Vec<i32>)> = load(&path, "p", 1).unwrap();
        assert_eq!(loaded, Some((checkpoint, vec![1, 2, 3])));
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn internally_tagged_payload_enums_round_trip() {
        // States hold payload types such as `StaffScope` (`#[serde(tag = "scope")]`), which
        // a format without self-description cannot read back.
        use talo_events_schema::register::StaffScope;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        let scopes = vec![
            StaffScope::Organisation,
            StaffScope::Property {
                property_id: Uuid::now_v7(),
            },
        ];
        save(&path, "p", 1, &Checkpoint::default(), &scopes).unwrap();
        let loaded: Option<(Checkpoint, Vec<StaffScope>)> = load(&path, "p", 1).unwrap();
        assert_eq!(loaded, Some((Checkpoint::default(), scopes)));
    }

    #[test]
    fn another_version_is_ignored_so_the_projection_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        save(&path, "p", 1, &Checkpoint::default(), &0).unwrap();
        assert_eq!(load::<i32>(&path, "p", 2).unwrap(), None);
        assert_eq!(
            load::<i32>(&dir.path().join("none.snapshot"), "p", 1).unwrap(),
            None
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        std::fs::write(&path, "{not json").unwrap();
        let err = load::<i32>(&path, "p", 1).unwrap_err();
        assert!(err.to_string().contains("p.snapshot"), "{err}");
    }

    #[test]
    fn the_checkpoint_reads_alone_and_a_file_without_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        let checkpoint = Checkpoint {
            position: Position::sequence(9),
            last_event: None,
        };
        save(&path, "p", 1, &checkpoint, &vec![4, 5, 6]).unwrap();
        assert_eq!(load_checkpoint(&path, "p", 1).unwrap(), Some(checkpoint));
        assert_eq!(load_checkpoint(&path, "p", 2).unwrap(), None);

        // A header and nothing after it.
        let mut cut = MAGIC.to_vec();
        rmp_serde::encode::write(
            &mut cut,
            &HeaderOut {
                projection: "p",
                version: 1,
            },
        )
        .unwrap();
        std::fs::write(&path, cut).unwrap();
        let err = load_checkpoint(&path, "p", 1).unwrap_err();
        assert!(err.to_string().contains("no checkpoint"), "{err}");
    }
}
