//! The one error type of the API. Each variant maps to a GraphQL `extensions.code` (and, for
//! errors before GraphQL runs, an HTTP status). Clients never see internal causes; logs do.

use async_graphql::ErrorExtensions;
use talo_domain::{Rejection, RejectionKind};
use talo_projections::engine::Lagging;
use talo_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Input that breaks a rule of the API itself (page size, key length), naming the field.
    #[error("{field}: {message}")]
    BadInput {
        /// The field as the client named it (a GraphQL argument or a query parameter).
        field: std::borrow::Cow<'static, str>,
        rule: &'static str,
        message: String,
    },
    /// A domain rule refused the command.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The write kept colliding with concurrent writes, or an idempotency key was reused.
    #[error("{message}")]
    Conflict { rule: &'static str, message: String },
    /// The events were recorded, but the read models did not show them in time.
    #[error("the change was recorded at position {position}, but {lag}; read again shortly")]
    NotYetVisible { position: String, lag: Lagging },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadInput { .. } => "BAD_USER_INPUT",
            ApiError::Rejected(r) => match r.kind {
                RejectionKind::InvalidInput => "BAD_USER_INPUT",
                RejectionKind::Forbidden => "FORBIDDEN",
                RejectionKind::NotFound => "NOT_FOUND",
                RejectionKind::InvalidTransition => "CONFLICT",
                RejectionKind::TooLarge => "PAYLOAD_TOO_LARGE",
                RejectionKind::UnsupportedType => "UNSUPPORTED_MEDIA_TYPE",
            },
            ApiError::Conflict { .. } => "CONFLICT",
            ApiError::NotYetVisible { .. } => "NOT_YET_VISIBLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    pub fn rule(&self) -> Option<&'static str> {
        match self {
            ApiError::Rejected(r) => Some(r.rule),
            ApiError::BadInput { rule, .. } | ApiError::Conflict { rule, .. } => Some(rule),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Rejected(r) => r.field,
            ApiError::BadInput { field, .. } => Some(field.as_ref()),
            _ => None,
        }
    }

    pub fn unauthenticated() -> Self {
        ApiError::Unauthenticated("sign in: send `Authorization: Bearer <token>`".into())
    }

    pub fn bad_input(field: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadInput {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(rule) = self.rule() {
                ext.set("rule", rule);
            }
            if let Some(field) = self.field() {
                ext.set("field", field);
            }
        })
    }
}

/// Resolvers return `async_graphql::Result`; this turns an [`ApiError`] into one with its code.
pub trait IntoGraphql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGraphql<T> for Result<T, ApiError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}
