//! Database: PostgreSQL (postgres-exporter) and Redis (redis-exporter).

use super::panels::{Kind, Panel, job_and_instance_variables, prom, prometheus_variable, row};
use super::{Spec, target_selector};

pub(crate) fn spec() -> Spec {
    let t = target_selector("");
    let [job, instance] = job_and_instance_variables("up");
    let variables = vec![prometheus_variable(), job, instance];
    let up_mappings: &[(&str, &str, &str)] = &[("0", "down", "red"), ("1", "up", "green")];
    let panels = vec![
        row("PostgreSQL (postgres-exporter)"),
        Panel::new(
            Kind::Stat,
            "PostgreSQL up",
            "Whether postgres-exporter reaches PostgreSQL. PostgresDown fires when it does not.",
            "none",
            vec![prom(format!("min(pg_up{t})"), "up")],
        )
        .mappings(up_mappings),
        Panel::new(
            Kind::Stat,
            "Connections used",
            "Connections as a share of max_connections, on the busiest server. PostgresTooManyConnections fires above the threshold.",
            "percentunit",
            vec![prom(
                format!("max(sum by (job, instance) (pg_stat_activity_count{t}) / max by (job, instance) (pg_settings_max_connections{t}))"),
                "used",
            )],
        )
        .thresholds(&[("green", None), ("orange", Some(0.7)), ("red", Some(0.8))]),
        Panel::new(
            Kind::TimeSeries,
            "Connections by state",
            "Backends per connection state (active, idle, idle in transaction, …).",
            "short",
            vec![prom(format!("sum by (instance, state) (pg_stat_activity_count{t})"), "{{instance}} {{state}}")],
        )
        .width(16),
        Panel::new(
            Kind::TimeSeries,
            "Transactions",
            "Commits and rollbacks per second, per database.",
            "ops",
            vec![
                prom(format!("sum by (datname) (rate(pg_stat_database_xact_commit{t}[$__rate_interval]))"), "{{datname}} commit"),
                prom(format!("sum by (datname) (rate(pg_stat_database_xact_rollback{t}[$__rate_interval]))"), "{{datname}} rollback"),
            ],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Cache hit ratio",
            "Share of block reads served from shared buffers, per database.",
            "percentunit",
            vec![prom(
                format!(
                    "sum by (datname) (rate(pg_stat_database_blks_hit{t}[$__rate_interval]))\n/\n(sum by (datname) (rate(pg_stat_database_blks_hit{t}[$__rate_interval])) + sum by (datname) (rate(pg_stat_database_blks_read{t}[$__rate_interval])))"
                ),
                "{{datname}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Database size",
            "Size on disk of each database.",
            "bytes",
            vec![prom(format!("sum by (datname) (pg_database_size_bytes{t})"), "{{datname}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Deadlocks",
            "Deadlocks detected per second, per database.",
            "ops",
            vec![prom(format!("sum by (datname) (rate(pg_stat_database_deadlocks{t}[$__rate_interval]))"), "{{datname}}")],
        ),
        row("Redis (redis-exporter)"),
        Panel::new(
            Kind::Stat,
            "Redis up",
            "Whether redis-exporter reaches Redis. RedisDown fires when it does not.",
            "none",
            vec![prom(format!("min(redis_up{t})"), "up")],
        )
        .mappings(up_mappings),
        Panel::new(
            Kind::Stat,
            "Connected clients",
            "Client connections to Redis.",
            "short",
            vec![prom(format!("sum(redis_connected_clients{t})"), "clients")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Memory used vs maxmemory",
            "Memory Redis uses, and its maxmemory limit when one is set. RedisMemoryNearLimit fires close to the limit.",
            "bytes",
            vec![
                prom(format!("redis_memory_used_bytes{t}"), "{{instance}} used"),
                prom(format!("redis_memory_max_bytes{t} > 0"), "{{instance}} maxmemory"),
            ],
        )
        .width(16),
        Panel::new(
            Kind::TimeSeries,
            "Commands",
            "Commands processed per second.",
            "ops",
            vec![prom(format!("sum by (instance) (rate(redis_commands_processed_total{t}[$__rate_interval]))"), "{{instance}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Keyspace hit ratio",
            "Share of key lookups that found the key.",
            "percentunit",
            vec![prom(
                format!(
                    "sum by (instance) (rate(redis_keyspace_hits_total{t}[$__rate_interval]))\n/\n(sum by (instance) (rate(redis_keyspace_hits_total{t}[$__rate_interval])) + sum by (instance) (rate(redis_keyspace_misses_total{t}[$__rate_interval])))"
                ),
                "{{instance}}",
            )],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Keys",
            "Keys per database.",
            "short",
            vec![prom(format!("sum by (instance, db) (redis_db_keys{t})"), "{{instance}} {{db}}")],
        ),
        Panel::new(
            Kind::TimeSeries,
            "Evictions",
            "Keys evicted per second because of maxmemory.",
            "ops",
            vec![prom(format!("sum by (instance) (rate(redis_evicted_keys_total{t}[$__rate_interval]))"), "{{instance}}")],
        ),
    ];
    Spec {
        uid: "obs-database",
        title: "obs / Database",
        description: "Are PostgreSQL and Redis keeping up? Availability, connections, transactions, cache hits, memory and evictions.",
        variables,
        panels,
    }
}
