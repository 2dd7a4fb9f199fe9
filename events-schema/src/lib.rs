//! The wire contract of Talo's events: the envelope, every payload type with its name and
//! version, the JSON Schemas generated from them, and the upcasters that read older versions.
//!
//! Everything that is written to the log is defined here, so a change to what is stored is a
//! change to this crate and shows in review (and in the committed schemas under `schemas/`).

pub mod announcement;
pub mod booking;
pub mod bulk_notice;
pub mod catalog;
pub mod document;
pub mod envelope;
pub mod fault_report;
pub mod housing;
pub mod ledger;
pub mod message_thread;
pub mod notification;
pub mod register;
pub mod renovation;
pub mod request_form;
pub mod service_level;
pub mod streams;
pub mod ticket;
pub mod upcast;

pub use catalog::{DecodeError, DomainEvent, EVENT_TYPES};
