//! Which events matter to whom, and what they are told. Pure: the notifier folds events into an
//! [`Audience`] (whom a report or thread concerns) and asks [`notices_for`] what to send; the
//! register gives the addresses; [`retry_at`] spaces out retries after failures.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use talo_events_schema::DomainEvent;
use talo_events_schema::message_thread::MessageSide;
use talo_events_schema::notification::NotificationChannel;
use uuid::Uuid;

use crate::register::Person;

/// Attempts before the outbox gives up on a notification.
pub const MAX_ATTEMPTS: u32 = 5;

/// Whom each fault report and message thread concerns, as far as the events have told. Saved
/// with the notifier's progress, so a restart need not fold the log from its start again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    fault_reports: HashMap<Uuid, (Uuid, String)>,
    threads: HashMap<Uuid, (Uuid, String)>,
    /// Contract to the person holding it, for invoices.
    contracts: HashMap<Uuid, Uuid>,
}

impl Audience {
    pub fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::FaultReported(e) => {
                self.fault_reports
                    .insert(e.fault_report_id, (e.reporter_id, e.ticket.clone()));
            }
            DomainEvent::MessageThreadStarted(e) => {
                self.threads
                    .insert(e.message_thread_id, (e.resident_id, e.ticket.clone()));
            }
            DomainEvent::ContractSigned(e) => {
                self.contracts.insert(e.contract_id, e.person_id);
            }
            _ => {}
        }
    }
}

/// Something to tell one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub person_id: Uuid,
    pub subject: String,
    pub body: String,
}

/// What `event` makes worth telling, and to whom: an offer made, a fault report's progress, a
/// reply from the office, a booking confirmed, an invoice issued.
pub fn notices_for(event: &DomainEvent, audience: &Audience) -> Vec<Notice> {
    let report = |id: &Uuid, what: &str| {
        audience
            .fault_reports
            .get(id)
            .map(|(reporter, ticket)| Notice {
                person_id: *reporter,
                subject: format!("Vikailmoitus {ticket}: {what}"),
                body: format!(
                    "Vikailmoituksesi {ticket} tila: {what}. Katso lisätiedot asukasportaalista."
                ),
            })
    };
    let notice = match event {
        DomainEvent::FaultReportAcknowledged(e) => report(&e.fault_report_id, "vastaanotettu"),
        DomainEvent::FaultReportAssigned(e) => report(
            &e.fault_report_id,
            &format!(
                "työ tilattu, luvattu valmiiksi {}",
                e.promised_by.format("%-d.%-m.%Y")
            ),
        ),
        DomainEvent::FaultReportVisitScheduled(e) => report(&e.fault_report_id, "käynti sovittu"),
        DomainEvent::FaultReportResolved(e) => {
            report(&e.fault_report_id, "korjattu").map(|mut n| {
                n.body = format!("{} Korjaus: {}", n.body, e.work_summary);
                n
            })
        }
        DomainEvent::MessagePosted(e) if e.from == MessageSide::Staff => audience
            .threads
            .get(&e.message_thread_id)
            .map(|(resident, ticket)| Notice {
                person_id: *resident,
                subject: format!("Vastaus yhteydenottoosi {ticket}"),
                body: "Asiakaspalvelu on vastannut viestiisi. Lue vastaus asukasportaalista."
                    .to_owned(),
            }),
        DomainEvent::InvoiceIssued(e) => {
            audience.contracts.get(&e.contract_id).map(|holder| Notice {
                person_id: *holder,
                subject: format!("Lasku {}", e.invoice_number),
                body: format!(
                    "Uusi lasku {}: {},{:02} €, eräpäivä {}, viite {}.",
                    e.invoice_number,
                    (e.total_cents - e.prepayment_applied_cents) / 100,
                    (e.total_cents - e.prepayment_applied_cents) % 100,
                    e.due_on.format("%-d.%-m.%Y"),
                    e.reference,
                ),
            })
        }
        DomainEvent::SaunaShiftBooked(e) => Some(Notice {
            person_id: e.booked_by,
            subject: "Saunavuoro varattu".to_owned(),
            body: format!(
                "Saunavuorosi on varattu {} alkaen{}.",
                e.starts_on.format("%-d.%-m.%Y"),
                monthly(e.monthly_price_cents)
            ),
        }),
        DomainEvent::ParkingSpaceBooked(e) => Some(Notice {
            person_id: e.booked_by,
            subject: format!("Autopaikka {} varattu", e.space),
            body: format!(
                "Autopaikka {} on sinun {} alkaen{}.",
                e.space,
                e.starts_on.format("%-d.%-m.%Y"),
                monthly(e.monthly_price_cents)
            ),
        }),
        DomainEvent::RoomBooked(e) => Some(Notice {
            person_id: e.booked_by,
            subject: "Varaus vahvistettu".to_owned(),
            body: format!(
                "Varauksesi {} - {} (UTC) on vahvistettu.",
                e.starts_at.format("%-d.%-m.%Y %H:%M"),
                e.ends_at.format("%H:%M")
            ),
        }),
        DomainEvent::HousingOfferMade(e) => Some(Notice {
            person_id: e.applicant_id,
            subject: "Asuntotarjous".to_owned(),
            body: format!(
                "Sinulle on tarjottu asuntoa, vuokra {},{:02} €/kk, alkaen {}. Vastaa viimeistään {}.",
                e.monthly_rent_cents / 100,
                e.monthly_rent_cents % 100,
                e.lease_starts_on.format("%-d.%-m.%Y"),
                e.answer_by.format("%-d.%-m.%Y %H:%M UTC"),
            ),
        }),
        _ => None,
    };
    notice.into_iter().collect()
}

fn monthly(cents: i64) -> String {
    if cents == 0 {
        String::new()
    } else {
        format!(", {},{:02} €/kk", cents / 100, cents % 100)
    }
}

/// Where a person can be reached: SMS to their phone, email to their address.
pub fn addresses(person: &Person) -> Vec<(NotificationChannel, String)> {
    let mut out = Vec::new();
    if let Some(phone) = person.phone.as_ref().filter(|p| !p.trim().is_empty()) {
        out.push((NotificationChannel::Sms, phone.clone()));
    }
    if let Some(email) = person.email.as_ref().filter(|e| e.contains('@')) {
        out.push((NotificationChannel::Email, email.clone()));
    }
    out
}

/// When to try again after attempt `attempt` failed at `failed_at`: after 1, 5, 30 and 120
/// minutes; `None` once [`MAX_ATTEMPTS`] have failed.
pub fn retry_at(attempt: u32, failed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let minutes = match attempt {
        1 => 1,
        2 => 5,
        3 => 30,
        4 => 120,
        _ => return None,
    };
    Some(failed_at + Duration::minutes(minutes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use talo_events_schema::fault_report::*;

    #[test]
    fn the_reporter_hears_of_their_reports_progress() {
        let mut audience = Audience::default();
        let (id, reporter) = (Uuid::now_v7(), Uuid::now_v7());
        let reported = DomainEvent::FaultReported(FaultReported {
            fault_report_id: id,
            ticket: "VK-2026-000001".into(),
            property_id: Uuid::nil(),
            location: FaultLocation::CommonArea {
                building_id: None,
                area: "sauna".into(),
            },
            category: FaultCategory::Other,
            description: "x".into(),
            permission_to_enter: false,
            pets: PetsOnPremises {
                present: false,
                details: None,
            },
            preferred_visit: None,
            contact_phone: None,
            reporter_id: reporter,
        });
        assert!(
            notices_for(&reported, &audience).is_empty(),
            "the reporter knows they reported"
        );
        audience.apply(&reported);
        let notices = notices_for(
            &DomainEvent::FaultReportAcknowledged(FaultReportAcknowledged {
                fault_report_id: id,
            }),
            &audience,
        );
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].person_id, reporter);
        assert!(notices[0].subject.contains("VK-2026-000001"));
    }

    #[test]
    fn the_booker_hears_that_a_parking_space_is_theirs() {
        use talo_events_schema::booking::ParkingSpaceBooked;
        let booker = Uuid::now_v7();
        let booked = DomainEvent::ParkingSpaceBooked(ParkingSpaceBooked {
            resource_id: Uuid::nil(),
            booking_id: Uuid::nil(),
            space: "AP-2".into(),
            apartment_id: Uuid::nil(),
            booked_by: booker,
            starts_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            monthly_price_cents: 3500,
            contract_id: None,
            from_queue: false,
        });
        let notices = notices_for(&booked, &Audience::default());
        assert_eq!(notices[0].person_id, booker);
        assert!(
            notices[0].body.contains("35,00 €/kk"),
            "{}",
            notices[0].body
        );
    }

    #[test]
    fn retries_back_off_and_give_up() {
        let t = Utc::now();
        assert_eq!(retry_at(1, t), Some(t + Duration::minutes(1)));
        assert_eq!(retry_at(4, t), Some(t + Duration::minutes(120)));
        assert_eq!(retry_at(MAX_ATTEMPTS, t), None);
    }

    #[test]
    fn people_are_reached_where_they_have_an_address() {
        let person = Person {
            person_id: Uuid::nil(),
            name: "A".into(),
            email: Some("a@example.fi".into()),
            phone: None,
        };
        assert_eq!(
            addresses(&person),
            vec![(NotificationChannel::Email, "a@example.fi".to_owned())]
        );
    }
}
