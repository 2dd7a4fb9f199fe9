//! The `talo` binary as `make run` uses it: `serve --demo` seeds, prints tokens and the
//! GraphiQL URL, answers with those tokens, stops cleanly on SIGTERM, and on the next start finds
//! the same demo organisation. `talo token` mints tokens the server accepts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use talo_api::auth::TokenKeys;

struct Server {
    child: Child,
    address: String,
}

fn serve(data: &std::path::Path) -> Server {
    serve_with(data, &[])
}

fn serve_with(data: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talo"))
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--demo",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("talo starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("GraphiQL: http://") {
            let address = rest.split('/').next().unwrap().to_owned();
            return Server { child, address };
        }
    }
    let status = child.wait().unwrap();
    panic!("talo exited ({status}) before printing the GraphiQL URL");
}

impl Server {
    fn post(&self, token: &str, query: &str) -> String {
        let body = serde_json::json!({ "query": query }).to_string();
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /graphql HTTP/1.1\r\nHost: talo\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "talo stopped with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().unwrap();
        panic!("talo did not stop on SIGTERM");
    }
}

/// Runs `talo serve --data DATA FLAGS` (on a free port unless FLAGS name a `--listen`), which
/// must exit with a failure; returns what it wrote to stderr.
fn serve_refused(data: &std::path::Path, flags: &[&str]) -> String {
    let listen: &[&str] = if flags.contains(&"--listen") {
        &[]
    } else {
        &["--listen", "127.0.0.1:0"]
    };
    let output = Command::new(env!("CARGO_BIN_EXE_talo"))
        .args(["serve", "--data", data.to_str().unwrap()])
        .args(listen)
        .args(flags)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "served: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn demo_tokens(data: &std::path::Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(data.join("demo-tokens.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn serve_demo_answers_stops_cleanly_and_keeps_its_demo_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let tokens = demo_tokens(data.path());
    for role in talo_api::demo::ROLES {
        assert!(tokens.contains_key(role), "a token for {role}");
    }
    let me = server.post(
        tokens["resident"].as_str().unwrap(),
        "{ me { name } myFaultReports { totalCount } }",
    );
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    assert!(me.contains("Aino Asukas"), "{me}");
    server.stop();
    assert!(
        data.path()
            .join("read-models/fault_reports.snapshot")
            .exists(),
        "snapshots written on stop"
    );

    let again = serve(data.path());
    let tokens = demo_tokens(data.path());
    let me = again.post(
        tokens["auditor"].as_str().unwrap(),
        "{ auditLog(first: 1) { edges { node { eventType } } } }",
    );
    assert!(me.contains("OrganisationRegistered"), "{me}");
    again.stop();
}

#[test]
fn token_mints_with_the_data_directorys_secret() {
    let data = tempfile::tempdir().unwrap();
    let person = uuid::Uuid::now_v7();
    let organisation = uuid::Uuid::now_v7();
    let output = Command::new(env!("CARGO_BIN_EXE_talo"))
        .args([
            "token",
            "--data",
            data.path().to_str().unwrap(),
            "--person",
            &person.to_string(),
            "--organisation",
            &organisation.to_string(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    let keys = TokenKeys::load(None, data.path()).unwrap();
    let caller = keys
        .verify_header(&format!("Bearer {}", token.trim()))
        .unwrap();
    assert_eq!(
        (caller.person_id, caller.organisation_id),
        (person, organisation)
    );
}

#[test]
fn demo_refuses_a_data_directory_with_other_history() {
    let data = tempfile::tempdir().unwrap();
    // A first server without --demo writes nothing; give the store an event of its own.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let talo = talo_api::Talo::open(talo_api::Config::new(data.path()))
            .await
            .unwrap();
        talo_api::demo::seed(&talo, "Toinen Oy", "1572860-0", chrono::Utc::now())
            .await
            .unwrap();
        talo.shutdown().await;
    });
    let stderr = serve_refused(data.path(), &["--demo"]);
    assert!(
        stderr.contains("--demo needs an empty data directory"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_malformed_document_size_naming_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let stderr = serve_refused(data.path(), &["--max-document-bytes", "lots"]);
    assert!(stderr.contains("--max-document-bytes"), "{stderr}");
}

#[test]
fn serve_refuses_an_iban_with_wrong_check_digits_naming_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let stderr = serve_refused(data.path(), &["--iban", "FI79 4405 2020 0360 83"]);
    assert!(
        stderr.contains("--iban: iban: `FI79 4405 2020 0360 83`: the check digits do not match"),
        "{stderr}"
    );
}

/// How many notifications the outbox holds, polled for up to `wait`.
fn outbox_size(server: &Server, token: &str, wait: Duration) -> usize {
    let deadline = Instant::now() + wait;
    loop {
        let answer = server.post(token, "{ notificationOutbox(first: 100) { totalCount } }");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let count = json["data"]["notificationOutbox"]["totalCount"]
            .as_u64()
            .unwrap_or(0) as usize;
        if count > 0 || Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn no_notifications_keeps_the_outbox_empty() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let token = demo_tokens(data.path())["customer_service"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        outbox_size(&server, &token, Duration::from_secs(10)) > 0,
        "the demo's history notifies by default"
    );
    server.stop();

    let quiet = tempfile::tempdir().unwrap();
    let server = serve_with(quiet.path(), &["--no-notifications"]);
    let token = demo_tokens(quiet.path())["customer_service"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(outbox_size(&server, &token, Duration::from_secs(2)), 0);
    server.stop();
}

#[test]
fn a_second_server_on_a_served_data_directory_is_refused_and_the_first_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let first = serve(data.path());
    let stderr = serve_refused(data.path(), &[]);
    assert!(stderr.contains("is served by another Talo"), "{stderr}");
    assert!(stderr.contains("serving.lock"), "{stderr}");

    let tokens = demo_tokens(data.path());
    let me = first.post(tokens["resident"].as_str().unwrap(), "{ me { name } }");
    assert!(me.contains("Aino Asukas"), "{me}");
    first.stop();
    // Stopped, the directory is free again.
    serve(data.path()).stop();
}

#[test]
fn serve_on_a_taken_port_exits_at_once_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let stderr = serve_refused(data.path(), &["--listen", &address]);
    assert!(stderr.contains(&format!("binding {address}")), "{stderr}");
    assert!(
        !data.path().join("events.sqlite").exists(),
        "nothing opened before the port was had"
    );
}
