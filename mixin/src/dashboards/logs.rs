//! Logs (Loki): volume by level and service, error lines, every line of one request, and links
//! from trace IDs to traces.
//!
//! Only `service`, `env` and `level` are Loki stream labels (see the catalogue's log fields);
//! `request_id` and `trace_id` are structured metadata, filtered after the selector.

use serde_json::json;

use super::panels::{
    Kind, Panel, job_and_instance_variables_of_any, loki, loki_instant, loki_label_variable,
    loki_variable, prom, prometheus_variable, row, tempo_variable, textbox_variable,
};
use super::{Spec, target_selector};
use obs_catalogue::{self as catalogue, fields};

pub(crate) fn spec() -> Spec {
    let stream = r#"{service=~"$service", env=~"$env"}"#;
    let leveled = r#"{service=~"$service", env=~"$env", level=~"$level"}"#;
    let errors = r#"{service=~"$service", env=~"$env", level="ERROR"}"#;
    let request_id = fields::REQUEST_ID;
    let trace_id = fields::TRACE_ID;
    let duration = catalogue::HTTP_SERVER_REQUEST_DURATION.name;
    let trace_link = "/explore?schemaVersion=1&panes=%7B%22trace%22:%7B%22datasource%22:%22${tempo_datasource}%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22datasource%22:%7B%22type%22:%22tempo%22,%22uid%22:%22${tempo_datasource}%22%7D,%22queryType%22:%22traceql%22,%22query%22:%22${__value.raw}%22%7D%5D,%22range%22:%7B%22from%22:%22now-1h%22,%22to%22:%22now%22%7D%7D%7D&orgId=1";
    // Listed by either server histogram: a service that serves only gRPC logs too.
    let [job, instance] = job_and_instance_variables_of_any(&[
        &format!("{duration}_count"),
        &format!("{}_count", catalogue::RPC_SERVER_CALL_DURATION.name),
    ]);
    let variables = vec![
        prometheus_variable(),
        loki_variable(),
        tempo_variable(),
        job,
        instance,
        loki_label_variable("service", "Service", fields::SERVICE),
        loki_label_variable("env", "Environment", fields::ENV),
        loki_label_variable("level", "Level", fields::LEVEL),
        textbox_variable(
            request_id,
            "Request ID",
            "Paste a request ID (the x-request-id response header, or request_id in an error body) to see every line of that request.",
        ),
        textbox_variable("search", "Search", "Only show lines containing this text."),
    ];
    let panels = vec![
        row("Volume"),
        Panel::new(
            Kind::StackedTimeSeries,
            "Log volume by level",
            "Log lines per interval, stacked by level.",
            "short",
            vec![loki(format!("sum by (level) (count_over_time({stream} [$__auto]))"), "{{level}}")],
        ),
        Panel::new(
            Kind::StackedTimeSeries,
            "Log volume by service",
            "Log lines per interval of the selected levels, stacked by service.",
            "short",
            vec![loki(format!("sum by (service) (count_over_time({leveled} [$__auto]))"), "{{service}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Error lines by service",
            "ERROR lines per interval for each service.",
            "short",
            vec![loki(format!("sum by (service) (count_over_time({errors} [$__auto]))"), "{{service}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "5xx responses by job",
            "5xx responses per second from the metrics, to line up with the error lines beside it.",
            "reqps",
            vec![prom(
                format!(
                    "sum by (job) (rate({duration}_count{}[$__rate_interval]))",
                    target_selector(r#"http_response_status_code=~"5..""#)
                ),
                "{{job}}",
            )],
        ),
        row("Lines"),
        Panel::new(
            Kind::Logs,
            "Lines of one request",
            "Every line logged while handling the request whose ID is in the Request ID box, across services (request_id is structured metadata, so it is filtered after the stream selector). Empty until an ID is entered.",
            "none",
            vec![loki(format!("{stream} | {request_id}!=\"\" | {request_id}=\"${request_id}\""), "")],
        ),
        Panel::new(
            Kind::Logs,
            "Error lines",
            "The latest ERROR lines of the selected services. Expand a line to follow its trace_id to the trace (derived field of the provisioned Loki datasource).",
            "none",
            vec![loki(format!("{errors} |= \"$search\""), "")],
        ),
        Panel::new(
            Kind::Table,
            "Traces",
            "Trace IDs seen in the selected lines during the time range, with their line count. Click a trace ID to open the trace.",
            "short",
            vec![loki_instant(format!(
                "topk(50, sum by ({trace_id}, service) (count_over_time({leveled} | {trace_id}!=\"\" |= \"$search\" [$__range])))"
            ))],
        )
        .override_field(
            trace_id,
            json!([{"id": "links", "value": [{"title": "Open trace", "url": trace_link, "targetBlank": false}]}]),
        ),
        Panel::new(
            Kind::Table,
            "Requests with errors",
            "Request IDs of ERROR lines during the time range; paste one into the Request ID box to see the whole request.",
            "short",
            vec![loki_instant(format!(
                "topk(50, sum by ({request_id}, service) (count_over_time({errors} | {request_id}!=\"\" [$__range])))"
            ))],
        ),
        Panel::new(
            Kind::Logs,
            "All lines",
            "The latest lines of the selected services and levels containing the search text.",
            "none",
            vec![loki(format!("{leveled} |= \"$search\""), "")],
        ),
    ];
    Spec {
        uid: "obs-logs",
        title: "obs / Logs",
        description: "What did my services log? Volume by level and service, error lines, every line of one request by its ID, and the traces behind them.",
        variables,
        panels,
    }
}
