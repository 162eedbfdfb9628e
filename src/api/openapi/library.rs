//! The sound library's part of the document: its schemas, success responses, refusals,
//! parameters and the import form.

use serde_json::{Map, Value, json};

use super::schemas::reference;
use crate::http::route::Route;
use crate::library::audio::Format;
use crate::library::categories::{CATEGORIES, LICENSE_TYPES};

fn object(props: Value) -> Value {
    let required: Vec<String> = props
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn summary_props() -> Map<String, Value> {
    let nullable_num = json!({"type": ["number", "null"]});
    let v = json!({
        "id": {"type": "string", "description": "the sound's id: a slug given at import, or snd_…"},
        "object": {"const": "sound"},
        "title": {"type": "string"},
        "duration_s": {"type": "number"},
        "sample_rate_hz": {"type": "integer"},
        "bit_depth": {"type": ["integer", "null"], "description": "null for lossy originals"},
        "channels": {"type": "integer"},
        "category": {"type": "string", "enum": CATEGORIES},
        "waveform_url": {"type": "string", "format": "uri"},
        "preview_url": {"type": "string", "format": "uri"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "curated: written by people"},
        "machine_tags": {"type": ["array", "null"], "description": "what the tagging model (AudioSet classes) hears, most likely first, at most 5 with confidence at least 0.2; searchable, weighted below the curated tags; null until the model has listened to the sound", "items": object(json!({"label": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}}))},
        "license_type": {"type": "string", "enum": LICENSE_TYPES},
        "loudness_lufs": nullable_num,
        "file_size_bytes": {"type": "integer"},
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Schemas under components.
pub fn schemas() -> Map<String, Value> {
    let mut full = summary_props();
    let extra = json!({
        "creator": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "description": {"type": "string"},
        "subcategory": {"type": "string"},
        "license": {"type": "string"},
        "attribution_required": {"type": "boolean"},
        "loudness_note": {"type": ["string", "null"], "description": "why loudness_lufs is null (under 400 ms, silence)"},
        "true_peak_db": {"type": ["number", "null"], "description": "dBTP; null for digital silence"},
        "spectral_peaks": {"type": "array", "description": "Up to 8 peaks of the average spectrum, strongest first: local maxima at least 10 dB above the valleys beside them, at most 60 dB below the strongest and further than 4 FFT bins (about 11 Hz each at 44.1 kHz) from a stronger one, so a pure tone is one peak", "items": object(json!({"frequency_hz": {"type": "number"}, "magnitude_db": {"type": "number", "description": "relative to the strongest peak"}}))},
        "formats": {"type": "array", "items": {"type": "string", "enum": Format::ALL.map(|f| f.as_str())}},
        "download_count": {"type": "integer"},
    });
    if let Some(e) = extra.as_object() {
        full.extend(e.clone());
    }
    let mut admin = full.clone();
    admin.insert(
        "sha256".into(),
        json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
    );
    admin.insert("original_format".into(), json!({"type": "string"}));
    let category = object(json!({
        "name": {"type": "string", "enum": CATEGORIES},
        "sound_count": {"type": "integer"},
        "subcategories": {"type": "array", "items": object(json!({"name": {"type": "string"}, "sound_count": {"type": "integer"}}))},
    }));
    let mut m = Map::new();
    m.insert("Sound".into(), object(Value::Object(summary_props())));
    m.insert(
        "SoundList".into(),
        json!({"type": "array", "items": reference("Sound")}),
    );
    m.insert("SoundMetadata".into(), object(Value::Object(full)));
    m.insert("SoundAdmin".into(), object(Value::Object(admin)));
    let mut similar = summary_props();
    similar.insert(
        "similarity".into(),
        json!({"type": "number", "minimum": 0, "maximum": 1, "description": "cosine of the square roots of the two sounds' class probabilities"}),
    );
    m.insert(
        "SimilarList".into(),
        json!({"type": "array", "items": object(Value::Object(similar))}),
    );
    m.insert(
        "CategoryList".into(),
        json!({"type": "array", "items": category, "minItems": 14, "maxItems": 14}),
    );
    m.insert("Waveform".into(), object(json!({
        "sound_id": {"type": "string"},
        "object": {"const": "waveform"},
        "duration_s": {"type": "number"},
        "width": {"type": "integer"},
        "peaks": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "number", "minimum": -1, "maximum": 1}, {"type": "number", "minimum": -1, "maximum": 1}], "minItems": 2, "maxItems": 2}, "description": "per column: [lowest, highest] sample, -1..1"},
    })));
    m.insert("Download".into(), object(json!({
        "object": {"const": "download"},
        "sound_id": {"type": "string"},
        "download_url": {"type": "string", "format": "uri", "description": "signed, usable without the API key, valid 15 minutes"},
        "expires_at": {"type": "string", "format": "date-time"},
        "file_size_bytes": {"type": "integer"},
        "checksum_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "format": {"type": "string", "enum": Format::ALL.map(|f| f.as_str())},
        "normalized": {"type": "boolean"},
    })));
    m
}

/// Success responses: (status, description, schema or media type).
pub fn success(route: Route) -> Vec<(&'static str, &'static str, &'static str)> {
    use Route::*;
    match route {
        AdminSoundCreate => vec![("201", "Imported and measured", "SoundMetadata")],
        AdminSoundGet => vec![("200", "The sound with its original's SHA-256", "SoundAdmin")],
        AdminSoundUpdate => vec![("200", "The changed sound", "SoundMetadata")],
        AdminSoundDelete => vec![("204", "Removed with its files", "")],
        SoundsSearch | AdminSoundsSearch => vec![(
            "200",
            "Matching sounds, best first (next page in Link)",
            "SoundList",
        )],
        SoundMetadata => vec![("200", "The sound", "SoundMetadata")],
        SoundSimilar => vec![(
            "200",
            "The nearest sounds, nearest first, the sound itself left out",
            "SimilarList",
        )],
        SoundWaveform => vec![(
            "200",
            "Peaks as JSON, or image/png with format=png",
            "Waveform",
        )],
        SoundPreview | AdminSoundPreview => vec![("200", "audio/ogg (Vorbis), the first 30 s", "")],
        SoundDownload => vec![("200", "A signed URL; 1 credit was taken", "Download")],
        SoundFile => vec![
            (
                "200",
                "The file (audio/wav, audio/mpeg or audio/ogg) with ETag, Content-Disposition",
                "",
            ),
            ("206", "The requested byte range", ""),
            ("304", "Not modified (If-None-Match)", ""),
        ],
        Categories => vec![("200", "All 14 categories", "CategoryList")],
        _ => Vec::new(),
    }
}

/// Refusals particular to the library: (status, description).
pub fn refusals(route: Route) -> Vec<(&'static str, &'static str)> {
    use Route::*;
    match route {
        AdminSoundCreate => vec![
            (
                "400",
                "malformed_multipart, missing_file, empty_file, invalid_json (metadata), invalid_request naming the field (metadata.title, metadata.category listing the 14, …)",
            ),
            (
                "409",
                "conflict: the id exists (details.id), or the same bytes exist under another id (details.existing_id)",
            ),
            ("413", "payload_too_large or too_long"),
            (
                "415",
                "not_audio, unsupported_format, unsupported_codec, corrupt_audio, no_audio_track: the engine's code",
            ),
        ],
        AdminSoundUpdate => vec![("400", "invalid_json, invalid_request naming the field")],
        SoundsSearch | AdminSoundsSearch => vec![(
            "400",
            "invalid_request: q missing, unknown category or license, bad duration_max, limit or cursor",
        )],
        SoundSimilar => vec![
            ("400", "invalid_request: limit out of 1..100"),
            (
                "409",
                "sound_not_tagged: the tagging model has not listened to the sound yet",
            ),
        ],
        SoundWaveform => vec![(
            "400",
            "invalid_request: format, width or height out of range",
        )],
        SoundDownload => vec![
            (
                "400",
                "invalid_request: format missing or unknown, normalize not true/false",
            ),
            (
                "402",
                "insufficient_credits: the account has no credit left",
            ),
        ],
        SoundFile => vec![
            ("403", "invalid_signature: the URL was altered"),
            ("410", "url_expired: the URL is older than 15 minutes"),
            ("416", "range_not_satisfiable"),
        ],
        _ => Vec::new(),
    }
}

pub fn query_params(route: Route) -> Vec<Value> {
    use Route::*;
    match route {
        SoundsSearch | AdminSoundsSearch => vec![
            json!({"name": "q", "in": "query", "required": true, "description": "words to search for (typos and other word forms are found)", "schema": {"type": "string", "minLength": 1, "maxLength": 500}}),
            json!({"name": "category", "in": "query", "schema": {"type": "string", "enum": CATEGORIES}, "description": "case and punctuation are ignored (ui-ux = UI/UX)"}),
            json!({"name": "duration_max", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0}, "description": "seconds"}),
            json!({"name": "license", "in": "query", "schema": {"type": "string", "enum": LICENSE_TYPES}}),
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}),
            json!({"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^o[0-9]{1,18}$"}, "description": "from the Link header of the previous page"}),
        ],
        SoundSimilar => vec![
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}}),
        ],
        SoundWaveform => vec![
            json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "png"], "default": "json"}}),
            json!({"name": "width", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1024}, "description": "columns (JSON: default 200; PNG: default 800, and up to 4096 are drawn)"}),
            json!({"name": "height", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1024, "default": 160}, "description": "PNG only"}),
        ],
        SoundDownload => vec![
            json!({"name": "format", "in": "query", "required": true, "schema": {"type": "string", "enum": Format::ALL.map(|f| f.as_str())}}),
            json!({"name": "normalize", "in": "query", "schema": {"type": "boolean", "default": false}, "description": "true: the delivered file's true peak is -1.0 dBTP (±0.1), measured on the decoded file"}),
        ],
        SoundFile => vec![
            json!({"name": "format", "in": "query", "required": true, "schema": {"type": "string"}}),
            json!({"name": "normalize", "in": "query", "required": true, "schema": {"type": "string"}}),
            json!({"name": "expires", "in": "query", "required": true, "schema": {"type": "integer"}}),
            json!({"name": "sig", "in": "query", "required": true, "schema": {"type": "string"}}),
        ],
        _ => Vec::new(),
    }
}

pub fn request_body(route: Route) -> Option<Value> {
    let meta = json!({
        "type": "object", "additionalProperties": false,
        "required": ["title", "category", "license_type", "license"],
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,127}$", "description": "default: snd_…"},
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}, "maxItems": 64},
            "category": {"type": "string", "enum": CATEGORIES},
            "subcategory": {"type": "string"},
            "creator": {"type": "string"},
            "license_type": {"type": "string", "enum": LICENSE_TYPES},
            "license": {"type": "string", "minLength": 1},
            "attribution_required": {"type": "boolean", "default": true},
        },
    });
    match route {
        Route::AdminSoundCreate => Some(json!({
            "required": true,
            "content": {"multipart/form-data": {"schema": {
                "type": "object", "additionalProperties": false, "required": ["file", "metadata"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "the original, kept byte for byte"},
                    "metadata": {"type": "string", "contentMediaType": "application/json", "contentSchema": meta},
                },
            }}},
        })),
        Route::AdminSoundUpdate => {
            let mut m = meta;
            m["required"] = json!([]);
            if let Some(p) = m["properties"].as_object_mut() {
                p.remove("id");
            }
            Some(json!({"required": true, "content": {"application/json": {"schema": m}}}))
        }
        _ => None,
    }
}
