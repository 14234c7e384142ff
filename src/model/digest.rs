//! sha256 content digests (`sha256:` + 64 lowercase hex), parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A sha256 digest as OCI and ECR write it: `sha256:` followed by 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`, exactly as given (never re-serialised).
    #[must_use]
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    #[must_use]
    pub fn from_array(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    #[must_use]
    pub fn hex(&self) -> String {
        use fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Standard base64 of the raw 32 bytes: the form of S3's `x-amz-checksum-sha256`.
    #[must_use]
    pub fn base64(&self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(44);
        for chunk in self.0.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

impl Digest {
    /// How text that is read, not copied, shows a digest: `sha256:` and its first 12 hex
    /// characters (JSON and the files keep it whole).
    #[must_use]
    pub fn short(&self) -> String {
        format!("sha256:{}", &self.hex()[..SHORT_HEX])
    }
}

/// How many hex characters a shortened digest keeps: enough that no two images of a repository
/// share them in practice.
pub const SHORT_HEX: usize = 12;

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a string is not a sha256 digest; each reason says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("is empty; expected sha256: followed by 64 lowercase hex digits")]
    Empty,
    #[error("has no algorithm; expected sha256: followed by 64 lowercase hex digits")]
    NoAlgorithm,
    #[error("uses algorithm {0:?}; only sha256 digests are supported (ECS accepts no other)")]
    Algorithm(String),
    #[error("has {0} hex digits after sha256:, expected 64 (was it truncated or a placeholder?)")]
    Length(usize),
    #[error("uses uppercase hex; OCI requires lowercase, so write it in lowercase")]
    Uppercase,
    #[error("contains {0:?}, which is not a hex digit")]
    NotHex(char),
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        if s.is_empty() {
            return Err(DigestError::Empty);
        }
        let (algorithm, encoded) = s.split_once(':').ok_or(DigestError::NoAlgorithm)?;
        if algorithm != "sha256" {
            return Err(DigestError::Algorithm(algorithm.to_owned()));
        }
        if let Some(c) = encoded.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(DigestError::NotHex(c));
        }
        if encoded.len() != 64 {
            return Err(DigestError::Length(encoded.len()));
        }
        if encoded.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DigestError::Uppercase);
        }
        let mut out = [0u8; 32];
        for (i, pair) in encoded.as_bytes().chunks(2).enumerate() {
            out[i] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(Digest(out))
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => unreachable!("checked to be lowercase hex"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn parse_table() {
        let long = format!("sha256:{HEX}0");
        let upper = format!("sha256:{}", HEX.to_uppercase());
        let cases: &[(&str, Result<(), DigestError>)] = &[
            (&format!("sha256:{HEX}"), Ok(())),
            ("", Err(DigestError::Empty)),
            (HEX, Err(DigestError::NoAlgorithm)),
            (
                &format!("sha512:{HEX}"),
                Err(DigestError::Algorithm("sha512".into())),
            ),
            ("sha256:abc", Err(DigestError::Length(3))),
            (&long, Err(DigestError::Length(65))),
            (&upper, Err(DigestError::Uppercase)),
            ("sha256:EXAMPLE", Err(DigestError::NotHex('X'))),
            ("sha256:example3", Err(DigestError::NotHex('x'))),
            ("sha256:", Err(DigestError::Length(0))),
        ];
        for (input, want) in cases {
            let got = input.parse::<Digest>().map(|_| ());
            assert_eq!(&got, want, "input {input:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        let s = format!("sha256:{HEX}");
        assert_eq!(s.parse::<Digest>().unwrap().to_string(), s);
    }

    #[test]
    fn of_matches_known_vector() {
        // sha256("foo")
        assert_eq!(Digest::of(b"foo").hex(), HEX);
    }

    #[test]
    fn base64_matches_known_vector() {
        // printf foo | openssl dgst -sha256 -binary | base64
        assert_eq!(
            Digest::of(b"foo").base64(),
            "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
        );
        assert_eq!(
            Digest::of(b"").base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
