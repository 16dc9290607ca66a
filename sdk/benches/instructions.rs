//! Runs `OBS_BENCH_REQUESTS` requests (default 10 000) through one stack of `scenarios`, named by
//! `OBS_BENCH_STACK`, so `valgrind --tool=callgrind` can count instructions per request: counts
//! do not depend on what else the machine is doing. `scripts/bench-callgrind.sh` runs it for
//! every stack and reports instructions per request.

mod scenarios;

fn main() {
    let name = std::env::var("OBS_BENCH_STACK").unwrap_or_else(|_| "obs_full".into());
    let requests: u64 = std::env::var("OBS_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let Some(variant) = scenarios::Variant::ALL
        .iter()
        .copied()
        .find(|v| v.name() == name)
    else {
        eprintln!(
            "unknown OBS_BENCH_STACK={name}; one of: {}",
            scenarios::Variant::ALL
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _runtime_context = runtime.enter();
    let setup = scenarios::setup(variant);
    let router = setup.router.clone();
    runtime.block_on(async {
        for _ in 0..requests {
            std::hint::black_box(scenarios::one_request(router.clone()).await);
        }
    });
}
