//! Per-request cost of each stack in `scenarios`, in one criterion run:
//! `cargo bench -p obs-service --bench per_request`. Results and how to read them: BENCHMARKS.md.

mod scenarios;

use criterion::{Criterion, criterion_group, criterion_main};

fn per_request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // axum-prometheus spawns its upkeep task when built, so build inside the runtime.
    let _runtime_context = runtime.enter();
    let mut group = c.benchmark_group("per_request");
    for &variant in scenarios::Variant::ALL {
        // The subscriber guard is thread-local; the current-thread runtime polls on this thread.
        let setup = scenarios::setup(variant);
        let router = setup.router.clone();
        group.bench_function(variant.name(), |b| {
            b.to_async(&runtime)
                .iter(|| scenarios::one_request(router.clone()));
        });
        drop(setup);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = per_request
}
criterion_main!(benches);
