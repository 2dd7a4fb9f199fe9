//! What a decision produces: the events to record and the role the actor acted in (which the
//! envelope records, since a person may hold several).

use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::ActorRole;

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<DomainEvent>,
    pub role: ActorRole,
}
