//! The document archive report: what each property's archive gained, changed and lost over a
//! range, per category, and what it held at the end.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::enums::DocumentCategoryGql;
use crate::reports::names::Names;
use crate::reports::{Report, ReportRange, ReportScope};
use crate::talo::Talo;

#[derive(InputObject, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct DocumentsReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

#[derive(SimpleObject, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct DocumentsReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub category: DocumentCategoryGql,
    /// Documents added in the range.
    pub added: u32,
    /// Later versions of documents added in the range.
    pub new_versions: u32,
    /// Bytes of every version added in the range.
    pub bytes_added: u64,
    pub withdrawn: u32,
    /// Documents in the archive at the end of the range.
    pub live_at_end: u32,
}

pub struct DocumentsReport;

impl Report for DocumentsReport {
    const NAME: &'static str = "documents";
    type Input = DocumentsReportInput;
    type Row = DocumentsReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: DocumentsReportInput,
    ) -> Result<Vec<DocumentsReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        let rows = talo.read_models.documents.read().activity(
            scope.organisation_id(),
            range.from,
            range.until,
        );
        let names = Names::of(talo, scope)?;
        Ok(rows
            .into_iter()
            .filter(|r| scope.includes(r.property_id, input.property_id))
            .map(|r| DocumentsReportRow {
                property_id: r.property_id,
                property_name: names.property(r.property_id),
                category: r.category.into(),
                added: r.added,
                new_versions: r.new_versions,
                bytes_added: r.bytes_added,
                withdrawn: r.withdrawn,
                live_at_end: r.live_at_end,
            })
            .collect())
    }
}
