//! The web console's files and the admin endpoints it reads: any project's jobs and
//! deliveries, and an account's usage per day and key.

use std::io::Read;

use serde_json::{Value, json};

use crate::jobs::{multipart, wait_done, wav};
use crate::support::server::TestServer;

fn asset_names(page: &str) -> Vec<String> {
    page.split("/console/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn console_files_are_hashed_compressed_cached_and_locked_down() {
    let s = TestServer::start();
    let c = s.client();
    let page = c.request("GET", "/console", &[], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let csp = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "inline code would need a weaker policy"
    );
    let names = asset_names(&html);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("app.") && n.ends_with(".js")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".css")), "{names:?}");

    for name in &names {
        let path = format!("/console/assets/{name}");
        let plain = c.request("GET", &path, &[], b"");
        assert_eq!(plain.status, 200, "{name}");
        assert!(plain.header("content-encoding").is_none());
        assert!(plain.header("cache-control").unwrap().contains("immutable"));

        let br = c.request(
            "GET",
            &path,
            &[("Accept-Encoding", "gzip, deflate, br")],
            b"",
        );
        assert_eq!(br.header("content-encoding"), Some("br"), "{name}");
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &br.body[..], &mut out).unwrap();
        assert_eq!(out, plain.body, "{name}: brotli");

        let gz = c.request("GET", &path, &[("Accept-Encoding", "gzip")], b"");
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz.body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain.body, "{name}: gzip");

        let etag = plain.header("etag").unwrap().to_string();
        let again = c.request("GET", &path, &[("If-None-Match", &etag)], b"");
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
    }
    let stale = c.request("GET", "/console/assets/app.000000000000.js", &[], b"");
    assert_eq!(stale.status, 404);
    assert_eq!(stale.json()["error"]["code"], "not_found");
}

#[test]
fn admin_reads_any_projects_jobs_and_deliveries() {
    let s = TestServer::start();
    let c = s.client();
    let (account, key) = s.account_and_key(json!({}));
    let key_value = key["key"].as_str().unwrap();
    let project = key["project_id"].as_str().unwrap();
    let (ct, body) = multipart(&[("file", Some("click.wav"), &wav(3.0, 120.0))]);
    let auth = format!("Bearer {key_value}");
    let r = c.request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 202);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    wait_done(&s, key_value, &job);

    let (st, _, list) = c.get(&format!("/admin/v1/projects/{project}/jobs"), &s.token);
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["data"][0]["job_id"], job.as_str());
    assert!(list["data"][0].get("result").is_none());
    let (st, _, list) = c.get(
        &format!("/admin/v1/projects/{project}/jobs?status=failed"),
        &s.token,
    );
    assert_eq!(st, 200);
    assert_eq!(list["data"], json!([]));

    let (st, _, one) = c.get(&format!("/admin/v1/jobs/{job}"), &s.token);
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["project_id"], project);
    assert!(
        one["result"]["loudness"]["integrated_lufs"].is_number(),
        "{one}"
    );

    let (st, _, dl) = c.get(
        &format!("/admin/v1/projects/{project}/deliveries"),
        &s.token,
    );
    assert_eq!(st, 200, "{dl}");
    assert_eq!(dl["data"], json!([]));

    // Unknown ids are 404; an API key is no management token.
    let (st, _, e) = c.get(
        "/admin/v1/projects/proj_0000000000000000000000/jobs",
        &s.token,
    );
    assert_eq!(st, 404, "{e}");
    let (st, _, _) = c.get("/admin/v1/deliveries/dlv_0000000000000000000000", &s.token);
    assert_eq!(st, 404);
    let (st, _, _) = c.get(&format!("/admin/v1/jobs/{job}"), key_value);
    assert_eq!(st, 401);
    let _ = account;
}

#[test]
fn usage_counts_calls_and_analyses_per_day_and_key() {
    let s = TestServer::start();
    let c = s.client();
    let (account, key) = s.account_and_key(json!({}));
    let key_value = key["key"].as_str().unwrap();
    let key_id = key["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(c.get("/api/v1/me", key_value).0, 200);
    }
    let (ct, body) = multipart(&[("file", Some("click.wav"), &wav(2.0, 120.0))]);
    let auth = format!("Bearer {key_value}");
    let r = c.request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 202);

    let (st, _, u) = c.get(&format!("/admin/v1/accounts/{account}/usage"), &s.token);
    assert_eq!(st, 200, "{u}");
    let daily = u["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let today: &Value = daily.last().unwrap();
    assert_eq!(today["date"], u["to"]);
    assert_eq!(today["requests"], 4, "{u}");
    assert_eq!(today["analyses"], 1, "{u}");
    assert_eq!(daily[0]["requests"], 0);
    let k = &u["keys"][0];
    assert_eq!(k["key_id"], key_id);
    assert_eq!(k["minute"]["used"], 4, "{u}");
    assert_eq!(
        k["daily"].as_array().unwrap().last().unwrap()["requests"],
        4
    );
    assert!(u["month"]["used"].as_u64().unwrap() >= 4);
    // The default plan has unlimited credits: no balance to show.
    assert_eq!(u["credits_remaining"], Value::Null);
    assert_eq!(u["credits_total"], Value::Null);

    // The counts survive a restart once written (they are flushed every second and at stop).
    let mut s = s;
    s.restart();
    let (st, _, u) = s.client().get(
        &format!("/admin/v1/accounts/{account}/usage?days=7"),
        &s.token,
    );
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["daily"].as_array().unwrap().len(), 7);
    assert_eq!(u["daily"][6]["requests"], 4, "{u}");
    assert_eq!(u["daily"][6]["analyses"], 1, "{u}");

    let (st, _, e) = s.client().get(
        &format!("/admin/v1/accounts/{account}/usage?days=0"),
        &s.token,
    );
    assert_eq!(st, 400, "{e}");
    let (st, _, _) = s.client().get(
        "/admin/v1/accounts/acct_0000000000000000000000/usage",
        &s.token,
    );
    assert_eq!(st, 404);
}

/// The console in headless Chromium: sign in, create an account and a key, see the secret
/// once, revoke it and see the API refuse it, open a finished job's result page, sign out. Any
/// script error, refused request or request to another origin fails it. Skipped when Chromium
/// is not installed, unless `TONEARM_BROWSER_TESTS=require` (as CI sets). With
/// `TONEARM_CONSOLE_SCREENSHOTS=DIR`, each page is saved there at desktop and phone width.
#[test]
fn console_in_a_real_browser() {
    use crate::support::webdriver::{Browser, installed};
    let Some((driver, chromium)) = installed() else {
        assert!(
            std::env::var("TONEARM_BROWSER_TESTS").as_deref() != Ok("require"),
            "chromium and chromedriver are required"
        );
        eprintln!("skipped: chromium or chromedriver not installed");
        return;
    };
    let shots = std::env::var_os("TONEARM_CONSOLE_SCREENSHOTS").map(std::path::PathBuf::from);
    let s = TestServer::start();
    let c = s.client();
    let origin = format!("http://{}", s.addr);

    // A finished job to look at, 24 s so it has sections and chords.
    let (_, key) = s.account_and_key(json!({"label": "pipeline"}));
    let key_value = key["key"].as_str().unwrap();
    let audio = crate::support::audio::Audio::copies(
        44_100,
        crate::support::audio::chord_progression(
            44_100,
            &[&[57, 61, 64], &[52, 56, 59], &[54, 57, 61], &[50, 54, 57]],
            1.5,
        )
        .repeat(4),
        2,
    )
    .wav_bytes(crate::support::audio::Encoding::Pcm16, None);
    let (ct, body) = multipart(&[("file", Some("demo-progression.wav"), &audio)]);
    let auth = format!("Bearer {key_value}");
    let r = c.request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 202);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    wait_done(&s, key_value, &job);

    // A sound in the library to search for and audition.
    let meta = serde_json::to_vec(&json!({"id": "heavy-door-slam", "title": "Heavy Door Slam",
        "description": "A heavy wooden door slammed shut.", "tags": ["door", "slam", "wood"],
        "category": "Foley", "subcategory": "Doors", "creator": "tonearm tests",
        "license_type": "royalty-free", "license": "CC0-1.0"}))
    .unwrap();
    let thud = crate::support::audio::Audio::mono(
        44_100,
        crate::support::audio::sine(44_100, 90.0, -12.0, 1.5),
    )
    .wav_bytes(crate::support::audio::Encoding::Pcm16, None);
    let (ct, body) = multipart(&[("metadata", None, &meta), ("file", Some("door.wav"), &thud)]);
    let admin = format!("Bearer {}", s.token);
    let r = c.request(
        "POST",
        "/admin/v1/sounds",
        &[("Authorization", &admin), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));

    let b = Browser::start(&driver, &chromium, 1280, 900);
    let shot = |name: &str| {
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).unwrap();
            // A notice from an earlier step would cover the page in the picture.
            b.script(
                "const t = document.getElementById('toast'); t.style.transition = 'none'; \
                 t.classList.remove('show'); return null;",
            );
            b.screenshot(&dir.join(format!("{name}.png")));
        }
    };
    b.goto(&format!("{origin}/console"));
    b.find("#token");
    shot("signin");
    b.type_into("#token", &s.token);
    b.click("#signin");
    b.find("#create-account");
    assert!(
        !b.url().contains(&s.token),
        "the token must never be in a URL"
    );

    // An account, then a key: the secret is shown once.
    b.type_into("#new-account-name", "Browser Studio");
    b.click("#create-account");
    b.find("#create-key");
    b.wait_text("h1", "Browser Studio");
    b.type_into("#new-key-label", "mixing room");
    b.click("#create-key");
    let secret = b.wait_text("#new-secret", "tonearm_sk_");
    let secret = secret.trim().to_string();
    shot("key-created");
    assert_eq!(c.get("/api/v1/me", &secret).0, 200, "the new key works");
    b.click("#dialog-ok");
    b.wait_text("main", "mixing room");
    assert!(
        !b.text("body").contains(&secret),
        "the secret is shown only once"
    );
    shot("account");

    // Revoke with confirmation; the API refuses the key at once.
    b.click("button[data-revoke-key]");
    b.wait_text("#dialog-title", "Revoke key?");
    b.click("#dialog-ok");
    b.wait_text("main", "revoked");
    assert_eq!(
        c.get("/api/v1/me", &secret).0,
        401,
        "a revoked key is refused"
    );

    b.click("nav a[data-section='tokens']");
    b.find("#create-token");
    shot("tokens");

    // The finished job's result page.
    b.goto(&format!(
        "{origin}/console#/jobs?project={}",
        key["project_id"].as_str().unwrap()
    ));
    b.wait_text("main", "demo-progression.wav");
    shot("jobs");
    b.goto(&format!("{origin}/console#/jobs/{job}"));
    b.wait_text("#result-key", "Camelot");
    b.wait_text("#result-loudness", "LUFS");
    b.wait_text("main", "Spotify");
    // The sections over the waveform: one closed path through every point of the result's
    // envelope, as tall as the audio is loud.
    let (_, _, one) = c.get(&format!("/admin/v1/jobs/{job}"), &s.token);
    let points = one["result"]["waveform"]["peaks"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(points, 800, "a 24 s file gets the full envelope");
    let wave = b.script(
        "const p = document.querySelector('.timeline path.waveform'); \
         if (!p) return null; const box = p.getBBox(); \
         return {d: p.getAttribute('d'), height: box.height, width: box.width};",
    );
    let d = wave["d"].as_str().unwrap_or("");
    assert!(
        d.starts_with('M') && d.ends_with('Z'),
        "no waveform path: {wave}"
    );
    assert_eq!(
        d.matches('L').count(),
        2 * points - 1,
        "one vertex per peak, up and back"
    );
    assert!(
        wave["height"].as_f64().unwrap_or(0.0) > 10.0,
        "{}",
        wave["height"]
    );
    assert!(
        wave["width"].as_f64().unwrap_or(0.0) > 900.0,
        "{}",
        wave["width"]
    );
    shot("job-result");
    b.set_window(390, 844);
    // On a phone the timeline keeps a legible width and scrolls sideways.
    let fits = b.script(
        "const f = document.querySelector('.timeline'); f.scrollIntoView({block: 'center'}); \
         return [f.scrollWidth, f.clientWidth];",
    );
    assert!(
        fits[0].as_f64().unwrap_or(0.0) > fits[1].as_f64().unwrap_or(0.0),
        "{fits}"
    );
    shot("job-result-phone");
    b.goto(&format!("{origin}/console#/accounts"));
    b.wait_text("main", "Browser Studio");
    shot("accounts-phone");
    b.set_window(1280, 900);

    b.goto(&format!(
        "{origin}/console#/deliveries?project={}",
        key["project_id"].as_str().unwrap()
    ));
    b.wait_text("h1", "Webhook deliveries");
    shot("deliveries");

    // The library: search with a typo, open the sound, its preview plays from a blob: URL.
    b.click("nav a[data-section='library']");
    b.type_into("#sound-query", "dor slams");
    b.click("#sound-search");
    b.wait_text("main", "Heavy Door Slam");
    shot("library");
    b.click("main table a");
    b.wait_text("#sound-metadata", "Foley");
    let src = b.script("const a = document.querySelector('#sound-preview'); return a ? a.src : ''");
    assert!(src.as_str().unwrap_or("").starts_with("blob:"), "{src}");
    shot("sound");

    // Keyboard: the first Tab from the page reaches the skip link, then the console's links.
    b.goto(&format!("{origin}/console#/accounts"));
    b.script("location.reload()");
    b.wait_text("main", "Browser Studio");
    b.keys("\u{E004}");
    let focused =
        b.script("return document.activeElement ? document.activeElement.textContent : ''");
    assert!(focused.as_str().unwrap_or("").contains("Skip"), "{focused}");

    // Everything the page loaded came from this server.
    let foreign = b.script(&format!(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith({}));",
        serde_json::to_string(&origin).unwrap()
    ));
    assert_eq!(foreign, json!([]), "requests left the origin");
    assert_eq!(b.script("return window.__consoleErrors"), json!([]));
    let severe = b.severe_logs();
    assert!(severe.is_empty(), "browser errors: {severe:?}");

    // Sign out clears the token from the tab.
    b.click("#signout");
    b.find("#token");
    assert_eq!(b.script("return sessionStorage.length"), json!(0));
}
