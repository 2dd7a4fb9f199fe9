//! The open items of each organisation, kept beside a work model's records (message threads,
//! service requests, renovation requests): an office queue reads these, not five years of
//! closed ones. Snapshots leave it out and it is built again from the records as a snapshot
//! is read, so adding it changed no snapshot and cost no rebuild.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenItems(BTreeMap<Uuid, BTreeSet<Uuid>>);

impl OpenItems {
    /// Records whether item `id` of the organisation is open.
    pub fn set(&mut self, organisation_id: Uuid, id: Uuid, open: bool) {
        if open {
            self.0.entry(organisation_id).or_default().insert(id);
        } else if let Some(items) = self.0.get_mut(&organisation_id) {
            items.remove(&id);
            // So that equal models have equal indexes.
            if items.is_empty() {
                self.0.remove(&organisation_id);
            }
        }
    }

    /// The organisation's open items, by id.
    pub fn of(&self, organisation_id: Uuid) -> impl Iterator<Item = &Uuid> {
        self.0.get(&organisation_id).into_iter().flatten()
    }
}

/// From the organisation and id of each open item.
impl FromIterator<(Uuid, Uuid)> for OpenItems {
    fn from_iter<I: IntoIterator<Item = (Uuid, Uuid)>>(items: I) -> Self {
        let mut open = OpenItems::default();
        for (organisation_id, id) in items {
            open.set(organisation_id, id, true);
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_closed_leaves_and_one_reopened_comes_back() {
        let (org, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut open = OpenItems::default();
        open.set(org, a, true);
        open.set(org, b, true);
        open.set(other, a, true);
        open.set(org, a, false);
        assert_eq!(open.of(org).collect::<Vec<_>>(), vec![&b]);
        open.set(org, b, false);
        assert_eq!(open.of(org).count(), 0);
        open.set(org, a, true);
        assert_eq!(open.of(org).collect::<Vec<_>>(), vec![&a]);
        // Built from scratch or step by step, the same.
        assert_eq!(open, [(org, a), (other, a)].into_iter().collect());
    }
}
