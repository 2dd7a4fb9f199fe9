//! The notification outbox: events that matter to a person become SMS and email notifications,
//! delivered through the transport with their status recorded, retried after failures, and
//! counted per channel.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use serde_json::json;
use talo_api::notifier::{FileTransport, Outgoing, Transport};
use talo_projections::notifications::{NotificationMessage, NotificationRecord};
use talo_tests::*;
use uuid::Uuid;

/// Keeps what it was given; fails while `failing` is set.
#[derive(Default)]
struct Recording {
    /// Every attempt, failed or not.
    tried: Mutex<Vec<Outgoing>>,
    sent: Mutex<Vec<Outgoing>>,
    failing: Mutex<bool>,
}

impl Transport for Recording {
    fn deliver(&self, n: &Outgoing) -> Result<(), String> {
        self.tried.lock().unwrap().push(n.clone());
        if *self.failing.lock().unwrap() {
            return Err("gateway unreachable".into());
        }
        self.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
}

impl Recording {
    /// The notifications tried whose subject names `ticket`.
    fn tried_about(&self, ticket: &str) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .tried
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.message.subject.contains(ticket))
            .map(|n| n.notification_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// The outbox's records of `ids`.
fn records_of(server: &TestServer, ids: &[Uuid]) -> Vec<NotificationRecord> {
    let view = server.talo.read_models.notifications.read();
    view.for_person(
        server.org().organisation_id,
        server.org().person("resident"),
    )
    .into_iter()
    .filter(|n| ids.contains(&n.notification_id))
    .cloned()
    .collect()
}

const MINE: &str = "query($first: Int, $after: String) { myNotifications(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id queuedAt channel address subject status causeType attempts } } }";

/// Every one of the caller's notifications, newest first, read `first` at a time.
async fn mine_paged(server: &TestServer, role: &str, first: usize) -> Vec<serde_json::Value> {
    server
        .every_page(role, MINE, "myNotifications", first)
        .await
}

async fn mine(server: &TestServer, role: &str) -> Vec<serde_json::Value> {
    mine_paged(server, role, 100).await
}

#[tokio::test]
async fn a_reporter_is_told_by_sms_and_email_when_their_report_is_acknowledged() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    let notes = mine(&server, "resident").await;
    let about: Vec<_> = notes
        .iter()
        .filter(|n| n["subject"].as_str().unwrap().contains(&ticket))
        .collect();
    let channels: Vec<&str> = about
        .iter()
        .map(|n| n["channel"].as_str().unwrap())
        .collect();
    assert!(
        channels.contains(&"SMS") && channels.contains(&"EMAIL"),
        "{about:?}"
    );
    assert!(
        about
            .iter()
            .all(|n| n["status"] == "DELIVERED" && n["causeType"] == "FaultReportAcknowledged")
    );
    // Nobody else sees them.
    assert!(
        mine(&server, "neighbour")
            .await
            .iter()
            .all(|n| !n["subject"].as_str().unwrap().contains(&ticket))
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_back_off_and_then_given_up() {
    let transport = Arc::new(Recording::default());
    *transport.failing.lock().unwrap() = true;
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_report(&server).await;
    // This report's two notifications (SMS and email), followed by their attempts; the demo's
    // own history is notified too, on its own schedule.
    let ours = || records_of(&server, &transport.tried_about(&ticket));
    let attempts = || ours().iter().map(|n| n.attempts).min().unwrap_or(0);
    server
        .eventually("a first failed attempt of both", || {
            ours().len() == 2 && attempts() >= 1
        })
        .await;
    let failed = mine(&server, "resident").await;
    assert!(
        failed
            .iter()
            .any(|n| n["status"] == "FAILED" && n["subject"].as_str().unwrap().contains(&ticket))
    );
    // Each retry waits its turn: 1, 5, 30 and 120 minutes after the failure before it.
    for minutes in [1, 5, 30, 120] {
        let before = attempts();
        server.clock.advance(Duration::minutes(minutes));
        server
            .eventually("the next attempt", || attempts() > before)
            .await;
    }
    server
        .eventually("given up after five attempts", || {
            ours().iter().all(|n| {
                n.status == talo_projections::notifications::DeliveryStatus::GaveUp
                    && n.attempts == 5
            })
        })
        .await;
    let counts = server
        .as_role("property_manager", "query($from: DateTime!, $until: DateTime!) { notificationCounts(from: $from, until: $until) { channel queued delivered failedAttempts gaveUp } }", json!({ "from": "2026-03-01T00:00:00Z", "until": "2026-03-31T00:00:00Z" }))
        .await;
    let rows = counts.data()["notificationCounts"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        rows.iter()
            .all(|r| r["gaveUp"].as_u64().unwrap() >= 1
                && r["failedAttempts"].as_u64().unwrap() >= 5),
        "{rows:?}"
    );
    assert!(
        transport.sent.lock().unwrap().is_empty(),
        "nothing got through"
    );
    assert_eq!(server.as_role("resident", "query($from: DateTime!, $until: DateTime!) { notificationCounts(from: $from, until: $until) { channel } }", json!({ "from": "2026-03-01T00:00:00Z", "until": "2026-03-31T00:00:00Z" })).await.code(), "FORBIDDEN");
}

#[tokio::test]
async fn the_default_outbox_writes_a_file_per_channel() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::with_notifications(Arc::new(FileTransport {
        dir: dir.path().to_path_buf(),
    }))
    .await;
    acknowledged_report(&server).await;
    let email = dir.path().join("email.jsonl");
    server
        .eventually("the resident's email in the outbox file", || {
            std::fs::read_to_string(&email)
                .is_ok_and(|t| t.contains("resident@example.fi") && t.contains("vastaanotettu"))
        })
        .await;
    assert!(
        std::fs::read_to_string(dir.path().join("sms.jsonl"))
            .unwrap()
            .contains("+358 40 555 0100")
    );
}

#[tokio::test]
async fn an_applicant_is_told_of_an_offer() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let applications = server
        .as_role(
            "customer_service",
            "{ housingApplications { edges { node { id applicantId } } } }",
            json!({}),
        )
        .await;
    let application = applications.data()["housingApplications"]["edges"][0]["node"]["id"].clone();
    let vacant = {
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        let rental = server.org().properties[talo_api::demo::RENTAL];
        register
            .apartments
            .values()
            .filter(|a| a.property_id == rental)
            .find(|a| {
                !register
                    .contracts
                    .values()
                    .any(|c| c.apartment_id == a.apartment_id)
            })
            .unwrap()
            .apartment_id
    };
    let input = json!({ "idempotencyKey": key(), "applicationId": application, "apartmentId": vacant, "monthlyRentCents": 89050, "leaseStartsOn": "2026-04-01", "answerBy": server.clock.now_utc() + Duration::days(3) });
    server.as_role("customer_service", "mutation($input: MakeHousingOfferInput!) { makeHousingOffer(input: $input) { offer { id } } }", json!({ "input": input })).await.data();
    server
        .eventually("the offer notification", || {
            transport.sent.lock().unwrap().iter().any(|n| {
                n.message.cause_type == "HousingOfferMade" && n.message.body.contains("890,50")
            })
        })
        .await;
    assert!(
        mine(&server, "applicant")
            .await
            .iter()
            .any(|n| n["causeType"] == "HousingOfferMade")
    );
}

#[tokio::test]
async fn a_new_invoice_is_announced_to_the_contract_holder() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    // The demo invoiced the months up to March; April's run is new.
    let run = server
        .as_role(
            "property_manager",
            r#"mutation { runMonthlyInvoicing(month: "2026-04") { issuedCount } }"#,
            json!({}),
        )
        .await;
    assert!(
        run.data()["runMonthlyInvoicing"]["issuedCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    server
        .eventually("an invoice notification for the resident", || {
            transport.sent.lock().unwrap().iter().any(|n| {
                n.message.cause_type == "InvoiceIssued"
                    && n.message.address == "resident@example.fi"
            })
        })
        .await;
}

/// A minimal SMTP server on loopback that accepts one message and hands over what it got.
fn fake_smtp() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        let mut data = String::new();
        let mut in_data = false;
        let _ = out.write_all(b"220 fake ESMTP\r\n");
        let mut line = String::new();
        while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
            let trimmed = line.trim_end().to_owned();
            line.clear();
            if in_data {
                if trimmed == "." {
                    in_data = false;
                    let _ = tx.send(std::mem::take(&mut data));
                    let _ = out.write_all(b"250 queued\r\n");
                } else {
                    data.push_str(&trimmed);
                    data.push('\n');
                }
                continue;
            }
            let reply: &[u8] = match trimmed.get(..4).map(str::to_ascii_uppercase).as_deref() {
                Some("EHLO") | Some("HELO") => b"250 fake\r\n",
                Some("DATA") => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                Some("QUIT") => {
                    let _ = out.write_all(b"221 bye\r\n");
                    return;
                }
                _ => b"250 ok\r\n",
            };
            let _ = out.write_all(reply);
        }
    });
    (port, rx)
}

#[tokio::test]
async fn email_goes_through_an_smtp_relay_when_one_is_configured() {
    let (port, received) = fake_smtp();
    let mail = talo_api::notifier::SmtpMail::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Talo <talo@example.fi>",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let transport = talo_api::notifier::ByChannel {
        sms: Arc::new(FileTransport {
            dir: dir.path().to_path_buf(),
        }),
        email: Arc::new(mail),
    };
    let record = Outgoing {
        notification_id: Uuid::now_v7(),
        person_id: Uuid::nil(),
        channel: talo_events_schema::notification::NotificationChannel::Email,
        attempt: 1,
        message: NotificationMessage {
            address: "resident@example.fi".into(),
            subject: "Vikailmoitus VK-2026-000005: vastaanotettu".into(),
            body: "Katso lisatiedot asukasportaalista.".into(),
            cause_type: "FaultReportAcknowledged".into(),
        },
    };
    tokio::task::spawn_blocking(move || transport.deliver(&record))
        .await
        .unwrap()
        .unwrap();
    let message = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert!(message.contains("To: resident@example.fi"), "{message}");
    assert!(message.contains("VK-2026-000005"), "{message}");
}

#[test]
fn a_malformed_smtp_url_is_refused_naming_it() {
    let err = talo_api::notifier::SmtpMail::new("mail.example.fi", "talo@example.fi")
        .err()
        .unwrap();
    assert!(err.starts_with("smtp url:"), "{err}");
    let err = talo_api::notifier::SmtpMail::new("smtp://relay:port", "talo@example.fi")
        .err()
        .unwrap();
    assert!(err.contains("not a port"), "{err}");
}

/// A resident's new report, acknowledged by customer service: returns its ticket.
async fn acknowledged_report(server: &TestServer) -> String {
    let id = report_as_resident(server).await;
    acknowledge(server, &id).await;
    server
        .as_role("resident", ops::FAULT_REPORT, json!({ "id": id }))
        .await
        .data()["faultReport"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A resident's new report, acknowledged, with both its notifications delivered and shown as
/// delivered: after that the log stops growing. Returns the report's ticket.
async fn acknowledged_and_delivered(server: &TestServer, transport: &Recording) -> String {
    let ticket = acknowledged_report(server).await;
    server
        .eventually("both notifications delivered", || {
            sent_about(transport, &ticket) == 2
        })
        .await;
    server
        .eventually("the outbox shows them delivered", || {
            records_of(server, &transport.tried_about(&ticket))
                .iter()
                .filter(|n| n.status == talo_projections::notifications::DeliveryStatus::Delivered)
                .count()
                == 2
        })
        .await;
    ticket
}

fn sent_about(transport: &Recording, ticket: &str) -> usize {
    transport
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.message.subject.contains(ticket))
        .count()
}

/// What `/metrics` says of the notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NotifierMetrics {
    position: u64,
    resumed_from: u64,
    followed: u64,
}

/// Waits (up to ten seconds) until the notifier has followed the whole log.
async fn notifier_at_head(server: &TestServer) -> NotifierMetrics {
    let mut seen = None;
    for _ in 0..200 {
        let head = server.talo.store.head().await.unwrap().commit;
        let (_, text) = server.get("/metrics").await;
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no `{name}` in {text}"))
        };
        let metrics = NotifierMetrics {
            position: value("talo_notifier_position"),
            resumed_from: value("talo_notifier_resumed_from"),
            followed: value("talo_notifier_events_followed_total"),
        };
        if metrics.position == head {
            return metrics;
        }
        seen = Some((metrics, head));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the notifier did not reach the head of the log: {seen:?}");
}

/// After a start without usable progress: the notifier followed the whole log `before` saw
/// again, appended nothing (every notification was already queued) and sent nothing twice.
async fn followed_again_from_the_start(
    server: &TestServer,
    before: NotifierMetrics,
    transport: &Recording,
    ticket: &str,
) {
    let after = notifier_at_head(server).await;
    assert_eq!(after.resumed_from, 0, "followed from the start");
    assert_eq!(after.followed, before.position);
    assert_eq!(
        server.talo.store.head().await.unwrap().commit,
        before.position,
        "following the log again appended nothing"
    );
    assert_eq!(sent_about(transport, ticket), 2);
}

#[tokio::test]
async fn a_restart_goes_on_from_where_the_notifier_got_and_tells_nobody_twice() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let first = acknowledged_and_delivered(&server, &transport).await;
    let before = notifier_at_head(&server).await;
    assert_eq!(
        before.resumed_from, 0,
        "a new store is followed from its start"
    );
    assert_eq!(before.followed, before.position);

    let server = server.restart().await;
    let after = notifier_at_head(&server).await;
    assert_eq!(
        after,
        NotifierMetrics {
            position: before.position,
            resumed_from: before.position,
            followed: 0,
        },
        "the notifier went on from its saved progress, not from the start of the log"
    );

    // It still tells what happens after the restart, and nothing before it again.
    let second = acknowledged_and_delivered(&server, &transport).await;
    let later = notifier_at_head(&server).await;
    assert_eq!(later.followed, later.position - before.position);
    assert_eq!(sent_about(&transport, &first), 2);
    assert_eq!(sent_about(&transport, &second), 2);
}

#[tokio::test]
async fn after_a_crash_the_notifier_follows_the_log_again_and_queues_nothing_twice() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    let before = notifier_at_head(&server).await;

    // A crash saves nothing (the tests' snapshot policy saves only at shutdown).
    let server = server.crash_and_restart().await;
    followed_again_from_the_start(&server, before, &transport, &ticket).await;
}

#[tokio::test]
async fn an_unreadable_notifier_progress_is_ignored_and_the_log_followed_from_its_start() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    let before = notifier_at_head(&server).await;

    server.talo.shutdown().await;
    let progress = server.dir.path().join("read-models/notifier.snapshot");
    assert!(
        progress.exists(),
        "shutting down saved the notifier's progress"
    );
    std::fs::write(&progress, b"not a snapshot").unwrap();
    let server = server.restart_without_shutdown().await;
    followed_again_from_the_start(&server, before, &transport, &ticket).await;
    // Nothing recorded was lost: the resident still sees both notifications, delivered.
    let notes = mine(&server, "resident").await;
    assert_eq!(
        notes
            .iter()
            .filter(
                |n| n["subject"].as_str().unwrap().contains(&ticket) && n["status"] == "DELIVERED"
            )
            .count(),
        2,
        "{notes:?}"
    );
}

const OUTBOX: &str = "query($status: DeliveryStatus, $first: Int, $after: String) { notificationOutbox(status: $status, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { id status queuedAt } } } }";

#[tokio::test]
async fn the_outbox_pages_newest_first_from_a_cursor_and_refuses_a_stray_one() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    acknowledged_and_delivered(&server, &transport).await;
    acknowledged_and_delivered(&server, &transport).await;

    let page = |variables: serde_json::Value| {
        let server = &server;
        async move {
            server
                .as_role("customer_service", OUTBOX, variables)
                .await
                .data()["notificationOutbox"]
                .clone()
        }
    };
    // Nothing changes status while the test pages.
    server
        .eventually("every notification delivered", || {
            use talo_projections::notifications::DeliveryStatus::{Queued, Sent};
            let view = server.talo.read_models.notifications.read();
            let org = server.org().organisation_id;
            [Queued, Sent]
                .into_iter()
                .all(|s| view.outbox_page(org, Some(s), None, 1).unwrap().1 == 0)
        })
        .await;
    // Through the whole outbox (the demo's own notifications and the four above), seven at a
    // time.
    let mut nodes = Vec::new();
    let mut after: Option<String> = None;
    let total = loop {
        let answer = page(json!({ "first": 7, "after": after })).await;
        assert_eq!(answer["pageInfo"]["hasPreviousPage"], after.is_some());
        nodes.extend(
            answer["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if answer["pageInfo"]["hasNextPage"] == false {
            break answer["totalCount"].as_u64().unwrap() as usize;
        }
        after = Some(answer["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    };
    assert!(
        total >= 4 && nodes.len() == total,
        "{total} in all, {} paged",
        nodes.len()
    );
    let ids: std::collections::BTreeSet<&str> =
        nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), total, "every notification once across the pages");
    let queued: Vec<&str> = nodes
        .iter()
        .map(|n| n["queuedAt"].as_str().unwrap())
        .collect();
    assert!(
        queued.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {queued:?}"
    );

    // Each status's total, and only that status on its page.
    let mut by_status = 0;
    for status in ["QUEUED", "SENT", "DELIVERED", "FAILED", "GAVE_UP"] {
        let answer = page(json!({ "status": status, "first": 100 })).await;
        let edges = answer["edges"].as_array().unwrap();
        assert!(edges.iter().all(|e| e["node"]["status"] == status));
        let count = answer["totalCount"].as_u64().unwrap() as usize;
        assert_eq!(edges.len(), count.min(100));
        by_status += count;
    }
    assert_eq!(by_status, total);

    let stray = server
        .as_role(
            "customer_service",
            OUTBOX,
            json!({ "after": "k1:2026-03-02:123:not-an-id" }),
        )
        .await;
    stray.assert_refused("BAD_USER_INPUT", "page.cursor");
    assert_eq!(stray.body["errors"][0]["extensions"]["field"], "after");
    // Well formed, but naming no notification of this outbox.
    let first = page(json!({ "first": 1 })).await;
    let cursor = first["pageInfo"]["endCursor"].as_str().unwrap();
    let (kept, _) = cursor.rsplit_once(':').unwrap();
    let unknown = server
        .as_role(
            "customer_service",
            OUTBOX,
            json!({ "after": format!("{kept}:{}", Uuid::now_v7()) }),
        )
        .await;
    unknown.assert_refused("BAD_USER_INPUT", "page.cursor");
    assert_eq!(unknown.body["errors"][0]["extensions"]["field"], "after");
}

#[tokio::test]
async fn a_progress_that_cannot_be_saved_costs_a_longer_restart_and_nothing_else() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    let before = notifier_at_head(&server).await;

    // A directory where the progress file goes: saving it fails at shutdown.
    let progress = server.dir.path().join("read-models/notifier.snapshot");
    std::fs::create_dir_all(progress.join("in-the-way")).unwrap();
    let server = server.restart().await;
    followed_again_from_the_start(&server, before, &transport, &ticket).await;
}

#[tokio::test]
async fn the_outbox_and_my_notifications_show_what_each_notification_says() {
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    let sent: Vec<Outgoing> = transport.sent.lock().unwrap().clone();
    let said = |id: &serde_json::Value| -> NotificationMessage {
        sent.iter()
            .find(|n| n.notification_id.to_string() == id.as_str().unwrap())
            .map(|n| n.message.clone())
            .unwrap_or_else(|| panic!("{id} was never sent"))
    };
    // The texts through a page's edges, and through its nodes in a fragment.
    let answer = server
        .as_role(
            "customer_service",
            "query { notificationOutbox(first: 2) { pageInfo { hasNextPage }
               edges { node { id address subject body causeType } }
               nodes { ...said } } }
             fragment said on Notification { id subject }",
            json!({}),
        )
        .await;
    let outbox = &answer.data()["notificationOutbox"];
    assert_eq!(outbox["pageInfo"]["hasNextPage"], true, "{outbox:#}");
    let edges = outbox["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    for (edge, node) in edges.iter().zip(outbox["nodes"].as_array().unwrap()) {
        let n = &edge["node"];
        let message = said(&n["id"]);
        assert!(message.subject.contains(&ticket), "{n}");
        assert_eq!(n["address"], message.address.as_str());
        assert_eq!(n["subject"], message.subject.as_str());
        assert_eq!(n["body"], message.body.as_str());
        assert_eq!(n["causeType"], "FaultReportAcknowledged");
        assert_eq!(node["id"], n["id"]);
        assert_eq!(node["subject"], message.subject.as_str());
    }
    // The resident's own list says the same.
    let about: Vec<serde_json::Value> = mine(&server, "resident")
        .await
        .into_iter()
        .filter(|n| n["subject"].as_str().unwrap().contains(&ticket))
        .collect();
    assert_eq!(about.len(), 2, "{about:?}");
    assert!(
        about.iter().all(|n| sent
            .iter()
            .any(|s| n["address"] == s.message.address.as_str()
                && n["subject"] == s.message.subject.as_str())),
        "{about:?}"
    );
}

/// Appends `event` as the first of `stream`, as the system, in the demo organisation.
async fn append_first(server: &TestServer, stream: &str, event: talo_events_schema::DomainEvent) {
    use talo_events_schema::envelope::{EventMetadata, NewEvent};
    let metadata = EventMetadata::system(
        server.org().organisation_id,
        Uuid::now_v7(),
        server.clock.now_utc(),
    );
    server
        .talo
        .store
        .append(
            stream,
            talo_store::ExpectedRevision::NoStream,
            vec![NewEvent::of(Uuid::now_v7(), &event, metadata)],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_notification_whose_message_is_not_in_its_stream_fails_its_attempts_and_hides_nothing_else()
 {
    use talo_events_schema::notification::{
        NotificationChannel, NotificationQueued, NotificationSent,
    };
    use talo_projections::notifications::DeliveryStatus;
    let transport = Arc::new(Recording::default());
    let server = TestServer::with_notifications(transport.clone()).await;
    let ticket = acknowledged_and_delivered(&server, &transport).await;
    // A log no notifier writes (an import gone wrong, say): each stray's queueing sits in
    // another stream; the first's own stream starts with a sending, the second has none.
    let (stray, streamless) = (Uuid::now_v7(), Uuid::now_v7());
    append_first(
        &server,
        &talo_events_schema::streams::notification(stray),
        NotificationSent {
            notification_id: stray,
            attempt: 1,
        }
        .into(),
    )
    .await;
    for id in [stray, streamless] {
        append_first(
            &server,
            &talo_events_schema::streams::notification(Uuid::now_v7()),
            NotificationQueued {
                notification_id: id,
                person_id: server.org().person("resident"),
                channel: NotificationChannel::Sms,
                address: "+358 40 555 0100".into(),
                subject: "Harhaileva".into(),
                body: "b".into(),
                cause_event_id: Uuid::now_v7(),
                cause_type: "FaultReportAcknowledged".into(),
            }
            .into(),
        )
        .await;
    }
    server
        .eventually("each stray's first attempt recorded as failed", || {
            let records = records_of(&server, &[stray, streamless]);
            records.len() == 2
                && records.iter().all(|r| {
                    r.status == DeliveryStatus::Failed
                        && r.attempts == 1
                        && r.last_error.as_deref().is_some_and(|e| {
                            e.contains(&r.notification_id.to_string())
                                && e.contains("does not start with its NotificationQueued")
                        })
                })
        })
        .await;
    assert!(
        transport
            .tried
            .lock()
            .unwrap()
            .iter()
            .all(|n| n.notification_id != stray && n.notification_id != streamless),
        "nothing was sent for them"
    );

    // The outbox holds them; asking for their texts leaves them out with an error naming each,
    // and answers the rest.
    let failed = server
        .as_role(
            "customer_service",
            "{ notificationOutbox(status: FAILED, first: 100) { totalCount edges { node { id attempts } } } }",
            json!({}),
        )
        .await;
    let outbox = &failed.data()["notificationOutbox"];
    assert_eq!(outbox["totalCount"], 2, "{outbox:#}");
    assert_eq!(outbox["edges"].as_array().unwrap().len(), 2, "{outbox:#}");
    let named = |answer: &Gql| -> Vec<String> {
        answer.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors expected: {:#}", answer.body))
            .iter()
            .map(|e| {
                assert_eq!(e["extensions"]["code"], "INTERNAL");
                e["message"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let both_named = |messages: Vec<String>| {
        messages.len() == 2
            && [stray, streamless]
                .iter()
                .all(|id| messages.iter().any(|m| m.contains(&id.to_string())))
    };
    let texts = server
        .as_role(
            "customer_service",
            "{ notificationOutbox(first: 100) { totalCount edges { node { id subject } } } }",
            json!({}),
        )
        .await;
    assert!(both_named(named(&texts)), "{:#}", texts.body);
    let edges = texts.body["data"]["notificationOutbox"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["subject"].as_str().unwrap().contains(&ticket)),
        "the others are there: {edges:?}"
    );
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["id"] != stray.to_string()
                && e["node"]["id"] != streamless.to_string())
    );
    let own = server
        .as_role("resident", MINE, json!({ "first": 100 }))
        .await;
    assert!(both_named(named(&own)), "{:#}", own.body);
    let listed = own.body["data"]["myNotifications"]["nodes"]
        .as_array()
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|n| n["subject"].as_str().unwrap().contains(&ticket)),
        "the resident's other notifications are listed: {listed:?}"
    );
}

/// Reading a notification's stream fails while `failing` is set (a disk error, say); every
/// refusal is counted.
struct NotificationReadsFail {
    failing: Arc<std::sync::atomic::AtomicBool>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

impl StoreHooks for NotificationReadsFail {
    fn refuse_read(&self, stream: &str) -> Option<talo_store::StoreError> {
        use std::sync::atomic::Ordering;
        if !(stream.starts_with("notification-") && self.failing.load(Ordering::SeqCst)) {
            return None;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Some(talo_store::StoreError::Backend("disk I/O error".into()))
    }
}

/// A server whose reads of notification streams fail while the flag returned is set (set at
/// first if `failing`), counting each refusal.
async fn with_notification_reads_failing(
    failing: bool,
) -> (
    TestServer,
    Arc<Recording>,
    Arc<std::sync::atomic::AtomicBool>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let transport = Arc::new(Recording::default());
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(failing));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (flag, count) = (failing.clone(), refused.clone());
    let server = TestServer::with_notifications_on_store(transport.clone(), move |inner| {
        Arc::new(HookedStore {
            inner,
            hooks: NotificationReadsFail {
                failing: flag,
                refused: count,
            },
        })
    })
    .await;
    (server, transport, failing, refused)
}

#[tokio::test]
async fn while_messages_cannot_be_read_nothing_is_sent_or_counted_as_an_attempt() {
    use std::sync::atomic::Ordering;

    use talo_projections::notifications::DeliveryStatus;
    let (server, transport, failing, refused) = with_notification_reads_failing(true).await;
    let ticket = acknowledged_report(&server).await;
    // Several rounds of the deliverer find its messages unreadable.
    server
        .eventually("the deliverer refused its reads for a while", || {
            refused.load(Ordering::SeqCst) >= 20
        })
        .await;
    let all: Vec<NotificationRecord> = {
        let outbox = server.talo.read_models.notifications.read();
        let (page, _) = outbox
            .outbox_page(server.org().organisation_id, None, None, usize::MAX)
            .unwrap();
        page.into_iter().cloned().collect()
    };
    assert!(!all.is_empty());
    assert!(
        all.iter()
            .all(|r| r.attempts == 0 && r.status == DeliveryStatus::Queued),
        "a read that failed is no attempt: {all:?}"
    );
    assert!(transport.tried.lock().unwrap().is_empty());

    // Once the store reads again, they go out as usual.
    failing.store(false, Ordering::SeqCst);
    server
        .eventually("the report's notifications delivered", || {
            sent_about(&transport, &ticket) == 2
        })
        .await;
}

#[tokio::test]
async fn a_persons_notifications_page_newest_first_and_only_the_page_is_read_from_the_log() {
    use std::sync::atomic::Ordering;

    let (server, transport, failing, refused) = with_notification_reads_failing(false).await;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(acknowledged_and_delivered(&server, &transport).await);
    }

    // Three at a time, each once, newest first, and the same as one page of them all.
    let paged = mine_paged(&server, "resident", 3).await;
    assert!(paged.len() >= 6, "two for each report: {paged:#?}");
    let ids: std::collections::BTreeSet<&str> =
        paged.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.len(),
        paged.len(),
        "every notification once across the pages"
    );
    let queued: Vec<&str> = paged
        .iter()
        .map(|n| n["queuedAt"].as_str().unwrap())
        .collect();
    assert!(
        queued.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {queued:?}"
    );
    assert_eq!(paged, mine(&server, "resident").await);
    for ticket in &tickets {
        let about = paged
            .iter()
            .filter(|n| n["subject"].as_str().unwrap().contains(ticket.as_str()))
            .count();
        assert_eq!(about, 2, "{ticket}: {paged:#?}");
    }
    // Someone else's list holds none of them.
    let theirs = mine(&server, "customer_service").await;
    assert!(
        theirs
            .iter()
            .all(|n| !ids.contains(n["id"].as_str().unwrap())),
        "{theirs:#?}"
    );

    // While the log cannot be read, a page of two costs two reads, not one per notification:
    // each left out with an error naming it.
    failing.store(true, Ordering::SeqCst);
    let unread = server
        .as_role(
            "resident",
            "{ myNotifications(first: 2) { totalCount nodes { id subject } } }",
            json!({}),
        )
        .await;
    let errors = unread.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors expected: {:#}", unread.body));
    assert_eq!(errors.len(), 2, "{:#}", unread.body);
    for (error, node) in errors.iter().zip(&paged) {
        assert_eq!(error["extensions"]["code"], "INTERNAL");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains(node["id"].as_str().unwrap()),
            "the newest two are named: {error}"
        );
    }
    assert_eq!(
        unread.body["data"]["myNotifications"]["totalCount"],
        paged.len()
    );
    // Without the texts nothing is read at all.
    let before = refused.load(Ordering::SeqCst);
    let statuses = server
        .as_role(
            "resident",
            "{ myNotifications(first: 100) { nodes { id status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        statuses.data()["myNotifications"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        paged.len()
    );
    assert_eq!(refused.load(Ordering::SeqCst), before);
    failing.store(false, Ordering::SeqCst);
}

#[tokio::test]
async fn my_notifications_refuse_a_stray_cursor_and_a_page_size_out_of_range() {
    let server = TestServer::start().await;
    server
        .assert_list_refuses_stray_cursors_and_page_sizes("resident", MINE)
        .await;
}
