//! What recording one request costs: `Metrics::request_at` (a counter by route, method and status
//! and a latency histogram by route) per call, on one thread and on two threads hitting the same
//! series, the hot path's case. Set against the server CPU time of one `GET /api/v1/me`
//! (`scripts/bench-metrics.sh`), this bounds the cost of metrics on the hot path.
//!
//! `cargo bench --bench metrics`

use std::sync::Arc;
use std::time::Instant;

use tonearm::metrics::Metrics;

const CALLS: u64 = 5_000_000;

/// As the request path calls it: the route's cached series.
fn run(m: &Metrics, calls: u64) {
    for i in 0..calls {
        m.request_at(
            4,
            "/api/v1/me",
            "GET",
            200,
            0.000_05 + (i % 7) as f64 * 1e-6,
        );
    }
}

fn main() {
    let m = Arc::new(Metrics::new(true, 8));
    run(&m, 100_000);
    let t = Instant::now();
    run(&m, CALLS);
    let one = t.elapsed().as_nanos() as f64 / CALLS as f64;
    let t = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || run(&m, CALLS))
        })
        .collect();
    for h in threads {
        let _ = h.join();
    }
    let two = t.elapsed().as_nanos() as f64 / CALLS as f64;
    let off = Metrics::new(false, 8);
    let t = Instant::now();
    run(&off, CALLS);
    let disabled = t.elapsed().as_nanos() as f64 / CALLS as f64;
    println!(
        "Metrics::request_at: {one:.0} ns per call on one thread; {two:.0} ns per call on each of two threads at once; disabled {disabled:.1} ns"
    );
}
