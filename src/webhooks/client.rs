//! Outbound webhook requests: hyper + rustls, with the target policy applied to every address a
//! host name resolves to, and the connection made only to the addresses that passed — a name
//! that re-resolves to a forbidden address between the check and the connect cannot be used to
//! reach it. IP-literal URLs (which need no resolution) are checked before the request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

use super::target::TargetPolicy;
use super::url::WebhookUrl;

/// Most of a receiver's answer that is read (and kept as the attempt's excerpt).
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// Part of the answer stored with the attempt.
const EXCERPT_BYTES: usize = 1024;

/// How one request went.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub latency: Duration,
}

/// Resolves with the system resolver and keeps only the addresses the policy allows.
#[derive(Clone)]
struct CheckedResolver {
    policy: Arc<TargetPolicy>,
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for CheckedResolver {
    type Response = Addrs;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move { resolve_checked(&policy, name.as_str(), 0).await })
    }
}

/// The addresses of `host` that the policy allows; an error naming the refusal when none is.
pub async fn resolve_checked(
    policy: &TargetPolicy,
    host: &str,
    port: u16,
) -> Result<Addrs, std::io::Error> {
    let found = tokio::net::lookup_host((host, port)).await?;
    let mut allowed = Vec::new();
    let mut refused = None;
    for addr in found {
        match policy.check(addr.ip()) {
            Ok(()) => allowed.push(addr),
            Err(e) => refused = Some(e),
        }
    }
    if allowed.is_empty() {
        let why = refused.map_or_else(|| format!("{host} has no address"), |e| e.to_string());
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            why,
        ));
    }
    Ok(allowed.into_iter())
}

pub struct WebhookClient {
    policy: Arc<TargetPolicy>,
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>,
    timeout: Duration,
}

impl WebhookClient {
    pub fn new(
        cfg: &crate::config::WebhooksConfig,
    ) -> Result<WebhookClient, crate::http::outbound::TlsError> {
        let policy = Arc::new(cfg.targets.clone());
        let mut http = HttpConnector::new_with_resolver(CheckedResolver {
            policy: policy.clone(),
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        http.set_nodelay(true);
        let tls = crate::http::outbound::client_config(cfg.ca_file.as_deref())?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(cfg.max_in_flight_per_host)
            .build(connector);
        Ok(WebhookClient {
            policy,
            inner,
            timeout: cfg.timeout,
        })
    }

    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// POSTs `body` with `headers`; never longer than the configured timeout in all.
    pub async fn post(&self, url: &WebhookUrl, headers: &[(&str, &str)], body: Bytes) -> Answer {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.exchange(url, headers, body)).await;
        let latency = started.elapsed();
        match result {
            Ok(Ok((status, excerpt))) => Answer {
                status: Some(status),
                error: None,
                excerpt: Some(excerpt),
                latency,
            },
            Ok(Err(e)) => Answer {
                status: None,
                error: Some(e),
                excerpt: None,
                latency,
            },
            Err(_) => Answer {
                status: None,
                error: Some(format!("timed out after {} ms", self.timeout.as_millis())),
                excerpt: None,
                latency,
            },
        }
    }

    async fn exchange(
        &self,
        url: &WebhookUrl,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, String), String> {
        if let Some(ip) = url.ip() {
            self.policy.check(ip).map_err(|e| e.to_string())?;
        }
        let mut req = Request::post(url.uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("tonearm-webhooks/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let resp = self.inner.request(req).await.map_err(describe)?;
        let status = resp.status().as_u16();
        // Read at most MAX_RESPONSE_BYTES; a larger answer is cut (the connection is then
        // dropped rather than drained).
        let mut body = resp.into_body();
        let mut got = Vec::new();
        while got.len() < MAX_RESPONSE_BYTES {
            match body.frame().await {
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        let room = MAX_RESPONSE_BYTES - got.len();
                        got.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
        got.truncate(EXCERPT_BYTES);
        Ok((status, String::from_utf8_lossy(&got).into_owned()))
    }
}

/// The innermost cause of a client error: "connection refused", the policy's refusal, …
fn describe(e: hyper_util::client::legacy::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}
