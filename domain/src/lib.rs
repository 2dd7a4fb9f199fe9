//! Talo's domain: every rule of the business, as pure functions.
//!
//! Commands come in with everything they need (the acting [`access::Principal`], the register,
//! the business time); decisions go out as events or as a [`Rejection`] naming the rule. Nothing
//! here does IO, reads a clock or awaits, so every rule is unit-tested directly
//! (given events, when command, then events or rejection).

pub mod access;
pub mod account;
pub mod announcement;
pub mod booking;
pub mod booking_charge;
pub mod bulk_notice;
pub mod calendar;
pub mod day_number;
pub mod decision;
pub mod document;
pub mod fault_report;
pub mod housing;
pub mod ledger;
pub mod message_thread;
pub mod money;
pub mod notification;
pub mod payment_queue;
pub mod reference;
pub mod register;
pub mod rejection;
pub mod renovation;
pub mod request_form;
pub mod service_level;
pub mod ticket;
pub mod working_days;

pub use rejection::{Rejection, RejectionKind};
