//! `/admin/v1/keys`: create (value returned once), list, get, revoke. Every change is applied to
//! the in-memory credential index in the same request, so it holds from the next request on.

use std::time::UNIX_EPOCH;

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::accounts::{DEFAULT_PROJECT, parse_account_id, validate_name};
use super::{Ctx, PageParams, view};
use crate::auth::{ScopeSet, SecretKind, secret};
use crate::http::body::{Body, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::ids::{AccountId, KeyId, ProjectId, now_ms};
use crate::store::schema::KeyRecord;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    account_id: String,
    label: String,
    /// A project id, or the name of one of the account's projects; default: `default`.
    project: Option<String>,
    /// Default: every scope.
    scopes: Option<Vec<String>>,
    /// A duration such as "30d" or "12h".
    expires_in: Option<String>,
    /// An RFC 3339 time.
    expires_at: Option<String>,
    /// Also mint a webhook signing secret for the key's project, returned once beside the key.
    #[serde(default)]
    webhook_secret: bool,
}

fn parse_key_id(s: &str) -> Result<u128, ApiError> {
    KeyId::parse(s)
        .map(|k| k.0)
        .ok_or_else(|| ApiError::not_found("API key"))
}

/// `expires_in` in milliseconds: 1 to 999999 (no leading zero) followed by `s`, `m`, `h`, `d`
/// or `w`, exactly the OpenAPI document's `DURATION_PATTERN`.
fn parse_expires_in(s: &str) -> Option<u64> {
    if !s.is_ascii() || s.len() < 2 || s.len() > 7 {
        return None;
    }
    let (digits, unit) = s.split_at(s.len() - 1);
    if digits.starts_with('0') || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(n * secs * 1000)
}

fn expiry(req: &CreateKey, now: u64) -> Result<Option<u64>, ApiError> {
    match (&req.expires_in, &req.expires_at) {
        (Some(_), Some(_)) => Err(ApiError::invalid("give expires_in or expires_at, not both")),
        (Some(d), None) => {
            let ms = parse_expires_in(d).ok_or_else(|| {
                ApiError::invalid(
                    "expires_in must be a whole number (1-999999) of s, m, h, d or w, such as \"30d\" or \"12h\"",
                )
            })?;
            Ok(Some(now.saturating_add(ms)))
        }
        (None, Some(t)) => {
            let at = humantime::parse_rfc3339_weak(t)
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z",
                    )
                })?
                .as_millis() as u64;
            if at <= now {
                return Err(ApiError::invalid("expires_at is in the past"));
            }
            Ok(Some(at))
        }
        (None, None) => Ok(None),
    }
}

pub async fn create(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let req: CreateKey = ctx.json(body).await?;
    let now = now_ms();
    let account = AccountId::parse(&req.account_id)
        .map(|a| a.0)
        .ok_or_else(|| ApiError::invalid("account_id is not an account id (acct_…)"))?;
    let label = validate_name("label", &req.label)?;
    let scopes = match &req.scopes {
        None => ScopeSet::all(),
        Some(list) => {
            let set = ScopeSet::parse_names(list.iter().map(String::as_str)).map_err(|bad| {
                ApiError::invalid(format!(
                    "unknown scope {bad:?}; known scopes: {}",
                    ScopeSet::all().names().join(", ")
                ))
            })?;
            if set == ScopeSet::default() {
                return Err(ApiError::invalid("scopes must name at least one scope"));
            }
            set
        }
    };
    let expires_at_ms = expiry(&req, now)?;
    let wanted = req.project.clone();
    let project = ctx
        .state
        .db(move |s| {
            if s.get_account(account)?.is_none() {
                return Ok(None);
            }
            let page = s.list_projects(account, None, usize::MAX)?;
            Ok(Some(page.items.into_iter().find(|(id, p)| match &wanted {
                None => p.name == DEFAULT_PROJECT,
                Some(w) => ProjectId(*id).to_string() == *w || p.name == *w,
            })))
        })
        .await?;
    // A well-formed reference to nothing is a 404, like an unknown id in a path.
    let project = match project {
        None => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "account_id names no account",
            ));
        }
        Some(None) => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "project names no project of this account",
            ));
        }
        Some(Some((id, _))) => id,
    };
    let new = secret::generate(SecretKind::ApiKey).map_err(|_| ApiError::internal())?;
    let id = KeyId::generate().map_err(|_| ApiError::internal())?.0;
    let record = KeyRecord {
        account,
        project,
        label,
        scopes: scopes.names(),
        digest: new.digest,
        created_at_ms: now,
        last_used_at_ms: None,
        expires_at_ms,
        revoked_at_ms: None,
    };
    let max = ctx
        .state
        .policy
        .plan_of(account)
        .map_or(crate::config::Plan::builtin_default().max_keys, |p| {
            p.max_keys
        });
    let r = record.clone();
    super::audit::change(
        &ctx,
        "key.create",
        KeyId(id).to_string(),
        serde_json::json!({
            "account_id": crate::ids::AccountId(record.account).to_string(),
            "project_id": crate::ids::ProjectId(record.project).to_string(),
            "label": record.label,
            "scopes": record.scopes,
        }),
        move |s| s.insert_key(id, &r, max, now),
    )
    .await?;
    ctx.state.credentials.add_key(id, &record);
    let mut body = view::key(id, &record, None, now);
    body["key"] = new.value.into();
    if req.webhook_secret {
        body["webhook_secret"] = super::webhooks::mint(&ctx, project, record.label.clone()).await?;
    }
    Ok(json_response(StatusCode::CREATED, &body))
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let account = match q.get("account").or_else(|| q.get("account_id")) {
        Some(a) => Some(parse_account_id(a)?),
        None => None,
    };
    let page = PageParams::from_query(&q, |c| KeyId::parse(c).map(|k| k.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_keys(account, page.after, page.limit))
        .await?;
    let now = now_ms();
    let creds = &ctx.state.credentials;
    Ok(ctx.list_response(&view::list(
        &result,
        |id, k| view::key(id, k, creds.key(id).and_then(|e| e.last_used_ms()), now),
        |id| KeyId(id).to_string(),
    )))
}

pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_key_id(ctx.param(0))?;
    let k = ctx
        .state
        .db(move |s| s.get_key(id))
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let live = ctx.state.credentials.key(id).and_then(|e| e.last_used_ms());
    Ok(json_response(
        StatusCode::OK,
        &view::key(id, &k, live, now_ms()),
    ))
}

/// Revokes a key. Revoking twice is harmless and keeps the first revocation time.
pub async fn revoke(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_key_id(ctx.param(0))?;
    let now = now_ms();
    let k = super::audit::change(
        &ctx,
        "key.revoke",
        KeyId(id).to_string(),
        serde_json::json!({}),
        move |s| {
            s.update_key(id, |k| {
                k.revoked_at_ms.get_or_insert(now);
            })
        },
    )
    .await?
    .ok_or_else(|| ApiError::not_found("API key"))?;
    ctx.state.credentials.revoke_key(id);
    let live = ctx.state.credentials.key(id).and_then(|e| e.last_used_ms());
    Ok(json_response(StatusCode::OK, &view::key(id, &k, live, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_takes_one_whole_unit() {
        assert_eq!(parse_expires_in("30d"), Some(30 * 86_400_000));
        assert_eq!(parse_expires_in("1s"), Some(1000));
        assert_eq!(parse_expires_in("999999w"), Some(999_999 * 604_800_000));
        for bad in [
            "0s", "05m", "1", "d", "1y", "1h30m", "30 d", " 1s", "1000000s", "1é", "",
        ] {
            assert_eq!(parse_expires_in(bad), None, "{bad}");
        }
    }
}
