//! Contract ledgers folded from their streams, kept between reads. A five-year lease's ledger is
//! over a hundred events; reading and folding all of them on every portal request (`myLedgers`,
//! `ledger`) costs milliseconds. A kept ledger remembers the revision it was folded through, so
//! the next read asks the store only for the events after it (usually none) and folds those on:
//! the answer is always the stream as it is in the store, never an older copy. Folding is
//! `Ledger::default()` plus `apply` for each event, so folding on from a kept ledger gives the
//! same ledger as folding from the start.
//!
//! Writes without an idempotency key (a monthly run, a bank statement import) decide on the
//! kept ledger folded on in the same way, and keep it with the events they recorded applied
//! (`Dispatcher::act_on_ledger`): the run's draft and its decision read a five-year stream once,
//! not twice, and an import's second payment to a contract reads only what came after. A keyed
//! request reads the whole stream, where a retry's first try is recognised by its key.
//!
//! The cache holds at most [`LedgerCache::CAPACITY`] ledgers; when it is full the least recently
//! read eighth is let go at once, which keeps an eviction's cost off most reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use talo_domain::ledger::Ledger;
use talo_events_schema::envelope::Position;
use uuid::Uuid;

/// A ledger, the revision its stream continues at, and where its last event is.
///
/// The ledger is shared: a read that finds nothing newer hands out the kept one as it is, and
/// only a read or write with events to fold on copies it (`Arc::make_mut`). A copy per read
/// was the portal's biggest cost of a kept five-year ledger, made under the cache's lock.
#[derive(Debug, Clone, Default)]
pub struct KeptLedger {
    pub ledger: Arc<Ledger>,
    pub next_revision: u64,
    pub last_position: Option<Position>,
    /// The stream's organisation (none before its first event): a command of another
    /// organisation decides on an empty ledger, as on a stream it cannot see.
    pub organisation_id: Option<Uuid>,
}

struct Entry {
    kept: KeptLedger,
    last_read: u64,
}

#[derive(Default)]
struct Entries {
    by_contract: HashMap<Uuid, Entry>,
    reads: u64,
}

#[derive(Default)]
pub struct LedgerCache {
    entries: Mutex<Entries>,
}

impl LedgerCache {
    /// About 40 KB each for a five-year ledger: some 80 MB when full.
    pub const CAPACITY: usize = 2_048;

    /// The kept ledger of a contract, if any (the ledger shared: folding on copies it).
    pub fn get(&self, contract_id: Uuid) -> Option<KeptLedger> {
        let mut entries = self.lock();
        entries.reads += 1;
        let now = entries.reads;
        let entry = entries.by_contract.get_mut(&contract_id)?;
        entry.last_read = now;
        Some(entry.kept.clone())
    }

    /// Keeps a ledger folded through `kept.next_revision`, unless one folded further is kept
    /// already (two reads of one ledger at once).
    pub fn keep(&self, contract_id: Uuid, kept: KeptLedger) {
        let mut entries = self.lock();
        entries.reads += 1;
        let now = entries.reads;
        if let Some(entry) = entries.by_contract.get_mut(&contract_id) {
            if entry.kept.next_revision <= kept.next_revision {
                entry.kept = kept;
            }
            entry.last_read = now;
            return;
        }
        if entries.by_contract.len() >= Self::CAPACITY {
            let mut ages: Vec<u64> = entries.by_contract.values().map(|e| e.last_read).collect();
            let cut = ages.len() / 8;
            let (_, oldest_kept, _) = ages.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            entries.by_contract.retain(|_, e| e.last_read > oldest_kept);
        }
        entries.by_contract.insert(
            contract_id,
            Entry {
                kept,
                last_read: now,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.lock().by_contract.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves whole entries behind: nothing half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(next_revision: u64) -> KeptLedger {
        KeptLedger {
            next_revision,
            ..KeptLedger::default()
        }
    }

    #[test]
    fn a_ledger_folded_further_is_not_replaced_by_an_older_one() {
        let cache = LedgerCache::default();
        let contract = Uuid::now_v7();
        cache.keep(contract, kept(5));
        cache.keep(contract, kept(3));
        assert_eq!(cache.get(contract).map(|k| k.next_revision), Some(5));
        cache.keep(contract, kept(7));
        assert_eq!(cache.get(contract).map(|k| k.next_revision), Some(7));
    }

    #[test]
    fn a_full_cache_lets_the_least_recently_read_go() {
        let cache = LedgerCache::default();
        let contracts: Vec<Uuid> = (0..LedgerCache::CAPACITY).map(|_| Uuid::now_v7()).collect();
        for c in &contracts {
            cache.keep(*c, kept(1));
        }
        // The first one read again: now the most recent.
        assert!(cache.get(contracts[0]).is_some());
        cache.keep(Uuid::now_v7(), kept(1));
        assert!(cache.len() <= LedgerCache::CAPACITY);
        assert!(cache.len() >= LedgerCache::CAPACITY * 7 / 8);
        assert!(cache.get(contracts[0]).is_some(), "recently read stays");
        assert!(
            cache.get(contracts[1]).is_none(),
            "least recently read goes"
        );
    }
}
