//! The SLO's PromQL: the names of the series every SLO group records, the expressions that
//! compute them from the duration histogram ([`Slo::requests_expr`], [`Slo::errors_expr`],
//! [`Slo::error_ratio_expr`]) and those that read them (the budget left, the burn rates the
//! alerts compare), and the `le` matcher that survives Prometheus 3's normalisation
//! ([`le_regex`]).

use obs_catalogue as catalogue;

use super::format::{duration, number, ratio};
use super::model::{BurnWindow, Slo, SloKind, nominal_seconds};

/// Recorded: the objective as a ratio (`0.999`).
pub const OBJECTIVE: &str = "slo:objective:ratio";
/// Recorded: the error budget as a ratio (`1 - objective`).
pub const ERROR_BUDGET: &str = "slo:error_budget:ratio";
/// Recorded: the SLO's requests per second over the 5m window (scaled).
pub const REQUESTS_RATE: &str = "slo:sli_requests:rate5m";
/// Recorded: the SLO's bad requests per second over the 5m window (scaled).
pub const ERRORS_RATE: &str = "slo:sli_errors:rate5m";
/// Recorded: the SLI's error ratio over the whole SLO window, from the two rates above summed
/// over the window: weighted by traffic like a ratio of the raw counters, but reading two
/// recorded series instead of every histogram series over 30 days at each evaluation (pyrra
/// evaluates that in a slower group; sloth averages ratios, which weighs a quiet night like a
/// busy day).
pub const ERROR_RATIO_WINDOW: &str = "slo:sli_error:ratio_window";
/// Recorded: the share of the error budget left over the SLO window (1 untouched, 0 spent,
/// negative when overspent).
pub const BUDGET_REMAINING: &str = "slo:error_budget_remaining:ratio";
/// The labels every recorded SLO series and both alerts carry (besides `severity`): the SLO,
/// its service and, with the same value, `job`, so Alertmanager groups and inhibits SLO alerts
/// per job like every other alert.
pub const LABELS: &[&str] = &["slo", "service", "job"];

/// The name of the error ratio recorded over `window` (one of [`WINDOWS`](super::WINDOWS)' names).
pub fn error_ratio(window: &str) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

impl Slo {
    /// The range of the error ratio recorded as `…_rate<window>`, as a Prometheus duration.
    pub fn range(&self, window: &str) -> String {
        duration(self.scaled_seconds(nominal_seconds(window)))
    }

    /// The selector of the SLO's requests: its job, and its route when it has one. Without a
    /// route, requests no route matched count too (`http_route="unmatched"` from obs-service,
    /// no `http_route` at all from OpenTelemetry SDKs).
    fn selector(&self, extra: &str) -> String {
        let mut matchers = vec![format!("job=\"{}\"", self.service)];
        if let Some(route) = &self.route {
            matchers.push(format!("{}=\"{route}\"", catalogue::labels::HTTP_ROUTE));
        }
        if let Some(method) = &self.method {
            matchers.push(format!("{}=\"{method}\"", catalogue::labels::RPC_METHOD));
        }
        if !extra.is_empty() {
            matchers.push(extra.into());
        }
        format!("{{{}}}", matchers.join(","))
    }

    /// The SLO's requests per second over `range` (a Prometheus duration).
    pub fn requests_expr(&self, range: &str) -> String {
        let duration = self.kind.histogram().name;
        format!("sum(rate({duration}_count{}[{range}]))", self.selector(""))
    }

    /// The SLO's bad requests per second over `range`: 5xx answers (gRPC: the codes of a
    /// server fault), or requests slower than the threshold (all requests less those in the
    /// threshold's bucket).
    pub fn errors_expr(&self, range: &str) -> String {
        let duration = self.kind.histogram().name;
        let total = self.requests_expr(range);
        match self.kind {
            // `or … * 0`: a 0 for a window without 5xx, not no series at all.
            SloKind::Availability => format!(
                "(\n  sum(rate({duration}_count{}[{range}]))\n  or\n  {total} * 0\n)",
                self.selector(&format!(
                    "{}=~\"5..\"",
                    catalogue::labels::HTTP_RESPONSE_STATUS_CODE
                ))
            ),
            SloKind::GrpcAvailability => format!(
                "(\n  sum(rate({duration}_count{}[{range}]))\n  or\n  {total} * 0\n)",
                self.selector(&format!(
                    "{}=~\"{}\"",
                    catalogue::labels::RPC_RESPONSE_STATUS_CODE,
                    catalogue::GRPC_SERVER_FAULT_CODES.join("|")
                ))
            ),
            SloKind::Latency | SloKind::GrpcLatency => {
                let le = le_regex(self.threshold.unwrap_or_default());
                format!(
                    "(\n  {total}\n  -\n  sum(rate({duration}_bucket{}[{range}]))\n)",
                    self.selector(&format!("le=~\"{le}\""))
                )
            }
        }
    }

    /// The SLI's error ratio over `range` (a Prometheus duration).
    pub fn error_ratio_expr(&self, range: &str) -> String {
        format!(
            "{}\n/\n{}",
            self.errors_expr(range),
            self.requests_expr(range)
        )
    }

    /// `series` of this SLO alone: `series{slo="<name>"}`.
    pub(crate) fn own(&self, series: &str) -> String {
        format!("{series}{{slo=\"{}\"}}", self.name)
    }

    /// The SLI's error ratio over the whole SLO window, from the two recorded rates.
    pub(crate) fn window_error_ratio_expr(&self) -> String {
        let window = self.window.as_str();
        format!(
            "sum_over_time({}[{window}])\n/\nsum_over_time({}[{window}])",
            self.own(ERRORS_RATE),
            self.own(REQUESTS_RATE)
        )
    }

    /// The objective as a ratio, a constant series.
    pub(crate) fn objective_expr(&self) -> String {
        format!("vector({})", ratio(self.objective / 100.0))
    }

    /// The error budget as a ratio, a constant series.
    pub(crate) fn budget_expr(&self) -> String {
        format!("vector({})", ratio(self.budget()))
    }

    /// The share of the budget left over the SLO window.
    pub(crate) fn budget_remaining_expr(&self) -> String {
        format!(
            "1 - {} / {}",
            self.own(ERROR_RATIO_WINDOW),
            ratio(self.budget())
        )
    }

    /// Whether any of `pairs` burns too fast: both of its windows' error ratios above its
    /// factor times the budget.
    pub(crate) fn burn_expr(&self, pairs: &[BurnWindow]) -> String {
        let budget = ratio(self.budget());
        pairs
            .iter()
            .map(|p| {
                format!(
                    "(\n  {long} / {budget} > {f}\n  and\n  {short} / {budget} > {f}\n)",
                    long = self.own(&error_ratio(p.long)),
                    short = self.own(&error_ratio(p.short)),
                    f = number(p.factor),
                )
            })
            .collect::<Vec<_>>()
            .join("\nor\n")
    }
}

/// A regular expression matching a bucket bound however it is written: Prometheus 2 keeps
/// what the exporter wrote (`1` from obs-service, `1.0` from Python's client), Prometheus 3
/// normalises classic histograms' `le` to `1.0`. `[.]` rather than `\.` keeps it free of
/// escapes in both PromQL and YAML.
pub fn le_regex(threshold: f64) -> String {
    let shortest = number(threshold);
    match shortest.split_once('.') {
        Some((int, frac)) => format!("{int}[.]{frac}0*"),
        None => format!("{shortest}([.]0+)?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;

    #[test]
    fn windows_scale_with_the_slo_window() {
        let month = Slo::availability("a", "api", 99.9);
        assert_eq!(month.range("5m"), "5m");
        assert_eq!(month.range("3d"), "3d");
        let week = Slo {
            window: Duration::from_static("7d"),
            ..month.clone()
        };
        assert_eq!(week.range("1h"), "14m");
        assert_eq!(week.range("5m"), "1m10s");
        let day = Slo {
            window: Duration::from_static("1d"),
            ..month.clone()
        };
        assert_eq!(day.range("5m"), "10s");
        assert_eq!(day.range("3d"), "2h24m");
        let four_weeks = Slo {
            window: Duration::from_static("4w"),
            ..month
        };
        assert_eq!(four_weeks.range("5m"), "4m40s");
    }

    #[test]
    fn le_matches_both_renderings_of_a_bound() {
        assert_eq!(le_regex(1.0), "1([.]0+)?");
        assert_eq!(le_regex(10.0), "10([.]0+)?");
        assert_eq!(le_regex(0.25), "0[.]250*");
        // Checked the way Prometheus matches: the whole value, as promql-parser compiles it.
        for (threshold, yes, no) in [
            (1.0, ["1", "1.0"], ["10", "0.1"]),
            (0.25, ["0.25", "0.250"], ["0.025", "0.255"]),
            (10.0, ["10", "10.0"], ["1", "100"]),
        ] {
            let re = regex_anchored(&le_regex(threshold));
            for v in yes {
                assert!(re(v), "{threshold}: {v}");
            }
            for v in no {
                assert!(!re(v), "{threshold}: {v}");
            }
        }
    }

    /// A matcher the PromQL parser builds, applied to one value.
    fn regex_anchored(re: &str) -> impl Fn(&str) -> bool + use<> {
        let expr = promql_parser::parser::parse(&format!("x{{le=~\"{re}\"}}")).unwrap();
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            panic!()
        };
        let m = vs.matchers.matchers[0].clone();
        move |v| m.is_match(v)
    }

    #[test]
    fn service_slos_count_unrouted_requests_and_route_slos_do_not() {
        let service = Slo::availability("a", "api", 99.9);
        assert!(!service.error_ratio_expr("5m").contains("http_route"));
        let route = Slo {
            route: Some("/users/{id}".into()),
            ..service
        };
        let expr = route.error_ratio_expr("5m");
        assert_eq!(
            expr.matches(r#"http_route="/users/{id}""#).count(),
            3,
            "{expr}"
        );
    }
}
