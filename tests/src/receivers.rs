//! Stand-ins the live tests run themselves: an Alertmanager webhook receiver and a TCP proxy
//! that can be cut to make a dependency "go down".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

/// An HTTP server on 127.0.0.1 recording every JSON body POSTed to it (Alertmanager's webhook
/// payload). Stops on drop.
pub struct Webhook {
    /// The URL to configure as the webhook.
    pub url: String,
    posts: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Webhook {
    /// Starts the receiver on a free port.
    pub async fn start() -> Webhook {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let sink = posts.clone();
        let app = axum::Router::new().fallback(axum::routing::post(
            move |axum::Json(body): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().expect("webhook posts").push(body);
                    "ok"
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the webhook receiver");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook {
            url: format!("http://{addr}/alerts"),
            posts,
            task,
        }
    }

    /// Every payload received so far.
    pub fn posts(&self) -> Vec<Value> {
        self.posts.lock().expect("webhook posts").clone()
    }

    /// Every alert of every payload received so far, each with its payload's `receiver` and
    /// `status` added as `_receiver` and `_status`.
    pub fn alerts(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for post in self.posts() {
            for alert in post["alerts"].as_array().into_iter().flatten() {
                let mut a = alert.clone();
                a["_receiver"] = post["receiver"].clone();
                a["_status"] = post["status"].clone();
                out.push(a);
            }
        }
        out
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards TCP connections from a free 127.0.0.1 port to `upstream` until [`TcpProxy::cut`]:
/// then every connection is closed and new ones are refused, as if the upstream went down.
pub struct TcpProxy {
    /// The address clients connect to.
    pub addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let addr = listener.local_addr().expect("local address");
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let conns = tasks.clone();
        let upstream = upstream.to_string();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().expect("proxy tasks").push(conn);
            }
        });
        tasks.lock().expect("proxy tasks").push(accept);
        TcpProxy { addr, tasks }
    }

    /// Closes every connection and the listening socket.
    pub fn cut(&self) {
        for t in self.tasks.lock().expect("proxy tasks").drain(..) {
            t.abort();
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
