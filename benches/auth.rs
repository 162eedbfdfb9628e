//! Key verification per call: format + checksum check, SHA-256, index lookup, revocation and
//! expiry checks, last-used update. `cargo bench --bench auth`.

use std::hint::black_box;
use std::time::Instant;

use tonearm::auth::{Credentials, SecretKind, secret};
use tonearm::store::schema::KeyRecord;

fn main() {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    // An index the size of a large install: 10 000 keys.
    for i in 0..10_000u128 {
        let Ok(s) = secret::generate(SecretKind::ApiKey) else {
            eprintln!("no randomness");
            return;
        };
        values.push(format!("Bearer {}", s.value));
        keys.push((
            i,
            KeyRecord {
                account: 1,
                project: 2,
                label: "bench".into(),
                scopes: vec!["analyze".into()],
                digest: s.digest,
                created_at_ms: 0,
                last_used_at_ms: None,
                expires_at_ms: None,
                revoked_at_ms: None,
            },
        ));
    }
    let creds = Credentials::load(keys, vec![]);
    let rounds = 1_000_000;
    let start = Instant::now();
    for i in 0..rounds {
        let h = &values[i % values.len()];
        let ok = creds.verify_key(Some(h.as_bytes()), 1).is_ok();
        black_box(ok);
    }
    let per_call = start.elapsed().as_nanos() as f64 / rounds as f64;
    let start = Instant::now();
    let bad = "Bearer tonearm_sk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for _ in 0..rounds {
        black_box(creds.verify_key(Some(bad.as_bytes()), 1).is_err());
    }
    let per_bad = start.elapsed().as_nanos() as f64 / rounds as f64;
    println!("verify valid key (10k-key index): {per_call:.0} ns/call");
    println!("reject bad checksum (no lookup):  {per_bad:.0} ns/call");
}
