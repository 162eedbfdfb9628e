//! Request and response bodies: JSON in with a size cap (413 before reading when Content-Length
//! already says too much), JSON out.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode};

pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
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
const LINGER: std::time::Duration = std::time::Duration::from_secs(5);

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

/// Reads at most `limit` bytes of body. An absent or empty body reads as `{}`.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
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
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large(limit)
            } else {
                ApiError::invalid("the request body could not be read")
            }
        })?
        .to_bytes();
    let slice: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(slice)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON body: {e}")))
}
