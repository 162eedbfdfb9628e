//! The sound library: import, edit and removal by operators (`/admin/v1/sounds`); search,
//! metadata, categories, waveforms, previews and signed downloads for API keys; and the file
//! behind a signed URL, which needs no key.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::jobs::upload_error;
use crate::config::Quota;
use crate::http::body::{Body, full, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::upload::{self, UploadError};
use crate::ids::hex;
use crate::ids::{now_ms, rfc3339};
use crate::library::audio::{self, Format};
use crate::library::categories::{self, CATEGORIES, LICENSE_TYPES};
use crate::library::search::{Filters, Similar};
use crate::library::{self, UrlRefusal};
use crate::policy::month::month_index;
use crate::store::schema::{MachineTags, SoundRecord, WaveformRecord};

/// Form fields of an import besides `file`.
const IMPORT_FIELDS: &[&str] = &["metadata"];
/// Longest accepted id, title, and other text fields.
const MAX_ID: usize = 128;
const MAX_TEXT: usize = 4000;
const MAX_TAGS: usize = 64;
/// Largest waveform picture, pixels a side.
const MAX_PNG_SIDE: u32 = 4096;

/// The curated metadata of an import; `id` is optional (tonearm makes `snd_…`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSound {
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    category: Option<String>,
    subcategory: Option<String>,
    creator: Option<String>,
    license_type: Option<String>,
    license: Option<String>,
    attribution_required: Option<bool>,
}

/// A PATCH: every field optional, id and file fixed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SoundPatch {
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    category: Option<String>,
    subcategory: Option<String>,
    creator: Option<String>,
    license_type: Option<String>,
    license: Option<String>,
    attribution_required: Option<bool>,
}

fn field_error(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("metadata.{field}: {message}"))
        .with_details(json!({ "field": field }))
}

fn text(field: &str, v: Option<String>, required: bool) -> Result<Option<String>, ApiError> {
    match v.map(|s| s.trim().to_string()) {
        None if required => Err(field_error(field, "is required")),
        Some(s) if required && s.is_empty() => Err(field_error(field, "must not be empty")),
        Some(s) if s.chars().count() > MAX_TEXT => Err(field_error(
            field,
            format!("is longer than {MAX_TEXT} characters"),
        )),
        other => Ok(other),
    }
}

fn category(v: &str) -> Result<&'static str, ApiError> {
    categories::canonical(v).ok_or_else(|| {
        ApiError::invalid(format!(
            "metadata.category: {v:?} is not a category; use one of: {}",
            CATEGORIES.join(", ")
        ))
        .with_details(json!({ "field": "category", "allowed": CATEGORIES }))
    })
}

fn license_type(v: &str) -> Result<&'static str, ApiError> {
    categories::license_type(v).ok_or_else(|| {
        field_error(
            "license_type",
            format!("{v:?} is not one of {}", LICENSE_TYPES.join(", ")),
        )
    })
}

fn tags(v: Vec<String>) -> Result<Vec<String>, ApiError> {
    if v.len() > MAX_TAGS {
        return Err(field_error("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::new();
    for t in v {
        let t = t.trim().to_lowercase();
        if t.is_empty() || t.chars().count() > 100 {
            return Err(field_error("tags", "each tag is 1-100 characters"));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Ids are slugs: lowercase letters, digits, `-` and `_`, starting with a letter or digit.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

fn sound_id_param(ctx: &Ctx) -> Result<String, ApiError> {
    let id = ctx.param(0);
    if valid_id(id) {
        Ok(id.to_string())
    } else {
        Err(ApiError::not_found("sound"))
    }
}

fn engine_error(e: crate::engine::Error) -> ApiError {
    use crate::engine::Error as E;
    let code = match &e {
        E::UnsupportedFormat(_) => ErrorCode::UnsupportedFormat,
        E::UnsupportedCodec(_) => ErrorCode::UnsupportedCodec,
        E::NoAudioTrack => ErrorCode::NoAudioTrack,
        E::TooLong { .. } => ErrorCode::AudioTooLong,
        E::EmptyFile => ErrorCode::EmptyFile,
        E::CorruptAudio(_) | E::TooShort { .. } => ErrorCode::CorruptAudio,
        E::Io { .. } => {
            tracing::error!(error = %e, "cannot read a library file");
            return ApiError::internal();
        }
    };
    ApiError::new(code, e.to_string())
}

fn library_error(e: library::Error) -> ApiError {
    match e {
        library::Error::Audio(audio::AudioError::Engine(e)) => engine_error(e),
        other => {
            tracing::error!(error = %other, "library operation failed");
            ApiError::internal()
        }
    }
}

fn sha_bytes(hex_str: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex_str.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex_str.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `POST /admin/v1/sounds`: multipart `file` + `metadata`. The metadata is checked before the
/// audio is measured, and conflicts before the file is kept.
pub async fn create(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let lib = ctx.state.library.clone();
    let unique = crate::ids::random_base62(16).map_err(|_| ApiError::internal())?;
    let partial = lib.sounds_dir().join(format!(".{unique}.partial"));
    let mut up = upload::receive(
        &ctx.parts.headers,
        body,
        partial,
        ctx.state.config.analysis.max_upload_bytes,
        ctx.body_pace(),
        crate::engine::sniff,
        IMPORT_FIELDS,
    )
    .await
    .map_err(upload_error)?;
    let raw = up.fields.get("metadata").ok_or_else(|| {
        field_error(
            "metadata",
            "the form has no `metadata` part (a JSON object)",
        )
    })?;
    let meta: NewSound = serde_json::from_str(raw)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("metadata: {e}")))?;
    let id = match meta.id.map(|s| s.trim().to_string()) {
        Some(id) if valid_id(&id) => id,
        Some(_) => {
            return Err(field_error(
                "id",
                "must be 1-128 of a-z, 0-9, '-' and '_', starting with a letter or digit",
            ));
        }
        None => format!(
            "snd_{}",
            crate::ids::random_base62(16)
                .map_err(|_| ApiError::internal())?
                .to_lowercase()
        ),
    };
    let title = text("title", meta.title, true)?.unwrap_or_default();
    let cat = category(
        &meta
            .category
            .ok_or_else(|| field_error("category", "is required"))?,
    )?;
    let lt = license_type(
        &meta
            .license_type
            .ok_or_else(|| field_error("license_type", "is required"))?,
    )?;
    let license = text("license", meta.license, true)?.unwrap_or_default();
    let record_meta = (
        text("description", meta.description, false)?.unwrap_or_default(),
        tags(meta.tags.unwrap_or_default())?,
        text("subcategory", meta.subcategory, false)?.unwrap_or_default(),
        text("creator", meta.creator, false)?.unwrap_or_default(),
        // Only public-domain style licences waive attribution; say so explicitly to waive it.
        meta.attribution_required.unwrap_or(true),
    );
    let sha = sha_bytes(&up.sha256).ok_or_else(ApiError::internal)?;
    let (id_check, sha_check) = (id.clone(), sha);
    let (existing_id, existing_sha) = ctx
        .state
        .db(move |s| {
            Ok((
                s.get_sound(&id_check)?.is_some(),
                s.sound_by_sha256(&sha_check)?,
            ))
        })
        .await?;
    if existing_id {
        return Err(crate::store::Error::SoundIdTaken(id).into());
    }
    if let Some(other) = existing_sha {
        return Err(crate::store::Error::SoundDuplicate(other).into());
    }
    let path = up.path.clone();
    let (measured, machine) = tokio::task::spawn_blocking(move || {
        audio::decode(&path).map(|pcm| (audio::measure(&pcm), listen(&pcm)))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(engine_error)?;
    let file = format!("{id}.{}", up.format);
    up.persist(&lib.sounds_dir().join(&file))
        .await
        .map_err(|e| upload_error(UploadError::Io(e)))?;
    let (description, tag_list, subcategory, creator, attribution_required) = record_meta;
    let rec = SoundRecord {
        title,
        description,
        tags: tag_list,
        category: cat.to_string(),
        subcategory,
        creator,
        license_type: lt.to_string(),
        license,
        attribution_required,
        created_at_ms: now_ms(),
        file: file.clone(),
        format: up.format.to_string(),
        file_size_bytes: up.size,
        sha256: sha,
        duration_s: measured.duration_s,
        sample_rate_hz: measured.sample_rate_hz,
        bit_depth: measured.bit_depth,
        channels: measured.channels,
        loudness_lufs: measured.loudness_lufs,
        loudness_note: measured.loudness_note,
        true_peak_db: measured.true_peak_db,
        spectral_peaks: measured.spectral_peaks,
        download_count: 0,
        machine,
    };
    let wave = WaveformRecord {
        peaks: measured.waveform,
    };
    let (id_w, rec_w) = (id.clone(), rec.clone());
    if let Err(e) = ctx
        .state
        .db(move |s| s.insert_sound(&id_w, &rec_w, &wave))
        .await
    {
        // Lost a race with another import of the same id or bytes: keep no stray file.
        let _ = tokio::fs::remove_file(lib.sounds_dir().join(&file)).await;
        return Err(e);
    }
    lib.upsert(&id, rec.clone());
    let base = base_url(&ctx);
    let mut r = json_response(StatusCode::CREATED, &metadata_view(&base, &id, &rec));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/sounds/{id}/metadata")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The tagging model's view of an imported sound. A model failure does not refuse the import:
/// the sound is kept without machine tags and the failure is logged.
fn listen(pcm: &audio::Pcm) -> Option<MachineTags> {
    match library::machine::listen(pcm) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "the tagging model could not listen to an imported sound");
            None
        }
    }
}

/// `GET /admin/v1/sounds/{id}`: the record with the original's checksum (the import command
/// compares it to skip files already imported).
pub async fn admin_get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let rec = ctx
        .state
        .library
        .index()
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("sound"))?;
    let mut v = metadata_view(&base_url(&ctx), &id, &rec);
    if let Some(o) = v.as_object_mut() {
        o.insert("sha256".into(), json!(hex(&rec.sha256)));
        o.insert("original_format".into(), json!(rec.format));
    }
    Ok(json_response(StatusCode::OK, &v))
}

/// `PATCH /admin/v1/sounds/{id}`.
pub async fn update(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let patch: SoundPatch = ctx.json(body).await?;
    let title = text("title", patch.title, false)?;
    if title.as_deref() == Some("") {
        return Err(field_error("title", "must not be empty"));
    }
    let cat = patch.category.as_deref().map(category).transpose()?;
    let lt = patch
        .license_type
        .as_deref()
        .map(license_type)
        .transpose()?;
    let license = text("license", patch.license, false)?;
    if license.as_deref() == Some("") {
        return Err(field_error("license", "must not be empty"));
    }
    let description = text("description", patch.description, false)?;
    let subcategory = text("subcategory", patch.subcategory, false)?;
    let creator = text("creator", patch.creator, false)?;
    let tag_list = patch.tags.map(tags).transpose()?;
    let attribution = patch.attribution_required;
    let id_w = id.clone();
    let updated = ctx
        .state
        .db(move |s| {
            s.update_sound(&id_w, |r| {
                if let Some(v) = title {
                    r.title = v;
                }
                if let Some(v) = description {
                    r.description = v;
                }
                if let Some(v) = tag_list {
                    r.tags = v;
                }
                if let Some(v) = cat {
                    r.category = v.to_string();
                }
                if let Some(v) = subcategory {
                    r.subcategory = v;
                }
                if let Some(v) = creator {
                    r.creator = v;
                }
                if let Some(v) = lt {
                    r.license_type = v.to_string();
                }
                if let Some(v) = license {
                    r.license = v;
                }
                if let Some(v) = attribution {
                    r.attribution_required = v;
                }
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("sound"))?;
    ctx.state.library.upsert(&id, updated.clone());
    Ok(json_response(
        StatusCode::OK,
        &metadata_view(&base_url(&ctx), &id, &updated),
    ))
}

/// `DELETE /admin/v1/sounds/{id}`.
pub async fn delete(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let id_w = id.clone();
    let removed = ctx
        .state
        .db(move |s| s.delete_sound(&id_w))
        .await?
        .ok_or_else(|| ApiError::not_found("sound"))?;
    let lib = ctx.state.library.clone();
    tokio::task::spawn_blocking(move || lib.remove(&id, &removed))
        .await
        .map_err(|_| ApiError::internal())?;
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

/// Scheme and authority the client reached us by, for absolute URLs in responses.
/// The scheme and authority (and path prefix) absolute links are built on: `library.public_url`
/// when set (behind a proxy the `Host` header names the proxy's upstream, not what clients
/// reach), else the listener's scheme and the request's `Host`.
fn base_url(ctx: &Ctx) -> String {
    if let Some(url) = &ctx.state.config.library.public_url {
        return url.clone();
    }
    let scheme = if ctx.state.config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = ctx
        .parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-:[]_".contains(&c))
        })
        .map(str::to_string)
        .or_else(|| ctx.parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| ctx.state.config.server.listen.to_string());
    format!("{scheme}://{host}")
}

fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

/// The sound object of search results.
fn summary_view(base: &str, id: &str, r: &SoundRecord) -> Value {
    json!({
        "id": id,
        "object": "sound",
        "title": r.title,
        "duration_s": round(r.duration_s, 3),
        "sample_rate_hz": r.sample_rate_hz,
        "bit_depth": r.bit_depth,
        "channels": r.channels,
        "category": r.category,
        "waveform_url": format!("{base}/api/v1/sounds/{id}/waveform"),
        "preview_url": format!("{base}/api/v1/sounds/{id}/preview"),
        "tags": r.tags,
        "machine_tags": r.machine.as_ref().map(|m| {
            m.tags
                .iter()
                .map(|(label, c)| json!({"label": label, "confidence": f64::from(*c) / 1000.0}))
                .collect::<Vec<_>>()
        }),
        "license_type": r.license_type,
        "loudness_lufs": r.loudness_lufs,
        "file_size_bytes": r.file_size_bytes,
    })
}

/// The full record of `/metadata`.
fn metadata_view(base: &str, id: &str, r: &SoundRecord) -> Value {
    let mut v = summary_view(base, id, r);
    if let Some(o) = v.as_object_mut() {
        let extra = json!({
            "creator": r.creator,
            "created_at": rfc3339(r.created_at_ms),
            "description": r.description,
            "subcategory": r.subcategory,
            "license": r.license,
            "attribution_required": r.attribution_required,
            "loudness_note": r.loudness_note,
            "true_peak_db": r.true_peak_db,
            "spectral_peaks": r.spectral_peaks.iter().map(|(hz, db)| json!({"frequency_hz": hz, "magnitude_db": db})).collect::<Vec<_>>(),
            "formats": Format::ALL.iter().filter(|f| f.available()).map(|f| f.as_str()).collect::<Vec<_>>(),
            "download_count": r.download_count,
        });
        if let Some(e) = extra.as_object() {
            for (k, val) in e {
                o.insert(k.clone(), val.clone());
            }
        }
    }
    v
}

/// Cursor of a search page: the offset of its first result, opaque to clients.
fn parse_cursor(c: &str) -> Option<usize> {
    c.strip_prefix("o").and_then(|n| n.parse().ok())
}

/// `GET /api/v1/sounds/search`.
pub async fn search(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let query = q
        .get("q")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("q is required: the words to search for"))?;
    if query.chars().count() > 500 {
        return Err(ApiError::invalid("q is longer than 500 characters"));
    }
    let filters = parse_filters(&q)?;
    let limit = parse_limit(&q, 20)?;
    let offset = match q.get("cursor") {
        None => 0,
        Some(c) => parse_cursor(c)
            .ok_or_else(|| ApiError::invalid("cursor is not one this API returned"))?,
    };
    let base = base_url(&ctx);
    let (page, more) = {
        let index = ctx.state.library.index();
        let ranked = index.search(query, &filters, offset.saturating_add(limit));
        let more = ranked.total > offset + limit;
        let page: Vec<Value> = ranked
            .hits
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|(id, _)| index.get(id).map(|r| summary_view(&base, id, r)))
            .collect();
        (page, more)
    };
    let mut r = json_response(StatusCode::OK, &page);
    if more {
        let next = format!("o{}", offset + limit);
        let rest: Vec<String> = ctx
            .parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some("cursor"))
            .map(str::to_string)
            .collect();
        let link = format!(
            "<{base}{}?{}&cursor={next}>; rel=\"next\"",
            ctx.parts.uri.path(),
            rest.join("&")
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(r)
}

/// `limit`: 1 to 100, `default` when absent.
fn parse_limit(q: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) && !v.starts_with('+') => Ok(n),
            _ => Err(ApiError::invalid("limit must be an integer from 1 to 100")),
        },
    }
}

/// `GET /api/v1/sounds/{id}/similar?limit=`: the sounds nearest in the tagging model's output
/// space, nearest first, each with its `similarity` (0..1).
pub async fn similar(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let limit = parse_limit(&ctx.query(), 10)?;
    let base = base_url(&ctx);
    let index = ctx.state.library.index();
    let hits = match index.similar(&id, limit) {
        Similar::Found(hits) => hits,
        Similar::UnknownSound => return Err(ApiError::not_found("sound")),
        Similar::NotListened => {
            return Err(ApiError::new(
                ErrorCode::SoundNotTagged,
                "the tagging model has not listened to this sound yet (sounds imported before \
                 the library had the model are tagged in the background after a start); \
                 try again shortly",
            ));
        }
    };
    let page: Vec<Value> = hits
        .iter()
        .filter_map(|(other, score)| {
            let mut v = summary_view(&base, other, index.get(other)?);
            if let Some(o) = v.as_object_mut() {
                o.insert("similarity".into(), json!(round(f64::from(*score), 3)));
            }
            Some(v)
        })
        .collect();
    drop(index);
    Ok(json_response(StatusCode::OK, &page))
}

fn parse_filters(q: &HashMap<String, String>) -> Result<Filters, ApiError> {
    let category = match q.get("category").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(categories::canonical(c).ok_or_else(|| {
            ApiError::invalid(format!(
                "category {c:?} is not one of: {}",
                CATEGORIES.join(", ")
            ))
            .with_details(json!({ "allowed": CATEGORIES }))
        })?),
    };
    let duration_max = match q.get("duration_max").filter(|c| !c.is_empty()) {
        None => None,
        Some(d) => Some(
            d.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    ApiError::invalid("duration_max must be a positive number of seconds")
                })?,
        ),
    };
    let license_type = match q.get("license").filter(|c| !c.is_empty()) {
        None => None,
        Some(l) => Some(categories::license_type(l).ok_or_else(|| {
            ApiError::invalid(format!(
                "license must be one of {}",
                LICENSE_TYPES.join(", ")
            ))
        })?),
    };
    Ok(Filters {
        category,
        duration_max,
        license_type,
    })
}

fn sound_of(ctx: &Ctx, id: &str) -> Result<Arc<SoundRecord>, ApiError> {
    ctx.state
        .library
        .index()
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("sound"))
}

/// `GET /api/v1/sounds/{id}/metadata`.
pub async fn metadata(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    // From the store, not the index: the download count moves with every download.
    let id_r = id.clone();
    let rec = ctx
        .state
        .db(move |s| s.get_sound(&id_r))
        .await?
        .ok_or_else(|| ApiError::not_found("sound"))?;
    Ok(json_response(
        StatusCode::OK,
        &metadata_view(&base_url(&ctx), &id, &rec),
    ))
}

/// `GET /api/v1/categories`: all 14, with counts, even when empty.
pub async fn categories(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let mut counts: HashMap<&str, (u64, std::collections::BTreeMap<String, u64>)> = HashMap::new();
    {
        let index = ctx.state.library.index();
        for s in index.sounds() {
            if let Some(c) = CATEGORIES.iter().find(|c| **c == s.category) {
                let e = counts.entry(c).or_default();
                e.0 += 1;
                if !s.subcategory.is_empty() {
                    *e.1.entry(s.subcategory.clone()).or_default() += 1;
                }
            }
        }
    }
    let body: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| {
            let (n, subs) = counts.remove(c).unwrap_or_default();
            json!({
                "name": c,
                "sound_count": n,
                "subcategories": subs.into_iter().map(|(name, n)| json!({"name": name, "sound_count": n})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /api/v1/sounds/{id}/waveform`: JSON peaks, or a PNG with `format=png`.
pub async fn waveform(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let q = ctx.query();
    let as_png = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("png") => true,
        Some(_) => return Err(ApiError::invalid("format must be json or png")),
    };
    let dim = |name: &str, default: u32, max: u32| -> Result<u32, ApiError> {
        match q.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!("{name} must be an integer from 1 to {max}"))
                }),
        }
    };
    let max_width = if as_png {
        MAX_PNG_SIDE
    } else {
        audio::WAVEFORM_COLUMNS as u32
    };
    let width = dim("width", if as_png { 800 } else { 200 }, max_width)?;
    let height = dim("height", 160, 1024)?;
    let rec = sound_of(&ctx, &id)?;
    let id_w = id.clone();
    let wave = ctx
        .state
        .db(move |s| s.get_waveform(&id_w))
        .await?
        .ok_or_else(|| ApiError::not_found("sound"))?;
    if as_png {
        let bytes = tokio::task::spawn_blocking(move || {
            crate::library::picture::png(&wave.peaks, width, height)
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot draw a waveform");
            ApiError::internal()
        })?;
        let mut r = Response::new(full(bytes));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        return Ok(r);
    }
    let cols = crate::library::picture::columns(&wave.peaks, width as usize);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "sound_id": id,
            "object": "waveform",
            "duration_s": rec.duration_s,
            "width": cols.len(),
            "peaks": cols.iter().map(|(lo, hi)| [lo, hi]).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /api/v1/sounds/{id}/preview`: free, cached.
pub async fn preview(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let rec = sound_of(&ctx, &id)?;
    let lib = ctx.state.library.clone();
    let id_w = id.clone();
    let derived = tokio::task::spawn_blocking(move || lib.preview(&id_w, &rec))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(library_error)?;
    serve_file(&ctx, &derived, "audio/ogg", &format!("{id}-preview.ogg")).await
}

fn parse_bool(name: &str, v: Option<&String>) -> Result<bool, ApiError> {
    match v.map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::invalid(format!("{name} must be true or false"))),
    }
}

/// `GET /api/v1/sounds/{id}/download`: prepares the file, takes a credit and returns a signed
/// URL valid for 15 minutes. An account without credits is refused before any encoding.
pub async fn download(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = sound_id_param(&ctx)?;
    let q = ctx.query();
    let format = match q.get("format") {
        None => {
            return Err(ApiError::invalid(
                "format is required: wav24, wav16, mp3320 or ogg",
            ));
        }
        Some(f) => Format::parse(f)
            .ok_or_else(|| ApiError::invalid("format must be wav24, wav16, mp3320 or ogg"))?,
    };
    if !format.available() {
        return Err(ApiError::invalid(
            "this server was built without MP3 export; choose wav24, wav16 or ogg",
        ));
    }
    let normalize = parse_bool("normalize", q.get("normalize"))?;
    let rec = sound_of(&ctx, &id)?;
    let key = ctx.key()?.clone();
    let account = key.account.0;
    let grant = match ctx
        .state
        .policy
        .plan_of(account)
        .map(|p| p.credits_per_month)
    {
        Some(Quota::Max(n)) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        _ => None,
    };
    let now = now_ms();
    if let Some(g) = grant {
        let balance = ctx
            .state
            .db(move |s| s.apply_credits(account, month_index(now), Some(g), None, now))
            .await?;
        if balance < 1 {
            return Err(crate::store::Error::InsufficientCredits { balance }.into());
        }
    }
    let lib = ctx.state.library.clone();
    let (id_w, rec_w) = (id.clone(), rec.clone());
    let derived =
        tokio::task::spawn_blocking(move || lib.derived(&id_w, &rec_w, format, normalize))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(library_error)?;
    let id_w = id.clone();
    ctx.state
        .db(move |s| s.record_download(&id_w, account, month_index(now), grant, now))
        .await?;
    let expires = now / 1000 + library::URL_LIFETIME_S;
    let url = format!(
        "{}/api/v1/sounds/{id}/file?{}",
        base_url(&ctx),
        ctx.state.library.sign(&id, format, normalize, expires)
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "object": "download",
            "sound_id": id,
            "download_url": url,
            "expires_at": rfc3339(expires * 1000),
            "file_size_bytes": derived.size,
            "checksum_sha256": derived.sha256,
            "format": format.as_str(),
            "normalized": normalize,
        }),
    ))
}

/// `GET /api/v1/sounds/{id}/file?…&sig=`: the bytes behind a signed URL.
pub async fn file(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let forged = || {
        ApiError::new(
            ErrorCode::InvalidSignature,
            "the download URL's signature does not match; use the URL exactly as the download endpoint returned it",
        )
    };
    let id = ctx.param(0).to_string();
    let format = q
        .get("format")
        .and_then(|f| Format::parse(f))
        .ok_or_else(forged)?;
    let normalize = match q.get("normalize").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(forged()),
    };
    let expires = q
        .get("expires")
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or_else(forged)?;
    let sig = q.get("sig").ok_or_else(forged)?;
    match ctx
        .state
        .library
        .verify(&id, format, normalize, expires, sig, now_ms() / 1000)
    {
        Ok(()) => {}
        Err(UrlRefusal::BadSignature) => return Err(forged()),
        Err(UrlRefusal::Expired) => {
            return Err(ApiError::new(
                ErrorCode::UrlExpired,
                "the download URL has expired (they last 15 minutes); request a new one",
            ));
        }
    }
    let rec = sound_of(&ctx, &id)?;
    let lib = ctx.state.library.clone();
    let id_w = id.clone();
    let derived = tokio::task::spawn_blocking(move || lib.derived(&id_w, &rec, format, normalize))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(library_error)?;
    let name = format!(
        "{id}{}.{}",
        if normalize { "-normalized" } else { "" },
        format.extension()
    );
    serve_file(&ctx, &derived, format.content_type(), &name).await
}

/// Serves a derived file with its length, type, a download file name, an ETag (its SHA-256)
/// and single byte ranges.
async fn serve_file(
    ctx: &Ctx,
    d: &library::Derived,
    content_type: &'static str,
    filename: &str,
) -> Result<Response<Body>, ApiError> {
    let etag = format!("\"{}\"", d.sha256);
    let h = &ctx.parts.headers;
    if h.get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let mut r = Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r.headers_mut().insert(
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(|_| ApiError::internal())?,
        );
        return Ok(r);
    }
    // A Range applies only while the representation is the one the client has (If-Range).
    let if_range_ok = h
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let range = match h.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) if if_range_ok => parse_range(spec, d.size),
        _ => RangeSpec::Whole,
    };
    let (start, len, status) = match range {
        RangeSpec::Whole => (0, d.size, StatusCode::OK),
        RangeSpec::Part(a, b) => (a, b - a + 1, StatusCode::PARTIAL_CONTENT),
        RangeSpec::Unsatisfiable => {
            let mut r = crate::http::dispatch::error_response(
                &ApiError::new(
                    ErrorCode::RangeNotSatisfiable,
                    format!("the range is outside the file's {} bytes", d.size),
                ),
                &ctx.request_id,
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", d.size)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let body = if ctx.parts.method == http::Method::HEAD {
        full(Bytes::new())
    } else {
        file_body(d.path.clone(), start, len).await?
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    hs.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        hs.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        hs.insert(header::CONTENT_DISPOSITION, v);
    }
    hs.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=900"),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{}", start + len - 1, d.size))
    {
        hs.insert(header::CONTENT_RANGE, v);
    }
    Ok(r)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`). Several ranges, or a syntax we do not read, get the
/// whole file, which RFC 9110 allows.
fn parse_range(spec: &str, size: u64) -> RangeSpec {
    let Some(r) = spec.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if r.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = r.trim().split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if size == 0 {
        return RangeSpec::Unsatisfiable;
    }
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => {
            if a >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(a, b.min(size - 1))
            }
        }
        (Ok(a), Err(_)) if b.is_empty() => {
            if a >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(a, size - 1)
            }
        }
        (Err(_), Ok(n)) if a.is_empty() => {
            if n == 0 {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(size.saturating_sub(n), size - 1)
            }
        }
        _ => RangeSpec::Whole,
    }
}

/// `len` bytes of the file from `start`, read in 64 KiB chunks as the client takes them.
async fn file_body(path: std::path::PathBuf, start: u64, len: u64) -> Result<Body, ApiError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(error = %e, "cannot open a library file");
        ApiError::internal()
    })?;
    f.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|_| ApiError::internal())?;
    let stream = futures_util::stream::unfold((f, len), |(mut f, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buf = vec![0u8; (64 * 1024).min(left as usize)];
        match f.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::from(buf))),
                    (f, left - n as u64),
                ))
            }
        }
    });
    Ok(http_body_util::StreamBody::new(stream).boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_like_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeSpec::Part(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), RangeSpec::Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), RangeSpec::Part(90, 99));
        assert_eq!(parse_range("bytes=50-500", 100), RangeSpec::Part(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeSpec::Whole);
        assert_eq!(parse_range("items=0-1", 100), RangeSpec::Whole);
    }

    #[test]
    fn ids_are_slugs() {
        assert!(valid_id("footstep-on-gravel-variation-2"));
        assert!(valid_id("snd_abc"));
        assert!(!valid_id("../etc"));
        assert!(!valid_id("Door"));
        assert!(!valid_id("-x"));
        assert!(!valid_id(""));
    }
}
