//! Upcasters: pure functions from a stored payload of `(type, version)` to `version + 1`,
//! chained until the current version. Stored events are never rewritten; they are read through
//! these.

use serde_json::{Map, Value, json};

use crate::catalog::DecodeError;

type Upcaster = fn(Value) -> Result<Value, String>;

/// Every upcaster, by the `(event type, version)` it reads.
const UPCASTERS: &[(&str, u32, Upcaster)] = &[("FaultReported", 1, fault_reported_v1_to_v2)];

/// Brings `payload` from `version` to `current` through the chain of upcasters.
pub fn to_current(
    event_type: &str,
    mut version: u32,
    current: u32,
    mut payload: Value,
) -> Result<Value, DecodeError> {
    while version < current {
        let (_, _, upcaster) = UPCASTERS
            .iter()
            .find(|(t, v, _)| *t == event_type && *v == version)
            .ok_or_else(|| DecodeError::NoUpcaster {
                event_type: event_type.to_owned(),
                version,
            })?;
        payload = upcaster(payload).map_err(|reason| DecodeError::Invalid {
            event_type: event_type.to_owned(),
            version,
            reason,
        })?;
        version += 1;
    }
    Ok(payload)
}

/// Version 1 recorded pets as a bare `has_pets` flag and had no preferred visit time.
/// Version 2 keeps pets as `{present, details}` so the resident can say "a shy cat", and adds
/// `preferred_visit`, unknown for old reports.
fn fault_reported_v1_to_v2(payload: Value) -> Result<Value, String> {
    let Value::Object(mut fields) = payload else {
        return Err("expected an object".to_owned());
    };
    let has_pets = match fields.remove("has_pets") {
        Some(Value::Bool(b)) => b,
        Some(other) => return Err(format!("has_pets: expected a boolean, got {other}")),
        None => return Err("has_pets: missing".to_owned()),
    };
    fields.insert(
        "pets".to_owned(),
        json!({ "present": has_pets, "details": null }),
    );
    fields.insert("preferred_visit".to_owned(), Value::Null);
    Ok(Value::Object(Map::from_iter(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_pets_flag_becomes_a_structure_and_visit_is_unknown() {
        let v1 = json!({"has_pets": true, "description": "drip"});
        let v2 = fault_reported_v1_to_v2(v1).unwrap();
        assert_eq!(v2["pets"], json!({"present": true, "details": null}));
        assert_eq!(v2["preferred_visit"], Value::Null);
        assert!(v2.get("has_pets").is_none());
        assert_eq!(v2["description"], "drip");
    }

    #[test]
    fn v1_without_the_flag_is_rejected_naming_it() {
        let err = to_current("FaultReported", 1, 2, json!({"description": "x"})).unwrap_err();
        assert!(err.to_string().contains("has_pets"), "{err}");
    }

    #[test]
    fn a_version_without_an_upcaster_is_reported() {
        let err = to_current("FaultReportAcknowledged", 1, 3, json!({})).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NoUpcaster {
                event_type: "FaultReportAcknowledged".into(),
                version: 1
            }
        );
    }
}
