//! Reading the small input files (mappings, task definitions, pins, manifests, bundles) with a
//! size bound, so a wrong path to a huge file is refused instead of read into memory.

use std::io::Read as _;
use std::path::Path;

/// The bound for JSON inputs: the largest image manifest ECR stores is 4 MiB.
pub const MAX_JSON: u64 = 4 * 1024 * 1024;

/// Reads at most `limit` bytes of a file; a longer file is refused. `what` names the file's role
/// in the message ("task definition", "mapping", ...).
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read {what} {}: {e}; check the path", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} {} is larger than {limit} bytes; is it the right file?",
            path.display()
        ));
    }
    Ok(bytes)
}
