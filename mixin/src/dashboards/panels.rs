//! Small builders for Grafana panels, targets and variables (Grafana 11/12 schema). Layout,
//! ids, uid, tags and refresh are stamped afterwards by the shared passes in `mod.rs`.

use serde_json::{Value, json};

/// Datasource reference of Prometheus panels: the `datasource` variable.
pub(crate) fn prom_ds() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

/// Datasource reference of Loki panels: the `loki_datasource` variable.
pub(crate) fn loki_ds() -> Value {
    json!({"type": "loki", "uid": "${loki_datasource}"})
}

/// A range query against Prometheus.
pub(crate) fn prom(expr: impl Into<String>, legend: &str) -> Value {
    json!({
        "datasource": prom_ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "legendFormat": legend,
        "range": true,
        "instant": false,
    })
}

/// `target` with its exemplars shown (`exemplar: true`): Grafana asks Prometheus for the
/// exemplars of the series the query selects and links each to its trace through the data
/// source's `exemplarTraceIdDestinations`. A recorded series has none, so such a query reads
/// the histogram itself.
pub(crate) fn with_exemplars(mut target: Value) -> Value {
    target["exemplar"] = json!(true);
    target
}

/// An instant query against Prometheus, as a table.
pub(crate) fn prom_table(expr: impl Into<String>) -> Value {
    json!({
        "datasource": prom_ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "format": "table",
        "legendFormat": "__auto",
        "range": false,
        "instant": true,
    })
}

/// A range query against Loki.
pub(crate) fn loki(expr: impl Into<String>, legend: &str) -> Value {
    json!({
        "datasource": loki_ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "legendFormat": legend,
        "queryType": "range",
    })
}

/// An instant query against Loki (for tables).
pub(crate) fn loki_instant(expr: impl Into<String>) -> Value {
    json!({
        "datasource": loki_ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "legendFormat": "",
        "queryType": "instant",
    })
}

/// The panel kinds the bundled dashboards use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    TimeSeries,
    StackedTimeSeries,
    Stat,
    Table,
    BarGauge,
    Logs,
    StateTimeline,
}

/// One panel before layout: kind, size and the model.
pub(crate) struct Panel {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) json: Value,
}

impl Panel {
    /// A panel of `kind` with a title, a description, a unit and its targets.
    pub(crate) fn new(
        kind: Kind,
        title: &str,
        description: &str,
        unit: &str,
        targets: Vec<Value>,
    ) -> Panel {
        let ds = targets
            .first()
            .map(|t| t["datasource"].clone())
            .unwrap_or_else(prom_ds);
        let targets: Vec<Value> = targets
            .into_iter()
            .enumerate()
            .map(|(i, mut t)| {
                t["refId"] = json!(((b'A' + i as u8) as char).to_string());
                t
            })
            .collect();
        let (type_, width, height) = match kind {
            Kind::TimeSeries | Kind::StackedTimeSeries => ("timeseries", 12, 8),
            Kind::Stat => ("stat", 4, 4),
            Kind::Table => ("table", 12, 8),
            Kind::BarGauge => ("bargauge", 12, 8),
            Kind::Logs => ("logs", 24, 12),
            Kind::StateTimeline => ("state-timeline", 12, 8),
        };
        let mut defaults = json!({"unit": unit, "color": {"mode": "palette-classic"}});
        let options = match kind {
            Kind::TimeSeries | Kind::StackedTimeSeries => {
                let stacking = if kind == Kind::StackedTimeSeries {
                    "normal"
                } else {
                    "none"
                };
                defaults["custom"] = json!({
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": if kind == Kind::StackedTimeSeries { 30 } else { 10 },
                    "showPoints": "never",
                    "spanNulls": false,
                    "stacking": {"mode": stacking, "group": "A"},
                });
                json!({
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                })
            }
            Kind::Stat => {
                defaults["color"] = json!({"mode": "thresholds"});
                defaults["thresholds"] =
                    json!({"mode": "absolute", "steps": [{"color": "green", "value": null}]});
                json!({
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                    "colorMode": "value",
                    "graphMode": "area",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "textMode": "auto",
                })
            }
            Kind::Table => {
                json!({"showHeader": true, "cellHeight": "sm", "footer": {"show": false, "reducer": ["sum"], "fields": ""}})
            }
            Kind::BarGauge => {
                defaults["color"] = json!({"mode": "thresholds"});
                defaults["thresholds"] =
                    json!({"mode": "absolute", "steps": [{"color": "green", "value": null}]});
                json!({
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                    "orientation": "horizontal",
                    "displayMode": "gradient",
                    "showUnfilled": true,
                })
            }
            Kind::Logs => json!({
                "showTime": true,
                "showLabels": false,
                "showCommonLabels": false,
                "wrapLogMessage": true,
                "prettifyLogMessage": false,
                "enableLogDetails": true,
                "dedupStrategy": "none",
                "sortOrder": "Descending",
            }),
            Kind::StateTimeline => json!({
                "showValue": "auto",
                "mergeValues": true,
                "rowHeight": 0.9,
                "alignValue": "left",
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "single", "sort": "none"},
            }),
        };
        let mut json = json!({
            "type": type_,
            "title": title,
            "description": description,
            "datasource": ds,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
            "targets": targets,
        });
        if kind == Kind::Table {
            json["transformations"] = json!([
                {"id": "organize", "options": {"excludeByName": {"Time": true}, "renameByName": {"Value": title}}}
            ]);
        }
        Panel {
            width,
            height,
            json,
        }
    }

    /// Overrides the default width.
    pub(crate) fn width(mut self, width: u32) -> Panel {
        self.width = width;
        self
    }

    /// Overrides the default height.
    pub(crate) fn height(mut self, height: u32) -> Panel {
        self.height = height;
        self
    }

    /// Sets a value of `fieldConfig.defaults` (min, max, mappings, thresholds, …).
    pub(crate) fn field(mut self, key: &str, value: Value) -> Panel {
        self.json["fieldConfig"]["defaults"][key] = value;
        self
    }

    /// Adds a field override.
    pub(crate) fn override_field(mut self, field: &str, properties: Value) -> Panel {
        let overrides = self.json["fieldConfig"]["overrides"]
            .as_array_mut()
            .expect("overrides");
        overrides
            .push(json!({"matcher": {"id": "byName", "options": field}, "properties": properties}));
        self
    }

    /// Thresholds as `(color, from)` steps; the first step starts at -∞.
    pub(crate) fn thresholds(self, steps: &[(&str, Option<f64>)]) -> Panel {
        let steps: Vec<Value> = steps
            .iter()
            .map(|(c, v)| json!({"color": c, "value": v}))
            .collect();
        self.field("thresholds", json!({"mode": "absolute", "steps": steps}))
    }

    /// Value mappings `value → (text, color)`.
    pub(crate) fn mappings(self, map: &[(&str, &str, &str)]) -> Panel {
        let mut options = serde_json::Map::new();
        for (i, (value, text, color)) in map.iter().enumerate() {
            options.insert(
                value.to_string(),
                json!({"text": text, "color": color, "index": i}),
            );
        }
        self.field("mappings", json!([{"type": "value", "options": options}]))
    }
}

/// A row header.
pub(crate) fn row(title: &str) -> Panel {
    Panel {
        width: 24,
        height: 1,
        json: json!({"type": "row", "title": title, "collapsed": false, "panels": []}),
    }
}

/// The Prometheus datasource variable; its default is the provisioned uid.
pub(crate) fn prometheus_variable() -> Value {
    json!({
        "type": "datasource",
        "name": "datasource",
        "label": "Prometheus",
        "query": "prometheus",
        "current": {"selected": false, "text": "Prometheus", "value": crate::datasource_uids::PROMETHEUS},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
        "skipUrlSync": false,
    })
}

/// The Loki datasource variable; its default is the provisioned uid.
pub(crate) fn loki_variable() -> Value {
    json!({
        "type": "datasource",
        "name": "loki_datasource",
        "label": "Loki",
        "query": "loki",
        "current": {"selected": false, "text": "Loki", "value": crate::datasource_uids::LOKI},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
        "skipUrlSync": false,
    })
}

/// The Tempo datasource variable (trace links); its default is the provisioned uid.
pub(crate) fn tempo_variable() -> Value {
    json!({
        "type": "datasource",
        "name": "tempo_datasource",
        "label": "Tempo",
        "query": "tempo",
        "current": {"selected": false, "text": "Tempo", "value": crate::datasource_uids::TEMPO},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
        "skipUrlSync": false,
    })
}

/// A multi-select Prometheus query variable with "All" (`label_values(<selector>, <label>)`).
/// The `job` and `instance` variables every dashboard has (multi-select, with "All"), listing
/// the targets that expose `series`.
pub(crate) fn job_and_instance_variables(series: &str) -> [Value; 2] {
    [
        query_variable("job", "Job", &format!("label_values({series}, job)"), ".+"),
        query_variable(
            "instance",
            "Instance",
            &format!("label_values({series}{{job=~\"$job\"}}, instance)"),
            ".+",
        ),
    ]
}

/// The `job` and `instance` variables of a dashboard whose services expose any of `series`
/// (the HTTP and the gRPC server histograms): a service that serves only gRPC is listed as
/// well as one that serves only HTTP. `label_values` takes one selector with a fixed name, so
/// these ask for the label of `count by (<label>) (<a> or <b>)` and read it out of each result
/// (`query_result` with a regex, as Grafana has always run it).
pub(crate) fn job_and_instance_variables_of_any(series: &[&str]) -> [Value; 2] {
    let union = |selector: &str| {
        series
            .iter()
            .map(|s| format!("{s}{selector}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let of = |label: &str, selector: &str| {
        format!("query_result(count by ({label}) ({}))", union(selector))
    };
    [
        query_variable_matching("job", "Job", &of("job", ""), r#"/job="([^"]+)"/"#, ".+"),
        query_variable_matching(
            "instance",
            "Instance",
            &of("instance", r#"{job=~"$job"}"#),
            r#"/instance="([^"]+)"/"#,
            ".+",
        ),
    ]
}

pub(crate) fn query_variable(name: &str, label: &str, query: &str, all_value: &str) -> Value {
    query_variable_matching(name, label, query, "", all_value)
}

/// [`query_variable`] whose options are what `regex` captures of each result.
pub(crate) fn query_variable_matching(
    name: &str,
    label: &str,
    query: &str,
    regex: &str,
    all_value: &str,
) -> Value {
    json!({
        "type": "query",
        "name": name,
        "label": label,
        "datasource": prom_ds(),
        "definition": query,
        // The classic string form: every Grafana version runs it and its editor parses it.
        "query": query,
        "refresh": 2,
        "regex": regex,
        "sort": 1,
        "multi": true,
        "includeAll": true,
        "allValue": all_value,
        "current": {"selected": true, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
        "skipUrlSync": false,
    })
}

/// A multi-select Loki label variable with "All".
pub(crate) fn loki_label_variable(name: &str, label: &str, loki_label: &str) -> Value {
    json!({
        "type": "query",
        "name": name,
        "label": label,
        "datasource": loki_ds(),
        "definition": format!("label_values({loki_label})"),
        "query": {"type": 1, "label": loki_label, "stream": "", "refId": "LokiVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "multi": true,
        "includeAll": true,
        "allValue": ".+",
        "current": {"selected": true, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
        "skipUrlSync": false,
    })
}

/// A free-text variable.
pub(crate) fn textbox_variable(name: &str, label: &str, description: &str) -> Value {
    json!({
        "type": "textbox",
        "name": name,
        "label": label,
        "description": description,
        "query": "",
        "current": {"selected": false, "text": "", "value": ""},
        "options": [],
        "hide": 0,
        "skipUrlSync": false,
    })
}
