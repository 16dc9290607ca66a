//! The health endpoints: `/health/live`, `/health/ready` and `/health` answer with the SDK's
//! JSON, read into the catalogue's wire types (`obs_catalogue::wire`), so a field renamed on the
//! SDK's side fails here.

use obs_catalogue::{self as catalogue, wire};

use super::http::Target;
use super::report::{Checks, snippet};

/// Checks the liveness and both readiness paths of `target`.
pub(super) fn check_health(c: &mut Checks, target: &Target) {
    let fix_router = "merge health.router() (obs_service::health::Health) into the app: it serves /health/live, /health/ready and /health";
    // Liveness.
    match target.get(catalogue::paths::HEALTH_LIVE, &[]) {
        Err(e) => c.fail("health live", e.detail, fix_router),
        Ok(r) if r.status != 200 => c.fail(
            "health live",
            format!("GET /health/live answered {}", r.status),
            format!("{fix_router}; liveness must answer 200 without touching any dependency"),
        ),
        Ok(r) => match parse::<wire::Liveness>(&r.text(), "liveness answer") {
            Err(e) => c.fail("health live", e, fix_router),
            Ok(live) if live.status != wire::HealthStatus::Ok => c.fail(
                "health live",
                format!("status \"{}\" instead of \"ok\"", live.status),
                "liveness answers {\"status\":\"ok\",…} whenever the process serves requests",
            ),
            Ok(_) => c.pass(
                "health live",
                "200, status ok, timestamp, version, uptime_seconds",
            ),
        },
    }
    // Readiness, under both paths.
    for path in [catalogue::paths::HEALTH_READY, catalogue::paths::HEALTH] {
        let check = if path == catalogue::paths::HEALTH {
            "health"
        } else {
            "health ready"
        };
        let r = match target.get(path, &[]) {
            Err(e) => {
                c.fail(check, e.detail, fix_router);
                continue;
            }
            Ok(r) => r,
        };
        if r.status != 200 && r.status != 503 {
            c.fail(
                check,
                format!("GET {path} answered {}", r.status),
                format!(
                    "{fix_router}; readiness answers 200 (ok, degraded) or 503 (down, draining)"
                ),
            );
            continue;
        }
        let report = match parse::<wire::HealthReport>(&r.text(), "health report") {
            Err(e) => {
                c.fail(check, e, fix_router);
                continue;
            }
            Ok(v) => v,
        };
        let status = report.status;
        if r.status != status.http_status() {
            c.fail(
                check,
                format!("status {status} answered with {}", r.status),
                "answer 503 exactly when the status is down or draining (obs_service::health does), so load balancers and Kubernetes act on it",
            );
            continue;
        }
        let failing: Vec<String> = report
            .checks
            .iter()
            .filter(|(_, c)| c.status != wire::HealthStatus::Ok)
            .map(|(name, c)| format!("{name} ({})", c.error.as_deref().unwrap_or("failing")))
            .collect();
        let n = report.checks.len();
        match status {
            wire::HealthStatus::Down => c.fail(
                check,
                format!("503 down: {}", failing.join(", ")),
                "the service is not ready: repair the failing critical check(s), or mark a dependency the service can live without .critical(false)",
            ),
            wire::HealthStatus::Draining => c.fail(
                check,
                "503 draining: the service is shutting down",
                "run the doctor against an instance that is not being stopped",
            ),
            wire::HealthStatus::Ok | wire::HealthStatus::Degraded => {
                let extra = if failing.is_empty() {
                    String::new()
                } else {
                    format!("; failing: {}", failing.join(", "))
                };
                c.pass(check, format!("{} {status}, {n} checks{extra}", r.status));
            }
        }
    }
}

/// Reads `body` as the SDK's `what` (a wire type), saying which field is wrong when not.
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the body is not JSON ({e}): {}", snippet(body)))?;
    serde_json::from_value(value)
        .map_err(|e| format!("the JSON is not the SDK's {what} ({e}): {}", snippet(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_into_the_wire_types() {
        let live: wire::Liveness = parse(
            r#"{"status":"ok","timestamp":"t","version":"1","uptime_seconds":3}"#,
            "liveness answer",
        )
        .unwrap();
        assert_eq!(live.uptime_seconds, 3);
        // A renamed field is a failure naming it.
        let err = parse::<wire::Liveness>(
            r#"{"status":"ok","timestamp":"t","version":"1","uptime":3}"#,
            "liveness answer",
        )
        .unwrap_err();
        assert!(err.contains("missing field `uptime_seconds`"), "{err}");
        let err = parse::<wire::HealthReport>(
            r#"{"status":"fine","timestamp":"t","version":"1","uptime_seconds":3,"checks":{}}"#,
            "health report",
        )
        .unwrap_err();
        assert!(err.contains("unknown variant `fine`"), "{err}");
        assert!(
            parse::<wire::Liveness>("OK", "liveness answer")
                .unwrap_err()
                .starts_with("the body is not JSON")
        );
    }
}
