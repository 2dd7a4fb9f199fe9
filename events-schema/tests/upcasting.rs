//! Golden fixtures: a payload as an older release stored it must still decode, through the
//! upcasters, to the same event as the current version's fixture.

use std::path::PathBuf;

use talo_events_schema::DomainEvent;
use talo_events_schema::catalog::{DecodeError, current_version};

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn fault_reported_v1_reads_as_v2() {
    let from_v1 = DomainEvent::from_json("FaultReported", 1, fixture("FaultReported.v1.json"));
    let from_v2 = DomainEvent::from_json("FaultReported", 2, fixture("FaultReported.v2.json"));
    assert_eq!(from_v1.unwrap(), from_v2.unwrap());
    assert_eq!(current_version("FaultReported"), Some(2));
}

#[test]
fn current_version_round_trips() {
    let event =
        DomainEvent::from_json("FaultReported", 2, fixture("FaultReported.v2.json")).unwrap();
    let again = DomainEvent::from_json(event.event_type(), event.schema_version(), event.to_json());
    assert_eq!(again.unwrap(), event);
}

#[test]
fn unknown_types_and_future_versions_are_named_errors() {
    assert_eq!(
        DomainEvent::from_json("RoofBlownAway", 1, serde_json::json!({})),
        Err(DecodeError::UnknownType("RoofBlownAway".into()))
    );
    let err = DomainEvent::from_json("FaultReported", 3, fixture("FaultReported.v2.json"));
    assert!(matches!(
        err,
        Err(DecodeError::NewerVersion {
            version: 3,
            current: 2,
            ..
        })
    ));
}

#[test]
fn a_payload_missing_a_field_names_the_event_and_field() {
    let mut payload = fixture("FaultReported.v2.json");
    payload.as_object_mut().unwrap().remove("description");
    let err = DomainEvent::from_json("FaultReported", 2, payload).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("FaultReported") && text.contains("description"),
        "{text}"
    );
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn text_decoding_agrees_with_value_decoding_for_current_and_older_versions() {
    let expected =
        DomainEvent::from_json("FaultReported", 2, fixture("FaultReported.v2.json")).unwrap();
    for (version, name) in [(2, "FaultReported.v2.json"), (1, "FaultReported.v1.json")] {
        let from_text =
            DomainEvent::from_json_text("FaultReported", version, &fixture_text(name)).unwrap();
        assert_eq!(from_text, expected, "version {version}");
    }
}

#[test]
fn text_decoding_names_bad_json_unknown_types_and_future_versions() {
    let err = DomainEvent::from_json_text("FaultReported", 2, "{\"description\": ").unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid { event_type, version: 2, .. } if event_type == "FaultReported"),
        "{err}"
    );
    let err = DomainEvent::from_json_text("FaultReported", 1, "not json").unwrap_err();
    assert!(
        matches!(err, DecodeError::Invalid { version: 1, .. }),
        "{err}"
    );
    assert_eq!(
        DomainEvent::from_json_text("RoofBlownAway", 1, "{}"),
        Err(DecodeError::UnknownType("RoofBlownAway".into()))
    );
    assert!(matches!(
        DomainEvent::from_json_text("FaultReported", 3, "{}"),
        Err(DecodeError::NewerVersion { version: 3, .. })
    ));
    let mut payload = fixture("FaultReported.v2.json");
    payload.as_object_mut().unwrap().remove("description");
    let err = DomainEvent::from_json_text("FaultReported", 2, &payload.to_string()).unwrap_err();
    assert!(err.to_string().contains("description"), "{err}");
}
