//! The OpenAPI document and the router stay in step: every documented operation is served by
//! the live server, and the reference page loads without the network.

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
