//! `GET /api/v1/me`: the calling key's metadata and live rate-limit windows, from memory. This is
//! the endpoint clients poll to check a key, so it is rendered from typed structs (no
//! intermediate JSON tree) and touches no disk.

use http::{Response, StatusCode};
use serde::Serialize;

use super::Ctx;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::rfc3339;

#[derive(Serialize)]
struct Me {
    id: String,
    object: &'static str,
    label: String,
    account_id: String,
    project_id: String,
    scopes: Vec<String>,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    rate_limits: Option<RateLimits>,
}

#[derive(Serialize)]
struct RateLimits {
    minute: Window,
    month: Option<Window>,
}

#[derive(Serialize)]
struct Window {
    limit: u64,
    remaining: u64,
    /// Unix seconds.
    reset: u64,
}

pub fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let k = ctx.key()?;
    let body = Me {
        id: k.id.to_string(),
        object: "api_key",
        label: k.label.clone(),
        account_id: k.account.to_string(),
        project_id: k.project.to_string(),
        scopes: k.scopes.names(),
        created_at: rfc3339(k.created_at_ms),
        last_used_at: k.last_used_ms().map(rfc3339),
        expires_at: k.expires_at_ms.map(rfc3339),
        rate_limits: ctx.usage.map(|u| RateLimits {
            minute: Window {
                limit: u.minute.limit,
                remaining: u.minute.remaining,
                reset: u.minute.reset_ms.div_ceil(1000),
            },
            month: u.month.map(|m| Window {
                limit: m.limit,
                remaining: m.remaining,
                reset: m.reset_s,
            }),
        }),
    };
    Ok(json_response(StatusCode::OK, &body))
}
