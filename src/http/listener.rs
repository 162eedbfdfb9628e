//! The accept loop: TLS (rustls, ring) or plain TCP, HTTP/1.1 and HTTP/2 through hyper-util's
//! auto builder, a cap on concurrent connections, header-read and idle timeouts, and graceful
//! shutdown (stop accepting, let in-flight requests finish up to a deadline).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
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

/// Raises the soft open-file limit to the hard limit, so `max_connections` sockets, the database
/// and the uploads fit. Returns the limit now in force (soft, hard), or `None` where it cannot
/// be read.
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    Some((lim.rlim_cur, lim.rlim_max))
}

/// The answer to a connection over `max_connections`: written without waiting (the socket
/// buffer of a fresh connection always has room for it), then the socket is closed. Costs no
/// task and no timer, so a flood of connections cannot grow the server's memory.
static BUSY_RESPONSE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = r#"{"error":{"code":"too_many_connections","message":"the server is at its connection limit; retry after the Retry-After delay"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Serves until `shutdown` flips to true, then drains connections for at most
/// `cfg.shutdown_grace`. Returns how many connections were still open at the deadline.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cfg: ServerConfig,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) -> usize {
    let open = Arc::new(AtomicUsize::new(0));
    let drained = Arc::new(tokio::sync::Notify::new());
    let cfg = Arc::new(cfg);
    loop {
        // Every connection is accepted at once: one left in the kernel's queue cannot be told
        // anything, and a queue full of silent sockets would lock out /healthz.
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
        if open.load(Ordering::SeqCst) >= cfg.max_connections {
            if tls.is_none() {
                let _ = stream.try_write(&BUSY_RESPONSE);
            }
            tracing::debug!(peer = %peer, "connection refused: max_connections reached");
            continue;
        }
        let accepted = tokio::time::Instant::now();
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::SeqCst);
        state
            .metrics
            .open_connections
            .fetch_add(1, Ordering::Relaxed);
        let conn = Connection {
            cfg: cfg.clone(),
            state: state.clone(),
            shutdown: shutdown.clone(),
            first_request_by: accepted + cfg.header_read_timeout,
        };
        let tls = tls.clone();
        let open = open.clone();
        let drained = drained.clone();
        let metrics = state.metrics.clone();
        tokio::spawn(async move {
            conn.run(stream, tls, peer).await;
            metrics.open_connections.fetch_sub(1, Ordering::Relaxed);
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
    /// The first request's head must be complete by then (TLS handshake included): hyper's own
    /// header timeout starts only once it knows the protocol, so a socket that never sends a
    /// byte would otherwise stay open until the idle timeout.
    first_request_by: tokio::time::Instant,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>, peer: std::net::SocketAddr) {
        let activity = Arc::new(Activity::new());
        match tls {
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout_at(self.first_request_by, acceptor.accept(stream)).await;
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
                act.requests.fetch_add(1, Ordering::SeqCst);
                act.in_flight.fetch_add(1, Ordering::SeqCst);
                act.head_since_ms.store(0, Ordering::SeqCst);
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
            // hyper's own header timer also runs while it reads ahead for the next request on a
            // connection whose response is still streaming, so it cut event streams and slow
            // downloads after `header_read_timeout`. The loop below times request heads itself.
            .header_read_timeout(None)
            .max_headers(self.cfg.max_headers)
            .max_buf_size(self.cfg.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(self.cfg.max_header_bytes as u32)
            .max_concurrent_streams(256);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let idle = self.cfg.idle_timeout;
        let head_timeout = self.cfg.header_read_timeout;
        let tick = (idle.min(head_timeout) / 4).max(Duration::from_millis(100));
        let mut closing = false;
        let first_request_by = self.first_request_by;
        loop {
            let waiting_for_first = activity.requests.load(Ordering::SeqCst) == 0;
            tokio::select! {
                _ = tokio::time::sleep_until(first_request_by), if waiting_for_first => {
                    // No request head in time: drop the socket without an answer, as for a
                    // slowloris client there is nobody listening for one.
                    tracing::debug!(peer = %peer, "no request within header_read_timeout");
                    return;
                }
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
                _ = tokio::time::sleep(tick) => {
                    if activity.head_pending_for().is_some_and(|d| d >= head_timeout) {
                        // A later request's head started and did not finish in time.
                        tracing::debug!(peer = %peer, "request head not complete within header_read_timeout");
                        return;
                    }
                    if !closing && activity.idle_for() >= idle && activity.in_flight.load(Ordering::SeqCst) == 0 {
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
    /// Requests whose head has been read on this connection.
    requests: AtomicU64,
    /// When bytes of a request head not yet complete first arrived (ms since `start`, plus 1;
    /// 0 when none is pending): bytes that arrive while no request is in flight start one.
    head_since_ms: AtomicU64,
    /// Set by the first bytes read: whether the client spoke HTTP/2 (its preface starts "PRI"),
    /// whose frames between requests (pings, window updates) start no request head.
    http2: OnceLock<bool>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(0),
            http2: OnceLock::new(),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// `bytes` arrived: on HTTP/1, when no request is in flight, they start the next head.
    fn read_some(&self, bytes: &[u8]) {
        self.touch();
        let http2 = *self.http2.get_or_init(|| bytes.starts_with(b"PRI"));
        if !http2 && self.in_flight.load(Ordering::SeqCst) == 0 {
            let now = self.start.elapsed().as_millis() as u64 + 1;
            let _ = self
                .head_since_ms
                .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// How long the head now arriving has been on its way, if one is.
    fn head_pending_for(&self) -> Option<Duration> {
        let since = self.head_since_ms.load(Ordering::SeqCst);
        if since == 0 || self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let now = self.start.elapsed().as_millis() as u64 + 1;
        Some(Duration::from_millis(now.saturating_sub(since)))
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// An I/O stream that records when bytes last moved, and gives hyper's own answers to request
/// heads it cannot parse (400, 414, 431, written with an empty body before any handler runs) the
/// JSON error body every other error has.
struct TrackedIo<I> {
    inner: I,
    activity: Arc<Activity>,
    rewrite: Option<Rewrite>,
}

/// An automatic answer being written in place of hyper's: the bytes, how many are out, and how
/// many of hyper's bytes they stand for.
struct Rewrite {
    bytes: Vec<u8>,
    written: usize,
    replaces: usize,
}

impl<I> TrackedIo<I> {
    fn new(inner: I, activity: Arc<Activity>) -> Self {
        activity.touch();
        TrackedIo {
            inner,
            activity,
            rewrite: None,
        }
    }
}

/// hyper's automatic reply to an unparsable request head, rewritten with a JSON error body; `None`
/// for anything else. Every response tonearm's handlers write has a body, so a 4xx head with
/// `content-length: 0` and nothing after it can only be hyper's.
fn automatic_reply(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.1 4") || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    if head.matches("\r\n\r\n").count() != 1
        || !head
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let status_line = head.split("\r\n").next()?;
    let (code, message) = match status_line.get(9..12)? {
        "400" => (
            super::error::ErrorCode::MalformedRequest,
            "the request line or a header is not valid HTTP/1.1".to_string(),
        ),
        "414" => (
            super::error::ErrorCode::UriTooLong,
            "the request target is too long".to_string(),
        ),
        "431" => (
            super::error::ErrorCode::HeadersTooLarge,
            "the request head is too large: see server.max_header_bytes and server.max_headers"
                .to_string(),
        ),
        _ => return None,
    };
    let request_id = super::dispatch::new_request_id();
    let body = super::error::ApiError::new(code, message)
        .body(&request_id)
        .to_string();
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\nx-request-id: {request_id}\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
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
            self.activity.read_some(&buf.filled()[before..]);
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none()
            && let Some(bytes) = automatic_reply(buf)
        {
            this.rewrite = Some(Rewrite {
                bytes,
                written: 0,
                replaces: buf.len(),
            });
        }
        if let Some(rw) = this.rewrite.as_mut() {
            while rw.written < rw.bytes.len() {
                match Pin::new(&mut this.inner).poll_write(cx, &rw.bytes[rw.written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                    Poll::Ready(Ok(n)) => {
                        rw.written += n;
                        this.activity.touch();
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let n = rw.replaces;
            this.rewrite = None;
            return Poll::Ready(Ok(n));
        }
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
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
        // A lone head goes through `poll_write`, where an automatic reply is recognised.
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (parts.next(), parts.next())
            && (self.rewrite.is_some() || only.starts_with(b"HTTP/1.1 4"))
        {
            return self.poll_write(cx, only);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_automatic_431_gets_a_json_body() {
        let hyper_reply = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 07:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(automatic_reply(hyper_reply).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large");
    }

    #[test]
    fn handler_responses_are_left_alone() {
        let with_body = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        assert!(automatic_reply(with_body).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(automatic_reply(ok).is_none());
        let other = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n";
        assert!(automatic_reply(other).is_none());
    }
}
