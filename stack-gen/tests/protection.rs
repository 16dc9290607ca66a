//! A re-run never overwrites a file the user changed; `--force` does; `--dry-run` shows the
//! diff and writes nothing.

mod common;

use common::*;

#[test]
fn edited_file_is_protected_force_overwrites_dry_run_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let out = tmp.path().join("monitoring");
    let prom = out.join("prometheus/prometheus.yml");
    let generated = std::fs::read_to_string(&prom).unwrap();
    let edited = generated.replace("scrape_interval: 15s", "scrape_interval: 5s");
    assert_ne!(edited, generated);
    std::fs::write(&prom, &edited).unwrap();

    // A settings change that rewrites prometheus.yml (and compose.yaml) is refused as a whole.
    let config = out.join("obs.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("retention = \"15d\"", "retention = \"30d\"");
    std::fs::write(&config, &toml).unwrap();
    let compose_before = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    let res = obs_gen(tmp.path(), &["generate"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("prometheus/prometheus.yml: was changed by hand"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&prom).unwrap(),
        edited,
        "the edit survives"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("compose.yaml")).unwrap(),
        compose_before,
        "nothing half-written"
    );

    // --dry-run --force shows the diff of both files and writes nothing.
    let diff = obs_gen_ok(tmp.path(), &["generate", "--dry-run", "--force"]);
    assert!(diff.contains("--- a/prometheus/prometheus.yml"), "{diff}");
    assert!(
        diff.contains("-  scrape_interval: 5s\n+  scrape_interval: 15s"),
        "{diff}"
    );
    assert!(
        diff.contains("+    - --storage.tsdb.retention.time=30d"),
        "{diff}"
    );
    assert!(diff.contains("dry run, nothing written"), "{diff}");
    assert_eq!(std::fs::read_to_string(&prom).unwrap(), edited);
    assert_eq!(
        std::fs::read_to_string(out.join("compose.yaml")).unwrap(),
        compose_before
    );

    // --force overwrites.
    obs_gen_ok(tmp.path(), &["generate", "--force"]);
    assert_eq!(std::fs::read_to_string(&prom).unwrap(), generated);
    assert!(
        std::fs::read_to_string(out.join("compose.yaml"))
            .unwrap()
            .contains("retention.time=30d")
    );
}

#[test]
fn unedited_files_follow_obs_toml_and_stale_files_go() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let out = tmp.path().join("monitoring");
    assert!(out.join("alloy/config.alloy").exists());
    let config = out.join("obs.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("log_shipper = \"alloy\"", "log_shipper = \"promtail\"");
    std::fs::write(&config, toml).unwrap();
    let report = obs_gen_ok(tmp.path(), &["generate"]);
    assert!(report.contains("1 removed"), "{report}");
    assert!(!out.join("alloy/config.alloy").exists());
    assert!(out.join("promtail/config.yml").exists());
}

#[test]
fn init_does_not_replace_an_edited_obs_toml() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let res = obs_gen(tmp.path(), &["init", "--yes", "--tracing"]);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("obs.toml: exists with other settings"));
    obs_gen_ok(tmp.path(), &["init", "--yes", "--tracing", "--force"]);
    assert!(tmp.path().join("monitoring/tempo/config.yaml").exists());
}

#[test]
fn dashboards_list_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let list = obs_gen_ok(tmp.path(), &["dashboards", "list"]);
    let dashboards = obs_mixin::dashboards();
    assert_eq!(list.lines().count(), dashboards.len());
    for d in &dashboards {
        assert!(
            list.contains(&format!("{}\t{}\t", d.uid, d.file_name)),
            "{list}"
        );
    }
    let said = obs_gen_ok(
        tmp.path(),
        &["dashboards", "export", "--for-import", "--out", "exported"],
    );
    for d in &dashboards {
        let text = std::fs::read_to_string(tmp.path().join("exported").join(&d.file_name)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json, obs_mixin::for_import(d));
    }
    // The recording rules the dashboards read travel with them, with a note why.
    let rules = obs_mixin::recording_rule_file();
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("exported").join(&rules.file_name)).unwrap(),
        rules.yaml
    );
    let exported: Vec<String> = files(&tmp.path().join("exported"))
        .into_iter()
        .filter(|f| f != ".obs-manifest.json")
        .collect();
    assert_eq!(exported.len(), dashboards.len() + 1, "{exported:?}");
    assert!(
        said.contains("imported alone, the panels built on its recording rules")
            && said.contains("of obs / Service overview"),
        "{said}"
    );
    assert!(
        said.contains("obs / SLOs reads the rules obs-gen writes for the [[slo]] tables"),
        "{said}"
    );
}

#[test]
fn completions_and_help() {
    let tmp = tempfile::tempdir().unwrap();
    let bash = obs_gen_ok(tmp.path(), &["completions", "bash"]);
    assert!(bash.contains("--log-shipper"), "completion lists the flags");
    let help = obs_gen_ok(tmp.path(), &["init", "--help"]);
    assert!(
        help.contains("Examples:") && help.contains("--service <NAME=HOST:PORT>"),
        "{help}"
    );
}

#[test]
fn app_compose_file_turns_on_the_database_exporters() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("app-compose.yaml"),
        "services:\n  db:\n    image: postgres:17-alpine\n    ports: [\"127.0.0.1:15432:5432\"]\n  cache:\n    image: redis:7\n  web:\n    image: nginx:1\n",
    )
    .unwrap();
    obs_gen_ok(
        tmp.path(),
        &["init", "--yes", "--app-compose", "app-compose.yaml"],
    );
    let out = tmp.path().join("monitoring");
    let cfg = obs_gen::model::Config::from_toml(
        &std::fs::read_to_string(out.join("obs.toml")).unwrap(),
        "obs.toml",
    )
    .unwrap();
    assert_eq!(
        cfg.databases.postgres.unwrap().address.unwrap().to_string(),
        "host.docker.internal:15432"
    );
    assert_eq!(
        cfg.databases.redis.unwrap().address.unwrap().to_string(),
        "host.docker.internal:6379"
    );
    let compose: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(out.join("compose.yaml")).unwrap())
            .unwrap();
    assert!(
        compose["services"]["postgres-exporter"]["image"]
            .as_str()
            .is_some()
    );
    assert!(
        compose["services"]["redis-exporter"]["image"]
            .as_str()
            .is_some()
    );
    let prom = std::fs::read_to_string(out.join("prometheus/prometheus.yml")).unwrap();
    assert!(
        prom.contains("job_name: postgres") && prom.contains("postgres-exporter:9187"),
        "{prom}"
    );
    assert!(
        prom.contains("job_name: redis") && prom.contains("redis-exporter:9121"),
        "{prom}"
    );
}
