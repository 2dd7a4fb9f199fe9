//! Messages in GraphQL: threads (yhteydenotot) as each role sees them, with read receipts;
//! the resident's inbox of threads and bulk notices; the customer-service work queue; bulk
//! notices with their read counts; and one mutation per step.

use std::collections::BTreeMap;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Union};
use chrono::{DateTime, NaiveDate, Utc};
use talo_domain::access::Principal;
use talo_domain::bulk_notice::{SendBulkNotice, Viewer as NoticeViewer};
use talo_domain::message_thread::{
    MessageThreadCommand as Step, StartMessageThread, Viewer as ThreadViewer,
};
use talo_domain::register::Register;
use talo_events_schema::bulk_notice::NoticeTarget;
use talo_events_schema::envelope::Channel;
use talo_events_schema::message_thread::MessageSide;
use talo_projections::bulk_notices::{BulkNoticeRecord, BulkNoticesView};
use talo_projections::message_threads::{
    MessageThreadRecord, MessageThreadsView, ThreadQueueFilter, ThreadQueueOrder,
};
use uuid::Uuid;

use super::enums::*;
use super::pagination::{Order, Page, paginate, sort_key};
use super::session::Session;
use crate::dispatch::Outcome;
use crate::error::{ApiError, IntoGraphql};

/// A message thread as one caller may see it: residents never see internal notes.
pub struct MessageThreadNode {
    record: MessageThreadRecord,
    viewer: ThreadViewer,
    now: DateTime<Utc>,
    property_name: String,
    apartment_code: String,
    /// Names of the people the thread mentions: its resident, handler, senders, note authors.
    names: BTreeMap<Uuid, String>,
}

impl MessageThreadNode {
    fn new(
        record: &MessageThreadRecord,
        viewer: ThreadViewer,
        register: &Register,
        now: DateTime<Utc>,
    ) -> Self {
        let people = [record.resident_id]
            .into_iter()
            .chain(record.handler_id)
            .chain(record.messages.iter().map(|m| m.sender_id))
            .chain(record.history.iter().filter_map(|h| h.handler_id))
            .chain(record.notes.iter().map(|n| n.author.person_id));
        MessageThreadNode {
            names: names(register, people),
            record: record.clone(),
            viewer,
            now,
            property_name: register
                .properties
                .get(&record.property_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            apartment_code: register
                .apartments
                .get(&record.apartment_id)
                .map(|a| a.code.clone())
                .unwrap_or_default(),
        }
    }

    fn name(&self, person: Uuid) -> Option<String> {
        self.names.get(&person).cloned()
    }
}

fn names(register: &Register, people: impl Iterator<Item = Uuid>) -> BTreeMap<Uuid, String> {
    people
        .filter_map(|p| {
            register
                .persons
                .get(&p)
                .map(|person| (p, person.name.clone()))
        })
        .collect()
}

/// One message with its receipts.
#[derive(SimpleObject)]
#[graphql(name = "Message")]
pub struct MessageView {
    id: Uuid,
    side: MessageSideGql,
    body: String,
    sender_id: Uuid,
    sender_name: Option<String>,
    /// How it reached the organisation: PORTAL, or PHONE/EMAIL/OFFICE for a contact the office
    /// recorded on the resident's behalf.
    channel: ChannelGql,
    /// The role of whoever recorded it (customer service, for a phone call written down).
    recorded_by_role: ActorRoleGql,
    /// Delivered: when the message was recorded in the log, at `position`.
    delivered_at: DateTime<Utc>,
    position: String,
    /// When the other side read it (marked the thread read up to it or past it).
    read_at: Option<DateTime<Utc>>,
    read_position: Option<String>,
}

/// A staff-internal note.
#[derive(SimpleObject)]
pub struct MessageThreadNote {
    id: Uuid,
    text: String,
    author_name: Option<String>,
    author_role: ActorRoleGql,
    channel: ChannelGql,
    at: DateTime<Utc>,
    position: String,
}

/// One change in a thread's life: its start, a status change or an assignment.
#[derive(SimpleObject)]
pub struct MessageThreadChange {
    status: MessageThreadStatusGql,
    /// Why the status changed; null for the start and for assignments.
    cause: Option<StatusChangeCauseGql>,
    handler_id: Option<Uuid>,
    handler_name: Option<String>,
    at: DateTime<Utc>,
    actor_role: ActorRoleGql,
    channel: ChannelGql,
    position: String,
}

#[Object(name = "MessageThread")]
impl MessageThreadNode {
    async fn id(&self) -> Uuid {
        self.record.message_thread_id
    }

    /// The number to quote, e.g. `YT-2026-000042`.
    async fn ticket(&self) -> &str {
        &self.record.ticket
    }

    async fn status(&self) -> MessageThreadStatusGql {
        self.record.status.into()
    }

    async fn category(&self) -> MessageCategoryGql {
        self.record.category.into()
    }

    async fn subject(&self) -> &str {
        &self.record.subject
    }

    async fn property_id(&self) -> Uuid {
        self.record.property_id
    }

    async fn property_name(&self) -> &str {
        &self.property_name
    }

    async fn apartment_id(&self) -> Uuid {
        self.record.apartment_id
    }

    async fn apartment_code(&self) -> &str {
        &self.apartment_code
    }

    /// The resident the thread is with.
    async fn resident_id(&self) -> Uuid {
        self.record.resident_id
    }

    async fn resident_name(&self) -> Option<String> {
        self.name(self.record.resident_id)
    }

    /// How the thread reached the organisation.
    async fn channel(&self) -> ChannelGql {
        self.record.channel.into()
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.record.started_at
    }

    async fn started_by_role(&self) -> ActorRoleGql {
        self.record.started_by.role.into()
    }

    /// The office staff member handling it.
    async fn handler_id(&self) -> Option<Uuid> {
        self.record.handler_id
    }

    async fn handler_name(&self) -> Option<String> {
        self.record.handler_id.and_then(|h| self.name(h))
    }

    /// Seconds since it was started.
    async fn age_seconds(&self) -> i64 {
        (self.now - self.record.started_at).num_seconds()
    }

    /// When the first of the resident's messages since our last answer arrived; null when the
    /// thread is not waiting for us.
    async fn waiting_for_us_since(&self) -> Option<DateTime<Utc>> {
        self.record.waiting_for_us_since()
    }

    /// Seconds the resident has waited for our answer.
    async fn waiting_for_us_seconds(&self) -> Option<i64> {
        self.record
            .waiting_for_us_since()
            .map(|since| (self.now - since).num_seconds())
    }

    async fn last_message_at(&self) -> DateTime<Utc> {
        self.record.last_message_at
    }

    /// Messages from the other side that the caller's side has not read (0 for auditors).
    async fn unread_count(&self) -> usize {
        self.viewer
            .side()
            .map_or(0, |side| self.record.unread_by(side))
    }

    /// Every message, oldest first, with its receipts.
    async fn messages(&self) -> Vec<MessageView> {
        self.record
            .messages
            .iter()
            .map(|m| MessageView {
                id: m.message_id,
                side: m.side.into(),
                body: m.body.clone(),
                sender_id: m.sender_id,
                sender_name: self.name(m.sender_id),
                channel: m.channel.into(),
                recorded_by_role: m.recorded_by.role.into(),
                delivered_at: m.delivered_at,
                position: m.position.to_string(),
                read_at: m.read_at,
                read_position: m.read_position.map(|p| p.to_string()),
            })
            .collect()
    }

    /// Staff-internal notes, oldest first: for the office and auditors; always empty for
    /// residents.
    async fn notes(&self) -> Vec<MessageThreadNote> {
        if !self.viewer.sees_internal_notes() {
            return Vec::new();
        }
        self.record
            .notes
            .iter()
            .map(|n| MessageThreadNote {
                id: n.note_id,
                text: n.text.clone(),
                author_name: self.name(n.author.person_id),
                author_role: n.author.role.into(),
                channel: n.channel.into(),
                at: n.at,
                position: n.position.to_string(),
            })
            .collect()
    }

    /// The start, every status change and every assignment, oldest first.
    async fn history(&self) -> Vec<MessageThreadChange> {
        self.record
            .history
            .iter()
            .map(|h| MessageThreadChange {
                status: h.status.into(),
                cause: h.cause.map(Into::into),
                handler_id: h.handler_id,
                handler_name: h.handler_id.and_then(|p| self.name(p)),
                at: h.at,
                actor_role: h.actor.role.into(),
                channel: h.channel.into(),
                position: h.position.to_string(),
            })
            .collect()
    }
}

/// A bulk notice as one caller may see it: the office and auditors see its audience.
pub struct BulkNoticeNode {
    record: BulkNoticeRecord,
    viewer: NoticeViewer,
    caller: Uuid,
    property_name: String,
    building_code: Option<String>,
    apartment_codes: BTreeMap<Uuid, String>,
    names: BTreeMap<Uuid, String>,
}

impl BulkNoticeNode {
    fn new(
        record: &BulkNoticeRecord,
        viewer: NoticeViewer,
        register: &Register,
        caller: Uuid,
    ) -> Self {
        let listed = match &record.target {
            NoticeTarget::Apartments { apartment_ids } => apartment_ids.clone(),
            _ => Vec::new(),
        };
        // The audience's names and homes only for those who see it: a recipient's inbox does
        // not look up a whole building.
        let audience = viewer.sees_audience().then_some(&record.recipients);
        let apartment_codes = audience
            .into_iter()
            .flat_map(|r| r.values())
            .flat_map(|r| r.apartment_ids.iter().copied())
            .chain(listed)
            .filter_map(|a| register.apartments.get(&a).map(|ap| (a, ap.code.clone())))
            .collect();
        BulkNoticeNode {
            names: names(
                register,
                audience.into_iter().flat_map(|r| r.keys().copied()),
            ),
            record: record.clone(),
            viewer,
            caller,
            property_name: register
                .properties
                .get(&record.property_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            building_code: match record.target {
                NoticeTarget::Building { building_id } => {
                    register.buildings.get(&building_id).map(|b| b.code.clone())
                }
                _ => None,
            },
            apartment_codes,
        }
    }

    fn codes(&self, apartments: &[Uuid]) -> Vec<String> {
        apartments
            .iter()
            .filter_map(|a| self.apartment_codes.get(a).cloned())
            .collect()
    }
}

/// Whom a notice was for.
#[derive(SimpleObject)]
pub struct NoticeTargetView {
    /// `property`, `building` or `apartments`.
    kind: String,
    building_id: Option<Uuid>,
    building_code: Option<String>,
    /// For a list of apartments.
    apartment_codes: Vec<String>,
}

#[derive(SimpleObject)]
pub struct NoticeRecipientView {
    person_id: Uuid,
    name: Option<String>,
    apartment_codes: Vec<String>,
    read_at: Option<DateTime<Utc>>,
}

#[Object(name = "BulkNotice")]
impl BulkNoticeNode {
    async fn id(&self) -> Uuid {
        self.record.bulk_notice_id
    }

    async fn property_id(&self) -> Uuid {
        self.record.property_id
    }

    async fn property_name(&self) -> &str {
        &self.property_name
    }

    async fn target(&self) -> NoticeTargetView {
        match &self.record.target {
            NoticeTarget::Property { .. } => NoticeTargetView {
                kind: "property".into(),
                building_id: None,
                building_code: None,
                apartment_codes: Vec::new(),
            },
            NoticeTarget::Building { building_id } => NoticeTargetView {
                kind: "building".into(),
                building_id: Some(*building_id),
                building_code: self.building_code.clone(),
                apartment_codes: Vec::new(),
            },
            NoticeTarget::Apartments { apartment_ids } => NoticeTargetView {
                kind: "apartments".into(),
                building_id: None,
                building_code: None,
                apartment_codes: self.codes(apartment_ids),
            },
        }
    }

    async fn subject(&self) -> &str {
        &self.record.subject
    }

    async fn body(&self) -> &str {
        &self.record.body
    }

    /// Delivered: when it was recorded, at `position`, to everyone in its audience.
    async fn sent_at(&self) -> DateTime<Utc> {
        self.record.sent_at
    }

    async fn position(&self) -> String {
        self.record.position.to_string()
    }

    async fn sender_role(&self) -> ActorRoleGql {
        self.record.sent_by.role.into()
    }

    async fn channel(&self) -> ChannelGql {
        self.record.channel.into()
    }

    /// The local day whose contracts decided the audience.
    async fn recipients_on(&self) -> NaiveDate {
        self.record.recipients_on
    }

    /// When the caller read it, if it was sent to them.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.record
            .recipients
            .get(&self.caller)
            .and_then(|r| r.read_at)
    }

    /// How many people it was sent to (office and auditors only).
    async fn recipient_count(&self) -> Option<usize> {
        self.viewer
            .sees_audience()
            .then_some(self.record.recipients.len())
    }

    /// How many of them have read it (office and auditors only).
    async fn read_count(&self) -> Option<usize> {
        self.viewer
            .sees_audience()
            .then(|| self.record.read_count())
    }

    /// Everyone it was sent to and when each read it (office and auditors only).
    async fn recipients(&self) -> Option<Vec<NoticeRecipientView>> {
        self.viewer.sees_audience().then(|| {
            self.record
                .recipients
                .values()
                .map(|r| NoticeRecipientView {
                    person_id: r.person_id,
                    name: self.names.get(&r.person_id).cloned(),
                    apartment_codes: self.codes(&r.apartment_ids),
                    read_at: r.read_at,
                })
                .collect()
        })
    }
}

/// Something in a resident's inbox.
#[derive(Union)]
pub enum InboxItem {
    MessageThread(MessageThreadNode),
    BulkNotice(BulkNoticeNode),
}

#[derive(InputObject, Default)]
pub struct MessageThreadQueueFilter {
    property_id: Option<Uuid>,
    category: Option<MessageCategoryGql>,
    /// Exactly this status; without one, every thread that is not closed.
    status: Option<MessageThreadStatusGql>,
    #[graphql(default)]
    assigned_to_me: bool,
    #[graphql(default)]
    unassigned_only: bool,
}

/// The views a message query reads, under their locks, in one fixed order.
struct Views<'a> {
    principal: &'a Principal,
    register: &'a Register,
    threads: &'a MessageThreadsView,
    notices: &'a BulkNoticesView,
}

fn with_views<T>(
    session: &Session<'_>,
    f: impl FnOnce(Views<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let principal = session.principal()?;
    session.talo.with_register(session.caller, |register| {
        let threads = session.talo.read_models.message_threads.read();
        let notices = session.talo.read_models.bulk_notices.read();
        f(Views {
            principal: &principal,
            register,
            threads: &threads,
            notices: &notices,
        })
    })
}

fn is_office(principal: &Principal) -> bool {
    principal.is_office_staff()
}

/// A cursor for a queue key: threads not waiting for us sort after every waiting one.
fn queue_cursor(record: &MessageThreadRecord, order: ThreadQueueOrder) -> String {
    let (after, at, id) = record.queue_key(order);
    sort_key(
        after
            .then(|| NaiveDate::from_ymd_opt(9999, 12, 31))
            .flatten(),
        at,
        id,
    )
}

#[derive(Default)]
pub struct MessageQuery;

#[Object]
impl MessageQuery {
    /// One thread, if the caller may see it.
    async fn message_thread(&self, ctx: &Context<'_>, id: Uuid) -> Result<MessageThreadNode> {
        let session = Session::of(ctx).gql()?;
        with_views(&session, |v| {
            let (record, viewer) = v
                .threads
                .visible(v.principal, id)
                .ok_or_else(|| ApiError::Rejected(talo_domain::message_thread::not_visible()))?;
            Ok(MessageThreadNode::new(
                record,
                viewer,
                v.register,
                session.now,
            ))
        })
        .gql()
    }

    /// The caller's inbox: the threads about their apartments (and those they started), and
    /// the bulk notices sent to them, latest activity first.
    async fn my_inbox(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<InboxItem>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_views(&session, |v| {
            enum Entry<'r> {
                Thread(&'r MessageThreadRecord, ThreadViewer),
                Notice(&'r BulkNoticeRecord),
            }
            let key = |e: &Entry<'_>| match e {
                Entry::Thread(t, _) => (t.last_message_at, t.message_thread_id),
                Entry::Notice(n) => (n.sent_at, n.bulk_notice_id),
            };
            let mut entries: Vec<Entry<'_>> = v
                .threads
                .for_resident(v.principal)
                .into_iter()
                .map(|(t, viewer)| Entry::Thread(t, viewer))
                .chain(
                    v.notices
                        .for_recipient(v.principal)
                        .into_iter()
                        .map(Entry::Notice),
                )
                .collect();
            entries.sort_by_key(|e| std::cmp::Reverse(key(e)));
            paginate(
                entries,
                Order::Descending,
                |e| {
                    let (at, id) = key(e);
                    sort_key(None, at, id)
                },
                first,
                after,
                max,
                |e| match e {
                    Entry::Thread(t, viewer) => InboxItem::MessageThread(MessageThreadNode::new(
                        t,
                        viewer,
                        v.register,
                        session.now,
                    )),
                    Entry::Notice(n) => InboxItem::BulkNotice(BulkNoticeNode::new(
                        n,
                        NoticeViewer::Recipient,
                        v.register,
                        session.caller.person_id,
                    )),
                },
            )
        })
        .gql()
    }

    /// The customer-service work queue: threads of the caller's properties, open ones unless a
    /// status is asked for, oldest first or longest waiting for us first.
    async fn message_thread_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<MessageThreadQueueFilter>,
        #[graphql(default)] order_by: MessageThreadQueueOrderGql,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<MessageThreadNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        let filter = filter.unwrap_or_default();
        let order: ThreadQueueOrder = order_by.into();
        with_views(&session, |v| {
            if !is_office(v.principal) {
                return Err(ApiError::Forbidden(
                    "messageThreadQueue: only office staff have a queue".into(),
                ));
            }
            let filter = ThreadQueueFilter {
                property_id: filter.property_id,
                category: filter.category.map(Into::into),
                status: filter.status.map(Into::into),
                assigned_to_me: filter.assigned_to_me,
                unassigned_only: filter.unassigned_only,
            };
            let records = v.threads.queue(v.principal, &filter, order);
            paginate(
                records,
                Order::Ascending,
                |t| queue_cursor(t, order),
                first,
                after,
                max,
                |t| {
                    let viewer = talo_domain::message_thread::viewer(v.principal, &t.access())
                        .unwrap_or(ThreadViewer::Auditor);
                    MessageThreadNode::new(t, viewer, v.register, session.now)
                },
            )
        })
        .gql()
    }

    /// One bulk notice, if it was sent to the caller or the caller works for its property.
    async fn bulk_notice(&self, ctx: &Context<'_>, id: Uuid) -> Result<BulkNoticeNode> {
        let session = Session::of(ctx).gql()?;
        with_views(&session, |v| {
            let (record, viewer) = v
                .notices
                .visible(v.principal, id)
                .ok_or_else(|| ApiError::Rejected(talo_domain::bulk_notice::not_visible()))?;
            Ok(BulkNoticeNode::new(
                record,
                viewer,
                v.register,
                session.caller.person_id,
            ))
        })
        .gql()
    }

    /// The notices sent in the caller's properties, newest first, with read counts: for office
    /// staff and auditors.
    async fn bulk_notices(
        &self,
        ctx: &Context<'_>,
        property_id: Option<Uuid>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<BulkNoticeNode>> {
        let session = Session::of(ctx).gql()?;
        let max = session.talo.config.limits.max_page_size;
        with_views(&session, |v| {
            if !is_office(v.principal) && !v.principal.is_auditor() {
                return Err(ApiError::Forbidden(
                    "bulkNotices: for office staff and auditors".into(),
                ));
            }
            let records = v.notices.sent(v.principal, property_id);
            paginate(
                records,
                Order::Descending,
                |n| sort_key(None, n.sent_at, n.bulk_notice_id),
                first,
                after,
                max,
                |n| {
                    let viewer = talo_domain::bulk_notice::viewer(
                        v.principal,
                        n.property_id,
                        n.recipients.contains_key(&session.caller.person_id),
                    )
                    .unwrap_or(NoticeViewer::Auditor);
                    BulkNoticeNode::new(n, viewer, v.register, session.caller.person_id)
                },
            )
        })
        .gql()
    }
}

/// What a mutation on a thread returns: the thread as it is now, and where the change was
/// recorded.
#[derive(SimpleObject)]
pub struct MessageThreadPayload {
    message_thread: MessageThreadNode,
    /// Global position of the change in the log (of the thread's latest event, when marking
    /// read changed nothing).
    position: String,
    /// True when this idempotency key had been used: the earlier result is returned and
    /// nothing new was recorded.
    replayed: bool,
}

#[derive(SimpleObject)]
pub struct BulkNoticePayload {
    bulk_notice: BulkNoticeNode,
    position: String,
    replayed: bool,
}

#[derive(InputObject)]
pub struct StartMessageThreadInput {
    /// Chosen by the client; a retried request with the same key records nothing new.
    idempotency_key: String,
    /// The apartment the thread is about.
    apartment_id: Uuid,
    category: MessageCategoryGql,
    subject: String,
    /// The first message.
    body: String,
    /// Office staff recording a resident's contact (by phone, email or office visit): the
    /// resident, whose message `body` is.
    on_behalf_of: Option<Uuid>,
    /// Office staff writing to a resident first: the resident.
    recipient_id: Option<Uuid>,
    /// PORTAL, or PHONE/EMAIL/OFFICE for a contact recorded on a resident's behalf.
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct PostMessageThreadMessageInput {
    idempotency_key: String,
    message_thread_id: Uuid,
    body: String,
    /// Office staff recording a resident's contact on the thread: the resident.
    on_behalf_of: Option<Uuid>,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct AddMessageThreadNoteInput {
    idempotency_key: String,
    message_thread_id: Uuid,
    text: String,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct AssignMessageThreadInput {
    idempotency_key: String,
    message_thread_id: Uuid,
    /// An office staff member of the thread's property.
    handler_id: Uuid,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct SetMessageThreadStatusInput {
    idempotency_key: String,
    message_thread_id: Uuid,
    /// IN_PROGRESS, WAITING_FOR_RESIDENT or CLOSED.
    status: MessageThreadStatusGql,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct MarkMessageThreadReadInput {
    idempotency_key: String,
    message_thread_id: Uuid,
    /// The last message the caller has seen; the latest one if not given.
    up_to_message_id: Option<Uuid>,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct SendBulkNoticeInput {
    idempotency_key: String,
    /// Everyone living in or owning an apartment of the property today. Give exactly one of
    /// `propertyId`, `buildingId` and `apartmentIds`.
    property_id: Option<Uuid>,
    /// Everyone of one building (stairway).
    building_id: Option<Uuid>,
    /// Everyone of these apartments, all of one property.
    apartment_ids: Option<Vec<Uuid>>,
    subject: String,
    body: String,
    channel: Option<ChannelGql>,
}

#[derive(InputObject)]
pub struct MarkBulkNoticeReadInput {
    idempotency_key: String,
    bulk_notice_id: Uuid,
    channel: Option<ChannelGql>,
}

fn channel(c: Option<ChannelGql>) -> Channel {
    c.map_or(Channel::Portal, Into::into)
}

/// What every thread step's input carries besides the step itself.
trait ThreadStepInput {
    fn target(&self) -> (&str, Uuid, Option<ChannelGql>);
}

macro_rules! thread_step_inputs {
    ($($input:ty),*) => {$(
        impl ThreadStepInput for $input {
            fn target(&self) -> (&str, Uuid, Option<ChannelGql>) {
                (&self.idempotency_key, self.message_thread_id, self.channel)
            }
        }
    )*};
}

thread_step_inputs!(
    PostMessageThreadMessageInput,
    AddMessageThreadNoteInput,
    AssignMessageThreadInput,
    SetMessageThreadStatusInput,
    MarkMessageThreadReadInput
);

fn thread_payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: Outcome,
) -> Result<MessageThreadPayload, ApiError> {
    with_views(session, |v| {
        let (record, viewer) = v
            .threads
            .visible(v.principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::message_thread::not_visible()))?;
        Ok(MessageThreadPayload {
            message_thread: MessageThreadNode::new(record, viewer, v.register, session.now),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

fn notice_payload(
    session: &Session<'_>,
    id: Uuid,
    outcome: Outcome,
) -> Result<BulkNoticePayload, ApiError> {
    with_views(session, |v| {
        let (record, viewer) = v
            .notices
            .visible(v.principal, id)
            .ok_or_else(|| ApiError::Rejected(talo_domain::bulk_notice::not_visible()))?;
        Ok(BulkNoticePayload {
            bulk_notice: BulkNoticeNode::new(record, viewer, v.register, session.caller.person_id),
            position: outcome.position.to_string(),
            replayed: outcome.replayed,
        })
    })
}

#[derive(Default)]
pub struct MessageMutation;

impl MessageMutation {
    async fn step(
        ctx: &Context<'_>,
        input: &impl ThreadStepInput,
        step: Step,
    ) -> Result<MessageThreadPayload> {
        let run = async {
            let (key, id, ch) = input.target();
            let session = Session::of(ctx)?;
            let request = session.request(channel(ch), key)?;
            let outcome = session
                .talo
                .dispatcher
                .message_thread_step(&request, id, step)
                .await?;
            thread_payload(&session, id, outcome)
        };
        run.await.gql()
    }
}

#[Object]
impl MessageMutation {
    /// Starts a thread about an apartment; the answer carries its ticket number. A resident
    /// writes about their own home; office staff record a resident's contact (`onBehalfOf`)
    /// or write to a resident first (`recipientId`).
    async fn start_message_thread(
        &self,
        ctx: &Context<'_>,
        input: StartMessageThreadInput,
    ) -> Result<MessageThreadPayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let (resident_id, opened_by) = match (input.on_behalf_of, input.recipient_id) {
                (None, None) => (session.caller.person_id, MessageSide::Resident),
                (Some(resident), None) => (resident, MessageSide::Resident),
                (None, Some(resident)) => (resident, MessageSide::Staff),
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_input(
                        "onBehalfOf",
                        "message_thread.one_resident",
                        "give at most one of `onBehalfOf` and `recipientId`",
                    ));
                }
            };
            let message_thread_id = request.new_entity_id("message-thread");
            let command = StartMessageThread {
                message_thread_id,
                apartment_id: input.apartment_id,
                category: input.category.into(),
                subject: input.subject,
                message_id: request.new_entity_id("message"),
                body: input.body,
                resident_id,
                opened_by,
            };
            let outcome = session
                .talo
                .dispatcher
                .start_message_thread(&request, command)
                .await?;
            thread_payload(&session, message_thread_id, outcome)
        };
        run.await.gql()
    }

    /// A message on a thread: from a resident, a reply from the office, or a resident's
    /// contact recorded by the office (`onBehalfOf`, with channel PHONE/EMAIL/OFFICE).
    async fn post_message_thread_message(
        &self,
        ctx: &Context<'_>,
        input: PostMessageThreadMessageInput,
    ) -> Result<MessageThreadPayload> {
        let step = Step::PostMessage {
            message_id: Uuid::now_v7(),
            body: input.body.clone(),
            on_behalf_of: input.on_behalf_of,
        };
        Self::step(ctx, &input, step).await
    }

    /// A staff-internal note residents never see.
    async fn add_message_thread_note(
        &self,
        ctx: &Context<'_>,
        input: AddMessageThreadNoteInput,
    ) -> Result<MessageThreadPayload> {
        let step = Step::AddNote {
            note_id: Uuid::now_v7(),
            text: input.text.clone(),
        };
        Self::step(ctx, &input, step).await
    }

    /// Gives the thread to an office staff member of its property.
    async fn assign_message_thread(
        &self,
        ctx: &Context<'_>,
        input: AssignMessageThreadInput,
    ) -> Result<MessageThreadPayload> {
        let step = Step::Assign {
            handler_id: input.handler_id,
        };
        Self::step(ctx, &input, step).await
    }

    async fn set_message_thread_status(
        &self,
        ctx: &Context<'_>,
        input: SetMessageThreadStatusInput,
    ) -> Result<MessageThreadPayload> {
        let step = Step::SetStatus {
            status: input.status.into(),
        };
        Self::step(ctx, &input, step).await
    }

    /// Records that the caller's side has read the thread up to a message: the other side
    /// sees it as the read receipt of their messages. Marking read what was already read
    /// records nothing.
    async fn mark_message_thread_read(
        &self,
        ctx: &Context<'_>,
        input: MarkMessageThreadReadInput,
    ) -> Result<MessageThreadPayload> {
        let step = Step::MarkRead {
            up_to_message_id: input.up_to_message_id,
        };
        Self::step(ctx, &input, step).await
    }

    /// Sends one notice to every current occupant of a property, a building or a list of
    /// apartments; the recipients are fixed when it is sent.
    async fn send_bulk_notice(
        &self,
        ctx: &Context<'_>,
        input: SendBulkNoticeInput,
    ) -> Result<BulkNoticePayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let target = match (input.property_id, input.building_id, input.apartment_ids) {
                (Some(property_id), None, None) => NoticeTarget::Property { property_id },
                (None, Some(building_id), None) => NoticeTarget::Building { building_id },
                (None, None, Some(apartment_ids)) => NoticeTarget::Apartments { apartment_ids },
                _ => {
                    return Err(ApiError::bad_input(
                        "propertyId",
                        "bulk_notice.one_target",
                        "give exactly one of `propertyId`, `buildingId` and `apartmentIds`",
                    ));
                }
            };
            let bulk_notice_id = request.new_entity_id("bulk-notice");
            let command = SendBulkNotice {
                bulk_notice_id,
                target,
                subject: input.subject,
                body: input.body,
            };
            let outcome = session
                .talo
                .dispatcher
                .send_bulk_notice(&request, command)
                .await?;
            notice_payload(&session, bulk_notice_id, outcome)
        };
        run.await.gql()
    }

    /// A recipient has read the notice; reading it again records nothing.
    async fn mark_bulk_notice_read(
        &self,
        ctx: &Context<'_>,
        input: MarkBulkNoticeReadInput,
    ) -> Result<BulkNoticePayload> {
        let run = async {
            let session = Session::of(ctx)?;
            let request = session.request(channel(input.channel), &input.idempotency_key)?;
            let outcome = session
                .talo
                .dispatcher
                .mark_bulk_notice_read(&request, input.bulk_notice_id)
                .await?;
            notice_payload(&session, input.bulk_notice_id, outcome)
        };
        run.await.gql()
    }
}
