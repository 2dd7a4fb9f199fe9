//! The notification outbox: every notification with its delivery status, what is due for
//! (re)delivery, each person's own notifications, and counts per channel (and property) for
//! the reports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::RecordedEvent;
use talo_events_schema::notification::NotificationChannel;
use uuid::Uuid;

use crate::engine::Projection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    /// Failed; tried again at `retry_at`.
    Failed,
    /// Failed too many times: nobody will try again.
    GaveUp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub notification_id: Uuid,
    pub organisation_id: Uuid,
    /// The property of the event that caused it, if it had one.
    #[serde(default)]
    pub property_id: Option<Uuid>,
    pub person_id: Uuid,
    pub channel: NotificationChannel,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub cause_type: String,
    pub queued_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Notifications per channel and status over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelCounts {
    pub queued: u32,
    pub delivered: u32,
    /// Delivery attempts made, failed or not.
    pub attempts: u32,
    pub failed_attempts: u32,
    pub gave_up: u32,
}

impl ChannelCounts {
    fn add(&mut self, r: &NotificationRecord) {
        self.queued += 1;
        self.delivered += u32::from(r.status == DeliveryStatus::Delivered);
        self.attempts += r.attempts;
        self.failed_attempts += match r.status {
            DeliveryStatus::Delivered | DeliveryStatus::Sent => r.attempts.saturating_sub(1),
            _ => r.attempts,
        };
        self.gave_up += u32::from(r.status == DeliveryStatus::GaveUp);
    }
}

/// The counts of one channel for notifications about one property (`None`: about nothing of a
/// property, such as an application).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyChannelCounts {
    pub property_id: Option<Uuid>,
    pub channel: NotificationChannel,
    pub counts: ChannelCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    records: BTreeMap<Uuid, NotificationRecord>,
}

impl Projection for NotificationsView {
    const NAME: &'static str = "notifications";
    // 2: records carry their cause's property.
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        match decoded {
            DomainEvent::NotificationQueued(e) => {
                self.records.insert(
                    e.notification_id,
                    NotificationRecord {
                        notification_id: e.notification_id,
                        organisation_id: event.metadata.organisation_id,
                        property_id: event.metadata.property_id,
                        person_id: e.person_id,
                        channel: e.channel,
                        address: e.address.clone(),
                        subject: e.subject.clone(),
                        body: e.body.clone(),
                        cause_type: e.cause_type.clone(),
                        queued_at: at,
                        status: DeliveryStatus::Queued,
                        attempts: 0,
                        last_error: None,
                        retry_at: None,
                        delivered_at: None,
                    },
                );
            }
            DomainEvent::NotificationSent(e) => {
                if let Some(r) = self.records.get_mut(&e.notification_id) {
                    r.status = DeliveryStatus::Sent;
                    r.attempts = e.attempt;
                }
            }
            DomainEvent::NotificationDelivered(e) => {
                if let Some(r) = self.records.get_mut(&e.notification_id) {
                    r.status = DeliveryStatus::Delivered;
                    r.delivered_at = Some(at);
                    r.retry_at = None;
                }
            }
            DomainEvent::NotificationFailed(e) => {
                if let Some(r) = self.records.get_mut(&e.notification_id) {
                    r.attempts = e.attempt;
                    r.last_error = Some(e.error.clone());
                    r.retry_at = e.retry_at;
                    r.status = if e.retry_at.is_some() {
                        DeliveryStatus::Failed
                    } else {
                        DeliveryStatus::GaveUp
                    };
                }
            }
            _ => {}
        }
    }
}

impl NotificationsView {
    /// Queued ones, and failed ones whose retry time has come: what the deliverer sends next.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<&NotificationRecord> {
        self.records
            .values()
            .filter(|r| {
                r.status == DeliveryStatus::Queued
                    || (r.status == DeliveryStatus::Failed && r.retry_at.is_some_and(|t| t <= now))
            })
            .collect()
    }

    /// A person's own notifications, newest first.
    pub fn for_person(&self, organisation_id: Uuid, person_id: Uuid) -> Vec<&NotificationRecord> {
        let mut records: Vec<_> = self
            .records
            .values()
            .filter(|r| r.organisation_id == organisation_id && r.person_id == person_id)
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.queued_at, r.notification_id)));
        records
    }

    /// The organisation's notifications, newest first, optionally only those in one status.
    pub fn outbox(
        &self,
        organisation_id: Uuid,
        status: Option<DeliveryStatus>,
    ) -> Vec<&NotificationRecord> {
        let mut records: Vec<_> = self
            .records
            .values()
            .filter(|r| {
                r.organisation_id == organisation_id && status.is_none_or(|s| r.status == s)
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.queued_at, r.notification_id)));
        records
    }

    /// Counts per channel of notifications queued in `[from, until)`.
    pub fn counts(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BTreeMap<&'static str, ChannelCounts> {
        let mut counts: BTreeMap<&'static str, ChannelCounts> = BTreeMap::new();
        for r in self.records.values().filter(|r| {
            r.organisation_id == organisation_id && from <= r.queued_at && r.queued_at < until
        }) {
            let name = match r.channel {
                NotificationChannel::Sms => "sms",
                NotificationChannel::Email => "email",
            };
            counts.entry(name).or_default().add(r);
        }
        counts
    }

    /// Counts per property and channel of notifications queued in `[from, until)`, ordered by
    /// property id (those without a property first) and channel (SMS, then email).
    pub fn counts_by_property(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<PropertyChannelCounts> {
        let channel_order = |c: NotificationChannel| match c {
            NotificationChannel::Sms => 0,
            NotificationChannel::Email => 1,
        };
        let mut counts: BTreeMap<(Option<Uuid>, u8), PropertyChannelCounts> = BTreeMap::new();
        for r in self.records.values().filter(|r| {
            r.organisation_id == organisation_id && from <= r.queued_at && r.queued_at < until
        }) {
            counts
                .entry((r.property_id, channel_order(r.channel)))
                .or_insert(PropertyChannelCounts {
                    property_id: r.property_id,
                    channel: r.channel,
                    counts: ChannelCounts::default(),
                })
                .counts
                .add(r);
        }
        counts.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use talo_events_schema::notification::*;

    use super::*;
    use crate::given::{Given, utc};

    #[test]
    fn counts_per_property_and_channel_with_failed_attempts() {
        let mut given = Given::new();
        let mut view = NotificationsView::default();
        let property = Some(Uuid::now_v7());
        let queue = |given: &mut Given, view: &mut NotificationsView, property, channel| {
            let id = Uuid::now_v7();
            given.fold(
                view,
                utc(2026, 3, 2, 8),
                property,
                NotificationQueued {
                    notification_id: id,
                    person_id: Uuid::now_v7(),
                    channel,
                    address: "x".into(),
                    subject: "s".into(),
                    body: "b".into(),
                    cause_event_id: Uuid::now_v7(),
                    cause_type: "FaultReportAcknowledged".into(),
                },
            );
            id
        };
        let sms = queue(&mut given, &mut view, property, NotificationChannel::Sms);
        let email = queue(&mut given, &mut view, property, NotificationChannel::Email);
        let elsewhere = queue(&mut given, &mut view, None, NotificationChannel::Email);
        let at = utc(2026, 3, 2, 9);
        given.fold(
            &mut view,
            at,
            None,
            NotificationSent {
                notification_id: sms,
                attempt: 1,
            },
        );
        given.fold(
            &mut view,
            at,
            None,
            NotificationDelivered {
                notification_id: sms,
            },
        );
        for attempt in 1..=2 {
            given.fold(
                &mut view,
                at,
                None,
                NotificationFailed {
                    notification_id: email,
                    attempt,
                    error: "down".into(),
                    retry_at: (attempt < 2).then_some(at),
                },
            );
        }
        given.fold(
            &mut view,
            at,
            None,
            NotificationFailed {
                notification_id: elsewhere,
                attempt: 1,
                error: "down".into(),
                retry_at: Some(at),
            },
        );
        let counts = view.counts_by_property(
            given.organisation_id,
            utc(2026, 3, 2, 0),
            utc(2026, 3, 3, 0),
        );
        let summary: Vec<_> = counts
            .iter()
            .map(|c| (c.property_id, c.channel, c.counts))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    None,
                    NotificationChannel::Email,
                    ChannelCounts {
                        queued: 1,
                        delivered: 0,
                        attempts: 1,
                        failed_attempts: 1,
                        gave_up: 0
                    }
                ),
                (
                    property,
                    NotificationChannel::Sms,
                    ChannelCounts {
                        queued: 1,
                        delivered: 1,
                        attempts: 1,
                        failed_attempts: 0,
                        gave_up: 0
                    }
                ),
                (
                    property,
                    NotificationChannel::Email,
                    ChannelCounts {
                        queued: 1,
                        delivered: 0,
                        attempts: 2,
                        failed_attempts: 2,
                        gave_up: 1
                    }
                ),
            ]
        );
        assert!(
            view.counts_by_property(
                given.organisation_id,
                utc(2026, 3, 3, 0),
                utc(2026, 3, 4, 0)
            )
            .is_empty()
        );
    }
}
