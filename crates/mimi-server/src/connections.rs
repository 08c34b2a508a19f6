//! Serving connections (hyper's HTTP/1.1 server; the provider speaks HTTP/1.1 only, as its
//! TLS offers) with what axum's own `serve` does not set: a client must send a request's
//! headers within [`Config::header_read_timeout`](crate::Config), which also closes a
//! connection that sits idle that long, before its first request or between two. Each
//! request is told its peer's address (`ConnectInfo<PeerAddr>`), for the per-address limits,
//! and the certificate a peer provider presented (`PeerCertificate`).

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::limits::PeerAddr;
use crate::tls::Connected;

/// Serves `app` on `listener` until `shutdown` completes, then waits for the open
/// connections to finish their requests.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener,
    L::Addr: Into<Connected>,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, connected) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let Connected { addr, certificate } = connected.into();
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(PeerAddr(addr)));
                req.extensions_mut().insert(certificate.clone());
                req.map(axum::body::Body::new)
            },
        );
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(peer = %addr, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
