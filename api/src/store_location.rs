//! Which event store `talo` runs on: the embedded SQLite store in the data directory (the
//! default), or a KurrentDB cluster named by a connection string (`--store`, `TALO_STORE`).
//!
//! The cluster backend is compiled only with the `kurrentdb` cargo feature; a binary built
//! without it still recognises a `kurrentdb://` address and says how to get one that can use
//! it, rather than treating it as a path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use talo_store::kurrentdb::{ConnectionString, ConnectionStringError, is_kurrentdb_url};
use talo_store::{EventStore, SqliteEventStore, SqliteOptions, StoreError};

/// The word for the default in `--store`.
pub const EMBEDDED: &str = "embedded";

/// Where the events are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded store's file.
    Embedded(PathBuf),
    KurrentDb(ConnectionString),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreLocationError {
    #[error(
        "{flag}: expected `embedded` or a KurrentDB connection string such as `kurrentdb://localhost:2113?tls=false`, got `{given}`"
    )]
    NotAStore { flag: &'static str, given: String },
    #[error("{flag}: {error}")]
    ConnectionString {
        flag: &'static str,
        error: ConnectionStringError,
    },
    #[error(
        "{flag} {redacted}: this talo was built without the `kurrentdb` feature; build it with `cargo build --release -p talo-api --features kurrentdb`"
    )]
    FeatureMissing {
        flag: &'static str,
        redacted: String,
    },
    #[error("{flag} {location}: {error}")]
    Open {
        flag: &'static str,
        location: String,
        error: StoreError,
    },
}

impl StoreLocation {
    /// Reads `--store` (`flag` names it in errors): absent or `embedded` is the embedded store
    /// in `data`.
    pub fn for_serving(
        flag: &'static str,
        store: Option<&str>,
        data: &Path,
    ) -> Result<Self, StoreLocationError> {
        match store.map(str::trim) {
            None | Some("") | Some(EMBEDDED) => Ok(Self::embedded_in(data)),
            Some(text) if is_kurrentdb_url(text) => Self::cluster(flag, text),
            Some(other) => Err(StoreLocationError::NotAStore {
                flag,
                given: other.to_owned(),
            }),
        }
    }

    /// Reads a migration's `--to`: a KurrentDB connection string, or a data directory whose
    /// embedded store receives the copy.
    pub fn for_target(flag: &'static str, text: &str) -> Result<Self, StoreLocationError> {
        if is_kurrentdb_url(text) {
            Self::cluster(flag, text)
        } else {
            Ok(Self::embedded_in(Path::new(text)))
        }
    }

    pub fn embedded_in(data: &Path) -> Self {
        StoreLocation::Embedded(data.join("events.sqlite"))
    }

    fn cluster(flag: &'static str, text: &str) -> Result<Self, StoreLocationError> {
        text.parse()
            .map(StoreLocation::KurrentDb)
            .map_err(|error| StoreLocationError::ConnectionString { flag, error })
    }

    /// Opens the store (creating an embedded one if there is none; connecting to a cluster).
    pub async fn open(
        &self,
        flag: &'static str,
    ) -> Result<Arc<dyn EventStore>, StoreLocationError> {
        match self {
            StoreLocation::Embedded(path) => {
                let mut options = SqliteOptions::new(path);
                // A copy from or to another store asks nothing by mention; the server that
                // opens the store next indexes it.
                options.mention_segment = 0;
                SqliteEventStore::open(options)
            }
            .map(|s| Arc::new(s) as Arc<dyn EventStore>)
            .map_err(|error| StoreLocationError::Open {
                flag,
                location: path.display().to_string(),
                error,
            }),
            StoreLocation::KurrentDb(connection) => open_cluster(flag, connection).await,
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Embedded(path) => write!(f, "the embedded store {}", path.display()),
            StoreLocation::KurrentDb(connection) => write!(f, "KurrentDB at {connection}"),
        }
    }
}

#[cfg(feature = "kurrentdb")]
async fn open_cluster(
    flag: &'static str,
    connection: &ConnectionString,
) -> Result<Arc<dyn EventStore>, StoreLocationError> {
    talo_store::kurrentdb::KurrentDbEventStore::connect(connection.clone())
        .await
        .map(|s| Arc::new(s) as Arc<dyn EventStore>)
        .map_err(|error| StoreLocationError::Open {
            flag,
            location: connection.redacted(),
            error,
        })
}

#[cfg(not(feature = "kurrentdb"))]
async fn open_cluster(
    flag: &'static str,
    connection: &ConnectionString,
) -> Result<Arc<dyn EventStore>, StoreLocationError> {
    Err(StoreLocationError::FeatureMissing {
        flag,
        redacted: connection.redacted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_store_is_the_default() {
        let data = Path::new("/srv/talo");
        for given in [None, Some(""), Some("embedded")] {
            assert_eq!(
                StoreLocation::for_serving("--store", given, data).expect("embedded"),
                StoreLocation::Embedded(data.join("events.sqlite"))
            );
        }
    }

    #[test]
    fn a_connection_string_names_a_cluster() {
        match StoreLocation::for_serving(
            "--store",
            Some("kurrentdb://admin:pw@node1:2113,node2:2113?tls=false"),
            Path::new("."),
        ) {
            Ok(StoreLocation::KurrentDb(c)) => {
                assert_eq!(c.hosts.len(), 2);
                assert!(!c.tls);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_flag() {
        let message = StoreLocation::for_serving("--store", Some("postgres://db"), Path::new("."))
            .expect_err("not a store")
            .to_string();
        assert!(
            message.starts_with("--store: expected `embedded` or a KurrentDB connection string"),
            "{message}"
        );
        let message =
            StoreLocation::for_serving("--store", Some("esdb://node1?tls=maybe"), Path::new("."))
                .expect_err("a bad parameter")
                .to_string();
        assert_eq!(
            message,
            "--store: connection string parameter `tls`: expected true or false, got `maybe`"
        );
    }

    #[test]
    fn a_migration_target_is_a_cluster_or_a_directory() {
        assert_eq!(
            StoreLocation::for_target("--to", "/srv/copy").expect("a directory"),
            StoreLocation::Embedded(PathBuf::from("/srv/copy/events.sqlite"))
        );
        assert!(matches!(
            StoreLocation::for_target("--to", "esdb+discover://cluster.example?tls=true"),
            Ok(StoreLocation::KurrentDb(_))
        ));
        assert!(matches!(
            StoreLocation::for_target("--to", "kurrentdb://node1?tsl=false"),
            Err(StoreLocationError::ConnectionString { flag: "--to", .. })
        ));
    }

    #[cfg(not(feature = "kurrentdb"))]
    #[tokio::test]
    async fn without_the_feature_a_cluster_is_refused_saying_how_to_build_one() {
        let location = StoreLocation::for_serving(
            "--store",
            Some("kurrentdb://admin:s3cret@node1:2113?tls=false"),
            Path::new("."),
        )
        .expect("a valid connection string");
        let message = match location.open("--store").await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a binary without the feature cannot open a cluster"),
        };
        assert_eq!(
            message,
            "--store kurrentdb://admin:***@node1:2113?tls=false: this talo was built without the `kurrentdb` feature; build it with `cargo build --release -p talo-api --features kurrentdb`"
        );
    }

    #[tokio::test]
    async fn an_embedded_store_that_cannot_be_opened_names_its_path() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let blocked = dir.path().join("not-a-directory");
        std::fs::write(&blocked, b"a file").expect("write");
        let location = StoreLocation::embedded_in(&blocked);
        let message = match location.open("--data").await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a store under a file cannot open"),
        };
        assert!(message.starts_with("--data "), "{message}");
        assert!(message.contains("not-a-directory"), "{message}");
    }
}
