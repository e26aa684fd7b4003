//! The server's own HTTPS listener (`serve --tls-cert FILE --tls-key FILE`), for a county that runs the server
//! without a TLS reverse proxy. axum-server drives the handshakes (rustls, the same library and crypto provider as
//! the devices) and shuts down gracefully like the plain listener: open requests finish, new connections stop.

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long a graceful shutdown waits for open requests (a long pull page) before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Reads the certificate chain and key; a missing file or a bad PEM is refused naming the file and the flag.
pub async fn load(cert: &Path, key: &Path) -> Result<RustlsConfig, String> {
    for (flag, path) in [("--tls-cert", cert), ("--tls-key", key)] {
        if let Err(e) = std::fs::metadata(path) {
            return Err(format!("{flag} {}: {e}", path.display()));
        }
    }
    // Only HTTP/1.1 is offered: the devices speak it, and it is what the plain listener serves.
    let mut config = RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        format!(
            "--tls-cert {} / --tls-key {}: not a usable PEM certificate chain and private key: {e}",
            cert.display(),
            key.display()
        )
    })?;
    let mut inner = (*config.get_inner()).clone();
    inner.alpn_protocols = vec![b"http/1.1".to_vec()];
    config = RustlsConfig::from_config(std::sync::Arc::new(inner));
    Ok(config)
}

/// Serves HTTPS on an already bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: RustlsConfig,
    service: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let on_signal = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_signal.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle).serve(service).await
}
