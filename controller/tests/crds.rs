//! Fails when `deploy/crds/` no longer matches the API types.
//! `UPDATE_CRDS=1 cargo test -p controller --test crds` rewrites the files instead.

use std::path::PathBuf;

use eno::api::crds;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds")
}

#[test]
fn deploy_crds_are_up_to_date() {
    let dir = crds_dir();
    if std::env::var_os("UPDATE_CRDS").is_some_and(|v| !v.is_empty() && v != "0") {
        let written = crds::write_all(&dir).unwrap_or_else(|e| panic!("regenerating CRDs: {e}"));
        eprintln!("wrote {} CRDs to {}", written.len(), dir.display());
        return;
    }
    let stale = crds::stale_files(&dir).unwrap_or_else(|e| panic!("checking CRDs: {e}"));
    assert!(
        stale.is_empty(),
        "{} is stale: {}\nRegenerate with: UPDATE_CRDS=1 cargo test -p controller --test crds",
        dir.display(),
        stale.join(", ")
    );
}
