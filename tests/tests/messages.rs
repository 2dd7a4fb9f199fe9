//! Message threads (yhteydenotot) through GraphQL: a thread's whole life as each role takes
//! part in it, read receipts, reopening, the office's contacts recorded on a resident's behalf,
//! the customer-service queue, who may see what, and retries.

use chrono::Duration;
use serde_json::{Value, json};
use talo_api::demo;
use talo_events_schema::envelope::Position;
use talo_projections::engine::build_from_zero;
use talo_projections::message_threads::MessageThreadsView;
use talo_tests::*;
use uuid::Uuid;

const THREAD_FIELDS: &str = "id ticket status category subject apartmentCode residentName channel handlerId handlerName
    waitingForUsSince waitingForUsSeconds unreadCount
    messages { id side body senderName channel recordedByRole deliveredAt position readAt readPosition }
    notes { text authorRole }
    history { status cause handlerName actorRole channel position }";

fn start_op() -> String {
    format!(
        "mutation($input: StartMessageThreadInput!) {{ startMessageThread(input: $input) {{ position replayed messageThread {{ {THREAD_FIELDS} }} }} }}"
    )
}

fn thread_op() -> String {
    format!("query($id: UUID!) {{ messageThread(id: $id) {{ {THREAD_FIELDS} }} }}")
}

/// A thread step mutation by its name, answering with the thread.
fn step_op(mutation: &str, input_type: &str) -> String {
    format!(
        "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ position replayed messageThread {{ {THREAD_FIELDS} }} }} }}"
    )
}

const INBOX: &str = "{ myInbox(first: 100) { totalCount edges { node { __typename
    ... on MessageThread { id ticket status unreadCount notes { text } messages { body side readAt } }
    ... on BulkNotice { id subject readAt } } } } }";

const QUEUE: &str = "query($filter: MessageThreadQueueFilter, $orderBy: MessageThreadQueueOrder = AGE) {
    messageThreadQueue(filter: $filter, orderBy: $orderBy, first: 100) { totalCount edges { cursor node { id ticket status handlerId waitingForUsSeconds ageSeconds } } } }";

/// Starts a thread as `role` with `fields` added to the input; returns the answer.
async fn start(server: &TestServer, role: &str, fields: Value) -> Gql {
    let input = merged(
        json!({
            "idempotencyKey": key(),
            "apartmentId": server.apartment(demo::RENTAL, "A 4"),
            "category": "BILLING",
            "subject": "Vuokralasku",
            "body": "Maaliskuun vuokralaskussa on väärä summa.",
        }),
        fields,
    );
    server
        .as_role(role, &start_op(), json!({ "input": input }))
        .await
}

/// The resident starts a billing thread about their home; returns its id.
async fn start_as_resident(server: &TestServer) -> String {
    start(server, "resident", json!({})).await.data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs a thread step as `role`.
async fn thread_step(
    server: &TestServer,
    role: &str,
    mutation: &str,
    input_type: &str,
    id: &str,
    fields: Value,
) -> Gql {
    let input = merged(
        json!({ "idempotencyKey": key(), "messageThreadId": id }),
        fields,
    );
    server
        .as_role(
            role,
            &step_op(mutation, input_type),
            json!({ "input": input }),
        )
        .await
}

async fn post(server: &TestServer, role: &str, id: &str, body: &str) -> Value {
    thread_step(
        server,
        role,
        "postMessageThreadMessage",
        "PostMessageThreadMessageInput",
        id,
        json!({ "body": body }),
    )
    .await
    .data()["postMessageThreadMessage"]["messageThread"]
        .clone()
}

async fn mark_read(server: &TestServer, role: &str, id: &str) -> Gql {
    thread_step(
        server,
        role,
        "markMessageThreadRead",
        "MarkMessageThreadReadInput",
        id,
        json!({}),
    )
    .await
}

async fn set_status(server: &TestServer, role: &str, id: &str, status: &str) -> Gql {
    thread_step(
        server,
        role,
        "setMessageThreadStatus",
        "SetMessageThreadStatusInput",
        id,
        json!({ "status": status }),
    )
    .await
}

async fn view(server: &TestServer, role: &str, id: &str) -> Value {
    server
        .as_role(role, &thread_op(), json!({ "id": id }))
        .await
        .data()["messageThread"]
        .clone()
}

async fn queue_ids(server: &TestServer, role: &str, filter: Value, order: &str) -> Vec<String> {
    let answer = server
        .as_role(role, QUEUE, json!({ "filter": filter, "orderBy": order }))
        .await;
    answer.data()["messageThreadQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn inbox_thread<'a>(inbox: &'a Value, id: &str) -> Option<&'a Value> {
    inbox["myInbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == id)
}

#[tokio::test]
async fn a_thread_lives_its_whole_life_and_every_role_sees_its_part() {
    let server = TestServer::start().await;
    let cs = server.org().person("customer_service").to_string();

    // The resident writes in and gets a ticket number and a delivery receipt at once.
    let started = start(&server, "resident", json!({})).await;
    let thread = &started.data()["startMessageThread"]["messageThread"];
    let id = thread["id"].as_str().unwrap().to_owned();
    let ticket = thread["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("YT-2026-"), "{ticket}");
    assert_eq!(thread["status"], "NEW");
    assert_eq!(thread["channel"], "PORTAL");
    assert_eq!(thread["residentName"], "Aino Asukas");
    let first = &thread["messages"][0];
    assert_eq!(first["side"], "RESIDENT");
    assert_eq!(first["deliveredAt"], "2026-03-02T08:00:00+00:00");
    assert!(first["position"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(first["readAt"], Value::Null, "nobody has read it yet");

    // It is in the resident's inbox and, unassigned, in the office's queue.
    let inbox = server.as_role("resident", INBOX, json!({})).await;
    let entry = inbox_thread(inbox.data(), &id).expect("in the inbox");
    assert_eq!(entry["__typename"], "MessageThread");
    assert_eq!(entry["ticket"], ticket.as_str());
    assert!(
        queue_ids(
            &server,
            "customer_service",
            json!({ "unassignedOnly": true }),
            "AGE"
        )
        .await
        .contains(&id)
    );

    // Customer service reads it: the resident sees that it was read, and when.
    server.clock.advance(Duration::minutes(30));
    mark_read(&server, "customer_service", &id).await.data();
    let seen = view(&server, "resident", &id).await;
    assert_eq!(seen["messages"][0]["readAt"], "2026-03-02T08:30:00+00:00");

    // Takes it, notes something internal, and answers.
    let assigned = thread_step(
        &server,
        "customer_service",
        "assignMessageThread",
        "AssignMessageThreadInput",
        &id,
        json!({ "handlerId": cs }),
    )
    .await;
    let assigned = &assigned.data()["assignMessageThread"]["messageThread"];
    assert_eq!(assigned["handlerName"], "Kaisa Palvelu");
    assert!(
        queue_ids(
            &server,
            "customer_service",
            json!({ "assignedToMe": true }),
            "AGE"
        )
        .await
        .contains(&id)
    );
    assert!(
        !queue_ids(
            &server,
            "customer_service",
            json!({ "unassignedOnly": true }),
            "AGE"
        )
        .await
        .contains(&id)
    );
    thread_step(
        &server,
        "customer_service",
        "addMessageThreadNote",
        "AddMessageThreadNoteInput",
        &id,
        json!({ "text": "Reskontrassa kaksi laskua samalle kuulle" }),
    )
    .await
    .data();
    server.clock.advance(Duration::hours(1));
    let replied = post(
        &server,
        "customer_service",
        &id,
        "Korjaamme laskun, uusi lasku tulee viikon sisällä.",
    )
    .await;
    assert_eq!(replied["status"], "WAITING_FOR_RESIDENT");
    assert_eq!(replied["waitingForUsSince"], Value::Null);

    // The resident sees the reply (not the note), reads it, and answers.
    let seen = view(&server, "resident", &id).await;
    assert_eq!(seen["unreadCount"], 1);
    assert_eq!(seen["notes"], json!([]));
    assert_eq!(seen["messages"][1]["side"], "STAFF");
    assert_eq!(seen["messages"][1]["senderName"], "Kaisa Palvelu");
    server.clock.advance(Duration::hours(2));
    mark_read(&server, "resident", &id).await.data();
    let office_view = view(&server, "customer_service", &id).await;
    assert_eq!(
        office_view["messages"][1]["readAt"], "2026-03-02T11:30:00+00:00",
        "the office sees when the resident read the reply"
    );
    assert_eq!(
        office_view["notes"][0]["text"],
        "Reskontrassa kaksi laskua samalle kuulle"
    );
    let answered = post(&server, "resident", &id, "Kiitos!").await;
    assert_eq!(answered["status"], "IN_PROGRESS");

    // Closed by the office, reopened by the resident's next message.
    assert_eq!(
        set_status(&server, "customer_service", &id, "CLOSED")
            .await
            .data()["setMessageThreadStatus"]["messageThread"]["status"],
        "CLOSED"
    );
    assert!(
        !queue_ids(&server, "customer_service", json!({}), "AGE")
            .await
            .contains(&id),
        "closed threads leave the queue"
    );
    server.clock.advance(Duration::days(2));
    let reopened = post(
        &server,
        "resident",
        &id,
        "Uusi lasku ei ole vieläkään tullut.",
    )
    .await;
    assert_eq!(reopened["status"], "NEW");
    assert_eq!(
        reopened["handlerName"], "Kaisa Palvelu",
        "the handler stays"
    );
    let last = reopened["history"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["status"], &last["cause"], &last["actorRole"]),
        (
            &json!("NEW"),
            &json!("RESIDENT_MESSAGE"),
            &json!("RESIDENT")
        )
    );
    assert!(
        queue_ids(
            &server,
            "customer_service",
            json!({ "status": "NEW" }),
            "AGE"
        )
        .await
        .contains(&id)
    );

    // The auditor reads everything, notes included, and changes nothing.
    let audited = view(&server, "auditor", &id).await;
    assert_eq!(audited["notes"].as_array().unwrap().len(), 1);
    assert_eq!(audited["unreadCount"], 0);
    mark_read(&server, "auditor", &id)
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    let log = server
        .as_role(
            "auditor",
            "query($stream: String!) { auditLog(filter: { stream: $stream }) { edges { node { eventType actorRole channel } } } }",
            json!({ "stream": format!("message-thread-{id}") }),
        )
        .await;
    let events: Vec<(String, String)> = log.data()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["eventType"].as_str().unwrap().to_owned(),
                e["node"]["actorRole"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("MessageThreadStarted", "RESIDENT"),
        ("MessagePosted", "RESIDENT"),
        ("MessageThreadRead", "CUSTOMER_SERVICE"),
        ("MessageThreadAssigned", "CUSTOMER_SERVICE"),
        ("MessageThreadNoteAdded", "CUSTOMER_SERVICE"),
        ("MessagePosted", "CUSTOMER_SERVICE"),
        ("MessageThreadStatusChanged", "CUSTOMER_SERVICE"),
        ("MessageThreadRead", "RESIDENT"),
        ("MessagePosted", "RESIDENT"),
        ("MessageThreadStatusChanged", "RESIDENT"),
        ("MessageThreadStatusChanged", "CUSTOMER_SERVICE"),
        ("MessagePosted", "RESIDENT"),
        ("MessageThreadStatusChanged", "RESIDENT"),
    ]
    .iter()
    .map(|(t, r)| (t.to_string(), r.to_string()))
    .collect();
    assert_eq!(events, expected);

    // Contractors see nothing here.
    assert_eq!(
        server
            .as_role("contractor", &thread_op(), json!({ "id": id }))
            .await
            .code(),
        "NOT_FOUND"
    );
    assert_eq!(
        server.as_role("contractor", QUEUE, json!({})).await.code(),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn internal_notes_never_reach_a_resident() {
    let server = TestServer::start().await;
    let id = start_as_resident(&server).await;
    let secret = "Asukkaalla maksurästejä, ei kerrota viestissä";
    thread_step(
        &server,
        "property_manager",
        "addMessageThreadNote",
        "AddMessageThreadNoteInput",
        &id,
        json!({ "text": secret }),
    )
    .await
    .data();
    post(&server, "customer_service", &id, "Selvitämme asian.").await;
    // A resident may not write one either.
    thread_step(
        &server,
        "resident",
        "addMessageThreadNote",
        "AddMessageThreadNoteInput",
        &id,
        json!({ "text": "x" }),
    )
    .await
    .assert_refused("FORBIDDEN", "message_thread.office_only");

    let thread = server
        .as_role("resident", &thread_op(), json!({ "id": id }))
        .await;
    let inbox = server.as_role("resident", INBOX, json!({})).await;
    // A step's answer shows the thread too.
    let reply = post(&server, "resident", &id, "Kiitos").await;
    for answer in [thread.body.clone(), inbox.body.clone(), reply] {
        assert!(
            !answer.to_string().contains(secret),
            "the note reached the resident: {answer:#}"
        );
    }
    assert_eq!(thread.data()["messageThread"]["notes"], json!([]));
    assert_eq!(inbox_thread(inbox.data(), &id).unwrap()["notes"], json!([]));
    // The office sees it.
    let office = view(&server, "customer_service", &id).await;
    assert_eq!(office["notes"][0]["text"], secret);
    assert_eq!(office["notes"][0]["authorRole"], "PROPERTY_MANAGER");
}

#[tokio::test]
async fn receipts_show_delivery_at_once_and_reading_by_the_other_side_only_after_marking_read() {
    let server = TestServer::start().await;
    let id = start_as_resident(&server).await;
    // The sender reading their own message is no receipt for anyone.
    let own = mark_read(&server, "resident", &id).await;
    assert_eq!(
        own.data()["markMessageThreadRead"]["messageThread"]["messages"][0]["readAt"],
        Value::Null
    );
    let head = server.talo.store.head().await.unwrap();
    server.clock.advance(Duration::minutes(10));
    let office = view(&server, "customer_service", &id).await;
    assert_eq!(office["unreadCount"], 1);
    assert_eq!(
        office["messages"][0]["readAt"],
        Value::Null,
        "looking is not reading until it is marked"
    );
    let marked = mark_read(&server, "customer_service", &id).await;
    let message = &marked.data()["markMessageThreadRead"]["messageThread"]["messages"][0];
    assert_eq!(message["readAt"], "2026-03-02T08:10:00+00:00");
    assert!(
        message["readPosition"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > head.commit,
        "the read is an event of its own"
    );
    assert_eq!(
        marked.data()["markMessageThreadRead"]["messageThread"]["unreadCount"],
        0
    );
    // Marking read again records nothing and moves no receipt.
    server.clock.advance(Duration::minutes(10));
    let head = server.talo.store.head().await.unwrap();
    let again = mark_read(&server, "property_manager", &id).await;
    assert_eq!(
        again.data()["markMessageThreadRead"]["messageThread"]["messages"][0]["readAt"],
        "2026-03-02T08:10:00+00:00"
    );
    assert_eq!(server.talo.store.head().await.unwrap(), head);

    // Two replies; the resident marks read only up to the first of them.
    post(&server, "customer_service", &id, "Ensimmäinen vastaus").await;
    let thread = post(&server, "customer_service", &id, "Toinen vastaus").await;
    let first_reply = thread["messages"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(view(&server, "resident", &id).await["unreadCount"], 2);
    let partly = thread_step(
        &server,
        "resident",
        "markMessageThreadRead",
        "MarkMessageThreadReadInput",
        &id,
        json!({ "upToMessageId": first_reply }),
    )
    .await;
    let thread = &partly.data()["markMessageThreadRead"]["messageThread"];
    assert_eq!(thread["messages"][1]["readAt"], "2026-03-02T08:20:00+00:00");
    assert_eq!(thread["messages"][2]["readAt"], Value::Null);
    assert_eq!(thread["unreadCount"], 1);
    thread_step(
        &server,
        "resident",
        "markMessageThreadRead",
        "MarkMessageThreadReadInput",
        &id,
        json!({ "upToMessageId": Uuid::now_v7() }),
    )
    .await
    .assert_refused("NOT_FOUND", "message_thread.message_unknown");
}

#[tokio::test]
async fn the_office_records_a_phone_call_on_a_residents_behalf_with_its_channel() {
    let server = TestServer::start().await;
    let resident = server.org().person("resident");
    let portal = start(
        &server,
        "customer_service",
        json!({ "onBehalfOf": resident }),
    )
    .await;
    portal.assert_refused("BAD_USER_INPUT", "message_thread.on_behalf_channel");
    let phoned = start(
        &server,
        "customer_service",
        json!({ "onBehalfOf": resident, "channel": "PHONE", "category": "KEYS_AND_ACCESS", "body": "Soitti: ulko-oven koodi ei toimi" }),
    )
    .await;
    let thread = &phoned.data()["startMessageThread"]["messageThread"];
    assert_eq!(thread["channel"], "PHONE");
    assert_eq!(thread["status"], "NEW");
    assert_eq!(thread["category"], "KEYS_AND_ACCESS");
    let message = &thread["messages"][0];
    assert_eq!(
        (
            &message["side"],
            &message["senderName"],
            &message["recordedByRole"],
            &message["channel"]
        ),
        (
            &json!("RESIDENT"),
            &json!("Aino Asukas"),
            &json!("CUSTOMER_SERVICE"),
            &json!("PHONE")
        )
    );
    let id = thread["id"].as_str().unwrap().to_owned();
    // The resident follows it in the portal like their own.
    let inbox = server.as_role("resident", INBOX, json!({})).await;
    assert!(inbox_thread(inbox.data(), &id).is_some());
    // Later the resident emails; customer service adds it to the thread.
    post(&server, "customer_service", &id, "Korjaaja tulee huomenna").await;
    let emailed = thread_step(
        &server,
        "customer_service",
        "postMessageThreadMessage",
        "PostMessageThreadMessageInput",
        &id,
        json!({ "body": "Sähköposti: koodi toimii taas", "onBehalfOf": resident, "channel": "EMAIL" }),
    )
    .await;
    let thread = &emailed.data()["postMessageThreadMessage"]["messageThread"];
    assert_eq!(thread["status"], "IN_PROGRESS");
    assert_eq!(thread["messages"][2]["side"], "RESIDENT");
    assert_eq!(thread["messages"][2]["channel"], "EMAIL");
    // And writes to another resident first, as the office.
    let outbound = start(
        &server,
        "property_manager",
        json!({ "recipientId": server.org().person("neighbour"), "apartmentId": server.apartment(demo::RENTAL, "A 5"), "category": "GENERAL", "body": "Parvekkeenne lasitus tarkastetaan ensi viikolla." }),
    )
    .await;
    let thread = &outbound.data()["startMessageThread"]["messageThread"];
    assert_eq!(thread["status"], "WAITING_FOR_RESIDENT");
    assert_eq!(thread["messages"][0]["side"], "STAFF");
    assert_eq!(thread["residentName"], "Niko Naapuri");
}

#[tokio::test]
async fn the_queue_shows_who_has_waited_longest_for_us_and_filters_by_assignment_category_and_property()
 {
    let server = TestServer::start().await;
    let cooperative = server.org().properties[demo::COOPERATIVE].to_string();
    let rental = server.org().properties[demo::RENTAL].to_string();

    // Oldest first: a billing thread, answered by us (so not waiting for us).
    let answered = start_as_resident(&server).await;
    server.clock.advance(Duration::hours(1));
    post(&server, "customer_service", &answered, "Tarkistamme.").await;
    // Then a moving question, whose resident writes again later.
    server.clock.advance(Duration::hours(1));
    let moving = start(
        &server,
        "neighbour",
        json!({ "apartmentId": server.apartment(demo::RENTAL, "A 5"), "category": "MOVING", "subject": "Muutto", "body": "Milloin saan avaimet?" }),
    )
    .await
    .data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Then a complaint, in the cooperative.
    server.clock.advance(Duration::hours(1));
    let complaint = start(
        &server,
        "shareholder",
        json!({ "apartmentId": server.apartment(demo::COOPERATIVE, "B 12"), "category": "COMPLAINT", "subject": "Melu", "body": "Naapurissa meluttu öisin." }),
    )
    .await
    .data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The answered thread gets a new question from its resident: waiting for us again, but
    // only since now.
    server.clock.advance(Duration::hours(1));
    post(&server, "resident", &answered, "Entä huhtikuu?").await;
    server.clock.advance(Duration::hours(1));
    post(&server, "neighbour", &moving, "Vieläkö?").await;
    server.clock.advance(Duration::hours(1));

    let ours = |ids: Vec<String>| -> Vec<String> {
        ids.into_iter()
            .filter(|i| [&answered, &moving, &complaint].contains(&i))
            .collect()
    };
    assert_eq!(
        ours(queue_ids(&server, "customer_service", json!({}), "AGE").await),
        [answered.as_str(), moving.as_str(), complaint.as_str()],
        "by age, oldest first"
    );
    // Waiting for us: the moving question since its first message 4 h ago (the reminder does
    // not move it back), the complaint 3 h, the answered thread's new question 2 h.
    assert_eq!(
        ours(queue_ids(&server, "customer_service", json!({}), "WAITING_FOR_US").await),
        [moving.as_str(), complaint.as_str(), answered.as_str()]
    );
    let queue = server
        .as_role(
            "customer_service",
            QUEUE,
            json!({ "filter": {}, "orderBy": "WAITING_FOR_US" }),
        )
        .await;
    let waited = |id: &str| {
        queue.data()["messageThreadQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["id"] == id)
            .map(|e| e["node"]["waitingForUsSeconds"].clone())
            .unwrap()
    };
    assert_eq!(waited(&moving), 4 * 3600);
    assert_eq!(waited(&complaint), 3 * 3600);
    assert_eq!(waited(&answered), 2 * 3600);

    // Filters.
    assert_eq!(
        ours(
            queue_ids(
                &server,
                "customer_service",
                json!({ "category": "COMPLAINT" }),
                "AGE"
            )
            .await
        ),
        [complaint.as_str()]
    );
    assert_eq!(
        ours(
            queue_ids(
                &server,
                "customer_service",
                json!({ "propertyId": cooperative }),
                "AGE"
            )
            .await
        ),
        [complaint.as_str()]
    );
    assert_eq!(
        ours(
            queue_ids(
                &server,
                "customer_service",
                json!({ "propertyId": rental, "status": "IN_PROGRESS" }),
                "AGE"
            )
            .await
        ),
        [answered.as_str()]
    );
    // Assignment: the property manager takes the complaint.
    let manager = server.org().person("property_manager").to_string();
    thread_step(
        &server,
        "customer_service",
        "assignMessageThread",
        "AssignMessageThreadInput",
        &complaint,
        json!({ "handlerId": manager }),
    )
    .await
    .data();
    assert_eq!(
        ours(
            queue_ids(
                &server,
                "property_manager",
                json!({ "assignedToMe": true }),
                "AGE"
            )
            .await
        ),
        [complaint.as_str()]
    );
    assert_eq!(
        ours(
            queue_ids(
                &server,
                "customer_service",
                json!({ "unassignedOnly": true }),
                "WAITING_FOR_US"
            )
            .await
        ),
        [moving.as_str(), answered.as_str()]
    );
    // Only office staff of a property may handle it.
    thread_step(
        &server,
        "customer_service",
        "assignMessageThread",
        "AssignMessageThreadInput",
        &complaint,
        json!({ "handlerId": server.org().person("contractor") }),
    )
    .await
    .assert_refused("BAD_USER_INPUT", "message_thread.handler_not_office");

    // A thread the office hands back to the resident (after a phone call, say) waits for
    // them, not for us.
    set_status(
        &server,
        "property_manager",
        &complaint,
        "WAITING_FOR_RESIDENT",
    )
    .await
    .data();
    assert_eq!(
        ours(queue_ids(&server, "customer_service", json!({}), "WAITING_FOR_US").await),
        [moving.as_str(), answered.as_str(), complaint.as_str()]
    );
    assert_eq!(
        view(&server, "customer_service", &complaint).await["waitingForUsSeconds"],
        Value::Null
    );

    // Pages follow the order without repeating or skipping anything.
    let mut cursor: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let page = server
            .as_role(
                "customer_service",
                "query($after: String) { messageThreadQueue(orderBy: WAITING_FOR_US, first: 2, after: $after) { pageInfo { hasNextPage } edges { cursor node { id } } } }",
                json!({ "after": cursor }),
            )
            .await;
        let connection = &page.data()["messageThreadQueue"];
        for edge in connection["edges"].as_array().unwrap() {
            paged.push(edge["node"]["id"].as_str().unwrap().to_owned());
            cursor = Some(edge["cursor"].as_str().unwrap().to_owned());
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert_eq!(
        paged,
        queue_ids(&server, "customer_service", json!({}), "WAITING_FOR_US").await
    );
}

#[tokio::test]
async fn neighbours_contractors_and_other_organisations_neither_see_nor_touch_a_thread() {
    let server = TestServer::with_two_organisations().await;
    let id = start_as_resident(&server).await;
    for role in ["neighbour", "contractor", "other_contractor", "board_chair"] {
        assert_eq!(
            server
                .as_role(role, &thread_op(), json!({ "id": id }))
                .await
                .code(),
            "NOT_FOUND",
            "{role}"
        );
        let refused = thread_step(
            &server,
            role,
            "postMessageThreadMessage",
            "PostMessageThreadMessageInput",
            &id,
            json!({ "body": "x" }),
        )
        .await;
        refused.assert_refused("NOT_FOUND", "message_thread.not_visible");
        let inbox = server.as_role(role, INBOX, json!({})).await;
        assert!(inbox_thread(inbox.data(), &id).is_none(), "{role}");
    }
    // Another organisation's office, even organisation-wide, does not find it.
    for role in ["customer_service", "auditor", "resident"] {
        let theirs = server
            .gql(
                Some(&server.token_in(1, role)),
                &thread_op(),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            theirs.code(),
            "NOT_FOUND",
            "{role} of the other organisation"
        );
    }
    let theirs = server
        .gql(
            Some(&server.token_in(1, "customer_service")),
            &step_op("markMessageThreadRead", "MarkMessageThreadReadInput"),
            json!({ "input": { "idempotencyKey": key(), "messageThreadId": id } }),
        )
        .await;
    assert_eq!(theirs.code(), "NOT_FOUND");
    // Nor may anyone start a thread about someone else's home.
    start(
        &server,
        "neighbour",
        json!({ "apartmentId": server.apartment(demo::RENTAL, "A 4") }),
    )
    .await
    .assert_refused("FORBIDDEN", "message_thread.own_home_only");
    start(&server, "auditor", json!({}))
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    start(
        &server,
        "contractor",
        json!({ "onBehalfOf": server.org().person("resident"), "channel": "PHONE" }),
    )
    .await
    .assert_refused("FORBIDDEN", "message_thread.office_only");
    // Residents have no queue.
    assert_eq!(
        server.as_role("resident", QUEUE, json!({})).await.code(),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn a_resident_who_moved_out_keeps_reading_their_thread_and_the_next_tenant_does_not_see_it() {
    let server = TestServer::start().await;
    let id = start_as_resident(&server).await;
    post(&server, "customer_service", &id, "Vastaus").await;
    server.move_out(server.org().person("resident")).await;
    server.clock.advance(Duration::days(1));
    let newcomer = server.move_in(server.apartment(demo::RENTAL, "A 4")).await;

    let former = view(&server, "resident", &id).await;
    assert_eq!(former["messages"].as_array().unwrap().len(), 2);
    mark_read(&server, "resident", &id).await.data();
    thread_step(
        &server,
        "resident",
        "postMessageThreadMessage",
        "PostMessageThreadMessageInput",
        &id,
        json!({ "body": "Hei?" }),
    )
    .await
    .assert_refused("FORBIDDEN", "message_thread.no_longer_occupant");
    let token = server.token_for(newcomer);
    assert_eq!(
        server
            .gql(Some(&token), &thread_op(), json!({ "id": id }))
            .await
            .code(),
        "NOT_FOUND"
    );
    let inbox = server.gql(Some(&token), INBOX, json!({})).await;
    assert!(inbox_thread(inbox.data(), &id).is_none());
}

#[tokio::test]
async fn a_retried_start_records_once_and_a_reused_key_is_a_conflict() {
    let server = TestServer::start().await;
    let input = json!({ "input": {
        "idempotencyKey": "start-once",
        "apartmentId": server.apartment(demo::RENTAL, "A 4"),
        "category": "GENERAL", "subject": "Pihan valot", "body": "Pihan valot eivät syty.",
    } });
    let first = server.as_role("resident", &start_op(), input.clone()).await;
    let first = &first.data()["startMessageThread"];
    let head = server.talo.store.head().await.unwrap();
    let retry = server.as_role("resident", &start_op(), input.clone()).await;
    let retry = &retry.data()["startMessageThread"];
    assert_eq!(retry["replayed"], true);
    assert_eq!(first["replayed"], false);
    assert_eq!(retry["messageThread"]["id"], first["messageThread"]["id"]);
    assert_eq!(
        retry["messageThread"]["ticket"],
        first["messageThread"]["ticket"]
    );
    assert_eq!(retry["position"], first["position"]);
    assert_eq!(server.talo.store.head().await.unwrap(), head, "nothing new");
    assert_eq!(
        retry["messageThread"]["messages"].as_array().unwrap().len(),
        1
    );
    // The same key for another request is refused.
    let id = first["messageThread"]["id"].as_str().unwrap();
    let reused = server
        .as_role(
            "resident",
            &step_op("postMessageThreadMessage", "PostMessageThreadMessageInput"),
            json!({ "input": { "idempotencyKey": "start-once", "messageThreadId": id, "body": "x" } }),
        )
        .await;
    reused.assert_refused("CONFLICT", "idempotency.key_reused");
    // A retried message records once too.
    let message = json!({ "input": { "idempotencyKey": "message-once", "messageThreadId": id, "body": "Lisäksi portin valo" } });
    let op = step_op("postMessageThreadMessage", "PostMessageThreadMessageInput");
    server
        .as_role("resident", &op, message.clone())
        .await
        .data();
    let again = server.as_role("resident", &op, message).await;
    assert_eq!(again.data()["postMessageThreadMessage"]["replayed"], true);
    assert_eq!(
        again.data()["postMessageThreadMessage"]["messageThread"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_rebuild_from_zero_equals_the_live_thread_read_model() {
    let server = TestServer::start().await;
    let id = start_as_resident(&server).await;
    mark_read(&server, "customer_service", &id).await.data();
    post(&server, "customer_service", &id, "Vastaus").await;
    mark_read(&server, "resident", &id).await.data();
    let head = server.talo.store.head().await.unwrap();
    let rebuilt: MessageThreadsView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.message_threads.read(), rebuilt);
    let server = server.restart().await;
    assert_eq!(*server.talo.read_models.message_threads.read(), rebuilt);
    assert!(server.talo.read_models.message_threads.position() > Position::START);
}

#[tokio::test]
async fn office_staff_who_live_in_a_property_find_their_own_threads_in_their_inbox() {
    let server = TestServer::start().await;
    let manager = server.org().person("property_manager");
    let home = server.apartment(demo::RENTAL, "B 20");
    server
        .register(talo_domain::register::RegisterCommand::SignContract(
            talo_events_schema::register::ContractSigned {
                contract_id: Uuid::now_v7(),
                apartment_id: home,
                person_id: manager,
                kind: talo_events_schema::register::ContractKind::Lease,
                starts_on: server.today(),
                ends_on: None,
            },
        ))
        .await;
    let id = start(&server, "property_manager", json!({ "apartmentId": home }))
        .await
        .data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inbox = server.as_role("property_manager", INBOX, json!({})).await;
    assert!(inbox_thread(inbox.data(), &id).is_some());
    // Threads about other homes are in their queue, not in their inbox.
    let other = start_as_resident(&server).await;
    let inbox = server.as_role("property_manager", INBOX, json!({})).await;
    assert!(inbox_thread(inbox.data(), &other).is_none());
}
