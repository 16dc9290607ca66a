//! The command line: `init`, `generate`, `check`, `dashboards`, `completions`.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory as _, Parser, Subcommand};

use crate::error::Error;
use crate::model::{
    self, Alerting, AlertingKeys, CONFIG_FILE, Config, Database, Duration, HostPort, LogShipper,
    ReceiverKind, Service, Target,
};
use crate::render::{self, OutFile};
use crate::write::{self, Planned, Policy};

const EXAMPLES: &str = "\
Examples:
  obs-gen init              # the wizard, on a terminal
  obs-gen init --yes        # defaults: service `app` at host.docker.internal:3000
  obs-gen init --yes --service api=host.docker.internal:8080 \\
      --service worker=host.docker.internal:9000 --log-shipper promtail \\
      --postgres --redis --retention 30d --tracing \\
      --receiver slack --slack-channel '#alerts'
  obs-gen init --yes --app-compose ../app/compose.yaml  # detect PostgreSQL/Redis
  obs-gen generate          # rebuild ./monitoring from ./monitoring/obs.toml
  obs-gen generate --dry-run        # print the diff, write nothing
  obs-gen check monitoring  # validate; promtool/amtool when on PATH
  obs-gen doctor http://127.0.0.1:3000 --log-file app.log  # check a service
  obs-gen dashboards list
  obs-gen dashboards export --for-import --out ./dashboards
  obs-gen completions bash > /etc/bash_completion.d/obs-gen

Exit codes: 0 success; 1 `check` or `doctor` found problems; 2 bad input,
a refused overwrite or an unwritable output directory.";

/// Writes a self-hosted monitoring stack (Prometheus, Alertmanager, Loki, Alloy or Promtail,
/// Grafana, optionally Tempo) for services that use obs-service.
#[derive(Debug, Parser)]
#[command(name = "obs-gen", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask the questions (or take them as flags), write obs.toml and the stack.
    #[command(after_help = EXAMPLES)]
    Init(Box<InitArgs>),
    /// Rebuild the stack from obs.toml.
    Generate(GenerateArgs),
    /// Validate a generated directory: YAML/JSON, the name contract, promtool and amtool.
    Check {
        /// The generated directory.
        #[arg(default_value = "monitoring")]
        dir: PathBuf,
    },
    /// List or export the bundled Grafana dashboards.
    #[command(subcommand)]
    Dashboards(DashboardsCommand),
    /// Check a running service's observability: request IDs, /metrics against the catalogue,
    /// the health endpoints and (given a log) its JSON log lines.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `dashboards` subcommands.
#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// One line per dashboard: uid, file, what it answers.
    List,
    /// Write the dashboards' JSON files, and the recording rules they read
    /// (obs-recording-rules.yaml: load it into the Prometheus they query).
    Export {
        /// The form Grafana's "Import" accepts (datasources become inputs).
        #[arg(long)]
        for_import: bool,
        /// Directory to write into.
        #[arg(long, default_value = "obs-dashboards")]
        out: PathBuf,
    },
}

const DOCTOR_EXAMPLES: &str = "\
Examples:
  obs-gen doctor http://127.0.0.1:3000
  obs-gen doctor http://127.0.0.1:3000 --log-file /var/log/app/app.log
  ./my-service | obs-gen doctor http://127.0.0.1:3000 --log-file -
  obs-gen doctor http://api:8080 --json      # for CI

Exit codes: 0 every check passed; 1 a check failed (each failure line says
how to fix it).";

/// `doctor` arguments.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The service's base URL (plain HTTP), e.g. http://127.0.0.1:3000. A path is the route of
    /// the doctor's test request (default /).
    pub url: String,
    /// Check the service's log lines too: a file it writes, or `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub log_file: Option<PathBuf>,
    /// Print the report as JSON (for CI) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for each answer and for the request's log line.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub timeout: u64,
}

/// Where and how to write.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Output directory.
    #[arg(long, short, default_value = "monitoring")]
    pub output: PathBuf,
    /// Overwrite files changed by hand since obs-gen wrote them.
    #[arg(long)]
    pub force: bool,
    /// Print the diff of what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `generate` arguments.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where and how to write.
    #[command(flatten)]
    pub write: WriteArgs,
    /// The configuration (default: obs.toml in the output directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `init` arguments: every question of the wizard as a flag named after its obs.toml key.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where and how to write.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Take the default for every question not given as a flag; never prompt.
    #[arg(long, short)]
    pub yes: bool,
    /// `project`: the compose project name.
    #[arg(long)]
    pub project: Option<String>,
    /// `environment`: the `env` label (production, staging, …).
    #[arg(long)]
    pub environment: Option<String>,
    /// `target`: what to write for.
    #[arg(long, value_enum)]
    pub target: Option<Target>,
    /// `[[services]]`: NAME=HOST:PORT, repeatable (metrics at /metrics, liveness at /health/live);
    /// NAME alone with `--target kubernetes`.
    #[arg(long = "service", value_name = "NAME=HOST:PORT")]
    pub services: Vec<String>,
    /// `kubernetes.namespace`: the namespace of the manifests (default monitoring).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// `kubernetes.prometheus_release`: the kube-prometheus-stack release whose selectors must
    /// match (default kube-prometheus-stack).
    #[arg(long, value_name = "RELEASE")]
    pub prometheus_release: Option<String>,
    /// `[remote_write] url`: also write every sample to this push URL (Mimir, Thanos, VictoriaMetrics).
    #[arg(long, value_name = "URL")]
    pub remote_write_url: Option<String>,
    /// `[[slo]]`: SERVICE=OBJECTIVE, an availability SLO (percent of requests without a 5xx
    /// over 30 days), repeatable; latency SLOs and other windows are written in obs.toml.
    #[arg(long = "slo", value_name = "SERVICE=OBJECTIVE")]
    pub slos: Vec<String>,
    /// `log_shipper`.
    #[arg(long, value_enum)]
    pub log_shipper: Option<LogShipper>,
    /// `[databases.postgres]`: watch PostgreSQL (default address host.docker.internal:5432).
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = model::DEFAULT_POSTGRES_ADDRESS)]
    pub postgres: Option<HostPort>,
    /// `[databases.redis]`: watch Redis (default address host.docker.internal:6379).
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = model::DEFAULT_REDIS_ADDRESS)]
    pub redis: Option<HostPort>,
    /// Detect PostgreSQL and Redis from the application's own compose file.
    #[arg(long, value_name = "PATH")]
    pub app_compose: Option<PathBuf>,
    /// `alerting.receiver`.
    #[arg(long, value_enum)]
    pub receiver: Option<ReceiverKind>,
    /// `alerting.webhook_url_env`: variable holding the webhook URL.
    #[arg(long, value_name = "VAR")]
    pub webhook_url_env: Option<String>,
    /// `alerting.slack_api_url_env`: variable holding the Slack webhook URL.
    #[arg(long, value_name = "VAR")]
    pub slack_api_url_env: Option<String>,
    /// `alerting.slack_channel`.
    #[arg(long, value_name = "CHANNEL")]
    pub slack_channel: Option<String>,
    /// `alerting.email_to`.
    #[arg(long, value_name = "ADDRESS")]
    pub email_to: Option<String>,
    /// `alerting.email_from`.
    #[arg(long, value_name = "ADDRESS")]
    pub email_from: Option<String>,
    /// `alerting.email_smarthost`: SMTP HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub email_smarthost: Option<HostPort>,
    /// `alerting.email_username`.
    #[arg(long, value_name = "USER")]
    pub email_username: Option<String>,
    /// `alerting.email_password_env`: variable holding the SMTP password.
    #[arg(long, value_name = "VAR")]
    pub email_password_env: Option<String>,
    /// `retention`: how long metrics, logs and traces are kept (15d, 720h, 4w).
    #[arg(long, value_name = "DURATION")]
    pub retention: Option<Duration>,
    /// `tracing`: run Tempo with an OTLP endpoint.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tracing: Option<bool>,
    /// `sentry`: the services report to Sentry.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub sentry: Option<bool>,
    /// `frontend`: write a Sentry setup for this web front end (needs --sentry).
    #[arg(long, value_enum)]
    pub frontend: Option<model::Frontend>,
    /// `[[services]]` `public_url`: NAME=URL, the URL browsers call a service at (repeatable);
    /// its origin goes into the frontend's `tracePropagationTargets`.
    #[arg(long = "public-url", value_name = "NAME=URL")]
    pub public_urls: Vec<String>,
    /// `bind_address`: where the UIs and APIs are published.
    #[arg(long, value_name = "IP")]
    pub bind_address: Option<std::net::IpAddr>,
}

/// Runs the command line; returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match dispatch(cli, &mut stdout) {
        Ok(()) => 0,
        Err(e) => {
            let _ = stdout.flush();
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
        Command::Init(args) => init(*args, out),
        Command::Generate(args) => generate(args, out),
        Command::Check { dir } => crate::check::check_dir(&dir, out).map(|()| {
            let _ = writeln!(out, "{}: ok", dir.display());
        }),
        Command::Dashboards(DashboardsCommand::List) => {
            for d in obs_mixin::dashboards() {
                let _ = writeln!(out, "{}\t{}\t{}", d.uid, d.file_name, d.description);
            }
            Ok(())
        }
        Command::Dashboards(DashboardsCommand::Export {
            for_import,
            out: dir,
        }) => export_dashboards(&dir, for_import, out),
        Command::Doctor(args) => doctor(&args, out),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "obs-gen", out);
            Ok(())
        }
    }
}

fn doctor(args: &DoctorArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let opts = crate::doctor::Options {
        url: args.url.clone(),
        log: args.log_file.as_ref().map(|p| {
            if p.as_os_str() == "-" {
                crate::doctor::LogSource::Stdin
            } else {
                crate::doctor::LogSource::File(p.clone())
            }
        }),
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
    };
    let report = crate::doctor::run(&opts);
    if args.json {
        let text = serde_json::to_string_pretty(&report).expect("the report serialises");
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(out, "{}", report.table());
    }
    let failed = report.failures().count();
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "doctor: {failed} check(s) failed for {}",
            args.url
        )))
    }
}

fn export_dashboards(
    dir: &Path,
    for_import: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let mut files: Vec<Planned> = obs_mixin::dashboards()
        .iter()
        .map(|d| {
            let json = if for_import {
                obs_mixin::for_import(d)
            } else {
                d.json.clone()
            };
            let contents =
                serde_json::to_string_pretty(&json).expect("dashboards serialise") + "\n";
            Planned {
                file: OutFile {
                    path: d.file_name.clone(),
                    contents,
                },
                policy: Policy::Managed,
            }
        })
        .collect();
    let n = files.len();
    // The panels built on recording rules show nothing in a Prometheus without them, so the
    // rules travel with the dashboards.
    let rules = obs_mixin::recording_rule_file();
    files.push(Planned {
        file: OutFile {
            path: rules.file_name.clone(),
            contents: rules.yaml,
        },
        policy: Policy::Managed,
    });
    let plan = write::plan(dir, files, false)?;
    plan.apply()?;
    let _ = writeln!(
        out,
        "exported {n} dashboards and {} (the recording rules they read) to {}",
        rules.file_name,
        dir.display()
    );
    let on_rules: Vec<String> = obs_mixin::dashboards()
        .iter()
        .map(|d| {
            (
                d.title.clone(),
                obs_mixin::panels_on_recording_rules(d).len(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .map(|(title, n)| format!("{n} of {title}"))
        .collect();
    let _ = writeln!(
        out,
        "note: add {} to the rule_files of the Prometheus the dashboards query; imported alone, the \
         panels built on its recording rules ({}) show no data",
        rules.file_name,
        on_rules.join(", ")
    );
    // The SLO rules depend on the user's objectives, so no fixed file can travel with them.
    let _ = writeln!(
        out,
        "note: obs / SLOs reads the rules obs-gen writes for the [[slo]] tables of obs.toml \
         (prometheus/rules/obs-slo-<name>.yaml); without them it shows no SLO"
    );
    Ok(())
}

/// Builds the configuration of `init` from its flags (no prompts).
pub fn config_from_flags(a: &InitArgs) -> Result<Config, Error> {
    let mut cfg = Config::default();
    if let Some(v) = &a.project {
        cfg.project = v.clone();
    }
    if let Some(v) = &a.environment {
        cfg.environment = v.clone();
    }
    if let Some(v) = a.target {
        cfg.target = v;
    }
    for (i, s) in a.services.iter().enumerate() {
        let service = match (s.split_once('='), cfg.target) {
            (Some((name, target)), _) => {
                let target = target
                    .parse()
                    .map_err(|e| Error::Input(format!("--service: services[{i}].target: {e}")))?;
                Service::new(name, target)
            }
            // Kubernetes finds a service by its Service labels, not an address.
            (None, Target::Kubernetes) => Service::kubernetes(s),
            (None, Target::Compose) => {
                return Err(Error::Input(format!(
                    "--service[{i}]: {s:?} must be NAME=HOST:PORT"
                )));
            }
        };
        cfg.services.push(service);
    }
    // A Kubernetes obs.toml shows its [kubernetes] table, defaults included.
    if a.namespace.is_some() || a.prometheus_release.is_some() || cfg.target == Target::Kubernetes {
        let k = cfg.kubernetes.get_or_insert_with(Default::default);
        if let Some(v) = &a.namespace {
            k.namespace = v.clone();
        }
        if let Some(v) = &a.prometheus_release {
            k.prometheus_release = v.clone();
        }
    }
    if let Some(url) = &a.remote_write_url {
        cfg.remote_write = Some(crate::model::RemoteWrite {
            url: url.clone(),
            username: None,
            password_env: None,
            bearer_token_env: None,
        });
    }
    for (i, s) in a.slos.iter().enumerate() {
        let parsed = s
            .split_once('=')
            .and_then(|(service, objective)| Some((service, objective.trim().parse().ok()?)));
        let Some((service, objective)) = parsed else {
            return Err(Error::Input(format!(
                "--slo[{i}]: {s:?} must be SERVICE=OBJECTIVE, the objective in percent (api=99.9)"
            )));
        };
        cfg.slo.push(availability(service.trim(), objective));
    }
    if let Some(v) = a.log_shipper {
        cfg.log_shipper = v;
    }
    if let Some(path) = &a.app_compose {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", &e))?;
        cfg.databases = model::detect_databases(&text, &path.display().to_string())?;
    }
    if let Some(v) = &a.postgres {
        cfg.databases.postgres = Some(Database { address: v.clone() });
    }
    if let Some(v) = &a.redis {
        cfg.databases.redis = Some(Database { address: v.clone() });
    }
    // Without --receiver the wizard asks, reading the receiver's flags itself.
    if a.receiver.is_some() || a.yes {
        cfg.alerting = Alerting::try_from(alerting_keys(a)).map_err(Error::Input)?;
    }
    if let Some(v) = &a.retention {
        cfg.retention = v.clone();
    }
    if let Some(v) = a.tracing {
        cfg.tracing = v;
    }
    if let Some(v) = a.sentry {
        cfg.sentry = v;
    }
    if let Some(v) = a.bind_address {
        cfg.bind_address = v;
    }
    cfg.frontend = a.frontend;
    Ok(cfg)
}

/// Sets the `public_url` of the services named by `--public-url NAME=URL`. Runs once the
/// services are known (after the wizard and the `--yes` default), since a flag may name the
/// default service.
fn apply_public_urls(cfg: &mut Config, public_urls: &[String]) -> Result<(), Error> {
    for (i, entry) in public_urls.iter().enumerate() {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(Error::Input(format!(
                "--public-url[{i}]: {entry:?} must be NAME=URL"
            )));
        };
        let Some(service) = cfg.services.iter_mut().find(|s| s.name == name) else {
            return Err(Error::Input(format!(
                "--public-url[{i}]: no service is named {name:?} (give it with --service)"
            )));
        };
        service.public_url = Some(url.to_owned());
    }
    Ok(())
}

/// The `[alerting]` keys the flags give, in the form obs.toml is read in.
pub fn alerting_keys(a: &InitArgs) -> AlertingKeys {
    AlertingKeys {
        receiver: a.receiver.unwrap_or_default(),
        webhook_url_env: a.webhook_url_env.clone(),
        slack_api_url_env: a.slack_api_url_env.clone(),
        slack_channel: a.slack_channel.clone(),
        email_to: a.email_to.clone(),
        email_from: a.email_from.clone(),
        email_smarthost: a.email_smarthost.clone(),
        email_username: a.email_username.clone(),
        email_password_env: a.email_password_env.clone(),
        ..AlertingKeys::default()
    }
}

/// The wizard's and `--slo`'s availability SLO of a service: `<service>-availability` over the
/// default window.
pub fn availability(service: &str, objective: f64) -> obs_mixin::slo::Slo {
    obs_mixin::slo::Slo::availability(&format!("{service}-availability"), service, objective)
}

/// The service `--yes` adds when none is given: the demo's default port on the docker host
/// (on Kubernetes, the Service labelled `app.kubernetes.io/name: app`).
pub fn default_service(target: Target) -> Service {
    match target {
        Target::Compose => Service::new("app", HostPort::docker_host(model::Port::known(3000))),
        Target::Kubernetes => Service::kubernetes("app"),
    }
}

fn init(args: InitArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let mut cfg = config_from_flags(&args)?;
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::Input(
                "obs-gen init: no terminal to ask on; pass --yes to take the defaults for every question not given as a flag".into(),
            ));
        }
        crate::wizard::ask(&mut cfg, &args)?;
    }
    if cfg.services.is_empty() {
        cfg.services.push(default_service(cfg.target));
    }
    apply_public_urls(&mut cfg, &args.public_urls)?;
    let config_text = cfg.to_toml();
    // What init writes must read back as the same configuration.
    debug_assert_eq!(
        Config::from_toml(&config_text, CONFIG_FILE).ok().as_ref(),
        Some(&cfg)
    );
    let config_file = OutFile {
        path: CONFIG_FILE.into(),
        contents: config_text,
    };
    build(&cfg, CONFIG_FILE, &args.write, Some(config_file), out)
}

fn generate(args: GenerateArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
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

/// Validates, renders, checks and writes (or diffs) the stack for `cfg`.
fn build(
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
            crate::render::compose::env::random_password()?
        };
        planned.push(Planned {
            file: OutFile {
                path: ".env".into(),
                contents: crate::render::compose::env::dotenv(cfg, &password),
            },
            policy: Policy::CreateOnce,
        });
    }
    let plan = write::plan(&w.output, planned, w.force)?;
    if w.dry_run {
        let _ = write!(out, "{}", plan.diff());
        let _ = writeln!(out, "dry run, nothing written: {}", plan.summary());
        return Ok(());
    }
    plan.apply()?;
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let dir = w.output.display();
    let _ = writeln!(out, "wrote {dir}: {}", plan.summary());
    if cfg.target == Target::Kubernetes {
        let _ = writeln!(
            out,
            "next: install the charts and create the Secrets as {dir}/README.md shows, then kubectl apply --server-side -k {dir}"
        );
    } else if cfg.local.is_some() {
        let _ = writeln!(
            out,
            "next: start Prometheus and Alertmanager as {dir}/README.md (\"Local mode\") shows"
        );
    } else {
        let _ = writeln!(
            out,
            "next: cd {dir} && docker compose up -d   (Grafana: see {dir}/README.md)"
        );
    }
    Ok(())
}
