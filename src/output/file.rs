//! One file of a generation: its path under OUT and its bytes, as the layout builds it, the
//! bundles hold it and the write layer writes it.

use crate::model::Digest;

/// One file to write, relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    /// The path under the output directory, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

impl OutFile {
    #[must_use]
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> OutFile {
        OutFile {
            path: path.into(),
            bytes,
        }
    }

    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(&self.bytes)
    }
}
