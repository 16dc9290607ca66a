//! The Loki and OTLP stand-ins: HTTP endpoints on loopback that decode what they get with the
//! [`Decode`] they are given (see [`crate::wire`]), count it, and flap between up, refusing
//! connections and answering 5xx.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// The state of a stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Up,
    /// Nothing listens: connections are refused.
    Refuse,
    /// Listening, answering every request with this status.
    Fail(u16),
}

impl Phase {
    pub(crate) fn label(self) -> String {
        match self {
            Phase::Up => "up".into(),
            Phase::Refuse => "refused".into(),
            Phase::Fail(code) => code.to_string(),
        }
    }
}

/// The states every flap period goes through, in order.
pub(crate) const CYCLE: [Phase; 8] = [
    Phase::Up,
    Phase::Refuse,
    Phase::Up,
    Phase::Fail(500),
    Phase::Up,
    Phase::Refuse,
    Phase::Up,
    Phase::Fail(503),
];

/// What a stand-in counted.
#[derive(Default)]
struct Counts {
    /// Lines or spans in the requests answered 2xx.
    items: AtomicU64,
    /// Requests answered 2xx.
    accepted: AtomicU64,
    /// Requests answered 500 or 503 on purpose.
    failed: AtomicU64,
    /// Bodies that did not decode (answered 400, which the exporter counts as `rejected`).
    undecodable: AtomicU64,
}

/// Decodes one request body into how many items it carries.
pub(crate) type Decode = fn(&HeaderMap, &[u8]) -> Result<u64, String>;

#[derive(Clone)]
struct StandInState {
    phase: watch::Receiver<Phase>,
    counts: Arc<Counts>,
    decode: Decode,
    ok: StatusCode,
}

async fn stand_in_handler(
    State(state): State<StandInState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let phase = *state.phase.borrow();
    match phase {
        Phase::Up => match (state.decode)(&headers, &body) {
            Ok(items) => {
                state.counts.items.fetch_add(items, Ordering::Relaxed);
                state.counts.accepted.fetch_add(1, Ordering::Relaxed);
                state.ok.into_response()
            }
            Err(reason) => {
                state.counts.undecodable.fetch_add(1, Ordering::Relaxed);
                eprintln!("stand-in: {reason}");
                (StatusCode::BAD_REQUEST, reason).into_response()
            }
        },
        Phase::Fail(code) => {
            state.counts.failed.fetch_add(1, Ordering::Relaxed);
            StatusCode::from_u16(code).unwrap().into_response()
        }
        // Arrived on a connection accepted just before the listener closed.
        Phase::Refuse => {
            state.counts.failed.fetch_add(1, Ordering::Relaxed);
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// A stand-in endpoint on its own thread and runtime, so the load cannot starve it of a
/// scheduler (only of CPU, as a real endpoint on the same host would be).
pub(crate) struct StandIn {
    addr: SocketAddr,
    phase: watch::Sender<Phase>,
    counts: Arc<Counts>,
}

/// Listens on `addr` again; the port was this stand-in's a moment ago.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl StandIn {
    pub(crate) fn start(decode: Decode, ok: StatusCode) -> Self {
        let (phase, phase_rx) = watch::channel(Phase::Up);
        let counts = Arc::new(Counts::default());
        let state = StandInState {
            phase: phase_rx.clone(),
            counts: counts.clone(),
            decode,
            ok,
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let mut listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
                    let addr = listener.local_addr().unwrap();
                    addr_tx.send(addr).unwrap();
                    let app = axum::Router::new()
                        .fallback(stand_in_handler)
                        .with_state(state);
                    let mut phase_rx = phase_rx;
                    loop {
                        let mut until_refused = phase_rx.clone();
                        // Graceful: the requests in flight are answered, idle keep-alive
                        // connections are closed, and the listener goes; an exporter's next
                        // connection is refused, as by a restarting server.
                        axum::serve(listener, app.clone())
                            .with_graceful_shutdown(async move {
                                let _ = until_refused.wait_for(|p| *p == Phase::Refuse).await;
                            })
                            .await
                            .unwrap();
                        let _ = phase_rx.wait_for(|p| *p != Phase::Refuse).await;
                        let until = Instant::now() + Duration::from_secs(20);
                        listener = loop {
                            match listen(addr) {
                                Ok(listener) => break listener,
                                Err(e) if Instant::now() < until => {
                                    let _ = e;
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                }
                                Err(e) => panic!("stand-in cannot listen on {addr} again: {e}"),
                            }
                        };
                    }
                });
        });
        StandIn {
            addr: addr_rx.recv().unwrap(),
            phase,
            counts,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn set(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Lines or spans in the requests answered 2xx.
    pub(crate) fn items(&self) -> u64 {
        self.counts.items.load(Ordering::Relaxed)
    }

    /// Requests answered 2xx.
    pub(crate) fn accepted(&self) -> u64 {
        self.counts.accepted.load(Ordering::Relaxed)
    }

    /// Requests answered 500 or 503 on purpose.
    pub(crate) fn failed(&self) -> u64 {
        self.counts.failed.load(Ordering::Relaxed)
    }

    /// Bodies that did not decode.
    pub(crate) fn undecodable(&self) -> u64 {
        self.counts.undecodable.load(Ordering::Relaxed)
    }
}
