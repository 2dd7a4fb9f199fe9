//! What a decision looks at and what it produces: the context every aggregate's decision gets
//! besides its own state, and the events to record with the role the actor acted in (which the
//! envelope records, since a person may hold several).

use chrono::{DateTime, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::{ActorRole, Channel};

use crate::access::Principal;
use crate::register::Register;

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// May be empty: a command that changes nothing (marking read what was already read)
    /// records nothing.
    pub events: Vec<DomainEvent>,
    pub role: ActorRole,
}

/// Everything a decision may look at besides the aggregate itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub principal: &'a Principal,
    pub register: &'a Register,
    pub occurred_at: DateTime<Utc>,
    pub channel: Channel,
}
