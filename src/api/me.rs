//! `GET /api/v1/me`: the calling key's metadata and live rate-limit windows, from memory. This is
//! the endpoint clients poll to check a key, so it is rendered from typed structs (no
//! intermediate JSON tree) and touches no disk.

use std::fmt::Display;
use std::time::{Duration, UNIX_EPOCH};

use http::{Response, StatusCode};
use serde::{Serialize, Serializer};

use super::Ctx;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;

/// Written straight into the response through its `Display`, without an intermediate `String`.
struct Shown<T: Display>(T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// RFC 3339, UTC, whole seconds (as `ids::rfc3339`).
fn timestamp(ms: u64) -> Shown<humantime::Rfc3339Timestamp> {
    Shown(humantime::format_rfc3339_seconds(
        UNIX_EPOCH + Duration::from_millis(ms),
    ))
}

#[derive(Serialize)]
struct Me<'a> {
    id: Shown<crate::ids::KeyId>,
    object: &'static str,
    label: &'a str,
    account_id: Shown<crate::ids::AccountId>,
    project_id: Shown<crate::ids::ProjectId>,
    scopes: Vec<&'static str>,
    created_at: Shown<humantime::Rfc3339Timestamp>,
    last_used_at: Option<Shown<humantime::Rfc3339Timestamp>>,
    expires_at: Option<Shown<humantime::Rfc3339Timestamp>>,
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
        id: Shown(k.id),
        object: "api_key",
        label: &k.label,
        account_id: Shown(k.account),
        project_id: Shown(k.project),
        scopes: k.scopes.iter().map(|s| s.as_str()).collect(),
        created_at: timestamp(k.created_at_ms),
        last_used_at: k.last_used_ms().map(timestamp),
        expires_at: k.expires_at_ms.map(timestamp),
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
