//! The load's and the scraper's HTTP/1 client: one kept-alive connection to the demo each,
//! opened again after a failure.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// Requests the demo answered, all phases and scrapes included: one server span each.
pub(crate) static ANSWERED: AtomicU64 = AtomicU64::new(0);

async fn connect(addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}

/// Sends one request on a kept-alive connection (opening one if needed); returns the status,
/// or `None` when the connection failed (it is opened again next time).
pub(crate) async fn send(
    addr: SocketAddr,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    request: hyper::Request<Full<Bytes>>,
) -> Option<(u16, Bytes)> {
    if sender.is_none() {
        *sender = connect(addr).await;
    }
    let s = sender.as_mut()?;
    let result = async {
        s.ready().await.ok()?;
        let response = s.send_request(request).await.ok()?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, body))
    }
    .await;
    match result {
        Some(_) => ANSWERED.fetch_add(1, Ordering::Relaxed),
        None => {
            *sender = None;
            0
        }
    };
    result
}
