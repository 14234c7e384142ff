//! Real zip readers run on the zips imagedef writes: Java's `ZipInputStream` (what `CodePipeline`
//! uses), Python's `zipfile` and `unzip -t`.

use std::path::{Path, PathBuf};

use super::tool;

fn readers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readers")
}

/// One entry as `java.util.zip.ZipInputStream` saw it.
#[derive(Debug, PartialEq, Eq)]
pub struct JavaEntry {
    pub name: String,
    pub method: String,
    /// Size and CRC-32 known before reading the data, i.e. from the local header (-1: deferred).
    pub header_size: i64,
    pub header_crc: i64,
    pub read: u64,
    pub sha256: String,
}

fn java_entry(line: &str) -> JavaEntry {
    let f: Vec<&str> = line.split('\t').collect();
    JavaEntry {
        name: f[0].to_owned(),
        method: f[1].to_owned(),
        header_size: f[2].parse().unwrap(),
        header_crc: f[3].parse().unwrap(),
        read: f[4].parse().unwrap(),
        sha256: f[5].to_owned(),
    }
}

/// What `ZipInputStream` read from each zip, in one JVM run: the entries, or the exception that
/// stopped it (after the entries printed before it are dropped).
pub fn java_batch(zips: &[PathBuf]) -> Vec<Result<Vec<JavaEntry>, String>> {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("zips.txt");
    let text = zips
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&list, text).unwrap();
    let source = readers().join("ZipRead.java");
    let out = tool(
        "java",
        &[source.as_os_str(), "--batch".as_ref(), list.as_os_str()],
        "a JDK 17+ (apt-get install default-jdk-headless)",
    );
    let mut results = Vec::new();
    let mut entries = Vec::new();
    for line in out.lines() {
        if line.starts_with("file\t") {
            entries = Vec::new();
        } else if line == "end\tok" {
            results.push(Ok(std::mem::take(&mut entries)));
        } else if let Some(error) = line.strip_prefix("end\terror\t") {
            results.push(Err(error.to_owned()));
        } else {
            entries.push(java_entry(line));
        }
    }
    assert_eq!(results.len(), zips.len(), "one result per zip: {out}");
    results
}

pub fn java(zip: &Path) -> Vec<JavaEntry> {
    let source = readers().join("ZipRead.java");
    let out = tool(
        "java",
        &[source.as_os_str(), zip.as_os_str()],
        "a JDK 17+ (apt-get install default-jdk-headless)",
    );
    out.lines().map(java_entry).collect()
}

/// What Python's zipfile saw, as JSON (see `tests/readers/zip_read.py`).
pub fn python(zip: &Path) -> serde_json::Value {
    let script = readers().join("zip_read.py");
    let out = tool(
        "python3",
        &[script.as_os_str(), zip.as_os_str()],
        "python3 (apt-get install python3)",
    );
    serde_json::from_str(&out).unwrap()
}

/// What junitparser (a JUnit consumer, in the moto venv) saw of a JUnit XML file, as JSON (see
/// `tests/readers/junit_read.py`).
pub fn junit(xml: &Path) -> serde_json::Value {
    let script = readers().join("junit_read.py");
    let python = super::aws::venv_python();
    let out = tool(
        python.to_str().unwrap(),
        &[script.as_os_str(), xml.as_os_str()],
        "junitparser in the venv (bash .ci/deps-aws)",
    );
    serde_json::from_str(&out).unwrap()
}

/// `unzip -t` must pass; returns its output.
pub fn unzip_test(zip: &Path) -> String {
    tool(
        "unzip",
        &["-t".as_ref(), zip.as_os_str()],
        "unzip (apt-get install unzip)",
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    imagedef::testing::Digest::of(bytes).hex()
}
