//! Sound-library benchmarks and relevance runs (plain `main`, no harness).
//!
//! `cargo bench --bench library -- relevance LIBRARY.json QUERIES.json OUT.jsonl`
//!     ranks every query of QUERIES.json over LIBRARY.json's metadata with the server's search
//!     index and writes the result lines `score_search.py` reads.

use std::time::Instant;

use serde_json::Value;
use tonearm::library::categories;
use tonearm::library::search::{Filters, Index};
use tonearm::store::schema::SoundRecord;

fn record(s: &Value) -> SoundRecord {
    let text = |k: &str| s[k].as_str().unwrap_or("").to_string();
    SoundRecord {
        title: text("title"),
        description: text("description"),
        tags: s["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        category: text("category"),
        subcategory: text("subcategory"),
        creator: text("creator"),
        license_type: text("license_type"),
        license: text("license"),
        attribution_required: s["attribution_required"].as_bool().unwrap_or(true),
        created_at_ms: 0,
        file: text("file"),
        format: text("format"),
        file_size_bytes: s["size_bytes"].as_u64().unwrap_or(0),
        sha256: [0; 32],
        duration_s: s["duration_s"].as_f64().unwrap_or(0.0),
        sample_rate_hz: s["sample_rate_hz"].as_u64().unwrap_or(0) as u32,
        bit_depth: s["bit_depth"].as_u64().map(|b| b as u32),
        channels: s["channels"].as_u64().unwrap_or(0) as u32,
        loudness_lufs: s["loudness_lufs"].as_f64(),
        loudness_note: None,
        true_peak_db: s["true_peak_db"].as_f64(),
        spectral_peaks: vec![],
        download_count: 0,
    }
}

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn relevance(library: &str, queries: &str, out: &str) {
    let lib = read_json(library);
    let sounds: Vec<(String, SoundRecord)> = lib["sounds"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| (s["id"].as_str().unwrap_or("").to_string(), record(s)))
                .collect()
        })
        .unwrap_or_default();
    let started = Instant::now();
    let index = Index::build(sounds);
    eprintln!("indexed {} sounds in {:?}", index.len(), started.elapsed());
    let qs = read_json(queries);
    let mut lines = String::new();
    for q in qs["queries"].as_array().into_iter().flatten() {
        let f = &q["filters"];
        let filters = Filters {
            category: f["category"].as_str().and_then(categories::canonical),
            duration_max: f["duration_max"].as_f64(),
            license_type: f["license"].as_str().and_then(categories::license_type),
        };
        let ids: Vec<String> = index
            .search(q["q"].as_str().unwrap_or(""), &filters)
            .into_iter()
            .take(100)
            .map(|(id, _)| id)
            .collect();
        lines.push_str(&serde_json::json!({"query_id": q["id"], "ids": ids}).to_string());
        lines.push('\n');
    }
    std::fs::write(out, lines).unwrap_or_else(|e| panic!("{out}: {e}"));
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("relevance") if args.len() == 4 => relevance(&args[1], &args[2], &args[3]),
        _ => eprintln!("usage: library relevance LIBRARY.json QUERIES.json OUT.jsonl"),
    }
}
