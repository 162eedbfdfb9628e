//! Typed identifiers and time. Ids are u128 (48 bits of Unix milliseconds, then 80 random bits) so
//! they sort by creation time as redb keys, and render as `prefix_` + 22 base62 characters.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_CHARS: usize = 22;

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// Lower-case hexadecimal, two digits a byte: how digests and signatures are shown.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `len` characters of base62 drawn uniformly from the OS CSPRNG (rejection sampling, no bias).
pub fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random_bytes(&mut buf)?;
        for b in buf {
            // 248 = 4 * 62: bytes above it would favour the first characters.
            if b < 248 && out.len() < len {
                out.push(BASE62[usize::from(b % 62)] as char);
            }
        }
    }
    Ok(out)
}

/// `value` as exactly `width` base62 digits, most significant first.
pub fn base62_fixed(mut value: u128, width: usize) -> String {
    // 62^10 fits in a u64: peel ten digits per (slow) u128 division and do the rest in u64.
    const CHUNK: u128 = 839_299_365_868_340_224; // 62^10
    let mut digits = vec![b'0'; width];
    for group in digits.rchunks_mut(10) {
        let mut low = (value % CHUNK) as u64;
        value /= CHUNK;
        for slot in group.iter_mut().rev() {
            *slot = BASE62[(low % 62) as usize];
            low /= 62;
        }
    }
    String::from_utf8_lossy(&digits).into_owned()
}

fn base62_value(c: u8) -> Option<u128> {
    let v = match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'Z' => c - b'A' + 10,
        b'a'..=b'z' => c - b'a' + 36,
        _ => return None,
    };
    Some(u128::from(v))
}

fn parse_base62(s: &str) -> Option<u128> {
    let mut value: u128 = 0;
    for c in s.bytes() {
        value = value.checked_mul(62)?.checked_add(base62_value(c)?)?;
    }
    Some(value)
}

/// A fresh time-ordered id.
pub fn new_raw_id() -> Result<u128, getrandom::Error> {
    let mut rnd = [0u8; 10];
    random_bytes(&mut rnd)?;
    let mut tail = [0u8; 16];
    tail[6..].copy_from_slice(&rnd);
    let random = u128::from_be_bytes(tail);
    Ok((u128::from(now_ms()) << 80) | random)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u128);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Result<Self, getrandom::Error> {
                new_raw_id().map(Self)
            }

            /// Parses `prefix_` + 22 base62 characters; anything else is `None`.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?.strip_prefix('_')?;
                if rest.len() != ID_CHARS {
                    return None;
                }
                parse_base62(rest).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, base62_fixed(self.0, ID_CHARS))
            }
        }
    };
}

id_type!(/// A workspace or team.
    AccountId, "acct");
id_type!(/// A project inside an account; resources belong to projects.
    ProjectId, "proj");
id_type!(/// An API key (the id, never the secret).
    KeyId, "key");
id_type!(/// A management token (the id, never the secret).
    TokenId, "mt");
id_type!(/// An analysis job.
    JobId, "job");
id_type!(/// An entry of an account's credits ledger.
    LedgerEntryId, "led");
id_type!(/// A webhook signing secret (the id, never the secret: it must not look like one).
    WebhookSecretId, "whk");
id_type!(/// An event sent to webhooks; its id is the `webhook-id` of every attempt.
    EventId, "evt");
id_type!(/// One event's delivery to one URL, with its attempts.
    DeliveryId, "dlv");
id_type!(/// An entry of the audit log.
    AuditId, "aud");

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// RFC 3339 (UTC, whole seconds) for a Unix-millisecond timestamp.
pub fn rfc3339(ms: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_prefixes() {
        let id = KeyId::generate().unwrap();
        let s = id.to_string();
        assert!(s.starts_with("key_"));
        assert_eq!(s.len(), 4 + ID_CHARS);
        assert_eq!(KeyId::parse(&s), Some(id));
        assert_eq!(AccountId::parse(&s), None);
        assert_eq!(KeyId::parse("key_short"), None);
        assert_eq!(KeyId::parse(&s.replace('_', "-")), None);
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = KeyId(u128::from(1000u64) << 80);
        let b = KeyId(u128::from(1001u64) << 80);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn base62_matches_digit_by_digit_conversion() {
        for v in [
            0u128,
            61,
            62,
            839_299_365_868_340_224,
            1 << 100,
            u128::MAX,
            0xdead_beef_u128 << 64,
        ] {
            let mut slow = vec![b'0'; 22];
            let mut x = v;
            for slot in slow.iter_mut().rev() {
                *slot = BASE62[(x % 62) as usize];
                x /= 62;
            }
            assert_eq!(base62_fixed(v, 22).as_bytes(), slow.as_slice());
        }
        assert_eq!(base62_fixed(0xCBF4_3926, 6).len(), 6);
    }

    #[test]
    fn max_id_fits_in_22_chars() {
        assert_eq!(
            parse_base62(&base62_fixed(u128::MAX, ID_CHARS)),
            Some(u128::MAX)
        );
    }

    #[test]
    fn random_base62_has_requested_length_and_alphabet() {
        let s = random_base62(32).unwrap();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_999), "2023-11-14T22:13:20Z");
    }
}
