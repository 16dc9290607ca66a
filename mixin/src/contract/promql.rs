//! One PromQL expression against the contract: every selector names a known series, every
//! label used exists on it, and labels are followed through aggregations, functions and binary
//! operations (after `sum by (job)`, only `job` is left to match `on`).

use std::collections::{BTreeSet, HashMap};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, LabelModifier, VectorMatchCardinality, VectorSelector};

use super::{Violation, resolve, substitute_variables};

/// Checks one PromQL expression (Grafana variables allowed) and reports at `location`.
pub fn check_expr(location: &str, expr: &str) -> Vec<Violation> {
    check_expr_with(location, expr, &HashMap::new())
}

fn check_expr_with(
    location: &str,
    expr: &str,
    local_records: &HashMap<String, ()>,
) -> Vec<Violation> {
    analyse(location, expr, local_records).0
}

/// Checks an expression and returns the labels its result carries (`None` when unknown).
pub(super) fn analyse(
    location: &str,
    expr: &str,
    local_records: &HashMap<String, ()>,
) -> (Vec<Violation>, Option<BTreeSet<String>>) {
    let mut checker = Checker {
        location,
        expr,
        local_records,
        out: Vec::new(),
    };
    let labels = match parser::parse(&substitute_variables(expr)) {
        Ok(ast) => match checker.labels_of(&ast) {
            Labels::Set(s) => Some(s),
            Labels::Scalar => Some(BTreeSet::new()),
            Labels::Any => None,
        },
        Err(e) => {
            checker.report(format!("does not parse as PromQL: {e}"));
            None
        }
    };
    (checker.out, labels)
}

/// Every metric name an expression selects (Grafana variables allowed).
pub fn metrics_in_expr(expr: &str) -> Result<BTreeSet<String>, String> {
    struct Names(BTreeSet<String>);
    impl promql_parser::util::ExprVisitor for Names {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            let vs = match e {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.vs),
                _ => None,
            };
            if let Some(name) = vs.and_then(selector_name) {
                self.0.insert(name);
            }
            Ok(true)
        }
    }
    let ast = parser::parse(&substitute_variables(expr))?;
    let mut names = Names(BTreeSet::new());
    let _ = promql_parser::util::walk_expr(&mut names, &ast);
    Ok(names.0)
}

fn selector_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
            .map(|m| m.value.clone())
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Labels {
    Scalar,
    Any,
    Set(BTreeSet<String>),
}

impl Labels {
    fn has(&self, label: &str) -> bool {
        match self {
            Labels::Scalar => false,
            Labels::Any => true,
            Labels::Set(s) => s.contains(label),
        }
    }
}

struct Checker<'a> {
    location: &'a str,
    expr: &'a str,
    local_records: &'a HashMap<String, ()>,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn report(&mut self, message: String) {
        self.out.push(Violation {
            location: self.location.into(),
            expr: self.expr.into(),
            message,
        });
    }

    fn require(&mut self, labels: &Labels, label: &str, what: &str) {
        if !labels.has(label) {
            self.report(format!(
                "label `{label}` ({what}) does not exist on the series it applies to"
            ));
        }
    }

    fn selector(&mut self, vs: &VectorSelector) -> Labels {
        if !vs.matchers.or_matchers.is_empty() {
            self.report("`or` inside a selector is newer than Prometheus 2.42".into());
        }
        let Some(name) = selector_name(vs) else {
            self.report("a selector without a fixed metric name cannot be checked".into());
            return Labels::Any;
        };
        let labels = match resolve(&name) {
            Some(known) => Labels::Set(known.labels),
            None if self.local_records.contains_key(&name) => Labels::Any,
            None => {
                self.report(format!(
                    "unknown metric `{name}`: not in the obs-service catalogue, the exporter lists or the recording rules"
                ));
                return Labels::Any;
            }
        };
        for m in &vs.matchers.matchers {
            if m.name != "__name__" {
                self.require(&labels, &m.name, &format!("matcher on `{name}`"));
            }
        }
        labels
    }

    fn labels_of(&mut self, e: &Expr) -> Labels {
        match e {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Labels::Scalar,
            Expr::VectorSelector(vs) => self.selector(vs),
            Expr::MatrixSelector(ms) => self.selector(&ms.vs),
            Expr::Paren(p) => self.labels_of(&p.expr),
            Expr::Unary(u) => self.labels_of(&u.expr),
            Expr::Subquery(s) => self.labels_of(&s.expr),
            Expr::Extension(_) => Labels::Any,
            Expr::Aggregate(a) => {
                let inner = self.labels_of(&a.expr);
                let op = a.op.to_string().to_lowercase();
                let keeps_labels =
                    matches!(op.as_str(), "topk" | "bottomk" | "limitk" | "limit_ratio");
                let mut out = match &a.modifier {
                    Some(LabelModifier::Include(ls)) => {
                        for l in &ls.labels {
                            self.require(&inner, l, "in `by`");
                        }
                        if keeps_labels {
                            inner.clone()
                        } else {
                            Labels::Set(ls.labels.iter().cloned().collect())
                        }
                    }
                    Some(LabelModifier::Exclude(ls)) => {
                        for l in &ls.labels {
                            self.require(&inner, l, "in `without`");
                        }
                        match &inner {
                            Labels::Set(s) if !keeps_labels => Labels::Set(
                                s.iter()
                                    .filter(|l| !ls.labels.contains(l))
                                    .cloned()
                                    .collect(),
                            ),
                            other => other.clone(),
                        }
                    }
                    None if keeps_labels => inner.clone(),
                    None => Labels::Set(BTreeSet::new()),
                };
                if op == "count_values"
                    && let (Some(param), Labels::Set(s)) = (&a.param, &mut out)
                    && let Expr::StringLiteral(l) = param.as_ref()
                {
                    s.insert(l.val.clone());
                }
                out
            }
            Expr::Binary(b) => {
                let l = self.labels_of(&b.lhs);
                let r = self.labels_of(&b.rhs);
                if l == Labels::Scalar {
                    return r;
                }
                if r == Labels::Scalar {
                    return l;
                }
                if let Some(m) = &b.modifier {
                    match &m.matching {
                        Some(LabelModifier::Include(ls)) => {
                            for label in &ls.labels {
                                self.require(&l, label, "in `on`, left side");
                                self.require(&r, label, "in `on`, right side");
                            }
                        }
                        Some(LabelModifier::Exclude(ls)) => {
                            for label in &ls.labels {
                                if !l.has(label) && !r.has(label) {
                                    self.require(&l, label, "in `ignoring`");
                                }
                            }
                        }
                        None => {}
                    }
                    match &m.card {
                        VectorMatchCardinality::ManyToOne(ls) => {
                            for label in &ls.labels {
                                self.require(&r, label, "in `group_left`");
                            }
                            return union(&l, &ls.labels);
                        }
                        VectorMatchCardinality::OneToMany(ls) => {
                            for label in &ls.labels {
                                self.require(&l, label, "in `group_right`");
                            }
                            return union(&r, &ls.labels);
                        }
                        _ => {}
                    }
                }
                if b.op.to_string().to_lowercase() == "or" {
                    match (&l, &r) {
                        (Labels::Set(a), Labels::Set(c)) => {
                            Labels::Set(a.union(c).cloned().collect())
                        }
                        _ => Labels::Any,
                    }
                } else {
                    l
                }
            }
            Expr::Call(call) => self.call(call),
        }
    }

    fn call(&mut self, call: &promql_parser::parser::Call) -> Labels {
        let args: Vec<Labels> = call.args.args.iter().map(|a| self.labels_of(a)).collect();
        let string_arg = |i: usize| match call.args.args.get(i).map(|a| a.as_ref()) {
            Some(Expr::StringLiteral(s)) => Some(s.val.clone()),
            _ => None,
        };
        let first_vector = args.iter().find(|a| **a != Labels::Scalar).cloned();
        match call.func.name {
            "label_replace" => {
                let v = args.first().cloned().unwrap_or(Labels::Any);
                if let Some(src) = string_arg(3).filter(|s| !s.is_empty()) {
                    self.require(&v, &src, "source of `label_replace`");
                }
                string_arg(1).map_or(v.clone(), |dst| union(&v, &[dst]))
            }
            "label_join" => {
                let v = args.first().cloned().unwrap_or(Labels::Any);
                for i in 3..call.args.args.len() {
                    if let Some(src) = string_arg(i) {
                        self.require(&v, &src, "source of `label_join`");
                    }
                }
                string_arg(1).map_or(v.clone(), |dst| union(&v, &[dst]))
            }
            "histogram_quantile" | "histogram_fraction" => {
                let v = args.last().cloned().unwrap_or(Labels::Any);
                self.require(&v, "le", &format!("needed by `{}`", call.func.name));
                match v {
                    Labels::Set(mut s) => {
                        s.remove("le");
                        Labels::Set(s)
                    }
                    other => other,
                }
            }
            "vector" => Labels::Set(BTreeSet::new()),
            "scalar" | "time" | "pi" => Labels::Scalar,
            "absent" | "absent_over_time" => Labels::Any,
            _ => first_vector.unwrap_or(Labels::Scalar),
        }
    }
}

fn union(labels: &Labels, extra: &[String]) -> Labels {
    match labels {
        Labels::Set(s) => Labels::Set(s.iter().cloned().chain(extra.iter().cloned()).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(expr: &str) -> Vec<String> {
        check_expr("test", expr)
            .into_iter()
            .map(|v| v.message)
            .collect()
    }

    #[test]
    fn catalogue_and_exporter_metrics_pass() {
        for ok in [
            r#"histogram_quantile(0.99, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))"#,
            r#"sum by (job, instance) (http_server_active_requests{job=~"${job:regex}"})"#,
            "process_open_fds / process_max_fds",
            r#"max by (job, instance, version) (obs_build_info)"#,
            r#"node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes"#,
            r#"sum by (job, instance) (pg_stat_activity_count) / on (job, instance) group_left max by (job, instance) (pg_settings_max_connections)"#,
            r#"label_replace(up, "host", "$1", "instance", "(.*):.*")"#,
        ] {
            assert_eq!(messages(ok), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn renamed_metrics_and_labels_fail() {
        let m = messages("sum(rate(http_server_request_duration_seconds_buckets[5m]))");
        assert!(
            m[0].contains("unknown metric `http_server_request_duration_seconds_buckets`"),
            "{m:?}"
        );
        let m = messages(r#"sum(http_server_active_requests{http_route="/x"})"#);
        assert!(m[0].contains("`http_route`"), "{m:?}");
        let m = messages(
            r#"sum by (error_type) (rate(http_server_request_duration_seconds_count[5m]))"#,
        );
        assert!(m[0].contains("`error_type`"), "{m:?}");
    }

    #[test]
    fn labels_are_followed_through_aggregations_and_functions() {
        let m = messages("sum by (job) (process_open_fds) / on (instance) process_max_fds");
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("`instance`") && m[0].contains("left side"),
            "{m:?}"
        );
        let m = messages(
            "histogram_quantile(0.9, sum by (job) (rate(http_server_request_duration_seconds_bucket[5m])))",
        );
        assert!(m[0].contains("`le`"), "{m:?}");
        let m = messages(r#"label_replace(up, "x", "$1", "hostname", "(.*)")"#);
        assert!(m[0].contains("`hostname`"), "{m:?}");
        assert!(!messages("sum(rate(foo[5m]").is_empty());
    }
}
