//! Rental housing applications and offers in GraphQL: applicants file and renew applications
//! and answer offers; the office lists valid applications and makes offers with a deadline.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::housing::{ApplicationCommand, FileApplication, MakeOffer, OfferCommand};
use talo_projections::housing::{ApplicationRecord, HousingView, OfferRecord};
use uuid::Uuid;

use super::enums::OfferStatusGql;
use super::pagination::{Page, after_instant_and_id, page_of, page_size, sort_key};
use super::session::Session;
use crate::dispatch::{Dispatcher, Outcome};
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
#[graphql(name = "HousingApplication")]
pub struct ApplicationNode {
    id: Uuid,
    applicant_id: Uuid,
    household_size: u32,
    desired_areas: Vec<String>,
    apartment_types: Vec<String>,
    max_rent_cents: i64,
    move_in_from: NaiveDate,
    valid_until: NaiveDate,
    /// Not withdrawn, not past `validUntil`, and its applicant has not accepted an offer.
    valid: bool,
    /// The offer its applicant accepted: they are housed and the application is done.
    housed_by_offer_id: Option<Uuid>,
    filed_at: DateTime<Utc>,
}

fn application_node(a: &ApplicationRecord, today: NaiveDate) -> ApplicationNode {
    ApplicationNode {
        id: a.application_id,
        applicant_id: a.applicant_id,
        household_size: a.household_size,
        desired_areas: a.desired_areas.clone(),
        apartment_types: a.apartment_types.clone(),
        max_rent_cents: a.max_rent_cents,
        move_in_from: a.move_in_from,
        valid_until: a.valid_until,
        valid: a.is_open_on(today),
        housed_by_offer_id: a.housed_by,
        filed_at: a.filed_at,
    }
}

#[derive(SimpleObject)]
#[graphql(name = "HousingOffer")]
pub struct OfferNode {
    id: Uuid,
    application_id: Uuid,
    applicant_id: Uuid,
    property_id: Uuid,
    apartment_id: Uuid,
    apartment_code: Option<String>,
    monthly_rent_cents: i64,
    lease_starts_on: NaiveDate,
    answer_by: DateTime<Utc>,
    /// As of now: a pending offer past its deadline shows as EXPIRED.
    status: OfferStatusGql,
    answered_at: Option<DateTime<Utc>>,
    /// The lease an accepted offer signed.
    contract_id: Option<Uuid>,
}

fn offer_node(
    o: &OfferRecord,
    register: &talo_domain::register::Register,
    now: DateTime<Utc>,
) -> OfferNode {
    OfferNode {
        id: o.offer_id,
        application_id: o.application_id,
        applicant_id: o.applicant_id,
        property_id: o.property_id,
        apartment_id: o.apartment_id,
        apartment_code: register
            .apartments
            .get(&o.apartment_id)
            .map(|a| a.code.clone()),
        monthly_rent_cents: o.monthly_rent_cents,
        lease_starts_on: o.lease_starts_on,
        answer_by: o.answer_by,
        status: o.status_at(now).into(),
        answered_at: o.answered_at,
        contract_id: o.contract_id,
    }
}

fn with_housing<T>(
    session: &Session<'_>,
    f: impl FnOnce(
        &talo_domain::access::Principal,
        &talo_domain::register::Register,
        &HousingView,
    ) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        f(
            &principal,
            register,
            &session.talo.read_models.housing.read(),
        )
    })
}

fn office_only(principal: &talo_domain::access::Principal, what: &str) -> Result<(), ApiError> {
    if principal.is_office_staff() || principal.is_auditor() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("{what}: for office staff")))
    }
}

#[derive(Default)]
pub struct HousingQuery;

#[Object]
impl HousingQuery {
    /// The caller's own applications, newest first.
    async fn my_housing_applications(&self, ctx: &Context<'_>) -> Result<Vec<ApplicationNode>> {
        let session = Session::of(ctx).gql()?;
        let today = local_date(session.now);
        with_housing(&session, |principal, _, view| {
            Ok(view
                .my_applications(principal)
                .into_iter()
                .map(|a| application_node(a, today))
                .collect())
        })
        .gql()
    }

    /// Offers made to the caller, newest first.
    async fn my_housing_offers(&self, ctx: &Context<'_>) -> Result<Vec<OfferNode>> {
        let session = Session::of(ctx).gql()?;
        with_housing(&session, |principal, register, view| {
            Ok(view
                .my_offers(principal)
                .into_iter()
                .map(|o| offer_node(o, register, session.now))
                .collect())
        })
        .gql()
    }

    /// Valid applications, oldest first: for the office choosing whom to offer to.
    async fn housing_applications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ApplicationNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        let today = local_date(session.now);
        with_housing(&session, |principal, _, view| {
            office_only(principal, "housingApplications")?;
            let size = page_size(first, max)?;
            let later_than = after_instant_and_id(after.as_deref())?;
            let (line, total) = view.valid_applications(principal, today, later_than, size + 1);
            Ok(page_of(
                line,
                total,
                size,
                after.is_some(),
                |a| sort_key(None, a.filed_at, a.application_id),
                |a| application_node(a, today),
            ))
        })
        .gql()
    }

    /// Offers in the caller's properties, newest first.
    async fn housing_offers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<OfferNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_housing(&session, |principal, register, view| {
            office_only(principal, "housingOffers")?;
            let size = page_size(first, max)?;
            let before = after_instant_and_id(after.as_deref())?;
            let (offers, total) = view.offers_for_office(principal, before, size + 1);
            Ok(page_of(
                offers,
                total,
                size,
                after.is_some(),
                |o| sort_key(None, o.made_at, o.offer_id),
                |o| offer_node(o, register, session.now),
            ))
        })
        .gql()
    }

    async fn housing_offer(&self, ctx: &Context<'_>, id: Uuid) -> Result<OfferNode> {
        let session = Session::of(ctx).gql()?;
        with_housing(&session, |principal, register, view| {
            view.offer(principal, id)
                .map(|o| offer_node(o, register, session.now))
                .ok_or_else(|| ApiError::Rejected(talo_domain::housing::offer_not_visible()))
        })
        .gql()
    }
}

#[derive(InputObject)]
pub struct FileHousingApplicationInput {
    idempotency_key: String,
    household_size: u32,
    desired_areas: Vec<String>,
    apartment_types: Vec<String>,
    max_rent_cents: i64,
    move_in_from: NaiveDate,
}

#[derive(InputObject)]
pub struct HousingApplicationStepInput {
    idempotency_key: String,
    application_id: Uuid,
    /// Why the application is withdrawn (for withdrawals).
    reason: Option<String>,
}

#[derive(InputObject)]
pub struct MakeHousingOfferInput {
    idempotency_key: String,
    application_id: Uuid,
    apartment_id: Uuid,
    monthly_rent_cents: i64,
    lease_starts_on: NaiveDate,
    answer_by: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct HousingOfferStepInput {
    idempotency_key: String,
    offer_id: Uuid,
    /// Why the offer is declined (for declines).
    reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct HousingApplicationPayload {
    application: ApplicationNode,
    position: String,
    replayed: bool,
}

#[derive(SimpleObject)]
pub struct HousingOfferPayload {
    offer: OfferNode,
    position: String,
    replayed: bool,
}

fn application_payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: Outcome,
) -> Result<HousingApplicationPayload, ApiError> {
    let today = local_date(session.now);
    with_housing(session, |principal, _, view| {
        let a = view
            .application(principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::housing::application_not_visible()))?;
        Ok(HousingApplicationPayload {
            application: application_node(a, today),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

fn offer_payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: Outcome,
) -> Result<HousingOfferPayload, ApiError> {
    with_housing(session, |principal, register, view| {
        let o = view
            .offer(principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::housing::offer_not_visible()))?;
        Ok(HousingOfferPayload {
            offer: offer_node(o, register, session.now),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

#[derive(Default)]
pub struct HousingMutation;

async fn offer_step(
    ctx: &Context<'_>,
    input: HousingOfferStepInput,
    make: impl FnOnce(Option<String>, Uuid) -> OfferCommand,
) -> Result<HousingOfferPayload> {
    let run = async {
        let session = Session::of(ctx)?;
        let request = session.request(
            talo_events_schema::envelope::Channel::Portal,
            &input.idempotency_key,
        )?;
        let command = make(input.reason, Dispatcher::lease_id_for(input.offer_id));
        let outcome = session
            .talo
            .dispatcher
            .housing_offer_step(&request, input.offer_id, command)
            .await?;
        offer_payload(&session, input.offer_id, outcome)
    };
    run.await.gql()
}

async fn application_step(
    ctx: &Context<'_>,
    input: HousingApplicationStepInput,
    command: ApplicationCommand,
) -> Result<HousingApplicationPayload> {
    let run = async {
        let session = Session::of(ctx)?;
        let request = session.request(
            talo_events_schema::envelope::Channel::Portal,
            &input.idempotency_key,
        )?;
        let outcome = session
            .talo
            .dispatcher
            .housing_application_step(&request, input.application_id, command)
            .await?;
        application_payload(&session, input.application_id, outcome)
    };
    run.await.gql()
}

#[Object]
impl HousingMutation {
    /// Applies for a rental apartment; the application is valid for 90 days and renewable.
    async fn file_housing_application(
        &self,
        ctx: &Context<'_>,
        input: FileHousingApplicationInput,
    ) -> Result<HousingApplicationPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let application_id = request.new_entity_id("housing-application");
            let command = FileApplication {
                application_id,
                household_size: input.household_size,
                desired_areas: input.desired_areas,
                apartment_types: input.apartment_types,
                max_rent_cents: input.max_rent_cents,
                move_in_from: input.move_in_from,
            };
            let outcome = session
                .talo
                .dispatcher
                .file_housing_application(&request, command)
                .await?;
            application_payload(&session, application_id, outcome)
        };
        run.await.gql()
    }

    async fn renew_housing_application(
        &self,
        ctx: &Context<'_>,
        input: HousingApplicationStepInput,
    ) -> Result<HousingApplicationPayload> {
        application_step(ctx, input, ApplicationCommand::Renew).await
    }

    async fn withdraw_housing_application(
        &self,
        ctx: &Context<'_>,
        input: HousingApplicationStepInput,
    ) -> Result<HousingApplicationPayload> {
        let reason = input.reason.clone().unwrap_or_default();
        application_step(ctx, input, ApplicationCommand::Withdraw { reason }).await
    }

    /// Offers a vacant rental apartment to an application, with an answer deadline.
    async fn make_housing_offer(
        &self,
        ctx: &Context<'_>,
        input: MakeHousingOfferInput,
    ) -> Result<HousingOfferPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(
                talo_events_schema::envelope::Channel::Portal,
                &input.idempotency_key,
            )?;
            let offer_id = request.new_entity_id("housing-offer");
            let command = MakeOffer {
                offer_id,
                apartment_id: input.apartment_id,
                monthly_rent_cents: input.monthly_rent_cents,
                lease_starts_on: input.lease_starts_on,
                answer_by: input.answer_by,
            };
            let outcome = session
                .talo
                .dispatcher
                .make_housing_offer(&request, input.application_id, command)
                .await?;
            offer_payload(&session, offer_id, outcome)
        };
        run.await.gql()
    }

    /// The applicant accepts; the lease is signed in the register.
    async fn accept_housing_offer(
        &self,
        ctx: &Context<'_>,
        input: HousingOfferStepInput,
    ) -> Result<HousingOfferPayload> {
        offer_step(ctx, input, |_, contract_id| OfferCommand::Accept {
            contract_id,
        })
        .await
    }

    async fn decline_housing_offer(
        &self,
        ctx: &Context<'_>,
        input: HousingOfferStepInput,
    ) -> Result<HousingOfferPayload> {
        offer_step(ctx, input, |reason, _| OfferCommand::Decline {
            reason: reason.unwrap_or_default(),
        })
        .await
    }

    /// The office records that an unanswered offer passed its deadline.
    async fn expire_housing_offer(
        &self,
        ctx: &Context<'_>,
        input: HousingOfferStepInput,
    ) -> Result<HousingOfferPayload> {
        offer_step(ctx, input, |_, _| OfferCommand::Expire).await
    }
}
