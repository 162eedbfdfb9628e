//! Handlers, one file per resource. Each parses its input, calls one domain or store function
//! and renders a view; credentials and scopes were already checked by `http::dispatch`.

mod accounts;
pub mod audit;
mod backup;
mod console;
pub mod credits;
mod deliveries;
mod health;
mod jobs;
mod keys;
mod leaks;
mod me;
mod metrics;
pub mod openapi;
mod projects;
mod sounds;
mod tokens;
mod usage;
mod webhooks;
pub use accounts::policy_state as accounts_policy_state;
pub use jobs::IdempotencyClaims;
pub use leaks::MAX_TOKENS as LEAK_REPORT_MAX_TOKENS;
pub use metrics::exposition as metrics_exposition;
pub use tokens::prepare as tokens_prepare;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use http::Response;
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use crate::auth::{Credentials, KeyEntry, TokenEntry};
use crate::config::Config;
use crate::http::body::{Body, read_json};
use crate::http::error::ApiError;
use crate::http::route::Route;
use crate::store::Store;

/// What handlers can reach: configuration, the database and the credential index.
pub struct State {
    pub config: Config,
    pub store: Store,
    pub credentials: Credentials,
    pub policy: crate::policy::Policy,
    /// Failed authentications per client address.
    pub auth_failures: crate::policy::auth_failures::AuthFailures,
    /// Uploads being received, per key and per account.
    pub uploads: Arc<crate::policy::uploads::InFlightUploads>,
    pub jobs: Arc<crate::jobs::Jobs>,
    /// Seals and opens webhook signing secrets.
    pub vault: Arc<crate::webhooks::vault::Vault>,
    pub deliveries: Arc<crate::webhooks::deliver::Deliveries>,
    /// Idempotency-Keys of uploads being received right now.
    pub idempotency: IdempotencyClaims,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Leak reports per client address (`POST /api/v1/leaks` needs no credential).
    pub leak_reports: crate::policy::auth_failures::AuthFailures,
    /// Set while a backup is being taken or streamed: one at a time.
    pub backup_running: std::sync::atomic::AtomicBool,
    /// The sound library: files, search index, download signing.
    pub library: Arc<crate::library::Library>,
}

impl State {
    /// Runs a store operation off the async runtime.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
    {
        self.store.call(f).await.map_err(ApiError::from)
    }

    /// Like `db`, but the first write transaction `f` commits also writes `entry` to the audit
    /// log: the change and its record commit together or not at all.
    pub async fn db_audited<T, F>(
        &self,
        entry: crate::store::schema::AuditRecord,
        f: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
    {
        let id = crate::ids::new_raw_id().map_err(|_| ApiError::internal())?;
        self.store
            .call(move |s| f(&s.audited(id, entry)))
            .await
            .map_err(ApiError::from)
    }
}

/// Who is calling, as established by dispatch.
pub enum Principal {
    Anonymous,
    Key(Arc<KeyEntry>),
    Token(Arc<TokenEntry>),
}

impl Principal {
    /// The credential's public id for the access log; never the secret.
    pub fn log_id(&self) -> LogId {
        match self {
            Principal::Anonymous => LogId::None,
            Principal::Key(k) => LogId::Key(k.id, k.account, k.project),
            Principal::Token(t) => LogId::Token(t.id),
        }
    }
}

/// A credential id, formatted only when a log line is actually written.
#[derive(Debug, Clone, Copy, Default)]
pub enum LogId {
    #[default]
    None,
    Key(
        crate::ids::KeyId,
        crate::ids::AccountId,
        crate::ids::ProjectId,
    ),
    Token(crate::ids::TokenId),
}

impl std::fmt::Display for LogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogId::None => Ok(()),
            LogId::Key(k, _, _) => k.fmt(f),
            LogId::Token(t) => t.fmt(f),
        }
    }
}

/// One request as a handler sees it.
pub struct Ctx {
    pub state: Arc<State>,
    pub request_id: String,
    /// Path parameters in template order.
    pub params: Vec<String>,
    pub parts: http::request::Parts,
    pub principal: Principal,
    /// The caller's rate-limit windows after this call was counted (API-key routes only).
    pub usage: Option<crate::policy::Usage>,
}

impl Ctx {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub async fn json<T: DeserializeOwned>(&self, body: Incoming) -> Result<T, ApiError> {
        read_json(
            &self.parts.headers,
            body,
            self.state.config.server.max_json_body_bytes,
            self.body_pace(),
        )
        .await
    }

    /// How fast this server wants request bodies to arrive.
    pub fn body_pace(&self) -> crate::http::body::Pace {
        crate::http::body::Pace {
            window: self.state.config.server.body_idle_timeout,
            min_bytes_per_sec: self.state.config.server.body_min_bytes_per_sec,
        }
    }

    /// A page of a listing, 200, with an RFC 8288 `Link: <…>; rel="next"` when there is more:
    /// this request's path and query with `cursor` set to `next_cursor`.
    pub fn list_response(&self, page: &serde_json::Value) -> Response<Body> {
        let mut r = crate::http::body::json_response(http::StatusCode::OK, page);
        if let Some(next) = page["next_cursor"].as_str() {
            let mut query: Vec<&str> = self
                .parts
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && p.split('=').next() != Some("cursor"))
                .collect();
            let cursor = format!("cursor={next}");
            query.push(&cursor);
            let link = format!(
                "<{}?{}>; rel=\"next\"",
                self.parts.uri.path(),
                query.join("&")
            );
            if let Ok(v) = http::HeaderValue::from_str(&link) {
                r.headers_mut().insert(http::header::LINK, v);
            }
        }
        r
    }

    /// The client's address: the peer, or what a trusted proxy says it forwarded for.
    pub fn client_ip(&self) -> std::net::IpAddr {
        let peer = self
            .parts
            .extensions
            .get::<crate::http::listener::PeerAddr>()
            .map(|p| p.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        self.state.policy.client_ip(peer, &self.parts.headers)
    }

    pub fn query(&self) -> HashMap<String, String> {
        parse_query(self.parts.uri.query().unwrap_or(""))
    }

    pub fn key(&self) -> Result<&Arc<KeyEntry>, ApiError> {
        match &self.principal {
            Principal::Key(k) => Ok(k),
            _ => Err(ApiError::internal()),
        }
    }
}

pub async fn handle(route: Route, ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    // The routes answered from memory run inline. The others' futures are boxed: their state
    // (an upload's, for one) is kilobytes, and inline it would make every request's future
    // that large, moved by value on each request.
    match route {
        Route::Healthz => health::healthz(),
        Route::OpenApi => openapi::document(&ctx.state.policy.plan_names()),
        Route::Docs => openapi::docs_page(),
        Route::Me => me::get(ctx),
        Route::Console => console::page(&ctx),
        Route::ConsoleAsset => console::asset_file(&ctx),
        _ => Box::pin(handle_stored(route, ctx, body)).await,
    }
}

async fn handle_stored(route: Route, ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    match route {
        Route::Healthz
        | Route::OpenApi
        | Route::Docs
        | Route::Me
        | Route::Console
        | Route::ConsoleAsset => Err(ApiError::internal()),
        Route::Metrics => metrics::get(ctx).await,
        Route::AuditList => audit::list(ctx).await,
        Route::Backup => backup::get(ctx).await,
        Route::LeaksReport => leaks::report(ctx, body).await,
        Route::Readyz => health::readyz(ctx).await,
        Route::AccountsList => accounts::list(ctx).await,
        Route::AccountsCreate => accounts::create(ctx, body).await,
        Route::AccountGet => accounts::get(ctx).await,
        Route::AccountUpdate => accounts::update(ctx, body).await,
        Route::AccountDelete => accounts::delete(ctx).await,
        Route::ProjectsList => projects::list(ctx).await,
        Route::ProjectsCreate => projects::create(ctx, body).await,
        Route::ProjectGet => projects::get(ctx).await,
        Route::ProjectDelete => projects::delete(ctx).await,
        Route::KeysList => keys::list(ctx).await,
        Route::KeysCreate => keys::create(ctx, body).await,
        Route::KeyGet => keys::get(ctx).await,
        Route::KeyRevoke => keys::revoke(ctx).await,
        Route::TokensList => tokens::list(ctx).await,
        Route::TokensCreate => tokens::create(ctx, body).await,
        Route::TokenRevoke => tokens::revoke(ctx).await,
        Route::Analyze => jobs::submit(ctx, body).await,
        Route::JobsList => jobs::list(ctx).await,
        Route::JobGet => jobs::get(ctx).await,
        Route::JobStream => jobs::stream(ctx).await,
        Route::JobDelete => jobs::delete(ctx).await,
        Route::AccountInfo => credits::account(ctx).await,
        Route::AccountLedger => credits::ledger(ctx).await,
        Route::AccountCreditsGrant => credits::grant(ctx, body).await,
        Route::AccountLedgerAdmin => credits::admin_ledger(ctx).await,
        Route::WebhookSecretsList => webhooks::list_secrets(ctx, false).await,
        Route::WebhookSecretsCreate => webhooks::create_secret(ctx, body, false).await,
        Route::WebhookSecretRevoke => webhooks::revoke_secret(ctx, false).await,
        Route::AdminWebhookSecretsList => webhooks::list_secrets(ctx, true).await,
        Route::AdminWebhookSecretsCreate => webhooks::create_secret(ctx, body, true).await,
        Route::AdminWebhookSecretRevoke => webhooks::revoke_secret(ctx, true).await,
        Route::DeliveriesList => deliveries::list(ctx).await,
        Route::DeliveryGet => deliveries::get(ctx).await,
        Route::DeliveryRedeliver => deliveries::redeliver(ctx).await,
        Route::AdminJobsList => jobs::admin_list(ctx).await,
        Route::AdminJobGet => jobs::admin_get(ctx).await,
        Route::AdminDeliveriesList => deliveries::admin_list(ctx).await,
        Route::AdminDeliveryGet => deliveries::admin_get(ctx).await,
        Route::AdminDeliveryRedeliver => deliveries::admin_redeliver(ctx).await,
        Route::AccountUsage => usage::account(ctx).await,
        Route::AdminSoundCreate => sounds::create(ctx, body).await,
        Route::AdminSoundGet => sounds::admin_get(ctx).await,
        Route::AdminSoundUpdate => sounds::update(ctx, body).await,
        Route::AdminSoundDelete => sounds::delete(ctx).await,
        Route::SoundsSearch | Route::AdminSoundsSearch => sounds::search(ctx).await,
        Route::SoundMetadata => sounds::metadata(ctx).await,
        Route::SoundSimilar => sounds::similar(ctx).await,
        Route::SoundWaveform => sounds::waveform(ctx).await,
        Route::SoundPreview | Route::AdminSoundPreview => sounds::preview(ctx).await,
        Route::SoundDownload => sounds::download(ctx).await,
        Route::SoundFile => sounds::file(ctx).await,
        Route::Categories => sounds::categories(ctx).await,
    }
}

/// `a=1&b=x%20y` → map; later duplicates win. Malformed escapes are kept literally.
pub fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pagination parameters: `limit` (1-100, default 20) and `cursor` (an id from `next_cursor`).
pub struct PageParams {
    pub limit: usize,
    pub after: Option<u128>,
}

impl PageParams {
    pub fn from_query(
        q: &HashMap<String, String>,
        parse_cursor: impl Fn(&str) -> Option<u128>,
    ) -> Result<PageParams, ApiError> {
        let limit = match q.get("limit") {
            None => 20,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) && !v.starts_with('+') => n,
                _ => return Err(ApiError::invalid("limit must be an integer from 1 to 100")),
            },
        };
        let after = match q.get("cursor") {
            None => None,
            Some(c) => Some(
                parse_cursor(c)
                    .ok_or_else(|| ApiError::invalid("cursor is not one this API returned"))?,
            ),
        };
        Ok(PageParams { limit, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let q = parse_query("a=1&b=x%20y&c=%zz&d=a+b&e");
        assert_eq!(q["a"], "1");
        assert_eq!(q["b"], "x y");
        assert_eq!(q["c"], "%zz");
        assert_eq!(q["d"], "a b");
        assert_eq!(q["e"], "");
        assert_eq!(parse_query("x=%4")["x"], "%4");
    }
}
