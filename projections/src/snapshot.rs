//! A projection's state and checkpoint on disk: one JSON file written atomically (write a
//! temporary file, sync it, rename it over the old one, sync the directory), so what is read
//! back is always a state together with the exact position it reflects.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use talo_events_schema::envelope::Position;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot `{path}`: {source}")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The last event a snapshot reflects. Checked against the log on start, so a snapshot is
/// never trusted against a log that was replaced or restored from an older backup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub position: Position,
    /// `None` at the start of the log.
    pub last_event: Option<EventRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub stream: String,
    pub revision: u64,
    pub event_id: Uuid,
}

#[derive(Serialize)]
struct SnapshotOut<'a, S> {
    projection: &'a str,
    version: u32,
    checkpoint: &'a Checkpoint,
    state: &'a S,
}

#[derive(Deserialize)]
struct SnapshotIn<S> {
    projection: String,
    version: u32,
    checkpoint: Checkpoint,
    state: S,
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
    let tmp = path.with_extension("json.tmp");
    {
        let file = File::create(&tmp).map_err(io)?;
        let mut writer = BufWriter::new(file);
        serde_json::to_writer(
            &mut writer,
            &SnapshotOut {
                projection,
                version,
                checkpoint,
                state,
            },
        )
        .map_err(|source| SnapshotError::Format {
            path: path.to_owned(),
            source,
        })?;
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
    let snapshot: SnapshotIn<S> =
        serde_json::from_reader(BufReader::new(file)).map_err(|source| SnapshotError::Format {
            path: path.to_owned(),
            source,
        })?;
    if snapshot.projection != projection || snapshot.version != version {
        return Ok(None);
    }
    Ok(Some((snapshot.checkpoint, snapshot.state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_snapshot_loads_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
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
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn another_version_is_ignored_so_the_projection_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        save(&path, "p", 1, &Checkpoint::default(), &0).unwrap();
        assert_eq!(load::<i32>(&path, "p", 2).unwrap(), None);
        assert_eq!(
            load::<i32>(&dir.path().join("none.json"), "p", 1).unwrap(),
            None
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = load::<i32>(&path, "p", 1).unwrap_err();
        assert!(err.to_string().contains("p.json"), "{err}");
    }
}
