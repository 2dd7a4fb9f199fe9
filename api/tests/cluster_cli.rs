//! The `talo` binary's cluster-facing commands, run as an operator would: `migrate` copies a
//! store into another and, run again, copies nothing; `--store` and `--to` refuse what is not
//! a store by name; and a binary built without the `kurrentdb` feature says how to get one
//! that can use a cluster, rather than trying.

use std::path::Path;
use std::process::{Command, Output};

use talo_events_schema::envelope::Position;
use talo_store::conformance::{sample_event, unique_stream};
use talo_store::{EventStore, ExpectedRevision, LogFilter, SqliteEventStore, SqliteOptions};

fn talo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_talo"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TALO_STORE")
        .output()
        .expect("talo runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn open(dir: &Path) -> SqliteEventStore {
    SqliteEventStore::open(SqliteOptions::new(dir.join("events.sqlite"))).expect("store")
}

/// A data directory whose store holds `count` events over three streams.
fn source(count: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(dir.path());
        let streams = [unique_stream("a"), unique_stream("b"), unique_stream("c")];
        for n in 0..count {
            store
                .append(
                    &streams[(n % 3) as usize],
                    ExpectedRevision::Any,
                    vec![sample_event("migrated", n)],
                )
                .await
                .unwrap();
        }
        store.close().await;
    });
    dir
}

fn ids(dir: &Path) -> Vec<(uuid::Uuid, String, u64)> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(dir);
        let events = store
            .read_all(Position::START, 10_000, &LogFilter::default())
            .await
            .unwrap();
        store.close().await;
        events
            .into_iter()
            .map(|e| (e.event_id, e.stream, e.revision))
            .collect()
    })
}

#[test]
fn migrate_copies_a_store_and_a_second_run_copies_nothing() {
    let from = source(25);
    let to = tempfile::tempdir().unwrap();
    let args = [
        "migrate",
        "--from",
        from.path().to_str().unwrap(),
        "--to",
        to.path().to_str().unwrap(),
        "--page",
        "4",
    ];
    let first = talo(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("copied 25 events into the embedded store"),
        "{}",
        stdout(&first)
    );
    assert_eq!(
        ids(to.path()),
        ids(from.path()),
        "ids, streams and revisions"
    );

    let again = talo(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    let out = stdout(&again);
    assert!(out.contains("resumed after source position 25"), "{out}");
    assert!(out.contains("copied 0 events"), "{out}");
}

#[test]
fn migrate_refuses_a_missing_source_and_a_bad_target_by_name() {
    let empty = tempfile::tempdir().unwrap();
    let missing = talo(&[
        "migrate",
        "--from",
        empty.path().to_str().unwrap(),
        "--to",
        "kurrentdb://localhost:2113?tls=false",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("--from") && stderr(&missing).contains("no event store there"),
        "{}",
        stderr(&missing)
    );

    let from = source(1);
    let bad = talo(&[
        "migrate",
        "--from",
        from.path().to_str().unwrap(),
        "--to",
        "kurrentdb://node1?tls=nope",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains(
            "--to: connection string parameter `tls`: expected true or false, got `nope`"
        ),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn serve_refuses_a_store_that_is_not_one_naming_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let refused = talo(&[
        "serve",
        "--data",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--store",
        "postgres://db/talo",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("--store: expected `embedded` or a KurrentDB connection string"),
        "{}",
        stderr(&refused)
    );
}

#[cfg(not(feature = "kurrentdb"))]
#[test]
fn without_the_feature_a_cluster_is_refused_saying_how_to_build_talo() {
    let data = tempfile::tempdir().unwrap();
    let serve = talo(&[
        "serve",
        "--data",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--store",
        "kurrentdb://admin:s3cret@node1:2113?tls=false",
    ]);
    assert_eq!(serve.status.code(), Some(1));
    let message = stderr(&serve);
    assert!(
        message.contains("this talo was built without the `kurrentdb` feature")
            && message.contains("--features kurrentdb"),
        "{message}"
    );
    assert!(
        !message.contains("s3cret"),
        "the password never shows: {message}"
    );

    let from = source(1);
    let migrate = talo(&[
        "migrate",
        "--from",
        from.path().to_str().unwrap(),
        "--to",
        "kurrentdb://node1:2113?tls=false",
    ]);
    assert_eq!(migrate.status.code(), Some(1));
    assert!(
        stderr(&migrate).contains("--to kurrentdb://node1:2113?tls=false: this talo was built without the `kurrentdb` feature"),
        "{}",
        stderr(&migrate)
    );
}
