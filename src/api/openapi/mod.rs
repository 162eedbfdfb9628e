//! The OpenAPI 3.1 document, generated from the route table so that every served route is
//! described, and a readable reference page that needs no network (everything is inline).
//! Every status, header and body an operation can answer with is listed; `scripts/contract.sh`
//! checks the running server against it.

mod library;
mod operations;
mod ops;
mod schemas;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::http::body::{Body, full, json_response};
use crate::http::error::ApiError;
use crate::http::route::{Access, Route};

pub use schemas::{DURATION_PATTERN, NAME_PATTERN, ip_pattern};

/// `GET /api/openapi.json`: the document for the plans configured right now.
pub fn document(plans: &[String]) -> Result<Response<Body>, ApiError> {
    Ok(json_response(StatusCode::OK, &spec(plans)))
}

pub fn docs_page() -> Result<Response<Body>, ApiError> {
    let mut r = Response::new(full(include_str!("docs.html")));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(r)
}

/// The whole document. `plans` are the names accepted as an account's plan.
pub fn spec(plans: &[String]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in Route::ALL {
        let s = route.spec();
        let mut op = json!({
            "operationId": route.name(),
            "summary": s.summary,
            "tags": [s.tag],
            "responses": operations::responses(route),
        });
        let params: Vec<Value> = s
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": operations::path_param(name)})
            })
            .chain(operations::query_params(route))
            .chain(operations::header_params(route))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(body) = operations::request_body(route, plans) {
            op["requestBody"] = body;
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
    let mut all_schemas = schemas::components();
    if let Some(a) = all_schemas.as_object_mut() {
        if let Value::Object(more) = ops::schemas() {
            a.extend(more);
        }
        a.extend(library::schemas());
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tonearm",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted audio-analysis API. Every error has the shape \
                {\"error\": {\"code\", \"message\", \"request_id\"}}; the codes are listed \
                under components.schemas.Error. Every response carries X-Request-Id.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key, tonearm_sk_…"},
                "managementToken": {"type": "http", "scheme": "bearer", "description": "A management token, tonearm_mt_…"},
            },
            "schemas": all_schemas,
            "headers": operations::header_components(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        spec(&["default".to_string(), "studio".to_string()])
    }

    #[test]
    fn every_route_is_in_the_document_and_nothing_else() {
        let doc = doc();
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

    /// Every `$ref` names a schema or header that exists.
    #[test]
    fn every_reference_resolves() {
        fn walk(v: &Value, doc: &Value, n: &mut usize) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("$ref") {
                        let target = r
                            .strip_prefix("#/")
                            .unwrap()
                            .split('/')
                            .fold(doc, |d, seg| &d[seg]);
                        assert!(target.is_object(), "{r} does not resolve");
                        *n += 1;
                    }
                    o.values().for_each(|x| walk(x, doc, n));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, doc, n)),
                _ => {}
            }
        }
        let doc = doc();
        let mut n = 0;
        walk(&doc, &doc, &mut n);
        assert!(n > 50, "{n}");
    }

    /// Each operation states its success body, and the errors every request can meet.
    #[test]
    fn every_operation_has_a_typed_success_and_the_common_errors() {
        let doc = doc();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let ok: Vec<_> = responses.keys().filter(|k| k.starts_with('2')).collect();
                assert!(!ok.is_empty(), "{method} {path}");
                for code in ok {
                    let content = &responses[code]["content"];
                    assert!(content.is_object(), "{method} {path} {code} has no body");
                }
                for code in ["431", "500", "503"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
                assert!(!responses.contains_key("default"), "{method} {path}");
                if op["security"] != json!([]) {
                    for code in ["401", "429"] {
                        assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                    }
                }
            }
        }
    }

    #[test]
    fn plans_are_the_configured_ones() {
        let doc = doc();
        let plan = &doc["paths"]["/admin/v1/accounts"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"]["plan"];
        assert_eq!(plan["enum"], json!(["default", "studio", null]));
    }

    #[test]
    fn analyze_answers_202_and_takes_multipart() {
        let doc = doc();
        let op = &doc["paths"]["/api/v1/analyze"]["post"];
        assert!(op["responses"]["202"].is_object());
        assert!(op["responses"].get("200").is_none());
        let schema = &op["requestBody"]["content"]["multipart/form-data"]["schema"];
        assert_eq!(schema["required"], json!(["file"]));
        for code in [
            "400", "402", "409", "413", "415", "422", "429", "503", "507",
        ] {
            assert!(op["responses"][code].is_object(), "{code}");
        }
    }
}
