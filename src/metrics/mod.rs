//! Prometheus metrics: one registry per server (tests start many servers in one process, so
//! nothing is global), counters and histograms updated on the paths that own the events, and
//! gauges read at scrape time. Labels are bounded: route templates, methods, status codes and
//! fixed outcome names, never raw paths or credential ids.

mod histogram;
pub mod process;

pub use histogram::AtomicHistogram;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The scrape answer's media type (the encoder writes OpenMetrics text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's path template (`/api/v1/jobs/{job_id}`), or `unmatched`.
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
    pub method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RealmLabels {
    pub realm: &'static str,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// Statuses whose request counters each route caches; others go through the family's map.
const CACHED_STATUSES: [u16; 16] = [
    200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503,
];

/// One route's series, looked up once: the request path then touches only atomics.
#[derive(Default)]
struct RouteSeries {
    latency: OnceLock<AtomicHistogram>,
    requests: [OnceLock<Counter>; CACHED_STATUSES.len()],
}

/// Every metric tonearm exports. Cheap to share behind an `Arc`; all updates are lock-free
/// atomics except the first use of a new label set.
pub struct Metrics {
    /// False when `metrics.enabled = false`: the request path then records nothing.
    pub enabled: bool,
    registry: Registry,
    /// `process_*` metrics, unprefixed.
    process: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, AtomicHistogram>,
    /// By the caller's route index (`Route as usize`).
    series: Vec<RouteSeries>,
    jobs: Family<StateLabels, Gauge>,
    jobs_finished: Family<StateLabels, Counter>,
    queue_depth: Gauge,
    analysis_seconds: Histogram,
    audio_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    upload_bytes: Counter,
    deliveries: Family<OutcomeLabels, Counter>,
    deliveries_pending: Gauge,
    refusals: Family<ReasonLabels, Counter>,
    auth_failures: Family<RealmLabels, Counter>,
    credits_spent: Counter,
    leaked_revoked: Counter,
    db_size: Gauge,
    connections: Gauge,
    /// Connections open on the main listener, kept by the accept loop.
    pub open_connections: AtomicUsize,
    rss: Gauge,
    cpu: FloatGauge,
    open_fds: Gauge,
    max_fds: Gauge,
}

/// Values read when a scrape comes in.
#[derive(Debug, Default, Clone, Copy)]
pub struct Snapshot {
    pub queued: i64,
    pub running: i64,
    pub queue_depth: i64,
    pub deliveries_pending: i64,
    pub db_bytes: i64,
}

impl Metrics {
    /// `routes`: how many route indexes `request_at` will be called with.
    pub fn new(enabled: bool, routes: usize) -> Metrics {
        let mut r = Registry::with_prefix("tonearm");
        let requests = Family::<RequestLabels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, AtomicHistogram>::new_with_constructor(|| {
            // 0.5 ms to ~16 s: the fast credential routes and the slow uploads alike.
            AtomicHistogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        r.register_with_unit(
            "http_request_duration",
            "Time from request head to response head, by route template",
            Unit::Seconds,
            latency.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        r.register("jobs", "Jobs not yet finished, by state", jobs.clone());
        let jobs_finished = Family::<StateLabels, Counter>::default();
        r.register(
            "jobs_finished",
            "Jobs that ended, by final state",
            jobs_finished.clone(),
        );
        let queue_depth = Gauge::default();
        r.register(
            "job_queue_depth",
            "Jobs waiting for an analysis thread",
            queue_depth.clone(),
        );
        let analysis_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        r.register_with_unit(
            "analysis_duration",
            "Wall time of one analysis, from a thread taking it up to its result",
            Unit::Seconds,
            analysis_seconds.clone(),
        );
        let audio_seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        r.register_with_unit(
            "audio_analysed",
            "Seconds of audio analysed successfully",
            Unit::Seconds,
            audio_seconds.clone(),
        );
        let upload_bytes = Counter::default();
        r.register_with_unit(
            "upload",
            "Bytes of audio accepted for analysis",
            Unit::Bytes,
            upload_bytes.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        r.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (success, failure, gone)",
            deliveries.clone(),
        );
        let deliveries_pending = Gauge::default();
        r.register(
            "webhook_deliveries_pending",
            "Webhook deliveries waiting for their next attempt",
            deliveries_pending.clone(),
        );
        let refusals = Family::<ReasonLabels, Counter>::default();
        r.register(
            "refusals",
            "Requests refused by a limit: rate_limit, quota, credits, queue_full, uploads, leak_reports",
            refusals.clone(),
        );
        let auth_failures = Family::<RealmLabels, Counter>::default();
        r.register(
            "auth_failures",
            "Failed authentications (a wrong, revoked, expired or malformed credential) by realm",
            auth_failures.clone(),
        );
        let credits_spent = Counter::default();
        r.register(
            "credits_spent",
            "Credits charged for analyses",
            credits_spent.clone(),
        );
        let leaked_revoked = Counter::default();
        r.register(
            "leaked_credentials_revoked",
            "Keys and tokens revoked because they were reported leaked",
            leaked_revoked.clone(),
        );
        let db_size = Gauge::default();
        r.register_with_unit(
            "database_size",
            "Size of the database file",
            Unit::Bytes,
            db_size.clone(),
        );
        let connections = Gauge::default();
        r.register(
            "open_connections",
            "Client connections open on the main listener",
            connections.clone(),
        );
        // The conventional process_* names, so stock dashboards find them.
        let mut p = Registry::default();
        let rss = Gauge::default();
        let cpu = FloatGauge::default();
        let open_fds = Gauge::default();
        let max_fds = Gauge::default();
        let start_time: Gauge = Gauge::default();
        {
            let proc_reg = p.sub_registry_with_prefix("process");
            proc_reg.register_with_unit(
                "resident_memory",
                "Resident memory size",
                Unit::Bytes,
                rss.clone(),
            );
            proc_reg.register_with_unit(
                "cpu",
                "User and system CPU time spent",
                Unit::Seconds,
                cpu.clone(),
            );
            proc_reg.register("open_fds", "Open file descriptors", open_fds.clone());
            proc_reg.register("max_fds", "Open file descriptor limit", max_fds.clone());
            proc_reg.register_with_unit(
                "start_time",
                "Start time of the process since the Unix epoch",
                Unit::Seconds,
                start_time.clone(),
            );
        }
        start_time.set(crate::ids::now_ms() as i64 / 1000);
        Metrics {
            enabled,
            registry: r,
            process: p,
            requests,
            latency,
            series: (0..routes).map(|_| RouteSeries::default()).collect(),
            jobs,
            jobs_finished,
            queue_depth,
            analysis_seconds,
            audio_seconds,
            upload_bytes,
            deliveries,
            deliveries_pending,
            refusals,
            auth_failures,
            credits_spent,
            leaked_revoked,
            db_size,
            connections,
            open_connections: AtomicUsize::new(0),
            rss,
            cpu,
            open_fds,
            max_fds,
        }
    }

    /// One answered request on the route with index `index` (its series are cached there).
    pub fn request_at(
        &self,
        index: usize,
        route: &'static str,
        method: &'static str,
        status: u16,
        secs: f64,
    ) {
        if !self.enabled {
            return;
        }
        let Some(s) = self.series.get(index) else {
            return self.request(route, method, status, secs);
        };
        s.latency
            .get_or_init(|| {
                self.latency
                    .get_or_create_owned(&RouteLabels { route, method })
            })
            .observe(secs);
        let labels = || RequestLabels {
            route,
            method,
            status,
        };
        match CACHED_STATUSES.iter().position(|c| *c == status) {
            Some(i) => s.requests[i]
                .get_or_init(|| self.requests.get_or_create_owned(&labels()))
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }

    /// One answered request, looked up by its labels.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, secs: f64) {
        if !self.enabled {
            return;
        }
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(secs);
    }

    pub fn refusal(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn auth_failure(&self, realm: &'static str) {
        self.auth_failures
            .get_or_create(&RealmLabels { realm })
            .inc();
    }

    pub fn job_finished(&self, succeeded: bool, analysis_secs: f64, audio_secs: Option<f64>) {
        let state = if succeeded { "succeeded" } else { "failed" };
        self.jobs_finished
            .get_or_create(&StateLabels { state })
            .inc();
        self.analysis_seconds.observe(analysis_secs);
        if let Some(a) = audio_secs.filter(|a| a.is_finite() && *a > 0.0) {
            self.audio_seconds.inc_by(a);
        }
    }

    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
    }

    pub fn credits_spent(&self, credits: u64) {
        self.credits_spent.inc_by(credits);
    }

    pub fn leaked_revoked(&self, n: u64) {
        self.leaked_revoked.inc_by(n);
    }

    /// `outcome`: `success`, `failure` (an error or a non-2xx answer) or `gone` (410).
    pub fn delivery(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The exposition text, after refreshing the gauges read at scrape time.
    pub fn render(&self, snap: Snapshot) -> String {
        self.jobs
            .get_or_create(&StateLabels { state: "queued" })
            .set(snap.queued);
        self.jobs
            .get_or_create(&StateLabels { state: "running" })
            .set(snap.running);
        self.queue_depth.set(snap.queue_depth);
        self.deliveries_pending.set(snap.deliveries_pending);
        self.db_size.set(snap.db_bytes);
        self.connections
            .set(self.open_connections.load(Ordering::Relaxed) as i64);
        if let Some(p) = process::sample() {
            self.rss.set(p.rss_bytes as i64);
            self.cpu.set(p.cpu_seconds);
            self.open_fds.set(p.open_fds as i64);
            self.max_fds.set(p.max_fds as i64);
        }
        let mut out = String::with_capacity(16 * 1024);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.process);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}
