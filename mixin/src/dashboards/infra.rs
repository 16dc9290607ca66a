//! Infrastructure: hosts (node-exporter) and containers (cAdvisor).
//!
//! Only names present in both the Debian node-exporter 1.5 and current releases are used.

use super::panels::{
    Kind, Panel, job_and_instance_variables, prom, prometheus_variable, query_variable, row,
};
use super::{Spec, target_selector};

const FS: &str = r#"fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs", mountpoint!~"/run.*|/boot.*""#;

pub(crate) fn spec() -> Spec {
    let host = target_selector("");
    let fs = target_selector(FS);
    let idle = target_selector(r#"mode="idle""#);
    let nic = target_selector(r#"device!="lo""#);
    let container = target_selector(r#"name=~"$container""#);
    let [job, instance] = job_and_instance_variables("up");
    let variables = vec![
        prometheus_variable(),
        job,
        instance,
        query_variable(
            "container",
            "Container",
            r#"label_values(container_last_seen{job=~"$job", instance=~"$instance"}, name)"#,
            ".+",
        ),
    ];
    let panels = vec![
        row("Hosts (node-exporter)"),
        Panel::new(
            Kind::Stat,
            "Hosts",
            "Hosts whose node-exporter answers among the selected jobs and instances.",
            "short",
            vec![prom(format!("count(node_uname_info{host}) or vector(0)"), "hosts")],
        ),
        Panel::new(
            Kind::Stat,
            "Lowest uptime",
            "Time since the most recently booted selected host started.",
            "s",
            vec![prom(format!("min(time() - node_boot_time_seconds{host})"), "uptime")],
        ),
        Panel::new(
            Kind::Stat,
            "Fullest filesystem",
            "Highest share of used space over the selected hosts' real filesystems. HostDiskAlmostFull fires when free space runs low.",
            "percentunit",
            vec![prom(format!("max(1 - node_filesystem_avail_bytes{fs} / node_filesystem_size_bytes{fs})"), "used")],
        )
        .thresholds(&[("green", None), ("orange", Some(0.8)), ("red", Some(0.9))]),
        Panel::new(
            Kind::TimeSeries,
            "CPU busy",
            "Share of CPU time not idle, per host.",
            "percentunit",
            vec![prom(format!("1 - avg by (instance) (rate(node_cpu_seconds_total{idle}[$__rate_interval]))"), "{{instance}}")],
        )
        .field("max", serde_json::json!(1)),
        Panel::new(
            Kind::TimeSeries,
            "Load average",
            "1, 5 and 15 minute load averages per host.",
            "short",
            vec![
                prom(format!("node_load1{host}"), "{{instance}} 1m"),
                prom(format!("node_load5{host}"), "{{instance}} 5m"),
                prom(format!("node_load15{host}"), "{{instance}} 15m"),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Memory used",
            "Share of memory not available to new processes, per host.",
            "percentunit",
            vec![prom(
                format!("1 - node_memory_MemAvailable_bytes{host} / node_memory_MemTotal_bytes{host}"),
                "{{instance}}",
            )],
        )
        .field("max", serde_json::json!(1)),
        Panel::new(
            Kind::BarGauge,
            "Filesystem used",
            "Share of used space per filesystem (pseudo filesystems left out).",
            "percentunit",
            vec![prom(
                format!("1 - node_filesystem_avail_bytes{fs} / node_filesystem_size_bytes{fs}"),
                "{{instance}} {{mountpoint}}",
            )],
        )
        .field("max", serde_json::json!(1))
        .thresholds(&[("green", None), ("orange", Some(0.8)), ("red", Some(0.9))]),
        Panel::new(
            Kind::TimeSeries,
            "Disk I/O",
            "Bytes read (negative) and written per second, per host and device.",
            "Bps",
            vec![
                prom(format!("-sum by (instance, device) (rate(node_disk_read_bytes_total{host}[$__rate_interval]))"), "{{instance}} {{device}} read"),
                prom(format!("sum by (instance, device) (rate(node_disk_written_bytes_total{host}[$__rate_interval]))"), "{{instance}} {{device}} written"),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Network",
            "Bytes received (negative) and sent per second, per host and interface (loopback left out).",
            "Bps",
            vec![
                prom(format!("-sum by (instance, device) (rate(node_network_receive_bytes_total{nic}[$__rate_interval]))"), "{{instance}} {{device}} in"),
                prom(format!("sum by (instance, device) (rate(node_network_transmit_bytes_total{nic}[$__rate_interval]))"), "{{instance}} {{device}} out"),
            ],
        ),
        row("Containers (cAdvisor)"),
        Panel::new(
            Kind::Stat,
            "Containers",
            "Named containers cAdvisor currently sees.",
            "short",
            vec![prom(format!("count(container_last_seen{container}) or vector(0)"), "containers")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Container CPU",
            "CPU time used per second by each container (1 = one full core).",
            "percentunit",
            vec![prom(format!("sum by (name) (rate(container_cpu_usage_seconds_total{container}[$__rate_interval]))"), "{{name}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Container memory (working set)",
            "Working-set memory of each container: what the kernel counts against its limit.",
            "bytes",
            vec![prom(format!("sum by (name) (container_memory_working_set_bytes{container})"), "{{name}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Container memory vs limit",
            "Working set as a share of the memory limit, for containers that have one.",
            "percentunit",
            vec![prom(
                format!(
                    "sum by (name) (container_memory_working_set_bytes{container})\n/\nsum by (name) (container_spec_memory_limit_bytes{container} > 0)"
                ),
                "{{name}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Container network",
            "Bytes received (negative) and sent per second by each container.",
            "Bps",
            vec![
                prom(format!("-sum by (name) (rate(container_network_receive_bytes_total{container}[$__rate_interval]))"), "{{name}} in"),
                prom(format!("sum by (name) (rate(container_network_transmit_bytes_total{container}[$__rate_interval]))"), "{{name}} out"),
            ],
        ),
    ];
    Spec {
        uid: "obs-infrastructure",
        title: "obs / Infrastructure",
        description: "Are the hosts and containers my services run on healthy? CPU, memory, disk and network per host (node-exporter) and per container (cAdvisor).",
        variables,
        panels,
    }
}
