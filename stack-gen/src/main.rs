//! `obs-gen`: writes a self-hosted monitoring stack for services using `obs-sdk`.

use clap::{Parser, Subcommand};

/// Writes a complete self-hosted monitoring stack for services that use obs-sdk.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create obs.toml and the stack.
    Init {
        /// Take every default without asking.
        #[arg(long)]
        yes: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { yes: _ } => {
            println!("obs-gen init: the generator is being built; catalogue version {}", obs_sdk::catalogue::VERSION);
        }
    }
}
