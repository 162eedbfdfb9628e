//! `GET /api/v1/me`: the calling key's metadata, from memory.

use http::{Response, StatusCode};
use serde_json::json;

use super::Ctx;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::rfc3339;

pub fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let k = ctx.key()?;
    let body = json!({
        "id": k.id.to_string(),
        "object": "api_key",
        "label": k.label,
        "account_id": k.account.to_string(),
        "project_id": k.project.to_string(),
        "scopes": k.scopes.names(),
        "created_at": rfc3339(k.created_at_ms),
        "last_used_at": k.last_used_ms().map(rfc3339),
        "expires_at": k.expires_at_ms.map(rfc3339),
        "rate_limits": ctx.usage.map(|u| json!({
            "minute": {
                "limit": u.minute.limit,
                "remaining": u.minute.remaining,
                "reset": u.minute.reset_ms.div_ceil(1000),
            },
            "month": u.month.map(|m| json!({
                "limit": m.limit,
                "remaining": m.remaining,
                "reset": m.reset_s,
            })),
        })),
    });
    Ok(json_response(StatusCode::OK, &body))
}
