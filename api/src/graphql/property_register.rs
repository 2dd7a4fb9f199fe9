//! The property register card in GraphQL: a property's basic data and current contacts, for
//! those who live, own or sit on the board there and for its staff; and the staff's mutations
//! that record details and set or remove contacts (events in the organisation's register).

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use talo_domain::register::RegisterCommand;
use talo_events_schema::envelope::Channel;
use talo_events_schema::register::{
    PropertyContactRemoved, PropertyContactSet, PropertyDetailsRecorded,
};
use uuid::Uuid;

use super::enums::*;
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
pub struct PropertyDetailsView {
    year_built: u16,
    total_floor_area_m2: u32,
    heating: HeatingTypeGql,
    plot: PlotTenureGql,
    plot_area_m2: Option<u32>,
}

#[derive(SimpleObject)]
pub struct PropertyContactView {
    id: Uuid,
    kind: ContactKindGql,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    notes: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "Property")]
pub struct PropertyNode {
    id: Uuid,
    name: String,
    business_id: String,
    street_address: String,
    postal_code: String,
    city: String,
    /// Counted from the apartments in the register.
    apartment_count: u32,
    /// Null until the office records them.
    details: Option<PropertyDetailsView>,
    /// Current contacts, by kind.
    contacts: Vec<PropertyContactView>,
}

fn find(session: &Session<'_>, id: Uuid) -> Result<PropertyNode, ApiError> {
    let principal = session.principal()?;
    let not_found = || ApiError::NotFound("id: no such property, or not yours to see".into());
    if !principal.sees_property(id) {
        return Err(not_found());
    }
    session.talo.with_register(session.caller, |register| {
        let p = register.properties.get(&id).ok_or_else(not_found)?;
        let mut contacts: Vec<PropertyContactView> = p
            .contacts
            .values()
            .map(|c| PropertyContactView {
                id: c.contact_id,
                kind: c.kind.into(),
                name: c.name.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
                notes: c.notes.clone(),
            })
            .collect();
        contacts.sort_by_key(|c| (c.kind as u8, c.name.clone()));
        Ok(PropertyNode {
            id,
            name: p.name.clone(),
            business_id: p.business_id.clone(),
            street_address: p.street_address.clone(),
            postal_code: p.postal_code.clone(),
            city: p.city.clone(),
            apartment_count: register.apartment_count(id) as u32,
            details: p.details.as_ref().map(|d| PropertyDetailsView {
                year_built: d.year_built,
                total_floor_area_m2: d.total_floor_area_m2,
                heating: d.heating.into(),
                plot: d.plot.into(),
                plot_area_m2: d.plot_area_m2,
            }),
            contacts,
        })
    })
}

#[derive(Default)]
pub struct PropertyRegisterQuery;

#[Object]
impl PropertyRegisterQuery {
    /// A property's basic data and current contacts, if it is the caller's property.
    async fn property(&self, ctx: &Context<'_>, id: Uuid) -> Result<PropertyNode> {
        let run = || find(&Session::of(ctx)?, id);
        run().gql()
    }
}

#[derive(SimpleObject)]
pub struct PropertyPayload {
    property: PropertyNode,
    position: String,
    replayed: bool,
}

#[derive(InputObject)]
pub struct RecordPropertyDetailsInput {
    idempotency_key: String,
    property_id: Uuid,
    year_built: u16,
    total_floor_area_m2: u32,
    heating: HeatingTypeGql,
    plot: PlotTenureGql,
    plot_area_m2: Option<u32>,
}

#[derive(InputObject)]
pub struct SetPropertyContactInput {
    idempotency_key: String,
    property_id: Uuid,
    /// The contact to change; without it a new contact is added.
    contact_id: Option<Uuid>,
    kind: ContactKindGql,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    notes: Option<String>,
}

#[derive(InputObject)]
pub struct RemovePropertyContactInput {
    idempotency_key: String,
    property_id: Uuid,
    contact_id: Uuid,
}

#[derive(Default)]
pub struct PropertyRegisterMutation;

async fn edit(
    ctx: &Context<'_>,
    key: &str,
    property_id: Uuid,
    command: impl FnOnce(&crate::dispatch::Request) -> RegisterCommand,
) -> Result<PropertyPayload, ApiError> {
    let session = Session::of(ctx)?;
    let request = session.request(Channel::Portal, key)?;
    let outcome: Outcome = session
        .talo
        .dispatcher
        .edit_register(&request, command(&request))
        .await?;
    Ok(PropertyPayload {
        property: find(&session, property_id)?,
        position: outcome.position.to_string(),
        replayed: outcome.replayed,
    })
}

#[Object]
impl PropertyRegisterMutation {
    /// Records the property's basic data as it is now.
    async fn record_property_details(
        &self,
        ctx: &Context<'_>,
        input: RecordPropertyDetailsInput,
    ) -> Result<PropertyPayload> {
        let command = RegisterCommand::RecordPropertyDetails(PropertyDetailsRecorded {
            property_id: input.property_id,
            year_built: input.year_built,
            total_floor_area_m2: input.total_floor_area_m2,
            heating: input.heating.into(),
            plot: input.plot.into(),
            plot_area_m2: input.plot_area_m2,
        });
        edit(ctx, &input.idempotency_key, input.property_id, |_| command)
            .await
            .gql()
    }

    /// Adds a contact to the property, or changes one (`contactId`).
    async fn set_property_contact(
        &self,
        ctx: &Context<'_>,
        input: SetPropertyContactInput,
    ) -> Result<PropertyPayload> {
        let property_id = input.property_id;
        let key = input.idempotency_key.clone();
        edit(ctx, &key, property_id, |request| {
            RegisterCommand::SetPropertyContact(PropertyContactSet {
                property_id,
                contact_id: input
                    .contact_id
                    .unwrap_or_else(|| request.new_entity_id("property-contact")),
                kind: input.kind.into(),
                name: input.name,
                phone: input.phone,
                email: input.email,
                notes: input.notes,
            })
        })
        .await
        .gql()
    }

    async fn remove_property_contact(
        &self,
        ctx: &Context<'_>,
        input: RemovePropertyContactInput,
    ) -> Result<PropertyPayload> {
        let command = RegisterCommand::RemovePropertyContact(PropertyContactRemoved {
            property_id: input.property_id,
            contact_id: input.contact_id,
        });
        edit(ctx, &input.idempotency_key, input.property_id, |_| command)
            .await
            .gql()
    }
}
