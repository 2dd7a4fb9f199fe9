//! Read-your-writes across nodes: the `Talo-After-Position` request header.
//!
//! A mutation answers only once *its* node's read models show the change, but several nodes
//! on one cluster each fold the shared log at their own pace, so the next request, landing on
//! another node, may be answered from read models that have not reached the write yet. A
//! client that sends the position its mutation answered with (`position`, or a receipt's
//! `position` in `extensions.receipts`) as `Talo-After-Position: <position>` is answered only
//! once the node it reaches has passed that position; the node waits up to its
//! read-your-writes timeout and otherwise refuses, naming the position and how far it got, so
//! the client can retry (there or elsewhere) instead of acting on stale data.
//!
//! Positions are written as the API shows them: a number on the embedded store, and
//! `commit/prepare` on a cluster.

use axum::http::HeaderMap;
use talo_events_schema::envelope::Position;
use talo_projections::engine::Lagging;

use crate::talo::Talo;

/// The header's name (HTTP header names are case-insensitive).
pub const HEADER: &str = "talo-after-position";

/// Why the header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AfterPositionError {
    #[error(
        "Talo-After-Position: expected a position as a mutation answers it (a number, or `commit/prepare`), got `{0}`"
    )]
    Malformed(String),
    #[error("Talo-After-Position: give one position, not {0}")]
    Repeated(usize),
}

/// The position a request asks to be answered after, if it names one.
pub fn requested(headers: &HeaderMap) -> Result<Option<Position>, AfterPositionError> {
    let values: Vec<_> = headers.get_all(HEADER).iter().collect();
    let value = match values.as_slice() {
        [] => return Ok(None),
        [value] => value,
        more => return Err(AfterPositionError::Repeated(more.len())),
    };
    let text = value.to_str().map_err(|_| {
        AfterPositionError::Malformed(String::from_utf8_lossy(value.as_bytes()).into_owned())
    })?;
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| AfterPositionError::Malformed(text.to_owned()))
}

/// Waits until every read model of `talo` has passed `position`, at most the configured
/// read-your-writes timeout.
pub async fn wait(talo: &Talo, position: Position) -> Result<(), Lagging> {
    talo.read_models
        .wait_for(position, talo.config.read_your_writes_timeout)
        .await
}

/// The refusal when the node did not get there in time.
pub fn not_yet_visible(position: Position, lag: &Lagging) -> String {
    format!(
        "Talo-After-Position {position}: this node has not reached it yet ({lag}); retry shortly, on this node or another"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(HEADER, HeaderValue::from_bytes(v).expect("a header value"));
        }
        headers
    }

    #[test]
    fn both_shapes_of_position_are_read() {
        assert_eq!(requested(&with(&[])), Ok(None));
        assert_eq!(requested(&with(&[b"42"])), Ok(Some(Position::sequence(42))));
        assert_eq!(
            requested(&with(&[b" 1000/990 "])),
            Ok(Some(Position {
                commit: 1000,
                prepare: 990
            }))
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_header_and_the_format() {
        for bad in [&b"soon"[..], b"", b"-1", b"1/2/3", b"\xff"] {
            let error = requested(&with(&[bad])).expect_err("malformed");
            assert!(
                matches!(error, AfterPositionError::Malformed(_)),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(message.starts_with("Talo-After-Position: "), "{message}");
            assert!(message.contains("`commit/prepare`"), "{message}");
        }
        assert_eq!(
            requested(&with(&[b"1", b"2"])),
            Err(AfterPositionError::Repeated(2))
        );
    }
}
