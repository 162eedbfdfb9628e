//! Secret formats: `tonearm_sk_` (API keys) and `tonearm_mt_` (management tokens), then 32 base62
//! characters from the OS CSPRNG, then 6 base62 characters of the CRC32 of those 32. The checksum
//! lets secret scanners and our own code reject a mistyped or made-up value offline, before any
//! lookup. At rest only the SHA-256 of the whole value is kept.

use sha2::{Digest, Sha256};

use crate::ids::{base62_fixed, random_base62};
use crate::store::schema::SecretDigest;

const RANDOM_CHARS: usize = 32;
const CHECKSUM_CHARS: usize = 6;

/// Which kind of credential a secret is; the prefix says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ApiKey,
    ManagementToken,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "tonearm_sk_",
            SecretKind::ManagementToken => "tonearm_mt_",
        }
    }

    fn total_len(self) -> usize {
        self.prefix().len() + RANDOM_CHARS + CHECKSUM_CHARS
    }
}

/// Why a presented value is not a well-formed secret of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the credential is not a tonearm secret")]
    Malformed,
    #[error("the checksum does not match; the value was mistyped or truncated")]
    BadChecksum,
    #[error("the credential is of the other kind")]
    WrongKind,
}

/// A freshly generated secret: the value (shown once) and what may be stored.
pub struct NewSecret {
    pub value: String,
    pub digest: SecretDigest,
}

pub fn generate(kind: SecretKind) -> Result<NewSecret, getrandom::Error> {
    let random = random_base62(RANDOM_CHARS)?;
    let value = format!("{}{random}{}", kind.prefix(), checksum(&random));
    let digest = SecretDigest {
        sha256: sha256(&value),
        prefix: random[..4].to_string(),
        last4: value[value.len() - 4..].to_string(),
    };
    Ok(NewSecret { value, digest })
}

/// Checks the format and checksum of `presented` without any lookup and returns its SHA-256.
pub fn parse(kind: SecretKind, presented: &str) -> Result<[u8; 32], FormatError> {
    let other = match kind {
        SecretKind::ApiKey => SecretKind::ManagementToken,
        SecretKind::ManagementToken => SecretKind::ApiKey,
    };
    let Some(body) = presented.strip_prefix(kind.prefix()) else {
        if presented.starts_with(other.prefix()) && presented.len() == other.total_len() {
            return Err(FormatError::WrongKind);
        }
        return Err(FormatError::Malformed);
    };
    if body.len() != RANDOM_CHARS + CHECKSUM_CHARS
        || !body.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(FormatError::Malformed);
    }
    let (random, check) = body.split_at(RANDOM_CHARS);
    if checksum(random) != check {
        return Err(FormatError::BadChecksum);
    }
    Ok(sha256(presented))
}

fn checksum(random: &str) -> String {
    base62_fixed(
        u128::from(crc32fast::hash(random.as_bytes())),
        CHECKSUM_CHARS,
    )
}

pub fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_parse() {
        let s = generate(SecretKind::ApiKey).unwrap();
        assert!(s.value.starts_with("tonearm_sk_"));
        assert_eq!(s.value.len(), 11 + 32 + 6);
        assert_eq!(parse(SecretKind::ApiKey, &s.value), Ok(s.digest.sha256));
        assert_eq!(s.digest.prefix, &s.value[11..15]);
        assert_eq!(s.digest.last4, &s.value[s.value.len() - 4..]);
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let s = generate(SecretKind::ApiKey).unwrap().value;
        let mut b = s.into_bytes();
        b[20] = if b[20] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(b).unwrap();
        assert_eq!(
            parse(SecretKind::ApiKey, &typo),
            Err(FormatError::BadChecksum)
        );
    }

    #[test]
    fn other_shapes_are_rejected() {
        let mt = generate(SecretKind::ManagementToken).unwrap().value;
        assert_eq!(parse(SecretKind::ApiKey, &mt), Err(FormatError::WrongKind));
        assert_eq!(parse(SecretKind::ApiKey, ""), Err(FormatError::Malformed));
        assert_eq!(
            parse(SecretKind::ApiKey, "tonearm_sk_short"),
            Err(FormatError::Malformed)
        );
        let bad_chars = format!("tonearm_sk_{}", "-".repeat(38));
        assert_eq!(
            parse(SecretKind::ApiKey, &bad_chars),
            Err(FormatError::Malformed)
        );
        let long = format!("tonearm_sk_{}", "a".repeat(65_536));
        assert_eq!(
            parse(SecretKind::ApiKey, &long),
            Err(FormatError::Malformed)
        );
    }

    #[test]
    fn checksum_is_crc32_in_six_base62_digits() {
        // CRC32("123456789") = 0xCBF43926, the standard check value.
        assert_eq!(checksum("123456789"), base62_fixed(0xCBF4_3926, 6));
        assert_eq!(checksum("123456789").len(), 6);
    }
}
