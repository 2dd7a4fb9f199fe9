//! Message threads: about one per apartment a year, most started in the portal, some recorded
//! by customer service from a phone call or an email; read, taken, answered, sometimes answered
//! back, and closed: two to four messages each.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use talo_domain::calendar::local_date;
use talo_domain::decision::Context;
use talo_domain::message_thread::{
    self, MessageThread, MessageThreadCommand as Thread, StartMessageThread,
};
use talo_domain::ticket::MESSAGE_THREAD_PREFIX;
use talo_events_schema::DomainEvent;
use talo_events_schema::envelope::Channel;
use talo_events_schema::message_thread::{MessageCategory, MessageSide, MessageThreadStatus};
use talo_events_schema::streams;
use uuid::Uuid;

use super::faults::settled_occupant;
use super::register::Organisation;
use super::{GenerateError, World, principal_of};

/// Threads per apartment a year.
const YEARLY: f64 = 1.0;

const TOPICS: [(MessageCategory, &str, &str, &str); 6] = [
    (
        MessageCategory::Billing,
        "Vuokralasku",
        "Laskullani on eri summa kuin viime kuussa. Mistä ero johtuu?",
        "Vesiennakko tarkistettiin vuoden alussa, siksi summa muuttui.",
    ),
    (
        MessageCategory::KeysAndAccess,
        "Lisäavain",
        "Tarvitsisin yhden lisäavaimen asuntoon.",
        "Avain on tilattu, saatte sen toimistolta ensi viikolla.",
    ),
    (
        MessageCategory::ParkingAndSauna,
        "Saunavuoro",
        "Onko torstain saunavuoroja vapaana?",
        "Torstain klo 19 vuoro on vapaa, voitte varata sen portaalista.",
    ),
    (
        MessageCategory::Moving,
        "Muuttoilmoitus",
        "Muutan kuun lopussa, mitä minun pitää tehdä?",
        "Tehkää muuttoilmoitus ja sopikaa avainten palautuksesta toimiston kanssa.",
    ),
    (
        MessageCategory::Complaint,
        "Häiriö naapurissa",
        "Naapurista kuuluu öisin kovaa musiikkia.",
        "Olemme lähettäneet naapurille huomautuksen järjestyssäännöistä.",
    ),
    (
        MessageCategory::General,
        "Kysymys taloyhtiöstä",
        "Milloin seuraava yhtiökokous pidetään?",
        "Kokous pidetään toukokuussa, kutsu tulee ilmoitustaululle.",
    ),
];

pub fn day(world: &mut World, org: &mut Organisation, day: NaiveDate) -> Result<(), GenerateError> {
    for property in 0..org.properties.len() {
        let mean = org.properties[property].apartments.len() as f64 * YEARLY / 365.0;
        for _ in 0..world.chance.count(mean) {
            thread(world, org, property, day)?;
        }
    }
    Ok(())
}

struct Conversation<'a> {
    org: &'a Organisation,
    property: usize,
    id: Uuid,
    history: Vec<(DomainEvent, DateTime<Utc>)>,
    until: NaiveDate,
}

impl Conversation<'_> {
    fn step(
        &mut self,
        world: &mut World,
        person: Uuid,
        channel: Channel,
        at: DateTime<Utc>,
        command: Thread,
    ) -> Result<Option<DateTime<Utc>>, GenerateError> {
        if local_date(at) >= self.until {
            return Ok(None);
        }
        let property = &self.org.properties[self.property];
        let state = MessageThread::fold(self.history.iter().map(|(e, at)| (e, *at))).ok_or(
            GenerateError::Refused {
                what: "a message thread step",
                rule: "generate.thread_missing",
                message: "no thread to take a step on".into(),
            },
        )?;
        let principal = principal_of(&property.register, person, at)?;
        let ctx = Context {
            principal: &principal,
            register: &property.register,
            occurred_at: at,
            channel,
        };
        let decision = message_thread::decide(&state, command, &ctx)
            .map_err(GenerateError::refused("a message thread step"))?;
        self.history
            .extend(decision.events.iter().cloned().map(|e| (e, at)));
        let act = world.act(person, channel, at, Some(property.property_id));
        world.log.record(
            &mut world.chance,
            &streams::message_thread(self.id),
            &act,
            decision,
        );
        Ok(Some(at))
    }
}

fn thread(
    world: &mut World,
    org: &Organisation,
    property: usize,
    day: NaiveDate,
) -> Result<(), GenerateError> {
    let Some((apartment_id, resident)) = settled_occupant(world, org, property, day) else {
        return Ok(());
    };
    let state = &org.properties[property];
    let (category, subject, question, answer) = *world.chance.pick(&TOPICS);
    let clerk = *world.chance.pick(&org.customer_service);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let (filer, channel, at) = match world.chance.between(0, 99) {
        0..=69 => (resident, Channel::Portal, world.chance.time_on(day, 7, 22)),
        n => {
            let channel = if n < 90 {
                Channel::Phone
            } else {
                Channel::Email
            };
            (
                clerk,
                channel,
                world.chance.office_after(midnight, Duration::zero()),
            )
        }
    };
    if local_date(at) >= org.until {
        return Ok(());
    }
    let id = world.chance.id_at(at);
    let command = StartMessageThread {
        message_thread_id: id,
        apartment_id,
        category,
        subject: subject.into(),
        message_id: world.chance.id_at(at),
        body: question.into(),
        resident_id: resident,
        opened_by: MessageSide::Resident,
    };
    let principal = principal_of(&state.register, filer, at)?;
    let ctx = Context {
        principal: &principal,
        register: &state.register,
        occurred_at: at,
        channel,
    };
    message_thread::check_start(&command, &ctx)
        .map_err(GenerateError::refused("a message thread"))?;
    let act = world.act(filer, channel, at, Some(state.property_id));
    let ticket = world.issue_ticket(MESSAGE_THREAD_PREFIX, id, &act);
    let decision = message_thread::start(command, &ticket, &ctx)
        .map_err(GenerateError::refused("a message thread"))?;
    let mut c = Conversation {
        org,
        property,
        id,
        history: decision.events.iter().cloned().map(|e| (e, at)).collect(),
        until: org.until,
    };
    world.log.record(
        &mut world.chance,
        &streams::message_thread(id),
        &act,
        decision,
    );

    let read = || Thread::MarkRead {
        up_to_message_id: None,
    };
    let office_at = world.chance.office_after(at, Duration::minutes(20));
    let Some(mut at) = c.step(world, clerk, Channel::Portal, office_at, read())? else {
        return Ok(());
    };
    if world.chance.chance(0.5) {
        let assign = Thread::Assign { handler_id: clerk };
        match c.step(
            world,
            clerk,
            Channel::Portal,
            at + Duration::minutes(2),
            assign,
        )? {
            Some(t) => at = t,
            None => return Ok(()),
        }
    }
    let rounds = world.chance.between(1, 2);
    for round in 1..=rounds {
        let reply = Thread::PostMessage {
            message_id: world.chance.id_at(at),
            body: answer.into(),
            on_behalf_of: None,
        };
        let reply_at = world.chance.office_after(at, Duration::minutes(30));
        let Some(replied) = c.step(world, clerk, Channel::Portal, reply_at, reply)? else {
            return Ok(());
        };
        // Residents who wrote in the portal read the answer there.
        if channel != Channel::Portal {
            at = replied;
            break;
        }
        let read_at = world.chance.resident_after(replied, Duration::minutes(30));
        let Some(seen) = c.step(world, resident, Channel::Portal, read_at, read())? else {
            return Ok(());
        };
        at = seen;
        if round < rounds {
            let back = Thread::PostMessage {
                message_id: world.chance.id_at(at),
                body: "Kiitos, vielä yksi tarkennus: koskeeko tämä myös ensi kuuta?".into(),
                on_behalf_of: None,
            };
            let Some(wrote) = c.step(
                world,
                resident,
                Channel::Portal,
                at + Duration::minutes(5),
                back,
            )?
            else {
                return Ok(());
            };
            let office_at = world.chance.office_after(wrote, Duration::minutes(20));
            match c.step(world, clerk, Channel::Portal, office_at, read())? {
                Some(t) => at = t,
                None => return Ok(()),
            }
        }
    }
    let close = Thread::SetStatus {
        status: MessageThreadStatus::Closed,
    };
    let wait = Duration::hours(world.chance.between(2, 48));
    let close_at = world.chance.office_after(at, wait);
    c.step(world, clerk, Channel::Portal, close_at, close)?;
    Ok(())
}
