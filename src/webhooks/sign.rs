//! Webhook signing secrets (`whsec_` + base64 of the key, the Standard Webhooks format) and the
//! headers of a delivery: `X-Tonearm-Signature: t=…,v1=<hex>` (keyed with the whole `whsec_…`
//! string, as Stripe's libraries do) and Standard Webhooks `webhook-id` / `webhook-timestamp` /
//! `webhook-signature: v1,<base64>` (keyed with the decoded bytes), with their verification.

use crate::ids::hex;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of key material in the secrets this server mints.
pub const SECRET_BYTES: usize = 32;
/// A signature older or newer than this (seconds) is refused, so a captured delivery cannot be
/// replayed later.
pub const TOLERANCE_SECS: u64 = 300;

pub const HEADER_TONEARM: &str = "x-tonearm-signature";
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("secret: expected `whsec_` followed by base64")]
    MalformedSecret,
    #[error("signature header is malformed; expected `t=<unix>,v1=<hex>` or `v1,<base64>`")]
    MalformedHeader,
    #[error("timestamp is {0} s away from now; the tolerance is {TOLERANCE_SECS} s")]
    OutsideWindow(u64),
    #[error("no signature matches the secret")]
    NoMatch,
}

/// The HMAC key behind a `whsec_` secret. Debug never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn generate() -> Result<Secret, getrandom::Error> {
        let mut key = vec![0u8; SECRET_BYTES];
        crate::ids::random_bytes(&mut key)?;
        Ok(Secret(key))
    }

    pub fn from_bytes(key: Vec<u8>) -> Secret {
        Secret(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses `whsec_<base64>`; any non-empty key length is accepted so receivers can check
    /// secrets minted elsewhere with `tonearm webhooks verify`.
    pub fn parse(s: &str) -> Result<Secret, Error> {
        let b64 = s
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(Error::MalformedSecret)?;
        let key = STANDARD.decode(b64).map_err(|_| Error::MalformedSecret)?;
        if key.is_empty() {
            return Err(Error::MalformedSecret);
        }
        Ok(Secret(key))
    }

    pub fn encode(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1=` value of `X-Tonearm-Signature`: HMAC over `"<t>.<body>"`, lowercase hex, keyed
    /// with the whole secret string `whsec_…` as Stripe's libraries key it.
    pub fn tonearm_v1(&self, t: u64, body: &[u8]) -> String {
        let key = self.encode();
        hex(&mac(
            key.as_bytes(),
            &[t.to_string().as_bytes(), b".", body],
        ))
    }

    /// Base64 signature of Standard Webhooks: HMAC over `"<id>.<timestamp>.<body>"`, keyed with
    /// the base64-decoded part after `whsec_`, as the Standard Webhooks libraries key it.
    pub fn standard_v1(&self, id: &str, t: u64, body: &[u8]) -> String {
        STANDARD.encode(mac(
            &self.0,
            &[id.as_bytes(), b".", t.to_string().as_bytes(), b".", body],
        ))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; the error arm cannot be reached, and an empty MAC on it
    // would only make verification fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0u8; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The signature headers of one delivery attempt, one signature per active secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `X-Tonearm-Signature` value.
    pub tonearm: String,
    pub webhook_id: String,
    pub webhook_timestamp: String,
    /// `webhook-signature` value.
    pub webhook_signature: String,
}

impl Signed {
    /// (name, value) pairs ready to add to a request.
    pub fn headers(&self) -> [(&'static str, &str); 4] {
        [
            (HEADER_TONEARM, &self.tonearm),
            (HEADER_ID, &self.webhook_id),
            (HEADER_TIMESTAMP, &self.webhook_timestamp),
            (HEADER_SIGNATURE, &self.webhook_signature),
        ]
    }
}

/// Signs `body` with every secret in `secrets`. `id` must stay the same across retries of one
/// delivery so receivers can drop duplicates; `t` is the time of this attempt.
pub fn sign(secrets: &[Secret], id: &str, t: u64, body: &[u8]) -> Signed {
    let mut tonearm = format!("t={t}");
    let mut standard = Vec::with_capacity(secrets.len());
    for s in secrets {
        tonearm.push_str(",v1=");
        tonearm.push_str(&s.tonearm_v1(t, body));
        standard.push(format!("v1,{}", s.standard_v1(id, t, body)));
    }
    Signed {
        tonearm,
        webhook_id: id.to_string(),
        webhook_timestamp: t.to_string(),
        webhook_signature: standard.join(" "),
    }
}

fn check_window(t: u64, now: u64) -> Result<(), Error> {
    let skew = t.abs_diff(now);
    if skew > TOLERANCE_SECS {
        return Err(Error::OutsideWindow(skew));
    }
    Ok(())
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Checks an `X-Tonearm-Signature` value: passes when any `v1=` matches `secret` and `t` is
/// within [`TOLERANCE_SECS`] of `now`.
pub fn verify_tonearm(secret: &Secret, header: &str, body: &[u8], now: u64) -> Result<(), Error> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<u64>().map_err(|_| Error::MalformedHeader)?),
            Some(("v1", v)) => sigs.push(v),
            // Other schemes may be added later; receivers skip what they do not know.
            Some(_) => {}
            None => return Err(Error::MalformedHeader),
        }
    }
    let t = t.ok_or(Error::MalformedHeader)?;
    if sigs.is_empty() {
        return Err(Error::MalformedHeader);
    }
    check_window(t, now)?;
    let expected = secret.tonearm_v1(t, body);
    if sigs.iter().any(|s| ct_eq(s, &expected)) {
        Ok(())
    } else {
        Err(Error::NoMatch)
    }
}

/// Checks Standard Webhooks headers: passes when any `v1,` signature in the space-separated
/// `signature` list matches and `timestamp` is within [`TOLERANCE_SECS`] of `now`.
pub fn verify_standard(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: u64,
) -> Result<(), Error> {
    let t = timestamp
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::MalformedHeader)?;
    let mut sigs = Vec::new();
    for entry in signature.split_whitespace() {
        match entry.split_once(',') {
            Some(("v1", v)) => sigs.push(v),
            Some(_) => {}
            None => return Err(Error::MalformedHeader),
        }
    }
    if sigs.is_empty() {
        return Err(Error::MalformedHeader);
    }
    check_window(t, now)?;
    let expected = secret.standard_v1(id.trim(), t, body);
    if sigs.iter().any(|s| ct_eq(s, &expected)) {
        Ok(())
    } else {
        Err(Error::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed independently with Python's hmac/hashlib/base64 modules.
    const KEY1: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY2: &str = "whsec_q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"analysis.completed"}"#;
    const T: u64 = 1_700_000_000;
    // `X-Tonearm-Signature` is keyed with the secret string itself (Stripe's convention).
    const HEX1: &str = "a7e607417734059ce47aa00b9d140c87b1546bf944fd32d20dc9a66603ffd73d";
    const HEX2: &str = "ab49f8ed3e95e849d1988257592e3d35f2e5581e71de6847c6b8deb50cc83c32";
    const STD1: &str = "EIbk3Ts4HHcxa/KuFRjGj9CMLjOGDVX8B2AtQjUxqHw=";
    const STD2: &str = "DkY5lXjUTXr8y0QNk5X34b87D2PU7SocWJvwGimPN28=";

    #[test]
    fn secret_round_trips_and_decodes_to_the_key() {
        let s = Secret::parse(KEY1).unwrap();
        assert_eq!(s.as_bytes(), (0u8..32).collect::<Vec<_>>());
        assert_eq!(s.encode(), KEY1);
        let g = Secret::generate().unwrap();
        assert_eq!(g.as_bytes().len(), SECRET_BYTES);
        assert_eq!(Secret::parse(&g.encode()).unwrap(), g);
        assert_ne!(Secret::generate().unwrap(), g);
        assert_eq!(Secret::parse("AAEC"), Err(Error::MalformedSecret));
        assert_eq!(Secret::parse("whsec_!!"), Err(Error::MalformedSecret));
        assert_eq!(Secret::parse("whsec_"), Err(Error::MalformedSecret));
        assert_eq!(format!("{g:?}"), "Secret(..)");
    }

    #[test]
    fn signs_known_vectors_with_one_signature_per_secret() {
        let k1 = Secret::parse(KEY1).unwrap();
        let k2 = Secret::parse(KEY2).unwrap();
        let one = sign(std::slice::from_ref(&k1), "evt_1", T, BODY);
        assert_eq!(one.tonearm, format!("t={T},v1={HEX1}"));
        assert_eq!(one.webhook_signature, format!("v1,{STD1}"));
        assert_eq!(one.webhook_id, "evt_1");
        assert_eq!(one.webhook_timestamp, "1700000000");
        let two = sign(&[k1, k2], "evt_1", T, BODY);
        assert_eq!(two.tonearm, format!("t={T},v1={HEX1},v1={HEX2}"));
        assert_eq!(two.webhook_signature, format!("v1,{STD1} v1,{STD2}"));
    }

    #[test]
    fn matches_the_standard_webhooks_published_vector() {
        let s = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            s.standard_v1("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verifies_tonearm_header_within_the_window_only() {
        let k1 = Secret::parse(KEY1).unwrap();
        let k2 = Secret::parse(KEY2).unwrap();
        let h = format!("t={T},v1={HEX2},v1={HEX1}");
        assert_eq!(verify_tonearm(&k1, &h, BODY, T + 10), Ok(()));
        assert_eq!(verify_tonearm(&k2, &h, BODY, T - 300), Ok(()));
        assert_eq!(
            verify_tonearm(&k1, &h, BODY, T + 301),
            Err(Error::OutsideWindow(301))
        );
        assert_eq!(
            verify_tonearm(&k1, &format!("t={T},v1={HEX2}"), BODY, T),
            Err(Error::NoMatch)
        );
        assert_eq!(
            verify_tonearm(&k1, &h, b"{}", T),
            Err(Error::NoMatch),
            "a changed body fails"
        );
        let forged = format!("t={},v1={HEX1}", T + 1);
        assert_eq!(verify_tonearm(&k1, &forged, BODY, T), Err(Error::NoMatch));
        for bad in ["", "v1=aa", &format!("t={T}"), "t=x,v1=aa", "garbage"] {
            assert_eq!(
                verify_tonearm(&k1, bad, BODY, T),
                Err(Error::MalformedHeader),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifies_standard_headers_within_the_window_only() {
        let k1 = Secret::parse(KEY1).unwrap();
        let k2 = Secret::parse(KEY2).unwrap();
        let sig = format!("v1,{STD1} v1,{STD2}");
        assert_eq!(
            verify_standard(&k1, "evt_1", "1700000000", &sig, BODY, T),
            Ok(())
        );
        assert_eq!(
            verify_standard(&k2, "evt_1", "1700000000", &sig, BODY, T + 300),
            Ok(())
        );
        assert_eq!(
            verify_standard(&k1, "evt_2", "1700000000", &sig, BODY, T),
            Err(Error::NoMatch),
            "the id is signed"
        );
        assert_eq!(
            verify_standard(&k1, "evt_1", "1700000000", &sig, BODY, T - 1000),
            Err(Error::OutsideWindow(1000))
        );
        assert_eq!(
            verify_standard(&k1, "evt_1", "1700000000", &format!("v1,{STD2}"), BODY, T),
            Err(Error::NoMatch)
        );
        assert_eq!(
            verify_standard(&k1, "evt_1", "soon", &sig, BODY, T),
            Err(Error::MalformedHeader)
        );
        assert_eq!(
            verify_standard(&k1, "evt_1", "1700000000", "v1a", BODY, T),
            Err(Error::MalformedHeader)
        );
    }
}
