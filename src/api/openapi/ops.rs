//! The operations endpoints' part of the document: metrics, audit log, backup and leak reports.

use serde_json::{Value, json};

use super::schemas::{id, reference};
use crate::http::route::Route;

pub fn success(route: Route) -> Vec<(&'static str, &'static str, &'static str)> {
    match route {
        Route::Metrics => vec![("200", "Every metric in the OpenMetrics text format", "")],
        Route::AuditList => vec![("200", "A page of audit entries, newest first", "AuditList")],
        Route::Backup => vec![(
            "200",
            "A tar archive: manifest.json (schema version, SHA-256 and size of every file), \
             then the database snapshot, the webhook master key, the uploads of unfinished jobs \
             and the sound library's originals",
            "",
        )],
        Route::LeaksReport => vec![(
            "200",
            "How many strings were received, well formed, and revoked; never whose",
            "LeakReportResult",
        )],
        _ => Vec::new(),
    }
}

/// The success body of the routes that do not answer JSON.
pub fn content(route: Route) -> Option<Value> {
    match route {
        Route::Metrics => {
            Some(json!({crate::metrics::CONTENT_TYPE: {"schema": {"type": "string"}}}))
        }
        Route::Backup => {
            Some(json!({"application/x-tar": {"schema": {"type": "string", "format": "binary"}}}))
        }
        _ => None,
    }
}

pub fn query_params(route: Route) -> Vec<Value> {
    match route {
        Route::AuditList => {
            let text = |name: &str, d: &str| {
                json!({"name": name, "in": "query", "description": d,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
            };
            let time = |name: &str, d: &str| {
                json!({"name": name, "in": "query", "description": d,
                       "schema": {"type": "string", "format": "date-time",
                                  "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,9})?Z$",
                                  "description": "UTC, from 1970 on"}})
            };
            vec![
                json!({"name": "limit", "in": "query", "description": "page size",
                       "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}),
                json!({"name": "cursor", "in": "query", "description": "next_cursor of the previous page",
                       "schema": id("aud")}),
                text(
                    "action",
                    "exact action (key.revoke), or a prefix ending in a dot (key.)",
                ),
                text("actor", "the actor: a token id (mt_…), leak_report or cli"),
                text("target", "the id of what changed (acct_…, key_…)"),
                time("since", "entries at or after this time"),
                time("until", "entries at or before this time"),
            ]
        }
        _ => Vec::new(),
    }
}

pub fn request_body(route: Route) -> Option<Value> {
    match route {
        Route::LeaksReport => Some(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["tokens"],
            "properties": {
                "tokens": {"type": "array", "minItems": 1, "maxItems": crate::api::LEAK_REPORT_MAX_TOKENS,
                           "items": {"type": "string"},
                           "description": "strings found; each well-formed tonearm key or token (prefix, 32 base62 characters, 6-character checksum) that is live is revoked"},
                "url": {"type": ["string", "null"], "maxLength": 2048,
                        "description": "where they were found; passed on in the key.leaked event"},
            },
        })),
        _ => None,
    }
}

pub fn schemas() -> Value {
    let entry = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "object", "at", "actor", "action", "target", "request_id", "ip", "details"],
        "properties": {
            "id": id("aud"),
            "object": {"const": "audit_entry"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string", "description": "mt_… (a management token), key_… (an API key), leak_report or cli; never a secret"},
            "action": {"type": "string", "examples": ["key.create", "key.revoke", "key.leak_revoke", "account.update", "credits.grant"]},
            "target": {"type": "string"},
            "request_id": {"type": ["string", "null"]},
            "ip": {"type": ["string", "null"]},
            "details": {"type": ["object", "null"]},
        },
    });
    json!({
        "AuditEntry": entry,
        "AuditList": {
            "type": "object",
            "additionalProperties": false,
            "required": ["object", "data", "has_more", "next_cursor"],
            "properties": {
                "object": {"const": "list"},
                "data": {"type": "array", "items": reference("AuditEntry")},
                "has_more": {"type": "boolean"},
                "next_cursor": {"anyOf": [id("aud"), {"type": "null"}], "description": "pass as ?cursor= for the next page"},
            },
        },
        "LeakReportResult": {
            "type": "object",
            "additionalProperties": false,
            "required": ["object", "received", "well_formed", "revoked"],
            "properties": {
                "object": {"const": "leak_report"},
                "received": {"type": "integer", "minimum": 1},
                "well_formed": {"type": "integer", "minimum": 0},
                "revoked": {"type": "integer", "minimum": 0},
            },
        },
    })
}
