//! Bookable resources with their bookings, folded with the domain's own fold: what residents
//! browse (free shifts, free spaces, a room's hours) and what the office oversees (every
//! booking of its properties, the parking queue). Anything relative to now is asked at query
//! time.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use talo_domain::booking::BookableResource;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::RecordedEvent;
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub organisation_id: Uuid,
    pub resource: BookableResource,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingsView {
    resources: BTreeMap<Uuid, ResourceRecord>,
    by_property: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Projection for BookingsView {
    const NAME: &'static str = "bookings";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        let resource_id = match decoded {
            DomainEvent::BookableResourceDefined(e) => {
                if !self.resources.contains_key(&e.resource_id) {
                    let mut state = None;
                    BookableResource::apply(&mut state, decoded, at);
                    if let Some(resource) = state {
                        self.by_property
                            .entry(e.property_id)
                            .or_default()
                            .insert(e.resource_id);
                        self.resources.insert(
                            e.resource_id,
                            ResourceRecord {
                                organisation_id: event.metadata.organisation_id,
                                resource,
                            },
                        );
                    }
                }
                return;
            }
            DomainEvent::SaunaShiftBooked(e) => e.resource_id,
            DomainEvent::ParkingSpaceBooked(e) => e.resource_id,
            DomainEvent::ParkingQueueJoined(e) => e.resource_id,
            DomainEvent::RoomBooked(e) => e.resource_id,
            DomainEvent::BookingCancelled(e) => e.resource_id,
            _ => return,
        };
        if let Some(record) = self.resources.get_mut(&resource_id) {
            let mut state = Some(record.resource.clone());
            BookableResource::apply(&mut state, decoded, at);
            if let Some(resource) = state {
                record.resource = resource;
            }
        }
    }
}

impl BookingsView {
    /// A resource of the organisation.
    pub fn resource(&self, organisation_id: Uuid, resource_id: Uuid) -> Option<&BookableResource> {
        self.resources
            .get(&resource_id)
            .filter(|r| r.organisation_id == organisation_id)
            .map(|r| &r.resource)
    }

    /// The resources of a property, in definition order of their ids.
    pub fn of_property(
        &self,
        organisation_id: Uuid,
        property_id: Uuid,
    ) -> impl Iterator<Item = &BookableResource> {
        self.by_property
            .get(&property_id)
            .into_iter()
            .flatten()
            .filter_map(move |id| self.resource(organisation_id, *id))
    }
}
