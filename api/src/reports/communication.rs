//! The communication reports: announcements published over a range with how many of their
//! audience read them, notifications per channel with their delivery failures, and housing
//! offers made and how they ended. The numbers come from the announcements, notifications and
//! housing read models.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Report, ReportRange, ReportScope};
use crate::error::ApiError;
use crate::graphql::enums::{AnnouncementCategoryGql, NotificationChannelGql};
use crate::talo::Talo;
use talo_projections::announcements::Residencies;
use talo_projections::statistics::per_mille;

/// Announcements published over a range.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementReadsReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

/// One announcement published in the range, in one property it targets. The audience is
/// everyone with a lease or shareholding on a targeted apartment of the property on some day
/// the announcement was shown (from its publishing day to today, its expiry or its withdrawal);
/// readers are those of them who opened it, so the rate never exceeds 1000.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementReadsReportRow {
    pub announcement_id: Uuid,
    pub property_id: Uuid,
    pub property_name: String,
    pub title: String,
    pub category: AnnouncementCategoryGql,
    #[serde(serialize_with = "crate::reports::range::rfc3339")]
    pub publish_at: DateTime<Utc>,
    pub withdrawn: bool,
    pub audience: u32,
    pub readers: u32,
    /// Readers of the audience, rounded down; absent if the audience is empty.
    pub read_per_mille: Option<u32>,
}

/// `announcement-reads`: a row per announcement and targeted property, oldest first.
pub struct AnnouncementReadsReport;

impl Report for AnnouncementReadsReport {
    const NAME: &'static str = "announcement-reads";
    const ON_BLOCKING_POOL: bool = true;
    type Input = AnnouncementReadsReportInput;
    type Row = AnnouncementReadsReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: AnnouncementReadsReportInput,
    ) -> Result<Vec<AnnouncementReadsReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        scope.with_register(talo, |register| {
            let view = talo.read_models.announcements.read();
            let residencies = Residencies::of(register);
            let mut rows = Vec::new();
            for record in view.published_between(scope.organisation_id(), range.from, range.until) {
                for property_id in record.properties() {
                    let Some(property) = register.properties.get(&property_id) else {
                        continue;
                    };
                    if !scope.includes(property_id, input.property_id) {
                        continue;
                    }
                    let reach = record.reach(&residencies, property_id, now);
                    rows.push(AnnouncementReadsReportRow {
                        announcement_id: record.announcement_id,
                        property_id,
                        property_name: property.name.clone(),
                        title: record.title.clone(),
                        category: record.category.into(),
                        publish_at: record.publish_at,
                        withdrawn: record.withdrawn.is_some(),
                        audience: reach.audience,
                        readers: reach.readers,
                        read_per_mille: per_mille(reach.readers, reach.audience),
                    });
                }
            }
            Ok(rows)
        })
    }
}

/// Notifications queued over a range.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDeliveryReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

/// Notifications queued in the range on one channel about one property, and how their
/// delivery went so far. Notifications about no property (a housing application, say) have an
/// empty property and are shown to those who see every property of the organisation.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDeliveryReportRow {
    pub property_id: Option<Uuid>,
    pub property_name: Option<String>,
    pub channel: NotificationChannelGql,
    pub notifications: u32,
    pub delivered: u32,
    /// Failed too many times; nobody tries again.
    pub gave_up: u32,
    /// Delivery attempts made, failed or not.
    pub attempts: u32,
    pub failed_attempts: u32,
    /// Failed attempts of all attempts, rounded down; absent if none was made yet.
    pub failure_per_mille: Option<u32>,
}

/// `notification-delivery`: a row per property and channel (SMS, then email).
pub struct NotificationDeliveryReport;

impl Report for NotificationDeliveryReport {
    const NAME: &'static str = "notification-delivery";
    type Input = NotificationDeliveryReportInput;
    type Row = NotificationDeliveryReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        _now: DateTime<Utc>,
        input: NotificationDeliveryReportInput,
    ) -> Result<Vec<NotificationDeliveryReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        scope.with_register(talo, |register| {
            let sees_everything = register.properties.keys().all(|p| scope.sees(*p));
            let counts = talo.read_models.notifications.read().counts_by_property(
                scope.organisation_id(),
                range.from,
                range.until,
            );
            let mut rows: Vec<NotificationDeliveryReportRow> = counts
                .into_iter()
                .filter(|c| match c.property_id {
                    Some(p) => scope.includes(p, input.property_id),
                    None => sees_everything && input.property_id.is_none(),
                })
                .map(|c| NotificationDeliveryReportRow {
                    property_id: c.property_id,
                    property_name: c
                        .property_id
                        .and_then(|p| register.properties.get(&p))
                        .map(|p| p.name.clone()),
                    channel: c.channel.into(),
                    notifications: c.counts.queued,
                    delivered: c.counts.delivered,
                    gave_up: c.counts.gave_up,
                    attempts: c.counts.attempts,
                    failed_attempts: c.counts.failed_attempts,
                    failure_per_mille: per_mille(c.counts.failed_attempts, c.counts.attempts),
                })
                .collect();
            // By property name (none first), keeping SMS before email within one.
            rows.sort_by(|a, b| a.property_name.cmp(&b.property_name));
            Ok(rows)
        })
    }
}

/// Housing offers over a range.
#[derive(InputObject, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HousingOffersReportInput {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub property_id: Option<Uuid>,
}

/// A property's housing offers: made in the range, and accepted, declined or expired (their
/// deadline passed unanswered, recorded or not) in the range, as of now.
#[derive(SimpleObject, Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HousingOffersReportRow {
    pub property_id: Uuid,
    pub property_name: String,
    pub made: u32,
    pub accepted: u32,
    pub declined: u32,
    pub expired: u32,
    /// Accepted of the offers that ended in the range (accepted, declined or expired), rounded
    /// down; absent if none ended.
    pub accepted_per_mille: Option<u32>,
}

/// `housing-offers`: a row per property.
pub struct HousingOffersReport;

impl Report for HousingOffersReport {
    const NAME: &'static str = "housing-offers";
    type Input = HousingOffersReportInput;
    type Row = HousingOffersReportRow;

    fn run(
        talo: &Talo,
        scope: &ReportScope,
        now: DateTime<Utc>,
        input: HousingOffersReportInput,
    ) -> Result<Vec<HousingOffersReportRow>, ApiError> {
        let range = ReportRange::new(input.from, input.until)?;
        scope.with_register(talo, |register| {
            let outcomes = talo.read_models.housing.read().offer_outcomes(
                scope.organisation_id(),
                range.from,
                range.until,
                now,
            );
            Ok(scope
                .properties(register, input.property_id)
                .into_iter()
                .map(|p| {
                    let o = outcomes.get(&p.property_id).copied().unwrap_or_default();
                    HousingOffersReportRow {
                        property_id: p.property_id,
                        property_name: p.name.clone(),
                        made: o.made,
                        accepted: o.accepted,
                        declined: o.declined,
                        expired: o.expired,
                        accepted_per_mille: per_mille(
                            o.accepted,
                            o.accepted + o.declined + o.expired,
                        ),
                    }
                })
                .collect())
        })
    }
}
