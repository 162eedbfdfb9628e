//! `tonearm health`: asks a running server's `/healthz` and exits 0 when it answers 200. For
//! container health checks on images without curl.

use std::process::ExitCode;

use http::Method;

use super::client::{ApiClient, Error};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Server URL.
    #[arg(long, env = "TONEARM_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

pub fn run(args: HealthArgs) -> ExitCode {
    let result = ApiClient::anonymous(&args.url, None).and_then(|c| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?
            .block_on(c.call(Method::GET, "/healthz", None))
    });
    match result {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(&e),
    }
}
