//! The policy decision per authenticated call: account and plan checks, the exact minute window
//! and the month counter. `cargo bench --bench policy`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use tonearm::config::Plan;
use tonearm::policy::{AccountState, Policy};

fn main() {
    let mut plans = BTreeMap::new();
    plans.insert(
        "default".to_string(),
        Plan {
            requests_per_minute: 1_000_000,
            calls_per_month: tonearm::config::Quota::Max(u64::MAX),
            ..Plan::builtin_default()
        },
    );
    let policy = Policy::new(plans, vec![]);
    policy.set_account(
        1,
        AccountState {
            plan: "default".into(),
            disabled: false,
            allowed_ips: vec![],
        },
    );
    let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let rounds = 500_000u64;
    let start = Instant::now();
    for i in 0..rounds {
        // One call per 50 µs of simulated time: the window holds up to 1.2 million entries.
        black_box(policy.admit(7, 1, ip, 1_000_000 + i / 20));
    }
    let ns = start.elapsed().as_nanos() as f64 / rounds as f64;
    println!("policy admit (one key, limit 1 000 000/min, month counter): {ns:.0} ns/call");
}
