//! `obs-gen`: writes a self-hosted monitoring stack for services using `obs-service`.
//! See `obs-gen --help`; the work happens in the `obs_gen` library.

fn main() {
    std::process::exit(obs_gen::cli::run());
}
