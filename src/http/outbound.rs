//! TLS for tonearm's own outgoing requests (the CLI's calls to a server, webhook deliveries):
//! the public web PKI roots plus, optionally, an internal CA from a PEM file.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {message}")]
    Ca { path: String, message: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}

pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let ca_err = |m: String| TlsError::Ca {
            path: path.display().to_string(),
            message: m,
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| ca_err(e.to_string()))? {
            let cert = cert.map_err(|e| ca_err(e.to_string()))?;
            roots.add(cert).map_err(|e| ca_err(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_err("no PEM certificate in the file".into()));
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}
