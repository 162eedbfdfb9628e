//! HTTPS with a certificate made in the test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use crate::support::client::{head, parse_response};
use crate::support::server::{TestServer, write_file};

#[test]
fn tls_mode_serves_https_with_alpn() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = write_file(dir.path(), "cert.pem", &cert.cert.pem());
    let key_path = write_file(dir.path(), "key.pem", &cert.signing_key.serialize_pem());
    let cert_line = format!("tls_cert = {:?}", cert_path.display().to_string());
    let key_line = format!("tls_key = {:?}", key_path.display().to_string());
    let s = TestServer::start_with(&[("server", &cert_line), ("server", &key_line)]);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(s.addr).unwrap());
    tls.write_all(&head("GET", "/healthz", &[], 0)).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let r = parse_response(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(r.json()["status"], "ok");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = s.client().connect();
    plain.write_all(&head("GET", "/healthz", &[], 0)).unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/1.1 200"));
}
