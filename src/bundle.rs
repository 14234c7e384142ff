//! Deterministic zip bundles for S3 source actions: the bytes depend only on the files given.
//!
//! `CodePipeline` reads artifacts with `java.util.zip`, whose `ZipInputStream` cannot read an
//! entry that is STORED and sizes itself in a trailing data descriptor. So every entry here is
//! DEFLATE-compressed and written to a seekable buffer, which lets the writer put the sizes and
//! CRC-32 in the local header and leave the data-descriptor flag (bit 3) clear. Timestamps,
//! permissions, the host system and the entry order are fixed, so the same files give the same
//! zip on every run and every machine.

use std::io::{Cursor, Write as _};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::model::deploy::is_bare_name;
use crate::output::OutFile;

/// The DEFLATE level: fixed, so that the compressed bytes never vary.
const LEVEL: i64 = 9;

/// Why files cannot make a bundle: each would be a bug in what imagedef renders, said loudly
/// instead of a zip that silently lacks a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A bundle holds its files at its root, where the deploy actions read them.
    #[error(
        "{0:?} is not a bare file name, and a bundle holds its files at its root (where the ECS and CodeDeployToECS deploy actions read them), so it cannot go into the zip; nothing was written"
    )]
    NotAtRoot(String),
    #[error("two files are named {0:?}, and a zip entry name must be unique; nothing was written")]
    Twice(String),
}

/// A zip holding `files` at its root, each under its `path`, sorted by name.
///
/// Entries are DEFLATE with sizes and CRC-32 in the local header, dated 1980-01-01 00:00, mode
/// 0644, made by Unix.
///
/// # Errors
/// When a path is not a bare file name (empty, `.`, `..`, or holding `/` or `\`) or two files
/// share a name: no file is left out or replaced without a word.
pub fn zip(files: &[OutFile]) -> Result<Vec<u8>, EntryError> {
    let mut sorted: Vec<&OutFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    if let Some(nested) = sorted.iter().find(|f| !is_bare_name(&f.path)) {
        return Err(EntryError::NotAtRoot(nested.path.clone()));
    }
    if let Some(pair) = sorted.windows(2).find(|p| p[0].path == p[1].path) {
        return Err(EntryError::Twice(pair[0].path.clone()));
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(LEVEL))
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644)
        .system(System::Unix)
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for file in sorted {
        writer
            .start_file(file.path.as_str(), options)
            .and_then(|()| writer.write_all(&file.bytes).map_err(Into::into))
            .expect("writing a zip to memory cannot fail");
    }
    Ok(writer
        .finish()
        .expect("writing a zip to memory cannot fail")
        .into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every local file header in `bytes`: (offset, flags, method, crc, compressed, size, name).
    fn local_headers(bytes: &[u8]) -> Vec<(u16, u16, u32, u32, u32, String)> {
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let mut out = Vec::new();
        let mut at = 0;
        while u32_at(at) == 0x0403_4b50 {
            let (compressed, name_len, extra_len) = (
                u32_at(at + 18),
                usize::from(u16_at(at + 26)),
                usize::from(u16_at(at + 28)),
            );
            let name = String::from_utf8(bytes[at + 30..at + 30 + name_len].to_vec()).unwrap();
            out.push((
                u16_at(at + 6),
                u16_at(at + 8),
                u32_at(at + 14),
                compressed,
                u32_at(at + 22),
                name,
            ));
            at += 30 + name_len + extra_len + compressed as usize;
        }
        out
    }

    fn sample() -> Vec<OutFile> {
        vec![
            OutFile::new("imagedefinitions.json", b"[{\"name\":\"web\"}]\n".to_vec()),
            OutFile::new("imageDetail.json", b"{\"ImageURI\":\"x\"}\n".to_vec()),
        ]
    }

    #[test]
    fn local_headers_carry_sizes_and_crc_without_a_data_descriptor() {
        let files = sample();
        let bytes = zip(&files).unwrap();
        let headers = local_headers(&bytes);
        let names: Vec<&str> = headers.iter().map(|h| h.5.as_str()).collect();
        assert_eq!(names, ["imageDetail.json", "imagedefinitions.json"]);
        for (flags, method, crc, compressed, size, name) in &headers {
            assert_eq!(flags & 0x0008, 0, "{name}: data-descriptor bit set");
            assert_eq!(*method, 8, "{name}: not DEFLATE");
            assert_ne!(*compressed, 0, "{name}: no compressed size");
            let file = files.iter().find(|f| &f.path == name).unwrap();
            assert_eq!(*size as usize, file.bytes.len(), "{name}");
            assert_eq!(*crc, crc32fast::hash(&file.bytes), "{name}");
        }
    }

    #[test]
    fn same_files_same_bytes_whatever_the_order() {
        let mut files = sample();
        let first = zip(&files).unwrap();
        files.reverse();
        assert_eq!(zip(&files).unwrap(), first);
    }

    /// The same files must give the same zip on every machine and with every build: a change of
    /// the zip or DEFLATE code that alters the bytes shows here (and would change every digest
    /// users published).
    #[test]
    fn known_files_give_known_bytes() {
        let bytes = zip(&sample()).unwrap();
        assert_eq!(
            crate::model::Digest::of(&bytes).to_string(),
            "sha256:ad8e794642c7c10cbb9f6977ff0b20d307ee6b0149091fb8fbc21fa9fd130805",
            "zip bytes changed; if intended, note it in the CHANGELOG"
        );
    }

    #[test]
    fn entries_are_dated_1980_and_mode_0644() {
        let bytes = zip(&sample()).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).unwrap();
            assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
            assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o644));
        }
    }

    #[test]
    fn files_are_entries_at_the_root_under_their_own_names() {
        let files = [
            OutFile::new("imagedefinitions.json", b"[1]".to_vec()),
            OutFile::new("imageDetail.json", b"{}".to_vec()),
        ];
        let bytes = zip(&files).unwrap();
        let names: Vec<String> = local_headers(&bytes).into_iter().map(|h| h.5).collect();
        assert_eq!(names, ["imageDetail.json", "imagedefinitions.json"]);
    }

    /// A file rendered into a subfolder is refused by name, never left out of the zip.
    #[test]
    fn a_file_in_a_folder_is_refused_not_dropped() {
        let files = [
            OutFile::new("imagedefinitions.json", b"[1]".to_vec()),
            OutFile::new("config/extra.json", b"{}".to_vec()),
        ];
        let e = zip(&files).unwrap_err();
        assert_eq!(e, EntryError::NotAtRoot("config/extra.json".to_owned()));
        assert_eq!(
            e.to_string(),
            "\"config/extra.json\" is not a bare file name, and a bundle holds its files at its root (where the ECS and CodeDeployToECS deploy actions read them), so it cannot go into the zip; nothing was written"
        );
        for bad in ["", ".", "..", "a\\b", "/x"] {
            assert_eq!(
                zip(&[OutFile::new(bad, Vec::new())]),
                Err(EntryError::NotAtRoot(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn two_files_of_one_name_are_refused() {
        let one = OutFile::new("imagedefinitions.json", b"[1]".to_vec());
        assert_eq!(
            zip(&[one.clone(), one]),
            Err(EntryError::Twice("imagedefinitions.json".to_owned()))
        );
    }
}
