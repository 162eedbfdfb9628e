//! Finding tonearm secrets in arbitrary text, for `tonearm keys scan` and pre-commit hooks.
//! The rule is the one secret scanners are given (README): `tonearm_sk_` or `tonearm_mt_`, then
//! exactly 38 base62 characters not followed by another, whose last 6 are the checksum of the
//! first 32; or `whsec_` followed by the standard base64 of exactly 32 bytes. A candidate that
//! fails the checksum is a mistyped or made-up value and is not reported.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::secret::{SecretKind, parse};

/// Characters after the prefix of a key or token: 32 random plus 6 of checksum.
const BODY_CHARS: usize = 38;
/// `whsec_` + base64 of 32 bytes (44 characters with its padding).
const WHSEC_BODY_CHARS: usize = 44;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    ApiKey,
    ManagementToken,
    WebhookSecret,
}

impl Found {
    pub fn as_str(self) -> &'static str {
        match self {
            Found::ApiKey => "api_key",
            Found::ManagementToken => "management_token",
            Found::WebhookSecret => "webhook_secret",
        }
    }
}

/// One secret found: its kind, byte offset, 1-based line, and a redacted form safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Found,
    pub offset: usize,
    pub line: usize,
    pub redacted: String,
}

fn is_base62(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'='
}

/// Every well-formed secret in `text`, in order.
pub fn find(text: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut line_counted_to = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let hit = if rest.starts_with(b"tonearm_sk_") || rest.starts_with(b"tonearm_mt_") {
            key_at(text, i)
        } else if rest.starts_with(b"whsec_") {
            whsec_at(text, i)
        } else {
            None
        };
        match hit {
            Some((kind, len)) => {
                line += text[line_counted_to..i]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count();
                line_counted_to = i;
                let value = String::from_utf8_lossy(&text[i..i + len]);
                out.push(Finding {
                    kind,
                    offset: i,
                    line,
                    redacted: redact(&value),
                });
                i += len;
            }
            None => i += 1,
        }
    }
    out
}

fn key_at(text: &[u8], i: usize) -> Option<(Found, usize)> {
    let len = "tonearm_sk_".len() + BODY_CHARS;
    let cand = text.get(i..i + len)?;
    if text.get(i + len).is_some_and(|&c| is_base62(c)) {
        return None;
    }
    let s = std::str::from_utf8(cand).ok()?;
    if parse(SecretKind::ApiKey, s).is_ok() {
        Some((Found::ApiKey, len))
    } else if parse(SecretKind::ManagementToken, s).is_ok() {
        Some((Found::ManagementToken, len))
    } else {
        None
    }
}

fn whsec_at(text: &[u8], i: usize) -> Option<(Found, usize)> {
    let len = "whsec_".len() + WHSEC_BODY_CHARS;
    let cand = text.get(i + 6..i + len)?;
    if text.get(i + len).is_some_and(|&c| is_base64(c)) {
        return None;
    }
    let key = STANDARD.decode(cand).ok()?;
    (key.len() == crate::webhooks::sign::SECRET_BYTES).then_some((Found::WebhookSecret, len))
}

/// The prefix, the first four and the last four characters: enough to find the key in the
/// admin listing, never enough to use it.
fn redact(value: &str) -> String {
    let prefix_len = if value.starts_with("whsec_") { 6 } else { 11 };
    let head = value.get(..prefix_len + 4).unwrap_or("");
    let tail = value.get(value.len().saturating_sub(4)..).unwrap_or("");
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secret::generate;

    #[test]
    fn finds_keys_tokens_and_webhook_secrets_with_lines_and_redacts_them() {
        let key = generate(SecretKind::ApiKey).unwrap().value;
        let token = generate(SecretKind::ManagementToken).unwrap().value;
        let whsec = crate::webhooks::sign::Secret::generate().unwrap().encode();
        let text = format!("a\nKEY={key}\n\"{token}\" x {whsec}\n");
        let found = find(text.as_bytes());
        let kinds: Vec<_> = found.iter().map(|f| (f.kind, f.line)).collect();
        assert_eq!(
            kinds,
            [
                (Found::ApiKey, 2),
                (Found::ManagementToken, 3),
                (Found::WebhookSecret, 3)
            ]
        );
        for f in &found {
            assert!(!text.contains(&format!("{}\n", f.redacted)));
            assert!(f.redacted.len() < 30, "{}", f.redacted);
        }
    }

    #[test]
    fn ignores_bad_checksums_longer_runs_and_bare_prefixes() {
        let key = generate(SecretKind::ApiKey).unwrap().value;
        let mut typo = key.clone().into_bytes();
        let last = typo.len() - 8;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        for text in [
            typo.clone(),
            format!("{key}X"),
            "tonearm_sk_".to_string(),
            "tonearm_sk_EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEX".to_string(),
            "whsec_short".to_string(),
        ] {
            assert!(find(text.as_bytes()).is_empty(), "{text}");
        }
    }
}
