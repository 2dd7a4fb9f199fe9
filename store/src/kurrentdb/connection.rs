//! The KurrentDB connection string: read and checked before any client is built, so an
//! operator's typo is refused at start-up naming the part that is wrong, and the password
//! never reaches a log line.
//!
//! The shape is the official clients' one:
//! `kurrentdb://[user:password@]host[:port][,host[:port]...][?param=value&...]`, with the
//! schemes `kurrentdb`, `kurrent`, `kdb` and the older `esdb`, each also as `+discover` (the
//! hosts are DNS names or gossip seeds to discover the cluster through). The client accepts
//! and ignores parameters it does not know; Talo refuses them, because a misspelt `tls=false`
//! silently meaning TLS is the kind of mistake that costs an evening.

use std::fmt;
use std::str::FromStr;

/// The port KurrentDB serves gRPC on unless told otherwise.
pub const DEFAULT_PORT: u16 = 2113;

/// The schemes the official client understands, without `+discover`.
const SCHEMES: [&str; 4] = ["kurrentdb", "kurrent", "kdb", "esdb"];

/// The parameters the official client reads (lowercase; the client ignores case).
const PARAMETERS: [&str; 13] = [
    "tls",
    "tlsverifycert",
    "tlscafile",
    "nodepreference",
    "maxdiscoverattempts",
    "discoveryinterval",
    "gossiptimeout",
    "keepaliveinterval",
    "keepalivetimeout",
    "defaultdeadline",
    "connectionname",
    "usercertfile",
    "userkeyfile",
];

/// An example to quote in errors.
const EXAMPLE: &str = "kurrentdb://localhost:2113?tls=false";

/// Which cluster member reads go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePreference {
    Leader,
    Follower,
    Random,
    ReadOnlyReplica,
}

/// One host of the connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub port: u16,
}

/// A user name and password, percent-decoded. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// A checked connection string.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    original: String,
    pub scheme: String,
    /// `+discover`: the hosts are asked for the cluster's members.
    pub discover: bool,
    pub hosts: Vec<Host>,
    pub credentials: Option<Credentials>,
    /// TLS is on unless `tls=false`, as in the client.
    pub tls: bool,
    /// Server certificates are verified unless `tlsVerifyCert=false`.
    pub tls_verify_cert: bool,
    pub node_preference: NodePreference,
}

/// Why a connection string was refused. Each message names the part and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionStringError {
    #[error(
        "connection string: expected `kurrentdb://host:port?tls=false` (or `esdb://`, `kurrentdb+discover://`), got `{0}`"
    )]
    NotAKurrentDbUrl(String),
    #[error("connection string: no host after `://` (for example `{EXAMPLE}`)")]
    MissingHost,
    #[error("connection string: host `{host}` has port `{port}`; a port is a number 1-65535")]
    InvalidPort { host: String, port: String },
    #[error(
        "connection string: a path (`{0}`) is not allowed; parameters follow `?`, as in `{EXAMPLE}`"
    )]
    PathNotAllowed(String),
    #[error(
        "connection string: user `{0}` has no password; write `user:password@host` (percent-encode `@`, `:` and `/` in either)"
    )]
    MissingPassword(String),
    #[error("connection string: `{part}` is not valid percent-encoding")]
    BadPercentEncoding { part: &'static str },
    #[error("connection string parameter `{parameter}`: expected true or false, got `{value}`")]
    NotABoolean { parameter: String, value: String },
    #[error(
        "connection string parameter `nodePreference`: expected leader, follower, random or readOnlyReplica, got `{0}`"
    )]
    UnknownNodePreference(String),
    #[error("connection string parameter `{parameter}`: expected a whole number, got `{value}`")]
    NotANumber { parameter: String, value: String },
    #[error(
        "connection string parameter `{0}` is not one the KurrentDB client knows (tls, tlsVerifyCert, tlsCaFile, nodePreference, maxDiscoverAttempts, discoveryInterval, gossipTimeout, keepAliveInterval, keepAliveTimeout, defaultDeadline, connectionName, userCertFile, userKeyFile)"
    )]
    UnknownParameter(String),
    #[error("connection string parameter `{0}` is given twice")]
    DuplicateParameter(String),
    #[error("connection string parameter `{0}` has no `=value`")]
    MissingValue(String),
    #[error("connection string: userCertFile and userKeyFile go together; only `{0}` is given")]
    HalfAClientCertificate(&'static str),
}

/// Whether `text` asks for a KurrentDB store at all (by its scheme), so a caller can tell "a
/// KurrentDB URL with a mistake" from "not a KurrentDB URL".
pub fn is_kurrentdb_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        let scheme = scheme.to_ascii_lowercase();
        let base = scheme.strip_suffix("+discover").unwrap_or(&scheme);
        SCHEMES.contains(&base)
    })
}

impl ConnectionString {
    /// The text to give the official client: exactly what the operator wrote.
    pub fn for_client(&self) -> &str {
        &self.original
    }

    /// The connection string with the password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        match (&self.credentials, self.original.split_once("://")) {
            (Some(credentials), Some((scheme, rest))) => {
                let after_at = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
                format!("{scheme}://{}:***@{after_at}", credentials.user)
            }
            _ => self.original.clone(),
        }
    }
}

impl ConnectionString {
    /// `text` (a client's error message, say) with the password taken out, as written and
    /// as decoded.
    pub fn scrub(&self, text: &str) -> String {
        let Some(credentials) = &self.credentials else {
            return text.to_owned();
        };
        let written = self
            .original
            .split_once("://")
            .and_then(|(_, rest)| rest.rsplit_once('@'))
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .map(|(_, password)| password);
        let mut scrubbed = text.to_owned();
        for secret in [Some(credentials.password.as_str()), written]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            scrubbed = scrubbed.replace(secret, "***");
        }
        scrubbed
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionString({})", self.redacted())
    }
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use ConnectionStringError as E;
        let not_ours = || E::NotAKurrentDbUrl(redact_unparsed(text));
        let (scheme, rest) = text.split_once("://").ok_or_else(not_ours)?;
        let scheme = scheme.to_ascii_lowercase();
        let (base, discover) = match scheme.strip_suffix("+discover") {
            Some(base) => (base, true),
            None => (scheme.as_str(), false),
        };
        if !SCHEMES.contains(&base) {
            return Err(not_ours());
        }
        let (authority_and_path, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        // The userinfo may hold a percent-encoded `/`, never a raw one, so the first `/` after
        // the last `@` starts the path.
        let (userinfo, hosts_and_path) = match authority_and_path.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority_and_path),
        };
        let (hosts_text, path) = match hosts_and_path.split_once('/') {
            Some((hosts, path)) => (hosts, path),
            None => (hosts_and_path, ""),
        };
        if !path.is_empty() {
            return Err(E::PathNotAllowed(format!("/{path}")));
        }
        let credentials = userinfo.map(parse_credentials).transpose()?;
        let hosts = parse_hosts(hosts_text)?;

        let mut connection = ConnectionString {
            original: text.to_owned(),
            scheme: base.to_owned(),
            discover,
            hosts,
            credentials,
            tls: true,
            tls_verify_cert: true,
            node_preference: NodePreference::Leader,
        };
        let mut seen: Vec<String> = Vec::new();
        let (mut cert, mut key) = (false, false);
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| E::MissingValue(pair.to_owned()))?;
            let lower = name.to_ascii_lowercase();
            if !PARAMETERS.contains(&lower.as_str()) {
                return Err(E::UnknownParameter(name.to_owned()));
            }
            if seen.contains(&lower) {
                return Err(E::DuplicateParameter(name.to_owned()));
            }
            seen.push(lower.clone());
            match lower.as_str() {
                "tls" => connection.tls = boolean(name, value)?,
                "tlsverifycert" => connection.tls_verify_cert = boolean(name, value)?,
                "nodepreference" => {
                    connection.node_preference = match value.to_ascii_lowercase().as_str() {
                        "leader" => NodePreference::Leader,
                        "follower" => NodePreference::Follower,
                        "random" => NodePreference::Random,
                        "readonlyreplica" => NodePreference::ReadOnlyReplica,
                        _ => return Err(E::UnknownNodePreference(value.to_owned())),
                    }
                }
                "maxdiscoverattempts" | "discoveryinterval" | "gossiptimeout" => {
                    number(name, value, false)?;
                }
                // -1 switches these off in the client.
                "keepaliveinterval" | "keepalivetimeout" | "defaultdeadline" => {
                    number(name, value, true)?;
                }
                "usercertfile" => cert = true,
                "userkeyfile" => key = true,
                _ => {}
            }
        }
        match (cert, key) {
            (true, false) => return Err(E::HalfAClientCertificate("userCertFile")),
            (false, true) => return Err(E::HalfAClientCertificate("userKeyFile")),
            _ => {}
        }
        Ok(connection)
    }
}

/// The scheme and hosts of a string that did not parse, without anything that may be a
/// password.
fn redact_unparsed(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((_, after)) => format!("***@{after}"),
        None => text.to_owned(),
    }
}

fn parse_credentials(userinfo: &str) -> Result<Credentials, ConnectionStringError> {
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, password),
        None => {
            let user = percent_decode(userinfo, "user")?;
            return Err(ConnectionStringError::MissingPassword(user));
        }
    };
    Ok(Credentials {
        user: percent_decode(user, "user")?,
        password: percent_decode(password, "password")?,
    })
}

fn parse_hosts(text: &str) -> Result<Vec<Host>, ConnectionStringError> {
    if text.is_empty() {
        return Err(ConnectionStringError::MissingHost);
    }
    text.split(',')
        .map(|part| {
            let (name, port) = match part.rsplit_once(':') {
                Some((name, port)) => {
                    let parsed = port
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| ConnectionStringError::InvalidPort {
                            host: name.to_owned(),
                            port: port.to_owned(),
                        })?;
                    (name, parsed)
                }
                None => (part, DEFAULT_PORT),
            };
            if name.is_empty() {
                return Err(ConnectionStringError::MissingHost);
            }
            Ok(Host {
                name: name.to_owned(),
                port,
            })
        })
        .collect()
}

fn boolean(name: &str, value: &str) -> Result<bool, ConnectionStringError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConnectionStringError::NotABoolean {
            parameter: name.to_owned(),
            value: value.to_owned(),
        }),
    }
}

fn number(name: &str, value: &str, minus_one_allowed: bool) -> Result<(), ConnectionStringError> {
    let ok = value.parse::<u64>().is_ok() || (minus_one_allowed && value == "-1");
    if ok {
        Ok(())
    } else {
        Err(ConnectionStringError::NotANumber {
            parameter: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

fn percent_decode(text: &str, part: &'static str) -> Result<String, ConnectionStringError> {
    let bad = || ConnectionStringError::BadPercentEncoding { part };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ConnectionString {
        text.parse()
            .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
    }

    fn refuse(text: &str) -> ConnectionStringError {
        match text.parse::<ConnectionString>() {
            Err(e) => e,
            Ok(c) => panic!("`{text}` should be refused, parsed as {c:?}"),
        }
    }

    #[test]
    fn an_insecure_single_node() {
        let c = parse("kurrentdb://localhost:2113?tls=false");
        assert_eq!(c.scheme, "kurrentdb");
        assert!(!c.discover);
        assert_eq!(
            c.hosts,
            vec![Host {
                name: "localhost".into(),
                port: 2113
            }]
        );
        assert!(!c.tls);
        assert!(c.tls_verify_cert);
        assert_eq!(c.credentials, None);
        assert_eq!(c.node_preference, NodePreference::Leader);
        assert_eq!(c.for_client(), "kurrentdb://localhost:2113?tls=false");
    }

    #[test]
    fn tls_is_on_unless_switched_off_as_in_the_client() {
        let c = parse("esdb://node1");
        assert!(c.tls);
        assert_eq!(c.hosts[0].port, DEFAULT_PORT);
        let c = parse("kurrentdb://node1?TLS=true&tlsVerifyCert=false");
        assert!(c.tls);
        assert!(!c.tls_verify_cert);
    }

    #[test]
    fn a_cluster_with_gossip_seeds_and_credentials() {
        let c = parse(
            "kurrentdb+discover://admin:chang%40it@node1:2113,node2:2114,node3?nodePreference=follower&tlsCAFile=/certs/ca.crt",
        );
        assert!(c.discover);
        assert_eq!(
            c.hosts
                .iter()
                .map(|h| (h.name.as_str(), h.port))
                .collect::<Vec<_>>(),
            vec![("node1", 2113), ("node2", 2114), ("node3", 2113)]
        );
        let credentials = c.credentials.clone().expect("credentials");
        assert_eq!(credentials.user, "admin");
        assert_eq!(credentials.password, "chang@it", "percent-decoded");
        assert_eq!(c.node_preference, NodePreference::Follower);
    }

    #[test]
    fn the_password_never_shows() {
        let c = parse("esdb://admin:s3cret@node1:2113?tls=true");
        assert_eq!(c.redacted(), "esdb://admin:***@node1:2113?tls=true");
        assert!(!format!("{c}").contains("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!format!("{:?}", c.credentials).contains("s3cret"));
        let e = refuse("esdb://admin:s3cret@node1:99999");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = refuse("http://admin:s3cret@node1");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn messages_are_scrubbed_of_the_password() {
        let c = parse("esdb://admin:p%40ss@node1:2113");
        assert_eq!(
            c.scrub("cannot parse esdb://admin:p%40ss@node1:2113 (password p@ss)"),
            "cannot parse esdb://admin:***@node1:2113 (password ***)"
        );
        let none = parse("esdb://node1");
        assert_eq!(none.scrub("as is"), "as is");
    }

    #[test]
    fn every_scheme_the_client_knows_is_recognised() {
        for scheme in [
            "kurrentdb",
            "kurrent",
            "kdb",
            "esdb",
            "ESDB",
            "esdb+discover",
        ] {
            assert!(is_kurrentdb_url(&format!("{scheme}://h")), "{scheme}");
            parse(&format!("{scheme}://h?tls=false"));
        }
        for other in [
            "sqlite:///tmp/x",
            "/var/lib/talo",
            "http://h",
            "kurrentdb:/h",
        ] {
            assert!(!is_kurrentdb_url(other), "{other}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        let cases: Vec<(&str, ConnectionStringError)> = vec![
            (
                "http://node1",
                ConnectionStringError::NotAKurrentDbUrl("http://node1".into()),
            ),
            ("kurrentdb://", ConnectionStringError::MissingHost),
            ("kurrentdb://?tls=false", ConnectionStringError::MissingHost),
            ("kurrentdb://a,,b", ConnectionStringError::MissingHost),
            (
                "kurrentdb://node1:port",
                ConnectionStringError::InvalidPort {
                    host: "node1".into(),
                    port: "port".into(),
                },
            ),
            (
                "kurrentdb://node1:0",
                ConnectionStringError::InvalidPort {
                    host: "node1".into(),
                    port: "0".into(),
                },
            ),
            (
                "kurrentdb://node1/talo",
                ConnectionStringError::PathNotAllowed("/talo".into()),
            ),
            (
                "kurrentdb://admin@node1",
                ConnectionStringError::MissingPassword("admin".into()),
            ),
            (
                "kurrentdb://ad%zzmin:pw@node1",
                ConnectionStringError::BadPercentEncoding { part: "user" },
            ),
            (
                "kurrentdb://node1?tls=no",
                ConnectionStringError::NotABoolean {
                    parameter: "tls".into(),
                    value: "no".into(),
                },
            ),
            (
                "kurrentdb://node1?tlsVerifyCert=0",
                ConnectionStringError::NotABoolean {
                    parameter: "tlsVerifyCert".into(),
                    value: "0".into(),
                },
            ),
            (
                "kurrentdb://node1?nodePreference=nearest",
                ConnectionStringError::UnknownNodePreference("nearest".into()),
            ),
            (
                "kurrentdb://node1?gossipTimeout=soon",
                ConnectionStringError::NotANumber {
                    parameter: "gossipTimeout".into(),
                    value: "soon".into(),
                },
            ),
            (
                "kurrentdb://node1?defaultDeadline=-2",
                ConnectionStringError::NotANumber {
                    parameter: "defaultDeadline".into(),
                    value: "-2".into(),
                },
            ),
            (
                "kurrentdb://node1?tsl=false",
                ConnectionStringError::UnknownParameter("tsl".into()),
            ),
            (
                "kurrentdb://node1?tls=false&TLS=true",
                ConnectionStringError::DuplicateParameter("TLS".into()),
            ),
            (
                "kurrentdb://node1?tls",
                ConnectionStringError::MissingValue("tls".into()),
            ),
            (
                "kurrentdb://node1?userCertFile=/a.crt",
                ConnectionStringError::HalfAClientCertificate("userCertFile"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(refuse(text), expected, "{text}");
        }
        let message = refuse("kurrentdb://node1?tls=yes").to_string();
        assert_eq!(
            message,
            "connection string parameter `tls`: expected true or false, got `yes`"
        );
        parse("kurrentdb://node1?defaultDeadline=-1&userCertFile=/a.crt&userKeyFile=/a.key");
    }
}
