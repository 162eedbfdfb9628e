//! A small client for the management API, used by the `accounts`, `projects`, `keys` and
//! `tokens` commands. HTTP or HTTPS (webpki roots plus an optional extra CA file).

use std::path::PathBuf;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Where the server is and how to authenticate; from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Server URL.
    #[arg(
        long,
        env = "TONEARM_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// Management token (tonearm_mt_…).
    #[arg(long, env = "TONEARM_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Extra CA certificate (PEM) to trust for an HTTPS server with a private CA.
    #[arg(long, env = "TONEARM_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no management token: pass --token or set TONEARM_TOKEN")]
    NoToken,
    #[error("invalid URL {0:?}")]
    Url(String),
    #[error("cannot reach {url}: {message}")]
    Connect { url: String, message: String },
    #[error(transparent)]
    Tls(#[from] crate::http::outbound::TlsError),
    #[error("the server answered {status} with a body that is not JSON")]
    NotJson { status: u16 },
    #[error("{code}: {message} (request id {request_id})")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: String,
        body: Box<Value>,
    },
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

pub struct ApiClient {
    base: String,
    token: Option<String>,
    inner: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
}

impl ApiClient {
    /// A client that authenticates with the management token from `args`.
    pub fn new(args: &ClientArgs) -> Result<ApiClient, Error> {
        let token = args
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or(Error::NoToken)?;
        let mut c = ApiClient::anonymous(&args.url, args.ca_file.as_deref())?;
        c.token = Some(token);
        Ok(c)
    }

    /// A client without credentials, for the public endpoints.
    pub fn anonymous(url: &str, ca_file: Option<&std::path::Path>) -> Result<ApiClient, Error> {
        let tls = crate::http::outbound::client_config(ca_file)?;
        ApiClient::with_tls(url, tls)
    }

    /// A client without credentials that trusts what `tls` trusts.
    pub fn with_tls(url: &str, tls: rustls::ClientConfig) -> Result<ApiClient, Error> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Url(url.to_string()));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(ApiClient {
            base,
            token: None,
            inner: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends one request and returns the JSON body of a 2xx answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let body = body.map(|b| {
            (
                "application/json".to_string(),
                Bytes::from(serde_json::to_vec(&b).unwrap_or_default()),
            )
        });
        self.send(method, path, body).await
    }

    /// Sends a body of any type (a multipart form, say) and returns the JSON of a 2xx answer;
    /// an empty 2xx answer (204) is `null`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, Bytes)>,
    ) -> Result<Value, Error> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match body {
            Some((content_type, b)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                b
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| Error::Url(url.clone()))?;
        let resp = self.inner.request(req).await.map_err(|e| Error::Connect {
            url: self.base.clone(),
            message: describe(&e),
        })?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::Connect {
                url: self.base.clone(),
                message: e.to_string(),
            })?
            .to_bytes();
        if status == 204 && bytes.is_empty() {
            return Ok(Value::Null);
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| Error::NotJson { status })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let e = &value["error"];
        Err(Error::Api {
            status,
            code: e["code"].as_str().unwrap_or("unknown").to_string(),
            message: e["message"].as_str().unwrap_or("").to_string(),
            request_id: e["request_id"].as_str().unwrap_or("").to_string(),
            body: Box::new(value.clone()),
        })
    }

    /// GETs `path` and writes a 2xx answer's body to `out` as it arrives; returns the bytes
    /// written. Other answers are read as the API's JSON error.
    pub async fn download(&self, path: &str, out: &mut impl std::io::Write) -> Result<u64, Error> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder().method(Method::GET).uri(&url);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|_| Error::Url(url.clone()))?;
        let resp = self.inner.request(req).await.map_err(|e| Error::Connect {
            url: self.base.clone(),
            message: describe(&e),
        })?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let broken = |e: String| Error::Connect {
            url: self.base.clone(),
            message: e,
        };
        if !(200..300).contains(&status) {
            let bytes = body
                .collect()
                .await
                .map_err(|e| broken(e.to_string()))?
                .to_bytes();
            let value: Value =
                serde_json::from_slice(&bytes).map_err(|_| Error::NotJson { status })?;
            let e = &value["error"];
            return Err(Error::Api {
                status,
                code: e["code"].as_str().unwrap_or("unknown").to_string(),
                message: e["message"].as_str().unwrap_or("").to_string(),
                request_id: e["request_id"].as_str().unwrap_or("").to_string(),
                body: Box::new(value.clone()),
            });
        }
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| broken(e.to_string()))?;
            if let Some(data) = frame.data_ref() {
                out.write_all(data)
                    .map_err(|e| broken(format!("cannot write the download: {e}")))?;
                n += data.len() as u64;
            }
        }
        Ok(n)
    }

    /// Follows `next_cursor` until the listing is complete.
    pub async fn list_all(&self, path: &str) -> Result<Value, Error> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
                None => format!("{path}{sep}limit=100"),
            };
            let page = self.call(Method::GET, &url, None).await?;
            if let Some(items) = page["data"].as_array() {
                all.extend(items.iter().cloned());
            }
            match page["next_cursor"].as_str() {
                Some(c) if page["has_more"].as_bool() == Some(true) => cursor = Some(c.to_string()),
                _ => break,
            }
        }
        Ok(
            serde_json::json!({ "object": "list", "data": all, "has_more": false, "next_cursor": null }),
        )
    }
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}
