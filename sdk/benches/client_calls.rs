//! Makes `OBS_BENCH_CALLS` outgoing calls (default 10 000), one after another over one kept-alive
//! connection, to `GET /users/42` of the server at `OBS_BENCH_SERVER` (`host:port`), through the
//! reqwest stack `OBS_BENCH_CLIENT` names, so `valgrind --tool=callgrind` can count what the
//! client process spends per call. `scripts/bench-callgrind-client.sh` runs it for every stack.
//!
//! | `OBS_BENCH_CLIENT` | stack |
//! |---|---|
//! | `reqwest` | a bare `reqwest::Client` |
//! | `middleware` | the same through `reqwest-middleware` with no middleware: what the crate charges |
//! | `obs` | the same with obs-service's `ClientMiddleware` (request ID, trace headers when on, the histogram) |

fn main() {
    let calls: u64 = std::env::var("OBS_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let server = std::env::var("OBS_BENCH_SERVER").expect("OBS_BENCH_SERVER=host:port");
    let url = format!("http://{server}/users/42");
    let stack = std::env::var("OBS_BENCH_CLIENT").unwrap_or_else(|_| "obs".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metrics = obs_service::Metrics::new();
    let reqwest = reqwest::Client::new();
    let with = |builder: reqwest_middleware::ClientBuilder| builder.build();
    let client = match stack.as_str() {
        "reqwest" => None,
        "middleware" => Some(with(reqwest_middleware::ClientBuilder::new(
            reqwest.clone(),
        ))),
        "obs" => Some(with(
            reqwest_middleware::ClientBuilder::new(reqwest.clone())
                .with(obs_service::client::ClientMiddleware::new(&metrics)),
        )),
        other => panic!("OBS_BENCH_CLIENT={other:?}: expected reqwest, middleware or obs"),
    };
    runtime.block_on(async {
        for _ in 0..calls {
            let answer = match &client {
                None => reqwest.get(&url).send().await.unwrap(),
                Some(client) => client.get(&url).send().await.unwrap(),
            };
            assert_eq!(answer.status(), 200);
            std::hint::black_box(answer.bytes().await.unwrap());
        }
    });
}
