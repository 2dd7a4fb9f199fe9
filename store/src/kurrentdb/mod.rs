//! The KurrentDB (EventStoreDB) cluster backend, for when one machine is not enough.
//!
//! Split in two so the rules are tested everywhere and gRPC is built only where wanted:
//!
//! - always compiled, with unit tests that need no server: [`connection`] (the connection
//!   string), [`mapping`] (stream names, expected revisions, the refusal of a stale write,
//!   positions, which events of `$all` are Talo's), [`metadata`] (how an event is laid out in
//!   KurrentDB, with its link of the per-stream hash chain), [`append`] (what an append does,
//!   decided from the stream's end: retry, conflict, refusal or write) and [`resubscribe`]
//!   (keeping the `$all` subscription going across dropped connections);
//! - with the `kurrentdb` cargo feature, the adapter `KurrentDbEventStore` over the official
//!   `kurrentdb` client, which only moves data between the client and these rules.

pub mod append;
pub mod connection;
pub mod mapping;
pub mod metadata;
pub mod resubscribe;

#[cfg(feature = "kurrentdb")]
mod client;

#[cfg(feature = "kurrentdb")]
pub use client::KurrentDbEventStore;

pub use connection::{ConnectionString, ConnectionStringError, is_kurrentdb_url};
