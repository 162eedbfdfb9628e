//! `POST /api/v1/leaks`: public secret-scanning services (and anyone who finds a key) report
//! strings they found. Every well-formed tonearm key or management token (format and checksum)
//! among them that is still live is revoked at once, written to the audit log and announced to
//! the key's project as a `key.leaked` webhook. The answer gives counts only, never whose.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use crate::auth::secret::{SecretKind, parse};
use crate::http::body::{Body, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::ids::{EventId, now_ms};
use crate::store::schema::AuditRecord;
use crate::webhooks::event::{KEY_LEAKED, key_leaked_event};

/// Strings one report may carry; more is refused, so a report is bounded work.
pub const MAX_TOKENS: usize = 100;
/// Longest string looked at: anything longer is not a tonearm secret.
const MAX_TOKEN_CHARS: usize = 256;
const MAX_URL_CHARS: usize = 2048;
/// A project's receivers for `key.leaked`: the URLs of its newest deliveries.
const URL_SCAN: usize = 200;
const MAX_URLS: usize = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    tokens: Vec<String>,
    #[serde(default)]
    url: Option<String>,
}

pub async fn report(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let ip = ctx.client_ip();
    if let Some(retry) = ctx.state.leak_reports.record(ip, now_ms()) {
        return Err(ApiError::new(
            ErrorCode::TooManyReports,
            format!("too many leak reports from this address; retry in {retry} s"),
        )
        .with_details(json!({ "retry_after": retry })));
    }
    let req: Report = ctx.json(body).await?;
    if req.tokens.is_empty() || req.tokens.len() > MAX_TOKENS {
        return Err(ApiError::invalid(format!(
            "tokens must hold 1 to {MAX_TOKENS} strings"
        )));
    }
    let url = match req.url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if u.chars().count() > MAX_URL_CHARS => {
            return Err(ApiError::invalid(format!(
                "url must be at most {MAX_URL_CHARS} characters"
            )));
        }
        Some(u) => Some(u.to_string()),
    };
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    for t in &req.tokens {
        let t = t.trim();
        if t.len() > MAX_TOKEN_CHARS {
            continue;
        }
        let hash = parse(SecretKind::ApiKey, t).or_else(|_| parse(SecretKind::ManagementToken, t));
        if let Ok(h) = hash
            && !hashes.contains(&h)
        {
            hashes.push(h);
        }
    }
    let well_formed = hashes.len();
    let mut revoked = 0u64;
    for hash in hashes {
        let (key, token) = ctx.state.credentials.live_by_hash(&hash);
        if let Some(k) = key {
            if revoke_key(&ctx, k, url.as_deref()).await? {
                revoked += 1;
            }
        } else if let Some(id) = token
            && revoke_token(&ctx, id, url.as_deref()).await?
        {
            revoked += 1;
        }
    }
    ctx.state.metrics.leaked_revoked(revoked);
    if revoked > 0 {
        tracing::warn!(request_id = %ctx.request_id, revoked, "leak report: credentials revoked");
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "object": "leak_report",
            "received": req.tokens.len(),
            "well_formed": well_formed,
            "revoked": revoked,
        }),
    ))
}

fn leak_audit(ctx: &Ctx, action: &str, target: String, url: Option<&str>) -> AuditRecord {
    // The reporter is anonymous: the entry names the report, not a credential.
    AuditRecord {
        actor: "leak_report".into(),
        ..super::audit::entry(ctx, action, target, json!({ "found_at": url }))
    }
}

/// Revokes a live key and queues `key.leaked` to the project's receivers, recorded in the audit
/// log, all in one transaction. False when it was revoked meanwhile (by an administrator, or a
/// report racing this one).
async fn revoke_key(
    ctx: &Ctx,
    k: std::sync::Arc<crate::auth::KeyEntry>,
    url: Option<&str>,
) -> Result<bool, ApiError> {
    let (id, project) = (k.id.0, k.project.0);
    let now = now_ms();
    let urls = ctx
        .state
        .db(move |s| s.recent_webhook_urls(project, URL_SCAN, MAX_URLS))
        .await?;
    let mut deliveries = Vec::with_capacity(urls.len());
    for u in &urls {
        let event = EventId::generate().map_err(|_| ApiError::internal())?;
        let body = key_leaked_event(event, k.id, k.project, url, now);
        if let Some(d) = ctx
            .state
            .deliveries
            .new_event_delivery(project, u, KEY_LEAKED, event, body, now)
        {
            deliveries.push(d);
        }
    }
    let announced = !deliveries.is_empty();
    let entry = leak_audit(ctx, "key.leak_revoke", k.id.to_string(), url);
    let changed = ctx
        .state
        .db_audited(entry, move |s| s.revoke_leaked_key(id, now, &deliveries))
        .await?;
    ctx.state.credentials.revoke_key(id);
    if changed && announced {
        ctx.state.deliveries.wake();
    }
    Ok(changed)
}

async fn revoke_token(ctx: &Ctx, id: u128, url: Option<&str>) -> Result<bool, ApiError> {
    let now = now_ms();
    let target = crate::ids::TokenId(id).to_string();
    let entry = leak_audit(ctx, "token.leak_revoke", target, url);
    let changed = ctx
        .state
        .db_audited(entry, move |s| s.revoke_leaked_token(id, now))
        .await?;
    ctx.state.credentials.revoke_token(id);
    Ok(changed)
}
