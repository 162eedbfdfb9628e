//! The document's `components.schemas`: every JSON shape the server sends or accepts, stated as
//! tightly as the server checks it, so a request the schema allows is one the server accepts.

use serde_json::{Value, json};

use crate::auth::ScopeSet;
use crate::http::error::ErrorCode;

/// A name or label: 1 to 200 characters, no control characters, not only whitespace (the
/// server keeps it without leading and trailing whitespace).
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// `expires_in` of a new key: a whole number of seconds, minutes, hours, days or weeks.
pub const DURATION_PATTERN: &str = "^[1-9][0-9]{0,5}[smhdw]$";

const IPV4: &str = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}";
const IPV6: &str = "(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))";

/// An IPv4 or IPv6 address, or a CIDR range of either.
pub fn ip_pattern() -> String {
    format!("^({IPV4}(/(3[0-2]|[12]?[0-9]))?|{IPV6}(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$")
}

/// An id: `prefix_` + 22 base62 characters. The first character is 0-6 so that every string
/// the pattern allows is a 128-bit value; ids the server makes start with `0`.
pub fn id(prefix: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^{prefix}_[0-6][0-9A-Za-z]{{21}}$"),
        "examples": [format!("{prefix}_0AbCdEfGhIjKlMnOpQrStU")],
    })
}

pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn time_or_null() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

fn number_or_null() -> Value {
    json!({"type": ["number", "null"]})
}

fn string_or_null() -> Value {
    json!({"type": ["string", "null"]})
}

/// An object whose every listed property is always present and nothing else is sent.
fn object(props: Value) -> Value {
    let required: Vec<String> = props
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// `object` with more properties.
fn extend(base: &Value, more: Value) -> Value {
    let mut v = base.clone();
    if let (Some(props), Some(more)) = (v["properties"].as_object_mut(), more.as_object()) {
        for (k, s) in more {
            props.insert(k.clone(), s.clone());
        }
    }
    let required: Vec<String> = v["properties"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    v["required"] = json!(required);
    v
}

/// A page of `item`.
fn list(item: &str, cursor_prefix: &str) -> Value {
    object(json!({
        "object": {"const": "list"},
        "data": {"type": "array", "items": reference(item)},
        "has_more": {"type": "boolean"},
        "next_cursor": {"anyOf": [id(cursor_prefix), {"type": "null"}], "description": "pass as ?cursor= for the next page"},
    }))
}

fn scopes() -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": ScopeSet::all().names()}})
}

/// The result document (`tonearm analyze --json` prints the same).
fn report() -> Value {
    let reason = json!({"type": ["string", "null"], "description": "why the section's values are null, else null"});
    object(json!({
        "schema_version": {
            "type": "integer",
            "minimum": 1,
            "maximum": crate::engine::SCHEMA_VERSION,
            "description": "the result layout; results stored before an upgrade keep their own version, with the newer sections null and a reason"
        },
        "file_meta": object(json!({
            "filename": {"type": "string"},
            "format": {"type": "string", "examples": ["wav", "flac", "mp3"]},
            "codec": {"type": "string", "examples": ["pcm_s16le", "flac", "mp3", "opus"]},
            "duration_sec": {"type": "number", "minimum": 0},
            "sample_rate_hz": {"type": "integer", "minimum": 0},
            "channels": {"type": "integer", "minimum": 0},
            "bit_depth": {"type": ["integer", "null"], "description": "lossless formats only"},
            "bitrate_kbps": number_or_null(),
            "size_bytes": {"type": "integer", "minimum": 0},
            "blake3": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        })),
        "loudness": object(json!({
            "integrated_lufs": number_or_null(),
            "loudness_range_lu": number_or_null(),
            "true_peak_dbtp": number_or_null(),
            "sample_peak_dbfs": number_or_null(),
            "momentary_max_lufs": number_or_null(),
            "short_term_max_lufs": number_or_null(),
            "reason": reason,
        })),
        "tempo": object(json!({
            "bpm": number_or_null(),
            "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "time_signature": {"type": ["string", "null"], "examples": ["4/4", "3/4", "6/8"]},
            "beats": {"type": "array", "items": {"type": "number"}, "description": "beat times in seconds"},
            "downbeats": {"type": "array", "items": {"type": "number"}, "description": "the beats that start a bar, in seconds"},
            "reason": reason,
        })),
        "key": object(json!({
            "name": {"type": ["string", "null"], "examples": ["C minor"]},
            "tonic": string_or_null(),
            "mode": {"type": ["string", "null"], "examples": ["major", "minor"]},
            "camelot": {"type": ["string", "null"], "examples": ["5A"]},
            "open_key": {"type": ["string", "null"], "examples": ["1m"]},
            "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "alternatives": {
                "type": "array",
                "maxItems": 2,
                "description": "the next two candidate keys, best first",
                "items": object(json!({
                    "name": {"type": "string", "examples": ["A minor"]},
                    "score": {"type": "number", "minimum": 0, "maximum": 1},
                })),
            },
            "reason": reason,
        })),
        "create_report": object(json!({
            "chords": {
                "type": ["array", "null"],
                "description": "chord segments covering the audio",
                "items": object(json!({
                    "start": {"type": "number", "minimum": 0},
                    "end": {"type": "number", "minimum": 0},
                    "label": {"type": "string", "description": "Harte syntax; N for no chord", "examples": ["A:maj", "F#:min7", "G:7", "N"]},
                    "name": {"type": "string", "description": "as a musician writes it", "examples": ["A", "F#m7", "G7", "N.C."]},
                })),
            },
            "progression": {
                "anyOf": [
                    object(json!({
                        "roman": {"type": "string", "examples": ["I–V–vi–IV"]},
                        "names": {"type": "string", "examples": ["A–E–F#m–D"]},
                    })),
                    {"type": "null"}
                ],
                "description": "the most frequent chord loop, relative to the key and by name"
            },
            "suggested_vocal_key": {"type": ["string", "null"], "examples": ["C minor"]},
            "reason": reason,
        })),
        "structure": object(json!({
            "sections": {
                "type": ["array", "null"],
                "description": "sections covering the audio, in order",
                "items": object(json!({
                    "start": {"type": "number", "minimum": 0},
                    "end": {"type": "number", "minimum": 0},
                    "label": {"type": "string", "enum": ["intro", "verse", "prechorus", "chorus", "bridge", "breakdown", "instrumental", "outro"]},
                    "group": {"type": "string", "pattern": "^[A-Z]+$", "description": "the same letter for sections with the same material"},
                })),
            },
            "method": {"type": "string"},
            "reason": reason,
        })),
        "waveform": {
            "anyOf": [
                object(json!({
                    "seconds_per_point": {"type": "number", "minimum": 0, "description": "audio each point covers; point i starts at i × seconds_per_point"},
                    "peaks": {
                        "type": "array",
                        "maxItems": crate::engine::waveform::POINTS,
                        "description": "per point, [lowest, highest] sample of the mono mix, full scale, three decimals; the points cover file_meta.duration_sec evenly",
                        "items": {"type": "array", "prefixItems": [{"type": "number", "minimum": -1, "maximum": 1}, {"type": "number", "minimum": -1, "maximum": 1}], "minItems": 2, "maxItems": 2},
                    },
                })),
                {"type": "null"}
            ],
            "description": "the peak envelope for drawing the timeline; null on results stored before schema 3"
        },
        "genre": object(json!({
            "primary": {"anyOf": [tag(), {"type": "null"}], "description": "null when the audio is not music (see reason)"},
            "top5": {"type": "array", "maxItems": 5, "items": tag(), "description": "tonearm genre labels, best first"},
            "low_confidence": {"type": "boolean", "description": "the best label's confidence is under 0.1"},
            "method": {"type": "string"},
            "reason": reason,
        })),
        "mood": object(json!({
            "valence": score_or_null("musical positiveness; low confidence by nature"),
            "valence_low_confidence": {"type": "boolean", "description": "true while valence is a heuristic (about 30 % of valence variance is explained by the best published models)"},
            "energy": score_or_null("intensity and activity"),
            "danceability": score_or_null("steady, clear pulse"),
            "tags": {"type": "array", "items": tag(), "examples": [[{"label": "sad", "confidence": 0.17}, {"label": "calm", "confidence": 0.8}]]},
            "method": {"type": "string"},
            "reason": reason,
        })),
        "instruments": {"type": "array", "items": tag(), "description": "instruments heard with confidence of at least 0.2, best first"},
        "vocals": object(json!({
            "present": {"type": ["boolean", "null"], "description": "singing or rapping heard; null when the tagger could not run"},
            "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        })),
        "stems_report": object(json!({
            "method": {"type": "string", "const": "estimate", "description": "no source separation runs: presence and energy shares are estimated from the mix"},
            "stems": {
                "type": "array",
                "items": object(json!({
                    "id": {"type": "string", "enum": ["vocals", "drums", "bass", "other"]},
                    "present": {"type": "boolean"},
                    "presence_pct": {"type": "integer", "minimum": 0, "maximum": 100, "description": "share of the analysed 10 s segments in which the part is heard"},
                    "energy_share_pct": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "quality_pct": {"type": "null", "description": "always null: it would rate separated stems, and none are produced"},
                    "basis": {"type": "string"},
                })),
            },
            "reason": reason,
        })),
        "mix_report": object(json!({
            "lufs_integrated": number_or_null(),
            "true_peak_dbtp": number_or_null(),
            "checks": {
                "type": "array",
                "items": object(json!({
                    "id": {"type": "string", "enum": ["integrated_loudness", "true_peak", "clipping", "phase_correlation", "dc_offset", "loudness_range", "plr", "low_end", "silence"]},
                    "status": {"type": "string", "enum": ["pass", "warn", "fail"]},
                    "value": {"type": ["number", "null"], "description": "in the unit the target names"},
                    "target": {"type": "string"},
                    "message": {"type": "string"},
                })),
            },
            "platforms": {
                "type": "array",
                "description": "the configured platform targets ([mix] in the config)",
                "items": object(json!({
                    "name": {"type": "string", "examples": ["Spotify"]},
                    "target_lufs": {"type": "number"},
                    "gain_db": {"type": "number", "description": "target minus integrated loudness"},
                    "true_peak_after_dbtp": {"type": "number", "description": "true peak after that gain, before any platform limiter"},
                })),
            },
            "priority_move": {"type": ["string", "null"], "description": "the most important fix in one sentence; null when every check passes"},
            "reason": reason,
        })),
        "release_kit": object(json!({
            "clips": {
                "type": "array",
                "description": "15 s, 30 s and (when the audio allows) 60 s clips starting and ending on downbeats",
                "items": object(json!({
                    "start": {"type": "number", "minimum": 0},
                    "end": {"type": "number", "minimum": 0},
                    "duration": {"type": "number", "minimum": 0},
                    "reason": {"type": "string", "enum": ["chorus", "loudest_window", "whole_track"]},
                })),
            },
            "captions": {
                "anyOf": [object(json!({
                    "short": {"type": "string"},
                    "medium": {"type": "string"},
                    "long": {"type": "string"},
                })), {"type": "null"}],
                "description": "built only from measured facts (tempo, key, genre, mood, instruments)"
            },
            "hashtags": {"type": "array", "items": {"type": "string", "pattern": "^#"}},
            "reason": reason,
        })),
    }))
}

/// `{label, confidence}`.
fn tag() -> Value {
    object(json!({
        "label": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    }))
}

fn score_or_null(description: &str) -> Value {
    json!({"type": ["integer", "null"], "minimum": 0, "maximum": 100, "description": description})
}

fn job() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["job_id", "object", "status", "created_at", "started_at", "finished_at", "webhook_url", "file"],
        "properties": {
            "job_id": id("job"),
            "object": {"const": "analysis_job"},
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
            "created_at": time(),
            "started_at": {"type": ["string", "null"], "format": "date-time", "description": "null while queued; set from the moment the job runs"},
            "finished_at": time_or_null(),
            "webhook_url": string_or_null(),
            "file": object(json!({
                "filename": {"type": "string"},
                "format": {"type": "string"},
                "size_bytes": {"type": "integer", "minimum": 0},
                "blake3": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            })),
            "stage": {"type": "string", "description": "queued or running only"},
            "progress": {"type": "number", "minimum": 0, "maximum": 1, "description": "queued or running only"},
            "result": {"anyOf": [reference("Report"), {"type": "null"}], "description": "succeeded only; GET /api/v1/jobs/{job_id} (lists leave it out)"},
            "error": {"$ref": "#/components/schemas/JobError", "description": "failed only"},
        },
    })
}

/// A job as the admin API shows it: with the project it belongs to.
fn admin_job() -> Value {
    let mut j = job();
    j["properties"]["project_id"] = id("proj");
    if let Some(r) = j["required"].as_array_mut() {
        r.push("project_id".into());
    }
    j
}

fn usage() -> Value {
    let day = object(json!({
        "date": {"type": "string", "format": "date"},
        "requests": {"type": "integer", "minimum": 0, "description": "API calls admitted"},
        "analyses": {"type": "integer", "minimum": 0, "description": "analysis jobs accepted"},
    }));
    let days = json!({"type": "array", "items": day, "description": "one entry per UTC day, oldest first"});
    let count_or_null = json!({"type": ["integer", "null"], "minimum": 0});
    object(json!({
        "object": {"const": "usage"},
        "account_id": id("acct"),
        "plan": {"type": "string"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "daily": days.clone(),
        "month": object(json!({
            "limit": count_or_null.clone(),
            "used": {"type": "integer", "minimum": 0},
            "remaining": count_or_null,
            "resets_at": time(),
        })),
        "credits_remaining": {"type": ["integer", "null"], "description": "null on plans with unlimited credits"},
        "credits_total": {"type": ["integer", "null"], "description": "the plan's monthly grant; null when unlimited"},
        "keys": {"type": "array", "items": object(json!({
            "key_id": id("key"),
            "label": {"type": "string"},
            "status": {"type": "string", "enum": ["active", "revoked", "expired"]},
            "minute": object(json!({
                "limit": {"type": "integer", "minimum": 0},
                "used": {"type": "integer", "minimum": 0},
                "remaining": {"type": "integer", "minimum": 0},
            })),
            "daily": days,
        }))},
    }))
}

fn api_key() -> Value {
    object(json!({
        "id": id("key"),
        "object": {"const": "api_key"},
        "label": {"type": "string"},
        "account_id": id("acct"),
        "project_id": id("proj"),
        "scopes": scopes(),
        "prefix": {"type": "string", "pattern": "^tonearm_sk_[0-9A-Za-z]{4}$"},
        "last4": {"type": "string", "pattern": "^[0-9A-Za-z]{4}$"},
        "created_at": time(),
        "last_used_at": time_or_null(),
        "expires_at": time_or_null(),
        "revoked_at": time_or_null(),
        "status": {"type": "string", "enum": ["active", "revoked", "expired"]},
    }))
}

fn token() -> Value {
    object(json!({
        "id": id("mt"),
        "object": {"const": "management_token"},
        "label": {"type": "string"},
        "prefix": {"type": "string", "pattern": "^tonearm_mt_[0-9A-Za-z]{4}$"},
        "last4": {"type": "string", "pattern": "^[0-9A-Za-z]{4}$"},
        "created_at": time(),
        "last_used_at": time_or_null(),
        "revoked_at": time_or_null(),
        "status": {"type": "string", "enum": ["active", "revoked"]},
    }))
}

fn webhook_secret() -> Value {
    object(json!({
        "id": id("whk"),
        "object": {"const": "webhook_secret"},
        "project_id": id("proj"),
        "label": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "revoked"]},
        "created_at": time(),
        "revoked_at": time_or_null(),
    }))
}

fn account() -> Value {
    object(json!({
        "id": id("acct"),
        "object": {"const": "account"},
        "name": {"type": "string"},
        "plan": {"type": "string"},
        "disabled": {"type": "boolean"},
        "allowed_ips": {"type": "array", "items": {"type": "string"}},
        "created_at": time(),
    }))
}

fn delivery() -> Value {
    object(json!({
        "id": id("dlv"),
        "object": {"const": "webhook_delivery"},
        "event_id": id("evt"),
        "event_type": {"type": "string", "enum": ["analysis.completed", "analysis.failed", "key.leaked"]},
        "job_id": {"anyOf": [id("job"), {"type": "null"}], "description": "null for events that are not about a job (key.leaked)"},
        "url": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
        "attempts": {"type": "integer", "minimum": 0},
        "created_at": time(),
        "next_attempt_at": time_or_null(),
        "finished_at": time_or_null(),
    }))
}

fn rate_window() -> Value {
    object(json!({
        "limit": {"type": "integer", "minimum": 0},
        "remaining": {"type": "integer", "minimum": 0},
        "reset": {"type": "integer", "description": "Unix seconds"},
    }))
}

/// Every schema the operations refer to.
pub fn components() -> Value {
    let key = api_key();
    let secret = webhook_secret();
    let secret_created = extend(
        &secret,
        json!({"secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$", "description": "shown once"}}),
    );
    let mut key_created = extend(
        &key,
        json!({"key": {"type": "string", "pattern": "^tonearm_sk_[0-9A-Za-z]{38}$", "description": "shown once"},
               "webhook_secret": reference("WebhookSecretCreated")}),
    );
    // The secret is there only when the request asked for one.
    if let Some(req) = key_created["required"].as_array_mut() {
        req.retain(|r| r != "webhook_secret");
    }
    let delivery = delivery();
    let attempt = object(json!({
        "attempt": {"type": "integer", "minimum": 1},
        "started_at": time(),
        "finished_at": time_or_null(),
        "latency_ms": {"type": ["integer", "null"], "minimum": 0},
        "status_code": {"type": ["integer", "null"]},
        "error": string_or_null(),
        "response_excerpt": string_or_null(),
    }));
    let me = object(json!({
        "id": id("key"),
        "object": {"const": "api_key"},
        "label": {"type": "string"},
        "account_id": id("acct"),
        "project_id": id("proj"),
        "scopes": scopes(),
        "created_at": time(),
        "expires_at": time_or_null(),
        "last_used_at": time_or_null(),
        "rate_limits": {"anyOf": [object(json!({
            "minute": reference("RateWindow"),
            "month": {"anyOf": [reference("RateWindow"), {"type": "null"}], "description": "plans with a monthly cap only"},
        })), {"type": "null"}]},
    }));
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "additionalProperties": false,
                "properties": {
                    "code": {"type": "string", "enum": ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>()},
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                    "details": {"type": "object"},
                },
            }},
        },
        "Health": object(json!({"status": {"const": "ok"}})),
        "Ready": object(json!({"status": {"const": "ready"}, "database": {"const": "ok"}})),
        "Account": account(),
        "AccountCreated": extend(&account(), json!({"default_project_id": id("proj")})),
        "AccountList": list("Account", "acct"),
        "AccountDeleted": object(json!({"id": id("acct"), "object": {"const": "account"}, "deleted": {"const": true}})),
        "Project": object(json!({
            "id": id("proj"),
            "object": {"const": "project"},
            "account_id": id("acct"),
            "name": {"type": "string"},
            "created_at": time(),
        })),
        "ProjectList": list("Project", "proj"),
        "ProjectDeleted": object(json!({
            "id": id("proj"), "object": {"const": "project"}, "deleted": {"const": true},
            "deleted_keys": {"type": "integer", "minimum": 0},
        })),
        "ApiKey": key,
        "ApiKeyCreated": key_created,
        "ApiKeyList": list("ApiKey", "key"),
        "ManagementToken": token(),
        "ManagementTokenCreated": extend(&token(), json!({"token": {"type": "string", "pattern": "^tonearm_mt_[0-9A-Za-z]+$", "description": "shown once"}})),
        "ManagementTokenList": list("ManagementToken", "mt"),
        "Me": me,
        "RateWindow": rate_window(),
        "AccountInfo": object(json!({
            "id": id("acct"),
            "object": {"const": "account"},
            "name": {"type": "string"},
            "plan": {"type": "string"},
            "tier": {"type": "string", "description": "the plan, under the name sound libraries use"},
            "credits_remaining": {"type": ["integer", "null"], "description": "null on plans with unlimited credits"},
            "credits_total": {"type": ["integer", "null"], "description": "the plan's monthly grant; null when unlimited"},
            "monthly_reset_date": time(),
            "api_key_id": id("key"),
            "project_id": id("proj"),
            "created_at": time(),
        })),
        "LedgerEntry": object(json!({
            "id": id("led"),
            "object": {"const": "ledger_entry"},
            "created_at": time(),
            "type": {"type": "string", "enum": ["grant", "monthly_reset", "analysis", "download", "refund", "bonus"]},
            "amount": {"type": "integer"},
            "balance_after": {"type": "integer"},
            "job_id": {"anyOf": [id("job"), {"type": "null"}]},
            "sound_id": string_or_null(),
            "note": string_or_null(),
        })),
        "LedgerList": list("LedgerEntry", "led"),
        "CreditGrant": object(json!({
            "account_id": id("acct"),
            "object": {"const": "credit_grant"},
            "amount": {"type": "integer", "minimum": 1},
            "credits_remaining": {"type": ["integer", "null"], "description": "null on plans with unlimited credits"},
        })),
        "Report": report(),
        "JobError": object(json!({"code": {"type": "string"}, "message": {"type": "string"}})),
        "Job": job(),
        "JobList": list("Job", "job"),
        "JobAccepted": object(json!({
            "job_id": id("job"),
            "object": {"const": "analysis_job"},
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"], "description": "queued for a new job; the job's current status on a replay"},
            "stream_url": {"type": "string"},
            "poll_url": {"type": "string"},
            "webhook_delivery": {"type": "string", "enum": ["scheduled", "none"]},
        })),
        "JobDeleted": object(json!({"job_id": id("job"), "object": {"const": "analysis_job"}, "deleted": {"const": true}})),
        "WebhookSecret": secret,
        "WebhookSecretCreated": secret_created,
        "WebhookSecretList": list("WebhookSecret", "whk"),
        "Delivery": delivery.clone(),
        "DeliveryAttempt": attempt,
        "DeliveryDetail": extend(&delivery, json!({
            "attempt_log": {"type": "array", "items": reference("DeliveryAttempt")},
            "event": {"type": ["object", "null"], "description": "the event body as sent"},
        })),
        "DeliveryList": list("Delivery", "dlv"),
        "AdminJob": admin_job(),
        "Usage": usage(),
    })
}
