//! What every resolver needs about the request: the running Talo, the caller from the token,
//! and the one "now" read at the start of the request.

use std::sync::Arc;

use async_graphql::Context;
use chrono::{DateTime, Utc};
use talo_domain::access::Principal;
use talo_events_schema::envelope::Channel;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dispatch::Request;
use crate::error::ApiError;
use crate::talo::Talo;

/// The time the request arrived, read once from the clock.
#[derive(Debug, Clone, Copy)]
pub struct RequestTime(pub DateTime<Utc>);

pub struct Session<'a> {
    pub talo: &'a Arc<Talo>,
    pub caller: Caller,
    pub now: DateTime<Utc>,
}

impl<'a> Session<'a> {
    /// The session of a signed-in caller, or UNAUTHENTICATED.
    pub fn of(ctx: &Context<'a>) -> Result<Self, ApiError> {
        let talo = ctx
            .data::<Arc<Talo>>()
            .map_err(|_| ApiError::Internal("schema built without Talo".into()))?;
        let caller = *ctx
            .data_opt::<Caller>()
            .ok_or_else(ApiError::unauthenticated)?;
        let now = ctx
            .data_opt::<RequestTime>()
            .map_or_else(|| talo.now(), |t| t.0);
        Ok(Session { talo, caller, now })
    }

    pub fn principal(&self) -> Result<Principal, ApiError> {
        self.talo.principal(self.caller, self.now)
    }

    /// A command request from this session.
    pub fn request(&self, channel: Channel, idempotency_key: &str) -> Result<Request, ApiError> {
        let key = idempotency_key.trim();
        if key.is_empty() || key.chars().count() > 100 || key.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                "idempotencyKey",
                "idempotency_key.format",
                "must be 1-100 printable characters",
            ));
        }
        Ok(Request {
            caller: self.caller,
            channel,
            occurred_at: self.now,
            idempotency_key: Some(key.to_owned()),
            correlation_id: Uuid::now_v7(),
        })
    }
}
