//! A webhook URL as tonearm accepts it: http or https, a host, no credentials, at most 2,048
//! characters. The host and port also name the receiver for the per-host concurrency limit.

use std::net::IpAddr;

use http::Uri;

pub const MAX_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub uri: Uri,
    pub https: bool,
    /// Lower-case host name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the webhook_url is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("the webhook_url is not an absolute http:// or https:// URL")]
    NotHttp,
    #[error("the webhook_url must not carry a user name or password")]
    Credentials,
}

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<WebhookUrl, UrlError> {
        if s.len() > MAX_LEN {
            return Err(UrlError::TooLong);
        }
        let uri: Uri = s.trim().parse().map_err(|_| UrlError::NotHttp)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(UrlError::NotHttp),
        };
        let authority = uri.authority().ok_or(UrlError::NotHttp)?;
        if authority.as_str().contains('@') {
            return Err(UrlError::Credentials);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(UrlError::NotHttp);
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(WebhookUrl {
            uri,
            https,
            host,
            port,
        })
    }

    /// The host when it is an IP literal (no name to resolve).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// A stable 64-bit name of scheme, host and port.
    pub fn host_key(&self) -> u64 {
        let s = format!(
            "{}://{}:{}",
            if self.https { "https" } else { "http" },
            self.host,
            self.port
        );
        let h = blake3::hash(s.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        u64::from_le_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_ports_and_ipv6() {
        let u = WebhookUrl::parse("https://Hooks.Example.com/a?b=c").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.https),
            ("hooks.example.com", 443, true)
        );
        let u = WebhookUrl::parse("http://[::1]:8080/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8080));
        assert_eq!(u.ip(), Some("::1".parse().unwrap()));
        assert_eq!(
            WebhookUrl::parse("http://a:1/").unwrap().host_key(),
            WebhookUrl::parse("http://A:1/other").unwrap().host_key()
        );
        assert_ne!(
            WebhookUrl::parse("http://a:1/").unwrap().host_key(),
            WebhookUrl::parse("http://a:2/").unwrap().host_key()
        );
    }

    #[test]
    fn refuses_other_schemes_relative_urls_and_credentials() {
        for bad in [
            "ftp://x/",
            "/relative",
            "x",
            "http://",
            "file:///etc/passwd",
        ] {
            assert_eq!(WebhookUrl::parse(bad), Err(UrlError::NotHttp), "{bad}");
        }
        assert_eq!(
            WebhookUrl::parse("http://u:p@host/"),
            Err(UrlError::Credentials)
        );
        let long = format!("http://h/{}", "a".repeat(MAX_LEN));
        assert_eq!(WebhookUrl::parse(&long), Err(UrlError::TooLong));
    }
}
