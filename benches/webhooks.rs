//! Webhook delivery throughput and the memory of a large backlog.
//!
//! 1. Deliveries per second: N pending deliveries to a loopback receiver (hyper, answers 200 at
//!    once), the real scheduler and client, from the first attempt to the last recorded outcome.
//! 2. Backlog: 100,000 pending deliveries to a dead receiver (a closed port), the scheduler
//!    running through their first attempts; resident memory before and after.
//!
//! `cargo bench --bench webhooks [-- N] [backlog|throughput]` (N deliveries for part 1,
//! default 20000; both parts unless one is named).

// A benchmark that cannot set itself up has nothing to report: it stops with the reason.
#![allow(clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use tonearm::config::{Config, Source};
use tonearm::ids::{DeliveryId, EventId, now_ms};
use tonearm::store::schema::{DeliveryRecord, DeliveryStatus, WebhookSecretRecord};
use tonearm::store::{NewDelivery, Store};
use tonearm::webhooks::deliver::Deliveries;
use tonearm::webhooks::sign::Secret;
use tonearm::webhooks::url::WebhookUrl;
use tonearm::webhooks::vault::Vault;

const PROJECT: u128 = 7;

// The server binary's allocator, so the memory figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn body() -> Vec<u8> {
    // About the size of a real analysis.completed event.
    let result = serde_json::json!({"tempo": {"bpm": 120.0}, "key": {"key": "A minor"},
        "loudness": {"integrated_lufs": -14.0, "true_peak_dbtp": -1.0, "lra_lu": 6.0},
        "padding": "x".repeat(1500)});
    serde_json::to_vec(
        &serde_json::json!({"id": "evt_x", "type": "analysis.completed",
        "created": 0, "data": {"job_id": "job_x", "result": result}}),
    )
    .unwrap_or_default()
}

fn deliveries(n: usize, url: &str) -> Vec<NewDelivery> {
    let host = WebhookUrl::parse(url).map(|u| u.host_key()).unwrap_or(0);
    let now = now_ms();
    let body = body();
    (0..n)
        .map(|i| NewDelivery {
            id: DeliveryId::generate().map(|d| d.0).unwrap_or(i as u128),
            record: DeliveryRecord {
                project: PROJECT,
                job: i as u128,
                event: EventId::generate().map(|e| e.0).unwrap_or(0),
                event_type: "analysis.completed".into(),
                url: url.into(),
                host,
                body: body.clone(),
                created_at_ms: now,
                status: DeliveryStatus::Pending,
                attempts: 0,
                schedule_pos: 0,
                next_attempt_ms: Some(now),
                finished_at_ms: None,
            },
        })
        .collect()
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    deliveries: Arc<Deliveries>,
    stop: watch::Sender<bool>,
}

async fn setup(extra: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg_path = dir.path().join("tonearm.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "[storage]\ndata_dir = {:?}\n[webhooks]\n{extra}\n",
            dir.path().join("data")
        ),
    )
    .expect("config");
    let cfg = Config::load(&Source::File(cfg_path)).expect("config");
    let store = Store::open(&cfg.storage.data_dir).expect("store");
    let vault = Arc::new(Vault::open(&cfg.storage.data_dir).expect("vault"));
    let secret = Secret::generate().expect("secret");
    let sealed = vault.seal(1, &secret).expect("seal");
    store
        .insert_webhook_secret(
            1,
            &WebhookSecretRecord {
                project: PROJECT,
                label: "bench".into(),
                created_at_ms: now_ms(),
                revoked_at_ms: None,
                sealed,
            },
            5,
        )
        .expect("secret");
    let deliveries = Deliveries::new(store.clone(), vault, &cfg.webhooks).expect("deliveries");
    let (stop, _) = watch::channel(false);
    Setup {
        _dir: dir,
        store,
        deliveries,
        stop,
    }
}

async fn receiver() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

async fn wait_pending_at_most(store: &Store, n: u64, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let s = store.clone();
        let pending = tokio::task::spawn_blocking(move || s.pending_deliveries())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(u64::MAX);
        if pending <= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn throughput(n: usize, per_host: usize) {
    let addr = receiver().await;
    let s = setup(&format!(
        "max_in_flight = 64\nmax_in_flight_per_host = {per_host}"
    ))
    .await;
    let url = format!("http://{addr}/hook");
    s.store
        .insert_deliveries(&deliveries(n, &url))
        .expect("insert");
    let start = Instant::now();
    s.deliveries.start(s.stop.subscribe()).await.expect("start");
    let done = wait_pending_at_most(&s.store, 0, Duration::from_secs(600)).await;
    let secs = start.elapsed().as_secs_f64();
    let _ = s.stop.send(true);
    println!(
        "deliveries to a loopback receiver, max_in_flight_per_host = {per_host}: {n} in {secs:.2} s = {:.0} deliveries/s{}",
        n as f64 / secs,
        if done { "" } else { " (NOT all delivered)" }
    );
}

async fn backlog(n: usize) {
    // A closed port: every attempt fails at once with "connection refused".
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", dead.local_addr().expect("addr"));
    drop(dead);
    let s = setup("retry_schedule = [\"0s\", \"10h\"]").await;
    let before = rss_mb();
    for start in (0..n).step_by(10_000) {
        let chunk = deliveries((n - start).min(10_000), &url);
        s.store.insert_deliveries(&chunk).expect("insert");
    }
    let stored = rss_mb();
    let start = Instant::now();
    s.deliveries.start(s.stop.subscribe()).await.expect("start");
    // Run until every delivery has made its first attempt (all then wait 10 h), sampling RSS.
    let mut peak = rss_mb();
    let mut samples = Vec::new();
    let mut next_sample = Instant::now();
    let s2 = s.store.clone();
    let until = Instant::now() + Duration::from_secs(900);
    loop {
        peak = peak.max(rss_mb());
        if Instant::now() >= next_sample {
            samples.push(format!(
                "{:.0}s {:.0}",
                start.elapsed().as_secs_f64(),
                rss_mb()
            ));
            next_sample += Duration::from_secs(20);
        }
        let st = s2.clone();
        let due = tokio::task::spawn_blocking(move || st.next_due_ms())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        if due.is_some_and(|d| d > now_ms() + 3_600_000) || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let pending = s.store.pending_deliveries().unwrap_or(0);
    let _ = s.stop.send(true);
    println!(
        "backlog: {n} pending to a dead receiver: RSS {before:.0} MB before, {stored:.0} MB once stored, peak {peak:.0} MB while all {n} first attempts ran ({secs:.1} s, {:.0} attempts/s); {pending} still pending",
        n as f64 / secs
    );
    println!("  RSS (MB) during the run: {}", samples.join(", "));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let only = |part: &str| {
        !args.iter().any(|a| a == "backlog" || a == "throughput") || args.iter().any(|a| a == part)
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        if only("backlog") {
            backlog(10_000).await;
            backlog(100_000).await;
        }
        if only("throughput") {
            throughput(n, 4).await;
            throughput(n, 64).await;
        }
    });
}
