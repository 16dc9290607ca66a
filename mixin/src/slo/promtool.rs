//! The promtool unit tests written with every SLO's rules: a fast burn fires only the
//! critical alert, a slow burn only the warning, half the budget nothing.
//!
//! Every scenario is laid out on the SLO's own time scale (a step is 2 minutes of a 30-day SLO,
//! scaled by `window / 30d` like the rules' windows), so the same sample counts prove the same
//! thing for any window. Traffic is 1000 requests a step, split so that the tests also prove
//! what the SLO selects:
//! - good requests come half from an obs-service instance, whose `le` is written the
//!   Prometheus 2 way (`1`), half from an OpenTelemetry-style instance with extra labels, whose
//!   `le` is written the Prometheus 3 way (`1.0`): if the bucket regex missed one form, half
//!   the good requests would count as slow and the quiet case would page;
//! - a service's bad requests are requests no route matched (`http_route="unmatched"` from
//!   obs-service, no `http_route` at all from OpenTelemetry), so the fast burn fires only if a
//!   service SLO counts them;
//! - a route SLO's bad requests are on its route, and every scenario adds as many unrouted
//!   failures as the whole traffic, so the quiet case stays quiet only if a route SLO ignores
//!   them.

use obs_catalogue as catalogue;

use super::format::{duration, number, ratio};
use super::model::{BurnWindow, FAST_WINDOWS, SLOW_WINDOWS, Slo, SloKind};
use super::rules::{Evaluated, FAST_BURN, HEADER, SLOW_BURN, description, rule_file_name};
use crate::rule_model::test_file::{AlertTest, ExpAlert, InputSeries, TestCase, TestFile};
use crate::rule_model::{RuleFile, RuleGroup};

/// Requests per step.
const TRAFFIC: f64 = 1000.0;
/// One step of a 30-day SLO, in seconds: short enough that the 5m window holds three samples.
const STEP: u64 = 120;
/// Rules are evaluated every 5 steps (10 minutes of a 30-day SLO): promtool evaluates every
/// rule at every evaluation, which is most of a test's cost, and the conditions hold for at
/// least two evaluations before each check (the fast burn from 44 minutes into its hour, the
/// slow one from 8 hours into its twelve), longer than each alert's `for`. Every scenario lasts
/// a multiple of 5 steps, so the checks fall on an evaluation.
const EVALUATION_STEPS: u32 = 5;
/// Steps in a day, an hour and twelve hours of a 30-day SLO.
const DAY: u32 = 720;
const HOUR: u32 = 30;
const HALF_DAY: u32 = 360;

/// A counter's values in promtool's notation: `(steps, increase per step)` segments from 0.
fn counter(segments: &[(u32, f64)]) -> String {
    let mut value = 0.0;
    let mut out = Vec::new();
    for (i, (steps, inc)) in segments.iter().enumerate() {
        let (start, n) = if i == 0 {
            (0.0, *steps)
        } else {
            (value + inc, steps - 1)
        };
        out.push(format!("{}+{}x{n}", ratio(start), ratio(*inc)));
        value = start + inc * n as f64;
    }
    out.join(" ")
}

/// The error ratio of each segment of a scenario.
struct Scenario {
    /// `(steps, error ratio)`.
    segments: Vec<(u32, f64)>,
}

impl Scenario {
    fn steps(&self) -> u32 {
        self.segments.iter().map(|(s, _)| s).sum()
    }

    fn scaled(&self, per_step: impl Fn(f64) -> f64) -> Vec<(u32, f64)> {
        self.segments
            .iter()
            .map(|(steps, r)| (*steps, per_step(*r)))
            .collect()
    }

    /// The error ratio over all of the scenario (every window reaching back to its start).
    fn overall(&self) -> f64 {
        let bad: f64 = self.segments.iter().map(|(s, r)| *s as f64 * r).sum();
        bad / self.steps() as f64
    }
}

/// The `le` of `threshold` as Prometheus 2 keeps the exporter's (`1`) and as Prometheus 3
/// writes it (`1.0`).
fn le_forms(threshold: f64) -> (String, String) {
    let shortest = number(threshold);
    let with_fraction = if shortest.contains('.') {
        shortest.clone()
    } else {
        format!("{shortest}.0")
    };
    (shortest, with_fraction)
}

/// The input series of `scenario` for a gRPC `slo`: calls recorded by obs-service and by an
/// OpenTelemetry SDK (which adds `server_address`, `server_port` and `network_*` labels), good
/// ones on the method, bad ones on the method (a method SLO) or on another (a service SLO);
/// a method SLO also sees another method's bad calls, which must not count.
fn grpc_series(slo: &Slo, scenario: &Scenario) -> Vec<InputSeries> {
    let duration = catalogue::RPC_SERVER_CALL_DURATION.name;
    let job = &slo.service;
    let method = slo.method.as_deref().unwrap_or("demo.v1.Users/Get");
    let other = "demo.v1.Users/List";
    let sdk = format!(r#"job="{job}",instance="sdk:8080",rpc_system_name="grpc""#);
    let otel = format!(
        r#"job="{job}",instance="otel:8000",rpc_system_name="grpc",server_address="0.0.0.0",server_port="50051",network_type="ipv4""#
    );
    let (le2, le3) = le_forms(slo.threshold.unwrap_or_default());
    let good = scenario.scaled(|r| TRAFFIC * (1.0 - r) / 2.0);
    let bad = scenario.scaled(|r| TRAFFIC * r / 2.0);
    let none = scenario.scaled(|_| 0.0);
    let noise = scenario.scaled(|_| TRAFFIC / 2.0);
    let bad_method = match slo.method {
        Some(_) => method,
        None => other,
    };
    let ok = r#"rpc_response_status_code="OK""#;
    let mut out = Vec::new();
    let mut push = |series: String, values: &[(u32, f64)]| {
        out.push(InputSeries {
            series,
            values: counter(values),
        })
    };
    match slo.kind {
        SloKind::GrpcAvailability => {
            push(
                format!(r#"{duration}_count{{{sdk},rpc_method="{method}",{ok}}}"#),
                &good,
            );
            // A client's mistake is not the server's fault: a good call.
            push(
                format!(
                    r#"{duration}_count{{{otel},rpc_method="{method}",rpc_response_status_code="NOT_FOUND"}}"#
                ),
                &good,
            );
            push(
                format!(
                    r#"{duration}_count{{{sdk},rpc_method="{bad_method}",rpc_response_status_code="INTERNAL",error_type="INTERNAL"}}"#
                ),
                &bad,
            );
            push(
                format!(
                    r#"{duration}_count{{{otel},rpc_method="{bad_method}",rpc_response_status_code="UNAVAILABLE",error_type="UNAVAILABLE"}}"#
                ),
                &bad,
            );
            if slo.method.is_some() {
                push(
                    format!(
                        r#"{duration}_count{{{sdk},rpc_method="{other}",rpc_response_status_code="INTERNAL",error_type="INTERNAL"}}"#
                    ),
                    &noise,
                );
            }
        }
        _ => {
            // A good call lands in the threshold's bucket, a slow one only in the count. The slow
            // calls come from a second instance, so that with one method the two are separate
            // series (promtool takes a repeated series' last values).
            for (base, le) in [(&sdk, &le2), (&otel, &le3)] {
                let slow_base = base
                    .replace("sdk:8080", "sdk-slow:8080")
                    .replace("otel:8000", "otel-slow:8000");
                for (base, m, values, in_bucket) in [
                    (base, method, &good, true),
                    (&slow_base, bad_method, &bad, false),
                ] {
                    let labels = format!(r#"{base},rpc_method="{m}",{ok}"#);
                    push(format!("{duration}_count{{{labels}}}"), values);
                    push(
                        format!("{duration}_bucket{{{labels},le=\"{le}\"}}"),
                        if in_bucket { values } else { &none },
                    );
                }
            }
            if slo.method.is_some() {
                let labels = format!(r#"{sdk},rpc_method="{other}",{ok}"#);
                push(format!("{duration}_count{{{labels}}}"), &noise);
                push(format!("{duration}_bucket{{{labels},le=\"{le2}\"}}"), &none);
            }
        }
    }
    out
}

/// The input series of `scenario` for `slo`.
fn series(slo: &Slo, scenario: &Scenario) -> Vec<InputSeries> {
    if slo.kind.is_grpc() {
        return grpc_series(slo, scenario);
    }
    let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    let job = &slo.service;
    let route = slo.route.as_deref().unwrap_or("/users/{id}");
    let sdk = format!(r#"job="{job}",instance="sdk:8080",http_request_method="GET""#);
    let otel = format!(
        r#"job="{job}",instance="otel:8000",http_request_method="GET",url_scheme="http",network_protocol_version="1.1""#
    );
    // Prometheus 2 keeps the exporter's `1`; Prometheus 3 writes every bound with a fraction.
    let (le2, le3) = le_forms(slo.threshold.unwrap_or_default());
    let good = scenario.scaled(|r| TRAFFIC * (1.0 - r) / 2.0);
    let bad = scenario.scaled(|r| TRAFFIC * r / 2.0);
    let none = scenario.scaled(|_| 0.0);
    let noise = scenario.scaled(|_| TRAFFIC / 2.0);
    let unmatched = catalogue::UNMATCHED_ROUTE;
    // Where the bad requests are: unrouted for a service, on the route for a route SLO.
    let (bad_sdk, bad_otel) = match slo.route {
        None => (format!(r#"{sdk},http_route="{unmatched}""#), otel.clone()),
        Some(_) => (
            format!(r#"{sdk},http_route="{route}""#),
            format!(r#"{otel},http_route="{route}""#),
        ),
    };
    let good_sdk = format!(r#"{sdk},http_route="{route}""#);
    let good_otel = format!(r#"{otel},http_route="{route}""#);
    let mut out = Vec::new();
    let mut push = |series: String, values: &[(u32, f64)]| {
        out.push(InputSeries {
            series,
            values: counter(values),
        })
    };
    match slo.kind {
        SloKind::Availability => {
            let ok = r#"http_response_status_code="200""#;
            push(format!("{duration}_count{{{good_sdk},{ok}}}"), &good);
            push(format!("{duration}_count{{{good_otel},{ok}}}"), &good);
            push(
                format!(r#"{duration}_count{{{bad_sdk},http_response_status_code="500"}}"#),
                &bad,
            );
            push(
                format!(
                    r#"{duration}_count{{{bad_otel},http_response_status_code="503",error_type="503"}}"#
                ),
                &bad,
            );
            if slo.route.is_some() {
                push(
                    format!(
                        r#"{duration}_count{{{sdk},http_route="{unmatched}",http_response_status_code="500"}}"#
                    ),
                    &noise,
                );
                push(
                    format!(
                        r#"{duration}_count{{{otel},http_response_status_code="503",error_type="503"}}"#
                    ),
                    &noise,
                );
            }
        }
        SloKind::Latency | SloKind::GrpcAvailability | SloKind::GrpcLatency => {
            let ok = r#"http_response_status_code="200""#;
            // A good request lands in the threshold's bucket, a slow one only in the count.
            for (labels, le, values, in_bucket) in [
                (&good_sdk, &le2, &good, true),
                (&good_otel, &le3, &good, true),
                (&bad_sdk, &le2, &bad, false),
                (&bad_otel, &le3, &bad, false),
            ] {
                let labels = format!("{labels},{ok}");
                push(format!("{duration}_count{{{labels}}}"), values);
                push(
                    format!("{duration}_bucket{{{labels},le=\"{le}\"}}"),
                    if in_bucket { values } else { &none },
                );
            }
            if slo.route.is_some() {
                for (labels, le) in [
                    (format!(r#"{sdk},http_route="{unmatched}",{ok}"#), &le2),
                    (format!("{otel},{ok}"), &le3),
                ] {
                    push(format!("{duration}_count{{{labels}}}"), &noise);
                    push(format!("{duration}_bucket{{{labels},le=\"{le}\"}}"), &none);
                }
            }
        }
    }
    out
}

/// The check of `alert` at the end of `scenario`: quiet, or `firing` at a burn rate over the
/// pairs' long window, with the labels and annotations of the finished rule in `rules` (the
/// description rendered).
fn expect(
    slo: &Slo,
    rules: &RuleGroup,
    alert: &str,
    scenario: &Scenario,
    firing: Option<(f64, &[BurnWindow])>,
) -> AlertTest {
    let step = slo.scaled_seconds(STEP);
    let exp_alerts = firing
        .map(|(burn, pairs)| {
            let rule = rules.alert(alert).expect("the SLO group has the alert");
            let mut annotations = rule.annotations.clone();
            annotations.insert(
                "description".into(),
                description(
                    slo,
                    pairs,
                    Some(Evaluated {
                        burn,
                        remaining: 1.0 - scenario.overall() / slo.budget(),
                    }),
                ),
            );
            ExpAlert {
                exp_labels: rule.labels.clone(),
                exp_annotations: annotations,
            }
        })
        .into_iter()
        .collect();
    AlertTest {
        eval_time: duration(step * scenario.steps() as u64),
        alertname: alert.into(),
        exp_alerts,
    }
}

fn case(slo: &Slo, name: String, scenario: &Scenario, checks: Vec<AlertTest>) -> TestCase {
    TestCase {
        name,
        interval: duration(slo.scaled_seconds(STEP)),
        input_series: series(slo, scenario),
        alert_rule_test: checks,
        promql_expr_test: Vec::new(),
    }
}

/// The promtool test file of one SLO (`tests/obs-slo-<name>.test.yaml`), asserting the alerts
/// of `rules`, its rule group after the passes.
pub(crate) fn test_file(slo: &Slo, rules: &RuleGroup) -> RuleFile {
    let b = slo.budget();
    let mut tests = Vec::new();
    // A fast burn: a day of good traffic, then an hour at 20 × the budget. Over 1h and 5m it
    // burns 20 × (> 14.4); over 6h only 20/6 ≈ 3.3 × (< 6), over 1d 0.8 × (< 3), over 3d
    // (all of it) 0.8 × (< 1): only the page. Impossible when 20 × the budget exceeds every
    // request (an objective under 95 %): then no test can burn that fast.
    if 20.0 * b <= 1.0 {
        let fast = Scenario {
            segments: vec![(DAY, 0.0), (HOUR, 20.0 * b)],
        };
        tests.push(case(
            slo,
            format!("{}: a fast burn pages, and only pages", slo.name),
            &fast,
            vec![
                expect(slo, rules, FAST_BURN, &fast, Some((20.0, &FAST_WINDOWS))),
                expect(slo, rules, SLOW_BURN, &fast, None),
            ],
        ));
    }
    // A slow burn: a day of good traffic, then twelve hours at 4 × the budget. Over 3d (all of
    // it) 4/3 × (> 1) and over 6h 4 × (> 1): the ticket; over 1d only 2 × (< 3), over 1h and
    // 6h 4 × (< 14.4, < 6): no page.
    let slow = Scenario {
        segments: vec![(DAY, 0.0), (HALF_DAY, 4.0 * b)],
    };
    tests.push(case(
        slo,
        format!(
            "{}: a slow burn opens a ticket, and does not page",
            slo.name
        ),
        &slow,
        vec![
            expect(
                slo,
                rules,
                SLOW_BURN,
                &slow,
                Some((4.0 / 3.0, &SLOW_WINDOWS)),
            ),
            expect(slo, rules, FAST_BURN, &slow, None),
        ],
    ));
    // Half the budget for twelve hours: every window burns 0.5 ×, nothing fires.
    let half = Scenario {
        segments: vec![(HALF_DAY, 0.5 * b)],
    };
    tests.push(case(
        slo,
        format!("{}: half the budget fires nothing", slo.name),
        &half,
        vec![
            expect(slo, rules, FAST_BURN, &half, None),
            expect(slo, rules, SLOW_BURN, &half, None),
        ],
    ));
    let doc = TestFile {
        rule_files: vec![format!("../{}", rule_file_name(slo))],
        evaluation_interval: duration(EVALUATION_STEPS as u64 * slo.scaled_seconds(STEP)),
        tests,
    };
    RuleFile::new(
        format!("tests/obs-slo-{}.test.yaml", slo.name),
        HEADER,
        &doc,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_continue_across_segments() {
        assert_eq!(counter(&[(3, 1.0), (2, 5.0)]), "0+1x3 8+5x1");
        assert_eq!(counter(&[(720, 0.0), (30, 10.0)]), "0+0x720 10+10x29");
    }

    #[test]
    fn scenarios_follow_the_workbook_arithmetic() {
        let slow = Scenario {
            segments: vec![(DAY, 0.0), (HALF_DAY, 0.004)],
        };
        assert!((slow.overall() / 0.001 - 4.0 / 3.0).abs() < 1e-9);
    }
}
