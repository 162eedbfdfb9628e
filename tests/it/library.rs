//! The sound library against the real server: import with measurement and refusals, search
//! with each filter and pagination, metadata, categories, waveforms, previews, signed downloads
//! in every format (checksum, true peak after normalisation, tampering, expiry, ranges), the
//! credits ledger and scopes, and the import command.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::jobs::multipart;
use crate::support::audio::{Audio, Encoding, sine};
use crate::support::client::Response;
use crate::support::server::TestServer;

/// A deterministic noise burst with a decaying envelope (a "hit").
fn hit(rate: u32, secs: f64, seed: u64) -> Vec<f32> {
    let n = (f64::from(rate) * secs) as usize;
    let mut x = seed;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let white = ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            white * 0.6 * (-(i as f32) / (n as f32 / 4.0)).exp()
        })
        .collect()
}

struct Fixture {
    id: &'static str,
    meta: Value,
    wav: Vec<u8>,
}

/// A small library of a few seconds of synthesised sounds.
fn fixtures() -> Vec<Fixture> {
    let r = 44_100;
    vec![
        Fixture {
            id: "line-up-tone",
            meta: json!({"id": "line-up-tone", "title": "1 kHz Line-Up Tone", "description": "A steady sine for calibrating levels.",
                "tags": ["tone", "sine", "1khz", "calibration"], "category": "Broadcast", "subcategory": "Line-Up Tones",
                "creator": "tonearm tests", "license_type": "royalty-free", "license": "CC0-1.0", "attribution_required": false}),
            wav: Audio::copies(r, sine(r, 1000.0, -18.0, 2.0), 2).wav_bytes(Encoding::Pcm24, None),
        },
        Fixture {
            id: "heavy-door-slam",
            meta: json!({"id": "heavy-door-slam", "title": "Heavy Door Slam", "description": "A heavy wooden door slammed shut.",
                "tags": ["door", "slam", "wood", "impact"], "category": "Foley", "subcategory": "Doors",
                "creator": "tonearm tests", "license_type": "royalty-free", "license": "CC0-1.0"}),
            wav: Audio::copies(r, hit(r, 1.5, 7), 2).wav_bytes(Encoding::Pcm16, None),
        },
        Fixture {
            id: "slamming-car-door",
            meta: json!({"id": "slamming-car-door", "title": "Slamming Car Door", "description": "A car door closing hard.",
                "tags": ["car", "door", "slam", "vehicle"], "category": "Transport", "subcategory": "Cars",
                "creator": "tonearm tests", "license_type": "copyleft", "license": "CC-BY-SA-3.0"}),
            wav: Audio::mono(r, hit(r, 3.0, 11)).wav_bytes(Encoding::Pcm16, None),
        },
        Fixture {
            id: "soft-ui-click",
            meta: json!({"id": "soft-ui-click", "title": "Soft UI Click", "tags": ["click", "ui", "soft", "button"],
                "category": "ui/ux", "license_type": "royalty-free", "license": "MIT"}),
            wav: Audio::mono(r, hit(r, 0.05, 3)).wav_bytes(Encoding::Pcm16, None),
        },
    ]
}

fn import(s: &TestServer, meta: &Value, wav: &[u8]) -> Response {
    let meta = serde_json::to_vec(meta).unwrap();
    let (ct, body) = multipart(&[("metadata", None, &meta), ("file", Some("x.wav"), wav)]);
    let auth = format!("Bearer {}", s.token);
    s.client().request(
        "POST",
        "/admin/v1/sounds",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    )
}

fn key(s: &TestServer, extra: Value) -> String {
    s.account_and_key(extra).1["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

fn loaded() -> TestServer {
    let s = TestServer::start_with(&[("plans.default", "credits_per_month = 20")]);
    for f in fixtures() {
        let r = import(&s, &f.meta, &f.wav);
        assert_eq!(
            r.status,
            201,
            "{}: {}",
            f.id,
            String::from_utf8_lossy(&r.body)
        );
    }
    s
}

#[test]
fn import_measures_and_refuses_bad_input_with_the_field_named() {
    let s = loaded();
    let key = key(&s, json!({}));
    let (st, _, m) = s.client().get("/api/v1/sounds/line-up-tone/metadata", &key);
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["duration_s"], 2.0);
    assert_eq!(m["sample_rate_hz"], 44_100);
    assert_eq!(m["bit_depth"], 24);
    assert_eq!(m["channels"], 2);
    // A stereo -18 dBFS sine: about -18 LUFS (+3 dB for two channels, -3 dB for the sine's RMS).
    let lufs = m["loudness_lufs"].as_f64().unwrap();
    assert!((lufs + 18.0).abs() < 0.5, "{lufs}");
    assert!((m["true_peak_db"].as_f64().unwrap() + 18.0).abs() < 0.1);
    let peak = m["spectral_peaks"][0]["frequency_hz"].as_f64().unwrap();
    assert!((peak - 1000.0).abs() < 5.0, "{peak}");
    assert_eq!(m["formats"], json!(["wav24", "wav16", "mp3320", "ogg"]));
    assert_eq!(m["download_count"], 0);
    assert_eq!(m["attribution_required"], false);
    let (_, _, click) = s
        .client()
        .get("/api/v1/sounds/soft-ui-click/metadata", &key);
    assert_eq!(click["category"], "UI/UX");
    assert!(click["loudness_lufs"].is_null(), "{click}");
    assert!(click["loudness_note"].as_str().unwrap().contains("400 ms"));
    assert_eq!(click["attribution_required"], true);
    // The original is kept byte for byte.
    let tone = &fixtures()[0].wav;
    let kept = std::fs::read(s.data_dir().join("sounds/line-up-tone.wav")).unwrap();
    assert_eq!(&kept, tone);

    let base = fixtures()[1].meta.clone();
    let with = |k: &str, v: Value| {
        let mut m = base.clone();
        m["id"] = json!("fresh-id");
        m[k] = v;
        m
    };
    let fresh =
        Audio::mono(22_050, sine(22_050, 440.0, -6.0, 1.0)).wav_bytes(Encoding::Pcm16, None);
    let r = import(&s, &with("title", json!("  ")), &fresh);
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("title")
    );
    let mut no_license = with("license", json!("x"));
    no_license.as_object_mut().unwrap().remove("license_type");
    let r = import(&s, &no_license, &fresh);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["details"]["field"], "license_type");
    let r = import(&s, &with("category", json!("Footsteps")), &fresh);
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("Foley") && msg.contains("Broadcast") && msg.contains("Music Stems"),
        "{msg}"
    );
    let r = import(&s, &with("license_type", json!("gpl")), &fresh);
    assert_eq!(r.status, 400);
    let r = import(&s, &with("colour", json!("red")), &fresh);
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("colour"));
    let r = import(&s, &with("id", json!("Not A Slug")), &fresh);
    assert_eq!(r.status, 400);
    // Not audio: the engine's refusal.
    let r = import(
        &s,
        &with("title", json!("Text")),
        b"this is plainly not audio, just some text",
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["error"]["code"], "not_audio");
    // The same id again, and the same bytes under another id.
    let r = import(&s, &base, &fresh);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"]["details"]["id"], "heavy-door-slam");
    let r = import(&s, &with("title", json!("Copy")), &fixtures()[1].wav);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["error"]["details"]["existing_id"],
        "heavy-door-slam"
    );
    // Without an id, tonearm makes one.
    let mut anon = with("title", json!("Anonymous Beep"));
    anon.as_object_mut().unwrap().remove("id");
    let r = import(&s, &anon, &fresh);
    assert_eq!(r.status, 201);
    assert!(r.json()["id"].as_str().unwrap().starts_with("snd_"));
    // Nothing refused left a file behind.
    let files = std::fs::read_dir(s.data_dir().join("sounds"))
        .unwrap()
        .count();
    assert_eq!(files, 5);
}

#[test]
fn search_ranks_filters_pages_and_survives_a_restart() {
    let mut s = loaded();
    let key = key(&s, json!({}));
    let c = s.client();
    let search = |q: &str| {
        let (st, r, v) = c.get(&format!("/api/v1/sounds/search?{q}"), &key);
        assert_eq!(st, 200, "{q}: {v}");
        (r, v)
    };
    // Another word form and a typo find the same sounds.
    let (_, v) = search("q=door+slam");
    assert_eq!(ids(&v)[..2], ["heavy-door-slam", "slamming-car-door"]);
    let (_, v) = search("q=slamming+doors");
    assert!(ids(&v).contains(&"heavy-door-slam"));
    let (_, v) = search("q=calibraton+tone");
    assert_eq!(ids(&v)[0], "line-up-tone");
    let first = &v[0];
    for field in [
        "id",
        "title",
        "duration_s",
        "sample_rate_hz",
        "bit_depth",
        "channels",
        "category",
        "waveform_url",
        "preview_url",
        "tags",
        "license_type",
        "loudness_lufs",
        "file_size_bytes",
    ] {
        assert!(
            first.get(field).is_some(),
            "search result lacks {field}: {first}"
        );
    }
    // Each filter.
    let (_, v) = search("q=door&category=transport");
    assert_eq!(ids(&v), ["slamming-car-door"]);
    let (_, v) = search("q=door&license=royalty-free");
    assert_eq!(ids(&v), ["heavy-door-slam"]);
    let (_, v) = search("q=door&duration_max=2");
    assert_eq!(ids(&v), ["heavy-door-slam"]);
    let (_, v) = search("q=nothing+like+this+zzqx");
    assert_eq!(v, json!([]));
    // Pagination through Link.
    let (r, v) = search("q=door&limit=1");
    assert_eq!(ids(&v), ["heavy-door-slam"]);
    let link = r.header("link").unwrap().to_string();
    let next = link
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(u, _)| u.to_string())
        .unwrap();
    let path = &next[next.find("/api/").unwrap()..];
    let (st, r2, v2) = c.get(path, &key);
    assert_eq!(st, 200);
    assert_eq!(ids(&v2), ["slamming-car-door"]);
    assert!(r2.header("link").is_none());
    // Refusals.
    for bad in [
        "q=",
        "q=door&category=Footsteps",
        "q=door&license=gpl",
        "q=door&duration_max=-1",
        "q=door&limit=101",
        "q=door&cursor=zzz",
    ] {
        let (st, _, v) = c.get(&format!("/api/v1/sounds/search?{bad}"), &key);
        assert_eq!(st, 400, "{bad}: {v}");
    }
    // Categories: all 14, with counts.
    let (st, _, cats) = c.get("/api/v1/categories", &key);
    assert_eq!(st, 200);
    let cats = cats.as_array().unwrap();
    assert_eq!(cats.len(), 14);
    let foley = cats.iter().find(|c| c["name"] == "Foley").unwrap();
    assert_eq!(foley["sound_count"], 1);
    assert_eq!(
        foley["subcategories"],
        json!([{"name": "Doors", "sound_count": 1}])
    );
    assert_eq!(
        cats.iter().find(|c| c["name"] == "Horror").unwrap()["sound_count"],
        0
    );
    // Edits and removals reach search at once; the index is rebuilt from the store at start.
    let auth = s.token.clone();
    let (st, _, v) = c.send_json(
        "PATCH",
        "/admin/v1/sounds/soft-ui-click",
        &auth,
        &json!({"title": "Gentle Button Tap", "category": "Comedy"}),
    );
    assert_eq!(st, 200, "{v}");
    let (_, v) = search("q=gentle");
    assert_eq!(ids(&v), ["soft-ui-click"]);
    let (st, _, _) = c.send_json(
        "PATCH",
        "/admin/v1/sounds/soft-ui-click",
        &auth,
        &json!({"category": "Nope"}),
    );
    assert_eq!(st, 400);
    let (st, _, _) = c.delete("/admin/v1/sounds/slamming-car-door", &auth);
    assert_eq!(st, 204);
    assert!(!s.data_dir().join("sounds/slamming-car-door.wav").exists());
    s.restart();
    let c = s.client();
    let (_, _, v) = c.get("/api/v1/sounds/search?q=door", &key);
    assert_eq!(ids(&v), ["heavy-door-slam"]);
    let (_, _, v) = c.get("/api/v1/sounds/search?q=gentle&category=comedy", &key);
    assert_eq!(ids(&v), ["soft-ui-click"]);
    let (st, _, _) = c.get("/api/v1/sounds/slamming-car-door/metadata", &key);
    assert_eq!(st, 404);
}

#[test]
fn waveforms_and_previews() {
    let s = loaded();
    let key = key(&s, json!({}));
    let c = s.client();
    let (st, _, w) = c.get("/api/v1/sounds/line-up-tone/waveform?width=50", &key);
    assert_eq!(st, 200, "{w}");
    let peaks = w["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 50);
    let hi = peaks[10][1].as_f64().unwrap();
    assert!((hi - 0.126).abs() < 0.01, "-18 dBFS peak is 0.126: {hi}");
    let auth = format!("Bearer {key}");
    let r = c.request(
        "GET",
        "/api/v1/sounds/line-up-tone/waveform?format=png&width=300&height=60",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(&r.body[1..4], b"PNG");
    // Width and height are in the IHDR chunk.
    assert_eq!(u32::from_be_bytes(r.body[16..20].try_into().unwrap()), 300);
    assert_eq!(u32::from_be_bytes(r.body[20..24].try_into().unwrap()), 60);
    let (st, _, _) = c.get("/api/v1/sounds/line-up-tone/waveform?width=0", &key);
    assert_eq!(st, 400);
    let r = c.request(
        "GET",
        "/api/v1/sounds/heavy-door-slam/preview",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("audio/ogg"));
    assert_eq!(&r.body[..4], b"OggS");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("preview.ogg");
    std::fs::write(&p, &r.body).unwrap();
    let pcm = tonearm::library::audio::decode(&p).unwrap();
    assert!((pcm.frames() as f64 / f64::from(pcm.rate) - 1.5).abs() < 0.05);
    // Previews are free.
    let (_, _, acct) = c.get("/api/v1/account", &key);
    assert_eq!(acct["credits_remaining"], 20);
}

fn fetch(s: &TestServer, url: &str, headers: &[(&str, &str)]) -> Response {
    let path = &url[url.find("/api/").unwrap()..];
    s.client().request("GET", path, headers, b"")
}

#[test]
fn downloads_are_signed_paid_normalised_and_cached() {
    let s = loaded();
    let key = key(&s, json!({}));
    let c = s.client();
    let dir = tempfile::tempdir().unwrap();
    for (n, format) in ["wav24", "wav16", "mp3320", "ogg"].iter().enumerate() {
        let (st, _, d) = c.get(
            &format!("/api/v1/sounds/heavy-door-slam/download?format={format}&normalize=true"),
            &key,
        );
        assert_eq!(st, 200, "{d}");
        assert_eq!(d["format"], *format);
        assert_eq!(d["normalized"], true);
        let url = d["download_url"].as_str().unwrap();
        assert!(url.starts_with("http://"), "{url}");
        // Usable without the API key.
        let r = fetch(&s, url, &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.body.len() as u64, d["file_size_bytes"].as_u64().unwrap());
        assert_eq!(
            r.header("content-length").unwrap(),
            d["file_size_bytes"].to_string()
        );
        let sha = tonearm::ids::hex(&Sha256::digest(&r.body));
        assert_eq!(sha, d["checksum_sha256"].as_str().unwrap());
        assert_eq!(r.header("etag").unwrap(), format!("\"{sha}\""));
        let ext = if format.starts_with("wav") {
            "wav"
        } else if *format == "ogg" {
            "ogg"
        } else {
            "mp3"
        };
        assert!(
            r.header("content-disposition")
                .unwrap()
                .contains(&format!(".{ext}\""))
        );
        let ct = r.header("content-type").unwrap();
        assert!(ct.starts_with("audio/"), "{ct}");
        // The true peak of the decoded file is -1.0 dBTP (±0.1), lossy formats included.
        let p = dir.path().join(format!("d.{ext}"));
        std::fs::write(&p, &r.body).unwrap();
        let pcm = tonearm::library::audio::decode(&p).unwrap();
        let tp = tonearm::library::audio::true_peak_db(&pcm.planes).unwrap();
        assert!((tp + 1.0).abs() <= 0.1, "{format}: {tp} dBTP");
        if *format == "wav16" {
            assert_eq!(&r.body[34..36], &16u16.to_le_bytes());
        }
        if *format == "wav24" {
            assert_eq!(&r.body[34..36], &24u16.to_le_bytes());
        }
        let (_, _, acct) = c.get("/api/v1/account", &key);
        assert_eq!(acct["credits_remaining"], 20 - n as i64 - 1, "{acct}");
    }
    // Without normalisation the 24-bit file keeps the original's level.
    let (_, _, d) = c.get("/api/v1/sounds/line-up-tone/download?format=wav24", &key);
    let r = fetch(&s, d["download_url"].as_str().unwrap(), &[]);
    let p = dir.path().join("orig.wav");
    std::fs::write(&p, &r.body).unwrap();
    let pcm = tonearm::library::audio::decode(&p).unwrap();
    let tp = tonearm::library::audio::true_peak_db(&pcm.planes).unwrap();
    assert!((tp + 18.0).abs() < 0.05, "{tp}");
    // Cached: a second download announces the same bytes and the cache holds one file each.
    let (_, _, again) = c.get("/api/v1/sounds/line-up-tone/download?format=wav24", &key);
    assert_eq!(again["checksum_sha256"], d["checksum_sha256"]);
    // Range and conditional requests.
    let url = d["download_url"].as_str().unwrap();
    let r = fetch(&s, url, &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body.len(), 100);
    assert_eq!(
        r.header("content-range").unwrap(),
        format!("bytes 0-99/{}", d["file_size_bytes"])
    );
    let etag = format!("\"{}\"", d["checksum_sha256"].as_str().unwrap());
    let r = fetch(&s, url, &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    let r = fetch(&s, url, &[("Range", "bytes=99999999-")]);
    assert_eq!(r.status, 416);
    // Tampered: another format, another sound, another expiry, another signature.
    for (from, to) in [
        ("format=wav24", "format=wav16"),
        ("line-up-tone", "heavy-door-slam"),
        ("normalize=false", "normalize=true"),
        ("sig=", "sig=0"),
    ] {
        let r = fetch(&s, &url.replace(from, to), &[]);
        assert_eq!(r.status, 403, "{from} → {to}");
        assert_eq!(r.json()["error"]["code"], "invalid_signature");
    }
    let later = url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let r = fetch(
        &s,
        &url.replace(later, &(later.parse::<u64>().unwrap() + 60).to_string()),
        &[],
    );
    assert_eq!(r.status, 403);
    // Expired: a URL signed with the server's key for a time already past.
    let lib = tonearm::library::Library::open(&s.data_dir(), vec![]).unwrap();
    let query = lib.sign(
        "line-up-tone",
        tonearm::library::audio::Format::Wav24,
        false,
        1_000,
    );
    let r = s.client().request(
        "GET",
        &format!("/api/v1/sounds/line-up-tone/file?{query}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 410);
    assert_eq!(r.json()["error"]["code"], "url_expired");
    // The ledger names the sounds; the metadata counts the downloads.
    let (_, _, ledger) = c.get("/api/v1/account/ledger", &key);
    let entries = ledger["data"].as_array().unwrap();
    let downloads: Vec<&Value> = entries.iter().filter(|e| e["type"] == "download").collect();
    assert_eq!(downloads.len(), 6);
    assert!(downloads.iter().all(|e| e["amount"] == -1));
    assert_eq!(downloads.last().unwrap()["sound_id"], "heavy-door-slam");
    assert_eq!(downloads[0]["sound_id"], "line-up-tone");
    let (_, _, m) = c.get("/api/v1/sounds/heavy-door-slam/metadata", &key);
    assert_eq!(m["download_count"], 4);
    // Bad parameters cost nothing.
    for bad in ["", "?format=flac", "?format=wav24&normalize=maybe"] {
        let (st, _, _) = c.get(&format!("/api/v1/sounds/line-up-tone/download{bad}"), &key);
        assert_eq!(st, 400, "{bad}");
    }
    let (st, _, _) = c.get("/api/v1/sounds/nope/download?format=wav24", &key);
    assert_eq!(st, 404);
    let (_, _, acct) = c.get("/api/v1/account", &key);
    assert_eq!(acct["credits_remaining"], 14);
    assert_eq!(acct["credits_total"], 20);
    assert_eq!(acct["tier"], "default");
    assert!(acct["monthly_reset_date"].is_string());
}

#[test]
fn downloads_need_the_scope_and_credits() {
    let s = TestServer::start_with(&[
        ("plans.default", "credits_per_month = 5"),
        ("plans.empty", "credits_per_month = 0"),
    ]);
    let f = &fixtures()[1];
    assert_eq!(import(&s, &f.meta, &f.wav).status, 201);
    let reader = key(&s, json!({"scopes": ["library:read", "account:read"]}));
    let (st, _, v) = s.client().get(
        "/api/v1/sounds/heavy-door-slam/download?format=ogg",
        &reader,
    );
    assert_eq!(st, 403);
    assert_eq!(v["error"]["details"]["required_scope"], "library:download");
    let (st, _, _) = s.client().get("/api/v1/sounds/search?q=door", &reader);
    assert_eq!(st, 200);
    let downloader = key(&s, json!({"scopes": ["library:download"]}));
    let (st, _, _) = s.client().get("/api/v1/sounds/search?q=door", &downloader);
    assert_eq!(st, 403);
    // A fresh account on a plan without credits.
    let c = s.client();
    let (_, _, acct) = c.post_json(
        "/admin/v1/accounts",
        &s.token,
        &json!({"name": "Broke", "plan": "empty"}),
    );
    let account = acct["id"].as_str().unwrap();
    let (_, _, k) = c.post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": account, "label": "k"}),
    );
    let broke = k["key"].as_str().unwrap();
    let (st, _, v) = c.get("/api/v1/sounds/heavy-door-slam/download?format=ogg", broke);
    assert_eq!(st, 402, "{v}");
    assert_eq!(v["error"]["code"], "insufficient_credits");
    let (_, _, ledger) = c.get("/api/v1/account/ledger", broke);
    assert!(
        ledger["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "download")
    );
}

#[test]
fn import_command_shows_progress_skips_what_is_there_and_lists_refusals() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("audio")).unwrap();
    let mut sounds = Vec::new();
    for f in fixtures().into_iter().take(3) {
        std::fs::write(dir.path().join(format!("audio/{}.wav", f.id)), &f.wav).unwrap();
        let mut m = f.meta.clone();
        m["file"] = json!(format!("audio/{}.wav", f.id));
        // Fields the server computes itself are ignored, as in a library export.
        m["duration_s"] = json!(99.0);
        sounds.push(m);
    }
    std::fs::write(
        dir.path().join("audio/notes.txt"),
        "not audio at all, only words",
    )
    .unwrap();
    sounds.push(
        json!({"id": "notes", "file": "audio/notes.txt", "title": "Notes", "category": "Foley",
        "license_type": "royalty-free", "license": "CC0"}),
    );
    sounds.push(json!({"id": "bad-category", "file": "audio/line-up-tone.wav", "title": "Tone", "category": "Elsewhere",
        "license_type": "royalty-free", "license": "CC0"}));
    let file = dir.path().join("library.json");
    std::fs::write(&file, json!({"sounds": sounds}).to_string()).unwrap();
    let out = s.cli(&["library", "import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(
        stdout.contains("3 imported, 0 already there, 2 refused (of 5)"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("refused notes: not_audio"), "{stdout}");
    assert!(
        stdout.contains("refused bad-category: invalid_request"),
        "{stdout}"
    );
    assert!(stderr.contains("5/5") || stderr.contains("[#"), "{stderr}");
    let out = s.cli(&["library", "import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains("0 imported, 3 already there, 2 refused"),
        "{stdout}"
    );
    let key = key(&s, json!({}));
    let (_, _, m) = s
        .client()
        .get("/api/v1/sounds/heavy-door-slam/metadata", &key);
    assert_eq!(m["duration_s"], 1.5);
}

#[test]
fn links_are_built_on_the_public_url_when_one_is_set() {
    let s = TestServer::start_with(&[(
        "library",
        "public_url = \"https://tonearm.example.com/audio/\"",
    )]);
    for f in fixtures().iter().take(3) {
        assert_eq!(import(&s, &f.meta, &f.wav).status, 201, "{}", f.id);
    }
    let key = key(&s, json!({}));
    let c = s.client();
    let base = "https://tonearm.example.com/audio/api/v1/sounds";
    // The Host header names this server's loopback address; the links name the public one.
    let (st, r, v) = c.get("/api/v1/sounds/search?q=door&limit=1", &key);
    assert_eq!(st, 200, "{v}");
    let hit = &v[0];
    let id = hit["id"].as_str().unwrap();
    assert_eq!(hit["waveform_url"], format!("{base}/{id}/waveform"));
    assert_eq!(hit["preview_url"], format!("{base}/{id}/preview"));
    let link = r.header("link").unwrap();
    assert!(link.starts_with(&format!("<{base}/search?")), "{link}");
    let (_, _, m) = c.get(&format!("/api/v1/sounds/{id}/metadata"), &key);
    assert_eq!(m["waveform_url"], format!("{base}/{id}/waveform"));
    let (st, _, d) = c.get(
        &format!("/api/v1/sounds/{id}/download?format=wav16&normalize=false"),
        &key,
    );
    assert_eq!(st, 200, "{d}");
    let url = d["download_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{base}/{id}/file?")), "{url}");
    // What the proxy forwards (the prefix taken off) is the signed file.
    let r = fetch(
        &s,
        url.strip_prefix("https://tonearm.example.com/audio")
            .unwrap(),
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sha = tonearm::ids::hex(&Sha256::digest(&r.body));
    assert_eq!(sha, d["checksum_sha256"].as_str().unwrap());
}

/// The tagging model listens on import: machine tags beside the curated ones, searchable below
/// them, and "more like this" from the model's output space.
#[test]
fn the_model_tags_each_import_and_finds_similar_sounds() {
    let mut s = loaded();
    let r = 44_100;
    let meta = json!({"id": "a4-reference", "title": "A4 Reference", "description": "Concert pitch for tuning.",
        "tags": ["a440", "tuning"], "category": "Broadcast", "license_type": "royalty-free", "license": "CC0-1.0"});
    let wav = Audio::mono(r, sine(r, 440.0, -18.0, 2.0)).wav_bytes(Encoding::Pcm16, None);
    let created = import(&s, &meta, &wav);
    assert_eq!(created.status, 201);
    let imported: Value = serde_json::from_slice(&created.body).unwrap();
    let machine = imported["machine_tags"].as_array().expect("machine_tags");
    assert!(
        machine.iter().any(|t| t["label"] == "Sine wave"),
        "{machine:?}"
    );
    assert!(machine.len() <= 5);
    for t in machine {
        let c = t["confidence"].as_f64().unwrap();
        assert!((0.2..=1.0).contains(&c), "{t}");
    }
    // Curated tags stay as people wrote them.
    assert_eq!(imported["tags"], json!(["a440", "tuning"]));

    let reader = key(&s, json!({"scopes": ["library:read"]}));
    let c = s.client();
    // "sine" is a curated tag of the line-up tone and only a machine tag of the A4 reference:
    // both are found, the curated match first.
    let (st, _, found) = c.get("/api/v1/sounds/search?q=sine", &reader);
    assert_eq!(st, 200);
    let order = ids(&found);
    let (tone, a4) = (
        order.iter().position(|&i| i == "line-up-tone"),
        order.iter().position(|&i| i == "a4-reference"),
    );
    assert!(tone.is_some() && a4.is_some() && tone < a4, "{order:?}");

    let (st, _, near) = c.get("/api/v1/sounds/a4-reference/similar?limit=3", &reader);
    assert_eq!(st, 200, "{near}");
    let near_ids = ids(&near);
    assert_eq!(near_ids.len(), 3);
    assert_eq!(near_ids[0], "line-up-tone", "{near}");
    assert!(!near_ids.contains(&"a4-reference"));
    let scores: Vec<f64> = near
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["similarity"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores.iter().all(|x| (0.0..=1.0).contains(x)), "{scores:?}");
    // A noise burst is nearer the other noise bursts than the tones.
    let (_, _, near) = c.get("/api/v1/sounds/heavy-door-slam/similar", &reader);
    let first = ids(&near)[0].to_string();
    assert!(
        first == "slamming-car-door" || first == "soft-ui-click",
        "{near}"
    );
    assert_eq!(ids(&near).len(), 4, "default limit 10, four other sounds");

    for bad in ["limit=0", "limit=101", "limit=x"] {
        let (st, _, v) = c.get(
            &format!("/api/v1/sounds/a4-reference/similar?{bad}"),
            &reader,
        );
        assert_eq!(st, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "invalid_request");
    }
    let (st, _, v) = c.get("/api/v1/sounds/no-such-sound/similar", &reader);
    assert_eq!(st, 404);
    assert_eq!(v["error"]["code"], "not_found");
    let downloader = key(&s, json!({"scopes": ["library:download"]}));
    let (st, _, _) = c.get("/api/v1/sounds/a4-reference/similar", &downloader);
    assert_eq!(st, 403);
    // The metadata carries the machine tags too, and they survive a restart.
    s.restart();
    let reader = key(&s, json!({"scopes": ["library:read"]}));
    let (_, _, m) = s
        .client()
        .get("/api/v1/sounds/a4-reference/metadata", &reader);
    assert_eq!(m["machine_tags"], imported["machine_tags"]);
}
