//! The committed JSON Schemas under `schemas/` must be exactly what the Rust types generate.
//! Run with `UPDATE_SNAPSHOTS=1` to rewrite them after a deliberate change (and bump the event's
//! version with an upcaster when stored shapes change).

use std::collections::BTreeSet;
use std::path::PathBuf;

use talo_events_schema::catalog::payload_schemas;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

#[test]
fn committed_schemas_match_the_code() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let dir = schema_dir();
    let mut expected_files = BTreeSet::new();
    let mut drifted = Vec::new();
    for (file, schema) in payload_schemas() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(&file);
        expected_files.insert(file.clone());
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            drifted.push(file);
        }
    }
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| !expected_files.contains(f))
        .collect();
    assert!(
        drifted.is_empty(),
        "schemas differ from the code (run `UPDATE_SNAPSHOTS=1 cargo test -p talo-events-schema`): {drifted:?}"
    );
    assert!(
        stale.is_empty(),
        "schema files for no current event type: {stale:?}"
    );
}
