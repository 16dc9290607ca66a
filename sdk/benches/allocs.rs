//! Heap allocations per request for each stack in `scenarios`, counted by dhat:
//! `cargo bench -p obs-service --bench allocs`. Results: BENCHMARKS.md.

mod scenarios;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const REQUESTS: u64 = 20_000;

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // axum-prometheus spawns its upkeep task when built, so build inside the runtime.
    let _runtime_context = runtime.enter();
    println!(
        "{:<24} {:>14} {:>16}",
        "stack", "allocs/request", "bytes/request"
    );
    for &variant in scenarios::Variant::ALL {
        let setup = scenarios::setup(variant);
        let router = setup.router.clone();
        runtime.block_on(async {
            for _ in 0..1_000 {
                scenarios::one_request(router.clone()).await;
            }
        });
        let before = dhat::HeapStats::get();
        runtime.block_on(async {
            for _ in 0..REQUESTS {
                scenarios::one_request(router.clone()).await;
            }
        });
        let after = dhat::HeapStats::get();
        println!(
            "{:<24} {:>14.1} {:>16.0}",
            variant.name(),
            (after.total_blocks - before.total_blocks) as f64 / REQUESTS as f64,
            (after.total_bytes - before.total_bytes) as f64 / REQUESTS as f64,
        );
        drop(setup);
    }
}
