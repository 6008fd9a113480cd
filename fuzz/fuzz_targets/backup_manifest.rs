//! A backup's manifest, as `backup verify` and `backup restore` read it from a
//! folder. Whatever it accepts names files inside the backup (and a base beside
//! it) only, and writes back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder_server::storage::backups::Manifest;
use std::path::{Component, Path};

/// A path of plain names only: no root, no `..`, nothing outside where it is joined.
fn inside(p: &str) -> bool {
    !p.is_empty() && Path::new(p).components().all(|c| matches!(c, Component::Normal(_)))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(manifest) = Manifest::parse(text) else { return };
    for f in &manifest.files {
        assert!(inside(&f.path), "a file outside the backup: {:?}", f.path);
    }
    if let Some(base) = &manifest.base {
        assert!(inside(base) && Path::new(base).components().count() == 1, "a base elsewhere: {base:?}");
    }
    let written = serde_json::to_string(&manifest).expect("a manifest writes");
    let again = Manifest::parse(&written).expect("a written manifest reads");
    assert_eq!(serde_json::to_value(&again).ok(), serde_json::to_value(&manifest).ok());
});
