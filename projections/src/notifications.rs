//! The notification outbox: every notification with its delivery status, what is due for
//! (re)delivery, each person's own notifications, and counts per channel (and property) for
//! the reports.
//!
//! Five years of a large organisation queue millions of notifications, and the deliverer asks
//! what is due ten times a second: every question is answered from an index (what is still
//! undelivered, each organisation's by the time queued, each person's), not by looking through
//! them all. On a store with 470,000 notifications the idle server spent 6% of a core looking
//! for due ones.
//!
//! What a notification says (address, subject, body, cause) stays in the log, in the
//! `NotificationQueued` that starts its stream, and is read from there for a page of the outbox,
//! a person's own list or the one being sent ([`message`]): held in memory the texts were two
//! thirds of the outbox, about 500 bytes of every notification, and five years of them would not
//! fit the server's memory. For the same reason the indexes name records by their slot.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use talo_events_schema::envelope::RecordedEvent;
use talo_events_schema::notification::NotificationChannel;
use talo_events_schema::{DomainEvent, streams};
use talo_store::{Direction, EventStore, StoreError, StreamFrom};
use uuid::Uuid;

use crate::engine::{Projection, RebuildError, decode};

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
    pub queued_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What a notification says and where it goes, as queued: read from the log by [`message`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationMessage {
    /// The phone number or email address as the register had it.
    pub address: String,
    pub subject: String,
    pub body: String,
    /// The event type that made it matter.
    pub cause_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] RebuildError),
    /// The outbox knows the notification but its stream does not start with its queueing (or
    /// is not there): a log no notifier wrote, such as an import gone wrong.
    #[error("notification {0}: its stream does not start with its NotificationQueued")]
    NotQueued(Uuid),
}

/// The message of notification `id`, read from the first event of its stream.
pub async fn message(
    store: &dyn EventStore,
    id: Uuid,
) -> Result<NotificationMessage, MessageError> {
    let first = store
        .read_stream(
            &streams::notification(id),
            Direction::Forwards,
            StreamFrom::Start,
            1,
        )
        .await?;
    match first.first().map(decode).transpose()? {
        Some(DomainEvent::NotificationQueued(e)) if e.notification_id == id => {
            Ok(NotificationMessage {
                address: e.address,
                subject: e.subject,
                body: e.body,
                cause_type: e.cause_type,
            })
        }
        _ => Err(MessageError::NotQueued(id)),
    }
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

impl NotificationRecord {
    /// Queued, or failed with a retry to come: the deliverer is not done with it.
    fn is_undelivered(&self) -> bool {
        self.status == DeliveryStatus::Queued
            || (self.status == DeliveryStatus::Failed && self.retry_at.is_some())
    }
}

/// Snapshots hold only the records, in the order they came; the indexes are built again as a
/// snapshot is read. A record's place in that order (its slot) stands for it in every index,
/// four bytes instead of a sixteen-byte id; the outbox of five years holds millions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotificationsView {
    /// Every notification, in the order it was queued into the view.
    records: Vec<NotificationRecord>,
    slot_of: HashMap<Uuid, Slot>,
    /// Notifications the deliverer is not done with, oldest first.
    undelivered: BTreeSet<Slot>,
    /// Each organisation's notifications by the time they were queued.
    by_organisation: HashMap<Uuid, ByTimeQueued>,
    /// Each person's notifications, by organisation and person, in the order they came.
    by_person: HashMap<(Uuid, Uuid), Vec<Slot>>,
    /// Each organisation's notifications in each status, by the time they were queued.
    by_status: HashMap<(Uuid, DeliveryStatus), ByTimeQueued>,
}

/// A record's index in [`NotificationsView::records`].
type Slot = u32;

/// Notifications in the order they were queued (in the order they came, at the same time).
type ByTimeQueued = BTreeSet<(DateTime<Utc>, Slot)>;

/// Removes `item` from the set under `key`, and the set once it is empty (so that equal views
/// have equal indexes).
fn remove_from<K: std::hash::Hash + Eq, T: Ord>(
    index: &mut HashMap<K, BTreeSet<T>>,
    key: K,
    item: &T,
) {
    if let Some(set) = index.get_mut(&key) {
        set.remove(item);
        if set.is_empty() {
            index.remove(&key);
        }
    }
}

#[derive(Serialize)]
struct RecordsOut<'a> {
    records: &'a [NotificationRecord],
}

#[derive(Deserialize)]
struct RecordsIn {
    records: Vec<NotificationRecord>,
}

impl Serialize for NotificationsView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordsOut {
            records: &self.records,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NotificationsView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let RecordsIn { records } = RecordsIn::deserialize(deserializer)?;
        let mut view = NotificationsView {
            records: Vec::with_capacity(records.len()),
            slot_of: HashMap::with_capacity(records.len()),
            ..NotificationsView::default()
        };
        for record in records {
            view.insert(record);
        }
        Ok(view)
    }
}

impl Projection for NotificationsView {
    const NAME: &'static str = "notifications";
    // 2: records carry their cause's property. 3: records leave their texts in the log.
    const VERSION: u32 = 3;

    fn apply(&mut self, event: &RecordedEvent, decoded: &DomainEvent) {
        let at = event.metadata.occurred_at;
        match decoded {
            DomainEvent::NotificationQueued(e) => {
                self.insert(NotificationRecord {
                    notification_id: e.notification_id,
                    organisation_id: event.metadata.organisation_id,
                    property_id: event.metadata.property_id,
                    person_id: e.person_id,
                    channel: e.channel,
                    queued_at: at,
                    status: DeliveryStatus::Queued,
                    attempts: 0,
                    last_error: None,
                    retry_at: None,
                    delivered_at: None,
                });
            }
            DomainEvent::NotificationSent(e) => self.update(e.notification_id, |r| {
                r.status = DeliveryStatus::Sent;
                r.attempts = e.attempt;
            }),
            DomainEvent::NotificationDelivered(e) => self.update(e.notification_id, |r| {
                r.status = DeliveryStatus::Delivered;
                r.delivered_at = Some(at);
                r.retry_at = None;
            }),
            DomainEvent::NotificationFailed(e) => self.update(e.notification_id, |r| {
                r.attempts = e.attempt;
                r.last_error = Some(e.error.clone());
                r.retry_at = e.retry_at;
                r.status = if e.retry_at.is_some() {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::GaveUp
                };
            }),
            _ => {}
        }
    }
}

impl NotificationsView {
    /// Adds a record to the view and its indexes, replacing one of the same id in its slot.
    fn insert(&mut self, record: NotificationRecord) {
        let slot = match self.slot_of.get(&record.notification_id) {
            Some(&slot) => {
                self.unindex(slot);
                self.records[slot as usize] = record;
                slot
            }
            None => {
                let slot = Slot::try_from(self.records.len())
                    .expect("fewer than four billion notifications");
                self.slot_of.insert(record.notification_id, slot);
                self.records.push(record);
                slot
            }
        };
        let record = &self.records[slot as usize];
        let queued = (record.queued_at, slot);
        self.by_organisation
            .entry(record.organisation_id)
            .or_default()
            .insert(queued);
        // In slot order, as a view read from its snapshot has it, also for a record queued again.
        let person = self
            .by_person
            .entry((record.organisation_id, record.person_id))
            .or_default();
        let at = person.partition_point(|&s| s < slot);
        person.insert(at, slot);
        if record.is_undelivered() {
            self.undelivered.insert(slot);
        }
        self.by_status
            .entry((record.organisation_id, record.status))
            .or_default()
            .insert(queued);
    }

    fn unindex(&mut self, slot: Slot) {
        let record = &self.records[slot as usize];
        let queued = (record.queued_at, slot);
        remove_from(&mut self.by_organisation, record.organisation_id, &queued);
        let person = (record.organisation_id, record.person_id);
        if let Some(slots) = self.by_person.get_mut(&person) {
            slots.retain(|&s| s != slot);
            if slots.is_empty() {
                self.by_person.remove(&person);
            }
        }
        remove_from(
            &mut self.by_status,
            (record.organisation_id, record.status),
            &queued,
        );
        self.undelivered.remove(&slot);
    }

    /// Changes a record's delivery (never its organisation, person or time queued).
    fn update(&mut self, id: Uuid, change: impl FnOnce(&mut NotificationRecord)) {
        let Some(&slot) = self.slot_of.get(&id) else {
            return;
        };
        let record = &mut self.records[slot as usize];
        let (organisation_id, was) = (record.organisation_id, record.status);
        change(record);
        let (is, undelivered) = (record.status, record.is_undelivered());
        let queued = (record.queued_at, slot);
        if undelivered {
            self.undelivered.insert(slot);
        } else {
            self.undelivered.remove(&slot);
        }
        if is != was {
            remove_from(&mut self.by_status, (organisation_id, was), &queued);
            self.by_status
                .entry((organisation_id, is))
                .or_default()
                .insert(queued);
        }
    }

    fn at(&self, slot: Slot) -> &NotificationRecord {
        &self.records[slot as usize]
    }

    /// The organisation's notifications queued in `[from, until)`.
    fn queued_between(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = &NotificationRecord> {
        self.by_organisation
            .get(&organisation_id)
            .filter(|_| from < until)
            .into_iter()
            .flat_map(move |queued| queued.range((from, 0)..(until, 0)))
            .map(|&(_, slot)| self.at(slot))
    }

    /// Queued ones, and failed ones whose retry time has come, oldest first: what the deliverer
    /// sends next.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<&NotificationRecord> {
        self.undelivered
            .iter()
            .map(|&slot| self.at(slot))
            .filter(|r| {
                r.status == DeliveryStatus::Queued
                    || (r.status == DeliveryStatus::Failed && r.retry_at.is_some_and(|t| t <= now))
            })
            .collect()
    }

    /// A person's own notifications, newest first.
    pub fn for_person(&self, organisation_id: Uuid, person_id: Uuid) -> Vec<&NotificationRecord> {
        let mut records: Vec<_> = self
            .by_person
            .get(&(organisation_id, person_id))
            .into_iter()
            .flatten()
            .map(|&slot| self.at(slot))
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse((r.queued_at, r.notification_id)));
        records
    }

    /// A page of a person's own notifications, newest first: at most `at_most` of them after
    /// `after` (the time queued and id of the last one of the page before), and how many there
    /// are in all. Ordered by the time to the microsecond, as cursors carry it, so a page starts
    /// right after its cursor even if that notification was queued again meanwhile.
    pub fn person_page(
        &self,
        organisation_id: Uuid,
        person_id: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        at_most: usize,
    ) -> (Vec<&NotificationRecord>, usize) {
        let key = |at: DateTime<Utc>, id: Uuid| std::cmp::Reverse((at.timestamp_micros(), id));
        let mut records = self.for_person(organisation_id, person_id);
        records.sort_by_key(|r| key(r.queued_at, r.notification_id));
        let total = records.len();
        let start = after.map_or(0, |(at, id)| {
            records.partition_point(|r| key(r.queued_at, r.notification_id) <= key(at, id))
        });
        let page = records.into_iter().skip(start).take(at_most).collect();
        (page, total)
    }

    /// A page of the organisation's notifications, newest first, optionally only those in one
    /// status: at most `at_most` of them after `after` (the last one of the page before, by its
    /// time queued and id), and how many there are in all. `None` if `after` is not one of the
    /// organisation's notifications.
    pub fn outbox_page(
        &self,
        organisation_id: Uuid,
        status: Option<DeliveryStatus>,
        after: Option<(DateTime<Utc>, Uuid)>,
        at_most: usize,
    ) -> Option<(Vec<&NotificationRecord>, usize)> {
        let before = match after {
            None => None,
            Some((queued_at, id)) => {
                let slot = *self.slot_of.get(&id)?;
                let record = self.at(slot);
                // Cursors carry microseconds.
                let same_time = record.queued_at.timestamp_micros() == queued_at.timestamp_micros();
                if record.organisation_id != organisation_id || !same_time {
                    return None;
                }
                Some((record.queued_at, slot))
            }
        };
        let queued = match status {
            None => self.by_organisation.get(&organisation_id),
            Some(status) => self.by_status.get(&(organisation_id, status)),
        };
        let Some(queued) = queued else {
            return Some((Vec::new(), 0));
        };
        let newest_first: Box<dyn Iterator<Item = &(DateTime<Utc>, Slot)>> = match before {
            Some(key) => Box::new(queued.range(..key).rev()),
            None => Box::new(queued.iter().rev()),
        };
        let page = newest_first
            .map(|&(_, slot)| self.at(slot))
            .take(at_most)
            .collect();
        Some((page, queued.len()))
    }

    /// Counts per channel of notifications queued in `[from, until)`.
    pub fn counts(
        &self,
        organisation_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BTreeMap<&'static str, ChannelCounts> {
        let mut counts: BTreeMap<&'static str, ChannelCounts> = BTreeMap::new();
        for r in self.queued_between(organisation_id, from, until) {
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
        for r in self.queued_between(organisation_id, from, until) {
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
        delivered_at(&mut given, &mut view, sms, at);
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

    /// Folds a first attempt's sending and delivery of `id` at `at`.
    fn delivered_at(given: &mut Given, view: &mut NotificationsView, id: Uuid, at: DateTime<Utc>) {
        given.fold(
            view,
            at,
            None,
            NotificationSent {
                notification_id: id,
                attempt: 1,
            },
        );
        given.fold(
            view,
            at,
            None,
            NotificationDelivered {
                notification_id: id,
            },
        );
    }

    /// Queues a notification for `person` at `at`, and returns its id.
    fn queue_for(
        given: &mut Given,
        view: &mut NotificationsView,
        person: Uuid,
        at: DateTime<Utc>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        given.fold(
            view,
            at,
            None,
            NotificationQueued {
                notification_id: id,
                person_id: person,
                channel: NotificationChannel::Sms,
                address: "+358401234567".into(),
                subject: "s".into(),
                body: "b".into(),
                cause_event_id: Uuid::now_v7(),
                cause_type: "FaultReportAcknowledged".into(),
            },
        );
        id
    }

    fn ids(records: Vec<&NotificationRecord>) -> Vec<Uuid> {
        records.iter().map(|r| r.notification_id).collect()
    }

    #[test]
    fn only_undelivered_notifications_are_due_and_lists_come_newest_first() {
        let mut given = Given::new();
        let mut view = NotificationsView::default();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let first = queue_for(&mut given, &mut view, alice, utc(2026, 3, 2, 8));
        let second = queue_for(&mut given, &mut view, bob, utc(2026, 3, 2, 9));
        let third = queue_for(&mut given, &mut view, alice, utc(2026, 3, 2, 10));
        let at = utc(2026, 3, 2, 11);
        delivered_at(&mut given, &mut view, first, at);
        let retry = utc(2026, 3, 2, 12);
        given.fold(
            &mut view,
            at,
            None,
            NotificationFailed {
                notification_id: second,
                attempt: 1,
                error: "down".into(),
                retry_at: Some(retry),
            },
        );

        assert_eq!(
            ids(view.due(at)),
            vec![third],
            "delivered ones and those waiting for a retry are not due"
        );
        assert_eq!(ids(view.due(retry)), vec![second, third], "oldest first");
        given.fold(
            &mut view,
            retry,
            None,
            NotificationFailed {
                notification_id: second,
                attempt: 5,
                error: "down".into(),
                retry_at: None,
            },
        );
        assert_eq!(
            ids(view.due(retry)),
            vec![third],
            "given up is never due again"
        );

        let org = given.organisation_id;
        assert_eq!(ids(view.for_person(org, alice)), vec![third, first]);
        assert_eq!(ids(view.for_person(org, bob)), vec![second]);
        assert!(
            view.for_person(Uuid::now_v7(), alice).is_empty(),
            "another organisation's person"
        );
        let alices = |after, at_most| {
            let (records, total) = view.person_page(org, alice, after, at_most);
            (ids(records), total)
        };
        assert_eq!(alices(None, 1), (vec![third], 2));
        let third_queued = view.for_person(org, alice)[0].queued_at;
        assert_eq!(alices(Some((third_queued, third)), 1), (vec![first], 2));
        // After a cursor of someone else's notification: those of Alice's older than it.
        let seconds = view.for_person(org, bob)[0].queued_at;
        assert_eq!(alices(Some((seconds, second)), 10), (vec![first], 2));
        let page = |status, before, at_most| {
            let (records, total) = view
                .outbox_page(org, status, before, at_most)
                .expect("a cursor of this outbox");
            (ids(records), total)
        };
        assert_eq!(page(None, None, 10), (vec![third, second, first], 3));
        assert_eq!(page(None, None, 2), (vec![third, second], 3));
        let second_queued = view.for_person(org, bob)[0].queued_at;
        assert_eq!(
            page(None, Some((second_queued, second)), 2),
            (vec![first], 3),
            "the page after the second one"
        );
        assert_eq!(
            page(Some(DeliveryStatus::Delivered), None, 10),
            (vec![first], 1)
        );
        assert_eq!(
            page(Some(DeliveryStatus::GaveUp), None, 10),
            (vec![second], 1)
        );
        assert_eq!(
            page(
                Some(DeliveryStatus::GaveUp),
                Some((second_queued, second)),
                10
            ),
            (vec![], 1),
            "a status's page after its cursor"
        );
        assert_eq!(page(Some(DeliveryStatus::Failed), None, 10), (vec![], 0));
        assert_eq!(
            view.outbox_page(Uuid::now_v7(), None, None, 10),
            Some((vec![], 0)),
            "another organisation's outbox"
        );
        // A cursor naming no notification of the outbox, at another time than its own, or in
        // another organisation's outbox.
        assert_eq!(
            view.outbox_page(org, None, Some((second_queued, Uuid::now_v7())), 10),
            None
        );
        assert_eq!(
            view.outbox_page(org, None, Some((utc(2026, 3, 2, 7), second)), 10),
            None
        );
        assert_eq!(
            view.outbox_page(Uuid::now_v7(), None, Some((second_queued, second)), 10),
            None
        );
        let queued = |from, until| {
            view.counts(org, from, until)
                .values()
                .map(|c| c.queued)
                .sum::<u32>()
        };
        assert_eq!(
            queued(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)),
            1,
            "from is in the period, until is not"
        );
        assert_eq!(queued(utc(2026, 3, 2, 0), utc(2026, 3, 3, 0)), 3);
        assert_eq!(
            queued(utc(2026, 3, 3, 0), utc(2026, 3, 2, 0)),
            0,
            "an empty period"
        );
        // A notification queued between two microseconds, after a cursor that carries only
        // microseconds.
        let between = queue_for(
            &mut given,
            &mut view,
            bob,
            utc(2026, 3, 2, 9) + chrono::Duration::nanoseconds(1_500),
        );
        let cursor = DateTime::from_timestamp_micros(
            (utc(2026, 3, 2, 9) + chrono::Duration::microseconds(1)).timestamp_micros(),
        )
        .unwrap();
        let (after_between, _) = view
            .outbox_page(org, None, Some((cursor, between)), 10)
            .expect("the cursor names it");
        assert_eq!(ids(after_between), vec![second, first]);
    }

    #[test]
    fn a_view_read_from_its_snapshot_equals_the_folded_one_and_answers_alike() {
        let mut given = Given::new();
        let mut view = NotificationsView::default();
        let person = Uuid::now_v7();
        let delivered = queue_for(&mut given, &mut view, person, utc(2026, 3, 2, 8));
        let waiting = queue_for(&mut given, &mut view, person, utc(2026, 3, 2, 9));
        let at = utc(2026, 3, 2, 10);
        given.fold(
            &mut view,
            at,
            None,
            NotificationDelivered {
                notification_id: delivered,
            },
        );

        let bytes = rmp_serde::to_vec(&view).unwrap();
        let read: NotificationsView = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(read, view);
        assert_eq!(ids(read.due(at)), vec![waiting]);
        assert_eq!(
            ids(read.for_person(given.organisation_id, person)),
            vec![waiting, delivered]
        );
        // Only the records are stored, in the order they came (which orders ties in the indexes).
        #[derive(Serialize)]
        struct Before<'a> {
            records: &'a [NotificationRecord],
        }
        assert_eq!(
            bytes,
            rmp_serde::to_vec(&Before {
                records: &view.records
            })
            .unwrap()
        );
    }

    #[test]
    fn a_notification_queued_again_replaces_the_first_in_every_index() {
        let mut given = Given::new();
        let mut view = NotificationsView::default();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let id = queue_for(&mut given, &mut view, alice, utc(2026, 3, 2, 8));
        let other = queue_for(&mut given, &mut view, alice, utc(2026, 3, 2, 9));
        // Bob's own comes after the first in the log, so the first joins his list before it.
        let bobs = queue_for(&mut given, &mut view, bob, utc(2026, 3, 2, 11));
        given.fold(
            &mut view,
            utc(2026, 3, 2, 10),
            None,
            NotificationQueued {
                notification_id: id,
                person_id: bob,
                channel: NotificationChannel::Email,
                address: "bob@example.fi".into(),
                subject: "s".into(),
                body: "b".into(),
                cause_event_id: Uuid::now_v7(),
                cause_type: "FaultReportAcknowledged".into(),
            },
        );
        let org = given.organisation_id;
        assert_eq!(ids(view.for_person(org, alice)), vec![other]);
        assert_eq!(ids(view.for_person(org, bob)), vec![bobs, id]);
        let (page, total) = view.outbox_page(org, None, None, 10).unwrap();
        assert_eq!(
            (ids(page), total),
            (vec![bobs, id, other], 3),
            "newest first"
        );
        assert_eq!(view.for_person(org, bob)[1].queued_at, utc(2026, 3, 2, 10));
        let read: NotificationsView =
            rmp_serde::from_slice(&rmp_serde::to_vec(&view).unwrap()).unwrap();
        assert_eq!(read, view, "the snapshot's view equals the folded one");
    }
}
