//! The lab's HTTPS identity, made fresh at every start like a kubeadm cluster's own: a CA
//! (`runbook-lab-ca`) and a serving certificate it signs for `127.0.0.1` and `localhost`. The
//! kubeconfig carries the CA as `certificate-authority-data`, so kubectl and kube-rs verify the
//! server as they verify a real one (and send the bearer token, which client-go only sends over
//! TLS). Nothing is written to disk but the CA certificate inside the kubeconfig.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A lab's CA (PEM, for the kubeconfig) and the TLS acceptor serving with its certificate.
pub struct Identity {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

fn failed(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("cannot make the lab's TLS certificate: {e}"))
}

/// A new CA and a serving certificate signed by it.
pub fn identity() -> Result<Identity, std::io::Error> {
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "runbook-lab-ca");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(failed)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "runbook-lab-apiserver");
    params.distinguished_name = dn;
    let cert = params.signed_by(&key, &issuer).map_err(failed)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(failed)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        ca_pem: ca_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
