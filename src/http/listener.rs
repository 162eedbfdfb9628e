//! The accept loop: TLS (rustls, ring) or plain TCP, HTTP/1.1 and HTTP/2 through hyper-util's
//! auto builder, a cap on concurrent connections, header-read and idle timeouts, and graceful
//! shutdown (stop accepting, let in-flight requests finish up to a deadline).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::api::State;
use crate::config::{ServerConfig, TlsFiles};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("TLS: cannot read {path}: {message}")]
    TlsFile { path: String, message: String },
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// Builds the rustls server configuration: TLS 1.2 and 1.3 only, ALPN h2 then http/1.1.
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_file_error(&files.cert, e))?;
    if certs.is_empty() {
        return Err(Error::TlsFile {
            path: files.cert.display().to_string(),
            message: "no certificate found".into(),
        });
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| tls_file_error(&files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

fn tls_file_error(path: &Path, e: rustls::pki_types::pem::Error) -> Error {
    Error::TlsFile {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

pub async fn bind(cfg: &ServerConfig) -> Result<TcpListener, Error> {
    TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| Error::Bind {
            addr: cfg.listen.to_string(),
            source: e,
        })
}

/// Serves until `shutdown` flips to true, then drains connections for at most
/// `cfg.shutdown_grace`. Returns how many connections were still open at the deadline.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cfg: ServerConfig,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) -> usize {
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let open = Arc::new(AtomicUsize::new(0));
    let drained = Arc::new(tokio::sync::Notify::new());
    let cfg = Arc::new(cfg);
    loop {
        // Taking a slot before accepting leaves extra clients in the kernel's backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::SeqCst);
        let conn = Connection {
            cfg: cfg.clone(),
            state: state.clone(),
            shutdown: shutdown.clone(),
        };
        let tls = tls.clone();
        let open = open.clone();
        let drained = drained.clone();
        tokio::spawn(async move {
            conn.run(stream, tls, peer).await;
            drop(permit);
            if open.fetch_sub(1, Ordering::SeqCst) == 1 {
                drained.notify_waiters();
            }
        });
    }
    drop(listener);
    let deadline = tokio::time::sleep(cfg.shutdown_grace);
    tokio::pin!(deadline);
    loop {
        let notified = drained.notified();
        if open.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        tokio::select! {
            _ = notified => {}
            _ = &mut deadline => return open.load(Ordering::SeqCst),
        }
    }
}

struct Connection {
    cfg: Arc<ServerConfig>,
    state: Arc<State>,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>, peer: std::net::SocketAddr) {
        let activity = Arc::new(Activity::new());
        match tls {
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.cfg.header_read_timeout, acceptor.accept(stream))
                        .await;
                match handshake {
                    Ok(Ok(s)) => {
                        self.serve(TrackedIo::new(s, activity.clone()), activity, peer)
                            .await
                    }
                    Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                }
            }
            None => {
                self.serve(TrackedIo::new(stream, activity.clone()), activity, peer)
                    .await
            }
        }
    }

    async fn serve<I>(
        mut self,
        io: TrackedIo<I>,
        activity: Arc<Activity>,
        peer: std::net::SocketAddr,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let state = self.state.clone();
        let act = activity.clone();
        let service = service_fn(move |mut req| {
            let state = state.clone();
            let act = act.clone();
            req.extensions_mut().insert(PeerAddr(peer));
            async move {
                act.in_flight.fetch_add(1, Ordering::SeqCst);
                let resp = super::dispatch::handle(state, req).await;
                act.in_flight.fetch_sub(1, Ordering::SeqCst);
                act.touch();
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.cfg.header_read_timeout)
            .max_buf_size(self.cfg.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(self.cfg.max_header_bytes as u32)
            .max_concurrent_streams(256);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let idle = self.cfg.idle_timeout;
        let tick = (idle / 4).max(Duration::from_millis(100));
        let mut closing = false;
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with error");
                    }
                    return;
                }
                _ = self.shutdown.changed(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = tokio::time::sleep(tick), if !closing => {
                    if activity.idle_for() >= idle && activity.in_flight.load(Ordering::SeqCst) == 0 {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The TCP peer, available to handlers as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Last I/O time and requests in flight on one connection, for the idle timeout.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// An I/O stream that records when bytes last moved.
struct TrackedIo<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I> TrackedIo<I> {
    fn new(inner: I, activity: Arc<Activity>) -> Self {
        activity.touch();
        TrackedIo { inner, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for TrackedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
