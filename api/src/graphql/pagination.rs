//! Cursor pagination for lists (Relay connections). A cursor is the sort key of the last item
//! seen, so the next page starts after it even when that item has left the list meanwhile
//! (acknowledged off the queue, say). Pages are at most the configured page size.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Every cursor starts with this, so a stray string is refused rather than misread.
const CURSOR_PREFIX: &str = "k1:";

#[derive(SimpleObject)]
pub struct ListTotals {
    /// Items in the whole list, across pages.
    pub total_count: usize,
}

pub type Page<N> = Connection<String, N, ListTotals>;

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// A cursor whose text sorts like the key it encodes: an optional day, an instant, an id.
pub fn sort_key(day: Option<NaiveDate>, at: DateTime<Utc>, id: Uuid) -> String {
    let day = day.map_or_else(
        || "0000-00-00".to_owned(),
        |d| d.format("%Y-%m-%d").to_string(),
    );
    // Offset so that instants before 1970 still sort as text.
    let micros = at.timestamp_micros() as i128 + (1i128 << 62);
    format!("{CURSOR_PREFIX}{day}:{micros:020}:{id}")
}

/// Checks `first` against the limit.
pub fn page_size(first: Option<i32>, max: usize) -> Result<usize, ApiError> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE.min(max)),
        Some(n) if n >= 1 && (n as usize) <= max => Ok(n as usize),
        Some(_) => Err(ApiError::bad_input(
            "first",
            "page.size",
            format!("must be from 1 to {max}"),
        )),
    }
}

/// One page of a list already sorted in `order` by `cursor_of`.
pub fn paginate<T, N: OutputType>(
    items: Vec<T>,
    order: Order,
    cursor_of: impl Fn(&T) -> String,
    first: Option<i32>,
    after: Option<String>,
    max: usize,
    to_node: impl Fn(T) -> N,
) -> Result<Page<N>, ApiError> {
    let size = page_size(first, max)?;
    let total_count = items.len();
    let start = match after {
        None => 0,
        Some(cursor) if cursor.starts_with(CURSOR_PREFIX) => items
            .iter()
            .position(|i| match order {
                Order::Ascending => cursor_of(i) > cursor,
                Order::Descending => cursor_of(i) < cursor,
            })
            .unwrap_or(total_count),
        Some(_) => {
            return Err(ApiError::bad_input(
                "after",
                "page.cursor",
                "not a cursor from this list; start again from the first page",
            ));
        }
    };
    let has_next = total_count > start + size;
    let mut connection =
        Connection::with_additional_fields(start > 0, has_next, ListTotals { total_count });
    connection.edges.extend(
        items
            .into_iter()
            .skip(start)
            .take(size)
            .map(|item| Edge::new(cursor_of(&item), to_node(item))),
    );
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cursors_sort_like_their_keys() {
        let id = Uuid::nil();
        let early = Utc.with_ymd_and_hms(1969, 12, 31, 0, 0, 0).unwrap();
        let late = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        assert!(sort_key(None, early, id) < sort_key(None, late, id));
        let day = NaiveDate::from_ymd_opt(2026, 3, 1);
        assert!(
            sort_key(None, late, id) < sort_key(day, early, id),
            "no day sorts first"
        );
    }
}
