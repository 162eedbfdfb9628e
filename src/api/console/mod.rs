//! `/console`: the web console, compiled into the binary. The page names its script and style
//! sheet by content hash, so they can be cached for a year and a new binary is never shown
//! stale files; each file is compressed once per process (brotli and gzip) and served in the
//! best encoding the client accepts. A strict Content-Security-Policy keeps the page from
//! loading or sending anything anywhere but this server.

use std::sync::OnceLock;

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use super::Ctx;
use crate::http::body::{Body, full};
use crate::http::error::ApiError;

const INDEX: &str = include_str!("assets/index.html");
const SOURCES: [(&str, &str, &str); 3] = [
    ("app", "js", include_str!("assets/app.js")),
    ("app", "css", include_str!("assets/app.css")),
    ("icon", "svg", include_str!("assets/icon.svg")),
];

/// No inline script or style, nothing from another origin, no framing, no form posts.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; media-src 'self' blob:; manifest-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

struct Asset {
    /// `app.3f2a9c0d1e2b.js`
    name: String,
    content_type: &'static str,
    plain: Vec<u8>,
    gzip: Vec<u8>,
    brotli: Vec<u8>,
    etag: String,
}

struct Files {
    index: Asset,
    assets: Vec<Asset>,
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => "text/html; charset=utf-8",
    }
}

fn compress(plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // An empty result means "serve uncompressed" (see `serve`).
    let gzip = gz
        .write_all(plain)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    if brotli::BrotliCompress(&mut &plain[..], &mut brotli, &params).is_err() {
        brotli.clear();
    }
    (gzip, brotli)
}

fn asset(name: String, content_type: &'static str, plain: Vec<u8>) -> Asset {
    let (gzip, brotli) = compress(&plain);
    let etag = format!("\"{}\"", &blake3::hash(&plain).to_hex()[..16]);
    Asset {
        name,
        content_type,
        plain,
        gzip,
        brotli,
        etag,
    }
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut index = INDEX.to_string();
        let mut assets = Vec::new();
        for (stem, ext, text) in SOURCES {
            let hash = &blake3::hash(text.as_bytes()).to_hex()[..12];
            let name = format!("{stem}.{hash}.{ext}");
            index = index.replace(&format!("{stem}.{ext}"), &name);
            assets.push(asset(name, content_type(ext), text.as_bytes().to_vec()));
        }
        Files {
            index: asset(
                "index.html".into(),
                content_type("html"),
                index.into_bytes(),
            ),
            assets,
        }
    })
}

/// Brotli, then gzip, then none, as `Accept-Encoding` allows (a `q=0` refuses one).
fn pick_encoding(accept: &str) -> Option<&'static str> {
    let allows = |name: &str| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if allows("br") {
        Some("br")
    } else if allows("gzip") {
        Some("gzip")
    } else {
        None
    }
}

fn serve(ctx: &Ctx, a: &Asset, cache: &'static str) -> Response<Body> {
    let headers = &ctx.parts.headers;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = pick_encoding(accept).filter(|e| match *e {
        "br" => !a.brotli.is_empty(),
        _ => !a.gzip.is_empty(),
    });
    let mut r = if fresh {
        let mut r = Response::new(full(Vec::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let bytes = match encoding {
            Some("br") => a.brotli.clone(),
            Some(_) => a.gzip.clone(),
            None => a.plain.clone(),
        };
        Response::new(full(bytes))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(e) = encoding.filter(|_| !fresh) {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `GET /console`: the page itself, revalidated on every visit so a new binary shows at once.
pub fn page(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    Ok(serve(ctx, &files().index, "no-cache"))
}

/// `GET /console/assets/{name}`: a hashed file, cacheable for good.
pub fn asset_file(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let name = ctx.param(0);
    files()
        .assets
        .iter()
        .find(|a| a.name == name)
        .map(|a| serve(ctx, a, "public, max-age=31536000, immutable"))
        .ok_or_else(|| ApiError::not_found("console file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_accept_encoding() {
        assert_eq!(pick_encoding("gzip, deflate, br"), Some("br"));
        assert_eq!(pick_encoding("gzip"), Some("gzip"));
        assert_eq!(pick_encoding("br;q=0, gzip;q=0.5"), Some("gzip"));
        assert_eq!(pick_encoding("identity"), None);
        assert_eq!(pick_encoding(""), None);
    }

    #[test]
    fn the_page_names_every_asset_by_its_hash() {
        let f = files();
        let index = String::from_utf8_lossy(&f.index.plain);
        for a in &f.assets {
            assert!(index.contains(&a.name), "{} not in the page", a.name);
        }
        assert!(!index.contains("app.js"));
    }

    #[test]
    fn compressed_files_decompress_to_the_original() {
        use std::io::Read;
        for a in &files().assets {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&a.gzip[..])
                .read_to_end(&mut out)
                .ok();
            assert_eq!(out, a.plain);
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut &a.brotli[..], &mut out).ok();
            assert_eq!(out, a.plain);
        }
    }
}
