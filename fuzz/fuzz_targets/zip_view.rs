//! Any bytes to `verify --bundle`'s stream view of a zip, held against the zip crate's: whenever
//! the stream view accepts a zip, the zip crate must read the same names with the same bytes, in
//! the same order; and the view never panics, hangs or inflates past its limit.
#![no_main]

use std::io::Read as _;

use imagedef::testing::read_zip;
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 3 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = read_zip(data, LIMIT) else {
        return;
    };
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(data)).expect("the view accepted it");
    assert_eq!(archive.len(), entries.len(), "entry count");
    let mut total = 0;
    for (index, entry) in entries.iter().enumerate() {
        let mut file = archive.by_index(index).expect("the zip crate opens the entry");
        let name = file.name().expect("the zip crate decodes the name");
        assert_eq!(name, entry.name.as_str(), "name of entry {index}");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("the zip crate reads the entry");
        assert_eq!(bytes, entry.data, "bytes of entry {}", entry.name);
        total += bytes.len() as u64;
    }
    assert!(total <= LIMIT);
});
