//! The name contract, checked statically: every PromQL expression of a dashboard or rule file
//! is parsed with [`promql_parser`], and every metric and label it names must exist.
//!
//! A metric exists when [`obs_catalogue::metric`] knows it, when a checked-in exporter list
//! has it ([`crate::exporters`]), or when it is a recording rule of the mixin (or of the rule file
//! being checked). A label exists on a metric when the catalogue or exporter list lists it, when
//! it is a target label (`job`, `instance`), or `le` on a histogram's buckets. Labels are followed
//! through the expression: after `sum by (job)`, only `job` is left to match `on`.
//!
//! ```
//! use obs_mixin::contract::check_expr;
//! assert!(check_expr("rule Ok", r#"sum by (job) (rate(http_server_request_duration_seconds_count{job="api"}[5m]))"#).is_empty());
//! let v = check_expr("rule Bad", "sum(rate(http_requests_total[5m]))");
//! assert!(v[0].message.contains("`http_requests_total`"));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use obs_catalogue::{self as catalogue, MetricKind};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, LabelModifier, VectorMatchCardinality, VectorSelector};

/// Labels every scraped series carries, added by Prometheus.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

/// One breach of the contract or the lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `dashboard <title> / panel <title>`, `dashboard <title> / variable <name>` or
    /// `rule <name>`.
    pub location: String,
    /// The expression concerned, if any.
    pub expr: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if !self.expr.is_empty() {
            write!(f, " (in `{}`)", self.expr)?;
        }
        Ok(())
    }
}

/// Where a known metric comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// The SDK catalogue.
    Catalogue(&'static catalogue::Metric),
    /// A checked-in exporter list.
    Exporter(&'static crate::exporters::ExporterMetric),
    /// A recording rule of the mixin.
    Recording(&'static crate::rules::Recording),
    /// A series Prometheus writes for every target ([`SCRAPE_SERIES`]).
    Scrape(&'static str),
}

/// Series Prometheus itself writes for every scrape target, with only the target labels.
pub const SCRAPE_SERIES: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// A series name the contract knows.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownSeries {
    /// Where it comes from.
    pub source: Source,
    /// Labels it carries, target labels and `le` included.
    pub labels: BTreeSet<String>,
    /// Whether it only makes sense inside `rate`/`irate`/`increase`/`resets`.
    pub counter: bool,
}

/// Resolves a series name (a `_bucket`/`_sum`/`_count` series resolves to its histogram).
pub fn resolve(series: &str) -> Option<KnownSeries> {
    let mut labels: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
    if let Some(m) = catalogue::metric(series) {
        labels.extend(m.labels.iter().map(|l| l.to_string()));
        if m.kind == MetricKind::Histogram && series.ends_with("_bucket") {
            labels.insert("le".into());
        }
        let counter = m.kind == MetricKind::Counter || m.kind == MetricKind::Histogram;
        return Some(KnownSeries {
            source: Source::Catalogue(m),
            labels,
            counter,
        });
    }
    if let Some(name) = SCRAPE_SERIES.iter().find(|s| **s == series) {
        return Some(KnownSeries {
            source: Source::Scrape(name),
            labels,
            counter: false,
        });
    }
    if let Some(r) = crate::rules::recordings()
        .iter()
        .chain(crate::slo::recorded_series())
        .find(|r| r.record == series)
    {
        labels = r.labels.iter().map(|l| l.to_string()).collect();
        return Some(KnownSeries {
            source: Source::Recording(r),
            labels,
            counter: false,
        });
    }
    if let Some(m) = crate::exporters::lookup(series) {
        labels.extend(m.labels.iter().map(|l| l.to_string()));
        for extra in ["le", "quantile"] {
            if m.has_label(series, extra) {
                labels.insert(extra.into());
            }
        }
        let counter = m.is_counter_series(series);
        return Some(KnownSeries {
            source: Source::Exporter(m),
            labels,
            counter,
        });
    }
    None
}

/// Replaces Grafana template variables with parseable placeholders: interval variables
/// (`$__rate_interval`, `$__interval`, `$__range`, …) become `5m`, other variables become `x`
/// inside quotes and `1` outside.
pub fn substitute_variables(query: &str) -> String {
    substitute(
        query,
        &|name, quoted| match (name.starts_with("__"), quoted) {
            (true, _) => "5m".into(),
            (false, true) => "x".into(),
            (false, false) => "1".into(),
        },
    )
}

/// Replaces every Grafana variable by `placeholder(name, inside_quotes)`; `name` is without
/// `$`, braces and format (`__rate_interval`, `job`).
pub(crate) fn substitute(query: &str, placeholder: &dyn Fn(&str, bool) -> String) -> String {
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote.is_some() => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' | '\'' | '`' => {
                match quote {
                    None => quote = Some(c),
                    Some(q) if q == c => quote = None,
                    _ => {}
                }
                out.push(c);
            }
            '$' => {
                let mut name = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                        name.push(n);
                    }
                    name = name.split(':').next().unwrap_or_default().to_string();
                } else {
                    while let Some(&n) = chars.peek() {
                        if n.is_ascii_alphanumeric() || n == '_' {
                            name.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                if name.is_empty() {
                    out.push('$');
                } else {
                    out.push_str(&placeholder(&name, quote.is_some()));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

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
fn analyse(
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

/// The datasource type a panel or target queries (`prometheus`, `loki`, …), from its
/// `datasource` object or the dashboard's datasource variables.
pub(crate) fn datasource_type(node: &serde_json::Value) -> Option<String> {
    let ds = node.get("datasource")?;
    if let Some(t) = ds.get("type").and_then(|t| t.as_str()) {
        return Some(t.to_string());
    }
    ds.as_str().map(|s| {
        if s.contains("loki") {
            "loki".into()
        } else {
            "prometheus".into()
        }
    })
}

/// Every panel of a dashboard, rows' nested panels included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for nested in p["panels"].as_array().into_iter().flatten() {
            out.push(nested);
        }
    }
    out
}

/// The PromQL queries of a dashboard: `(location, query)` for every Prometheus target and every
/// Prometheus query variable (`label_values(<selector>, <label>)` and `query_result(<expr>)`
/// are unwrapped; `label_values` becomes `count by (<label>) (<selector>)`).
pub fn promql_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        let panel_type = datasource_type(panel);
        for target in panel["targets"].as_array().into_iter().flatten() {
            let ty = datasource_type(target).or_else(|| panel_type.clone());
            if ty.as_deref() == Some("loki") {
                continue;
            }
            if let Some(expr) = target["expr"].as_str() {
                let location = format!(
                    "dashboard {title} / panel {}",
                    panel["title"].as_str().unwrap_or("(untitled)")
                );
                out.push((location, expr.to_string()));
            }
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if var["type"] != "query" || datasource_type(var).as_deref() == Some("loki") {
            continue;
        }
        let query = var["query"]["query"]
            .as_str()
            .or_else(|| var["query"].as_str())
            .unwrap_or("");
        let location = format!(
            "dashboard {title} / variable {}",
            var["name"].as_str().unwrap_or("?")
        );
        if let Some(expr) = grafana_variable_promql(query) {
            out.push((location, expr));
        }
    }
    out
}

fn grafana_variable_promql(query: &str) -> Option<String> {
    let query = query.trim();
    if let Some(inner) = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
    {
        let (selector, label) = inner.rsplit_once(',')?;
        return Some(format!("count by ({}) ({})", label.trim(), selector.trim()));
    }
    if let Some(inner) = query
        .strip_prefix("query_result(")
        .and_then(|q| q.strip_suffix(')'))
    {
        return Some(inner.to_string());
    }
    None
}

/// Checks every query of a dashboard model: PromQL targets and variables against the catalogue,
/// exporter lists and recording rules; LogQL stream selectors against the Loki labels of the
/// catalogue's log fields.
pub fn check_dashboard(dashboard: &serde_json::Value) -> Vec<Violation> {
    let mut out = Vec::new();
    for (location, query) in promql_queries(dashboard) {
        out.extend(check_expr(&location, &query));
    }
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let ty = datasource_type(target).or_else(|| datasource_type(panel));
            let expr = target["expr"].as_str().unwrap_or("");
            let location = format!(
                "dashboard {title} / panel {}",
                panel["title"].as_str().unwrap_or("(untitled)")
            );
            if ty.as_deref() == Some("loki") {
                out.extend(check_logql(&location, expr));
                continue;
            }
            // A legend may only name labels the query's result keeps.
            let legend = target["legendFormat"].as_str().unwrap_or("");
            let Some(labels) = analyse(&location, expr, &HashMap::new()).1 else {
                continue;
            };
            for used in legend.split("{{").skip(1) {
                let label = used.split("}}").next().unwrap_or("").trim();
                if !label.is_empty() && !labels.contains(label) {
                    out.push(Violation {
                        location: location.clone(),
                        expr: expr.into(),
                        message: format!(
                            "legend uses `{{{{{label}}}}}`, which the query's result does not carry"
                        ),
                    });
                }
            }
        }
    }
    out
}

/// Checks the stream selectors of a LogQL query: only fields the catalogue ships as Loki labels
/// (`service`, `env`, `level`) may appear inside `{…}`.
pub fn check_logql(location: &str, expr: &str) -> Vec<Violation> {
    let stream_labels: Vec<&str> = catalogue::LOG_FIELDS
        .iter()
        .filter(|f| f.loki == catalogue::LokiPlacement::Label)
        .map(|f| f.name)
        .collect();
    let Some(selector) = stream_selector(expr) else {
        return vec![Violation {
            location: location.into(),
            expr: expr.into(),
            message: "LogQL query without a stream selector".into(),
        }];
    };
    let mut out = Vec::new();
    for matcher in split_matchers(selector) {
        let name: String = matcher
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !stream_labels.contains(&name.as_str()) {
            out.push(Violation {
                location: location.into(),
                expr: expr.into(),
                message: format!(
                    "`{name}` is not a Loki stream label (only {} are); filter structured metadata with `| {name}=\"…\"`",
                    stream_labels.join(", ")
                ),
            });
        }
    }
    out
}

/// The inside of the first `{…}` stream selector of a LogQL query (a `${var}` is not one);
/// quoted values may contain braces.
fn stream_selector(expr: &str) -> Option<&str> {
    let bytes = expr.as_bytes();
    let open = (0..bytes.len()).find(|&i| bytes[i] == b'{' && (i == 0 || bytes[i - 1] != b'$'))?;
    let mut quote = false;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b'}' if !quote => return Some(&expr[open + 1..i]),
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_matchers(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = false;
    let mut start = 0;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b',' if !quote => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(inner[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Checks every expression of a Prometheus rule file (YAML text). Recording rules defined in
/// the same file count as known metrics.
pub fn check_rule_file(yaml: &str) -> Vec<Violation> {
    let doc: serde_yaml_ng::Value = match serde_yaml_ng::from_str(yaml) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![Violation {
                location: "rule file".into(),
                expr: String::new(),
                message: format!("not valid YAML: {e}"),
            }];
        }
    };
    let rules: Vec<&serde_yaml_ng::Value> = doc["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
        .collect();
    let local: HashMap<String, ()> = rules
        .iter()
        .filter_map(|r| r["record"].as_str())
        .map(|r| (r.to_string(), ()))
        .collect();
    let mut out = Vec::new();
    for rule in rules {
        let name = rule["alert"]
            .as_str()
            .or_else(|| rule["record"].as_str())
            .unwrap_or("(unnamed)");
        let expr = rule["expr"].as_str().unwrap_or("");
        let location = format!("rule {name}");
        let (violations, labels) = analyse(&location, expr, &local);
        out.extend(violations);
        // Annotations may only use labels the alert's result keeps.
        let (Some(labels), Some(annotations)) = (labels, rule["annotations"].as_mapping()) else {
            continue;
        };
        for (key, text) in annotations {
            let text = text.as_str().unwrap_or("");
            for used in text.split("$labels.").skip(1) {
                let label: String = used
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !labels.contains(&label) {
                    out.push(Violation {
                        location: location.clone(),
                        expr: expr.into(),
                        message: format!(
                            "annotation {} uses `$labels.{label}`, which the expression's result does not carry",
                            key.as_str().unwrap_or("?")
                        ),
                    });
                }
            }
        }
    }
    out
}

/// The catalogue metrics a dashboard shows, following recording rules back to what they read.
pub fn catalogue_metrics_shown(dashboard: &serde_json::Value) -> BTreeSet<&'static str> {
    let mut shown = BTreeSet::new();
    let mut pending: Vec<String> = promql_queries(dashboard)
        .into_iter()
        .filter(|(location, _)| location.contains("/ panel "))
        .filter_map(|(_, q)| metrics_in_expr(&q).ok())
        .flatten()
        .collect();
    while let Some(name) = pending.pop() {
        if let Some(m) = catalogue::metric(&name) {
            shown.insert(m.name);
        } else if let Some(r) = crate::rules::recordings()
            .iter()
            .chain(crate::slo::recorded_series())
            .find(|r| r.record == name)
        {
            pending.extend(metrics_in_expr(&r.expr).unwrap_or_default());
        }
    }
    shown
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

    #[test]
    fn variables_become_placeholders() {
        assert_eq!(
            substitute_variables(
                r#"rate(x{job=~"$job",a="${instance:regex}"}[$__rate_interval]) > $threshold"#
            ),
            r#"rate(x{job=~"x",a="x"}[5m]) > 1"#
        );
    }

    #[test]
    fn logql_stream_selectors_use_only_loki_labels() {
        assert!(
            check_logql(
                "t",
                r#"{service=~"$service", level="ERROR"} | request_id="$request_id""#
            )
            .is_empty()
        );
        assert!(check_logql("t", r#"{service=~"${service:regex}", env="a}b"} |= "x""#).is_empty());
        assert_eq!(
            check_logql("t", "sum(rate(x[5m]))")[0].message,
            "LogQL query without a stream selector"
        );
        let v = check_logql("t", r#"{service="a", request_id="$request_id"}"#);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("`request_id`"));
    }

    #[test]
    fn legends_name_only_labels_the_result_keeps() {
        let panel = |expr: &str, legend: &str| {
            serde_json::json!({"title": "D", "panels": [{"title": "P", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"expr": expr, "legendFormat": legend}]}]})
        };
        assert!(check_dashboard(&panel("sum by (job) (process_open_fds)", "{{job}}")).is_empty());
        let v = check_dashboard(&panel(
            "sum by (job) (process_open_fds)",
            "{{instance}} {{ job }}",
        ));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("`{{instance}}`"), "{v:?}");
        assert_eq!(v[0].location, "dashboard D / panel P");
    }

    #[test]
    fn rule_files_know_their_own_recordings() {
        let yaml = "groups:\n- name: g\n  rules:\n  - record: job:foo:rate5m\n    expr: sum by (job) (rate(process_cpu_seconds_total[5m]))\n  - alert: A\n    expr: job:foo:rate5m > 1\n  - alert: B\n    expr: http_requests_total > 1\n";
        let v = check_rule_file(yaml);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].location, "rule B");
        assert!(v[0].message.contains("`http_requests_total`"));
        let yaml = "groups:\n- name: g\n  rules:\n  - alert: C\n    expr: sum by (job) (process_open_fds) > 1\n    annotations:\n      summary: '{{ $labels.job }} on {{ $labels.instance }}'\n";
        let v = check_rule_file(yaml);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("`$labels.instance`"), "{v:?}");
    }
}
