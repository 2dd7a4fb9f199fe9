//! The auditor's commands of the `talo` binary, run as an auditor would on a data directory:
//! `verify` passes an untouched demo store and names the position of a tampered event,
//! `anchors` prints the days, `export` writes lines whose hashes an outsider can recompute and
//! chain, with the schemas beside them, and `replay` finds every read model equal to its
//! snapshot until a snapshot is altered. Bad flags are refused by name.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use talo_store::chain::{ChainHash, ChainedEvent};
use talo_store::conformance::sample_event;
use talo_store::{EventStore, ExpectedRevision, RecordingClock, SqliteEventStore, SqliteOptions};
use uuid::Uuid;

fn talo(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_talo"))
        .args(args)
        .args(["--data", data.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .expect("talo runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A data directory with the demo organisation seeded and the read models' snapshots written.
fn demo_data() -> (tempfile::TempDir, u64) {
    let data = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let head = runtime.block_on(async {
        let mut config = talo_api::Config::new(data.path());
        config.notifications = false;
        let talo = talo_api::Talo::open(config).await.unwrap();
        talo_api::demo::seed(&talo, "Isännöinti Talo Oy", "1572860-0", Utc::now())
            .await
            .unwrap();
        let head = talo.store.head().await.unwrap().commit;
        talo.shutdown().await;
        head
    });
    (data, head)
}

fn tamper(data: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(data.join("events.sqlite")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn verify_passes_an_untouched_store_and_names_a_tampered_position() {
    let (data, head) = demo_data();
    let intact = talo(&["verify"], data.path());
    assert!(intact.status.success(), "{}", stderr(&intact));
    let out = stdout(&intact);
    assert!(out.contains(&format!("events verified: {head}")), "{out}");
    assert!(
        out.contains(&format!("head: position {head} hash ")),
        "{out}"
    );
    assert!(out.contains("the log is intact"), "{out}");

    tamper(
        data.path(),
        "UPDATE events SET payload = replace(payload, 'Talo', 'Tale') WHERE position = 1",
    );
    let broken = talo(&["verify"], data.path());
    assert_eq!(broken.status.code(), Some(2), "{}", stdout(&broken));
    let out = stdout(&broken);
    assert!(
        out.contains("BROKEN at position 1: position 1: content changed"),
        "{out}"
    );
    assert!(out.contains("events verified: 0"), "{out}");
}

#[test]
fn verify_names_a_deleted_event() {
    let (data, _) = demo_data();
    tamper(data.path(), "DELETE FROM events WHERE position = 7");
    let broken = talo(&["verify"], data.path());
    assert_eq!(broken.status.code(), Some(2));
    let out = stdout(&broken);
    assert!(out.contains("BROKEN at position 7"), "{out}");
    assert!(out.contains("gap in positions"), "{out}");
    assert!(out.contains("events verified: 6"), "{out}");
}

#[test]
fn the_auditor_tools_refuse_a_directory_without_a_store() {
    let empty = tempfile::tempdir().unwrap();
    for command in ["verify", "anchors", "export", "replay"] {
        let output = talo(&[command], empty.path());
        assert_eq!(output.status.code(), Some(1), "{command}");
        assert!(
            stderr(&output).contains("--data") && stderr(&output).contains("no event store"),
            "{command}: {}",
            stderr(&output)
        );
        assert!(
            !empty.path().join("events.sqlite").exists(),
            "{command} created a store"
        );
    }
}

/// 10:00 UTC on the given day of March 2024.
fn march(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, 10, 0, 0).unwrap()
}

#[test]
fn anchors_prints_one_line_per_ended_day_within_the_range() {
    let data = tempfile::tempdir().unwrap();
    let now = Arc::new(Mutex::new(march(1)));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let links = runtime.block_on(async {
        let clock = Arc::clone(&now);
        let mut options = SqliteOptions::new(data.path().join("events.sqlite"));
        options.clock = RecordingClock::new(move || *clock.lock().unwrap());
        let store = SqliteEventStore::open(options).unwrap();
        for day in 1..=3 {
            *now.lock().unwrap() = march(day);
            store
                .append(
                    "days",
                    ExpectedRevision::Any,
                    vec![sample_event("Day", 0), sample_event("Day", 1)],
                )
                .await
                .unwrap();
        }
        let links = store.read_chain(Default::default(), 10).await.unwrap();
        store.close().await;
        links
    });
    let all = talo(&["anchors"], data.path());
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(
        stdout(&all),
        format!(
            "2024-03-01 2 {}\n2024-03-02 4 {}\n",
            links[1].hash, links[3].hash
        )
    );
    let second = talo(
        &["anchors", "--from", "2024-03-02", "--until", "2024-03-02"],
        data.path(),
    );
    assert_eq!(stdout(&second), format!("2024-03-02 4 {}\n", links[3].hash));

    let inverted = talo(
        &["anchors", "--from", "2024-03-02", "--until", "2024-03-01"],
        data.path(),
    );
    assert_eq!(inverted.status.code(), Some(1));
    assert!(
        stderr(&inverted).contains("--from 2024-03-02 is after --until 2024-03-01"),
        "{}",
        stderr(&inverted)
    );
    let malformed = talo(&["anchors", "--from", "1.3.2024"], data.path());
    assert!(!malformed.status.success());
    assert!(
        stderr(&malformed).contains("--from"),
        "{}",
        stderr(&malformed)
    );

    let verified = talo(&["verify"], data.path());
    assert!(verified.status.success());
    assert!(stdout(&verified).contains("anchors checked: 2"));
}

/// Recomputes a line's hash from the line alone, as someone without Talo would.
fn recompute(line: &Value) -> ChainHash {
    let uuid = |v: &Value| v.as_str().map(|s| Uuid::parse_str(s).unwrap());
    let micros = |v: &Value| {
        DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_micros()
    };
    let payload = line["payload"].to_string();
    let previous: ChainHash = line["previous_hash"].as_str().unwrap().parse().unwrap();
    ChainedEvent {
        position: line["position"].as_u64().unwrap(),
        event_id: uuid(&line["event_id"]).unwrap(),
        stream: line["stream"].as_str().unwrap(),
        revision: line["revision"].as_u64().unwrap(),
        event_type: line["event_type"].as_str().unwrap(),
        schema_version: line["schema_version"].as_u64().unwrap() as u32,
        occurred_at: micros(&line["occurred_at"]),
        recorded_at: micros(&line["recorded_at"]),
        actor_id: uuid(&line["actor"]["person_id"]).unwrap(),
        actor_role: line["actor"]["role"].as_str().unwrap(),
        channel: line["channel"].as_str().unwrap(),
        correlation_id: uuid(&line["correlation_id"]).unwrap(),
        causation_id: uuid(&line["causation_id"]),
        organisation_id: uuid(&line["organisation_id"]).unwrap(),
        property_id: uuid(&line["property_id"]),
        idempotency_key: line["idempotency_key"].as_str(),
        payload: &payload,
    }
    .hash(&previous)
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn export_writes_lines_whose_hashes_recompute_and_chain_with_the_schemas_beside() {
    let (data, head) = demo_data();
    let out = data.path().join("history.jsonl");
    let exported = talo(&["export", "--out", out.to_str().unwrap()], data.path());
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert!(
        stdout(&exported).contains(&format!("exported {head} events")),
        "{}",
        stdout(&exported)
    );
    let lines = read_lines(&out);
    assert_eq!(lines.len() as u64, head);
    let mut previous = ChainHash::GENESIS.to_string();
    for (n, line) in (1..).zip(&lines) {
        assert_eq!(line["position"], n);
        assert_eq!(line["previous_hash"], previous.as_str(), "line {n}");
        assert_eq!(
            recompute(line).to_string(),
            line["hash"].as_str().unwrap(),
            "line {n}: the hash recomputes from the line"
        );
        previous = line["hash"].as_str().unwrap().to_owned();
    }
    let verify = stdout(&talo(&["verify"], data.path()));
    assert!(verify.contains(&format!("hash {previous}")), "{verify}");

    let schemas = data.path().join("history.jsonl.schemas");
    for line in &lines {
        let file = schemas.join(format!(
            "{}.v{}.json",
            line["event_type"].as_str().unwrap(),
            line["schema_version"]
        ));
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(schema.is_object());
    }
    let line_schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schemas.join("export-line.json")).unwrap())
            .unwrap();
    assert_eq!(
        line_schema["required"].as_array().unwrap().len(),
        lines[0].as_object().unwrap().len(),
        "the line schema names every field"
    );

    // One stream: its events only, each still checking against its own previous hash.
    let stream = lines[0]["stream"].as_str().unwrap();
    let one = talo(&["export", "--stream", stream], data.path());
    assert!(one.status.success(), "{}", stderr(&one));
    let streamed: Vec<Value> = stdout(&one)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: Vec<&Value> = lines.iter().filter(|l| l["stream"] == stream).collect();
    assert_eq!(streamed.iter().collect::<Vec<_>>(), expected);
    for line in &streamed {
        assert_eq!(recompute(line).to_string(), line["hash"].as_str().unwrap());
    }
}

#[test]
fn export_refuses_bad_ranges_and_streams_by_flag() {
    let (data, _) = demo_data();
    let malformed = talo(&["export", "--from", "yesterday"], data.path());
    assert!(!malformed.status.success());
    assert!(
        stderr(&malformed).contains("--from"),
        "{}",
        stderr(&malformed)
    );
    let inverted = talo(
        &[
            "export",
            "--from",
            "2024-03-02T00:00:00Z",
            "--until",
            "2024-03-01T00:00:00Z",
        ],
        data.path(),
    );
    assert_eq!(inverted.status.code(), Some(1));
    assert!(
        stderr(&inverted).contains("is not before --until"),
        "{}",
        stderr(&inverted)
    );
    let stream = talo(&["export", "--stream", "$all"], data.path());
    assert_eq!(stream.status.code(), Some(1));
    assert!(
        stderr(&stream).contains("--stream: stream name"),
        "{}",
        stderr(&stream)
    );
}

#[test]
fn replay_finds_every_read_model_equal_until_a_snapshot_is_altered() {
    let (data, _) = demo_data();
    let equal = talo(&["replay"], data.path());
    let out = stdout(&equal);
    assert!(equal.status.success(), "{out}{}", stderr(&equal));
    assert!(
        out.contains("register: equal to its snapshot at position"),
        "{out}"
    );
    assert!(out.contains("every read model equals its replay"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(": equal to its snapshot"))
            .count(),
        out.lines().count() - 1,
        "every read model has a snapshot to compare: {out}"
    );

    // The live read model says something its events do not.
    // The snapshot is binary: an equally long name is swapped in place, byte for byte.
    let path = data.path().join("read-models/register.snapshot");
    let snapshot = std::fs::read(&path).unwrap();
    let (name, other) = (
        "Isännöinti Talo Oy".as_bytes(),
        "Isännöinti Muut Oy".as_bytes(),
    );
    let at = snapshot
        .windows(name.len())
        .position(|w| w == name)
        .expect("the organisation's name is in the register's snapshot");
    let mut edited = snapshot.clone();
    edited[at..at + name.len()].copy_from_slice(other);
    std::fs::write(&path, edited).unwrap();
    let differs = talo(&["replay"], data.path());
    let out = stdout(&differs);
    assert_eq!(differs.status.code(), Some(2), "{out}");
    assert!(out.contains("register: DIFFERS from its snapshot"), "{out}");
    assert!(out.contains("read models that differ: register"), "{out}");
}
