//! Liveness and readiness, without credentials.

use http::{Response, StatusCode};
use serde_json::json;

use super::Ctx;
use crate::http::body::{Body, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::ids::now_ms;

pub fn healthz() -> Result<Response<Body>, ApiError> {
    Ok(json_response(StatusCode::OK, &json!({ "status": "ok" })))
}

/// Ready means the database is open and a write commits.
pub async fn readyz(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    match ctx.state.db(|s| s.probe_write(now_ms())).await {
        Ok(()) => Ok(json_response(
            StatusCode::OK,
            &json!({ "status": "ready", "database": "ok" }),
        )),
        Err(_) => Err(ApiError::new(
            ErrorCode::NotReady,
            "the database is not writable",
        )),
    }
}
