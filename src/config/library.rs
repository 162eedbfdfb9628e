//! Options of the sound library: the public address its absolute links are built on. Raw (as
//! written) and validated forms side by side.

use serde::{Deserialize, Serialize};

use super::{Error, Validator};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLibrary {
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LibraryConfig {
    /// The address clients reach the server at (`https://tonearm.example.com`, or with a path
    /// prefix when a proxy serves it under one), without a trailing slash. Signed download
    /// URLs, `waveform_url`, `preview_url` and the search's `Link` header are built on it; when
    /// unset, on the scheme the server listens with and the request's `Host` header.
    pub public_url: Option<String>,
}

pub(super) fn library(v: &Validator<'_>, raw: &RawLibrary) -> Result<LibraryConfig, Error> {
    let public_url = match raw.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(public_url(s).map_err(|why| {
            v.invalid(
                "library",
                "public_url",
                format!("{s:?} {why}; write it as https://tonearm.example.com"),
            )
        })?),
    };
    Ok(LibraryConfig { public_url })
}

/// `s` checked as an absolute http(s) URL with a host and no query or fragment, without its
/// trailing slashes.
fn public_url(s: &str) -> Result<String, &'static str> {
    let uri: http::Uri = s.parse().map_err(|_| "is not a URL")?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("does not start with https:// or http://"),
    }
    let authority = uri.authority().ok_or("has no host")?;
    if authority.host().is_empty() || authority.as_str().contains('@') {
        return Err("has no host, or carries a user name");
    }
    if uri.query().is_some() || s.contains('#') {
        return Err("has a query or a fragment");
    }
    Ok(s.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::public_url;
    use crate::config::Config;

    fn load(text: &str) -> Result<Config, crate::config::Error> {
        let raw = super::super::parse_raw(text, "t.toml")?;
        Config::from_raw(raw, text, "t.toml")
    }

    #[test]
    fn the_setting_is_read_and_checked() {
        assert!(load("").unwrap().library.public_url.is_none());
        let c = load("[library]\npublic_url = \"https://tonearm.example.com/\"\n").unwrap();
        assert_eq!(
            c.library.public_url.as_deref(),
            Some("https://tonearm.example.com")
        );
        let e = load("[library]\npublic_url = \"tonearm.example.com\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("library.public_url") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn public_urls_are_absolute_http_without_query() {
        assert_eq!(
            public_url("https://tonearm.example.com/").unwrap(),
            "https://tonearm.example.com"
        );
        assert_eq!(
            public_url("http://10.0.0.5:8443/audio/").unwrap(),
            "http://10.0.0.5:8443/audio"
        );
        for bad in [
            "tonearm.example.com",
            "ftp://tonearm.example.com",
            "https://",
            "https://u:p@tonearm.example.com",
            "https://tonearm.example.com/?x=1",
            "https://tonearm.example.com/#top",
            "https://tone arm.example.com",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
    }
}
