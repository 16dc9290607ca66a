//! The standard gRPC health service (`grpc.health.v1.Health`, tonic-health) answering from
//! the SDK's readiness checks.

use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::Health;

/// How often draining is looked at between two runs of the checks: a drain must reach the
/// health service's watchers well within the drain period.
const DRAIN_POLL: Duration = Duration::from_millis(200);

/// Keeps a tonic-health [`HealthReporter`] in step with readiness: `SERVING` while
/// [`Health::ready`] says `ok` or `degraded`, `NOT_SERVING` while it says `down`, and
/// `NOT_SERVING` as soon as the service drains on SIGTERM (with a [`Health`] from
/// [`Obs::health`](crate::Obs::health)), for the overall server (`""`) and every listed
/// service.
///
/// ```no_run
/// # async fn run(obs: obs_service::Obs) {
/// let (reporter, health_service) = tonic_health::server::health_reporter();
/// let sync = obs_service::grpc::HealthSync::new(obs.health())
///     .service("demo.v1.Users")
///     .spawn(reporter);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HealthSync {
    health: Health,
    services: Vec<String>,
    interval: Duration,
}

impl HealthSync {
    /// Readiness of `health`, run every 5 seconds (its cache, if it has one, still applies).
    pub fn new(health: Health) -> Self {
        Self {
            health,
            services: vec![String::new()],
            interval: Duration::from_secs(5),
        }
    }

    /// A service whose status follows readiness too (tonic's `NamedService::NAME`), beside
    /// the overall server's (`""`).
    pub fn service(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !self.services.contains(&name) {
            self.services.push(name);
        }
        self
    }

    /// How often the readiness checks run (default 5 s). Draining is seen within a fraction
    /// of a second whatever this is.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(DRAIN_POLL);
        self
    }

    /// Runs readiness once and sets every listed service's status from it; returns the
    /// status set.
    pub async fn sync_once(&self, reporter: &HealthReporter) -> ServingStatus {
        let status = match self.health.is_draining() {
            true => ServingStatus::NotServing,
            false => match self.health.ready().await.status.http_status() {
                200 => ServingStatus::Serving,
                _ => ServingStatus::NotServing,
            },
        };
        self.set(reporter, status).await;
        status
    }

    async fn set(&self, reporter: &HealthReporter, status: ServingStatus) {
        for service in &self.services {
            reporter.set_service_status(service, status).await;
        }
    }

    /// Spawns the task that keeps `reporter` in step, on the current Tokio runtime. It runs
    /// until aborted, or until the runtime stops.
    pub fn spawn(self, reporter: HealthReporter) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let status = self.sync_once(&reporter).await;
                let mut waited = Duration::ZERO;
                while waited < self.interval {
                    tokio::time::sleep(DRAIN_POLL).await;
                    waited += DRAIN_POLL;
                    if status == ServingStatus::Serving && self.health.is_draining() {
                        self.set(&reporter, ServingStatus::NotServing).await;
                        break;
                    }
                }
            }
        })
    }
}
