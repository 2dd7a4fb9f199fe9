//! Async locks by name, created on demand: writers to one stream (or one ticket series, or one
//! idempotency key) on this node take turns instead of racing, so optimistic retries are left
//! for races between nodes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// Entries nobody holds are pruned when the map grows past this.
const PRUNE_ABOVE: usize = 1024;

#[derive(Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for the lock named `key`; it is released when the guard drops.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > PRUNE_ABOVE {
                locks.retain(|_, l| Arc::strong_count(l) > 1);
            }
            locks.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holders_of_one_key_take_turns_and_other_keys_do_not_wait() {
        let locks = KeyedLocks::default();
        let first = locks.lock("a").await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock("a"))
                .await
                .is_err()
        );
        let _other = locks.lock("b").await;
        drop(first);
        let _again = locks.lock("a").await;
    }
}
