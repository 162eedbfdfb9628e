//! The OpenAPI 3.1 document, generated from the route table so that every served route is
//! described, and a readable reference page that needs no network (everything is inline).

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::http::body::{Body, full, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::{Access, Route};

pub fn document() -> Result<Response<Body>, ApiError> {
    Ok(json_response(StatusCode::OK, &spec()))
}

pub fn docs_page() -> Result<Response<Body>, ApiError> {
    let mut r = Response::new(full(include_str!("docs.html")));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(r)
}

/// The whole document.
pub fn spec() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in Route::ALL {
        let s = route.spec();
        let mut op = json!({
            "operationId": route.name(),
            "summary": s.summary,
            "tags": [s.tag],
            "responses": responses(route),
        });
        let params: Vec<Value> = s
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(query_params(route))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(body) = request_body(route) {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": body}},
            });
        }
        match s.access {
            Access::Public => op["security"] = json!([]),
            Access::ApiKey(scope) => {
                op["security"] = json!([{"apiKey": []}]);
                op["x-required-scope"] = scope.map_or(Value::Null, |s| s.as_str().into());
            }
            Access::Management => op["security"] = json!([{"managementToken": []}]),
        }
        let entry = paths
            .entry(s.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[s.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tonearm",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted audio-analysis API. Every error has the shape \
                {\"error\": {\"code\", \"message\", \"request_id\"}}; the codes are listed \
                under components.schemas.Error.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key, tonearm_sk_…"},
                "managementToken": {"type": "http", "scheme": "bearer", "description": "A management token, tonearm_mt_…"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message", "request_id"],
                        "properties": {
                            "code": {"type": "string", "enum": ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>()},
                            "message": {"type": "string"},
                            "request_id": {"type": "string"},
                            "details": {"type": "object"},
                        },
                    }},
                },
                "List": {
                    "type": "object",
                    "properties": {
                        "object": {"const": "list"},
                        "data": {"type": "array"},
                        "has_more": {"type": "boolean"},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
            },
        },
    })
}

fn responses(route: Route) -> Value {
    let ok = match route {
        Route::AccountsCreate
        | Route::ProjectsCreate
        | Route::KeysCreate
        | Route::TokensCreate
        | Route::WebhookSecretsCreate
        | Route::AdminWebhookSecretsCreate => "201",
        _ => "200",
    };
    let mut r = json!({
        ok: {"description": "Success"},
        "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    if !matches!(route.spec().access, Access::Public) {
        r["401"] = json!({"description": "Missing, malformed, unknown, revoked or expired credential",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    r
}

fn query_params(route: Route) -> Vec<Value> {
    let page = [
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}),
        json!({"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page"}),
    ];
    match route {
        Route::AccountsList
        | Route::ProjectsList
        | Route::TokensList
        | Route::WebhookSecretsList
        | Route::AdminWebhookSecretsList => page.to_vec(),
        Route::KeysList => {
            let mut v = page.to_vec();
            v.push(json!({"name": "account", "in": "query", "schema": {"type": "string"}, "description": "only this account's keys"}));
            v
        }
        _ => Vec::new(),
    }
}

fn request_body(route: Route) -> Option<Value> {
    let s = |props: Value, required: Value| json!({"type": "object", "properties": props, "required": required, "additionalProperties": false});
    Some(match route {
        Route::AccountsCreate => s(
            json!({"name": {"type": "string"}, "plan": {"type": "string", "default": "default"}}),
            json!(["name"]),
        ),
        Route::AccountUpdate => s(
            json!({"name": {"type": "string"}, "plan": {"type": "string"}, "disabled": {"type": "boolean"}}),
            json!([]),
        ),
        Route::ProjectsCreate => s(json!({"name": {"type": "string"}}), json!(["name"])),
        Route::KeysCreate => s(
            json!({
                "account_id": {"type": "string"},
                "label": {"type": "string"},
                "project": {"type": "string", "description": "project id or name; default: the default project"},
                "scopes": {"type": "array", "items": {"type": "string", "enum": crate::auth::ScopeSet::all().names()}},
                "expires_in": {"type": "string", "examples": ["30d"]},
                "expires_at": {"type": "string", "format": "date-time"},
                "webhook_secret": {"type": "boolean", "default": false, "description": "also mint a webhook signing secret for the project, returned once"},
            }),
            json!(["account_id", "label"]),
        ),
        Route::TokensCreate => s(json!({"label": {"type": "string"}}), json!(["label"])),
        Route::WebhookSecretsCreate | Route::AdminWebhookSecretsCreate => {
            s(json!({"label": {"type": "string"}}), json!(["label"]))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_and_nothing_else() {
        let doc = spec();
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = 0;
        for (path, ops) in paths {
            for (method, _) in ops.as_object().unwrap() {
                let m: http::Method = method.to_uppercase().parse().unwrap();
                assert!(
                    Route::ALL
                        .iter()
                        .any(|r| r.spec().path == path && r.spec().method == m),
                    "{method} {path} documented but not routed"
                );
                documented += 1;
            }
        }
        assert_eq!(documented, Route::ALL.len());
    }
}
