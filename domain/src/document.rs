//! The document archive (dokumenttiarkisto): who may add files to a property and change them,
//! what a file must be to be accepted, and who may read a document, decided afresh on every
//! request from the register (a person who leaves the board stops seeing board papers at once).
//!
//! The bytes themselves are not the domain's: the API hashes and stores them and hands the
//! domain their size, media type and SHA-256 with the limits that apply.

use talo_events_schema::DomainEvent;
use talo_events_schema::document::*;
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::register::{BoardRole, ContractKind};
use uuid::Uuid;

use crate::access::Principal;
use crate::decision::Decision;
use crate::register::Register;
use crate::rejection::{Rejection, RejectionKind, require_text};

/// One stored version of a document's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFile {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// A document as its stream says it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub document_id: Uuid,
    pub property_id: Uuid,
    pub title: String,
    pub category: DocumentCategory,
    pub audience: DocumentAudience,
    /// Oldest first: version `n` is `versions[n - 1]`.
    pub versions: Vec<DocumentFile>,
    pub withdrawn: bool,
}

impl Document {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Option<Self> {
        let mut state: Option<Document> = None;
        for event in events {
            match (event, state.as_mut()) {
                (DomainEvent::DocumentAdded(e), None) => {
                    state = Some(Document {
                        document_id: e.document_id,
                        property_id: e.property_id,
                        title: e.title.clone(),
                        category: e.category,
                        audience: e.audience,
                        versions: vec![DocumentFile {
                            filename: e.filename.clone(),
                            content_type: e.content_type.clone(),
                            size_bytes: e.size_bytes,
                            sha256: e.sha256.clone(),
                        }],
                        withdrawn: false,
                    })
                }
                (DomainEvent::DocumentVersionAdded(e), Some(d)) => d.versions.push(DocumentFile {
                    filename: e.filename.clone(),
                    content_type: e.content_type.clone(),
                    size_bytes: e.size_bytes,
                    sha256: e.sha256.clone(),
                }),
                (DomainEvent::DocumentAudienceChanged(e), Some(d)) => d.audience = e.audience,
                (DomainEvent::DocumentWithdrawn(_), Some(d)) => d.withdrawn = true,
                _ => {}
            }
        }
        state
    }

    pub fn latest_version(&self) -> u32 {
        self.versions.len() as u32
    }
}

/// What an upload may be, from the API's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLimits {
    pub max_bytes: u64,
    /// Media types accepted, without parameters (`application/pdf`).
    pub allowed_types: Vec<String>,
}

/// Everything a document decision needs besides the document.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub principal: &'a Principal,
    pub register: &'a Register,
    pub limits: &'a UploadLimits,
}

/// A new document for a property's archive.
#[derive(Debug, Clone, PartialEq)]
pub struct AddDocument {
    pub document_id: Uuid,
    pub property_id: Uuid,
    pub title: String,
    pub category: DocumentCategory,
    pub audience: DocumentAudience,
    pub file: DocumentFile,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DocumentCommand {
    AddVersion { file: DocumentFile },
    ChangeAudience { audience: DocumentAudience },
    Withdraw { reason: String },
}

/// How a person may read a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Office staff of the property: everything, withdrawn documents too.
    Office(ActorRole),
    /// Everything of the organisation, withdrawn documents too.
    Auditor,
    /// A member of the document's audience.
    Audience,
}

impl Reader {
    /// Whether this reader sees withdrawn documents (marked as such).
    pub fn sees_withdrawn(self) -> bool {
        !matches!(self, Reader::Audience)
    }
}

/// Who may read a document of `property_id` with `audience`, now. `None`: not theirs to see
/// (and not to know of).
pub fn reader(
    principal: &Principal,
    property_id: Uuid,
    audience: DocumentAudience,
    withdrawn: bool,
) -> Option<Reader> {
    if let Some(role) = principal.office_role_for(property_id) {
        return Some(Reader::Office(role));
    }
    if principal.is_auditor() {
        return Some(Reader::Auditor);
    }
    if withdrawn {
        return None;
    }
    let seat = |wanted: Option<BoardRole>| {
        principal
            .board_seats
            .iter()
            .any(|(p, r)| *p == property_id && wanted.is_none_or(|w| w == *r))
    };
    let holds = |kind: Option<ContractKind>| {
        principal
            .homes
            .iter()
            .any(|h| h.property_id == property_id && kind.is_none_or(|k| k == h.kind))
    };
    let member = match audience {
        DocumentAudience::ChairOnly => seat(Some(BoardRole::Chair)),
        DocumentAudience::Board => seat(None),
        DocumentAudience::Shareholders => seat(None) || holds(Some(ContractKind::Shareholding)),
        DocumentAudience::AllResidents => seat(None) || holds(None),
    };
    member.then_some(Reader::Audience)
}

/// The one answer for a document that does not exist or is not the caller's to see.
pub fn not_visible() -> Rejection {
    Rejection::not_found(
        "document_id",
        "document.not_visible",
        "no such document, or not yours to see",
    )
}

/// The office role under which the principal may manage the property's archive.
fn manager_role(principal: &Principal, property_id: Uuid) -> Result<ActorRole, Rejection> {
    principal.office_role_for(property_id).ok_or_else(|| {
        Rejection::forbidden(
            "document.manage_requires_office",
            "only the property's office staff may add or change documents",
        )
    })
}

/// Checks a file against the limits: not empty, not too large, an allowed type, a well-formed
/// hash and a file name.
pub fn check_file(file: &DocumentFile, limits: &UploadLimits) -> Result<(), Rejection> {
    require_text("filename", &file.filename, 255)?;
    if file.filename.contains(['/', '\\']) || file.filename.chars().any(char::is_control) {
        return Err(Rejection::invalid(
            "filename",
            "document.filename_format",
            "must be a plain file name, without slashes or control characters",
        ));
    }
    if file.size_bytes == 0 {
        return Err(Rejection::invalid(
            "body",
            "document.empty",
            "the file is empty",
        ));
    }
    if file.size_bytes > limits.max_bytes {
        return Err(Rejection {
            kind: RejectionKind::TooLarge,
            rule: "document.too_large",
            field: Some("body"),
            message: format!(
                "body: must be at most {} bytes, got {}",
                limits.max_bytes, file.size_bytes
            ),
        });
    }
    let media_type = media_type(&file.content_type);
    if !limits.allowed_types.contains(&media_type) {
        return Err(Rejection {
            kind: RejectionKind::UnsupportedType,
            rule: "document.type_not_allowed",
            field: Some("content_type"),
            message: format!(
                "content_type: `{media_type}` is not accepted; allowed: {}",
                limits.allowed_types.join(", ")
            ),
        });
    }
    if file.sha256.len() != 64
        || !file
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Rejection::invalid(
            "sha256",
            "document.sha256_format",
            "must be 64 lowercase hex digits",
        ));
    }
    Ok(())
}

/// The media type without parameters, lowercased: `Text/Plain; charset=utf-8` is `text/plain`.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Adds a document to a property's archive.
pub fn add(command: AddDocument, ctx: &Context<'_>) -> Result<Decision, Rejection> {
    if !ctx.register.properties.contains_key(&command.property_id) {
        return Err(Rejection::not_found(
            "property_id",
            "document.property_unknown",
            "no such property in the organisation",
        ));
    }
    let role = manager_role(ctx.principal, command.property_id)?;
    require_text("title", &command.title, 200)?;
    check_file(&command.file, ctx.limits)?;
    let file = command.file;
    Ok(Decision {
        events: vec![
            DocumentAdded {
                document_id: command.document_id,
                property_id: command.property_id,
                title: command.title.trim().to_owned(),
                category: command.category,
                audience: command.audience,
                filename: file.filename,
                content_type: media_type(&file.content_type),
                size_bytes: file.size_bytes,
                sha256: file.sha256,
            }
            .into(),
        ],
        role,
    })
}

/// Decides a step on an existing document.
pub fn decide(
    document: &Document,
    command: DocumentCommand,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    if reader(
        ctx.principal,
        document.property_id,
        document.audience,
        document.withdrawn,
    )
    .is_none()
    {
        return Err(not_visible());
    }
    let role = manager_role(ctx.principal, document.property_id)?;
    if document.withdrawn {
        return Err(Rejection::transition(
            "document.withdrawn",
            "the document is withdrawn; add it again instead",
        ));
    }
    let event: DomainEvent = match command {
        DocumentCommand::AddVersion { file } => {
            check_file(&file, ctx.limits)?;
            DocumentVersionAdded {
                document_id: document.document_id,
                version: document.latest_version() + 1,
                filename: file.filename,
                content_type: media_type(&file.content_type),
                size_bytes: file.size_bytes,
                sha256: file.sha256,
            }
            .into()
        }
        DocumentCommand::ChangeAudience { audience } => {
            if audience == document.audience {
                return Err(Rejection::invalid(
                    "audience",
                    "document.audience_unchanged",
                    "the document already has this audience",
                ));
            }
            DocumentAudienceChanged {
                document_id: document.document_id,
                audience,
            }
            .into()
        }
        DocumentCommand::Withdraw { reason } => {
            require_text("reason", &reason, 500)?;
            DocumentWithdrawn {
                document_id: document.document_id,
                reason: reason.trim().to_owned(),
            }
            .into()
        }
    };
    Ok(Decision {
        events: vec![event],
        role,
    })
}
