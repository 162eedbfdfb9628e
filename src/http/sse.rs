//! Server-Sent Events: a response body fed by a bounded channel. The producer task ends as soon
//! as a send fails, so a client that goes away costs nothing.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use tokio::sync::mpsc;

use super::body::Body;

/// Frames buffered per stream; a slow reader blocks its producer, not the server.
const BUFFER: usize = 16;

/// Writes events to one stream.
pub struct EventSink(mpsc::Sender<Bytes>);

impl EventSink {
    /// Sends `event: NAME` with `data` (one line of JSON). False when the client is gone.
    pub async fn event(&self, name: &str, data: &serde_json::Value) -> bool {
        let text = format!("event: {name}\ndata: {data}\n\n");
        self.0.send(Bytes::from(text)).await.is_ok()
    }

    /// A comment line that keeps proxies and clients from timing the stream out.
    pub async fn keep_alive(&self) -> bool {
        self.0
            .send(Bytes::from_static(b": keep-alive\n\n"))
            .await
            .is_ok()
    }
}

/// A `text/event-stream` response and the sink that feeds it.
pub fn stream() -> (Response<Body>, EventSink) {
    let (tx, rx) = mpsc::channel(BUFFER);
    let mut resp = Response::new(crate::http::body::channel(rx));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    (resp, EventSink(tx))
}
