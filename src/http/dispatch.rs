//! The one request pipeline: request id → route → credentials → scope → handler → error
//! mapping → access log. Business rules live in `api`; this only orders the steps.

use std::sync::Arc;
use std::time::Instant;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue, Request, Response, header};
use hyper::body::Incoming;

use super::body::{Body, REFUSED_BODY_LIMIT, json_response, linger_unread};
use super::error::{ApiError, ErrorCode, Realm, auth_error};
use super::listener::PeerAddr;
use super::route::{Access, Resolution, Route, resolve};
use crate::api::{self, Ctx, Principal, State};
use crate::auth::{AuthError, Scope};
use crate::ids::{base62_fixed, now_ms, random_bytes};
use crate::policy::{Denied, Usage};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
// Header names as constants: inserting by `&str` would validate and copy the name on every
// response.
const LIMIT_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
const REMAINING_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-remaining-minute");
const RESET_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-reset-minute");
const LIMIT_MONTH: HeaderName = HeaderName::from_static("x-ratelimit-limit-month");
const REMAINING_MONTH: HeaderName = HeaderName::from_static("x-ratelimit-remaining-month");
const RESET_MONTH: HeaderName = HeaderName::from_static("x-ratelimit-reset-month");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_string();

    let (parts, body) = req.into_parts();
    let mut principal_id = api::LogId::None;
    let mut route_name: Option<Route> = None;
    let mut usage = None;
    // A request refused here never has its body read; `linger_unread` reads it away so a
    // client still sending (an upload with a revoked key, say) gets the answer, not a reset.
    let result = match resolve(&parts.method, &path) {
        Resolution::NotFound => {
            linger_unread(body, REFUSED_BODY_LIMIT);
            Err(ApiError::new(
                ErrorCode::RouteNotFound,
                format!("no route for {method} {path}"),
            ))
        }
        Resolution::WrongMethod(allowed) => {
            linger_unread(body, REFUSED_BODY_LIMIT);
            let allow = allowed
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let err = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{method} is not allowed on {path}; allowed: {allow}"),
            );
            let mut resp = error_response(&err, &request_id);
            if let Ok(v) = HeaderValue::from_str(&allow) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return finish(
                &state,
                resp,
                &request_id,
                &method,
                &path,
                None,
                api::LogId::None,
                started,
            );
        }
        Resolution::Found(route, params) => {
            route_name = Some(route);
            let now = now_ms();
            let (auth, u) = authenticate(&state, route, &parts, now);
            usage = u;
            match auth {
                Ok(principal) => {
                    principal_id = principal.log_id();
                    let ctx = Ctx {
                        state: state.clone(),
                        request_id: request_id.clone(),
                        params,
                        parts,
                        principal,
                        usage,
                    };
                    api::handle(route, ctx, body).await
                }
                Err(e) => {
                    linger_unread(body, REFUSED_BODY_LIMIT);
                    Err(e)
                }
            }
        }
    };
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.code == ErrorCode::Internal {
                tracing::error!(request_id = %request_id, route = %RouteName(route_name), message = %e.message, "request failed");
            }
            if let Some(reason) = refusal_reason(&e) {
                state.metrics.refusal(reason);
            }
            let mut resp = error_response(&e, &request_id);
            if e.code.status() == http::StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tonearm\""),
                );
            }
            if e.code == ErrorCode::QueueFull {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            if let Some(retry) = e
                .details
                .as_ref()
                .and_then(|d| d.get("retry_after"))
                .and_then(serde_json::Value::as_u64)
            {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry));
            }
            if let (Some(u), ErrorCode::RateLimitExceeded) = (&usage, e.code) {
                let retry = retry_after_s(u, now_ms());
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry));
            }
            resp
        }
    };
    let mut resp = resp;
    if let Some(u) = &usage {
        rate_limit_headers(resp.headers_mut(), u, now_ms());
    }
    finish(
        &state,
        resp,
        &request_id,
        &method,
        &path,
        route_name,
        principal_id,
        started,
    )
}

/// Checks the credential the route needs and, for API keys, the account policy and limits.
/// The usage is returned on success and on refusal alike, for the rate-limit headers.
fn authenticate(
    state: &State,
    route: Route,
    parts: &http::request::Parts,
    now: u64,
) -> (Result<Principal, ApiError>, Option<Usage>) {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let client_ip = || {
        let peer = parts
            .extensions
            .get::<PeerAddr>()
            .map(|p| p.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        state.policy.client_ip(peer, &parts.headers)
    };
    // A credential that was presented and is wrong counts against the client's address; past
    // the limit the answer becomes 429, which makes guessing impractical without touching
    // valid credentials from the same address.
    let failed = |realm: Realm, e: AuthError| {
        state.metrics.auth_failure(match realm {
            Realm::Admin => "management",
            Realm::Api => "api",
        });
        if !matches!(e, AuthError::Missing)
            && let Some(retry) = state.auth_failures.record(client_ip(), now)
        {
            return ApiError::new(
                ErrorCode::TooManyAuthFailures,
                format!("too many failed authentications from this address; retry in {retry} s"),
            )
            .with_details(serde_json::json!({ "retry_after": retry }));
        }
        auth_error(realm, e)
    };
    match route.spec().access {
        Access::Public => (Ok(Principal::Anonymous), None),
        Access::Management => (
            state
                .credentials
                .verify_token(header, now)
                .map(Principal::Token)
                .map_err(|e| failed(Realm::Admin, e)),
            None,
        ),
        Access::ApiKey(scope) => {
            let key = match state.credentials.verify_key(header, now) {
                Ok(k) => k,
                Err(e) => return (Err(failed(Realm::Api, e)), None),
            };
            let ip = client_ip();
            let decision = state.policy.admit(key.id.0, key.account.0, ip, now);
            if let Some(d) = decision.denied {
                return (
                    Err(denied_error(d, decision.usage.as_ref())),
                    decision.usage,
                );
            }
            if let Some(s) = scope
                && let Err(e) = require_scope(&key.scopes, s)
            {
                return (Err(e), decision.usage);
            }
            (Ok(Principal::Key(key)), decision.usage)
        }
    }
}

fn denied_error(d: Denied, usage: Option<&Usage>) -> ApiError {
    match d {
        Denied::UnknownAccount => ApiError::new(
            ErrorCode::InvalidApiKey,
            "the API key's account no longer exists",
        ),
        Denied::AccountDisabled => ApiError::new(
            ErrorCode::AccountDisabled,
            "the account is disabled; its keys work again when an administrator enables it",
        ),
        Denied::PlanRequired { plan } => ApiError::new(
            ErrorCode::PlanRequired,
            format!(
                "the account's plan {plan:?} has no API access; an administrator can change the plan"
            ),
        ),
        Denied::IpNotAllowed { ip } => ApiError::new(
            ErrorCode::IpNotAllowed,
            format!("requests from {ip} are not in the account's IP allowlist"),
        ),
        Denied::Minute => {
            let (limit, reset) = usage.map_or((0, 0), |u| {
                (u.minute.limit, u.minute.reset_ms.div_ceil(1000))
            });
            ApiError::new(
                ErrorCode::RateLimitExceeded,
                format!(
                    "more than {limit} requests in 60 seconds with this key; retry after the reset"
                ),
            )
            .with_details(serde_json::json!({"scope": "minute", "limit": limit, "reset": reset}))
        }
        Denied::Month => {
            let (limit, reset) = usage
                .and_then(|u| u.month)
                .map_or((0, 0), |m| (m.limit, m.reset_s));
            ApiError::new(
                ErrorCode::RateLimitExceeded,
                format!("the account's {limit} calls for this month are used; the quota resets at the start of next month (UTC)"),
            )
            .with_details(serde_json::json!({"scope": "month", "limit": limit, "reset": reset}))
        }
    }
}

/// Seconds until the window that refused the call has a free slot (at least 1).
fn retry_after_s(u: &Usage, now_ms: u64) -> u64 {
    let month_exhausted = u.month.filter(|m| m.remaining == 0);
    let until_ms = match month_exhausted {
        Some(m) => (m.reset_s * 1000).saturating_sub(now_ms),
        None => u.minute.reset_ms.saturating_sub(now_ms),
    };
    until_ms.div_ceil(1000).max(1)
}

/// `X-RateLimit-*` for both windows (month only on plans with a monthly cap), and the IETF
/// `RateLimit-Policy` / `RateLimit` fields.
fn rate_limit_headers(h: &mut http::HeaderMap, u: &Usage, now_ms: u64) {
    let minute_reset_s = u.minute.reset_ms.div_ceil(1000);
    h.reserve(9);
    h.insert(LIMIT_MINUTE, HeaderValue::from(u.minute.limit));
    h.insert(REMAINING_MINUTE, HeaderValue::from(u.minute.remaining));
    h.insert(RESET_MINUTE, HeaderValue::from(minute_reset_s));
    let minute_t = u.minute.reset_ms.saturating_sub(now_ms).div_ceil(1000);
    let mut policy = format!("\"minute\";q={};w=60", u.minute.limit);
    let mut current = format!("\"minute\";r={};t={minute_t}", u.minute.remaining);
    if let Some(m) = u.month {
        h.insert(LIMIT_MONTH, HeaderValue::from(m.limit));
        h.insert(REMAINING_MONTH, HeaderValue::from(m.remaining));
        h.insert(RESET_MONTH, HeaderValue::from(m.reset_s));
        let month_t = m.reset_s.saturating_sub(now_ms / 1000);
        policy.push_str(&format!(", \"month\";q={};w=2592000", m.limit));
        current.push_str(&format!(", \"month\";r={};t={month_t}", m.remaining));
    }
    for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, current)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

fn require_scope(scopes: &crate::auth::ScopeSet, needed: Scope) -> Result<(), ApiError> {
    if scopes.contains(needed) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InsufficientScope,
        format!("this API key lacks the `{needed}` scope this endpoint needs"),
    )
    .with_details(serde_json::json!({ "required_scope": needed.as_str() })))
}

pub fn error_response(e: &ApiError, request_id: &str) -> Response<Body> {
    json_response(e.code.status(), &e.body(request_id))
}

/// A route's name, formatted only when a log line is written.
struct RouteName(Option<Route>);

impl std::fmt::Display for RouteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(r) => f.write_str(&r.name()),
            None => f.write_str("-"),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    state: &State,
    mut resp: Response<Body>,
    request_id: &str,
    method: &http::Method,
    path: &str,
    route: Option<Route>,
    principal: api::LogId,
    started: Instant,
) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    match route {
        Some(r) => {
            let spec = r.spec();
            let m = method_label(&spec.method);
            state
                .metrics
                .request_at(r as usize, spec.path, m, status, elapsed);
        }
        None => state
            .metrics
            .request("unmatched", method_label(method), status, elapsed),
    }
    let latency_ms = (elapsed * 100_000.0).round() / 100.0;
    // A secret pasted into a URL must not reach the logs: such a path is logged by its route.
    let path = if secret_like(path) {
        "(redacted: looks like a secret)"
    } else {
        path
    };
    // Field names are the same in text and JSON logs; the principal's account and project are
    // logged for API keys, so a collector can group requests by tenant.
    match principal {
        api::LogId::Key(key, account, project) => tracing::info!(
            request_id = %request_id,
            method = %method,
            path = %path,
            route = %RouteName(route),
            status,
            latency_ms,
            key_id = %key,
            account_id = %account,
            project_id = %project,
            "request"
        ),
        api::LogId::Token(token) => tracing::info!(
            request_id = %request_id,
            method = %method,
            path = %path,
            route = %RouteName(route),
            status,
            latency_ms,
            token_id = %token,
            "request"
        ),
        api::LogId::None => tracing::info!(
            request_id = %request_id,
            method = %method,
            path = %path,
            route = %RouteName(route),
            status,
            latency_ms,
            "request"
        ),
    }
    resp
}

/// A method as a metric label: the standard ones by name, anything else as `other`, so a client
/// cannot grow the label set.
fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `tonearm_refusals_total` reason for a refusal by a limit, if `e` is one.
fn refusal_reason(e: &ApiError) -> Option<&'static str> {
    Some(match e.code {
        ErrorCode::RateLimitExceeded => {
            let month = e
                .details
                .as_ref()
                .and_then(|d| d.get("scope"))
                .and_then(serde_json::Value::as_str)
                == Some("month");
            if month { "quota" } else { "rate_limit" }
        }
        ErrorCode::InsufficientCredits => "credits",
        ErrorCode::QueueFull => "queue_full",
        ErrorCode::TooManyUploads => "uploads",
        ErrorCode::TooManyAuthFailures => "auth_failures",
        ErrorCode::TooManyReports => "leak_reports",
        _ => return None,
    })
}

/// A client's `X-Request-Id` when it is short and plain (1-64 of `[A-Za-z0-9._-]`) and does not
/// look like one of tonearm's secrets, else a fresh one. The id is logged and echoed, so an
/// unchecked one could forge log lines or copy a pasted key into the logs.
fn request_id(headers: &http::HeaderMap) -> String {
    if let Some(v) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
        && acceptable_request_id(v)
    {
        return v.to_string();
    }
    new_request_id()
}

/// Whether `v` holds something that looks like one of tonearm's secrets.
fn secret_like(v: &str) -> bool {
    let lower = crate::api::percent_decode(v).to_ascii_lowercase();
    ["tonearm_", "whsec_"].iter().any(|p| lower.contains(p))
}

fn acceptable_request_id(v: &str) -> bool {
    let plain = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    let lower = v.to_ascii_lowercase();
    let secret_like = ["tonearm_", "whsec_"].iter().any(|p| lower.contains(p));
    plain && !secret_like
}

/// A fresh request id, for requests that bring none (or one that is not accepted).
pub fn new_request_id() -> String {
    format!("req_{}", base62_fixed(next_request_number(), 22))
}

/// Request ids need to be unique, not secret: a random 64-bit prefix drawn once per process
/// (so ids do not repeat across restarts) and a counter, instead of a CSPRNG call per request.
fn next_request_number() -> u128 {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut b = [0u8; 8];
        match random_bytes(&mut b) {
            Ok(()) => u64::from_le_bytes(b),
            Err(_) => now_ms(),
        }
    });
    (u128::from(prefix) << 64) | u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MonthState;
    use crate::policy::window::WindowState;

    fn headers(month: Option<MonthState>) -> Vec<(String, String)> {
        let u = Usage {
            minute: WindowState {
                limit: 30,
                remaining: 29,
                reset_ms: 1_000_059_500,
            },
            month,
        };
        let mut h = http::HeaderMap::new();
        rate_limit_headers(&mut h, &u, 1_000_000_000);
        let mut v: Vec<(String, String)> = h
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn request_ids_are_accepted_only_when_short_plain_and_not_secret_like() {
        for ok in ["abc", "trace-1.2_3", &"a".repeat(64)] {
            assert!(acceptable_request_id(ok), "{ok}");
        }
        for bad in [
            "",
            &"a".repeat(65),
            "has space",
            "new\nline",
            "colon:x",
            "tonearm_sk_abcdef",
            "x-TONEARM_MT_abc",
            "whsec_abc",
        ] {
            assert!(!acceptable_request_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn rate_limit_headers_for_the_minute_window_alone() {
        assert_eq!(
            headers(None),
            [
                ("ratelimit", "\"minute\";r=29;t=60"),
                ("ratelimit-policy", "\"minute\";q=30;w=60"),
                ("x-ratelimit-limit-minute", "30"),
                ("x-ratelimit-remaining-minute", "29"),
                ("x-ratelimit-reset-minute", "1000060"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
    }

    #[test]
    fn rate_limit_headers_with_a_monthly_quota() {
        let month = MonthState {
            limit: 1000,
            remaining: 7,
            reset_s: 1_000_100,
        };
        assert_eq!(
            headers(Some(month)),
            [
                ("ratelimit", "\"minute\";r=29;t=60, \"month\";r=7;t=100"),
                (
                    "ratelimit-policy",
                    "\"minute\";q=30;w=60, \"month\";q=1000;w=2592000"
                ),
                ("x-ratelimit-limit-minute", "30"),
                ("x-ratelimit-limit-month", "1000"),
                ("x-ratelimit-remaining-minute", "29"),
                ("x-ratelimit-remaining-month", "7"),
                ("x-ratelimit-reset-minute", "1000060"),
                ("x-ratelimit-reset-month", "1000100"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
    }
}
