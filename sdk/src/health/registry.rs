//! [`Health`]: the registry of checks, how they run, and the routes serving their answers.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{Key, Label, Recorder};

use super::report::{ReportExt as _, json_response, now_rfc3339};
use super::{
    CheckError, CheckResult, DEFAULT_TIMEOUT, HEALTH_LOG_TARGET, HealthCheck, Liveness, Report,
    Status,
};
use crate::catalogue;
use crate::exposition::{METADATA, Metrics};

#[derive(Clone)]
struct Registered {
    name: Arc<str>,
    check: Arc<dyn HealthCheck>,
    critical: bool,
    timeout: Option<Duration>,
}

#[derive(Clone)]
struct Settings {
    version: String,
    started: Instant,
    checks: Vec<Registered>,
    default_timeout: Duration,
    cache_for: Option<Duration>,
    metrics: Option<Metrics>,
    drain: Option<crate::shutdown::Drain>,
}

#[derive(Default)]
struct State {
    cache: std::sync::Mutex<Cache>,
    /// Last outcome per check (0 unknown, 1 ok, 2 down), to log only changes.
    last: std::sync::Mutex<HashMap<Arc<str>, u8>>,
}

/// The cached report and the run in flight, if any.
#[derive(Default)]
struct Cache {
    /// The last report and when its run finished.
    report: Option<(Instant, Arc<Report>)>,
    /// Callers arriving during a run wait on this instead of starting their own.
    running: Option<tokio::sync::watch::Receiver<Option<Arc<Report>>>>,
}

/// The registry of readiness checks and the handlers of the health endpoints. Cheap to clone;
/// clones share the cache. See the [module documentation](crate::health).
#[derive(Clone)]
pub struct Health {
    settings: Arc<Settings>,
    state: Arc<State>,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("version", &self.settings.version)
            .field(
                "checks",
                &self
                    .settings
                    .checks
                    .iter()
                    .map(|c| &*c.name)
                    .collect::<Vec<_>>(),
            )
            .field("default_timeout", &self.settings.default_timeout)
            .field("cache_for", &self.settings.cache_for)
            .finish_non_exhaustive()
    }
}

impl Health {
    /// No checks yet, reporting `version`; uptime counts from now. Check timeout
    /// [`DEFAULT_TIMEOUT`], no cache, metrics recorded through the `metrics` facade (the
    /// registry [`init`](crate::init!) installs) until [`Health::metrics`] names one.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            settings: Arc::new(Settings {
                version: version.into(),
                started: Instant::now(),
                checks: Vec::new(),
                default_timeout: DEFAULT_TIMEOUT,
                cache_for: None,
                metrics: None,
                drain: None,
            }),
            state: Arc::new(State::default()),
        }
    }

    fn update(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(Arc::make_mut(&mut self.settings));
        // A changed configuration starts with a fresh cache.
        self.state = Arc::new(State::default());
        self
    }

    /// Adds a critical check with the default timeout; [`critical`](Health::critical) and
    /// [`timeout`](Health::timeout) right after it change that.
    ///
    /// # Panics
    ///
    /// If a check of that name exists: names are metric label values and JSON keys.
    pub fn check(self, name: impl Into<String>, check: impl HealthCheck) -> Self {
        let name: Arc<str> = name.into().into();
        assert!(
            !self.settings.checks.iter().any(|c| c.name == name),
            "a health check named {name:?} is already registered"
        );
        self.update(|s| {
            s.checks.push(Registered {
                name,
                check: Arc::new(check),
                critical: true,
                timeout: None,
            })
        })
    }

    fn last_check(self, what: &str, f: impl FnOnce(&mut Registered)) -> Self {
        assert!(
            !self.settings.checks.is_empty(),
            "Health::{what} applies to the check added last; add one with Health::check first"
        );
        self.update(|s| f(s.checks.last_mut().expect("checked above")))
    }

    /// Whether the check added last is critical (default `true`). A failing non-critical
    /// check makes the status `degraded` (HTTP 200) instead of `down` (HTTP 503).
    ///
    /// # Panics
    ///
    /// If no check was added yet.
    pub fn critical(self, critical: bool) -> Self {
        self.last_check("critical", |c| c.critical = critical)
    }

    /// The timeout of the check added last. A check still running then fails with
    /// `timed out after …`.
    ///
    /// # Panics
    ///
    /// If no check was added yet.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.last_check("timeout", |c| c.timeout = Some(timeout))
    }

    /// The timeout of checks that set none (default [`DEFAULT_TIMEOUT`], 2 s).
    pub fn default_timeout(self, timeout: Duration) -> Self {
        self.update(|s| s.default_timeout = timeout)
    }

    /// Reuses a run's result for `interval`: however many probes arrive, the checks run at
    /// most once per interval, and callers arriving during a run share it. Off by default.
    pub fn cache_for(self, interval: Duration) -> Self {
        self.update(|s| s.cache_for = (!interval.is_zero()).then_some(interval))
    }

    /// Records the check metrics into `metrics` instead of through the `metrics` facade.
    pub fn metrics(self, metrics: &Metrics) -> Self {
        let metrics = metrics.clone();
        self.update(|s| s.metrics = Some(metrics))
    }

    /// Answers readiness with `503 draining` (running no check) once `drain` is
    /// [started](crate::shutdown::Drain::start); [`Obs::health`](crate::Obs::health) sets it.
    pub fn drain(self, drain: &crate::shutdown::Drain) -> Self {
        let drain = drain.clone();
        self.update(|s| s.drain = Some(drain))
    }

    /// The names of the registered checks, in registration order.
    pub fn check_names(&self) -> Vec<&str> {
        self.settings.checks.iter().map(|c| &*c.name).collect()
    }

    /// The liveness answer. Touches no dependency.
    pub fn liveness(&self) -> Liveness {
        Liveness {
            status: Status::Ok,
            timestamp: now_rfc3339(),
            version: self.settings.version.clone(),
            uptime_seconds: self.settings.started.elapsed().as_secs(),
        }
    }

    /// The readiness report: runs the checks, or returns the cached report while it is fresh.
    ///
    /// With a cache interval, the run happens on a task of its own that callers join: a caller
    /// that gives up (a probe whose client timed out) neither cancels the run nor makes the
    /// next caller start another one, so even probes that time out against a slow database
    /// cause at most one run per interval.
    pub async fn ready(&self) -> Arc<Report> {
        if let Some(report) = self.draining_report() {
            return Arc::new(report);
        }
        let Some(interval) = self.settings.cache_for else {
            return Arc::new(self.run_checks().await);
        };
        let mut running = {
            let mut cache = self.state.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, report)) = &cache.report
                && at.elapsed() < interval
            {
                return report.clone();
            }
            match &cache.running {
                Some(running) => running.clone(),
                None => {
                    let (done, running) = tokio::sync::watch::channel(None);
                    cache.running = Some(running.clone());
                    let health = self.clone();
                    tokio::spawn(async move {
                        let report = Arc::new(health.run_checks().await);
                        let mut cache =
                            health.state.cache.lock().unwrap_or_else(|e| e.into_inner());
                        cache.report = Some((Instant::now(), report.clone()));
                        cache.running = None;
                        let _ = done.send(Some(report));
                    });
                    running
                }
            }
        };
        // Bind the outcome first: the borrow `wait_for` returns must not live across an await.
        let outcome = running
            .wait_for(Option::is_some)
            .await
            .map(|report| report.clone().expect("waited for a report"));
        match outcome {
            Ok(report) => report,
            // The run's task died (its runtime is shutting down): run here instead.
            Err(_) => {
                self.state
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .running = None;
                Arc::new(self.run_checks().await)
            }
        }
    }

    /// Whether the service is draining: readiness fails whatever its checks say.
    #[cfg_attr(
        not(feature = "grpc"),
        allow(
            dead_code,
            reason = "only the gRPC health sync asks without running the checks"
        )
    )]
    pub(crate) fn is_draining(&self) -> bool {
        self.settings
            .drain
            .as_ref()
            .is_some_and(crate::shutdown::Drain::is_draining)
    }

    /// The report while draining: no check runs, the dependencies are not the reason.
    fn draining_report(&self) -> Option<Report> {
        let draining = self.settings.drain.as_ref()?.is_draining();
        draining.then(|| Report {
            status: Status::Draining,
            timestamp: now_rfc3339(),
            version: self.settings.version.clone(),
            uptime_seconds: self.settings.started.elapsed().as_secs(),
            checks: BTreeMap::new(),
        })
    }

    /// Runs every check now, concurrently, ignoring the cache.
    pub async fn run_checks(&self) -> Report {
        let settings = &self.settings;
        let mut tasks = tokio::task::JoinSet::new();
        let mut index_of = HashMap::new();
        for (index, registered) in settings.checks.iter().enumerate() {
            let check = registered.check.clone();
            let timeout = registered.timeout.unwrap_or(settings.default_timeout);
            let handle = tasks.spawn(async move {
                let start = Instant::now();
                let result = match tokio::time::timeout(timeout, check.check()).await {
                    Ok(result) => result,
                    Err(_) => Err(CheckError::new(format_args!("timed out after {timeout:?}"))),
                };
                (index, result, start.elapsed())
            });
            index_of.insert(handle.id(), index);
        }
        let started = Instant::now();
        let mut outcomes: Vec<Option<(Result<(), CheckError>, Duration)>> =
            vec![None; settings.checks.len()];
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, (index, result, elapsed))) => outcomes[index] = Some((result, elapsed)),
                Err(error) => {
                    if let Some(&index) = index_of.get(&error.id()) {
                        let reason = if error.is_panic() {
                            format!(
                                "check panicked: {}",
                                crate::panic::panic_message(error.into_panic().as_ref())
                            )
                        } else {
                            "check was cancelled".to_owned()
                        };
                        outcomes[index] = Some((Err(CheckError::new(reason)), started.elapsed()));
                    }
                }
            }
        }

        let mut status = Status::Ok;
        let mut checks = BTreeMap::new();
        for (registered, outcome) in settings.checks.iter().zip(outcomes) {
            let (result, elapsed) = outcome
                .unwrap_or_else(|| (Err(CheckError::new("check did not run")), started.elapsed()));
            let passed = result.is_ok();
            if !passed {
                status = match (status, registered.critical) {
                    (_, true) | (Status::Down, _) => Status::Down,
                    _ => Status::Degraded,
                };
            }
            self.record(registered, passed, elapsed);
            self.log_change(registered, &result);
            checks.insert(
                registered.name.to_string(),
                CheckResult {
                    status: if passed { Status::Ok } else { Status::Down },
                    critical: registered.critical,
                    latency_ms: (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0,
                    error: result.err().map(|e| e.message),
                },
            );
        }
        Report {
            status,
            timestamp: now_rfc3339(),
            version: settings.version.clone(),
            uptime_seconds: settings.started.elapsed().as_secs(),
            checks,
        }
    }

    fn record(&self, check: &Registered, passed: bool, elapsed: Duration) {
        let status_key = Key::from_parts(
            catalogue::HEALTH_CHECK_STATUS.name,
            vec![
                Label::new(catalogue::labels::CHECK, check.name.to_string()),
                Label::new(
                    catalogue::labels::CRITICAL,
                    if check.critical { "true" } else { "false" },
                ),
            ],
        );
        let duration_key = Key::from_parts(
            catalogue::HEALTH_CHECK_DURATION.name,
            vec![Label::new(catalogue::labels::CHECK, check.name.to_string())],
        );
        let write = |recorder: &dyn Recorder| {
            recorder
                .register_gauge(&status_key, &METADATA)
                .set(if passed { 1.0 } else { 0.0 });
            recorder
                .register_histogram(&duration_key, &METADATA)
                .record(elapsed.as_secs_f64());
        };
        match &self.settings.metrics {
            Some(metrics) => write(metrics.recorder()),
            None => metrics::with_recorder(write),
        }
    }

    fn log_change(&self, check: &Registered, result: &Result<(), CheckError>) {
        let now = if result.is_ok() { 1 } else { 2 };
        let before = {
            let mut last = self.state.last.lock().unwrap_or_else(|e| e.into_inner());
            last.insert(check.name.clone(), now).unwrap_or(0)
        };
        match (before, result) {
            (b, Err(error)) if b != 2 => tracing::warn!(
                target: HEALTH_LOG_TARGET,
                check = &*check.name,
                critical = check.critical,
                error = error.message(),
                "readiness check failed"
            ),
            (2, Ok(())) => tracing::info!(
                target: HEALTH_LOG_TARGET,
                check = &*check.name,
                critical = check.critical,
                "readiness check recovered"
            ),
            _ => {}
        }
    }

    /// The liveness answer as a JSON HTTP response.
    pub fn live_response(&self) -> ::http::Response<String> {
        json_response(::http::StatusCode::OK, &self.liveness())
    }

    /// The readiness answer as a JSON HTTP response: 200 for `ok` and `degraded`, 503 for
    /// `down`. For routers other than axum's.
    pub async fn ready_response(&self) -> ::http::Response<String> {
        self.ready().await.to_response()
    }

    /// Routes serving [`catalogue::paths::HEALTH_LIVE`], [`catalogue::paths::HEALTH_READY`] and
    /// [`catalogue::paths::HEALTH`], to merge into the service's router.
    #[cfg(feature = "axum")]
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        use axum::routing::get;
        let live = self.clone();
        let ready = self.clone();
        let ready_alias = self.clone();
        axum::Router::new()
            .route(
                catalogue::paths::HEALTH_LIVE,
                get(move || std::future::ready(live.live_response())),
            )
            .route(
                catalogue::paths::HEALTH_READY,
                get(move || {
                    let health = ready.clone();
                    async move { health.ready_response().await }
                }),
            )
            .route(
                catalogue::paths::HEALTH,
                get(move || {
                    let health = ready_alias.clone();
                    async move { health.ready_response().await }
                }),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(counter: Arc<AtomicUsize>, delay: Duration, ok: bool) -> impl HealthCheck {
        move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if ok { Ok(()) } else { Err("nope") }
            }
        }
    }

    #[tokio::test]
    async fn draining_answers_503_without_running_checks_and_liveness_stays_up() {
        let runs = Arc::new(AtomicUsize::new(0));
        let drain = crate::shutdown::Drain::new();
        let health = Health::new("1.0.0")
            .check("db", counting(runs.clone(), Duration::ZERO, true))
            .drain(&drain);
        assert_eq!(health.ready().await.status, Status::Ok);
        drain.start();
        let report = health.ready().await;
        assert_eq!(report.status, Status::Draining);
        assert!(report.checks.is_empty());
        let response = health.ready_response().await;
        assert_eq!(response.status(), ::http::StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["status"], "draining");
        assert_eq!(health.live_response().status(), ::http::StatusCode::OK);
        assert_eq!(runs.load(Ordering::SeqCst), 1, "no run while draining");
    }

    #[tokio::test]
    async fn status_follows_criticality() {
        let ok = || async { Ok::<(), String>(()) };
        let fail = || async { Err::<(), _>("broken") };
        let report = Health::new("1").check("a", ok).run_checks().await;
        assert_eq!(report.status, Status::Ok);
        assert_eq!(report.http_status(), 200);

        let report = Health::new("1")
            .check("a", ok)
            .check("b", fail)
            .critical(false)
            .run_checks()
            .await;
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(report.http_status(), 200);
        assert_eq!(report.checks["b"].status, Status::Down);
        assert_eq!(report.checks["b"].error.as_deref(), Some("broken"));
        assert!(!report.checks["b"].critical);

        let report = Health::new("1")
            .check("a", fail)
            .check("b", fail)
            .critical(false)
            .run_checks()
            .await;
        assert_eq!(report.status, Status::Down);
        assert_eq!(report.http_status(), 503);

        let empty = Health::new("1").run_checks().await;
        assert_eq!(empty.status, Status::Ok);
        assert!(empty.checks.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_run_concurrently_and_time_out_alone() {
        let n = Arc::new(AtomicUsize::new(0));
        let health = Health::new("1")
            .check(
                "slow1",
                counting(n.clone(), Duration::from_millis(300), true),
            )
            .check(
                "slow2",
                counting(n.clone(), Duration::from_millis(300), true),
            )
            .check("hang", counting(n.clone(), Duration::from_secs(3600), true))
            .timeout(Duration::from_millis(400));
        let start = Instant::now();
        let report = health.run_checks().await;
        let took = start.elapsed();
        assert!(took < Duration::from_millis(1000), "ran serially: {took:?}");
        assert_eq!(report.status, Status::Down);
        assert_eq!(report.checks["slow1"].status, Status::Ok);
        assert_eq!(
            report.checks["hang"].error.as_deref(),
            Some("timed out after 400ms")
        );
        assert!(report.checks["hang"].latency_ms >= 400.0);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_panicking_check_fails_alone() {
        let report = Health::new("1")
            .check("boom", || async {
                if true {
                    panic!("check bug");
                }
                Ok::<(), String>(())
            })
            .check("fine", || async { Ok::<(), String>(()) })
            .run_checks()
            .await;
        assert_eq!(
            report.checks["boom"].error.as_deref(),
            Some("check panicked: check bug")
        );
        assert_eq!(report.checks["fine"].status, Status::Ok);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cache_shares_one_run_between_concurrent_callers() {
        let n = Arc::new(AtomicUsize::new(0));
        let health = Health::new("1")
            .cache_for(Duration::from_millis(500))
            .check("db", counting(n.clone(), Duration::from_millis(100), true));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let health = health.clone();
                tokio::spawn(async move { health.ready().await })
            })
            .collect();
        let mut timestamps = std::collections::HashSet::new();
        for caller in callers {
            timestamps.insert(caller.await.unwrap().timestamp.clone());
        }
        assert_eq!(
            n.load(Ordering::SeqCst),
            1,
            "one run for 50 concurrent probes"
        );
        assert_eq!(timestamps.len(), 1);
        tokio::time::sleep(Duration::from_millis(550)).await;
        health.ready().await;
        assert_eq!(n.load(Ordering::SeqCst), 2, "a stale cache runs again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_that_give_up_do_not_restart_the_run() {
        let n = Arc::new(AtomicUsize::new(0));
        let health = Health::new("1")
            .cache_for(Duration::from_secs(60))
            .check("slow-db", counting(n.clone(), Duration::from_secs(1), true));
        // Probes whose clients time out long before the check finishes.
        for _ in 0..10 {
            let gave_up = tokio::time::timeout(Duration::from_millis(20), health.ready()).await;
            assert!(gave_up.is_err());
        }
        assert_eq!(
            n.load(Ordering::SeqCst),
            1,
            "one run, however many probes gave up"
        );
        let report = health.ready().await;
        assert_eq!(report.status, Status::Ok);
        assert_eq!(n.load(Ordering::SeqCst), 1, "joined the run in flight");
        health.ready().await;
        assert_eq!(n.load(Ordering::SeqCst), 1, "then served from the cache");
    }

    #[tokio::test]
    async fn results_are_recorded_as_catalogue_metrics() {
        let metrics = Metrics::new();
        Health::new("1")
            .metrics(&metrics)
            .check("db", || async { Ok::<(), String>(()) })
            .check("cache", || async { Err::<(), _>("down") })
            .critical(false)
            .run_checks()
            .await;
        metrics.run_upkeep();
        let text = metrics.render();
        assert!(
            text.contains(r#"obs_health_check_status{check="db",critical="true"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"obs_health_check_status{check="cache",critical="false"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"obs_health_check_duration_seconds_count{check="db"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"obs_health_check_duration_seconds_bucket{check="cache",le="0.001"}"#),
            "{text}"
        );
    }

    #[test]
    #[should_panic(expected = "already registered")]
    fn duplicate_names_are_refused() {
        let ok = || async { Ok::<(), String>(()) };
        let _ = Health::new("1").check("db", ok).check("db", ok);
    }

    #[test]
    fn liveness_and_json_shape() {
        let health = Health::new("2.0.1");
        let live = health.live_response();
        assert_eq!(live.status(), 200);
        let body: serde_json::Value = serde_json::from_str(live.body()).unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["version"], "2.0.1");
        assert_eq!(body["uptime_seconds"], 0);
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

        let report = Report {
            status: Status::Degraded,
            timestamp: "t".into(),
            version: "v".into(),
            uptime_seconds: 5,
            checks: BTreeMap::from([(
                "redis".to_owned(),
                CheckResult {
                    status: Status::Down,
                    critical: false,
                    latency_ms: 1.5,
                    error: Some("refused".into()),
                },
            )]),
        };
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            serde_json::json!({
                "status": "degraded", "timestamp": "t", "version": "v", "uptime_seconds": 5,
                "checks": {"redis": {"status": "down", "critical": false, "latency_ms": 1.5, "error": "refused"}}
            })
        );
        assert_eq!(report.to_response().headers()["cache-control"], "no-store");
    }
}
