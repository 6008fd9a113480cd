//! The browser's bundle (`/pkg`): the wasm, its JS glue, the split pages' modules
//! and the style sheet.
//!
//! - **Named after their content.** The bundle is served under
//!   `/pkg/<build>/pkg/…`, where `<build>` is a hash of every file in it, so a browser
//!   may keep each for a year (`immutable`) and a new build changes every address.
//!   The split loader fetches its modules relative to its own address, so they
//!   take the build's path too. Another build's path is not found (no file is ever
//!   served under a name it does not match), so while instances of two builds
//!   serve side by side, a browser gets a 404 (never cached) rather than a stale file.
//! - **Compressed once, at build time** (`pathfinder-admin compress-assets`, which
//!   `scripts/build-release` runs): brotli and gzip beside each file; the server
//!   sends the one the browser accepts (`Accept-Encoding`), or the file as it is.

use axum::http::{header, HeaderValue, Response};
use pathfinder::{AppError, AppResult};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// The files worth compressing.
const TEXTUAL: [&str; 5] = ["wasm", "js", "css", "json", "svg"];

/// What names this build's bundle: the first 16 hex digits of a SHA-256 over every
/// file below `pkg` (its compressed copies too: they are what most browsers get),
/// names and contents; `dev` when there is no bundle (a test's site root). A file
/// that cannot be read stops the start: its name would otherwise not cover it.
pub fn build_id(pkg: &Path) -> AppResult<String> {
    let mut files = Vec::new();
    let mut folders = vec![pkg.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries {
            let path = entry.map_err(|e| AppError::invalid(format!("{}: {e}", folder.display())))?.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        return Ok("dev".into());
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| AppError::invalid(format!("{}: {e}", file.display())))?;
        hash.update(file.strip_prefix(pkg).unwrap_or(&file).as_os_str().as_encoded_bytes());
        hash.update([0]);
        hash.update(&bytes);
        hash.update([0]);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

/// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) beside
/// each file of the bundle worth compressing, when smaller; returns the bytes
/// before and after (brotli) for the build's log.
pub fn compress_bundle(pkg: &Path) -> AppResult<(u64, u64)> {
    let io = |e: std::io::Error| AppError::invalid(format!("{}: {e}", pkg.display()));
    let (mut before, mut after) = (0u64, 0u64);
    for entry in std::fs::read_dir(pkg).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let textual = path.extension().and_then(|e| e.to_str()).is_some_and(|e| TEXTUAL.contains(&e));
        if !path.is_file() || !textual {
            continue;
        }
        let raw = std::fs::read(&path).map_err(io)?;
        let (br, gz) = (brotli_of(&raw)?, gzip_of(&raw)?);
        before += raw.len() as u64;
        after += br.len().min(raw.len()) as u64;
        for (ext, bytes) in [("br", br), ("gz", gz)] {
            let copy = path.with_file_name(format!("{}.{ext}", path.file_name().unwrap_or_default().to_string_lossy()));
            if bytes.len() < raw.len() {
                std::fs::write(&copy, bytes).map_err(io)?;
                // Readable by whoever may read the file (the server may run as
                // another user than the build, and our umask is 077).
                let mode = std::fs::metadata(&path).map_err(io)?.permissions();
                std::fs::set_permissions(&copy, mode).map_err(io)?;
            } else if copy.exists() {
                std::fs::remove_file(&copy).map_err(io)?;
            }
        }
    }
    Ok((before, after))
}

fn brotli_of(raw: &[u8]) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        w.write_all(raw).map_err(AppError::internal)?;
    }
    Ok(out)
}

fn gzip_of(raw: &[u8]) -> AppResult<Vec<u8>> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(raw).map_err(AppError::internal)?;
    w.finish().map_err(AppError::internal)
}

/// A year, and never revalidated: the address changes with the content. The body
/// depends on `Accept-Encoding`, which a shared cache must key on too.
pub fn cache_for_a_year<B>(mut resp: Response<B>) -> Response<B> {
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if resp.status().is_success() {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_build_is_named_by_every_file_and_compressed_copies_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(build_id(dir.path()).unwrap(), "dev");
        let wasm: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        std::fs::write(dir.path().join("app.wasm"), &wasm).unwrap();
        std::fs::write(dir.path().join("chunk_1.wasm"), b"one").unwrap();
        let first = build_id(dir.path()).unwrap();
        let (before, after) = compress_bundle(dir.path()).unwrap();
        assert!(after < before, "{after} < {before}");
        let compressed = build_id(dir.path()).unwrap();
        assert_ne!(compressed, first, "the copies served are named too");
        let mut back = Vec::new();
        brotli::Decompressor::new(&std::fs::read(dir.path().join("app.wasm.br")).unwrap()[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, wasm);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&std::fs::read(dir.path().join("app.wasm.gz")).unwrap()[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, wasm);
        assert!(!dir.path().join("chunk_1.wasm.br").exists(), "no copy larger than its file");
        // A change to any file, a lazy page's module too, names another build.
        std::fs::write(dir.path().join("chunk_1.wasm"), b"two").unwrap();
        assert_ne!(build_id(dir.path()).unwrap(), compressed);
        std::fs::create_dir(dir.path().join("snippets")).unwrap();
        std::fs::write(dir.path().join("snippets").join("a.js"), b"x").unwrap();
        let with_snippet = build_id(dir.path()).unwrap();
        std::fs::write(dir.path().join("snippets").join("a.js"), b"y").unwrap();
        assert_ne!(build_id(dir.path()).unwrap(), with_snippet, "files in folders too");
    }
}
