//! HTTPS for the HTTP front: a certificate authority and a serving certificate made at start-up
//! (kubectl sends credentials only over TLS, so a server that checks identities must speak it).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("making a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("configuring TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// A serving configuration and the authority clients should trust for it.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// The authority's certificate, PEM (a kubeconfig's `certificate-authority-data`).
    pub authority_pem: String,
    /// The same, DER (kube-rs's `root_cert`).
    pub authority_der: Vec<u8>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// A fresh authority, and a certificate it signs for `hosts` (names or IP addresses).
pub fn self_signed(hosts: &[&str]) -> Result<Tls, TlsError> {
    let mut authority = CertificateParams::new(Vec::<String>::new())?;
    authority.distinguished_name.push(DnType::CommonName, "eno dev CA");
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate()?)?;
    let mut serving = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    serving.distinguished_name.push(DnType::CommonName, "eno dev API server");
    let key = KeyPair::generate()?;
    let certificate = serving.signed_by(&key, &authority)?;
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certificate.der().clone(), authority.der().clone()], key_der)?;
    Ok(Tls { config: Arc::new(config), authority_pem: authority.pem(), authority_der: authority.der().to_vec() })
}
