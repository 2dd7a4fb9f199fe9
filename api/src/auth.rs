//! Authentication: HS256 JWT bearer tokens that say who the person is and in which
//! organisation. What they may do is not in the token: it comes from the register (contracts,
//! board seats, staff assignments) at the time of each request.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// Who is calling, as the token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub person_id: Uuid,
    pub organisation_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    org: Uuid,
    iat: i64,
    exp: i64,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The configured secret, or the development secret kept in the data directory (created on
    /// first start, so tokens stay valid across restarts).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(secret) = configured {
            return Ok(TokenKeys::new(secret.as_bytes()));
        }
        let path = data_dir.join("jwt-secret");
        match std::fs::read_to_string(&path) {
            Ok(secret) => Ok(TokenKeys::new(secret.trim().as_bytes())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
                std::fs::create_dir_all(data_dir)?;
                write_private(&path, &secret)?;
                Ok(TokenKeys::new(secret.as_bytes()))
            }
            Err(e) => Err(e),
        }
    }

    pub fn mint(&self, caller: Caller, now: DateTime<Utc>, valid_for: Duration) -> String {
        let claims = Claims {
            sub: caller.person_id,
            org: caller.organisation_id,
            iat: now.timestamp(),
            exp: (now + valid_for).timestamp(),
        };
        // HS256 signing of a small struct has no failure mode short of a broken allocator.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Checks an `Authorization` header value. The error names what is wrong without echoing
    /// the token.
    pub fn verify_header(&self, header: &str) -> Result<Caller, ApiError> {
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::Unauthenticated("authorization: expected `Bearer <token>`".into())
        })?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token.trim(), &self.decoding, &validation)
            .map_err(|e| {
                ApiError::Unauthenticated(format!(
                    "authorization: token rejected ({})",
                    describe(&e)
                ))
            })?;
        Ok(Caller {
            person_id: data.claims.sub,
            organisation_id: data.claims.org,
        })
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "wrong algorithm",
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => "missing or malformed claims",
        _ => "malformed",
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            person_id: Uuid::now_v7(),
            organisation_id: Uuid::now_v7(),
        }
    }

    #[test]
    fn a_minted_token_verifies_to_its_caller() {
        let keys = TokenKeys::new(b"secret");
        let c = caller();
        let token = keys.mint(c, Utc::now(), Duration::hours(1));
        assert_eq!(keys.verify_header(&format!("Bearer {token}")).unwrap(), c);
    }

    #[test]
    fn expired_foreign_and_malformed_tokens_are_rejected() {
        let keys = TokenKeys::new(b"secret");
        let old = keys.mint(caller(), Utc::now() - Duration::days(2), Duration::hours(1));
        let err = keys.verify_header(&format!("Bearer {old}")).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let foreign = TokenKeys::new(b"other").mint(caller(), Utc::now(), Duration::hours(1));
        assert!(
            keys.verify_header(&format!("Bearer {foreign}"))
                .unwrap_err()
                .to_string()
                .contains("bad signature")
        );
        assert!(keys.verify_header("Bearer not.a.jwt").is_err());
        assert!(
            keys.verify_header("Basic abc")
                .unwrap_err()
                .to_string()
                .contains("Bearer")
        );
    }

    #[test]
    fn the_development_secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = TokenKeys::load(None, dir.path()).unwrap();
        let token = first.mint(caller(), Utc::now(), Duration::hours(1));
        let again = TokenKeys::load(None, dir.path()).unwrap();
        assert!(again.verify_header(&format!("Bearer {token}")).is_ok());
    }
}
