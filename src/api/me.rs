//! `GET /api/v1/me`: the calling key's metadata and live rate-limit windows, from memory. This is
//! the endpoint clients poll to check a key, so it is rendered from typed structs (no
//! intermediate JSON tree) and touches no disk.

use std::fmt::Display;
use std::time::{Duration, UNIX_EPOCH};

use http::{Response, StatusCode};
use serde::{Serialize, Serializer};

use super::Ctx;
use crate::auth::KeyEntry;
use crate::http::body::{Body, json_bytes_response};
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

/// The key's fields that never change, rendered once per key (see `KeyEntry::fixed_view`).
#[derive(Serialize)]
struct Fixed<'a> {
    id: Shown<crate::ids::KeyId>,
    object: &'static str,
    label: &'a str,
    account_id: Shown<crate::ids::AccountId>,
    project_id: Shown<crate::ids::ProjectId>,
    scopes: Vec<&'static str>,
    created_at: Shown<humantime::Rfc3339Timestamp>,
    expires_at: Option<Shown<humantime::Rfc3339Timestamp>>,
}

/// The fields that change from call to call.
#[derive(Serialize)]
struct Current {
    last_used_at: Option<Shown<humantime::Rfc3339Timestamp>>,
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

/// `{fixed…` without its closing brace, ready for the current fields to follow; empty if it
/// could not be rendered.
fn fixed_view(k: &KeyEntry) -> Box<[u8]> {
    let fixed = Fixed {
        id: Shown(k.id),
        object: "api_key",
        label: &k.label,
        account_id: Shown(k.account),
        project_id: Shown(k.project),
        scopes: k.scopes.iter().map(|s| s.as_str()).collect(),
        created_at: timestamp(k.created_at_ms),
        expires_at: k.expires_at_ms.map(timestamp),
    };
    match serde_json::to_vec(&fixed) {
        Ok(mut v) => {
            v.pop();
            v.into_boxed_slice()
        }
        Err(_) => Box::default(),
    }
}

pub fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let k = ctx.key()?;
    let current = Current {
        last_used_at: k.last_used_ms().map(timestamp),
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
    let fixed = k.fixed_view.get_or_init(|| fixed_view(k));
    if fixed.is_empty() {
        return Err(ApiError::internal());
    }
    let mut body = Vec::with_capacity(fixed.len() + 160);
    body.extend_from_slice(fixed);
    serde_json::to_writer(&mut body, &current).map_err(|_| ApiError::internal())?;
    // `Current` renders as a non-empty object; its opening brace becomes the comma that
    // joins its fields to the fixed ones.
    body[fixed.len()] = b',';
    Ok(json_bytes_response(StatusCode::OK, body))
}
