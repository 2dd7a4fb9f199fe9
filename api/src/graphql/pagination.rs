//! Cursor pagination for lists (Relay connections). A cursor is the opaque id of the last
//! item seen; pages are at most the configured page size.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: usize = 20;

#[derive(SimpleObject)]
pub struct ListTotals {
    /// Items in the whole list, across pages.
    pub total_count: usize,
}

pub type Page<N> = Connection<String, N, ListTotals>;

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

/// One page of an already ordered list.
pub fn paginate<T, N: OutputType>(
    items: Vec<T>,
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
        Some(cursor) => items
            .iter()
            .position(|i| cursor_of(i) == cursor)
            .map(|i| i + 1)
            .ok_or_else(|| {
                ApiError::bad_input(
                    "after",
                    "page.cursor",
                    "unknown cursor; start again from the first page",
                )
            })?,
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
