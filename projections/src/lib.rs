//! Read models built from the event log.
//!
//! Each projection is a plain value folded from events ([`Projection::apply`]); the
//! [`engine`] runs it from its persisted checkpoint (catch-up, then live) and saves state and
//! checkpoint together in one snapshot file, so a restart resumes where it stopped and a crash
//! neither applies an event twice nor skips one. Projections never read a clock: anything
//! time-dependent ("overdue") is computed at query time with `now` passed in.

pub mod announcements;
pub mod as_of;
pub mod bookings;
pub mod bulk_notices;
pub mod documents;
pub mod engine;
pub mod fault_reports;
pub mod feed;
#[cfg(test)]
mod given;
pub mod housing;
pub mod idempotency;
pub mod ledger;
pub mod message_threads;
pub mod notifications;
pub mod open_items;
pub mod operations;
pub mod read_models;
pub mod register;
pub mod renovations;
pub mod replay;
pub mod service_requests;
pub mod snapshot;
pub mod snapshot_parts;
pub mod statistics;
pub mod work_items;

pub use engine::{Projection, ProjectionStatus, Running};
pub use read_models::{ReadModels, ReadModelsOptions};
