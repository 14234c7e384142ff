//! A byte-level walk of the local headers of a zip, as a streaming reader meets them.

/// One local file header read straight from the bytes.
#[derive(Debug)]
pub struct LocalHeader {
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed: u32,
    pub size: u32,
}

/// Walks the local file headers from the start of the zip up to the central directory.
pub fn local_headers(bytes: &[u8]) -> Vec<LocalHeader> {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut at = 0;
    while u32_at(at) == 0x0403_4b50 {
        let name_len = usize::from(u16_at(at + 26));
        let extra_len = usize::from(u16_at(at + 28));
        let header = LocalHeader {
            name: String::from_utf8(bytes[at + 30..at + 30 + name_len].to_vec()).unwrap(),
            flags: u16_at(at + 6),
            method: u16_at(at + 8),
            crc: u32_at(at + 14),
            compressed: u32_at(at + 18),
            size: u32_at(at + 22),
        };
        at += 30 + name_len + extra_len + header.compressed as usize;
        out.push(header);
    }
    assert_eq!(
        u32_at(at),
        0x0201_4b50,
        "central directory after the entries"
    );
    out
}
