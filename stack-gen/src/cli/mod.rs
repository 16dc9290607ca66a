//! The command line: `init`, `generate`, `check`, `dashboards`, `doctor`, `completions`.
//!
//! `args` defines the arguments. Each subcommand with more than a line to it runs in its own
//! file (`init`, `generate`, `dashboards`, `doctor`); `build` is the run `init` and `generate`
//! share once the configuration is known, and `messages` what they print when done.

use clap::{CommandFactory as _, Parser as _};

use crate::error::Error;

mod args;
mod build;
mod dashboards;
mod doctor;
mod generate;
mod init;
mod messages;

pub use args::{Cli, Command, DashboardsCommand, DoctorArgs, GenerateArgs, InitArgs, WriteArgs};

/// Runs the command line; returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match dispatch(cli, &mut stdout) {
        Ok(()) => 0,
        Err(e) => {
            let _ = std::io::Write::flush(&mut stdout);
            for line in e.to_string().lines() {
                eprintln!("error: {line}");
            }
            e.exit_code()
        }
    }
}

/// Runs the command line `args` (the first item is the program name), writing what it prints
/// to `out`: what [`run`] does, for tests and tools that drive `obs-gen` as a library.
///
/// ```no_run
/// let mut out = Vec::new();
/// obs_gen::cli::run_from(["obs-gen", "generate", "--output", "monitoring"], &mut out).unwrap();
/// ```
pub fn run_from<I, T>(args: I, out: &mut dyn std::io::Write) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| Error::Input(e.to_string()))?;
    dispatch(cli, out)
}

fn dispatch(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), Error> {
    match cli.command {
        Command::Init(args) => init::run(*args, out),
        Command::Generate(args) => generate::run(&args, out),
        Command::Check { dir } => crate::check::check_dir(&dir, out).map(|()| {
            let _ = writeln!(out, "{}: ok", dir.display());
        }),
        Command::Dashboards(DashboardsCommand::List) => {
            dashboards::list(out);
            Ok(())
        }
        Command::Dashboards(DashboardsCommand::Export {
            for_import,
            out: dir,
        }) => dashboards::export(&dir, for_import, out),
        Command::Doctor(args) => doctor::run(&args, out),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "obs-gen", out);
            Ok(())
        }
    }
}
