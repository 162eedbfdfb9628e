//! Composition root: opens the store, loads the credential index, binds the listener, runs the
//! background flusher and orchestrates shutdown. The only place the modules are wired together.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::State;
use crate::auth::Credentials;
use crate::config::Config;
use crate::http::listener;
use crate::store::Store;

/// How often in-memory last-used times reach the database: at most one write per key per period.
const LAST_USED_FLUSH: Duration = Duration::from_secs(60);

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
}

pub struct Server;

impl Server {
    /// Runs until SIGTERM or SIGINT, then shuts down gracefully. Prints `listening on ADDR` on
    /// stdout once the socket is bound, for supervisors and tests.
    pub async fn run(config: Config) -> Result<(), Error> {
        let dir = config.storage.data_dir.clone();
        let (store, keys, tokens) = tokio::task::spawn_blocking(move || {
            let store = Store::open(&dir)?;
            let (keys, tokens) = (store.all_keys()?, store.all_tokens()?);
            Ok::<_, crate::store::Error>((store, keys, tokens))
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        let credentials = Credentials::load(keys, tokens);
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
        let server_cfg = config.server.clone();
        let state = Arc::new(State {
            config,
            store,
            credentials,
        });

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
        let flusher = tokio::spawn(flush_last_used_periodically(
            state.clone(),
            shutdown_rx.clone(),
        ));

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
        let _ = flusher.await;
        flush_last_used(&state).await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn flush_last_used_periodically(state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LAST_USED_FLUSH) => flush_last_used(&state).await,
            _ = shutdown.changed() => return,
        }
    }
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
