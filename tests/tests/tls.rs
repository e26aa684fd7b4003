//! HTTPS end to end: the real server binary with its own rustls listener (`serve --tls-cert/--tls-key`) on a
//! loopback port, with a CA and a server certificate made by the test, and device homes driven through the real
//! `doorstep` CLI. Signing in with the deployment's CA or with the certificate's pin works, and the store keeps that
//! choice for sync and blob transfers; the phone's own trust store, another CA, another pin or another host name is
//! refused with an error naming the cause; a plain http:// server off this machine is refused before any
//! connection unless the developer option is given.

use doorstep_e2e::store_choice;
use doorstep_e2e::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A deployment's private CA and a server certificate it issued for 127.0.0.1 only (so `localhost` is another host
/// name), written as PEM files.
struct Pki {
    ca_pem: PathBuf,
    other_ca_pem: PathBuf,
    cert_pem: PathBuf,
    key_pem: PathBuf,
    /// SHA-256 of the server certificate's DER, hex.
    pin: String,
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn make_pki(dir: &Path) -> Pki {
    let ca = make_ca("石门县 Doorstep CA");
    let other = make_ca("Another county CA");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "doorstep server");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca_pem: write("ca.pem", &ca.pem()),
        other_ca_pem: write("other-ca.pem", &other.pem()),
        // The chain as a deployment serves it: the server's certificate, then its CA.
        cert_pem: write("server.pem", &format!("{}{}", cert.pem(), ca.pem())),
        key_pem: write("server.key", &key.serialize_pem()),
        pin: doorstep_core::sync::trust::fingerprint(cert.der()),
    }
}

/// `doorstep-server serve` with TLS on a free loopback port; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(data: &Path, pki: &Pki) -> TlsServer {
        let mut cmd = Command::new(binary("doorstep-server"));
        store_choice::choose_store(&mut cmd, data);
        let mut child = cmd
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(&pki.cert_pem)
            .arg("--tls-key")
            .arg(&pki.key_pem)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn doorstep-server");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on https://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        TlsServer { child, port }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> (tempfile::TempDir, Pki, TlsServer) {
    let tmp = tempfile::tempdir().unwrap();
    let pki = make_pki(tmp.path());
    let data = tmp.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    admin(&data, &["user", "add", "helper1", "--role", "helper", "--password", "pw-helper1"]);
    let server = TlsServer::start(&data, &pki);
    (tmp, pki, server)
}

fn login_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["login", "--server", url, "--user", "helper1"];
    args.extend_from_slice(extra);
    args
}

/// A sign-in that must be refused for `cause`, with the trust exit code and nothing stored.
fn refused(d: &Device, url: &str, extra: &[&str], cause: &str) {
    let f = d.fails(&login_args(url, extra), Some("pw-helper1\n"));
    assert_eq!(f.kind(), cause, "{extra:?}: {}", f.stderr);
    assert_eq!(f.code, 9, "{extra:?}: {}", f.stderr);
    assert!(d.meta("sync.token").unwrap_or_default().is_empty(), "{extra:?} stored a token");
}

#[test]
fn a_device_signs_in_syncs_and_downloads_over_https_with_the_deployments_ca_or_pin() {
    let (tmp, pki, server) = setup();
    let url = server.url("127.0.0.1");
    let ca = pki.ca_pem.to_str().unwrap();

    // The CA given at sign-in: sign in, record, attach a photo, sync it up.
    let a = Device::init(tmp.path(), "phone-a");
    a.ok_with_stdin(&login_args(&url, &["--ca-cert", ca]), Some("pw-helper1\n"));
    assert!(a.meta("sync.tls_ca_pem").unwrap().contains("BEGIN CERTIFICATE"), "the CA is kept in the store");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let v = a.add_visit(&h, "看了水窖");
    let photo: Vec<u8> =
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00".iter().copied().chain((0..40_000u32).map(|i| (i % 253) as u8)).collect();
    let file = tmp.path().join("photo.jpg");
    std::fs::write(&file, &photo).unwrap();
    let hash = a.ok(&["attach", &v, file.to_str().unwrap(), "--kind", "photo"]);
    let up = a.sync();
    assert!(up.sent >= 2, "{up:?}");
    assert_eq!(up.blobs.uploaded, 1, "{up:?}");

    // The pin given at sign-in: another phone of the same helper receives the records and downloads the photo.
    let b = Device::init(tmp.path(), "phone-b");
    let pin = pki
        .pin
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    b.ok_with_stdin(&login_args(&url, &["--pin-sha256", &pin]), Some("pw-helper1\n"));
    assert_eq!(b.meta("sync.tls_pin_sha256").as_deref(), Some(pki.pin.as_str()));
    let down = b.sync();
    assert!(down.received >= 2, "{down:?}");
    assert_eq!(b.household_ids(), vec![h.clone()]);
    let out = tmp.path().join("opened.jpg");
    b.ok(&["open-attachment", &hash, "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), photo, "the photo came down byte for byte over HTTPS");

    // Later syncs keep using the kept trust (the phone's store would refuse this server).
    a.add_visit(&h, "第二次走访");
    assert_eq!(a.sync().sent, 1);
    assert!(b.sync().received >= 1);
}

#[test]
fn a_server_certificate_that_is_not_trusted_is_refused_naming_the_cause() {
    let (tmp, pki, server) = setup();
    let url = server.url("127.0.0.1");
    let d = Device::init(tmp.path(), "phone");
    // No CA and no pin: the system's trust store does not know the county's CA.
    refused(&d, &url, &[], "certificate_untrusted");
    // Another county's CA.
    refused(&d, &url, &["--ca-cert", pki.other_ca_pem.to_str().unwrap()], "certificate_untrusted");
    // A pin of another certificate.
    refused(&d, &url, &["--pin-sha256", &"ab".repeat(32)], "pin_mismatch");
    // The right CA, but the certificate names 127.0.0.1, not localhost.
    refused(&d, &server.url("localhost"), &["--ca-cert", pki.ca_pem.to_str().unwrap()], "host_mismatch");
    // A bad pin or CA file is a usage error naming the flag, before any connection.
    let f = d.fails(&login_args(&url, &["--pin-sha256", "1234"]), Some("pw-helper1\n"));
    assert_eq!((f.code, f.kind()), (3, "validation"), "{}", f.stderr);
    assert!(f.stderr.contains("pin_sha256"), "{}", f.stderr);
    let f = d.fails(&login_args(&url, &["--ca-cert", pki.key_pem.to_str().unwrap()]), Some("pw-helper1\n"));
    assert_eq!((f.code, f.kind()), (3, "validation"), "{}", f.stderr);
    assert!(f.stderr.contains("ca_cert"), "{}", f.stderr);

    // A store signed in with the CA refuses the same server once its pin is wrong: the trust is per sign-in.
    d.ok_with_stdin(&login_args(&url, &["--ca-cert", pki.ca_pem.to_str().unwrap()]), Some("pw-helper1\n"));
    d.sync();
    let f = d.fails(&login_args(&url, &["--pin-sha256", &"cd".repeat(32)]), Some("pw-helper1\n"));
    assert_eq!(f.kind(), "pin_mismatch", "{}", f.stderr);
    d.sync();
}

#[test]
fn plain_http_off_this_machine_is_refused_before_any_connection_without_the_developer_option() {
    let f = Fixture::new();
    let d = Device::init(f.tmp.path(), "phone");
    // A name that resolves nowhere: the refusal comes before any lookup or connection.
    refused(&d, "http://doorstep.test:8080", &[], "insecure_http");
    // 0.0.0.0 reaches this machine's server but is not a loopback address: refused, then allowed by the option.
    let port = f.server.addr.port();
    let open = format!("http://0.0.0.0:{port}");
    refused(&d, &open, &[], "insecure_http");
    d.ok_with_stdin(&login_args(&open, &["--insecure-http-dev"]), Some("pw-helper1\n"));
    assert_eq!(d.meta("sync.allow_insecure_http").as_deref(), Some("1"));
    d.add_household("4306210010002", VILLAGE_A, "李四", &["helper1"]);
    assert_eq!(d.sync().sent, 1, "the developer option is kept for later syncs");
    // Loopback needs no option.
    let e = Device::init(f.tmp.path(), "phone-e");
    e.login(&f.server.url, "helper1", "pw-helper1");
    assert_eq!(e.sync().received, 1);
    // An https:// address at a plain HTTP server fails the handshake, typed.
    let g = Device::init(f.tmp.path(), "phone-g");
    refused(&g, &format!("https://127.0.0.1:{port}"), &[], "tls_handshake");
}
