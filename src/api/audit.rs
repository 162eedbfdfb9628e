//! The audit log: every handler that changes credentials or money makes the change through
//! `change` (or `State::db_audited`), so the change and its entry commit in one transaction;
//! `list` answers `GET /admin/v1/audit`.

use http::Response;
use serde_json::{Value, json};

use super::{Ctx, PageParams, Principal};
use crate::http::body::Body;
use crate::http::error::ApiError;
use crate::ids::{AuditId, now_ms, rfc3339};
use crate::store::Store;
use crate::store::audit::AuditFilter;
use crate::store::schema::AuditRecord;

/// Who made a change, for the log: the credential's public id, never its value.
pub fn actor(p: &Principal) -> String {
    match p {
        Principal::Anonymous => "anonymous".into(),
        Principal::Key(k) => k.id.to_string(),
        Principal::Token(t) => t.id.to_string(),
    }
}

/// The audit entry for a change this request is about to make. Pass it to `State::db_audited`
/// (or use `change`), which commits it in the same write transaction as the change itself.
pub fn entry(ctx: &Ctx, action: &str, target: String, details: Value) -> AuditRecord {
    AuditRecord {
        at_ms: now_ms(),
        actor: actor(&ctx.principal),
        action: action.to_string(),
        target,
        request_id: Some(ctx.request_id.clone()),
        ip: Some(ctx.client_ip().to_string()),
        details: details.to_string(),
    }
}

/// Records an event that changes nothing else in the database (a backup taken). A failure to
/// write it is logged rather than refused: the event has already happened.
pub async fn record(ctx: &Ctx, action: &str, target: String, details: Value) {
    let entry = entry(ctx, action, target, details);
    let Ok(id) = crate::ids::new_raw_id() else {
        tracing::error!(request_id = %ctx.request_id, action, "audit entry not written: no random id");
        return;
    };
    if let Err(e) = ctx.state.db(move |s| s.insert_audit(id, &entry)).await {
        tracing::error!(request_id = %ctx.request_id, action, error = %e.message, "audit entry not written");
    }
}

/// Makes a change through `f` and records it in the audit log, in one write transaction.
pub async fn change<T, F>(
    ctx: &Ctx,
    action: &str,
    target: String,
    details: Value,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
{
    ctx.state
        .db_audited(entry(ctx, action, target, details), f)
        .await
}

pub fn view(id: u128, r: &AuditRecord) -> Value {
    json!({
        "id": AuditId(id).to_string(),
        "object": "audit_entry",
        "at": rfc3339(r.at_ms),
        "actor": r.actor,
        "action": r.action,
        "target": r.target,
        "request_id": r.request_id,
        "ip": r.ip,
        "details": serde_json::from_str::<Value>(&r.details).unwrap_or(Value::Null),
    })
}

fn time_param(
    q: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<Option<u64>, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    let t = humantime::parse_rfc3339_weak(v).map_err(|_| {
        ApiError::invalid(format!(
            "{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
        ))
    })?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| ApiError::invalid(format!("{name} must be after 1970")))?
        .as_millis();
    Ok(Some(u64::try_from(ms).unwrap_or(u64::MAX)))
}

fn text_param(
    q: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > 200 => Err(ApiError::invalid(format!(
            "{name} must be 1 to 200 characters"
        ))),
        Some(v) => Ok(Some(v.clone())),
    }
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let page = PageParams::from_query(&q, |c| AuditId::parse(c).map(|a| a.0))?;
    let filter = AuditFilter {
        action: text_param(&q, "action")?,
        actor: text_param(&q, "actor")?,
        target: text_param(&q, "target")?,
        since_ms: time_param(&q, "since")?,
        until_ms: time_param(&q, "until")?,
    };
    let limit = page.limit;
    let result = ctx
        .state
        .db(move |s| s.list_audit(&filter, page.after, limit))
        .await?;
    let data: Vec<Value> = result.items.iter().map(|(id, r)| view(*id, r)).collect();
    let next = result.next.map(|n| AuditId(n).to_string());
    Ok(ctx.list_response(&json!({
        "object": "list",
        "data": data,
        "has_more": next.is_some(),
        "next_cursor": next,
    })))
}
