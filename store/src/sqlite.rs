//! The embedded SQLite event store.
