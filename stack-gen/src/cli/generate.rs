//! `obs-gen generate`: reads `obs.toml` and rebuilds the stack from it.

use super::args::GenerateArgs;
use super::build::build;
use crate::error::Error;
use crate::model::{CONFIG_FILE, Config};

/// Runs `generate`.
pub(super) fn run(args: &GenerateArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.write.output.join(CONFIG_FILE));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Input(format!(
                "{}: not found; run `obs-gen init` first (or pass --config)",
                path.display()
            ))
        } else {
            Error::io(&path, "read", &e)
        }
    })?;
    let origin = path.display().to_string();
    let cfg = Config::from_toml(&text, &origin)?;
    build(&cfg, &origin, &args.write, None, out)
}
