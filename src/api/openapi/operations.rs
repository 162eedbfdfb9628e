//! Per operation: its parameters, request body and every response it can produce, with the
//! headers each one carries.

use serde_json::{Map, Value, json};

use super::library;
use super::schemas::{DURATION_PATTERN, NAME_PATTERN, id, ip_pattern, reference};
use crate::auth::ScopeSet;
use crate::http::route::{Access, Route};

/// The schema of a path parameter, by its name in the template.
pub fn path_param(name: &str) -> Value {
    match name {
        "account_id" => id("acct"),
        "project_id" => id("proj"),
        "key_id" => id("key"),
        "token_id" => id("mt"),
        "job_id" => id("job"),
        "secret_id" => id("whk"),
        "delivery_id" => id("dlv"),
        _ => json!({"type": "string", "minLength": 1}),
    }
}

fn header_ref(name: &str, required: bool) -> Value {
    let mut h = json!({"$ref": format!("#/components/headers/{name}")});
    if required {
        // A reference object cannot carry `required`; repeat the header inline instead.
        h = header_components()[name].clone();
        h["required"] = true.into();
    }
    h
}

/// Headers shared by many responses.
pub fn header_components() -> Value {
    let int = |d: &str| json!({"description": d, "schema": {"type": "integer", "minimum": 0}});
    let text = |d: &str| json!({"description": d, "schema": {"type": "string"}});
    json!({
        "X-Request-Id": text("The request's id: the client's own if it sent a well-formed one; the same id is in the server log."),
        "X-RateLimit-Limit-Minute": int("Requests per minute allowed to this key."),
        "X-RateLimit-Remaining-Minute": int("Requests left in the current 60 s window."),
        "X-RateLimit-Reset-Minute": int("Unix seconds when a slot frees."),
        "X-RateLimit-Limit-Month": int("Calls per month allowed to the account (plans with a monthly cap only)."),
        "X-RateLimit-Remaining-Month": int("Calls left this month."),
        "X-RateLimit-Reset-Month": int("Unix seconds of the next monthly reset."),
        "RateLimit-Policy": text("IETF RateLimit-Policy: \"minute\";q=LIMIT;w=60[, \"month\";q=LIMIT;w=SECONDS]"),
        "RateLimit": text("IETF RateLimit: \"minute\";r=REMAINING;t=SECONDS[, \"month\";r=…;t=…]"),
        "Retry-After": int("Seconds to wait before trying again."),
        "Location": text("Where the new resource is read."),
        "Idempotent-Replayed": {"description": "Present on an answer replayed for a repeated Idempotency-Key.", "schema": {"const": "true"}},
        "WWW-Authenticate": text("Bearer realm=\"tonearm\""),
        "Link": text("RFC 8288 link to the next page: <URL>; rel=\"next\" (only when has_more)."),
    })
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn rate_headers(h: &mut Map<String, Value>, required: bool) {
    for name in [
        "X-RateLimit-Limit-Minute",
        "X-RateLimit-Remaining-Minute",
        "X-RateLimit-Reset-Minute",
        "RateLimit-Policy",
        "RateLimit",
    ] {
        h.insert(name.into(), header_ref(name, required));
    }
    for name in [
        "X-RateLimit-Limit-Month",
        "X-RateLimit-Remaining-Month",
        "X-RateLimit-Reset-Month",
    ] {
        h.insert(name.into(), header_ref(name, false));
    }
}

/// An error response; the body is always the Error shape.
fn error(desc: &str, route: Route, extra: &[(&str, bool)]) -> Value {
    let mut h = Map::new();
    h.insert("X-Request-Id".into(), header_ref("X-Request-Id", true));
    if matches!(route.spec().access, Access::ApiKey(_)) {
        rate_headers(&mut h, false);
    }
    for (name, required) in extra {
        h.insert((*name).into(), header_ref(name, *required));
    }
    json!({"description": desc, "headers": h, "content": json_content(reference("Error"))})
}

/// The success responses: status → (description, schema name).
fn success(route: Route) -> Vec<(&'static str, &'static str, &'static str)> {
    use Route::*;
    match route {
        Healthz => vec![("200", "The process is alive", "Health")],
        Readyz => vec![("200", "The database is open and a write commits", "Ready")],
        OpenApi => vec![("200", "This document", "")],
        Docs => vec![("200", "The reference page", "")],
        Me => vec![(
            "200",
            "The calling key with its live rate-limit windows",
            "Me",
        )],
        AccountsList => vec![("200", "A page of accounts", "AccountList")],
        AccountsCreate => vec![(
            "201",
            "The account, with its default project",
            "AccountCreated",
        )],
        AccountGet | AccountUpdate => vec![("200", "The account", "Account")],
        AccountDelete => vec![(
            "200",
            "Deleted, with its projects and keys",
            "AccountDeleted",
        )],
        ProjectsList => vec![("200", "A page of projects", "ProjectList")],
        ProjectsCreate => vec![("201", "The project", "Project")],
        ProjectGet => vec![("200", "The project", "Project")],
        ProjectDelete => vec![("200", "Deleted, with its keys", "ProjectDeleted")],
        KeysList => vec![("200", "A page of API keys", "ApiKeyList")],
        KeysCreate => vec![("201", "The key; `key` is shown only here", "ApiKeyCreated")],
        KeyGet | KeyRevoke => vec![("200", "The key's metadata", "ApiKey")],
        TokensList => vec![("200", "A page of management tokens", "ManagementTokenList")],
        TokensCreate => vec![(
            "201",
            "The token; `token` is shown only here",
            "ManagementTokenCreated",
        )],
        TokenRevoke => vec![("200", "The token's metadata", "ManagementToken")],
        AccountInfo => vec![("200", "The calling key's account", "AccountInfo")],
        AccountLedger | AccountLedgerAdmin => {
            vec![(
                "200",
                "A page of credit movements, newest first",
                "LedgerList",
            )]
        }
        AccountCreditsGrant => vec![("201", "The credits were granted", "CreditGrant")],
        Analyze => vec![(
            "202",
            "Accepted and queued; on a repeated Idempotency-Key, the original job in its current state",
            "JobAccepted",
        )],
        JobsList => vec![(
            "200",
            "A page of jobs, newest first (without results)",
            "JobList",
        )],
        JobGet => vec![
            (
                "200",
                "The job has finished: succeeded with `result`, or failed with `error`",
                "Job",
            ),
            (
                "202",
                "The job is queued or running (`stage`, `progress`)",
                "Job",
            ),
        ],
        JobStream => vec![("200", "The event stream", "")],
        JobDelete => vec![("200", "Deleted with its result and audio", "JobDeleted")],
        WebhookSecretsList | AdminWebhookSecretsList => {
            vec![(
                "200",
                "A page of signing secrets (never their values)",
                "WebhookSecretList",
            )]
        }
        WebhookSecretsCreate | AdminWebhookSecretsCreate => vec![(
            "201",
            "The secret; `secret` is shown only here",
            "WebhookSecretCreated",
        )],
        WebhookSecretRevoke | AdminWebhookSecretRevoke => {
            vec![("200", "The revoked secret", "WebhookSecret")]
        }
        DeliveriesList => vec![("200", "A page of deliveries, newest first", "DeliveryList")],
        DeliveryGet => vec![(
            "200",
            "The delivery with its attempts and event",
            "DeliveryDetail",
        )],
        DeliveryRedeliver | AdminDeliveryRedeliver => {
            vec![("202", "Queued to be sent again now", "Delivery")]
        }
        AdminJobsList => vec![(
            "200",
            "A page of jobs, newest first (without results)",
            "JobList",
        )],
        AdminJobGet => vec![
            (
                "200",
                "The job has finished: succeeded with `result`, or failed with `error`",
                "AdminJob",
            ),
            (
                "202",
                "The job is queued or running (`stage`, `progress`)",
                "AdminJob",
            ),
        ],
        AdminDeliveriesList => {
            vec![("200", "A page of deliveries, newest first", "DeliveryList")]
        }
        AdminDeliveryGet => vec![(
            "200",
            "The delivery with its attempts and event",
            "DeliveryDetail",
        )],
        AccountUsage => vec![("200", "The account's usage", "Usage")],
        Console => vec![("200", "The console page", "")],
        ConsoleAsset => vec![("200", "The file", "")],
        Metrics | AuditList | Backup | LeaksReport => super::ops::success(route),
        _ => library::success(route),
    }
}

/// One event of a job's stream (Open API 3.1: the media type's schema describes each event).
fn sse_event() -> Value {
    let event = |name: &str, data: Value| {
        json!({"type": "object", "required": ["event", "data"], "properties": {
            "event": {"const": name},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
            "id": {"type": "string"},
            "retry": {"type": "integer"},
        }})
    };
    json!({
        "description": "progress events (status, stage, progress rounded to two decimals, never going back), \
            then result (the Report) or error, then done",
        "oneOf": [
            event("progress", json!({"type": "object", "required": ["status", "stage", "progress"], "additionalProperties": false, "properties": {
                "status": {"type": "string", "enum": ["queued", "running"]},
                "stage": {"type": "string"},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
            }})),
            event("result", reference("Report")),
            event("error", reference("JobError")),
            event("done", json!({"type": "object", "required": ["ok"], "additionalProperties": false, "properties": {"ok": {"type": "boolean"}}})),
        ],
    })
}

fn is_list(route: Route) -> bool {
    use Route::*;
    matches!(
        route,
        AccountsList
            | ProjectsList
            | KeysList
            | TokensList
            | AccountLedger
            | AccountLedgerAdmin
            | JobsList
            | AdminJobsList
            | AdminDeliveriesList
            | WebhookSecretsList
            | AdminWebhookSecretsList
            | DeliveriesList
            | AuditList
    )
}

fn has_json_body(route: Route) -> bool {
    use Route::*;
    matches!(
        route,
        AccountsCreate
            | AccountUpdate
            | ProjectsCreate
            | KeysCreate
            | TokensCreate
            | AccountCreditsGrant
            | WebhookSecretsCreate
            | AdminWebhookSecretsCreate
            | LeaksReport
            | AdminSoundUpdate
    )
}

/// Every response the operation can produce.
pub fn responses(route: Route) -> Value {
    use Route::*;
    let access = route.spec().access;
    let mut r = Map::new();
    for (code, desc, schema) in success(route) {
        let content = match (route, schema) {
            (OpenApi, _) => json_content(json!({"type": "object"})),
            (Docs | Console, _) => json!({"text/html": {"schema": {"type": "string"}}}),
            (ConsoleAsset, _) => json!({
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            }),
            (JobStream, _) => json!({"text/event-stream": {"schema": sse_event()}}),
            (Metrics | Backup, _) => super::ops::content(route).unwrap_or_default(),
            (SoundWaveform, _) => json!({
                "application/json": {"schema": reference(schema)},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            }),
            (SoundPreview | AdminSoundPreview, _) => {
                json!({"audio/ogg": {"schema": {"type": "string", "format": "binary"}}})
            }
            (SoundFile, "200" | "206") => json!({
                "audio/wav": {"schema": {"type": "string", "format": "binary"}},
                "audio/mpeg": {"schema": {"type": "string", "format": "binary"}},
                "audio/ogg": {"schema": {"type": "string", "format": "binary"}},
            }),
            (_, "") => json!({}),
            _ => json_content(reference(schema)),
        };
        let mut h = Map::new();
        h.insert("X-Request-Id".into(), header_ref("X-Request-Id", true));
        if matches!(access, Access::ApiKey(_)) {
            rate_headers(&mut h, true);
        }
        if is_list(route) || matches!(route, SoundsSearch | AdminSoundsSearch) {
            h.insert("Link".into(), header_ref("Link", false));
        }
        match (route, code) {
            (Analyze, _) => {
                h.insert("Location".into(), header_ref("Location", true));
                h.insert(
                    "Idempotent-Replayed".into(),
                    header_ref("Idempotent-Replayed", false),
                );
            }
            (JobGet | AdminJobGet, "202") => {
                h.insert("Retry-After".into(), header_ref("Retry-After", true));
            }
            _ => {}
        }
        r.insert(
            code.into(),
            json!({"description": desc, "headers": h, "content": content}),
        );
    }

    let mut bad_request = Vec::new();
    if has_json_body(route) {
        bad_request.push("invalid_json (not JSON, unknown or missing fields), invalid_request");
        r.insert(
            "413".into(),
            error(
                "payload_too_large: the body is over server.max_json_body_bytes",
                route,
                &[],
            ),
        );
        r.insert(
            "415".into(),
            error(
                "unsupported_media_type: the body must be application/json",
                route,
                &[],
            ),
        );
    }
    if is_list(route) || matches!(route, DeliveriesList | JobsList | AccountUsage) {
        bad_request.push("invalid_request: a query parameter is malformed or out of range");
    }
    if route == Analyze {
        bad_request.push(
            "malformed_multipart, missing_file, empty_file, invalid_request (unknown or too long form field), \
             invalid_webhook_url, webhook_target_refused, webhook_secret_required, invalid_request (malformed Idempotency-Key)",
        );
        r.insert("402".into(), error("insufficient_credits", route, &[]));
        r.insert(
            "409".into(),
            error(
                "idempotency_key_in_use: a request with this Idempotency-Key is still being processed",
                route,
                &[("Retry-After", false)],
            ),
        );
        r.insert(
            "413".into(),
            error(
                "payload_too_large: over the plan's max_upload_mb (capped by analysis.max_upload_mb)",
                route,
                &[],
            ),
        );
        r.insert(
            "415".into(),
            error(
                "not_audio: the bytes are not audio in a format tonearm reads",
                route,
                &[],
            ),
        );
        r.insert(
            "422".into(),
            error(
                "idempotency_key_reused: the Idempotency-Key was used within 24 h for a different request",
                route,
                &[],
            ),
        );
        r.insert(
            "507".into(),
            error(
                "insufficient_storage: the server's disk has no room for the upload",
                route,
                &[],
            ),
        );
    }
    if !bad_request.is_empty() {
        r.insert("400".into(), error(&bad_request.join("; "), route, &[]));
    }
    match access {
        Access::Public => {}
        Access::ApiKey(_) => {
            r.insert(
                "401".into(),
                error(
                    "Missing, malformed, unknown, revoked or expired API key; ip_not_allowed",
                    route,
                    &[("WWW-Authenticate", true)],
                ),
            );
            r.insert(
                "403".into(),
                error(
                    "insufficient_scope, account_disabled or plan_required",
                    route,
                    &[],
                ),
            );
        }
        Access::Management => {
            r.insert(
                "401".into(),
                error(
                    "Missing, malformed, unknown or revoked management token",
                    route,
                    &[("WWW-Authenticate", true)],
                ),
            );
        }
    }
    if access != Access::Public {
        let desc = if route == Analyze {
            "rate_limit_exceeded (minute or month window of the key), too many failed \
             authentications from this address, or too many uploads in flight for the key or account"
        } else if matches!(access, Access::ApiKey(_)) {
            "rate_limit_exceeded (minute or month window of the key), or too many failed \
             authentications from this address"
        } else {
            "too many failed authentications from this address"
        };
        r.insert("429".into(), error(desc, route, &[("Retry-After", true)]));
    }
    let not_found = route.spec().path.contains('{') || matches!(route, KeysCreate | KeysList);
    if not_found {
        r.insert(
            "404".into(),
            error("not_found: no such resource, or not yours", route, &[]),
        );
    }
    match route {
        ProjectsCreate => {
            r.insert(
                "409".into(),
                error(
                    "conflict: the account already has a project with that name",
                    route,
                    &[],
                ),
            );
        }
        ProjectDelete => {
            r.insert(
                "409".into(),
                error(
                    "conflict: the default project cannot be deleted",
                    route,
                    &[],
                ),
            );
        }
        KeysCreate => {
            r.insert("409".into(), error("key_limit_reached, or secret_limit_reached when a webhook secret was asked for", route, &[]));
        }
        LeaksReport => {
            r.insert(
                "429".into(),
                error(
                    "too_many_reports: over leaks.reports_per_minute from this address",
                    route,
                    &[("Retry-After", true)],
                ),
            );
        }
        Backup => {
            r.insert(
                "409".into(),
                error("conflict: a backup is already running", route, &[]),
            );
        }
        Metrics => {
            r.insert(
                "404".into(),
                error("not_found: metrics.enabled is false", route, &[]),
            );
        }
        WebhookSecretsCreate | AdminWebhookSecretsCreate => {
            r.insert(
                "409".into(),
                error(
                    "secret_limit_reached: the project holds 5 active secrets",
                    route,
                    &[],
                ),
            );
        }
        _ => {}
    }
    for (code, desc) in library::refusals(route) {
        r.insert(code.into(), error(desc, route, &[]));
    }
    r.insert(
        "431".into(),
        json!({"description": "The request head is over server.max_header_bytes",
               "content": json_content(reference("Error"))}),
    );
    r.insert(
        "500".into(),
        error(
            "internal: our fault; the log has the details under the request id",
            route,
            &[],
        ),
    );
    let unavailable = if route == Analyze {
        "queue_full (analysis.max_queued jobs pending; Retry-After), or the database cannot write"
    } else {
        "The database cannot write (not_ready)"
    };
    r.insert(
        "503".into(),
        error(unavailable, route, &[("Retry-After", false)]),
    );
    Value::Object(r)
}

fn page_params(cursor: &str, default_limit: u32) -> Vec<Value> {
    vec![
        json!({"name": "limit", "in": "query", "description": "page size",
               "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": default_limit}}),
        json!({"name": "cursor", "in": "query", "description": "next_cursor of the previous page",
               "schema": id(cursor)}),
    ]
}

pub fn query_params(route: Route) -> Vec<Value> {
    use Route::*;
    match route {
        AccountsList => page_params("acct", 20),
        ProjectsList => page_params("proj", 20),
        TokensList => page_params("mt", 20),
        WebhookSecretsList | AdminWebhookSecretsList => page_params("whk", 20),
        AccountLedger | AccountLedgerAdmin => {
            let mut v = page_params("led", 50);
            v[0]["description"] = "page size (at most 50 entries are returned)".into();
            v
        }
        KeysList => {
            let mut v = page_params("key", 20);
            v.push(json!({"name": "account", "in": "query", "description": "only this account's keys", "schema": id("acct")}));
            v.push(json!({"name": "account_id", "in": "query", "description": "same as account", "schema": id("acct")}));
            v
        }
        JobsList | AdminJobsList => {
            let mut v = page_params("job", 20);
            v.push(json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]}}));
            v
        }
        AccountUsage => vec![
            json!({"name": "days", "in": "query", "description": "how many UTC days, ending today",
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 90, "default": 30}}),
        ],
        AuditList => super::ops::query_params(route),
        DeliveriesList | AdminDeliveriesList => {
            let mut v = page_params("dlv", 20);
            v.push(json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "succeeded", "failed"]}}));
            v.push(json!({"name": "job_id", "in": "query", "description": "only this job's deliveries", "schema": id("job")}));
            v
        }
        _ => library::query_params(route),
    }
}

pub fn header_params(route: Route) -> Vec<Value> {
    match route {
        Route::Analyze => vec![json!({
            "name": "Idempotency-Key",
            "in": "header",
            "description": "1 to 255 visible ASCII characters. The same key from the same project within \
                24 hours returns the original job instead of creating another; with a different \
                request body it is refused (422 idempotency_key_reused), and while the first request \
                is still being processed it is refused (409 idempotency_key_in_use). Keys expire after 24 hours.",
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
        })],
        _ => Vec::new(),
    }
}

fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": NAME_PATTERN,
           "description": "1 to 200 characters, no control characters, not only whitespace; kept trimmed"})
}

fn body_object(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

pub fn request_body(route: Route, plans: &[String]) -> Option<Value> {
    use Route::*;
    let nullable = |mut s: Value| {
        if let Some(t) = s["type"].as_str() {
            s["type"] = json!([t, "null"]);
        }
        if let Some(e) = s.get_mut("enum").and_then(Value::as_array_mut) {
            e.push(Value::Null);
        }
        s
    };
    let plan = json!({"type": "string", "enum": plans});
    let schema = match route {
        AccountsCreate => body_object(
            json!({"name": name(), "plan": nullable(plan.clone())}),
            &["name"],
        ),
        AccountUpdate => body_object(
            json!({
                "name": nullable(name()),
                "plan": nullable(plan),
                "disabled": {"type": ["boolean", "null"]},
                "allowed_ips": {
                    "type": ["array", "null"],
                    "maxItems": 1000,
                    "items": {"type": "string", "pattern": ip_pattern()},
                    "description": "IPv4/IPv6 addresses and CIDR ranges; an empty list allows any address",
                },
            }),
            &[],
        ),
        ProjectsCreate => body_object(json!({"name": name()}), &["name"]),
        KeysCreate => {
            let mut s = body_object(
                json!({
                    "account_id": id("acct"),
                    "label": name(),
                    "project": {"type": ["string", "null"], "description": "project id or name; default: the default project"},
                    "scopes": {"type": ["array", "null"], "minItems": 1,
                               "items": {"type": "string", "enum": ScopeSet::all().names()},
                               "description": "default: every scope"},
                    "expires_in": {"type": ["string", "null"], "pattern": DURATION_PATTERN, "examples": ["30d"],
                                   "description": "a whole number of s, m, h, d or w"},
                    "expires_at": {"type": ["string", "null"], "format": "date-time",
                                   "description": "an RFC 3339 time in the future"},
                    "webhook_secret": {"type": "boolean", "default": false,
                                       "description": "also mint a webhook signing secret for the project, returned once"},
                }),
                &["account_id", "label"],
            );
            s["not"] = json!({"required": ["expires_in", "expires_at"],
                "properties": {"expires_in": {"type": "string"}, "expires_at": {"type": "string"}}});
            s["description"] = "give expires_in or expires_at, not both".into();
            s
        }
        TokensCreate | WebhookSecretsCreate | AdminWebhookSecretsCreate => {
            body_object(json!({"label": name()}), &["label"])
        }
        AccountCreditsGrant => body_object(
            json!({
                "amount": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000},
                "type": {"type": ["string", "null"], "enum": ["grant", "bonus", null], "default": "grant"},
                "note": {"type": ["string", "null"], "description": "kept to its first 500 characters"},
            }),
            &["amount"],
        ),
        LeaksReport => super::ops::request_body(route)?,
        Analyze => {
            return Some(json!({
                "required": true,
                "content": {"multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
                                     "description": "the audio; its format is read from its bytes"},
                            "filename": {"type": "string", "maxLength": 2048,
                                         "description": "the name shown in the result; default: the part's file name"},
                            "webhook_url": {"type": "string", "maxLength": 2048, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+([/?#][^\\s]*)?$",
                                            "description": "absolute http(s) URL without credentials; the job's final event is POSTed there"},
                        },
                    },
                }},
            }));
        }
        AdminSoundCreate | AdminSoundUpdate => return library::request_body(route),
        _ => return None,
    };
    // PATCH with an empty body changes nothing and is accepted.
    let required = route != AccountUpdate;
    Some(json!({"required": required, "content": json_content(schema)}))
}
