//! The run `init` and `generate` share once the configuration is known: validate it, render the
//! stack, check what was rendered, plan the writes (with `.env` on compose), then write them or
//! print the diff.

use super::args::WriteArgs;
use super::messages;
use crate::error::Error;
use crate::model::{Config, Target};
use crate::render::{self, OutFile};
use crate::write::{self, Planned, Policy};

/// Validates, renders, checks and writes (or diffs) the stack for `cfg`; `config_file` is the
/// `obs.toml` to write beside it (`init`), `origin` the file named in validation messages.
pub(super) fn build(
    cfg: &Config,
    origin: &str,
    w: &WriteArgs,
    config_file: Option<OutFile>,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    crate::validate::validate(cfg, origin).map_err(Error::Invalid)?;
    let files = render::render(cfg)?;
    crate::check::self_check(&files)?;
    let mut planned: Vec<Planned> = files
        .into_iter()
        .map(|file| Planned {
            file,
            policy: Policy::Managed,
        })
        .collect();
    if let Some(file) = config_file {
        planned.push(Planned {
            file,
            policy: Policy::Config,
        });
    }
    // The Kubernetes target keeps every secret in Secrets the user creates: no .env.
    if cfg.target == Target::Compose {
        let env_path = w.output.join(".env");
        let password = if env_path.exists() {
            String::new()
        } else {
            render::compose::env::random_password()?
        };
        planned.push(Planned {
            file: OutFile {
                path: ".env".into(),
                contents: render::compose::env::dotenv(cfg, &password),
            },
            policy: Policy::CreateOnce,
        });
    }
    let plan = write::plan(&w.output, planned, w.force)?;
    if w.dry_run {
        messages::dry_run(&plan, out);
        return Ok(());
    }
    plan.apply()?;
    messages::written(&plan, cfg, &w.output, out);
    Ok(())
}
