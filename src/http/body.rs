//! Request and response bodies: JSON in with a size cap (413 before reading when Content-Length
//! already says too much), JSON out.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::time::Instant;

use super::error::{ApiError, ErrorCode};

pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A streamed response body: each chunk sent on the channel is one frame, and the body ends when
/// every sender is gone. The channel's bound is what keeps a slow client from growing memory.
pub fn channel(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Body {
    ChannelBody(rx).boxed()
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    json_bytes_response(
        status,
        serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

/// A response with a JSON document the caller has already rendered.
pub fn json_bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Reads and drops a request body, stopping after `limit` bytes (the connection is then closed
/// by the HTTP layer as for any unread body).
pub async fn discard(mut body: Incoming, limit: u64) {
    let mut seen = 0u64;
    while seen <= limit {
        match body.frame().await {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len() as u64),
            Some(Err(_)) | None => return,
        }
    }
}

/// How long a refused request's body is still read before the connection closes.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(5);

/// Most of a body refused before its route is known read away: far above any JSON body, and
/// `LINGER` ends the reading sooner on all but the fastest links.
pub const REFUSED_BODY_LIMIT: u64 = 256 * 1024 * 1024;

/// After a refusal that came before the body was read: reads and drops what the client is
/// still sending (at most `limit` bytes, for at most `LINGER`), in the background while the
/// answer goes out. An HTTP/1.1 client that writes its whole body before it reads would
/// otherwise see the connection reset instead of the answer.
pub fn linger_unread(body: Incoming, limit: u64) {
    if !hyper::body::Body::is_end_stream(&body) {
        tokio::spawn(async move {
            let _ = tokio::time::timeout(LINGER, discard(body, limit)).await;
        });
    }
}

/// The declared length, when the client sent one.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// How fast a request body must arrive: at least `min_bytes_per_sec` (and at least one byte) in
/// every window of `window`.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub window: Duration,
    pub min_bytes_per_sec: u64,
}

impl Pace {
    fn needed_per_window(&self) -> u64 {
        ((self.min_bytes_per_sec as f64 * self.window.as_secs_f64()) as u64).max(1)
    }
}

/// Why a paced body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body arrived too slowly and was dropped")]
    TooSlow,
    #[error("the request body could not be read: {0}")]
    Read(#[from] hyper::Error),
}

/// The body's data as a stream that fails with `BodyError::TooSlow` when a window of
/// `pace.window` passes with too few bytes: a client that stalls or trickles its body is cut
/// off instead of holding a connection, an upload place and a partial file for ever.
pub fn paced(body: Incoming, pace: Pace) -> impl Stream<Item = Result<Bytes, BodyError>> {
    struct State {
        body: Incoming,
        window_end: Instant,
        bytes: u64,
        failed: bool,
    }
    let needed = pace.needed_per_window();
    let start = State {
        body,
        window_end: Instant::now() + pace.window,
        bytes: 0,
        failed: false,
    };
    futures_util::stream::unfold(start, move |mut st| async move {
        if st.failed {
            return None;
        }
        loop {
            let frame = tokio::time::timeout_at(st.window_end, st.body.frame()).await;
            let now = Instant::now();
            if let Ok(Some(Ok(f))) = &frame {
                st.bytes += f.data_ref().map_or(0, |d| d.len() as u64);
            }
            if now >= st.window_end {
                if st.bytes < needed {
                    st.failed = true;
                    return Some((Err(BodyError::TooSlow), st));
                }
                st.window_end = now + pace.window;
                st.bytes = 0;
            }
            match frame {
                Err(_) => continue,
                Ok(None) => return None,
                Ok(Some(Err(e))) => {
                    st.failed = true;
                    return Some((Err(BodyError::Read(e)), st));
                }
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        return Some((Ok(data), st));
                    }
                }
            }
        }
    })
}

fn too_slow() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTimeout,
        "the request body arrived too slowly (see server.body_idle_timeout) and was dropped",
    )
}

/// Reads at most `limit` bytes of body. An absent or empty body reads as `{}`.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    pace: Pace,
) -> Result<T, ApiError> {
    if content_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("send the body as application/json, not {mime:?}"),
            ));
        }
    }
    let mut bytes = Vec::new();
    let stream = paced(body, pace);
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) if bytes.len() + c.len() > limit => return Err(too_large(limit)),
            Ok(c) => bytes.extend_from_slice(&c),
            Err(BodyError::TooSlow) => return Err(too_slow()),
            Err(BodyError::Read(_)) => {
                return Err(ApiError::invalid("the request body could not be read"));
            }
        }
    }
    let slice: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(slice)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON body: {e}")))
}
