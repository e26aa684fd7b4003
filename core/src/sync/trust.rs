//! Which server a device trusts, and over what.
//!
//! A county server often has a certificate from a private CA or a self-signed one, which no phone trusts by itself.
//! At sign-in the device may therefore be given either the deployment's own CA certificate (PEM; then only
//! certificates issued by that CA, for the server's host name, are accepted) or the SHA-256 fingerprint of the
//! server's own certificate (a pin: exactly that certificate is accepted, whatever issued it). Without either, the
//! phone's trust store decides (rustls-platform-verifier). The choice is kept in the encrypted store and used by
//! every later sync and blob transfer.
//!
//! A plain `http://` server is refused unless it is on this machine (127.0.0.0/8, ::1, `localhost`) or the
//! developer option `allow_insecure_http` was given at sign-in: a device would otherwise send its password and
//! token in clear. A refused certificate becomes `SyncError::Untrusted` naming the cause (`TrustFailure`).

use super::error::SyncError;
use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How the device checks the server's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerTrust {
    /// The phone's own trust store (public CAs, and CAs the user or the phone's manager installed).
    #[default]
    Platform,
    /// Only certificates issued by these CA certificates (PEM), valid for the server's host name.
    Ca { pem: String },
    /// Exactly the certificate whose DER encoding has this SHA-256; host name and issuer are not checked.
    Pin { sha256: [u8; 32] },
}

/// What a sign-in may say about trust, as the user gave it (CLI flags, FFI arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOptions {
    /// The deployment's CA certificate, PEM text.
    pub ca_cert_pem: Option<String>,
    /// SHA-256 of the server certificate's DER, in hex (colons and spaces allowed, as `openssl x509 -fingerprint`
    /// prints it).
    pub pin_sha256: Option<String>,
    /// Developer option: allow a plain `http://` server that is not on this machine.
    pub allow_insecure_http: bool,
}

impl LoginOptions {
    /// The trust these options ask for; a bad CA file or fingerprint is a validation error naming its field.
    pub fn trust(&self) -> Result<ServerTrust> {
        let ca = self.ca_cert_pem.as_deref().filter(|p| !p.trim().is_empty());
        let pin = self.pin_sha256.as_deref().filter(|p| !p.trim().is_empty());
        match (ca, pin) {
            (Some(_), Some(_)) => Err(Error::invalid("pin_sha256", "give either a CA certificate or a pin, not both")),
            (Some(pem), None) => {
                ca_roots(pem)?;
                Ok(ServerTrust::Ca { pem: pem.to_string() })
            }
            (None, Some(hex)) => Ok(ServerTrust::Pin { sha256: parse_pin(hex)? }),
            (None, None) => Ok(ServerTrust::Platform),
        }
    }
}

/// Why the server was not trusted; `code()` is the name the CLI and the app show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustFailure {
    /// The certificate was not issued by a trusted CA (or the given CA), or is self-signed.
    CertificateUntrusted,
    /// The certificate has expired or is not valid yet (check the phone's clock too).
    CertificateExpired,
    /// The certificate is for another host name than the server address.
    HostMismatch,
    /// The certificate is not the pinned one.
    PinMismatch,
    /// The TLS handshake failed for another reason (the server does not speak HTTPS, no common cipher, …).
    Handshake,
    /// A plain `http://` address that is not on this machine, without the developer option.
    InsecureHttp,
}

impl TrustFailure {
    pub fn code(self) -> &'static str {
        match self {
            TrustFailure::CertificateUntrusted => "certificate_untrusted",
            TrustFailure::CertificateExpired => "certificate_expired",
            TrustFailure::HostMismatch => "host_mismatch",
            TrustFailure::PinMismatch => "pin_mismatch",
            TrustFailure::Handshake => "tls_handshake",
            TrustFailure::InsecureHttp => "insecure_http",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            TrustFailure::CertificateUntrusted => "服务器证书不受信任：请使用单位提供的 CA 证书或证书指纹登录",
            TrustFailure::CertificateExpired => "服务器证书已过期或尚未生效：请检查手机时间，或联系管理员更新证书",
            TrustFailure::HostMismatch => "服务器证书与服务器地址不符：请核对服务器地址",
            TrustFailure::PinMismatch => "服务器证书与登录时指定的指纹不符：请联系管理员核实",
            TrustFailure::Handshake => "无法与服务器建立加密连接：请核对服务器地址（https://）",
            TrustFailure::InsecureHttp => "不允许使用未加密的 http:// 地址：请使用 https:// 服务器地址",
        }
    }
}

/// True for addresses on this machine, where plain HTTP never leaves it.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Refuses, before any connection, a plain `http://` server off this machine unless the developer option is set.
pub fn check_transport(server: &str, allow_insecure_http: bool) -> Result<()> {
    let url = reqwest::Url::parse(server).map_err(|e| Error::invalid("server", &format!("not a URL: {e}")))?;
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        return Err(SyncError::Untrusted {
            cause: TrustFailure::InsecureHttp,
            detail: format!(
                "{server} would carry the password and the device token unencrypted; use an https:// address \
                 (plain http:// is allowed only on this machine, or with the developer option \
                 --insecure-http-dev / allow_insecure_http)"
            ),
        }
        .into());
    }
    Ok(())
}

/// An HTTP client that checks certificates as `trust` says.
pub fn http_client(builder: reqwest::ClientBuilder, trust: &ServerTrust) -> Result<reqwest::Client> {
    let builder = match trust {
        ServerTrust::Platform => builder,
        ServerTrust::Ca { pem } => builder.tls_certs_only(
            ca_roots(pem)?
                .into_iter()
                .map(|der| reqwest::Certificate::from_der(&der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::invalid("ca_cert", &format!("not a usable certificate: {e}")))?,
        ),
        ServerTrust::Pin { sha256 } => {
            let provider = provider();
            let verifier = PinVerifier { sha256: *sha256, algorithms: provider.signature_verification_algorithms };
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| SyncError::Network { message: format!("TLS settings: {e}"), retryable: false })?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            builder.tls_backend_preconfigured(config)
        }
    };
    builder.build().map_err(|e| SyncError::Network { message: format!("HTTP client: {e}"), retryable: false }.into())
}

/// The typed trust failure behind a transport error, if a certificate or the handshake was the cause.
pub fn classify(e: &reqwest::Error) -> Option<SyncError> {
    let tls = rustls_error(e)?;
    let cause = match tls {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TrustFailure::HostMismatch
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TrustFailure::CertificateExpired,
            CertificateError::Other(other) if other.0.downcast_ref::<PinMismatch>().is_some() => {
                TrustFailure::PinMismatch
            }
            _ => TrustFailure::CertificateUntrusted,
        },
        _ => TrustFailure::Handshake,
    };
    Some(SyncError::Untrusted { cause, detail: tls.to_string() })
}

/// The rustls error in an error's chain. tokio-rustls wraps it in an `io::Error` (sometimes in two), whose
/// `source()` skips the wrapped error, so an `io::Error` is opened instead of asked for its source.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut depth = 0;
    while let (Some(err), true) = (current, depth < 16) {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
        depth += 1;
    }
    None
}

/// The certificates of a CA file; refused naming `ca_cert` when there is none or one does not parse.
fn ca_roots(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid("ca_cert", &format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid("ca_cert", "holds no `-----BEGIN CERTIFICATE-----` block"));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in &certs {
        roots.add(cert.clone()).map_err(|e| Error::invalid("ca_cert", &format!("not a usable CA certificate: {e}")))?;
    }
    Ok(certs)
}

/// 64 hex digits, optionally separated by colons or spaces; anything else is refused naming `pin_sha256`.
pub fn parse_pin(text: &str) -> Result<[u8; 32]> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bytes = hex::decode(&digits).ok().filter(|b| b.len() == 32).ok_or_else(|| {
        Error::invalid(
            "pin_sha256",
            "must be the SHA-256 of the server certificate: 64 hex digits (colons allowed), e.g. from \
             `openssl x509 -in server.pem -noout -fingerprint -sha256`",
        )
    })?;
    let mut pin = [0u8; 32];
    pin.copy_from_slice(&bytes);
    Ok(pin)
}

/// SHA-256 of a certificate's DER, in lower-case hex: what `--pin-sha256` expects.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The error a pinned verifier gives for another certificate, recognised again by `classify`.
#[derive(Debug)]
struct PinMismatch {
    found: String,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server's certificate has SHA-256 {}, not the pinned one", self.found)
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts exactly one certificate, by the SHA-256 of its DER. The handshake signatures are still checked, so a
/// server must hold the certificate's private key; issuer, expiry and host name are what the pin replaces.
#[derive(Debug)]
struct PinVerifier {
    sha256: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if found == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                found: hex::encode(found),
            })))))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_be_plain_http_without_the_developer_option() {
        for ok in ["http://127.0.0.1:8080", "http://127.3.4.5", "http://[::1]:80", "http://localhost:1", "https://x.cn"]
        {
            assert!(check_transport(ok, false).is_ok(), "{ok}");
        }
        for bad in ["http://doorstep.test", "http://10.0.0.1:8080", "http://[::2]", "http://localhost.evil.cn"] {
            match check_transport(bad, false) {
                Err(Error::Sync(SyncError::Untrusted { cause: TrustFailure::InsecureHttp, .. })) => {}
                other => panic!("{bad}: {other:?}"),
            }
            assert!(check_transport(bad, true).is_ok(), "{bad} with the developer option");
        }
    }

    #[test]
    fn pins_are_64_hex_digits_with_optional_colons() {
        let hex64 = "ab".repeat(32);
        assert_eq!(parse_pin(&hex64).unwrap(), [0xab; 32]);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_pin(&colons).unwrap(), [0xab; 32]);
        for bad in ["", "abcd", &"ab".repeat(31), &"zz".repeat(32), &"ab".repeat(33)] {
            match parse_pin(bad) {
                Err(Error::Validation(e)) => assert_eq!(e[0].field, "pin_sha256", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_ca_file_without_a_certificate_or_with_both_options_is_refused_by_field() {
        let field = |o: LoginOptions| match o.trust() {
            Err(Error::Validation(e)) => e[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(LoginOptions { ca_cert_pem: Some("hello".into()), ..Default::default() }), "ca_cert");
        let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        assert_eq!(field(LoginOptions { ca_cert_pem: Some(key.into()), ..Default::default() }), "ca_cert");
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(field(LoginOptions { ca_cert_pem: Some(garbage.into()), ..Default::default() }), "ca_cert");
        let both =
            LoginOptions { ca_cert_pem: Some(key.into()), pin_sha256: Some("ab".repeat(32)), ..Default::default() };
        assert_eq!(field(both), "pin_sha256");
        assert_eq!(LoginOptions::default().trust().unwrap(), ServerTrust::Platform);
    }
}
