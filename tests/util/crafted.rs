//! Hostile zips, written byte by byte: each one reads one way in `java.util.zip.ZipInputStream`
//! (`CodePipeline`) and another way through the central directory, or not at all.
//!
//! [`Zip`] writes local headers, data, the central directory and its end record from a list of
//! [`Entry`]s whose local and central headers are kept apart, so that a case changes one field of
//! one header. [`cases`] lists the cases with the words `verify --bundle` must say about each.

use std::io::Write as _;

use super::{DIGEST_WEB, HOST};

/// One header's fields; `local` and `central` start equal.
#[derive(Clone, Debug)]
pub struct Header {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed: u32,
    pub size: u32,
    pub extra: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub local: Header,
    pub central: Header,
    /// What follows the local header: the data as stored, then any data descriptor.
    pub body: Vec<u8>,
    /// Bytes written after the body, before the next entry.
    pub after: Vec<u8>,
    /// Whether the central directory lists it.
    pub listed: bool,
    /// Whether its local header and body are written (else only the central directory has it).
    pub in_stream: bool,
    /// Added to the offset the central directory records for it.
    pub offset_delta: i64,
}

pub const DEFS: &str = "imagedefinitions.json";

/// A valid imagedefinitions.json for the web image.
pub fn defs() -> Vec<u8> {
    format!(r#"[{{"name":"app","imageUri":"{HOST}/shop/web@{DIGEST_WEB}"}}]"#).into_bytes()
}

/// An attacker's imagedefinitions.json: another image.
pub fn evil_defs() -> Vec<u8> {
    format!(
        r#"[{{"name":"app","imageUri":"{HOST}/shop/web@sha256:{}"}}]"#,
        "6".repeat(64)
    )
    .into_bytes()
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn crc(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap()
}

impl Entry {
    fn new(name: &[u8], method: u16, data: &[u8], stored: Vec<u8>) -> Entry {
        let flags = if name.is_ascii() { 0 } else { 1 << 11 };
        let header = Header {
            name: name.to_vec(),
            flags,
            method,
            crc: crc(data),
            compressed: len32(stored.len()),
            size: len32(data.len()),
            extra: Vec::new(),
        };
        Entry {
            local: header.clone(),
            central: header,
            body: stored,
            after: Vec::new(),
            listed: true,
            in_stream: true,
            offset_delta: 0,
        }
    }

    pub fn deflated(name: &str, data: &[u8]) -> Entry {
        Entry::new(name.as_bytes(), 8, data, deflate(data))
    }

    pub fn deflated_raw(name: &[u8], data: &[u8]) -> Entry {
        Entry::new(name, 8, data, deflate(data))
    }

    pub fn stored(name: &str, data: &[u8]) -> Entry {
        Entry::new(name.as_bytes(), 0, data, data.to_vec())
    }

    /// Changes both headers.
    pub fn both(mut self, change: impl Fn(&mut Header)) -> Entry {
        change(&mut self.local);
        change(&mut self.central);
        self
    }

    pub fn local(mut self, change: impl FnOnce(&mut Header)) -> Entry {
        change(&mut self.local);
        self
    }

    pub fn central(mut self, change: impl FnOnce(&mut Header)) -> Entry {
        change(&mut self.central);
        self
    }

    /// Moves sizes and CRC-32 into a data descriptor after the data (flag bit 3, local fields 0).
    pub fn with_descriptor(mut self, signature: bool) -> Entry {
        let c = self.central.clone();
        if signature {
            self.body.extend(0x0807_4b50u32.to_le_bytes());
        }
        for v in [c.crc, c.compressed, c.size] {
            self.body.extend(v.to_le_bytes());
        }
        self.both(|h| h.flags |= 1 << 3).local(|h| {
            h.crc = 0;
            h.compressed = 0;
            h.size = 0;
        })
    }
}

/// Builds a zip: `prefix`, the entries, `before_central`, the central directory in `order`
/// (default: entry order) and the end record.
#[derive(Clone, Debug, Default)]
pub struct Zip {
    pub prefix: Vec<u8>,
    pub entries: Vec<Entry>,
    pub before_central: Vec<u8>,
    pub order: Option<Vec<usize>>,
    /// Whether the central directory's offsets count the prefix (as a zip built with it does).
    pub offsets_count_prefix: bool,
}

impl Zip {
    pub fn of(entries: Vec<Entry>) -> Zip {
        Zip {
            entries,
            offsets_count_prefix: true,
            ..Zip::default()
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let shift = if self.offsets_count_prefix {
            0
        } else {
            self.prefix.len()
        };
        let mut offsets = Vec::new();
        for e in &self.entries {
            offsets.push(out.len() - shift);
            if !e.in_stream {
                continue;
            }
            let h = &e.local;
            out.extend(0x0403_4b50u32.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(h.flags.to_le_bytes());
            out.extend(h.method.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(0x21u16.to_le_bytes());
            out.extend(h.crc.to_le_bytes());
            out.extend(h.compressed.to_le_bytes());
            out.extend(h.size.to_le_bytes());
            out.extend(u16::try_from(h.name.len()).unwrap().to_le_bytes());
            out.extend(u16::try_from(h.extra.len()).unwrap().to_le_bytes());
            out.extend(&h.name);
            out.extend(&h.extra);
            out.extend(&e.body);
            out.extend(&e.after);
        }
        out.extend(&self.before_central);
        let start = out.len() - shift;
        let order = self
            .order
            .clone()
            .unwrap_or_else(|| (0..self.entries.len()).collect());
        let mut count = 0u16;
        for i in order {
            let e = &self.entries[i];
            if !e.listed {
                continue;
            }
            count += 1;
            let h = &e.central;
            let offset = i64::try_from(offsets[i]).unwrap() + e.offset_delta;
            out.extend(0x0201_4b50u32.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(h.flags.to_le_bytes());
            out.extend(h.method.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(0x21u16.to_le_bytes());
            out.extend(h.crc.to_le_bytes());
            out.extend(h.compressed.to_le_bytes());
            out.extend(h.size.to_le_bytes());
            out.extend(u16::try_from(h.name.len()).unwrap().to_le_bytes());
            out.extend(u16::try_from(h.extra.len()).unwrap().to_le_bytes());
            // Comment length, disk number, internal and external attributes.
            out.extend([0u8; 10]);
            out.extend(u32::try_from(offset).unwrap().to_le_bytes());
            out.extend(&h.name);
            out.extend(&h.extra);
        }
        let size = out.len() - shift - start;
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend(count.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(len32(size).to_le_bytes());
        out.extend(len32(start).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }
}

/// An Info-ZIP Unicode Path extra field (0x7075) that names the entry `name`.
fn unicode_path(for_name: &[u8], name: &str) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend(crc(for_name).to_le_bytes());
    body.extend(name.as_bytes());
    let mut field = 0x7075u16.to_le_bytes().to_vec();
    field.extend(u16::try_from(body.len()).unwrap().to_le_bytes());
    field.extend(body);
    field
}

fn zip64_extra(size: u64, compressed: u64) -> Vec<u8> {
    let mut field = 0x0001u16.to_le_bytes().to_vec();
    field.extend(16u16.to_le_bytes());
    field.extend(size.to_le_bytes());
    field.extend(compressed.to_le_bytes());
    field
}

/// One hostile zip and a fragment of what `verify --bundle` must say about it.
pub struct Case {
    pub label: &'static str,
    pub bytes: Vec<u8>,
    pub says: String,
}

fn case(label: &'static str, zip: &Zip, says: impl Into<String>) -> Case {
    Case {
        label,
        bytes: zip.bytes(),
        says: says.into(),
    }
}

/// The zip every case starts from; it must pass.
pub fn baseline() -> Zip {
    Zip::of(vec![Entry::deflated(DEFS, &defs())])
}

/// Every hostile case.
#[allow(clippy::too_many_lines)] // one case per few lines, in one list to read them together
pub fn cases() -> Vec<Case> {
    let d = defs();
    let real = || Entry::deflated(DEFS, &d);
    let one = |e: Entry| Zip::of(vec![e]);
    let detail = format!(r#"{{"ImageURI":"{HOST}/shop/web@{DIGEST_WEB}"}}"#).into_bytes();
    let two = || {
        vec![
            Entry::deflated(DEFS, &d),
            Entry::deflated("imageDetail.json", &detail),
        ]
    };
    let deflated_len = deflate(&d).len();
    let mut cases = vec![
        case(
            "local name differs from the central name",
            &one(real().local(|h| h.name = b"imagedefinitionX.json".to_vec())),
            r#"the local header has name "imagedefinitionX.json", the central directory "imagedefinitions.json""#,
        ),
        case(
            "local name leaves the root",
            &one(real().local(|h| h.name = b"../../etc/cron.json".to_vec())),
            r#"the local header has name "../../etc/cron.json", the central directory "imagedefinitions.json""#,
        ),
        case(
            "hidden local entry before the real one",
            &Zip::of(vec![
                Entry {
                    listed: false,
                    ..Entry::deflated(DEFS, &evil_defs())
                },
                real(),
            ]),
            "entry \"imagedefinitions.json\" at offset 0: this local entry is not in the central directory",
        ),
        case(
            "hidden local entry after the last listed one",
            &Zip::of(vec![
                real(),
                Entry {
                    listed: false,
                    ..Entry::deflated("imageDetail.json", &detail)
                },
            ]),
            "entry \"imageDetail.json\" at offset",
        ),
        case(
            "two entries with one name",
            &Zip::of(vec![Entry::deflated(DEFS, &evil_defs()), real()]),
            "the central directory lists a name more than once",
        ),
        case(
            "names equal ignoring case",
            &Zip::of(vec![real(), Entry::deflated("ImageDefinitions.json", &d)]),
            r#"equals "imagedefinitions.json" (the entry at offset 0) ignoring case"#,
        ),
        case(
            "non-ASCII names equal ignoring case",
            &Zip::of(vec![
                Entry::deflated("é.json", b"{}"),
                Entry::deflated("É.json", b"{}"),
                real(),
            ]),
            r#"equals "é.json" (the entry at offset 0) ignoring case"#,
        ),
        case(
            "junk before the first local header, offsets counting it",
            &Zip {
                prefix: b"#!/bin/sh\nexit 0\n".to_vec(),
                ..baseline()
            },
            "17 bytes come before the first local header",
        ),
        case(
            "junk before the first local header, offsets not counting it",
            &Zip {
                prefix: b"MZ junk".to_vec(),
                offsets_count_prefix: false,
                ..baseline()
            },
            "7 bytes come before the first local header",
        ),
        case(
            "local STORED, central DEFLATE",
            &one(real().local(|h| h.method = 0)),
            "the local header has method STORED (0), the central directory DEFLATE (8)",
        ),
        case(
            "local size differs",
            &one(real().local(|h| h.size += 1)),
            format!(
                "the local header has size {}, the central directory {}",
                d.len() + 1,
                d.len()
            ),
        ),
        case(
            "local compressed size differs",
            &one(real().local(|h| h.compressed -= 1)),
            format!(
                "the local header has compressed size {}, the central directory {deflated_len}",
                deflated_len - 1
            ),
        ),
        case(
            "local CRC-32 differs",
            &one(real().local(|h| h.crc ^= 1)),
            format!(
                "the local header has CRC-32 {:#010x}, the central directory {:#010x}",
                crc(&d) ^ 1,
                crc(&d)
            ),
        ),
        case(
            "both CRC-32s wrong for the data",
            &one(real().both(|h| h.crc ^= 0x100)),
            format!(
                "its data has CRC-32 {:#010x}, but its headers declare {:#010x}",
                crc(&d),
                crc(&d) ^ 0x100
            ),
        ),
        case(
            "data-descriptor flag only in the local header",
            &one(real().local(|h| h.flags |= 1 << 3)),
            "the local header has flags 0x0008, the central directory 0x0000",
        ),
        case(
            "STORED entry with a data descriptor",
            &one(Entry::stored(DEFS, &d).with_descriptor(true)),
            "keeps its sizes and CRC-32 in a data descriptor (flag bit 3), and is STORED",
        ),
        case(
            "DEFLATE entry with a data descriptor",
            &one(real().with_descriptor(true)),
            "keeps its sizes and CRC-32 in a data descriptor (flag bit 3), which streaming readers handle poorly",
        ),
        case(
            "data descriptor without signature that disagrees",
            &one(real().with_descriptor(false).central(|h| h.crc ^= 2)),
            "the data descriptor has CRC-32",
        ),
        case(
            "name not UTF-8",
            &one(Entry::deflated_raw(b"imagedefinitions\xff.json", &d).both(|h| h.flags |= 1 << 11)),
            "its name (bytes 696d616765646566696e6974696f6e73ff2e6a736f6e) is not UTF-8",
        ),
        case(
            "non-ASCII name without the UTF-8 flag",
            &Zip::of(vec![
                Entry::deflated("café.json", b"{}").both(|h| h.flags = 0),
                real(),
            ]),
            "flag bit 11 (UTF-8) is clear",
        ),
        case(
            "UTF-8 flag only in the central directory",
            &one(real().central(|h| h.flags |= 1 << 11)),
            "the local header has flags 0x0000, the central directory 0x0800",
        ),
        case(
            "Unicode Path extra field renames the entry in the central directory",
            &one(Entry::deflated("readme.json", &d)
                .central(|h| h.extra = unicode_path(b"readme.json", DEFS))),
            "its central directory header has an Info-ZIP Unicode Path extra field (0x7075)",
        ),
        case(
            "Unicode Path extra field renames the entry in the local header",
            &one(real().local(|h| h.extra = unicode_path(DEFS.as_bytes(), "other.json"))),
            "its local header has an Info-ZIP Unicode Path extra field (0x7075)",
        ),
        case(
            "DEFLATE stream ends before the compressed size",
            &one({
                let mut e = real().both(|h| h.compressed += 5);
                e.body.extend(b"HIDE!");
                e
            }),
            format!(
                "its DEFLATE stream ends after {deflated_len} bytes, before the {} compressed bytes its headers declare",
                deflated_len + 5
            ),
        ),
        case(
            "DEFLATE stream runs past the compressed size",
            &one(real().both(|h| h.compressed -= 2)),
            format!(
                "its DEFLATE stream runs {deflated_len} bytes, past the {} compressed bytes",
                deflated_len - 2
            ),
        ),
        case(
            "inflated size differs from both headers",
            &one(real().both(|h| h.size += 1)),
            format!(
                "its data has size {}, but its headers declare {}",
                d.len(),
                d.len() + 1
            ),
        ),
        case(
            "two central entries for one local header (overlap)",
            &Zip::of(vec![real(), {
                let mut e = Entry::deflated("imageDetail.json", &detail);
                e.in_stream = false;
                e.offset_delta = -i64::try_from(30 + DEFS.len() + deflated_len).unwrap();
                e
            }]),
            "entry \"imageDetail.json\" at offset 0: the central directory lists it, but java.util.zip (CodePipeline) stops reading local headers at offset",
        ),
        case(
            "a gap between two entries",
            &Zip::of({
                let mut entries = two();
                entries[0].after = b"GAPGAPGAP".to_vec();
                entries
            }),
            "the central directory lists it, but java.util.zip (CodePipeline) stops reading local headers at offset",
        ),
        case(
            "extra bytes between the last entry and the central directory",
            &Zip {
                before_central: b"TRAILING".to_vec(),
                ..baseline()
            },
            "8 bytes at offset",
        ),
        case(
            "central directory in another order",
            &Zip {
                order: Some(vec![1, 0]),
                ..Zip::of(two())
            },
            "it is entry #0 of the stream of local headers but entry #1 of the central directory",
        ),
        case(
            "central offset off by one",
            &one({
                let mut e = real();
                e.offset_delta = 1;
                e
            }),
            "this local entry is not in the central directory",
        ),
        case(
            "encrypted flag",
            &one(real().both(|h| h.flags |= 1)),
            "is encrypted (flag bit 0)",
        ),
        case(
            "an unknown flag bit",
            &one(real().both(|h| h.flags |= 1 << 13)),
            "sets general-purpose flags 0x2000",
        ),
        case(
            "compression method 12 (bzip2)",
            &one(real().both(|h| h.method = 12)),
            "uses compression method 12",
        ),
        case(
            "Zip64 extra field",
            &one(real().both(|h| h.extra = zip64_extra(u64::from(h.size), u64::from(h.compressed)))),
            "uses Zip64",
        ),
        case(
            "Zip64 sizes in the local header",
            &one(real().local(|h| h.size = u32::MAX)),
            "its local header uses Zip64",
        ),
        case(
            "an empty name",
            &Zip::of(vec![Entry::deflated("", &d)]),
            "entry \"\" is not a file at the zip root",
        ),
        case(
            "a folder entry beside the file",
            &Zip::of(vec![Entry::stored("imagedefinitions.json/", b""), real()]),
            "entry \"imagedefinitions.json/\" is not a file at the zip root",
        ),
        case(
            "a zip bomb",
            &one(Entry::deflated(DEFS, &vec![b' '; 4 * 1024 * 1024])),
            "inflates to 4194304 bytes",
        ),
    ];
    // The central directory claims more entries than it holds.
    let mut bytes = baseline().bytes();
    let eocd = bytes.len() - 22;
    bytes[eocd + 8] = 2;
    bytes[eocd + 10] = 2;
    cases.push(Case {
        label: "end record counts more entries than the central directory holds",
        bytes,
        says: "is not a readable zip".to_owned(),
    });
    // The local header's extra field length runs past the end of the file.
    let mut bytes = baseline().bytes();
    bytes[28] = 0xff;
    bytes[29] = 0xff;
    cases.push(Case {
        label: "local extra field runs past the end of the file",
        bytes,
        says: "its local header's extra field is cut short by the end of the file".to_owned(),
    });
    // The data stream corrupted: the first compressed byte flipped.
    let mut e = real();
    e.body[0] ^= 0x40;
    cases.push(case(
        "a corrupted DEFLATE stream",
        &one(e),
        "entry \"imagedefinitions.json\" at offset 0: ",
    ));
    cases
}
