//! `tonearm health`: asks a running server's `/healthz` and exits 0 when it answers 200. For
//! container health checks on images without curl. Without `--url` it asks the listener of
//! the configuration (`--config`, else `$TONEARM_CONFIG`): http or https as configured, on
//! loopback when the server listens on all addresses, trusting exactly the configured
//! certificate (its name need not be 127.0.0.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use http::Method;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::ConfigArg;
use super::client::{ApiClient, Error};
use crate::config::{Config, Source};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Server URL (default: the configured listener).
    #[arg(long, env = "TONEARM_URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(args: HealthArgs) -> ExitCode {
    let client = match &args.url {
        Some(url) => ApiClient::anonymous(url, None),
        None => match Config::load(&Source::resolve(args.config.config.as_deref())) {
            Ok(c) => configured(&c),
            Err(e) => return super::fail(&e),
        },
    };
    let result = client.and_then(|c| {
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

/// Where a local client reaches a listener: an unspecified address means loopback.
fn local_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

fn configured(config: &Config) -> Result<ApiClient, Error> {
    let addr = local_addr(config.server.listen);
    let Some(tls) = &config.server.tls else {
        return ApiClient::anonymous(&format!("http://{addr}"), None);
    };
    let cert = CertificateDer::from_pem_file(&tls.cert).map_err(|e| {
        Error::Tls(crate::http::outbound::TlsError::Ca {
            path: tls.cert.display().to_string(),
            message: e.to_string(),
        })
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        cert: cert.into_owned(),
        provider: provider.clone(),
    });
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.into()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    ApiClient::with_tls(&format!("https://{addr}"), tls)
}

/// Accepts exactly one certificate, the server's own from its configuration.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the configured server.tls_cert".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_addresses_are_reached_on_loopback() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(local_addr(a("0.0.0.0:8080")), a("127.0.0.1:8080"));
        assert_eq!(local_addr(a("[::]:9443")), a("[::1]:9443"));
        assert_eq!(local_addr(a("10.1.2.3:80")), a("10.1.2.3:80"));
    }
}
