//! JSON views of stored records: the only shapes clients see. Times are RFC 3339 UTC; ids carry
//! their type prefix; secrets appear only as prefix and last four characters.

use serde_json::{Value, json};

use crate::ids::{
    AccountId, DeliveryId, EventId, JobId, KeyId, ProjectId, TokenId, WebhookSecretId, rfc3339,
};
use crate::store::Page;
use crate::store::schema::{
    AccountRecord, AttemptRecord, DeliveryRecord, KeyRecord, ProjectRecord, TokenRecord,
    WebhookSecretRecord,
};

pub fn time(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |m| Value::String(rfc3339(m)))
}

pub fn account(id: u128, a: &AccountRecord) -> Value {
    json!({
        "id": AccountId(id).to_string(),
        "object": "account",
        "name": a.name,
        "plan": a.plan,
        "disabled": a.disabled,
        "allowed_ips": a.allowed_ips,
        "created_at": rfc3339(a.created_at_ms),
    })
}

pub fn project(id: u128, p: &ProjectRecord) -> Value {
    json!({
        "id": ProjectId(id).to_string(),
        "object": "project",
        "account_id": AccountId(p.account).to_string(),
        "name": p.name,
        "created_at": rfc3339(p.created_at_ms),
    })
}

pub fn key_status(k: &KeyRecord, now_ms: u64) -> &'static str {
    if k.revoked_at_ms.is_some() {
        "revoked"
    } else if k.expires_at_ms.is_some_and(|x| x <= now_ms) {
        "expired"
    } else {
        "active"
    }
}

/// `last_used_ms` is the live value from the credential index when the key is loaded there.
pub fn key(id: u128, k: &KeyRecord, last_used_ms: Option<u64>, now_ms: u64) -> Value {
    json!({
        "id": KeyId(id).to_string(),
        "object": "api_key",
        "label": k.label,
        "account_id": AccountId(k.account).to_string(),
        "project_id": ProjectId(k.project).to_string(),
        "scopes": k.scopes,
        "prefix": format!("tonearm_sk_{}", k.digest.prefix),
        "last4": k.digest.last4,
        "created_at": rfc3339(k.created_at_ms),
        "last_used_at": time(last_used_ms.or(k.last_used_at_ms)),
        "expires_at": time(k.expires_at_ms),
        "revoked_at": time(k.revoked_at_ms),
        "status": key_status(k, now_ms),
    })
}

pub fn token(id: u128, t: &TokenRecord, last_used_ms: Option<u64>) -> Value {
    json!({
        "id": TokenId(id).to_string(),
        "object": "management_token",
        "label": t.label,
        "prefix": format!("tonearm_mt_{}", t.digest.prefix),
        "last4": t.digest.last4,
        "created_at": rfc3339(t.created_at_ms),
        "last_used_at": time(last_used_ms.or(t.last_used_at_ms)),
        "revoked_at": time(t.revoked_at_ms),
        "status": if t.revoked_at_ms.is_some() { "revoked" } else { "active" },
    })
}

/// A page of a listing: `{"object": "list", "data": […], "has_more", "next_cursor"}`.
pub fn list<T>(
    page: &Page<T>,
    render: impl Fn(u128, &T) -> Value,
    cursor: impl Fn(u128) -> String,
) -> Value {
    json!({
        "object": "list",
        "data": page.items.iter().map(|(id, r)| render(*id, r)).collect::<Vec<_>>(),
        "has_more": page.next.is_some(),
        "next_cursor": page.next.map(cursor),
    })
}

/// A signing secret's metadata; the value is added only in the creation response.
pub fn webhook_secret(id: u128, w: &WebhookSecretRecord) -> Value {
    json!({
        "id": WebhookSecretId(id).to_string(),
        "object": "webhook_secret",
        "project_id": ProjectId(w.project).to_string(),
        "label": w.label,
        "status": if w.revoked_at_ms.is_some() { "revoked" } else { "active" },
        "created_at": rfc3339(w.created_at_ms),
        "revoked_at": time(w.revoked_at_ms),
    })
}

/// A webhook delivery without its attempts and body.
pub fn delivery(id: u128, r: &DeliveryRecord) -> Value {
    json!({
        "id": DeliveryId(id).to_string(),
        "object": "webhook_delivery",
        "event_id": EventId(r.event).to_string(),
        "event_type": r.event_type,
        // Events that are not about a job (key.leaked) carry no job id.
        "job_id": (r.job != 0).then(|| JobId(r.job).to_string()),
        "url": r.url,
        "status": r.status.as_str(),
        "attempts": r.attempts,
        "created_at": rfc3339(r.created_at_ms),
        "next_attempt_at": time(r.next_attempt_ms),
        "finished_at": time(r.finished_at_ms),
    })
}

/// One attempt of a delivery.
pub fn attempt(n: u32, a: &AttemptRecord) -> Value {
    json!({
        "attempt": n,
        "started_at": rfc3339(a.started_at_ms),
        "finished_at": time(a.finished_at_ms),
        "latency_ms": a.finished_at_ms.map(|f| f.saturating_sub(a.started_at_ms)),
        "status_code": a.status_code,
        "error": a.error,
        "response_excerpt": a.response_excerpt,
    })
}
