//! The property register card: basic data and contacts, who sees them, who changes them, and
//! the rules their changes are checked by.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use talo_api::demo::{COOPERATIVE, RENTAL};
use talo_events_schema::envelope::RecordedEvent;
use talo_events_schema::register::*;
use talo_tests::{HookedStore, StoreHooks, TestServer, key};
use uuid::Uuid;

const PROPERTY: &str = r#"query($id: UUID!) { property(id: $id) { id name streetAddress apartmentCount details { yearBuilt totalFloorAreaM2 heating plot plotAreaM2 } contacts { id kind name phone email notes } } }"#;
const SET: &str = r#"mutation($input: SetPropertyContactInput!) { setPropertyContact(input: $input) { replayed property { contacts { id kind name phone notes } } } }"#;
const REMOVE: &str = r#"mutation($input: RemovePropertyContactInput!) { removePropertyContact(input: $input) { property { contacts { id kind } } } }"#;
const DETAILS: &str = r#"mutation($input: RecordPropertyDetailsInput!) { recordPropertyDetails(input: $input) { property { details { yearBuilt totalFloorAreaM2 heating plot } } } }"#;

fn with_key(mut input: Value) -> Value {
    input["idempotencyKey"] = json!(key());
    json!({ "input": input })
}

fn contacts(answer: &Value) -> Vec<Value> {
    answer["contacts"].as_array().unwrap().clone()
}

#[tokio::test]
async fn residents_see_their_own_propertys_data_and_contacts_and_no_other() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let cooperative = server.org().properties[COOPERATIVE];
    let own = server
        .as_role("resident", PROPERTY, json!({ "id": rental }))
        .await;
    let property = &own.data()["property"];
    assert_eq!(property["apartmentCount"], 20, "counted from the register");
    assert_eq!(property["details"]["heating"], "DISTRICT_HEATING");
    let kinds: Vec<&str> = property["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "PROPERTY_MANAGER",
            "MAINTENANCE_COMPANY",
            "CARETAKER",
            "EMERGENCY_NUMBER"
        ]
    );
    let other = server
        .as_role("resident", PROPERTY, json!({ "id": cooperative }))
        .await;
    assert_eq!(other.code(), "NOT_FOUND");
    for role in [
        "shareholder",
        "board_chair",
        "property_manager",
        "customer_service",
        "auditor",
    ] {
        server
            .as_role(role, PROPERTY, json!({ "id": cooperative }))
            .await
            .data();
    }
    let contractor = server
        .as_role("contractor", PROPERTY, json!({ "id": cooperative }))
        .await;
    assert_eq!(contractor.code(), "NOT_FOUND");
    let anonymous = server
        .gql(None, PROPERTY, json!({ "id": cooperative }))
        .await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_contact_change_shows_the_new_contact() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let before = server
        .as_role("resident", PROPERTY, json!({ "id": rental }))
        .await;
    let caretaker = contacts(&before.data()["property"])
        .into_iter()
        .find(|c| c["kind"] == "CARETAKER")
        .unwrap();
    let changed = server
        .as_role(
            "property_manager",
            SET,
            with_key(json!({ "propertyId": rental, "contactId": caretaker["id"], "kind": "CARETAKER", "name": "Kalle Kiinteistö", "phone": "+358 40 555 0199", "notes": "arkisin 8-16" })),
        )
        .await;
    assert_eq!(changed.data()["setPropertyContact"]["replayed"], false);
    let after = server
        .as_role("resident", PROPERTY, json!({ "id": rental }))
        .await;
    let now = contacts(&after.data()["property"]);
    let caretakers: Vec<&Value> = now.iter().filter(|c| c["kind"] == "CARETAKER").collect();
    assert_eq!(caretakers.len(), 1, "changed in place, not added");
    assert_eq!(caretakers[0]["name"], "Kalle Kiinteistö");
    assert_eq!(caretakers[0]["phone"], "+358 40 555 0199");

    let added = server
        .as_role(
            "property_manager",
            SET,
            with_key(json!({ "propertyId": rental, "kind": "OTHER", "name": "Pihatalkoot", "email": "talkoot@example.fi" })),
        )
        .await;
    let new = contacts(&added.data()["setPropertyContact"]["property"])
        .into_iter()
        .find(|c| c["name"] == "Pihatalkoot")
        .unwrap();
    let removed = server
        .as_role(
            "property_manager",
            REMOVE,
            with_key(json!({ "propertyId": rental, "contactId": new["id"] })),
        )
        .await;
    assert!(
        !contacts(&removed.data()["removePropertyContact"]["property"])
            .iter()
            .any(|c| c["id"] == new["id"])
    );
    let again = server
        .as_role(
            "property_manager",
            REMOVE,
            with_key(json!({ "propertyId": rental, "contactId": new["id"] })),
        )
        .await;
    again.assert_refused("NOT_FOUND", "register.contact_unknown");
}

#[tokio::test]
async fn details_are_recorded_and_every_change_is_in_the_audit_log() {
    let server = TestServer::start().await;
    let cooperative = server.org().properties[COOPERATIVE];
    let recorded = server
        .as_role(
            "property_manager",
            DETAILS,
            with_key(json!({ "propertyId": cooperative, "yearBuilt": 1986, "totalFloorAreaM2": 2500, "heating": "DISTRICT_HEATING", "plot": "LEASED" })),
        )
        .await;
    let details = &recorded.data()["recordPropertyDetails"]["property"]["details"];
    assert_eq!(
        (details["yearBuilt"].clone(), details["plot"].clone()),
        (json!(1986), json!("LEASED"))
    );
    let shareholder = server
        .as_role("shareholder", PROPERTY, json!({ "id": cooperative }))
        .await;
    assert_eq!(
        shareholder.data()["property"]["details"]["heating"],
        "DISTRICT_HEATING"
    );
    let log = server
        .as_role(
            "auditor",
            r#"query($stream: String!) { auditLog(filter: { stream: $stream, eventTypes: ["PropertyDetailsRecorded", "PropertyContactSet"] }, first: 100) { edges { node { eventType actorRole payload } } } }"#,
            json!({ "stream": format!("organisation-{}", server.org().organisation_id) }),
        )
        .await;
    let edges = log.data()["auditLog"]["edges"].as_array().unwrap().clone();
    let details: Vec<&Value> = edges
        .iter()
        .map(|e| &e["node"])
        .filter(|n| {
            n["eventType"] == "PropertyDetailsRecorded"
                && n["payload"]["property_id"] == json!(cooperative)
        })
        .collect();
    assert_eq!(
        details.len(),
        2,
        "the demo's record and this one: history is kept"
    );
    assert_eq!(details[1]["payload"]["year_built"], 1986);
    assert_eq!(details[1]["actorRole"], "PROPERTY_MANAGER");
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["eventType"] == "PropertyContactSet")
    );
}

#[tokio::test]
async fn validation_errors_name_the_field_and_the_rule() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let cases = [
        (
            SET,
            json!({ "propertyId": rental, "kind": "CARETAKER", "name": " ", "phone": "+358 40 1" }),
            "name",
            "text.required",
        ),
        (
            SET,
            json!({ "propertyId": rental, "kind": "CARETAKER", "name": "Kalle" }),
            "phone",
            "register.contact_reachable",
        ),
        (
            SET,
            json!({ "propertyId": rental, "kind": "CARETAKER", "name": "Kalle", "phone": "soita" }),
            "phone",
            "register.phone_format",
        ),
        (
            SET,
            json!({ "propertyId": rental, "kind": "CARETAKER", "name": "Kalle", "email": "kalle" }),
            "email",
            "register.email_format",
        ),
        (
            DETAILS,
            json!({ "propertyId": rental, "yearBuilt": 1200, "totalFloorAreaM2": 100, "heating": "OIL", "plot": "OWNED" }),
            "year_built",
            "register.year_built_range",
        ),
        (
            DETAILS,
            json!({ "propertyId": rental, "yearBuilt": 1990, "totalFloorAreaM2": 0, "heating": "OIL", "plot": "OWNED" }),
            "total_floor_area_m2",
            "register.area_positive",
        ),
    ];
    for (mutation, input, field, rule) in cases {
        let answer = server
            .as_role("property_manager", mutation, with_key(input))
            .await;
        answer.assert_refused("BAD_USER_INPUT", rule);
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{rule}"
        );
        assert!(answer.message().starts_with(field), "{}", answer.message());
    }
    let unknown = server
        .as_role(
            "property_manager",
            DETAILS,
            with_key(json!({ "propertyId": Uuid::now_v7(), "yearBuilt": 1990, "totalFloorAreaM2": 10, "heating": "OIL", "plot": "OWNED" })),
        )
        .await;
    unknown.assert_refused("NOT_FOUND", "register.property_unknown");
}

#[tokio::test]
async fn only_property_managers_change_the_card_and_a_propertys_own_manager_only_its_own() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let cooperative = server.org().properties[COOPERATIVE];
    let input = |property: Uuid| {
        with_key(
            json!({ "propertyId": property, "kind": "OTHER", "name": "Kerho", "phone": "+358 40 555 0111" }),
        )
    };
    for role in [
        "resident",
        "board_chair",
        "customer_service",
        "contractor",
        "auditor",
    ] {
        server
            .as_role(role, SET, input(rental))
            .await
            .assert_refused("FORBIDDEN", "register.edit_requires_manager");
    }
    let own_manager = server
        .staff_of_property("Iida Isännöitsijä", StaffRole::PropertyManager, cooperative)
        .await;
    let token = server.token_for(own_manager);
    server
        .gql(Some(&token), SET, input(cooperative))
        .await
        .data();
    server
        .gql(Some(&token), SET, input(rental))
        .await
        .assert_refused("FORBIDDEN", "register.edit_requires_manager");
}

#[tokio::test]
async fn a_retried_contact_change_records_nothing_new() {
    let server = TestServer::start().await;
    let rental = server.org().properties[RENTAL];
    let input = json!({ "input": { "idempotencyKey": "contact-retry", "propertyId": rental, "kind": "OTHER", "name": "Kerho", "phone": "+358 40 555 0111" } });
    let first = server.as_role("property_manager", SET, input.clone()).await;
    let again = server.as_role("property_manager", SET, input).await;
    assert_eq!(again.data()["setPropertyContact"]["replayed"], true);
    let count = |a: &talo_tests::Gql, root: &str| {
        a.data()[root]["property"]["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == "Kerho")
            .count()
    };
    assert_eq!(count(&first, "setPropertyContact"), 1);
    assert_eq!(count(&again, "setPropertyContact"), 1);
}

/// `me` lists each property the caller works on with exactly its own buildings, in the
/// register's order: customer service sees both demo properties, a resident only their home's.
#[tokio::test]
async fn me_lists_each_property_with_its_own_buildings() {
    let server = TestServer::start().await;
    let expected = |property_id: Uuid| -> Vec<Value> {
        let view = server.talo.read_models.register.read();
        let register = view.organisation(server.org().organisation_id).unwrap();
        register
            .buildings
            .values()
            .filter(|b| b.property_id == property_id)
            .map(|b| json!({ "id": b.building_id, "code": b.code }))
            .collect()
    };
    let query = "{ me { properties { id name buildings { id code } } } }";
    for (role, names) in [
        ("customer_service", vec![RENTAL, COOPERATIVE]),
        ("resident", vec![RENTAL]),
    ] {
        let answer = server.as_role(role, query, json!({})).await;
        let properties = answer.data()["me"]["properties"]
            .as_array()
            .unwrap()
            .clone();
        let mut seen: Vec<&str> = properties
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        seen.sort();
        let mut wanted = names.clone();
        wanted.sort();
        assert_eq!(seen, wanted, "{role}");
        for property in &properties {
            let id: Uuid = serde_json::from_value(property["id"].clone()).unwrap();
            let buildings = property["buildings"].as_array().unwrap();
            assert!(!buildings.is_empty(), "{role}: {property}");
            assert_eq!(*buildings, expected(id), "{role}");
        }
    }
}

/// Counts the events read from organisation (register) streams.
struct RegisterReads {
    events: Arc<AtomicUsize>,
}

impl StoreHooks for RegisterReads {
    fn read(&self, stream: &str, events: &[RecordedEvent]) {
        if stream.starts_with("organisation-") {
            self.events.fetch_add(events.len(), Ordering::SeqCst);
        }
    }
}

/// A change to the register is decided on the register read model, which is its stream
/// folded: of the stream only its newest events are read (the last, to know where the stream
/// stands, and the few the receipt looks through), not the register's whole history.
#[tokio::test]
async fn a_register_change_reads_only_the_newest_events_of_the_register() {
    let events = Arc::new(AtomicUsize::new(0));
    let hooks = RegisterReads {
        events: events.clone(),
    };
    let server = TestServer::on_store(move |inner| Arc::new(HookedStore { inner, hooks })).await;
    let rental = server.org().properties[RENTAL];
    let stream = talo_events_schema::streams::organisation(server.org().organisation_id);
    let register = server.stream_events(&stream).await;
    assert!(register.len() > 50, "{} events", register.len());

    events.store(0, Ordering::SeqCst);
    let added = server
        .as_role(
            "property_manager",
            SET,
            with_key(json!({ "propertyId": rental, "kind": "OTHER", "name": "Kerho", "phone": "+358 40 555 0111" })),
        )
        .await;
    let read = events.load(Ordering::SeqCst);
    assert!(
        read < 10,
        "{read} events read of a register of {}",
        register.len()
    );
    let kerho = contacts(&added.data()["setPropertyContact"]["property"])
        .into_iter()
        .find(|c| c["name"] == "Kerho")
        .expect("the new contact");

    // Decided on the register as it stands after the change: the contact is there to remove,
    // and once removed it is not.
    let remove = || with_key(json!({ "propertyId": rental, "contactId": kerho["id"] }));
    server
        .as_role("property_manager", REMOVE, remove())
        .await
        .data();
    server
        .as_role("property_manager", REMOVE, remove())
        .await
        .assert_refused("NOT_FOUND", "register.contact_unknown");
}

/// A node whose register read model has not reached the register's last event does not
/// decide on what it has: it folds the stream. Here the second node's read models are held
/// back before a contact is added on the first; removing that contact on the second is
/// recorded (the second then says it cannot show it yet), and the first shows it removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_register_lags_decides_a_change_on_the_stream_itself() {
    let first = TestServer::with_read_your_writes_timeout(Duration::from_millis(300)).await;
    let (second, held) = first.lagging_second_node().await;
    let rental = first.org().properties[RENTAL];
    held.store(true, Ordering::SeqCst);
    let added = first
        .as_role(
            "property_manager",
            SET,
            with_key(json!({ "propertyId": rental, "kind": "OTHER", "name": "Kerho", "phone": "+358 40 555 0111" })),
        )
        .await;
    let kerho = contacts(&added.data()["setPropertyContact"]["property"])
        .into_iter()
        .find(|c| c["name"] == "Kerho")
        .expect("the new contact");

    let removed = second
        .as_role(
            "property_manager",
            REMOVE,
            with_key(json!({ "propertyId": rental, "contactId": kerho["id"] })),
        )
        .await;
    removed.assert_refused_code("NOT_YET_VISIBLE");
    let org = first.org().organisation_id;
    let contact: Uuid = serde_json::from_value(kerho["id"].clone()).expect("a contact id");
    first
        .eventually("the first node shows the contact removed", || {
            let view = first.talo.read_models.register.read();
            let property = &view.organisation(org).expect("the register").properties[&rental];
            !property.contacts.contains_key(&contact)
        })
        .await;
    held.store(false, Ordering::SeqCst);
}
