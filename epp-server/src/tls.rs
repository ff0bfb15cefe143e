//! TLS with rustls on the ring provider: the server configuration, a certificate resolver
//! that reloads without a restart, the client-certificate policy and fingerprints.

pub(crate) mod dev;

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::config::{ClientCertPolicy, TlsConfig, TlsVersion};
use crate::error::TlsError;

/// The SHA-256 fingerprint of a DER-encoded certificate, as the registry stores pins.
///
/// One type for the whole workspace: epp-session's model type, which compares the pins at
/// login. This crate only computes it ([`fingerprint_of_der`]): hashing needs ring, which
/// the session layer does not know.
pub use epp_session::store::model::CertFingerprint;

/// The fingerprint of `der`, a certificate's DER encoding.
pub fn fingerprint_of_der(der: &[u8]) -> CertFingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut bytes = [0; 32];
    bytes.copy_from_slice(digest.as_ref());
    CertFingerprint(bytes)
}

/// The ring crypto provider every TLS object of the server uses.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls server configuration.
pub(crate) fn server_config(
    config: &TlsConfig,
    resolver: Arc<ReloadingCert>,
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ServerConfig, TlsError> {
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = config
        .versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let verifier = Arc::new(AnyClientCert::new(
        config.client_certificates,
        provider.clone(),
    ));
    // No ALPN: EPP has no registered identifier and clients send none.
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver))
}

/// Loads a certificate chain and its key, checking that they belong together.
/// The SHA-256 fingerprint of the first certificate in a PEM file (`registrar
/// pin-certificate --cert-file`), after checking that it is a well-formed certificate.
pub(crate) fn certificate_file_fingerprint(path: &Path) -> Result<CertFingerprint, TlsError> {
    let pem_err = |e: rustls::pki_types::pem::Error| TlsError::Pem {
        what: "certificate",
        path: path.to_owned(),
        message: e.to_string(),
    };
    let first = CertificateDer::pem_file_iter(path)
        .map_err(pem_err)?
        .next()
        .transpose()
        .map_err(pem_err)?;
    let Some(cert) = first else {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    };
    ParsedCertificate::try_from(&cert).map_err(|source| TlsError::BadCertificate {
        path: path.to_owned(),
        source,
    })?;
    Ok(fingerprint_of_der(&cert))
}

pub(crate) fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let pem_err = |what, path: &Path, e: rustls::pki_types::pem::Error| TlsError::Pem {
        what,
        path: path.to_owned(),
        message: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| pem_err("certificate chain", cert_path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err("certificate chain", cert_path, e))?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_owned(),
        });
    };
    ParsedCertificate::try_from(leaf).map_err(|source| TlsError::BadCertificate {
        path: cert_path.to_owned(),
        source,
    })?;
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| pem_err("private key", key_path, e))?;
    let mismatch = |source| TlsError::KeyMismatch {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
        source,
    };
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(mismatch)?;
    let certified = CertifiedKey::new(chain, signing_key);
    // Unlike CertifiedKey::from_der, refuse "cannot tell": every key type ring loads
    // exposes its public key, so a mismatch is always detectable here.
    certified.keys_match().map_err(mismatch)?;
    Ok(certified)
}

/// Serves the current server certificate and swaps in a new one on reload.
///
/// A reload that fails (unreadable files, a key that does not fit) keeps the certificate
/// in use, so a half-finished renewal never takes the server down.
#[derive(Debug)]
pub(crate) struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
}

impl ReloadingCert {
    /// Loads the initial certificate.
    pub(crate) fn load(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let key = load_certified_key(&cert_path, &key_path, &provider)?;
        Ok(Self {
            current: RwLock::new(Arc::new(key)),
            cert_path,
            key_path,
            provider,
        })
    }

    /// Reloads the files; on success the next handshakes use the new certificate.
    pub(crate) fn reload(&self) -> Result<CertFingerprint, TlsError> {
        let key = load_certified_key(&self.cert_path, &self.key_path, &self.provider)?;
        let fingerprint = leaf_fingerprint(&key);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(fingerprint)
    }

    /// The fingerprint of the certificate in use.
    pub(crate) fn fingerprint(&self) -> CertFingerprint {
        leaf_fingerprint(&self.current())
    }

    /// The certificate and key files.
    pub(crate) fn paths(&self) -> (&Path, &Path) {
        (&self.cert_path, &self.key_path)
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn leaf_fingerprint(key: &CertifiedKey) -> CertFingerprint {
    // load_certified_key refuses empty chains.
    key.cert
        .first()
        .map_or(CertFingerprint([0; 32]), |c| fingerprint_of_der(c))
}

/// What identifies a version of the certificate files on disk, to notice replacements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp(Vec<Option<(SystemTime, u64)>>);

impl FileStamp {
    /// Reads modification time and size of each file (`None` for a missing file).
    pub(crate) fn of(paths: &[&Path]) -> Self {
        Self(
            paths
                .iter()
                .map(|p| {
                    std::fs::metadata(p)
                        .ok()
                        .and_then(|m| Some((m.modified().ok()?, m.len())))
                })
                .collect(),
        )
    }
}

/// Accepts any well-formed client certificate whose key the client holds; requires one
/// only under [`ClientCertPolicy::Required`].
///
/// Norid does not validate client certificates against a CA, so neither does this
/// verifier: the session compares the certificate's fingerprint with the registrar's pin
/// at login. The handshake signature is still verified, so a client cannot present a
/// certificate (public) without its private key.
#[derive(Debug)]
pub(crate) struct AnyClientCert {
    policy: ClientCertPolicy,
    provider: Arc<CryptoProvider>,
}

impl AnyClientCert {
    pub(crate) fn new(policy: ClientCertPolicy, provider: Arc<CryptoProvider>) -> Self {
        Self { policy, provider }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.policy == ClientCertPolicy::Required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA list: clients may send any certificate.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        ParsedCertificate::try_from(end_entity)?;
        Ok(ClientCertVerified::assertion())
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

    fn self_signed(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert, key)
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn fingerprint_is_sha256_hex_and_parses_back() {
        let fp = fingerprint_of_der(b"abc");
        assert_eq!(
            fp.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let colons = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:\
                      B4:10:FF:61:F2:00:15:AD";
        assert_eq!(colons.parse::<CertFingerprint>().unwrap(), fp);
        assert!("abc".parse::<CertFingerprint>().is_err());
        assert!("zz".repeat(32).parse::<CertFingerprint>().is_err());
    }

    #[test]
    fn load_refuses_a_key_of_another_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = self_signed("a.test");
        let (_, other_key) = self_signed("b.test");
        let c = write(dir.path(), "c.pem", &cert.pem());
        let k = write(dir.path(), "k.pem", &other_key.serialize_pem());
        let err = load_certified_key(&c, &k, &provider()).unwrap_err();
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    }

    #[test]
    fn load_refuses_an_empty_chain_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = self_signed("a.test");
        let c = write(dir.path(), "c.pem", "");
        let k = write(dir.path(), "k.pem", &key.serialize_pem());
        let err = load_certified_key(&c, &k, &provider()).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        let err = load_certified_key(&dir.path().join("none.pem"), &k, &provider()).unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err}");
    }

    #[test]
    fn failed_reload_keeps_the_current_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed("a.test");
        let c = write(dir.path(), "c.pem", &cert.pem());
        let k = write(dir.path(), "k.pem", &key.serialize_pem());
        let resolver = ReloadingCert::load(c.clone(), k.clone(), provider()).unwrap();
        let before = resolver.fingerprint();
        assert_eq!(before, fingerprint_of_der(cert.der()));

        // A renewal half-way: new certificate, old key.
        let (cert2, key2) = self_signed("a.test");
        write(dir.path(), "c.pem", &cert2.pem());
        assert!(resolver.reload().is_err());
        assert_eq!(resolver.fingerprint(), before);

        write(dir.path(), "k.pem", &key2.serialize_pem());
        assert_eq!(resolver.reload().unwrap(), fingerprint_of_der(cert2.der()));
        assert_eq!(resolver.fingerprint(), fingerprint_of_der(cert2.der()));
    }

    #[test]
    fn verifier_follows_the_policy_and_refuses_garbage() {
        let optional = AnyClientCert::new(ClientCertPolicy::Optional, provider());
        let required = AnyClientCert::new(ClientCertPolicy::Required, provider());
        assert!(optional.offer_client_auth() && !optional.client_auth_mandatory());
        assert!(required.offer_client_auth() && required.client_auth_mandatory());

        let (cert, _) = self_signed("client.test");
        let now = UnixTime::now();
        assert!(optional.verify_client_cert(cert.der(), &[], now).is_ok());
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(optional.verify_client_cert(&garbage, &[], now).is_err());
    }

    #[test]
    fn file_stamp_notices_a_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "c.pem", "one");
        let before = FileStamp::of(&[&p]);
        assert_eq!(before, FileStamp::of(&[&p]));
        write(dir.path(), "c.pem", "three");
        assert_ne!(before, FileStamp::of(&[&p]));
        assert_eq!(
            FileStamp::of(&[&dir.path().join("missing")]),
            FileStamp(vec![None])
        );
    }
}
