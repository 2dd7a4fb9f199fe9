//! Document content on disk, content-addressed: `DATA/documents/sha256/ab/abcdef…`. A blob is
//! written once (temp file, fsync, rename, fsync of the directory), so a crash leaves either
//! the whole file or none, and the same bytes uploaded twice are stored once. The log names
//! content by hash; a blob no event names (a refused upload) is harmless.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("sha256: `{0}` is not 64 lowercase hex digits")]
    BadHash(String),
    #[error("blob `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl BlobStore {
    /// Blobs under `data_dir/documents/sha256`.
    pub fn new(data_dir: &Path) -> Self {
        BlobStore {
            root: data_dir.join("documents").join("sha256"),
        }
    }

    /// Where the blob with this hash lives (whether or not it exists).
    pub fn path(&self, sha256: &str) -> Result<PathBuf, BlobError> {
        let well_formed = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(BlobError::BadHash(sha256.to_owned()));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` under their hash unless already there; returns the hash. Blocking: call
    /// from `spawn_blocking`.
    pub fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256)?;
        if path.exists() {
            return Ok(sha256);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let io = |source| BlobError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let temp = dir.join(format!(".{sha256}.{}.tmp", uuid::Uuid::now_v7()));
        let written = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(io)?;
        Ok(sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_stored_once_under_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        let a = blobs.put(b"abc").unwrap();
        assert_eq!(
            a,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(blobs.put(b"abc").unwrap(), a);
        let path = blobs.path(&a).unwrap();
        assert!(path.ends_with(format!("documents/sha256/ba/{a}")));
        assert_eq!(std::fs::read(path).unwrap(), b"abc");
        assert!(blobs.path("../../etc/passwd").is_err());
    }
}
