//! The one request pipeline: request id → route → credentials → scope → handler → error
//! mapping → access log. Business rules live in `api`; this only orders the steps.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;

use super::body::{Body, json_response};
use super::error::{ApiError, ErrorCode, Realm, auth_error};
use super::route::{Access, Resolution, Route, resolve};
use crate::api::{self, Ctx, Principal, State};
use crate::auth::Scope;
use crate::ids::{now_ms, random_base62};

pub const REQUEST_ID: &str = "x-request-id";

pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_string();

    let (parts, body) = req.into_parts();
    let mut principal_id = String::new();
    let mut route_name = String::from("-");
    let result = match resolve(&parts.method, &path) {
        Resolution::NotFound => Err(ApiError::new(
            ErrorCode::RouteNotFound,
            format!("no route for {method} {path}"),
        )),
        Resolution::WrongMethod(allowed) => {
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
            return finish(resp, &request_id, &method, &path, "-", "", started);
        }
        Resolution::Found(route, params) => {
            route_name = route.name();
            match authenticate(&state, route, &parts) {
                Ok(principal) => {
                    principal_id = principal.log_id();
                    let ctx = Ctx {
                        state: state.clone(),
                        request_id: request_id.clone(),
                        params,
                        parts,
                        principal,
                    };
                    api::handle(route, ctx, body).await
                }
                Err(e) => Err(e),
            }
        }
    };
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.code == ErrorCode::Internal {
                tracing::error!(request_id = %request_id, route = %route_name, message = %e.message, "request failed");
            }
            let mut resp = error_response(&e, &request_id);
            if e.code.status() == http::StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tonearm\""),
                );
            }
            resp
        }
    };
    finish(
        resp,
        &request_id,
        &method,
        &path,
        &route_name,
        &principal_id,
        started,
    )
}

fn authenticate(
    state: &State,
    route: Route,
    parts: &http::request::Parts,
) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match route.spec().access {
        Access::Public => Ok(Principal::Anonymous),
        Access::Management => state
            .credentials
            .verify_token(header, now_ms())
            .map(Principal::Token)
            .map_err(|e| auth_error(Realm::Admin, e)),
        Access::ApiKey(scope) => {
            let key = state
                .credentials
                .verify_key(header, now_ms())
                .map_err(|e| auth_error(Realm::Api, e))?;
            if let Some(s) = scope {
                require_scope(&key.scopes, s)?;
            }
            Ok(Principal::Key(key))
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

fn finish(
    mut resp: Response<Body>,
    request_id: &str,
    method: &http::Method,
    path: &str,
    route: &str,
    principal: &str,
    started: Instant,
) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        route = %route,
        status = resp.status().as_u16(),
        latency_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        principal = %principal,
        "request"
    );
    resp
}

/// A well-formed incoming `X-Request-Id` (1-128 of `[A-Za-z0-9._:-]`), else a fresh one.
fn request_id(headers: &http::HeaderMap) -> String {
    if let Some(v) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        let ok = !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'));
        if ok {
            return v.to_string();
        }
    }
    match random_base62(22) {
        Ok(r) => format!("req_{r}"),
        Err(_) => format!("req_{}", now_ms()),
    }
}
