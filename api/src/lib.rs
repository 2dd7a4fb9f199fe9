//! Talo's API: the GraphQL schema over axum, the command dispatcher, authentication, metrics,
//! the demo organisation, and the [`Talo`] system that ties the store and read models together.
//!
//! `talo serve` (in `main.rs`) only parses flags, opens [`Talo`] and binds [`app`]; tests call
//! [`app`] directly.

pub mod after_position;
pub mod auth;
pub mod blobs;
pub mod camt054;
pub mod clock;
pub mod demo;
pub mod dispatch;
pub mod document_http;
pub mod error;
pub mod export;
pub mod generate;
pub mod graphql;
pub mod http;
pub mod keyed_locks;
pub mod ledger;
pub mod ledger_cache;
pub mod ledger_http;
pub mod metrics;
pub mod notifier;
pub mod receipts;
pub mod reports;
pub mod reports_http;
pub mod serving_lock;
pub mod store_location;
pub mod talo;

pub use http::app;
pub use talo::{Config, Limits, Talo};
