//! The route table: every endpoint once, with its method, path template, credential and scope.
//! The router resolves requests from this table and the OpenAPI document is generated from it,
//! so a route cannot be served without being documented.

use http::Method;

use crate::auth::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Healthz,
    Readyz,
    OpenApi,
    Docs,
    Me,
    AccountsList,
    AccountsCreate,
    AccountGet,
    AccountUpdate,
    AccountDelete,
    ProjectsList,
    ProjectsCreate,
    ProjectGet,
    ProjectDelete,
    KeysList,
    KeysCreate,
    KeyGet,
    KeyRevoke,
    TokensList,
    TokensCreate,
    TokenRevoke,
    AccountInfo,
    AccountLedger,
    AccountCreditsGrant,
    AccountLedgerAdmin,
    Analyze,
    JobsList,
    JobGet,
    JobStream,
    JobDelete,
    WebhookSecretsList,
    WebhookSecretsCreate,
    WebhookSecretRevoke,
    AdminWebhookSecretsList,
    AdminWebhookSecretsCreate,
    AdminWebhookSecretRevoke,
    DeliveriesList,
    DeliveryGet,
    DeliveryRedeliver,
    AdminJobsList,
    AdminJobGet,
    AdminDeliveriesList,
    AdminDeliveryGet,
    AdminDeliveryRedeliver,
    AccountUsage,
    Console,
    ConsoleAsset,
    Metrics,
    AuditList,
    Backup,
    LeaksReport,
    AdminSoundCreate,
    AdminSoundGet,
    AdminSoundUpdate,
    AdminSoundDelete,
    SoundsSearch,
    SoundMetadata,
    SoundWaveform,
    SoundPreview,
    SoundSimilar,
    SoundDownload,
    SoundFile,
    Categories,
    AdminSoundsSearch,
    AdminSoundPreview,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// An API key, holding the scope if one is named.
    ApiKey(Option<Scope>),
    Management,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// Path template; `{name}` matches one non-empty segment.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// Group in the documentation.
    pub tag: &'static str,
}

impl Route {
    pub const ALL: [Route; 65] = [
        Route::Healthz,
        Route::Readyz,
        Route::OpenApi,
        Route::Docs,
        Route::Me,
        Route::AccountsList,
        Route::AccountsCreate,
        Route::AccountGet,
        Route::AccountUpdate,
        Route::AccountDelete,
        Route::ProjectsList,
        Route::ProjectsCreate,
        Route::ProjectGet,
        Route::ProjectDelete,
        Route::KeysList,
        Route::KeysCreate,
        Route::KeyGet,
        Route::KeyRevoke,
        Route::TokensList,
        Route::TokensCreate,
        Route::TokenRevoke,
        Route::AccountInfo,
        Route::AccountLedger,
        Route::AccountCreditsGrant,
        Route::AccountLedgerAdmin,
        Route::Analyze,
        Route::JobsList,
        Route::JobGet,
        Route::JobStream,
        Route::JobDelete,
        Route::WebhookSecretsList,
        Route::WebhookSecretsCreate,
        Route::WebhookSecretRevoke,
        Route::AdminWebhookSecretsList,
        Route::AdminWebhookSecretsCreate,
        Route::AdminWebhookSecretRevoke,
        Route::DeliveriesList,
        Route::DeliveryGet,
        Route::DeliveryRedeliver,
        Route::AdminJobsList,
        Route::AdminJobGet,
        Route::AdminDeliveriesList,
        Route::AdminDeliveryGet,
        Route::AdminDeliveryRedeliver,
        Route::AccountUsage,
        Route::Console,
        Route::ConsoleAsset,
        Route::Metrics,
        Route::AuditList,
        Route::Backup,
        Route::LeaksReport,
        Route::AdminSoundCreate,
        Route::AdminSoundGet,
        Route::AdminSoundUpdate,
        Route::AdminSoundDelete,
        Route::SoundsSearch,
        Route::SoundMetadata,
        Route::SoundWaveform,
        Route::SoundPreview,
        Route::SoundSimilar,
        Route::SoundDownload,
        Route::SoundFile,
        Route::Categories,
        Route::AdminSoundsSearch,
        Route::AdminSoundPreview,
    ];

    pub fn spec(self) -> RouteSpec {
        use Access::*;
        let (method, path, access, summary, tag) = match self {
            Route::Healthz => (
                Method::GET,
                "/healthz",
                Public,
                "Process is alive",
                "health",
            ),
            Route::Readyz => (
                Method::GET,
                "/readyz",
                Public,
                "Database is open and writable",
                "health",
            ),
            Route::OpenApi => (
                Method::GET,
                "/api/openapi.json",
                Public,
                "This OpenAPI document",
                "docs",
            ),
            Route::Docs => (
                Method::GET,
                "/api/docs",
                Public,
                "Readable API reference (works offline)",
                "docs",
            ),
            Route::AccountInfo => (
                Method::GET,
                "/api/v1/account",
                ApiKey(Some(Scope::AccountRead)),
                "The calling key's account: plan, credits, reset date",
                "api",
            ),
            Route::AccountLedger => (
                Method::GET,
                "/api/v1/account/ledger",
                ApiKey(Some(Scope::AccountRead)),
                "Credit movements, newest first (50 per page)",
                "api",
            ),
            Route::AccountCreditsGrant => (
                Method::POST,
                "/admin/v1/accounts/{account_id}/credits",
                Management,
                "Grant credits to an account (type grant or bonus)",
                "accounts",
            ),
            Route::AccountLedgerAdmin => (
                Method::GET,
                "/admin/v1/accounts/{account_id}/ledger",
                Management,
                "An account's credit movements, newest first",
                "accounts",
            ),
            Route::Analyze => (
                Method::POST,
                "/api/v1/analyze",
                ApiKey(Some(Scope::Analyze)),
                "Upload audio (multipart/form-data: file, optional filename) for analysis",
                "jobs",
            ),
            Route::JobsList => (
                Method::GET,
                "/api/v1/jobs",
                ApiKey(Some(Scope::JobsRead)),
                "The project's jobs, newest first (?status=, ?limit=, ?cursor=)",
                "jobs",
            ),
            Route::JobGet => (
                Method::GET,
                "/api/v1/jobs/{job_id}",
                ApiKey(Some(Scope::JobsRead)),
                "A job: 202 while queued or running, 200 with the result or error when finished",
                "jobs",
            ),
            Route::JobStream => (
                Method::GET,
                "/api/v1/jobs/{job_id}/stream",
                ApiKey(Some(Scope::JobsRead)),
                "Server-Sent Events: progress, then result or error, then done",
                "jobs",
            ),
            Route::JobDelete => (
                Method::DELETE,
                "/api/v1/jobs/{job_id}",
                ApiKey(Some(Scope::JobsDelete)),
                "Delete a job, its result and its audio",
                "jobs",
            ),
            Route::Me => (
                Method::GET,
                "/api/v1/me",
                ApiKey(None),
                "The calling API key",
                "api",
            ),
            Route::AccountsList => (
                Method::GET,
                "/admin/v1/accounts",
                Management,
                "List accounts",
                "accounts",
            ),
            Route::AccountsCreate => (
                Method::POST,
                "/admin/v1/accounts",
                Management,
                "Create an account (with its default project)",
                "accounts",
            ),
            Route::AccountGet => (
                Method::GET,
                "/admin/v1/accounts/{account_id}",
                Management,
                "Get an account",
                "accounts",
            ),
            Route::AccountUpdate => (
                Method::PATCH,
                "/admin/v1/accounts/{account_id}",
                Management,
                "Change an account's name, plan or disabled flag",
                "accounts",
            ),
            Route::AccountDelete => (
                Method::DELETE,
                "/admin/v1/accounts/{account_id}",
                Management,
                "Delete an account with its projects and keys",
                "accounts",
            ),
            Route::ProjectsList => (
                Method::GET,
                "/admin/v1/accounts/{account_id}/projects",
                Management,
                "List an account's projects",
                "projects",
            ),
            Route::ProjectsCreate => (
                Method::POST,
                "/admin/v1/accounts/{account_id}/projects",
                Management,
                "Create a project",
                "projects",
            ),
            Route::ProjectGet => (
                Method::GET,
                "/admin/v1/projects/{project_id}",
                Management,
                "Get a project",
                "projects",
            ),
            Route::ProjectDelete => (
                Method::DELETE,
                "/admin/v1/projects/{project_id}",
                Management,
                "Delete a project and its keys",
                "projects",
            ),
            Route::KeysList => (
                Method::GET,
                "/admin/v1/keys",
                Management,
                "List API keys (optionally of one account)",
                "keys",
            ),
            Route::KeysCreate => (
                Method::POST,
                "/admin/v1/keys",
                Management,
                "Create an API key; the value is returned once",
                "keys",
            ),
            Route::KeyGet => (
                Method::GET,
                "/admin/v1/keys/{key_id}",
                Management,
                "Get an API key's metadata",
                "keys",
            ),
            Route::KeyRevoke => (
                Method::DELETE,
                "/admin/v1/keys/{key_id}",
                Management,
                "Revoke an API key (effective on the next request)",
                "keys",
            ),
            Route::TokensList => (
                Method::GET,
                "/admin/v1/tokens",
                Management,
                "List management tokens",
                "tokens",
            ),
            Route::TokensCreate => (
                Method::POST,
                "/admin/v1/tokens",
                Management,
                "Create a management token; the value is returned once",
                "tokens",
            ),
            Route::TokenRevoke => (
                Method::DELETE,
                "/admin/v1/tokens/{token_id}",
                Management,
                "Revoke a management token",
                "tokens",
            ),
            Route::WebhookSecretsList => (
                Method::GET,
                "/api/v1/webhook-secrets",
                ApiKey(Some(Scope::WebhooksManage)),
                "The project's webhook signing secrets (never their values)",
                "webhooks",
            ),
            Route::DeliveriesList => (
                Method::GET,
                "/api/v1/webhooks/deliveries",
                ApiKey(Some(Scope::JobsRead)),
                "The project's webhook deliveries, newest first (?job_id=, ?status=, ?limit=, ?cursor=)",
                "webhooks",
            ),
            Route::DeliveryGet => (
                Method::GET,
                "/api/v1/webhooks/deliveries/{delivery_id}",
                ApiKey(Some(Scope::JobsRead)),
                "A webhook delivery with every attempt (time, status code, latency, error, response excerpt) and the event",
                "webhooks",
            ),
            Route::DeliveryRedeliver => (
                Method::POST,
                "/api/v1/webhooks/deliveries/{delivery_id}/redeliver",
                ApiKey(Some(Scope::WebhooksManage)),
                "Send the delivery's event again now (same webhook-id), with a fresh retry schedule",
                "webhooks",
            ),
            Route::WebhookSecretsCreate => (
                Method::POST,
                "/api/v1/webhook-secrets",
                ApiKey(Some(Scope::WebhooksManage)),
                "Create a webhook signing secret; the value is returned once",
                "webhooks",
            ),
            Route::WebhookSecretRevoke => (
                Method::DELETE,
                "/api/v1/webhook-secrets/{secret_id}",
                ApiKey(Some(Scope::WebhooksManage)),
                "Revoke a webhook signing secret (deliveries stop carrying its signature)",
                "webhooks",
            ),
            Route::AdminWebhookSecretsList => (
                Method::GET,
                "/admin/v1/projects/{project_id}/webhook-secrets",
                Management,
                "A project's webhook signing secrets",
                "webhooks",
            ),
            Route::AdminWebhookSecretsCreate => (
                Method::POST,
                "/admin/v1/projects/{project_id}/webhook-secrets",
                Management,
                "Create a webhook signing secret for a project; the value is returned once",
                "webhooks",
            ),
            Route::AdminWebhookSecretRevoke => (
                Method::DELETE,
                "/admin/v1/projects/{project_id}/webhook-secrets/{secret_id}",
                Management,
                "Revoke a project's webhook signing secret",
                "webhooks",
            ),
            Route::AdminJobsList => (
                Method::GET,
                "/admin/v1/projects/{project_id}/jobs",
                Management,
                "A project's jobs, newest first, without results (?status=, ?limit=, ?cursor=)",
                "jobs",
            ),
            Route::AdminJobGet => (
                Method::GET,
                "/admin/v1/jobs/{job_id}",
                Management,
                "Any project's job, with its result when it has one",
                "jobs",
            ),
            Route::AdminDeliveriesList => (
                Method::GET,
                "/admin/v1/projects/{project_id}/deliveries",
                Management,
                "A project's webhook deliveries, newest first (?job_id=, ?status=, ?limit=, ?cursor=)",
                "webhooks",
            ),
            Route::AdminDeliveryGet => (
                Method::GET,
                "/admin/v1/deliveries/{delivery_id}",
                Management,
                "Any project's webhook delivery with every attempt and the event",
                "webhooks",
            ),
            Route::AdminDeliveryRedeliver => (
                Method::POST,
                "/admin/v1/deliveries/{delivery_id}/redeliver",
                Management,
                "Send a delivery's event again now (same webhook-id), with a fresh retry schedule",
                "webhooks",
            ),
            Route::AccountUsage => (
                Method::GET,
                "/admin/v1/accounts/{account_id}/usage",
                Management,
                "An account's requests and analyses per UTC day (?days=, 1-90, default 30), per key and in all, with each key's live minute window and the month quota",
                "accounts",
            ),
            Route::Console => (
                Method::GET,
                "/console",
                Public,
                "The web console (a single page; it signs in with a management token)",
                "console",
            ),
            Route::ConsoleAsset => (
                Method::GET,
                "/console/assets/{asset}",
                Public,
                "A file of the web console (script, style sheet, icon), named by its content hash",
                "console",
            ),
            Route::Metrics => (
                Method::GET,
                "/metrics",
                Management,
                "Prometheus metrics (OpenMetrics text)",
                "operations",
            ),
            Route::AuditList => (
                Method::GET,
                "/admin/v1/audit",
                Management,
                "The audit log, newest first (?action=, ?actor=, ?target=, ?since=, ?until=, ?limit=, ?cursor=)",
                "operations",
            ),
            Route::Backup => (
                Method::GET,
                "/admin/v1/backup",
                Management,
                "A consistent backup archive (tar with a manifest), streamed while the server serves",
                "operations",
            ),
            Route::LeaksReport => (
                Method::POST,
                "/api/v1/leaks",
                Public,
                "Report leaked secrets: live keys and tokens among them are revoked at once",
                "operations",
            ),
            Route::AdminSoundCreate => (
                Method::POST,
                "/admin/v1/sounds",
                Management,
                "Import a sound (multipart/form-data: file, metadata JSON); measured on import",
                "library",
            ),
            Route::AdminSoundGet => (
                Method::GET,
                "/admin/v1/sounds/{sound_id}",
                Management,
                "A sound's full record with the SHA-256 of its original",
                "library",
            ),
            Route::AdminSoundUpdate => (
                Method::PATCH,
                "/admin/v1/sounds/{sound_id}",
                Management,
                "Change a sound's curated metadata (title, tags, category, licence, …)",
                "library",
            ),
            Route::AdminSoundDelete => (
                Method::DELETE,
                "/admin/v1/sounds/{sound_id}",
                Management,
                "Remove a sound, its original and its cached downloads",
                "library",
            ),
            Route::SoundsSearch => (
                Method::GET,
                "/api/v1/sounds/search",
                ApiKey(Some(Scope::LibraryRead)),
                "Search the library (?q=, category, duration_max, license, limit, cursor); best first, next page in Link",
                "library",
            ),
            Route::SoundMetadata => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/metadata",
                ApiKey(Some(Scope::LibraryRead)),
                "A sound's full metadata and measurements",
                "library",
            ),
            Route::SoundWaveform => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/waveform",
                ApiKey(Some(Scope::LibraryRead)),
                "A sound's waveform peaks as JSON (?width=), or a PNG picture (?format=png&width=&height=)",
                "library",
            ),
            Route::SoundPreview => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/preview",
                ApiKey(Some(Scope::LibraryRead)),
                "A short low-bitrate Ogg Vorbis preview for auditioning (free)",
                "library",
            ),
            Route::SoundSimilar => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/similar",
                ApiKey(Some(Scope::LibraryRead)),
                "The sounds that sound most like this one to the tagging model (?limit=), nearest first",
                "library",
            ),
            Route::SoundDownload => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/download",
                ApiKey(Some(Scope::LibraryDownload)),
                "A signed download URL (?format=wav24|wav16|mp3320|ogg&normalize=); costs 1 credit",
                "library",
            ),
            Route::SoundFile => (
                Method::GET,
                "/api/v1/sounds/{sound_id}/file",
                Public,
                "The file behind a signed download URL (no API key; 403 tampered, 410 expired; Range, ETag)",
                "library",
            ),
            Route::AdminSoundsSearch => (
                Method::GET,
                "/admin/v1/sounds",
                Management,
                "Search the sound library as GET /api/v1/sounds/search does, for operators and the console",
                "library",
            ),
            Route::AdminSoundPreview => (
                Method::GET,
                "/admin/v1/sounds/{sound_id}/preview",
                Management,
                "A sound's preview, as GET /api/v1/sounds/{sound_id}/preview gives it",
                "library",
            ),
            Route::Categories => (
                Method::GET,
                "/api/v1/categories",
                ApiKey(Some(Scope::LibraryRead)),
                "The 14 top-level categories with sound counts and subcategories",
                "library",
            ),
        };
        RouteSpec {
            method,
            path,
            access,
            summary,
            tag,
        }
    }

    /// A stable name for logs and documentation (`operationId`).
    pub fn name(self) -> String {
        let mut s = format!("{self:?}");
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_lowercase();
        }
        s
    }
}

/// Outcome of matching a request against the table.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    Found(Route, Vec<String>),
    /// The path exists with other methods; they go in the `Allow` header.
    WrongMethod(Vec<Method>),
    NotFound,
}

pub fn resolve(method: &Method, path: &str) -> Resolution {
    let segments: Vec<&str> = path.split('/').collect();
    let mut allowed = Vec::new();
    for (route, template) in templates() {
        let spec = route.spec();
        let Some(params) = match_template(template, &segments) else {
            continue;
        };
        // HEAD is served as GET without a body by hyper's callers; accept it where GET is,
        // except where a GET does work that a HEAD must not repeat (a snapshot, a charge).
        let head_as_get = *method == Method::HEAD
            && spec.method == Method::GET
            && !matches!(route, Route::Backup | Route::SoundDownload);
        if spec.method == *method || head_as_get {
            return Resolution::Found(*route, params);
        }
        allowed.push(spec.method);
    }
    if allowed.is_empty() {
        Resolution::NotFound
    } else {
        Resolution::WrongMethod(allowed)
    }
}

/// Every route's path template split into segments, once per process rather than per request.
fn templates() -> &'static [(Route, Vec<&'static str>)] {
    static TEMPLATES: std::sync::OnceLock<Vec<(Route, Vec<&'static str>)>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        Route::ALL
            .into_iter()
            .map(|r| (r, r.spec().path.split('/').collect()))
            .collect()
    })
}

fn match_template(parts: &[&str], segments: &[&str]) -> Option<Vec<String>> {
    if parts.len() != segments.len() {
        return None;
    }
    // Compare first, so that a template that does not match allocates nothing.
    let matches = parts.iter().zip(segments).all(|(t, s)| {
        if t.starts_with('{') {
            !s.is_empty()
        } else {
            t == s
        }
    });
    if !matches {
        return None;
    }
    Some(
        parts
            .iter()
            .zip(segments)
            .filter(|(t, _)| t.starts_with('{'))
            .map(|(_, s)| (*s).to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_resolves_from_its_own_template() {
        for r in Route::ALL {
            let spec = r.spec();
            let path = spec
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            match resolve(&spec.method, &path) {
                Resolution::Found(found, _) => assert_eq!(found, r, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn templates_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Route::ALL {
            let s = r.spec();
            assert!(seen.insert((s.method.clone(), s.path)), "{r:?}");
        }
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        assert_eq!(
            resolve(&Method::PUT, "/admin/v1/keys"),
            Resolution::WrongMethod(vec![Method::GET, Method::POST])
        );
        assert_eq!(resolve(&Method::GET, "/nope"), Resolution::NotFound);
        assert_eq!(
            resolve(&Method::GET, "/admin/v1/keys/"),
            Resolution::NotFound
        );
        assert!(
            matches!(resolve(&Method::GET, "/admin/v1/keys/k1"), Resolution::Found(Route::KeyGet, p) if p == ["k1"])
        );
    }

    /// HEAD answers like GET without a body, but never takes a backup or charges a download.
    #[test]
    fn head_is_get_except_where_get_does_work() {
        assert!(matches!(
            resolve(&Method::HEAD, "/api/v1/sounds/search"),
            Resolution::Found(Route::SoundsSearch, _)
        ));
        assert_eq!(
            resolve(&Method::HEAD, "/admin/v1/backup"),
            Resolution::WrongMethod(vec![Method::GET])
        );
        assert_eq!(
            resolve(&Method::HEAD, "/api/v1/sounds/x/download"),
            Resolution::WrongMethod(vec![Method::GET])
        );
    }
}
