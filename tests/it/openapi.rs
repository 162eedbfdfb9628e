//! The OpenAPI document and the router stay in step: every documented operation is served by
//! the live server, and the reference page loads without the network.

use serde_json::json;

use crate::support::server::TestServer;

#[test]
fn every_documented_operation_is_served() {
    let s = TestServer::start();
    let c = s.client();
    let r = c.request("GET", "/api/openapi.json", &[], b"");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut n = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let r = c.request(&method.to_uppercase(), &concrete, &[], b"");
            let code = r.json()["error"]["code"].clone();
            assert!(
                code != "route_not_found" && code != "method_not_allowed",
                "{method} {path} is documented but not served"
            );
            assert!(op["responses"].is_object() && op["summary"].is_string());
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} operations documented");
}

#[test]
fn reference_page_is_self_contained() {
    let s = TestServer::start();
    let r = s.client().request("GET", "/api/docs", &[], b"");
    assert_eq!(r.status, 200);
    let html = String::from_utf8(r.body).unwrap();
    assert!(html.contains("/api/openapi.json"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external resource in docs page"
    );
}

/// The document states the rules the server enforces, at their edges: a request the schema
/// allows is accepted, one just past a stated bound is refused.
#[test]
fn documented_constraints_are_the_ones_enforced() {
    let s = TestServer::start_with(&[("plans.studio", "requests_per_minute = 10")]);
    let c = s.client();
    let doc = c.request("GET", "/api/openapi.json", &[], b"").json();
    let create = &doc["paths"]["/admin/v1/accounts"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["properties"];
    let mut plans: Vec<String> = create["plan"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str().map(String::from))
        .collect();
    plans.sort();
    assert_eq!(plans, ["default", "studio"]);
    assert_eq!(create["name"]["maxLength"], 200);

    // Names: 200 characters as sent (surrounding spaces count), not blank, no control characters.
    let name = |n: String| {
        c.post_json(
            "/admin/v1/accounts",
            &s.token,
            &json!({"name": n, "plan": "studio"}),
        )
        .0
    };
    assert_eq!(name(format!(" {}", "é".repeat(199))), 201);
    assert_eq!(name(format!(" {}", "é".repeat(200))), 400);
    assert_eq!(name("   ".into()), 400);
    assert_eq!(name("a\u{85}b".into()), 400);

    // allowed_ips is in the PATCH schema and accepted; surrounding whitespace is not.
    let patch = &doc["paths"]["/admin/v1/accounts/{account_id}"]["patch"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert!(patch["properties"]["allowed_ips"].is_object(), "{patch}");
    let (account, _) = s.account_and_key(json!({}));
    let path = format!("/admin/v1/accounts/{account}");
    let (st, _, v) = c.send_json(
        "PATCH",
        &path,
        &s.token,
        &json!({"allowed_ips": ["10.0.0.0/8", "::1/128", "192.0.2.7"]}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, _, _) = c.send_json(
        "PATCH",
        &path,
        &s.token,
        &json!({"allowed_ips": [" 10.0.0.0/8"]}),
    );
    assert_eq!(st, 400);
    let (st, _, v) = c.send_json("PATCH", &path, &s.token, &json!({"allowed_ips": []}));
    assert_eq!(st, 200, "{v}");

    // A well-formed id of nothing is 404, like the same id in a path.
    let (st, _, v) = c.post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": "acct_0000000000000000000000", "label": "x"}),
    );
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));

    // expires_in: one whole unit.
    let key = |extra: serde_json::Value| {
        let mut body = json!({"account_id": account, "label": "k"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c.post_json("/admin/v1/keys", &s.token, &body).0
    };
    assert_eq!(key(json!({"expires_in": "90m"})), 201);
    assert_eq!(key(json!({"expires_in": "1h30m"})), 400);
    assert_eq!(key(json!({"expires_in": "0s"})), 400);

    // An integer written as 5.0 is an integer to JSON Schema.
    let (st, _, v) = c.post_json(
        &format!("/admin/v1/accounts/{account}/credits"),
        &s.token,
        &json!({"amount": 5.0}),
    );
    assert_eq!(st, 201, "{v}");
    let (st, _, _) = c.post_json(
        &format!("/admin/v1/accounts/{account}/credits"),
        &s.token,
        &json!({"amount": 5.5}),
    );
    assert_eq!(st, 400);

    // Query parameters: an empty cursor or status is malformed, not ignored.
    for q in ["cursor=", "limit=%2B5", "limit=0"] {
        let (st, _, _) = c.get(&format!("/admin/v1/accounts?{q}"), &s.token);
        assert_eq!(st, 400, "{q}");
    }
}

#[test]
fn analyze_is_documented_as_it_answers() {
    let s = TestServer::start();
    let doc = s
        .client()
        .request("GET", "/api/openapi.json", &[], b"")
        .json();
    let op = &doc["paths"]["/api/v1/analyze"]["post"];
    assert!(op["responses"]["202"]["content"]["application/json"].is_object());
    assert!(op["responses"].get("200").is_none());
    let form = &op["requestBody"]["content"]["multipart/form-data"]["schema"];
    assert_eq!(form["properties"]["file"]["format"], "binary");
    assert_eq!(op["parameters"][0]["name"], "Idempotency-Key");
    let poll = &doc["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"];
    assert!(poll["202"]["headers"]["Retry-After"]["required"] == true);
    let grant = &doc["paths"]["/admin/v1/accounts/{account_id}/credits"]["post"];
    assert!(grant["responses"]["201"].is_object());
    assert_eq!(
        grant["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["amount"])
    );
    let redeliver =
        &doc["paths"]["/api/v1/webhooks/deliveries/{delivery_id}/redeliver"]["post"]["responses"];
    assert!(redeliver["202"].is_object());
    let jobs = &doc["paths"]["/api/v1/jobs"]["get"]["parameters"];
    let names: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["limit", "cursor", "status"]);
}

/// A page with more after it links to the next one (RFC 8288), keeping the other parameters.
#[test]
fn lists_link_to_their_next_page() {
    let s = TestServer::start();
    let c = s.client();
    for name in ["a", "b", "c"] {
        let (st, _, _) = c.post_json("/admin/v1/accounts", &s.token, &json!({"name": name}));
        assert_eq!(st, 201);
    }
    let (st, r, page) = c.get("/admin/v1/accounts?limit=2", &s.token);
    assert_eq!(st, 200);
    let cursor = page["next_cursor"].as_str().unwrap();
    let link = r.header("link").expect("Link header");
    assert_eq!(
        link,
        format!("</admin/v1/accounts?limit=2&cursor={cursor}>; rel=\"next\"")
    );
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    let (st, r, page) = c.get(next, &s.token);
    assert_eq!(st, 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert!(r.header("link").is_none());
}
