//! Composition root: opens the store, loads the credential index, binds the listener, runs the
//! background flusher and orchestrates shutdown. The only place the modules are wired together.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::State;
use crate::api::accounts_policy_state;
use crate::auth::Credentials;
use crate::config::{Config, Source};
use crate::http::listener;
use crate::ids::now_ms;
use crate::jobs::Jobs;
use crate::policy::Policy;
use crate::policy::auth_failures::AuthFailures;
use crate::policy::month::month_index;
use crate::policy::uploads::InFlightUploads;
use crate::store::Store;
use crate::webhooks::deliver::Deliveries;
use crate::webhooks::vault::Vault;

/// How often in-memory last-used times reach the database: at most one write per key per period.
const LAST_USED_FLUSH: Duration = Duration::from_secs(60);
/// How often monthly call counts reach the database: a crash loses at most this much.
const USAGE_FLUSH: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Listener(#[from] listener::Error),
    #[error("cannot install signal handler: {0}")]
    Signal(std::io::Error),
    #[error("start-up task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Jobs(#[from] crate::jobs::Error),
    #[error(transparent)]
    Vault(#[from] crate::webhooks::vault::Error),
    #[error(transparent)]
    Library(#[from] crate::library::Error),
    #[error(transparent)]
    Webhooks(#[from] crate::webhooks::deliver::Error),
}

/// File descriptors the server keeps open besides connections: the database, uploads being
/// written, outbound webhook sockets, logs.
const OTHER_FILES: u64 = 64;

/// The path as the operator should see it in logs: absolute, so a relative `data_dir` cannot
/// hide which directory a server (or `admin bootstrap`) used.
pub fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The configuration's origin for logs: its absolute path, or the built-in defaults.
pub fn describe_source(source: &Source) -> String {
    match source {
        Source::File(p) => absolute(p).display().to_string(),
        Source::Defaults => "built-in defaults (no config file)".to_string(),
    }
}

pub struct Server;

impl Server {
    /// Runs until SIGTERM or SIGINT, then shuts down gracefully. Prints `listening on ADDR` on
    /// stdout once the socket is bound, for supervisors and tests.
    pub async fn run(config: Config, source: Source) -> Result<(), Error> {
        // Bound first: a server that cannot listen must not leave an empty data directory.
        let tls = config
            .server
            .tls
            .as_ref()
            .map(listener::tls_acceptor)
            .transpose()?;
        let tcp = listener::bind(&config.server).await?;
        let addr = tcp.local_addr().map_err(|e| listener::Error::Bind {
            addr: config.server.listen.to_string(),
            source: e,
        })?;
        match listener::raise_open_files_limit() {
            Some((soft, hard)) => {
                tracing::info!(open_files = soft, hard_limit = hard, "open-file limit");
                let needed = config.server.max_connections as u64 + OTHER_FILES;
                if soft < needed {
                    tracing::warn!(
                        open_files = soft,
                        max_connections = config.server.max_connections,
                        "the open-file limit is below server.max_connections plus the files the \
                         server keeps open; raise LimitNOFILE or lower max_connections"
                    );
                }
            }
            None => tracing::warn!("cannot read the open-file limit"),
        }
        let dir = config.storage.data_dir.clone();
        let month = month_index(now_ms());
        let (store, keys, tokens, accounts, usage, sounds) =
            tokio::task::spawn_blocking(move || {
                let store = Store::open(&dir)?;
                let (keys, tokens) = (store.all_keys()?, store.all_tokens()?);
                let (accounts, usage) = (store.all_accounts()?, store.usage_for_month(month)?);
                let sounds = store.all_sounds()?;
                Ok::<_, crate::store::Error>((store, keys, tokens, accounts, usage, sounds))
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        // The search index lives in memory and is built from the store at every start.
        let index_started = std::time::Instant::now();
        let sound_count = sounds.len();
        let library = Arc::new(crate::library::Library::open(
            &config.storage.data_dir,
            sounds,
        )?);
        tracing::info!(
            sounds = sound_count,
            ms = index_started.elapsed().as_millis() as u64,
            "built the sound library's search index"
        );
        crate::backup::remove_stale(&config.storage.data_dir);
        tracing::info!(
            data_dir = %absolute(&config.storage.data_dir).display(),
            config = %describe_source(&source),
            "opened the data directory"
        );
        let credentials = Credentials::load(keys, tokens);
        let policy = Policy::new(config.plans.clone(), config.server.trusted_proxies.clone());
        for (id, a) in &accounts {
            policy.set_account(*id, accounts_policy_state(a));
        }
        policy.load_month_counts(month, usage);
        let server_cfg = config.server.clone();
        let vault = Arc::new(Vault::open(&config.storage.data_dir)?);
        let deliveries = Deliveries::new(store.clone(), vault.clone(), &config.webhooks)?;
        let jobs = Jobs::new(
            store.clone(),
            &config.storage.data_dir,
            &config,
            deliveries.clone(),
        )?;
        // The audio tagger's plan is built once per process; build it now, off the runtime, so
        // the first job does not wait for it. Then the library's sounds that have no machine
        // tags yet (imported before the model) are listened to.
        let (tag_library, tag_store) = (library.clone(), store.clone());
        std::thread::spawn(move || match crate::engine::tags::model::warm_up() {
            Ok(()) => {
                tracing::info!("audio tagger loaded");
                crate::library::backfill::run(&tag_library, &tag_store);
            }
            Err(e) => {
                tracing::error!(error = %e, "audio tagger unavailable: genre and mood will be null")
            }
        });
        let keep_results = config.storage.keep_results;
        let uploads = InFlightUploads::new(
            config.analysis.max_uploads_per_key,
            config.analysis.max_uploads_per_account,
        );
        let metrics = Arc::new(crate::metrics::Metrics::new(
            config.metrics.enabled,
            crate::http::route::Route::ALL.len(),
        ));
        let _ = jobs.metrics.set(metrics.clone());
        let _ = deliveries.metrics.set(metrics.clone());
        let leak_reports = AuthFailures::new(config.leaks.reports_per_minute);
        let metrics_listener = match config.metrics.listen {
            Some(a) if config.metrics.enabled => {
                Some(crate::http::metrics_listener::bind(a).await?)
            }
            _ => None,
        };
        let state = Arc::new(State {
            config,
            store,
            credentials,
            policy,
            auth_failures: AuthFailures::new(server_cfg.auth_failures_per_minute),
            uploads,
            jobs: jobs.clone(),
            vault,
            deliveries: deliveries.clone(),
            idempotency: Default::default(),
            metrics,
            leak_reports,
            backup_running: Default::default(),
            library,
        });
        let resumed = {
            let jobs = jobs.clone();
            tokio::task::spawn_blocking(move || jobs.recover())
                .await
                .map_err(|e| Error::Task(e.to_string()))??
        };
        if resumed > 0 {
            tracing::info!(
                jobs = resumed,
                "resuming jobs accepted before the last stop"
            );
        }
        if let Err(e) = jobs.sweep(keep_results, true).await {
            tracing::warn!(error = %e, "retention sweep failed");
        }

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(Error::Signal)?;
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(Error::Signal)?;
        tokio::spawn(async move {
            tokio::select! {
                _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = sigint.recv() => tracing::info!("SIGINT: shutting down"),
            }
            let _ = shutdown_tx.send(true);
        });
        let flusher = tokio::spawn(flush_periodically(state.clone(), shutdown_rx.clone()));
        jobs.start_workers(shutdown_rx.clone());
        deliveries.start(shutdown_rx.clone()).await?;
        tokio::spawn(sweep_periodically(
            jobs.clone(),
            keep_results,
            shutdown_rx.clone(),
        ));
        tokio::spawn(reload_on_sighup(state.clone(), source)?);
        tokio::spawn(purge_audit_periodically(state.clone(), shutdown_rx.clone()));
        if let Some(l) = metrics_listener {
            if let Ok(a) = l.local_addr() {
                tracing::info!(address = %a, "metrics listening");
            }
            tokio::spawn(crate::http::metrics_listener::serve(
                l,
                state.clone(),
                shutdown_rx.clone(),
            ));
        }

        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(address = %addr, scheme, "listening");
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();

        let still_open = listener::serve(tcp, tls, server_cfg, state.clone(), shutdown_rx).await;
        if still_open > 0 {
            tracing::warn!(
                connections = still_open,
                "shutdown deadline passed with requests in flight"
            );
        }
        match jobs.release_running().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "jobs still running are queued for the next start"),
            Err(e) => {
                tracing::warn!(error = %e, "could not queue the running jobs again; they count as interrupted")
            }
        }
        let _ = flusher.await;
        flush_last_used(&state).await;
        flush_usage(&state).await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn flush_periodically(state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let mut last_used = tokio::time::interval(LAST_USED_FLUSH);
    let mut usage = tokio::time::interval(USAGE_FLUSH);
    loop {
        tokio::select! {
            _ = last_used.tick() => flush_last_used(&state).await,
            _ = usage.tick() => flush_usage(&state).await,
            _ = shutdown.changed() => return,
        }
    }
}

/// How often retention runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

async fn sweep_periodically(
    jobs: Arc<Jobs>,
    keep_results: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {
                match jobs.sweep(keep_results, false).await {
                    Ok(n) if n > 0 => tracing::info!(jobs = n, "retention: deleted expired jobs"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Deletes audit entries older than `audit.keep_days`, at start and then every `SWEEP_EVERY`.
async fn purge_audit_periodically(state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let cutoff = now_ms().saturating_sub(state.config.audit.keep.as_millis() as u64);
        match state.db(move |s| s.purge_audit(cutoff)).await {
            Ok(n) if n > 0 => tracing::info!(entries = n, "retention: deleted old audit entries"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "audit retention failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Writes the in-memory counters (monthly usage, last-used times) now, so that a backup taken
/// next holds them as they are.
pub async fn flush_counters(state: &Arc<State>) {
    flush_usage(state).await;
    flush_last_used(state).await;
}

async fn flush_usage(state: &Arc<State>) {
    let counts = state.policy.take_dirty_months();
    let days: Vec<_> = state
        .policy
        .take_day_counts()
        .into_iter()
        .map(|c| (c.account, c.key, c.day, c.requests, c.analyses))
        .collect();
    if !counts.is_empty()
        && let Err(e) = state.db(move |s| s.record_usage(&counts)).await
    {
        tracing::warn!(error = %e.message, "could not record monthly usage");
    }
    // Day counts are for charts, not limits: a failed write loses at most a second of them.
    if !days.is_empty()
        && let Err(e) = state.db(move |s| s.add_day_counts(&days)).await
    {
        tracing::warn!(error = %e.message, "could not record daily usage");
    }
}

/// SIGHUP re-reads the configuration file and applies new plan numbers and trusted proxies;
/// other options need a restart. A file that fails validation is logged and ignored.
fn reload_on_sighup(
    state: Arc<State>,
    source: Source,
) -> Result<impl std::future::Future<Output = ()>, Error> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(Error::Signal)?;
    Ok(async move {
        while hup.recv().await.is_some() {
            match Config::load(&source) {
                Ok(c) => {
                    state
                        .policy
                        .reload(c.plans.clone(), c.server.trusted_proxies.clone());
                    tracing::info!(plans = c.plans.len(), "SIGHUP: configuration reloaded");
                }
                Err(e) => tracing::error!(error = %e, "SIGHUP: configuration not reloaded"),
            }
        }
    })
}

async fn flush_last_used(state: &Arc<State>) {
    let (keys, tokens) = state.credentials.take_last_used();
    if keys.is_empty() && tokens.is_empty() {
        return;
    }
    if let Err(e) = state.db(move |s| s.record_last_used(&keys, &tokens)).await {
        tracing::warn!(error = %e.message, "could not record last-used times");
    }
}
