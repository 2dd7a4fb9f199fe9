//! Why a command was refused: which rule, which field, and what kind of refusal, so the API can
//! map it to an error code without knowing the rule.

/// The kind of refusal; the API maps each to one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The input breaks a rule on its own (empty description, end before start).
    InvalidInput,
    /// The actor may not do this.
    Forbidden,
    /// The target does not exist (or is not visible to the actor).
    NotFound,
    /// The target is in a state where this is not allowed (resolve before work started).
    InvalidTransition,
    /// The content is larger than the limit allows.
    TooLarge,
    /// The content is of a media type that is not accepted.
    UnsupportedType,
}

/// A refused command. `rule` is a stable dotted code (`fault_report.cancel_after_work_started`)
/// that clients and tests match on; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    pub rule: &'static str,
    pub field: Option<&'static str>,
    pub message: String,
}

impl Rejection {
    /// Bad input: the message starts with the field's name.
    pub fn invalid(field: &'static str, rule: &'static str, why: impl std::fmt::Display) -> Self {
        Rejection {
            kind: RejectionKind::InvalidInput,
            rule,
            field: Some(field),
            message: format!("{field}: {why}"),
        }
    }

    pub fn forbidden(rule: &'static str, why: impl Into<String>) -> Self {
        Rejection {
            kind: RejectionKind::Forbidden,
            rule,
            field: None,
            message: why.into(),
        }
    }

    pub fn not_found(field: &'static str, rule: &'static str, why: impl std::fmt::Display) -> Self {
        Rejection {
            kind: RejectionKind::NotFound,
            rule,
            field: Some(field),
            message: format!("{field}: {why}"),
        }
    }

    pub fn transition(rule: &'static str, why: impl Into<String>) -> Self {
        Rejection {
            kind: RejectionKind::InvalidTransition,
            rule,
            field: None,
            message: why.into(),
        }
    }
}

/// Checks a required free text: not blank, at most `max` characters.
pub fn require_text(field: &'static str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::invalid(
            field,
            "text.required",
            "must not be empty",
        ));
    }
    let len = value.chars().count();
    if len > max {
        return Err(Rejection::invalid(
            field,
            "text.too_long",
            format!("must be at most {max} characters, got {len}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_overlong_text_name_field_and_rule() {
        let blank = require_text("description", "  ", 10).unwrap_err();
        assert_eq!(
            (blank.rule, blank.field),
            ("text.required", Some("description"))
        );
        assert!(blank.message.starts_with("description: "));
        let long = require_text("reason", "abcdef", 5).unwrap_err();
        assert_eq!(long.rule, "text.too_long");
        assert!(
            require_text("reason", "äöåäö", 5).is_ok(),
            "counts characters, not bytes"
        );
    }
}
