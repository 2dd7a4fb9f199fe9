//! The GraphQL SDL is committed as `api/schema.graphql`, so every API change shows in review.
//! Run with `UPDATE_SNAPSHOTS=1` to rewrite it after a deliberate change.

use std::path::PathBuf;

#[test]
fn the_committed_sdl_matches_the_schema() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/schema.graphql");
    let sdl = talo_api::graphql::sdl();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "api/schema.graphql differs from the schema; run `UPDATE_SNAPSHOTS=1 cargo test -p talo-tests --test schema` and review the diff"
    );
}
