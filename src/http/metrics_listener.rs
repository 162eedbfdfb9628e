//! The optional second listener (`metrics.listen`): `GET /metrics` without authentication for a
//! Prometheus scraper on a private address, nothing else. HTTP/1.1 only, a handful of
//! connections, closed at shutdown.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::body::{Body, json_response};
use crate::api::State;

/// Scrapers connect rarely; more connections than this wait for a free one.
const MAX_CONNECTIONS: usize = 16;

pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, super::listener::Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| super::listener::Error::Bind {
            addr: addr.to_string(),
            source: e,
        })
}

pub async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let state = state.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&state, &req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {}
            }
        });
    }
}

async fn answer(state: &State, req: &Request<Incoming>) -> Response<Body> {
    if req.uri().path() != "/metrics" {
        return json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": {"code": "route_not_found", "message": "this listener serves only GET /metrics"}}),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"error": {"code": "method_not_allowed", "message": "only GET is allowed on /metrics"}}),
        );
    }
    crate::api::metrics_exposition(state).await
}
