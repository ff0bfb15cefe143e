//! Development mode: a local CA and server certificate made with rcgen on first start, and
//! the demo registrar's credentials. Never used in production mode.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use ring::rand::SecureRandom;

use crate::error::{Error, TlsError};

/// Subdirectory of `data_dir` holding the development certificates.
pub(crate) const DEV_TLS_DIR: &str = "dev-tls";

/// Subdirectory of `data_dir` holding development credentials.
const DEV_DIR: &str = "dev";

/// The development certificate files.
#[derive(Debug, Clone)]
pub(crate) struct DevTls {
    /// The CA certificate clients trust (`openssl s_client -CAfile`).
    pub(crate) ca_cert: PathBuf,
    /// The server certificate.
    pub(crate) cert_chain: PathBuf,
    /// The server key.
    pub(crate) private_key: PathBuf,
    /// Whether this start created them.
    pub(crate) created: bool,
}

/// Returns the development certificates under `data_dir`, creating what is missing.
///
/// All four files present: reused as they are. The CA present but the server
/// certificate missing: a new server certificate from the same CA. Otherwise: a new CA
/// and server certificate. `names` are the DNS names and IP addresses the server
/// certificate covers.
pub(crate) fn ensure_dev_tls(data_dir: &Path, names: &[String]) -> Result<DevTls, Error> {
    let dir = data_dir.join(DEV_TLS_DIR);
    let files = DevTls {
        ca_cert: dir.join("ca.pem"),
        cert_chain: dir.join("server.pem"),
        private_key: dir.join("server-key.pem"),
        created: false,
    };
    let ca_key_path = dir.join("ca-key.pem");
    let server_present = files.cert_chain.exists() && files.private_key.exists();
    let ca_present = files.ca_cert.exists() && ca_key_path.exists();
    if ca_present && server_present {
        return Ok(files);
    }
    create_private_dir(&dir)?;

    let ca_params = ca_params();
    let ca_key = match ca_present {
        true => {
            let pem = std::fs::read_to_string(&ca_key_path).map_err(|source| Error::Io {
                what: "cannot read",
                path: ca_key_path.clone(),
                source,
            })?;
            KeyPair::from_pem(&pem).map_err(TlsError::Generate)?
        }
        false => {
            let key = KeyPair::generate().map_err(TlsError::Generate)?;
            let cert = ca_params.self_signed(&key).map_err(TlsError::Generate)?;
            write_file(&ca_key_path, key.serialize_pem().as_bytes(), true)?;
            write_file(&files.ca_cert, cert.pem().as_bytes(), false)?;
            key
        }
    };
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(TlsError::Generate)?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(TlsError::Generate)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "epp-server development certificate");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params
        .signed_by(&server_key, &issuer)
        .map_err(TlsError::Generate)?;
    write_file(
        &files.private_key,
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&files.cert_chain, cert.pem().as_bytes(), false)?;
    Ok(DevTls {
        created: true,
        ..files
    })
}

/// The names the development server certificate covers: loopback, the specific listen
/// addresses and the configured extras, without duplicates.
pub(crate) fn server_names(listen: &[std::net::SocketAddr], extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let specific = listen
        .iter()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
        .map(|ip: IpAddr| ip.to_string());
    for name in specific.chain(extra.iter().cloned()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The development demo registrar: its client id and a password generated on first
/// start and kept under `data_dir/dev/`.
#[derive(Clone)]
pub struct DemoRegistrar {
    /// The client id (`development.demo_registrar`).
    pub client_id: epp_xml::ClientId,
    /// The password (clear text: development only).
    pub password: epp_xml::Password,
}

impl std::fmt::Debug for DemoRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoRegistrar")
            .field("client_id", &self.client_id)
            .field("password", &"***")
            .finish()
    }
}

/// Loads the demo registrar's password from `data_dir/dev/demo-password`, creating a
/// random one on first start.
pub(crate) fn demo_registrar(data_dir: &Path, client_id: &str) -> Result<DemoRegistrar, Error> {
    let invalid = |what: &str| Error::Io {
        what: "invalid demo registrar setting in",
        path: data_dir.join(DEV_DIR),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned()),
    };
    let client_id =
        epp_xml::ClientId::new(client_id).map_err(|_| invalid("development.demo_registrar"))?;
    let dir = data_dir.join(DEV_DIR);
    let path = dir.join("demo-password");
    let password = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir(&dir)?;
            let password = random_password()?;
            write_file(&path, format!("{password}\n").as_bytes(), true)?;
            password
        }
        Err(source) => {
            return Err(Error::Io {
                what: "cannot read",
                path,
                source,
            });
        }
    };
    let password = epp_xml::Password::new(password).map_err(|_| invalid("demo-password"))?;
    Ok(DemoRegistrar {
        client_id,
        password,
    })
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        "epp-server development CA (not for production)",
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn random_password() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(16);
    while out.len() < 16 {
        let mut buf = [0u8; 32];
        rng.fill(&mut buf).map_err(|_| Error::Io {
            what: "cannot get random bytes for",
            path: PathBuf::from("the demo registrar password"),
            source: std::io::Error::other("system random source failed"),
        })?;
        // Rejection sampling keeps the choice uniform over the alphabet.
        let limit = 256 - 256 % ALPHABET.len();
        for b in buf {
            if (b as usize) < limit && out.len() < 16 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::Io {
        what: "cannot create directory",
        path: dir.to_owned(),
        source,
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash never
/// leaves a half-written certificate or key behind; `private` files are mode 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let io = |source| Error::Io {
        what: "cannot write",
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{fingerprint_of_der, load_certified_key, provider};

    #[test]
    fn first_start_creates_and_second_start_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let names = server_names(&[], &[]);
        let first = ensure_dev_tls(dir.path(), &names).unwrap();
        assert!(first.created);
        let ca = std::fs::read(&first.ca_cert).unwrap();
        let key = load_certified_key(&first.cert_chain, &first.private_key, &provider()).unwrap();
        let fp = fingerprint_of_der(&key.cert[0]);

        let second = ensure_dev_tls(dir.path(), &names).unwrap();
        assert!(!second.created);
        assert_eq!(std::fs::read(&second.ca_cert).unwrap(), ca);
        let key = load_certified_key(&second.cert_chain, &second.private_key, &provider()).unwrap();
        assert_eq!(fingerprint_of_der(&key.cert[0]), fp);
    }

    #[test]
    fn a_missing_server_certificate_is_reissued_by_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let names = server_names(&[], &[]);
        let first = ensure_dev_tls(dir.path(), &names).unwrap();
        let ca = std::fs::read(&first.ca_cert).unwrap();
        std::fs::remove_file(&first.cert_chain).unwrap();
        let again = ensure_dev_tls(dir.path(), &names).unwrap();
        assert!(again.created);
        assert_eq!(std::fs::read(&again.ca_cert).unwrap(), ca);
        load_certified_key(&again.cert_chain, &again.private_key, &provider()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tls = ensure_dev_tls(dir.path(), &server_names(&[], &[])).unwrap();
        let mode = std::fs::metadata(&tls.private_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(dir.path().join(DEV_TLS_DIR).join("ca-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn server_names_cover_loopback_and_specific_listen_addresses() {
        let names = server_names(
            &[
                "0.0.0.0:700".parse().unwrap(),
                "192.0.2.1:700".parse().unwrap(),
            ],
            &["epp.example.test".into(), "localhost".into()],
        );
        assert_eq!(
            names,
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "192.0.2.1",
                "epp.example.test"
            ]
        );
    }

    #[test]
    fn demo_password_is_created_once_and_valid() {
        let dir = tempfile::tempdir().unwrap();
        let a = demo_registrar(dir.path(), "reg-demo").unwrap();
        assert_eq!(a.client_id.as_str(), "reg-demo");
        assert_eq!(a.password.as_str().len(), 16);
        let b = demo_registrar(dir.path(), "reg-demo").unwrap();
        assert_eq!(a.password.as_str(), b.password.as_str());
        assert!(!format!("{a:?}").contains(a.password.as_str()));
    }
}
