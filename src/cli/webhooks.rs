//! `tonearm webhooks`: `secrets` manages a project's signing secrets through the management API;
//! `verify` checks a delivery's body (stdin) against its signature headers offline, as a receiver
//! should.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::webhooks::sign::{self, Secret};

#[derive(Debug, clap::Subcommand)]
pub enum WebhooksCommand {
    /// Manage a project's signing secrets through the management API.
    Secrets(super::manage::WebhookSecretsArgs),
    /// Verify a delivery: body on stdin, headers as `--header "Name: value"` (exit 0 when valid).
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Signing secret (`whsec_…`).
    #[arg(long, env = "TONEARM_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// A received header, `Name: value`; repeat it. `X-Tonearm-Signature` and/or the three
    /// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    #[arg(long = "header", value_name = "NAME: VALUE", required = true)]
    pub headers: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--header {0:?}: expected `Name: value`")]
    BadHeader(String),
    #[error(
        "no signature header given; pass X-Tonearm-Signature or webhook-id, webhook-timestamp and webhook-signature"
    )]
    NoSignature,
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("reading the body from stdin")]
    Stdin(#[source] std::io::Error),
    #[error("{0}")]
    Signature(&'static str, #[source] sign::Error),
}

pub fn run(cmd: WebhooksCommand) -> ExitCode {
    match cmd {
        WebhooksCommand::Secrets(args) => super::manage::webhook_secrets(args),
        WebhooksCommand::Verify(args) => match verify(&args) {
            Ok(checked) => {
                println!("valid ({})", checked.join(", "));
                ExitCode::SUCCESS
            }
            Err(e) => super::fail(&e),
        },
    }
}

/// Checks every signature style present in the headers; all of them must pass.
fn verify(args: &VerifyArgs) -> Result<Vec<&'static str>, Error> {
    let secret = Secret::parse(&args.secret).map_err(|e| Error::Signature("secret", e))?;
    let mut tonearm = None;
    let (mut id, mut ts, mut sig) = (None, None, None);
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Error::BadHeader(h.clone()))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            sign::HEADER_TONEARM => tonearm = Some(value),
            sign::HEADER_ID => id = Some(value),
            sign::HEADER_TIMESTAMP => ts = Some(value),
            sign::HEADER_SIGNATURE => sig = Some(value),
            // Other received headers (Content-Type, X-Tonearm-Event…) may be pasted along.
            _ => {}
        }
    }
    if tonearm.is_none() && id.is_none() && ts.is_none() && sig.is_none() {
        return Err(Error::NoSignature);
    }
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(Error::Stdin)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut checked = Vec::new();
    if let Some(h) = tonearm {
        sign::verify_tonearm(&secret, h, &body, now)
            .map_err(|e| Error::Signature("X-Tonearm-Signature", e))?;
        checked.push("X-Tonearm-Signature");
    }
    if id.is_some() || ts.is_some() || sig.is_some() {
        let id = id.ok_or(Error::Missing(sign::HEADER_ID))?;
        let ts = ts.ok_or(Error::Missing(sign::HEADER_TIMESTAMP))?;
        let sig = sig.ok_or(Error::Missing(sign::HEADER_SIGNATURE))?;
        sign::verify_standard(&secret, id, ts, sig, &body, now)
            .map_err(|e| Error::Signature("webhook-signature", e))?;
        checked.push("Standard Webhooks");
    }
    Ok(checked)
}
