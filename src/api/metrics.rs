//! `GET /metrics`: the Prometheus exposition, on the main listener behind a management token
//! (dispatch checked it) and on the optional unauthenticated metrics listener.

use http::{HeaderValue, Response, StatusCode, header};

use super::{Ctx, State};
use crate::http::body::{Body, full};
use crate::http::error::ApiError;
use crate::metrics::{CONTENT_TYPE, Snapshot};

pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    if !ctx.state.config.metrics.enabled {
        return Err(ApiError::new(
            crate::http::error::ErrorCode::NotFound,
            "metrics are turned off (metrics.enabled = false)",
        ));
    }
    Ok(exposition(&ctx.state).await)
}

/// The scrape answer: gauges read now, then every metric as text.
pub async fn exposition(state: &State) -> Response<Body> {
    let (queued, running, queue_depth) = state.jobs.counts();
    let deliveries_pending = state
        .db(|s| s.pending_deliveries())
        .await
        .map_or(0, |n| n as i64);
    let snap = Snapshot {
        queued,
        running,
        queue_depth,
        deliveries_pending,
        db_bytes: state.store.file_size() as i64,
    };
    let text = state.metrics.render(snap);
    let mut r = Response::new(full(text));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}
