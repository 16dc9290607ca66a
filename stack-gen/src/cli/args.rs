//! The arguments of `obs-gen` and of each subcommand, with the examples `--help` shows.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::{self, Duration, HostPort, LogShipper, ReceiverKind, Target};

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
  obs-gen doctor https://api.internal:8443 --cacert ca.pem  # TLS, a private CA

Exit codes: 0 every check passed; 1 a check failed, the service included
(each failure line says how to fix it); 2 bad input (a --cacert file that
holds no certificate).";

/// `doctor` arguments.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The service's base URL, http:// or https://, e.g. http://127.0.0.1:3000. A path is the
    /// route of the doctor's test request (default /). A user and password in it are sent as
    /// basic auth and never printed.
    pub url: String,
    /// Check the service's log lines too: a file it writes, or `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub log_file: Option<PathBuf>,
    /// Print the report as JSON (for CI) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for each whole answer (as curl's --max-time) and for the request's log
    /// line.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub timeout: u64,
    /// Seconds to wait for a connection, TLS handshake included (as curl's --connect-timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 3)]
    pub connect_timeout: u64,
    /// Trust the CA certificates in this PEM file instead of the built-in roots (as curl's
    /// --cacert): for a service whose certificate a private CA issued.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
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
    /// `[databases.postgres]`: watch PostgreSQL (default address host.docker.internal:5432;
    /// on Kubernetes postgres.default.svc:5432).
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1)]
    pub postgres: Option<Option<HostPort>>,
    /// `[databases.redis]`: watch Redis (default address host.docker.internal:6379; on
    /// Kubernetes redis.default.svc:6379).
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1)]
    pub redis: Option<Option<HostPort>>,
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
    /// `grafana_url`: where people open Grafana; the alerts' dashboard links start there.
    #[arg(long, value_name = "URL")]
    pub grafana_url: Option<model::GrafanaUrl>,
}
