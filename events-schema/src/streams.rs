//! Stream names: which entity's events live where. Kept in one place so the command side, the
//! projections and the auditor agree.

use uuid::Uuid;

/// The register of one organisation: properties, people, contracts, staff.
pub fn organisation(organisation_id: Uuid) -> String {
    format!("organisation-{organisation_id}")
}

pub fn fault_report(fault_report_id: Uuid) -> String {
    format!("fault-report-{fault_report_id}")
}

pub fn message_thread(message_thread_id: Uuid) -> String {
    format!("message-thread-{message_thread_id}")
}

pub fn bulk_notice(bulk_notice_id: Uuid) -> String {
    format!("bulk-notice-{bulk_notice_id}")
}

/// One series of ticket numbers (`VK`, `YT`, ...) of one organisation.
pub fn tickets(prefix: &str, organisation_id: Uuid) -> String {
    format!("tickets-{prefix}-{organisation_id}")
}

pub fn request_form(form_id: Uuid) -> String {
    format!("request-form-{form_id}")
}

pub fn service_request(request_id: Uuid) -> String {
    format!("service-request-{request_id}")
}

pub fn renovation(renovation_id: Uuid) -> String {
    format!("renovation-{renovation_id}")
}

pub fn announcement(announcement_id: Uuid) -> String {
    format!("announcement-{announcement_id}")
}

/// One document of a property's archive, with its versions.
pub fn document(document_id: Uuid) -> String {
    format!("document-{document_id}")
}

/// The ledger of one contract: its charge lines, invoices and payments.
pub fn ledger(contract_id: Uuid) -> String {
    format!("ledger-{contract_id}")
}

pub fn housing_application(application_id: Uuid) -> String {
    format!("housing-application-{application_id}")
}

pub fn housing_offer(offer_id: Uuid) -> String {
    format!("housing-offer-{offer_id}")
}

pub fn notification(notification_id: Uuid) -> String {
    format!("notification-{notification_id}")
}

/// A bookable resource (a sauna, a parking area, a laundry room) and all its bookings.
pub fn resource(resource_id: Uuid) -> String {
    format!("resource-{resource_id}")
}

/// The payments of one organisation that matched no contract, waiting for the office.
pub fn payments(organisation_id: Uuid) -> String {
    format!("payments-{organisation_id}")
}

/// The service-level promises of one organisation.
pub fn service_levels(organisation_id: Uuid) -> String {
    format!("service-levels-{organisation_id}")
}
