//! The document archive in GraphQL: a property's documents and one document as the caller may
//! see them now, and the metadata changes (audience, withdrawal). Files go up and come down
//! over HTTP (`document_http.rs`); each version here names its download path.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use talo_domain::document::{DocumentCommand, Reader};
use talo_events_schema::envelope::Channel;
use talo_projections::documents::DocumentRecord;
use uuid::Uuid;

use super::enums::*;
use super::pagination::{Order, Page, paginate, sort_key};
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};

#[derive(SimpleObject)]
pub struct DocumentVersion {
    version: u32,
    filename: String,
    content_type: String,
    size_bytes: u64,
    /// SHA-256 of the bytes, lowercase hex.
    sha256: String,
    added_at: DateTime<Utc>,
    /// `GET` this with the same token for the bytes.
    download_path: String,
}

/// A document as one caller may see it.
#[derive(SimpleObject)]
#[graphql(name = "Document")]
pub struct DocumentNode {
    id: Uuid,
    property_id: Uuid,
    title: String,
    category: DocumentCategoryGql,
    audience: DocumentAudienceGql,
    latest_version: u32,
    /// Oldest first.
    versions: Vec<DocumentVersion>,
    added_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Withdrawn documents are shown only to the office and auditors.
    withdrawn: bool,
    withdrawn_at: Option<DateTime<Utc>>,
    withdrawal_reason: Option<String>,
    /// The caller may change it (office staff of the property).
    can_manage: bool,
}

impl DocumentNode {
    fn new(record: &DocumentRecord, reader: Reader) -> Self {
        let id = record.document_id;
        DocumentNode {
            id,
            property_id: record.property_id,
            title: record.title.clone(),
            category: record.category.into(),
            audience: record.audience.into(),
            latest_version: record.latest().map_or(0, |v| v.version),
            versions: record
                .versions
                .iter()
                .map(|v| DocumentVersion {
                    version: v.version,
                    filename: v.filename.clone(),
                    content_type: v.content_type.clone(),
                    size_bytes: v.size_bytes,
                    sha256: v.sha256.clone(),
                    added_at: v.added_at,
                    download_path: format!("/documents/{id}/content?version={}", v.version),
                })
                .collect(),
            added_at: record.added_at,
            updated_at: record.updated_at,
            withdrawn: record.withdrawn_at.is_some(),
            withdrawn_at: record.withdrawn_at,
            withdrawal_reason: record.withdrawal_reason.clone(),
            can_manage: matches!(reader, Reader::Office(_)),
        }
    }
}

fn find(session: &Session<'_>, id: Uuid) -> Result<DocumentNode, ApiError> {
    let principal = session.principal()?;
    let view = session.talo.read_models.documents.read();
    view.visible(&principal, id)
        .map(|(record, reader)| DocumentNode::new(record, reader))
        .ok_or_else(|| ApiError::Rejected(talo_domain::document::not_visible()))
}

#[derive(Default)]
pub struct DocumentQuery;

#[Object]
impl DocumentQuery {
    /// The property's documents the caller may read now, most recently changed first.
    async fn documents(
        &self,
        ctx: &Context<'_>,
        property_id: Uuid,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<DocumentNode>> {
        let run = || {
            let session = Session::of(ctx)?;
            let principal = session.principal()?;
            let view = session.talo.read_models.documents.read();
            paginate(
                view.for_property(&principal, property_id),
                Order::Descending,
                |(r, _)| sort_key(None, r.updated_at, r.document_id),
                first,
                after,
                session.talo.config.limits.max_page_size,
                |(r, reader)| DocumentNode::new(r, reader),
            )
        };
        run().gql()
    }

    /// One document, if the caller may read it now.
    async fn document(&self, ctx: &Context<'_>, id: Uuid) -> Result<DocumentNode> {
        let run = || find(&Session::of(ctx)?, id);
        run().gql()
    }
}

#[derive(SimpleObject)]
pub struct DocumentPayload {
    document: DocumentNode,
    position: String,
    replayed: bool,
}

#[derive(InputObject)]
pub struct ChangeDocumentAudienceInput {
    idempotency_key: String,
    document_id: Uuid,
    audience: DocumentAudienceGql,
}

#[derive(InputObject)]
pub struct WithdrawDocumentInput {
    idempotency_key: String,
    document_id: Uuid,
    reason: String,
}

#[derive(Default)]
pub struct DocumentMutation;

async fn step(
    ctx: &Context<'_>,
    key: &str,
    id: Uuid,
    command: DocumentCommand,
) -> Result<DocumentPayload, ApiError> {
    let session = Session::of(ctx)?;
    let request = session.request(Channel::Portal, key)?;
    let outcome: Outcome = session
        .talo
        .dispatcher
        .document_step(&request, id, command, &session.talo.upload_limits())
        .await?;
    Ok(DocumentPayload {
        document: find(&session, id)?,
        position: outcome.position.to_string(),
        replayed: outcome.replayed,
    })
}

#[Object]
impl DocumentMutation {
    /// Who may read the document from now on.
    async fn change_document_audience(
        &self,
        ctx: &Context<'_>,
        input: ChangeDocumentAudienceInput,
    ) -> Result<DocumentPayload> {
        let command = DocumentCommand::ChangeAudience {
            audience: input.audience.into(),
        };
        step(ctx, &input.idempotency_key, input.document_id, command)
            .await
            .gql()
    }

    /// Stops showing the document to its audience; the office and auditors still see it.
    async fn withdraw_document(
        &self,
        ctx: &Context<'_>,
        input: WithdrawDocumentInput,
    ) -> Result<DocumentPayload> {
        let command = DocumentCommand::Withdraw {
            reason: input.reason,
        };
        step(ctx, &input.idempotency_key, input.document_id, command)
            .await
            .gql()
    }
}
