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

/// The instant and id of a cursor [`sort_key`] made without a day; `None` for any other
/// string. For lists that are kept sorted and start a page straight at the cursor.
pub fn instant_and_id(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let rest = cursor
        .strip_prefix(CURSOR_PREFIX)?
        .strip_prefix("0000-00-00:")?;
    let (micros, id) = rest.split_once(':')?;
    let micros = micros.parse::<i128>().ok()? - (1i128 << 62);
    let at = DateTime::from_timestamp_micros(i64::try_from(micros).ok()?)?;
    Some((at, Uuid::parse_str(id).ok()?))
}

/// The refusal of an `after` that no list of this kind gave.
pub fn stray_cursor() -> ApiError {
    ApiError::bad_input(
        "after",
        "page.cursor",
        "not a cursor from this list; start again from the first page",
    )
}

/// The instant and id of `after`, for a list whose cursors [`sort_key`] made without a day.
pub fn after_instant_and_id(
    after: Option<&str>,
) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
    after
        .map(|cursor| instant_and_id(cursor).ok_or_else(stray_cursor))
        .transpose()
}

/// A page of a list kept sorted elsewhere: `items` are the next ones after the cursor, one
/// more than the page size if there are more (which sets `hasNextPage`).
pub fn page_of<T, N: OutputType>(
    mut items: Vec<T>,
    total_count: usize,
    size: usize,
    after_a_cursor: bool,
    cursor_of: impl Fn(&T) -> String,
    to_node: impl Fn(T) -> N,
) -> Page<N> {
    let has_next = items.len() > size;
    items.truncate(size);
    let mut connection =
        Connection::with_additional_fields(after_a_cursor, has_next, ListTotals { total_count });
    connection.edges.extend(
        items
            .into_iter()
            .map(|item| Edge::new(cursor_of(&item), to_node(item))),
    );
    connection
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
        Some(_) => return Err(stray_cursor()),
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
    fn a_cursor_without_a_day_gives_back_its_instant_and_id() {
        let id = Uuid::now_v7();
        for at in [
            Utc.with_ymd_and_hms(1969, 12, 31, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 2, 8, 15, 30).unwrap()
                + chrono::Duration::microseconds(7),
        ] {
            assert_eq!(instant_and_id(&sort_key(None, at, id)), Some((at, id)));
        }
        let day = NaiveDate::from_ymd_opt(2026, 3, 2);
        assert_eq!(instant_and_id(&sort_key(day, Utc::now(), id)), None);
        assert_eq!(instant_and_id("k1:0000-00-00:12:not-an-id"), None);
        assert_eq!(instant_and_id("anything"), None);
    }

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
