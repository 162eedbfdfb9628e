//! Sound-library benchmarks and relevance runs (plain `main`, no harness).

// A benchmark that cannot set itself up has nothing to report: it stops with the reason.
#![allow(clippy::expect_used)]
//!
//! `cargo bench --bench library -- relevance LIBRARY.json QUERIES.json OUT.jsonl`
//!     ranks every query of QUERIES.json over LIBRARY.json's metadata with the server's search
//!     index and writes the result lines `score_search.py` reads.
//! `cargo bench --bench library -- populate LIBRARY.json N DATA_DIR OUT_DIR`
//!     generates N sounds' metadata by recombining LIBRARY.json's titles, tags and categories
//!     (seeded, so every run has the same data), stores them in DATA_DIR's database as the
//!     server would, and writes OUT_DIR/sounds.jsonl (the same metadata, for SQLite FTS5) and
//!     OUT_DIR/queries.jsonl (search requests with filters) for `scripts/bench-library.sh`.

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
        machine: None,
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
            .search(q["q"].as_str().unwrap_or(""), &filters, 100)
            .hits
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        lines.push_str(&serde_json::json!({"query_id": q["id"], "ids": ids}).to_string());
        lines.push('\n');
    }
    std::fs::write(out, lines).unwrap_or_else(|e| panic!("{out}: {e}"));
}

/// A stand-in for what the tagging model hears (no audio is generated): a few likely classes
/// over a faint tail, as the model's output on real sounds looks, so `similar` compares vectors
/// of the real size and density.
fn machine(rng: &mut Rng) -> tonearm::store::schema::MachineTags {
    const CLASSES: usize = 527;
    let mut vector: Vec<u8> = (0..CLASSES).map(|_| rng.below(12) as u8).collect();
    let mut tags = Vec::new();
    for k in 0..3 {
        let class = rng.below(CLASSES);
        let strength = 255 - 40 * k as u8 - rng.below(30) as u8;
        vector[class] = strength;
        let p = (f32::from(strength) / 255.0).powi(2);
        tags.push((format!("Class {class}"), (p * 1000.0) as u16));
    }
    tonearm::store::schema::MachineTags { tags, vector }
}

/// A small deterministic generator: the data must be the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ADJECTIVES: [&str; 24] = [
    "distant",
    "close",
    "heavy",
    "light",
    "soft",
    "hard",
    "long",
    "short",
    "wet",
    "dry",
    "metallic",
    "wooden",
    "muffled",
    "bright",
    "dark",
    "processed",
    "slow",
    "fast",
    "large",
    "small",
    "indoor",
    "outdoor",
    "layered",
    "single",
];

fn populate(library: &str, n: usize, data_dir: &str, out_dir: &str) {
    let lib = read_json(library);
    let base: Vec<&Value> = lib["sounds"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    assert!(!base.is_empty(), "{library} holds no sounds");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sounds_jsonl = String::new();
    let mut batch = Vec::with_capacity(n);
    for i in 0..n {
        let a = base[rng.below(base.len())];
        let b = base[rng.below(base.len())];
        let mut rec = record(a);
        let adj = ADJECTIVES[rng.below(ADJECTIVES.len())];
        rec.title = format!("{} {} {}", capitalise(adj), rec.title, i % 97 + 1);
        let extra: Vec<String> = b["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .take(2)
                    .collect()
            })
            .unwrap_or_default();
        rec.tags.extend(extra);
        rec.tags.push(adj.to_string());
        rec.description = format!(
            "{} {}",
            rec.description,
            b["description"].as_str().unwrap_or("")
        );
        rec.duration_s = ((rng.below(60_000) + 50) as f64) / 1000.0;
        rec.license_type = ["royalty-free", "copyleft", "editorial"][rng.below(3)].to_string();
        rec.machine = Some(machine(&mut rng));
        let mut sha = [0u8; 32];
        sha[..8].copy_from_slice(&(i as u64).to_le_bytes());
        rec.sha256 = sha;
        let id = format!("gen-{i:06}");
        sounds_jsonl.push_str(
            &serde_json::json!({
                "id": id, "title": rec.title, "tags": rec.tags.join(" "), "category": rec.category,
                "subcategory": rec.subcategory, "description": rec.description,
                "duration_s": rec.duration_s, "license_type": rec.license_type,
            })
            .to_string(),
        );
        sounds_jsonl.push('\n');
        batch.push((
            id,
            rec,
            tonearm::store::schema::WaveformRecord { peaks: vec![] },
        ));
    }
    let store =
        tonearm::store::Store::open(std::path::Path::new(data_dir)).expect("open the store");
    let started = Instant::now();
    for chunk in batch.chunks(10_000) {
        store.insert_sounds(chunk).expect("store the sounds");
    }
    eprintln!("stored {n} sounds in {:?}", started.elapsed());
    // Queries: what people type (the public set's words, some with a typo), a third with a
    // filter.
    let words: Vec<String> = base
        .iter()
        .flat_map(|s| s["tags"].as_array().into_iter().flatten())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let mut queries = String::new();
    for _ in 0..1000 {
        let mut q = format!(
            "{} {}",
            words[rng.below(words.len())],
            words[rng.below(words.len())]
        );
        if rng.below(5) == 0 {
            // A typo: drop one letter.
            let k = rng.below(q.len().max(1));
            if k < q.len() && q.is_char_boundary(k) && q.is_char_boundary(k + 1) {
                q.remove(k);
            }
        }
        let mut filters = serde_json::Map::new();
        match rng.below(6) {
            0 => {
                filters.insert(
                    "category".into(),
                    categories::CATEGORIES[rng.below(14)].into(),
                );
            }
            1 => {
                filters.insert("duration_max".into(), 5.0.into());
            }
            2 => {
                filters.insert("license".into(), "royalty-free".into());
            }
            _ => {}
        }
        queries.push_str(&serde_json::json!({"q": q.trim(), "filters": filters}).to_string());
        queries.push('\n');
    }
    let out = std::path::Path::new(out_dir);
    std::fs::write(out.join("sounds.jsonl"), sounds_jsonl).expect("write sounds.jsonl");
    std::fs::write(out.join("queries.jsonl"), queries).expect("write queries.jsonl");
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("relevance") if args.len() == 4 => relevance(&args[1], &args[2], &args[3]),
        Some("populate") if args.len() == 5 => populate(
            &args[1],
            args[2].parse().expect("N is a number"),
            &args[3],
            &args[4],
        ),
        _ => eprintln!(
            "usage: library relevance LIBRARY.json QUERIES.json OUT.jsonl\n       \
             library populate LIBRARY.json N DATA_DIR OUT_DIR"
        ),
    }
}
