//! Who am I here: the caller's person, organisation, roles, homes and what they may work on,
//! so a portal can show the right views and find the ids it needs.

use std::collections::HashMap;

use async_graphql::{Context, Object, Result, SimpleObject};
use uuid::Uuid;

use super::enums::{ActorRoleGql, ContractKindGql};
use super::session::Session;
use crate::error::IntoGraphql;

#[derive(SimpleObject)]
pub struct Me {
    person_id: Uuid,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    organisation_id: Uuid,
    organisation_name: String,
    /// Every role the person holds today.
    roles: Vec<ActorRoleGql>,
    /// Apartments the person lives in or owns today.
    homes: Vec<HomeView>,
    /// Properties the person can see: their homes' and those they work for.
    properties: Vec<PropertyView>,
    /// Contractor companies, for office staff assigning work.
    contractor_companies: Vec<ContractorView>,
}

#[derive(SimpleObject)]
pub struct HomeView {
    apartment_id: Uuid,
    apartment_code: String,
    property_id: Uuid,
    property_name: String,
    kind: ContractKindGql,
}

#[derive(SimpleObject)]
pub struct PropertyView {
    id: Uuid,
    name: String,
    street_address: String,
    postal_code: String,
    city: String,
    buildings: Vec<BuildingView>,
}

#[derive(SimpleObject)]
pub struct BuildingView {
    id: Uuid,
    code: String,
}

#[derive(SimpleObject)]
pub struct ContractorView {
    id: Uuid,
    name: String,
    phone: Option<String>,
}

#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let session = Session::of(ctx).gql()?;
        let principal = session.principal().gql()?;
        session
            .talo
            .with_register(session.caller, |register| {
                let person = register.persons.get(&session.caller.person_id);
                let organisation = register.organisation.as_ref();
                let homes = principal
                    .homes
                    .iter()
                    .filter_map(|h| {
                        let apartment = register.apartments.get(&h.apartment_id)?;
                        let property = register.properties.get(&h.property_id)?;
                        Some(HomeView {
                            apartment_id: h.apartment_id,
                            apartment_code: apartment.code.clone(),
                            property_id: h.property_id,
                            property_name: property.name.clone(),
                            kind: h.kind.into(),
                        })
                    })
                    .collect();
                let sees_property = |id: Uuid| {
                    principal.homes.iter().any(|h| h.property_id == id)
                        || principal.office_role_for(id).is_some()
                        || principal.is_auditor()
                };
                // One pass over the buildings: an office everywhere sees hundreds of properties.
                let mut buildings: HashMap<Uuid, Vec<BuildingView>> = HashMap::new();
                for b in register.buildings.values() {
                    if sees_property(b.property_id) {
                        buildings
                            .entry(b.property_id)
                            .or_default()
                            .push(BuildingView {
                                id: b.building_id,
                                code: b.code.clone(),
                            });
                    }
                }
                let properties = register
                    .properties
                    .values()
                    .filter(|p| sees_property(p.property_id))
                    .map(|p| PropertyView {
                        id: p.property_id,
                        name: p.name.clone(),
                        street_address: p.street_address.clone(),
                        postal_code: p.postal_code.clone(),
                        city: p.city.clone(),
                        buildings: buildings.remove(&p.property_id).unwrap_or_default(),
                    })
                    .collect();
                let office = principal.is_office_staff();
                let contractor_companies = register
                    .contractors
                    .values()
                    .filter(|c| office || principal.works_for(c.contractor_company_id))
                    .map(|c| ContractorView {
                        id: c.contractor_company_id,
                        name: c.name.clone(),
                        phone: c.phone.clone(),
                    })
                    .collect();
                Ok(Me {
                    person_id: session.caller.person_id,
                    name: person.map(|p| p.name.clone()).unwrap_or_default(),
                    email: person.and_then(|p| p.email.clone()),
                    phone: person.and_then(|p| p.phone.clone()),
                    organisation_id: session.caller.organisation_id,
                    organisation_name: organisation.map(|o| o.name.clone()).unwrap_or_default(),
                    roles: principal.roles().into_iter().map(Into::into).collect(),
                    homes,
                    properties,
                    contractor_companies,
                })
            })
            .gql()
    }
}
