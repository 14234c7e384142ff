//! A zip as `java.util.zip.ZipInputStream` (`CodePipeline`'s reader) sees it, held entry by entry
//! against the central directory (what the zip crate, Python and `unzip` read).
//!
//! The stream view walks local headers from byte 0, as Java does: a local header, its name and
//! extra field, then the data. STORED data is the local header's size in bytes; DEFLATE data is
//! inflated until the stream ends, wherever that is; with flag bit 3 a data descriptor follows
//! (16 bytes with its signature, else 12). The walk stops at the first 4 bytes that are not a
//! local header signature. Each entry is then compared with the central directory's record of the
//! same rank: raw name, flags, method, CRC-32, both sizes, local header offset; and its inflated
//! bytes with the CRC-32 and sizes both views declare. The zip passes only when the two views are
//! the same list of entries with the same bytes, with nothing before, between or hidden, and the
//! zip crate's own header-consistency check agrees.
//!
//! Pure: bytes in, the entries or the first disagreement out.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::Cursor;

use flate2::{Decompress, FlushDecompress, Status};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const EXTRA_ZIP64: u16 = 0x0001;
const EXTRA_UNICODE_PATH: u16 = 0x7075;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;
/// Bits 1 and 2 only tune the DEFLATE compressor; everything else outside these is refused.
const FLAGS_KNOWN: u16 = 0b110 | FLAG_DESCRIPTOR | FLAG_UTF8;

/// How an entry's bytes are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
}

/// One entry both views agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub method: Method,
    /// Where its local header starts.
    pub offset: u64,
    /// Its sizes and CRC-32 follow the data in a data descriptor (flag bit 3).
    pub descriptor: bool,
    /// The bytes a reader gets.
    pub data: Vec<u8>,
}

/// The first disagreement found, with the entry it is about (when there is one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The entry's name, as its header spells it (non-UTF-8 bytes replaced).
    pub entry: Option<String>,
    /// Where the entry's local header is (or would be).
    pub offset: u64,
    pub problem: Problem,
}

impl std::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(name) => write!(
                f,
                "entry {name:?} at offset {}: {}",
                self.offset, self.problem
            ),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// What disagrees, with both values where there are two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The zip crate cannot read the central directory.
    Central(String),
    /// The central directory lists one name more than once (the zip crate keeps one of them).
    CentralDuplicates,
    /// Bytes before the first local header: Java reads no entry at all.
    Prepended {
        len: u64,
    },
    /// A local header, name, extra field, data or descriptor cut short by the end of the file.
    Truncated {
        what: &'static str,
    },
    /// A local entry the central directory does not list.
    Hidden {
        listed: usize,
    },
    /// A central directory entry the stream of local headers never reaches.
    Unreached {
        stream_end: u64,
    },
    /// The entry is listed, but in another place than it comes in the stream.
    Order {
        stream: usize,
        central: usize,
    },
    /// Bytes between the last entry and the central directory.
    Gap {
        at: u64,
        len: u64,
    },
    /// The last entry runs into the central directory.
    Overlap {
        end: u64,
        central: u64,
    },
    /// The local header and the central directory disagree on a field.
    Disagree {
        field: &'static str,
        local: String,
        central: String,
    },
    /// The data descriptor and the central directory disagree on a field.
    Descriptor {
        field: &'static str,
        descriptor: String,
        central: String,
    },
    NameNotUtf8 {
        hex: String,
    },
    NameNotFlaggedUtf8,
    UnicodePath {
        header: &'static str,
    },
    Zip64 {
        header: &'static str,
    },
    Duplicate {
        first: u64,
    },
    CaseCollision {
        other: String,
        at: u64,
    },
    Encrypted,
    Flags {
        flags: u16,
    },
    Method {
        method: u16,
    },
    StoredDescriptor,
    TooLarge {
        declared: u64,
        total: u64,
        limit: u64,
    },
    Inflate {
        error: String,
    },
    /// The DEFLATE stream does not end before the end of the file.
    Unterminated,
    /// The DEFLATE stream ends before the compressed size the headers declare.
    EndsEarly {
        consumed: u64,
        declared: u64,
    },
    /// The DEFLATE stream runs past the compressed size the headers declare.
    RunsLong {
        consumed: u64,
        declared: u64,
    },
    /// The bytes read disagree with the CRC-32 or size both headers declare.
    Content {
        field: &'static str,
        declared: String,
        actual: String,
    },
}

impl fmt::Display for Problem {
    // One arm per problem, each a sentence: splitting them would only scatter the messages.
    #[allow(clippy::too_many_lines)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Central(e) => write!(f, "the central directory cannot be read ({e})"),
            Problem::CentralDuplicates => f.write_str(
                "the central directory lists a name more than once; readers disagree on which copy counts",
            ),
            Problem::Prepended { len } => write!(
                f,
                "{len} bytes come before the first local header; java.util.zip (CodePipeline) reads no entry at all from such a zip"
            ),
            Problem::Truncated { what } => {
                write!(f, "its {what} is cut short by the end of the file")
            }
            Problem::Hidden { listed } => write!(
                f,
                "this local entry is not in the central directory (which lists {listed} entries before it): java.util.zip (CodePipeline) reads it, the zip crate, Python and unzip do not"
            ),
            Problem::Unreached { stream_end } => write!(
                f,
                "the central directory lists it, but java.util.zip (CodePipeline) stops reading local headers at offset {stream_end} and never sees it"
            ),
            Problem::Order { stream, central } => write!(
                f,
                "it is entry #{stream} of the stream of local headers but entry #{central} of the central directory; the two views list the entries in different orders"
            ),
            Problem::Gap { at, len } => write!(
                f,
                "{len} bytes at offset {at} lie between the last entry and the central directory; readers that walk local headers and readers that use the central directory see different zips"
            ),
            Problem::Overlap { end, central } => write!(
                f,
                "the last entry ends at offset {end}, inside the central directory (which starts at offset {central}); entries overlap"
            ),
            Problem::Disagree {
                field,
                local,
                central,
            } => write!(
                f,
                "the local header has {field} {local}, the central directory {central}; java.util.zip (CodePipeline) reads the local header"
            ),
            Problem::Descriptor {
                field,
                descriptor,
                central,
            } => write!(
                f,
                "the data descriptor has {field} {descriptor}, the central directory {central}"
            ),
            Problem::NameNotUtf8 { hex } => write!(
                f,
                "its name (bytes {hex}) is not UTF-8; java.util.zip (CodePipeline) throws on it"
            ),
            Problem::NameNotFlaggedUtf8 => f.write_str(
                "its name is not ASCII and flag bit 11 (UTF-8) is clear: java.util.zip reads it as UTF-8, the zip crate and unzip as CP437",
            ),
            Problem::UnicodePath { header } => write!(
                f,
                "its {header} header has an Info-ZIP Unicode Path extra field (0x7075), which renames the entry for the readers that honour it and not for the others"
            ),
            Problem::Zip64 { header } => write!(
                f,
                "its {header} header uses Zip64 (sizes 0xFFFFFFFF or extra field 0x0001), which no bundle of a few KB needs and readers resolve differently"
            ),
            Problem::Duplicate { first } => write!(
                f,
                "the entry at offset {first} has the same name; readers disagree on which copy counts"
            ),
            Problem::CaseCollision { other, at } => write!(
                f,
                "its name equals {other:?} (the entry at offset {at}) ignoring case; on a case-insensitive file system one replaces the other"
            ),
            Problem::Encrypted => f.write_str(
                "is encrypted (flag bit 0); java.util.zip (CodePipeline) cannot read it",
            ),
            Problem::Flags { flags } => write!(
                f,
                "sets general-purpose flags {flags:#06x}, beyond the DEFLATE options (bits 1, 2), the data descriptor (bit 3) and UTF-8 names (bit 11); readers treat them differently"
            ),
            Problem::Method { method } => write!(
                f,
                "uses compression method {method}; java.util.zip reads only STORED (0) and DEFLATE (8)"
            ),
            Problem::StoredDescriptor => f.write_str(
                "keeps its sizes and CRC-32 in a data descriptor (flag bit 3), and is STORED: java.util.zip, and so CodeDeployToECS, cannot read it",
            ),
            Problem::TooLarge {
                declared,
                total,
                limit,
            } => write!(
                f,
                "inflates to {declared} bytes ({total} in all so far), more than the {} MB limit; refused as a zip bomb",
                limit / (1024 * 1024)
            ),
            Problem::Inflate { error } => write!(f, "does not decompress cleanly ({error})"),
            Problem::Unterminated => {
                f.write_str("its DEFLATE stream does not end before the end of the file")
            }
            Problem::EndsEarly { consumed, declared } => write!(
                f,
                "its DEFLATE stream ends after {consumed} bytes, before the {declared} compressed bytes its headers declare; java.util.zip (CodePipeline) would read the rest as the next header"
            ),
            Problem::RunsLong { consumed, declared } => write!(
                f,
                "its DEFLATE stream runs {consumed} bytes, past the {declared} compressed bytes its headers declare"
            ),
            Problem::Content {
                field,
                declared,
                actual,
            } => write!(
                f,
                "its data has {field} {actual}, but its headers declare {declared}"
            ),
        }
    }
}

/// Reads `bytes` both ways; `limit` bounds each entry's and all entries' inflated size.
pub fn read(bytes: &[u8], limit: u64) -> Result<Vec<Entry>, Refusal> {
    let zip_error = |e: String| Refusal {
        entry: None,
        offset: 0,
        problem: Problem::Central(e),
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(e.to_string()))?;
    let central = Central::read(&archive, bytes).map_err(|e| zip_error(e.to_string()))?;
    let whole = |problem| Refusal {
        entry: None,
        offset: 0,
        problem,
    };
    if archive.has_duplicate_names() {
        return Err(whole(Problem::CentralDuplicates));
    }
    let first = central.entries.iter().map(|c| c.offset).min();
    if archive.offset() > 0 || (first.is_some() && u32_at(bytes, 0) != Some(LOCAL)) {
        return Err(whole(Problem::Prepended {
            len: archive.offset().max(first.unwrap_or(0)),
        }));
    }
    let mut walk = Walk {
        bytes,
        limit,
        central: &central,
        at: 0,
        total: 0,
        entries: Vec::new(),
        names: HashMap::new(),
    };
    while bytes.len().saturating_sub(walk.at) >= LOCAL_LEN && u32_at(bytes, walk.at) == Some(LOCAL)
    {
        walk.entry()?;
    }
    let end = walk.at as u64;
    if let Some(c) = central.entries.get(walk.entries.len()) {
        return Err(Refusal {
            entry: Some(c.label()),
            offset: c.offset,
            problem: Problem::Unreached { stream_end: end },
        });
    }
    if !central.entries.is_empty() || end > 0 {
        if end < central.start {
            return Err(whole(Problem::Gap {
                at: end,
                len: central.start - end,
            }));
        }
        if end > central.start {
            return Err(whole(Problem::Overlap {
                end,
                central: central.start,
            }));
        }
    }
    archive
        .validate_header_consistency()
        .map_err(|e| zip_error(format!("the zip crate's header-consistency check: {e}")))?;
    Ok(walk.entries)
}

/// One central directory record, raw where the zip crate does not expose the field.
struct CentralEntry {
    name: Vec<u8>,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    extra: Vec<u8>,
}

impl CentralEntry {
    fn label(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Why the central directory cannot be read as it is written.
#[derive(Debug, thiserror::Error)]
enum CentralError {
    /// What the zip crate said.
    #[error("{0}")]
    Zip(String),
    #[error("a central directory record at offset {0}, past what this machine can address")]
    Offset(u64),
    #[error("no central directory record at offset {0}")]
    NoRecord(usize),
    #[error("the central directory record at offset {0} is cut short")]
    CutShort(usize),
}

struct Central {
    entries: Vec<CentralEntry>,
    /// Where the central directory starts.
    start: u64,
}

impl Central {
    fn read(
        archive: &zip::ZipArchive<Cursor<&[u8]>>,
        bytes: &[u8],
    ) -> Result<Central, CentralError> {
        let metadata = archive.metadata();
        let mut entries = Vec::with_capacity(metadata.len());
        for index in 0..metadata.len() {
            let e = metadata
                .entry(index)
                .map_err(|e| CentralError::Zip(e.to_string()))?;
            let at = usize::try_from(e.central_header_start())
                .map_err(|_| CentralError::Offset(e.central_header_start()))?;
            let record = bytes
                .get(at..at.saturating_add(CENTRAL_LEN))
                .filter(|r| u32_at(r, 0) == Some(CENTRAL))
                .ok_or(CentralError::NoRecord(at))?;
            let name_len = usize::from(u16_at(record, 28));
            let extra_len = usize::from(u16_at(record, 30));
            let extra_at = at + CENTRAL_LEN + name_len;
            let extra = bytes
                .get(extra_at..extra_at + extra_len)
                .ok_or(CentralError::CutShort(at))?;
            let name = bytes
                .get(at + CENTRAL_LEN..extra_at)
                .expect("the extra field that follows it was read");
            entries.push(CentralEntry {
                // The name as written: the zip crate's is already renamed by a Unicode Path field.
                name: name.to_vec(),
                flags: u16_at(record, 8),
                method: u16_at(record, 10),
                crc: e.crc32(),
                compressed: e.compressed_size(),
                size: e.size(),
                offset: e.header_start(),
                extra: extra.to_vec(),
            });
        }
        Ok(Central {
            entries,
            start: archive.central_directory_start(),
        })
    }
}

/// A local header as Java reads it.
struct Local<'a> {
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    name: &'a [u8],
    extra: &'a [u8],
    data_start: usize,
}

struct Walk<'a> {
    bytes: &'a [u8],
    limit: u64,
    central: &'a Central,
    /// Where the next local header is.
    at: usize,
    total: u64,
    entries: Vec<Entry>,
    /// Each entry's name in lower case, to its index in `entries`.
    names: HashMap<String, usize>,
}

impl Walk<'_> {
    /// Reads the entry at `self.at` and compares it with its central directory record.
    fn entry(&mut self) -> Result<(), Refusal> {
        let at = self.at;
        let offset = at as u64;
        let fail = |name: &[u8], problem| Refusal {
            entry: Some(String::from_utf8_lossy(name).into_owned()),
            offset,
            problem,
        };
        let local = local_header(self.bytes, at)?;
        let fail_here = |problem| fail(local.name, problem);
        let (name, method) = own_fields(&local).map_err(fail_here)?;
        let descriptor = local.flags & FLAG_DESCRIPTOR != 0;
        // One lookup per entry, not a scan of all before it: a bundle may hold tens of thousands.
        let folded = name.to_lowercase();
        if let Some(&earlier) = self.names.get(&folded) {
            let e = &self.entries[earlier];
            return Err(fail_here(if e.name == name {
                Problem::Duplicate { first: e.offset }
            } else {
                Problem::CaseCollision {
                    other: e.name.clone(),
                    at: e.offset,
                }
            }));
        }
        let listed = self.entries.len();
        let Some(c) = self.central.entries.get(listed) else {
            return Err(fail_here(Problem::Hidden { listed }));
        };
        if c.offset != offset {
            let rank = self.central.entries.iter().position(|c| c.offset == offset);
            return Err(fail_here(match rank {
                Some(rank) => Problem::Order {
                    stream: listed,
                    central: rank,
                },
                None => Problem::Hidden { listed },
            }));
        }
        compare(&local, c).map_err(fail_here)?;
        self.total = self.total.saturating_add(c.size);
        if c.size > self.limit || self.total > self.limit {
            return Err(fail_here(Problem::TooLarge {
                declared: c.size,
                total: self.total,
                limit: self.limit,
            }));
        }
        let (data, consumed) = match method {
            Method::Stored => {
                let end = local.data_start.saturating_add(local.size as usize);
                let data = self
                    .bytes
                    .get(local.data_start..end)
                    .ok_or_else(|| fail_here(Problem::Truncated { what: "data" }))?;
                (data.to_vec(), data.len())
            }
            Method::Deflated => {
                let cap = usize::try_from(c.size).unwrap_or(usize::MAX);
                inflate(&self.bytes[local.data_start..], cap).map_err(fail_here)?
            }
        };
        let mut end = local.data_start + consumed;
        if descriptor {
            end += self.descriptor(end, c).map_err(fail_here)?;
        }
        check_content(&data, consumed as u64, c).map_err(fail_here)?;
        self.names.insert(folded, self.entries.len());
        self.entries.push(Entry {
            name: name.to_owned(),
            method,
            offset,
            descriptor,
            data,
        });
        self.at = end;
        Ok(())
    }

    /// Reads the data descriptor at `at` as Java does (with or without its signature), holds it
    /// against the central directory, and returns its length.
    fn descriptor(&self, at: usize, c: &CentralEntry) -> Result<usize, Problem> {
        let raw = self
            .bytes
            .get(at..at.saturating_add(16))
            .ok_or(Problem::Truncated {
                what: "data descriptor",
            })?;
        let (fields, len) = if u32_at(raw, 0) == Some(DESCRIPTOR) {
            (&raw[4..16], 16)
        } else {
            (&raw[0..12], 12)
        };
        let [crc, compressed, size] =
            [0, 4, 8].map(|i| u32_at(fields, i).expect("12 bytes were read"));
        let pairs = [
            ("CRC-32", hex32(crc), hex32(c.crc)),
            (
                "compressed size",
                compressed.to_string(),
                c.compressed.to_string(),
            ),
            ("size", size.to_string(), c.size.to_string()),
        ];
        for (field, descriptor, central) in pairs {
            if descriptor != central {
                return Err(Problem::Descriptor {
                    field,
                    descriptor,
                    central,
                });
            }
        }
        Ok(len)
    }
}

/// The local header at `at`, whose signature is known to be there.
fn local_header(bytes: &[u8], at: usize) -> Result<Local<'_>, Refusal> {
    let header = &bytes[at..at + LOCAL_LEN];
    let name_len = usize::from(u16_at(header, 26));
    let extra_len = usize::from(u16_at(header, 28));
    let name_at = at + LOCAL_LEN;
    let truncated = |what| Refusal {
        entry: None,
        offset: at as u64,
        problem: Problem::Truncated { what },
    };
    let name = bytes
        .get(name_at..name_at + name_len)
        .ok_or_else(|| truncated("local header's name"))?;
    let extra_at = name_at + name_len;
    let extra = bytes
        .get(extra_at..extra_at + extra_len)
        .ok_or_else(|| Refusal {
            entry: Some(String::from_utf8_lossy(name).into_owned()),
            ..truncated("local header's extra field")
        })?;
    Ok(Local {
        flags: u16_at(header, 6),
        method: u16_at(header, 8),
        crc: u32_at(header, 14).unwrap_or(0),
        compressed: u32_at(header, 18).unwrap_or(0),
        size: u32_at(header, 22).unwrap_or(0),
        name,
        extra,
        data_start: extra_at + extra_len,
    })
}

/// What Java refuses or reads differently in a local header on its own: its name, flags,
/// method and extra field. The name and method when they are usable.
fn own_fields<'a>(local: &Local<'a>) -> Result<(&'a str, Method), Problem> {
    let name = std::str::from_utf8(local.name).map_err(|_| Problem::NameNotUtf8 {
        hex: local.name.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }),
    })?;
    if !name.is_ascii() && local.flags & FLAG_UTF8 == 0 {
        return Err(Problem::NameNotFlaggedUtf8);
    }
    if local.flags & FLAG_ENCRYPTED != 0 {
        return Err(Problem::Encrypted);
    }
    if local.flags & !FLAGS_KNOWN != 0 {
        return Err(Problem::Flags { flags: local.flags });
    }
    let method = match local.method {
        METHOD_STORED => Method::Stored,
        METHOD_DEFLATED => Method::Deflated,
        other => return Err(Problem::Method { method: other }),
    };
    if local.flags & FLAG_DESCRIPTOR != 0 && method == Method::Stored {
        return Err(Problem::StoredDescriptor);
    }
    check_extra(local.extra, "local")?;
    if [local.compressed, local.size].contains(&u32::MAX) {
        return Err(Problem::Zip64 { header: "local" });
    }
    Ok((name, method))
}

/// The local header must say what the central directory says.
fn compare(local: &Local<'_>, c: &CentralEntry) -> Result<(), Problem> {
    let disagree = |field, local: String, central: String| {
        Err(Problem::Disagree {
            field,
            local,
            central,
        })
    };
    check_extra(&c.extra, "central directory")?;
    if local.name != c.name.as_slice() {
        return disagree(
            "name",
            format!("{:?}", String::from_utf8_lossy(local.name)),
            format!("{:?}", c.label()),
        );
    }
    if local.flags != c.flags {
        return disagree(
            "flags",
            format!("{:#06x}", local.flags),
            format!("{:#06x}", c.flags),
        );
    }
    if local.method != c.method {
        return disagree("method", method_name(local.method), method_name(c.method));
    }
    if local.flags & FLAG_DESCRIPTOR != 0 {
        // Java ignores these fields and reads the descriptor; they must still not contradict it.
        let zeros = local.crc == 0 && local.compressed == 0 && local.size == 0;
        let same = local.crc == c.crc
            && u64::from(local.compressed) == c.compressed
            && u64::from(local.size) == c.size;
        if !(zeros || same) {
            return disagree(
                "CRC-32 and sizes (beside a data descriptor)",
                format!("{} {} {}", hex32(local.crc), local.compressed, local.size),
                format!("{} {} {}", hex32(c.crc), c.compressed, c.size),
            );
        }
        return Ok(());
    }
    if local.crc != c.crc {
        return disagree("CRC-32", hex32(local.crc), hex32(c.crc));
    }
    if u64::from(local.compressed) != c.compressed {
        return disagree(
            "compressed size",
            local.compressed.to_string(),
            c.compressed.to_string(),
        );
    }
    if u64::from(local.size) != c.size {
        return disagree("size", local.size.to_string(), c.size.to_string());
    }
    Ok(())
}

/// The bytes read must have the CRC-32 and sizes both headers declare.
fn check_content(data: &[u8], consumed: u64, c: &CentralEntry) -> Result<(), Problem> {
    if consumed < c.compressed {
        return Err(Problem::EndsEarly {
            consumed,
            declared: c.compressed,
        });
    }
    if consumed > c.compressed {
        return Err(Problem::RunsLong {
            consumed,
            declared: c.compressed,
        });
    }
    if data.len() as u64 != c.size {
        return Err(Problem::Content {
            field: "size",
            declared: c.size.to_string(),
            actual: data.len().to_string(),
        });
    }
    let crc = crc32(data);
    if crc != c.crc {
        return Err(Problem::Content {
            field: "CRC-32",
            declared: hex32(c.crc),
            actual: hex32(crc),
        });
    }
    Ok(())
}

/// Refuses the extra fields that make readers disagree: Unicode Path and Zip64.
fn check_extra(extra: &[u8], header: &'static str) -> Result<(), Problem> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16_at(rest, 0);
        let len = usize::from(u16_at(rest, 2));
        if id == EXTRA_UNICODE_PATH {
            return Err(Problem::UnicodePath { header });
        }
        if id == EXTRA_ZIP64 {
            return Err(Problem::Zip64 { header });
        }
        rest = rest.get(4 + len..).unwrap_or_default();
    }
    Ok(())
}

/// Inflates a raw DEFLATE stream from the start of `input` until it ends, as Java's `Inflater`
/// does; returns the bytes and how much input the stream took. More than `cap` bytes out is a
/// size disagreement, found without inflating further.
fn inflate(input: &[u8], cap: usize) -> Result<(Vec<u8>, usize), Problem> {
    const STEP: usize = 64 * 1024;
    let mut inflater = Decompress::new(false);
    let mut out = Vec::with_capacity(cap.saturating_add(1).min(STEP));
    let too_long = || Problem::Content {
        field: "size",
        declared: cap.to_string(),
        actual: format!("more than {cap}"),
    };
    loop {
        if out.len() > cap {
            return Err(too_long());
        }
        if out.len() == out.capacity() {
            out.reserve_exact(STEP.min(cap + 1 - out.len()));
        }
        let (in_before, out_before) = (inflater.total_in(), out.len());
        let taken = usize::try_from(in_before).expect("no more than the input");
        let status = inflater
            .decompress_vec(&input[taken..], &mut out, FlushDecompress::None)
            .map_err(|e| Problem::Inflate {
                error: e.to_string(),
            })?;
        let consumed = usize::try_from(inflater.total_in()).expect("no more than the input");
        if status == Status::StreamEnd {
            return if out.len() > cap {
                Err(too_long())
            } else {
                Ok((out, consumed))
            };
        }
        if inflater.total_in() == in_before && out.len() == out_before {
            return Err(if consumed == input.len() {
                Problem::Unterminated
            } else {
                Problem::Inflate {
                    error: "the inflater makes no progress".to_owned(),
                }
            });
        }
    }
}

fn method_name(method: u16) -> String {
    match method {
        METHOD_STORED => "STORED (0)".to_owned(),
        METHOD_DEFLATED => "DEFLATE (8)".to_owned(),
        other => format!("method {other}"),
    }
}

fn hex32(value: u32) -> String {
    format!("{value:#010x}")
}

fn crc32(data: &[u8]) -> u32 {
    let mut hasher = flate2::Crc::new();
    hasher.update(data);
    hasher.sum()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const LIMIT: u64 = 3 * 1024 * 1024;
    const NAME: &str = "imagedefinitions.json";
    const DATA: &[u8] = br#"[{"name":"app","imageUri":"shop/web@sha256:0"}]"#;

    /// A zip written by the zip crate to a seekable buffer, as imagedef writes bundles.
    fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            w.start_file(*name, options).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn one() -> Vec<u8> {
        zip_of(&[(NAME, DATA)], zip::CompressionMethod::Deflated)
    }

    fn problem(bytes: &[u8]) -> Problem {
        read(bytes, LIMIT).expect_err("refused").problem
    }

    #[test]
    fn a_zip_both_views_agree_on_reads_its_entries() {
        for method in [
            zip::CompressionMethod::Deflated,
            zip::CompressionMethod::Stored,
        ] {
            let bytes = zip_of(&[(NAME, DATA), ("imageDetail.json", b"{}")], method);
            let entries = read(&bytes, LIMIT).unwrap();
            let got: Vec<(&str, &[u8])> = entries
                .iter()
                .map(|e| (e.name.as_str(), e.data.as_slice()))
                .collect();
            assert_eq!(got, [(NAME, DATA), ("imageDetail.json", &b"{}"[..])]);
            assert_eq!(entries[0].offset, 0);
        }
        assert_eq!(
            read(&zip_of(&[], zip::CompressionMethod::Deflated), LIMIT).unwrap(),
            []
        );
    }

    #[test]
    fn a_local_name_the_central_directory_does_not_have_is_refused() {
        let mut bytes = one();
        bytes[LOCAL_LEN + NAME.len() - 6] = b'X';
        let refusal = read(&bytes, LIMIT).unwrap_err();
        assert_eq!(
            refusal.problem,
            Problem::Disagree {
                field: "name",
                local: "\"imagedefinitionX.json\"".to_owned(),
                central: format!("{NAME:?}"),
            }
        );
        assert!(
            refusal.to_string().starts_with(
                "entry \"imagedefinitionX.json\" at offset 0: the local header has name"
            ),
            "{refusal}"
        );
    }

    #[test]
    fn a_name_twice_or_in_another_case_is_found_however_far_back() {
        let names: Vec<String> = (0..2000).map(|i| format!("e{i:04x}")).collect();
        let mut entries: Vec<(&str, &[u8])> =
            names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        assert_eq!(
            read(&zip_of(&entries, zip::CompressionMethod::Stored), LIMIT)
                .unwrap()
                .len(),
            2000
        );
        // The zip crate refuses a name twice in its central directory; a case variant reaches the walk.
        entries.push(("E0001", b""));
        let refusal = read(&zip_of(&entries, zip::CompressionMethod::Stored), LIMIT).unwrap_err();
        assert_eq!(
            refusal.problem,
            Problem::CaseCollision {
                other: "e0001".to_owned(),
                at: u64::from(LOCAL_LEN as u32 + 5),
            }
        );
        assert_eq!(refusal.entry.as_deref(), Some("E0001"));
    }

    #[test]
    fn bytes_before_the_first_header_are_refused() {
        let mut bytes = b"junk".to_vec();
        bytes.extend(one());
        assert_eq!(problem(&bytes), Problem::Prepended { len: 4 });
    }

    #[test]
    fn local_fields_that_disagree_name_both_values() {
        let original = one();
        let central = original
            .windows(4)
            .position(|w| w == CENTRAL.to_le_bytes())
            .unwrap();
        // (offset in the local header, field, bits flipped): change the local copy only.
        for (at, field, flip) in [
            (8, "method", 0x08),
            (14, "CRC-32", 1),
            (18, "compressed size", 1),
            (22, "size", 1),
        ] {
            let mut bytes = original.clone();
            bytes[at] ^= flip;
            match problem(&bytes) {
                Problem::Disagree { field: got, .. } => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // The same field bumped in the central directory only.
        let mut bytes = original.clone();
        bytes[central + 16] ^= 0x01;
        assert!(matches!(
            problem(&bytes),
            Problem::Disagree {
                field: "CRC-32",
                ..
            }
        ));
    }

    #[test]
    fn a_hidden_local_entry_and_a_gap_are_refused() {
        let bytes = one();
        let central = bytes
            .windows(4)
            .position(|w| w == CENTRAL.to_le_bytes())
            .unwrap();
        // Junk between the last entry and the central directory, offsets kept right.
        let mut gap = bytes[..central].to_vec();
        gap.extend(b"PADDING!");
        let cd_len = bytes.len() - central - 22;
        gap.extend(&bytes[central..]);
        let eocd = gap.len() - 22;
        let moved = u32::try_from(central + 8).unwrap();
        gap[eocd + 16..eocd + 20].copy_from_slice(&moved.to_le_bytes());
        assert_eq!(cd_len, gap.len() - 22 - central - 8);
        assert_eq!(
            problem(&gap),
            Problem::Gap {
                at: central as u64,
                len: 8
            }
        );
        // A whole local entry there instead: Java reads it, the central directory does not list it.
        let mut hidden = bytes[..central].to_vec();
        let extra = bytes[..central].to_vec();
        hidden.extend(&extra);
        hidden.extend(&bytes[central..]);
        let eocd = hidden.len() - 22;
        let moved = u32::try_from(central * 2).unwrap();
        hidden[eocd + 16..eocd + 20].copy_from_slice(&moved.to_le_bytes());
        assert!(
            matches!(problem(&hidden), Problem::Duplicate { first: 0 }),
            "{:?}",
            problem(&hidden)
        );
    }

    #[test]
    fn inflated_bytes_must_match_and_bombs_are_not_inflated() {
        let mut bytes = one();
        bytes[LOCAL_LEN + NAME.len() + 3] ^= 0x55;
        assert!(
            matches!(
                problem(&bytes),
                Problem::Inflate { .. }
                    | Problem::Content { .. }
                    | Problem::EndsEarly { .. }
                    | Problem::RunsLong { .. }
                    | Problem::Unterminated
            ),
            "{:?}",
            problem(&bytes)
        );
        let zeros = vec![0u8; 4 * 1024 * 1024];
        let bomb = zip_of(&[(NAME, &zeros)], zip::CompressionMethod::Deflated);
        assert_eq!(
            problem(&bomb),
            Problem::TooLarge {
                declared: 4 * 1024 * 1024,
                total: 4 * 1024 * 1024,
                limit: LIMIT
            }
        );
    }

    #[test]
    fn inflate_reports_where_the_stream_ends() {
        let mut deflated = Vec::new();
        let mut enc =
            flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default());
        enc.write_all(DATA).unwrap();
        enc.finish().unwrap();
        let mut input = deflated.clone();
        input.extend(b"trailing");
        assert_eq!(
            inflate(&input, DATA.len()).unwrap(),
            (DATA.to_vec(), deflated.len())
        );
        assert_eq!(
            inflate(&deflated[..deflated.len() - 1], DATA.len()),
            Err(Problem::Unterminated)
        );
        assert!(matches!(
            inflate(&deflated, DATA.len() - 1),
            Err(Problem::Content { field: "size", .. })
        ));
    }
}
