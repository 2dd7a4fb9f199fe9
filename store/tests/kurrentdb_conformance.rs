//! The conformance suite against a live KurrentDB server or cluster.
//!
//! Runs only with the `kurrentdb` feature and `TALO_KURRENTDB_URL` set, e.g.
//! `TALO_KURRENTDB_URL=kurrentdb://localhost:2113?tls=false cargo test -p talo-store --features
//! kurrentdb --test kurrentdb_conformance` (`deploy/README.md` starts a cluster for it).
//! Without a server it prints one line saying it was skipped. Every case writes to streams of
//! its own, so the server need not be empty, but no other test run may write to it at the
//! same time: several cases compare the log's head before and after.

use std::io::Write;

const URL_VARIABLE: &str = "TALO_KURRENTDB_URL";

#[cfg(not(feature = "kurrentdb"))]
#[test]
fn conformance_suite_on_a_live_server() {
    say(&format!(
        "kurrentdb conformance: skipped (talo-store built without the `kurrentdb` feature; run {URL_VARIABLE}=kurrentdb://localhost:2113?tls=false cargo test -p talo-store --features kurrentdb --test kurrentdb_conformance)"
    ));
}

#[cfg(feature = "kurrentdb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite_on_a_live_server() {
    use talo_store::conformance::{self, Contract};
    use talo_store::kurrentdb::{ConnectionString, KurrentDbEventStore};

    let Ok(url) = std::env::var(URL_VARIABLE) else {
        say(&format!(
            "kurrentdb conformance: skipped (set {URL_VARIABLE}=kurrentdb://localhost:2113?tls=false to run against a live server)"
        ));
        return;
    };
    let connection: ConnectionString = url
        .parse()
        .unwrap_or_else(|e| panic!("{URL_VARIABLE}: {e}"));
    say(&format!(
        "kurrentdb conformance: running against {connection}"
    ));
    let store = KurrentDbEventStore::connect(connection)
        .await
        .unwrap_or_else(|e| panic!("{URL_VARIABLE}: {e}"));
    // One client for every case: each case's streams are its own.
    conformance::run_all_with(Contract::CLUSTER, || {
        let store = store.clone();
        async move { store }
    })
    .await;
}

/// Writes past the test harness's output capture, so the line shows in a normal run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
