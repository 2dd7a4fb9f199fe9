//! The document archive read model: every document with its versions, audience and whether it
//! is withdrawn, and the views over it: a property's documents and one document, each as the
//! caller may see it now.
//!
//! Who may read what is decided by `talo_domain::document::reader`, the rule the command side
//! uses too, evaluated at query time against the caller's principal of today.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::access::Principal;
use talo_domain::document::{Reader, reader};
use talo_events_schema::DomainEvent;
use talo_events_schema::document::{DocumentAudience, DocumentCategory};
use talo_events_schema::envelope::{Actor, Position, RecordedEvent};
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: u32,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub added_at: DateTime<Utc>,
    pub added_by: Actor,
    /// Where the version was recorded in the log.
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub document_id: Uuid,
    pub organisation_id: Uuid,
    pub property_id: Uuid,
    pub title: String,
    pub category: DocumentCategory,
    pub audience: DocumentAudience,
    /// Oldest first.
    pub versions: Vec<VersionRecord>,
    pub added_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_reason: Option<String>,
    pub last_position: Position,
}

impl DocumentRecord {
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.last()
    }

    pub fn version(&self, version: u32) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// How `principal` may read this document now, if at all.
    pub fn reader(&self, principal: &Principal) -> Option<Reader> {
        if principal.organisation_id != self.organisation_id {
            return None;
        }
        reader(
            principal,
            self.property_id,
            self.audience,
            self.withdrawn_at.is_some(),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentsView {
    documents: BTreeMap<Uuid, DocumentRecord>,
    by_property: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Projection for DocumentsView {
    const NAME: &'static str = "documents";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let meta = &event.metadata;
        let at = meta.occurred_at;
        if let DomainEvent::DocumentAdded(e) = decoded {
            self.by_property
                .entry(e.property_id)
                .or_default()
                .insert(e.document_id);
            self.documents.insert(
                e.document_id,
                DocumentRecord {
                    document_id: e.document_id,
                    organisation_id: meta.organisation_id,
                    property_id: e.property_id,
                    title: e.title.clone(),
                    category: e.category,
                    audience: e.audience,
                    versions: vec![VersionRecord {
                        version: 1,
                        filename: e.filename.clone(),
                        content_type: e.content_type.clone(),
                        size_bytes: e.size_bytes,
                        sha256: e.sha256.clone(),
                        added_at: at,
                        added_by: meta.actor,
                        position: event.position,
                    }],
                    added_at: at,
                    updated_at: at,
                    withdrawn_at: None,
                    withdrawal_reason: None,
                    last_position: event.position,
                },
            );
            return;
        }
        let id = match decoded {
            DomainEvent::DocumentVersionAdded(e) => e.document_id,
            DomainEvent::DocumentAudienceChanged(e) => e.document_id,
            DomainEvent::DocumentWithdrawn(e) => e.document_id,
            _ => return,
        };
        let Some(d) = self.documents.get_mut(&id) else {
            return;
        };
        d.updated_at = at;
        d.last_position = event.position;
        match decoded {
            DomainEvent::DocumentVersionAdded(e) => d.versions.push(VersionRecord {
                version: e.version,
                filename: e.filename.clone(),
                content_type: e.content_type.clone(),
                size_bytes: e.size_bytes,
                sha256: e.sha256.clone(),
                added_at: at,
                added_by: meta.actor,
                position: event.position,
            }),
            DomainEvent::DocumentAudienceChanged(e) => d.audience = e.audience,
            DomainEvent::DocumentWithdrawn(e) => {
                d.withdrawn_at = Some(at);
                d.withdrawal_reason = Some(e.reason.clone());
            }
            _ => {}
        }
    }
}

impl DocumentsView {
    /// One document, if `principal` may read it now.
    pub fn visible(&self, principal: &Principal, id: Uuid) -> Option<(&DocumentRecord, Reader)> {
        let record = self.documents.get(&id)?;
        record.reader(principal).map(|r| (record, r))
    }

    /// The property's documents `principal` may read now, newest change first.
    pub fn for_property(
        &self,
        principal: &Principal,
        property_id: Uuid,
    ) -> Vec<(&DocumentRecord, Reader)> {
        let mut found: Vec<(&DocumentRecord, Reader)> = self
            .by_property
            .get(&property_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.visible(principal, *id))
            .collect();
        found.sort_by(|(a, _), (b, _)| {
            (b.updated_at, b.document_id).cmp(&(a.updated_at, a.document_id))
        });
        found
    }

    /// What happened in a property's archive over `[from, until)`, per property and category.
    pub fn activity(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<ArchiveActivity> {
        let in_range = |t: DateTime<Utc>| from <= t && t < until;
        // Keyed by the category's declaration order, so rows come out in a stable order.
        let mut rows: BTreeMap<(Uuid, u8), ArchiveActivity> = BTreeMap::new();
        for d in self
            .documents
            .values()
            .filter(|d| d.organisation_id == organisation_id && d.added_at < until)
        {
            let row = rows
                .entry((d.property_id, d.category as u8))
                .or_insert_with(|| ArchiveActivity {
                    property_id: d.property_id,
                    category: d.category,
                    ..ArchiveActivity::default()
                });
            if in_range(d.added_at) {
                row.added += 1;
            }
            for v in d.versions.iter().filter(|v| in_range(v.added_at)) {
                if v.version > 1 {
                    row.new_versions += 1;
                }
                row.bytes_added += v.size_bytes;
            }
            match d.withdrawn_at {
                Some(t) if in_range(t) => row.withdrawn += 1,
                Some(t) if t < from => {}
                _ => row.live_at_end += 1,
            }
        }
        rows.into_values()
            .filter(|r| r.added + r.new_versions + r.withdrawn + r.live_at_end > 0)
            .collect()
    }
}

/// A property's archive in one category over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveActivity {
    pub property_id: Uuid,
    pub category: DocumentCategory,
    /// Documents added in the range.
    pub added: u32,
    /// New versions of documents (beyond their first) added in the range.
    pub new_versions: u32,
    /// Bytes of every version added in the range.
    pub bytes_added: u64,
    pub withdrawn: u32,
    /// Documents in the archive at the end of the range (added before it, not withdrawn by it).
    pub live_at_end: u32,
}

impl Default for ArchiveActivity {
    fn default() -> Self {
        ArchiveActivity {
            property_id: Uuid::nil(),
            category: DocumentCategory::Other,
            added: 0,
            new_versions: 0,
            bytes_added: 0,
            withdrawn: 0,
            live_at_end: 0,
        }
    }
}
