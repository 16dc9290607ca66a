//! The Kubernetes target: every manifest against the published OpenAPI schemas of Kubernetes and
//! the Prometheus Operator CRDs (kubernetes-models, locked in tests/kubernetes/package-lock.json),
//! the labels the charts' selectors need, the rules (the compose target's groups, promtool's
//! checks and the bundled unit tests) and the dashboards inside the ConfigMaps (the contract
//! checks), and snapshots of the whole tree.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use obs_gen::model::{Config, Target};
use serde_yaml_ng::Value;

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `tests/kubernetes` with its installed node_modules, or `None` (skipping loudly) off CI.
fn validator() -> Option<(PathBuf, PathBuf)> {
    let node = obs_tests::require_tool("node")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubernetes");
    if !dir.join("node_modules/kubernetes-models").is_dir() {
        assert!(
            !obs_tests::in_ci(),
            "{}/node_modules is missing; .ci/run installs it with npm ci (CI=true, so this fails instead of skipping)",
            dir.display()
        );
        eprintln!(
            "\n!!! SKIPPING: run `npm ci` in {} to validate the manifests against the schemas !!!\n",
            dir.display()
        );
        return None;
    }
    Some((node, dir))
}

/// Runs the schema validator on a generated directory; returns its report.
fn validate(out: &Path) -> Option<String> {
    let (node, dir) = validator()?;
    let res = Command::new(node)
        .arg(dir.join("validate.mjs"))
        .arg(out)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&res.stdout).into_owned();
    assert!(
        res.status.success(),
        "schema validation failed:\n{report}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    Some(report)
}

fn init_defaults(tmp: &Path) -> PathBuf {
    let stdout = obs_gen_ok(tmp, &["init", "--yes", "--target", "kubernetes"]);
    assert!(stdout.contains("wrote monitoring:"), "{stdout}");
    tmp.join("monitoring")
}

fn resources(out: &Path) -> Vec<String> {
    yaml(&out.join("kustomization.yaml"))["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_manifest_passes_the_published_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let defaults = init_defaults(tmp.path());
    let all = tempfile::tempdir().unwrap();
    let all = generate_fixture(all.path(), "kubernetes-all-options.toml");
    for out in [defaults, all] {
        let Some(report) = validate(&out) else {
            return;
        };
        let objects = resources(&out).len();
        // Every listed object, plus the two Operator specs inside the kube-prometheus-stack
        // values and the ServiceMonitor of each exporter chart's values.
        let charts = files(&out)
            .iter()
            .filter(|f| f.starts_with("values/prometheus-") && f.ends_with("-exporter.yaml"))
            .count();
        assert!(
            report.contains(&format!(
                "{} objects valid, 0 invalid",
                objects + 2 + charts
            )),
            "{report}"
        );
    }
}

/// Every resource `kustomization.yaml` lists exists, every manifest of the tree is listed, and
/// kustomize itself (`kubectl kustomize`, which refuses unknown fields and missing files)
/// builds it into exactly the listed objects.
#[test]
fn the_kustomization_lists_every_manifest_and_kustomize_builds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let defaults = init_defaults(tmp.path());
    let all = tempfile::tempdir().unwrap();
    let all = generate_fixture(all.path(), "kubernetes-all-options.toml");
    let kubectl = obs_tests::require_tool("kubectl");
    for out in [defaults, all] {
        let kustomization = yaml(&out.join("kustomization.yaml"));
        assert_eq!(
            kustomization["apiVersion"].as_str(),
            Some("kustomize.config.k8s.io/v1beta1")
        );
        assert_eq!(kustomization["kind"].as_str(), Some("Kustomization"));
        let listed = resources(&out);
        let unique: std::collections::BTreeSet<&String> = listed.iter().collect();
        assert_eq!(unique.len(), listed.len(), "no resource twice: {listed:?}");
        for r in &listed {
            assert!(out.join(r).is_file(), "{r} is listed but not written");
        }
        let manifests: Vec<String> = files(&out)
            .into_iter()
            .filter(|f| {
                f.ends_with(".yaml") && !f.starts_with("values/") && f != "kustomization.yaml"
            })
            .collect();
        for m in &manifests {
            assert!(listed.contains(m), "{m} is written but not listed");
        }
        let Some(kubectl) = &kubectl else {
            continue;
        };
        let built = Command::new(kubectl)
            .arg("kustomize")
            .arg(&out)
            .output()
            .expect("kubectl runs");
        assert!(
            built.status.success(),
            "kubectl kustomize: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let text = String::from_utf8(built.stdout).unwrap();
        let objects = text
            .split("\n---\n")
            .filter(|d| !d.trim().is_empty())
            .count();
        assert_eq!(objects, listed.len(), "one object per listed file");
    }

    // kustomize refuses a missing resource and an unknown field.
    let Some(kubectl) = kubectl else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    std::fs::remove_file(out.join("prometheusrule.yaml")).unwrap();
    let res = Command::new(&kubectl)
        .arg("kustomize")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!res.status.success(), "a listed file is missing");
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    let path = out.join("kustomization.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("resources:", "resourcez:");
    std::fs::write(&path, text).unwrap();
    let res = Command::new(&kubectl)
        .arg("kustomize")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!res.status.success(), "an unknown field");
}

#[test]
fn the_validator_rejects_an_invalid_object() {
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    let path = out.join("servicemonitors/app.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("interval: 15s", "interval: every 15 seconds");
    std::fs::write(&path, text).unwrap();
    let Some((node, dir)) = validator() else {
        return;
    };
    let res = Command::new(node)
        .arg(dir.join("validate.mjs"))
        .arg(&out)
        .current_dir(&dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&res.stdout);
    assert_eq!(res.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FAIL  servicemonitors/app.yaml") && report.contains("interval"),
        "{report}"
    );
}

#[test]
fn what_the_charts_select_carries_their_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    let mut kinds = Vec::new();
    for r in resources(&out) {
        let doc = yaml(&out.join(&r));
        let kind = doc["kind"].as_str().unwrap().to_string();
        let labels = &doc["metadata"]["labels"];
        match kind.as_str() {
            "ServiceMonitor" | "PrometheusRule" | "AlertmanagerConfig" => {
                assert_eq!(labels["release"].as_str(), Some("prom"), "{r}");
                assert_eq!(doc["metadata"]["namespace"].as_str(), Some("observability"));
            }
            "ConfigMap" if r.starts_with("grafana/dashboards/") => {
                assert_eq!(labels["grafana_dashboard"].as_str(), Some("1"), "{r}");
                assert_eq!(
                    doc["metadata"]["annotations"]["grafana_folder"].as_str(),
                    Some("obs")
                );
            }
            "ConfigMap" if r == "grafana/datasources.yaml" => {
                assert_eq!(labels["grafana_datasource"].as_str(), Some("1"));
                let ds: Value =
                    serde_yaml_ng::from_str(doc["data"]["obs-datasources.yaml"].as_str().unwrap())
                        .unwrap();
                let uids: Vec<&str> = ds["datasources"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|d| d["uid"].as_str().unwrap())
                    .collect();
                use obs_mixin::datasource_uids::*;
                assert_eq!(uids, [PROMETHEUS, LOKI, TEMPO]);
                assert!(
                    ds.get("datasources").unwrap()[0]["url"]
                        .as_str()
                        .unwrap()
                        .starts_with(
                            "http://prom-kube-prometheus-stack-prometheus.observability.svc"
                        )
                );
            }
            _ => {}
        }
        kinds.push(kind);
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "ServiceMonitor").count(),
        3,
        "one per service, one for the Redis exporter the cluster runs"
    );
    let sm = yaml(&out.join("servicemonitors/api.yaml"));
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"]["app"].as_str(),
        Some("api-server")
    );
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"][0].as_str(),
        Some("shop")
    );
    assert_eq!(sm["spec"]["endpoints"][0]["port"].as_str(), Some("metrics"));
    assert_eq!(
        sm["spec"]["endpoints"][0]["path"].as_str(),
        Some("/internal/metrics")
    );
    assert_eq!(sm["spec"]["endpoints"][0]["interval"].as_str(), Some("30s"));
}

#[test]
fn databases_are_scraped_through_the_exporter_charts_or_the_users_exporter() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = obs_gen_ok(
        tmp.path(),
        &[
            "init",
            "--yes",
            "--target",
            "kubernetes",
            "--postgres",
            "--redis",
        ],
    );
    assert!(stdout.contains("wrote monitoring:"), "{stdout}");
    let out = tmp.path().join("monitoring");
    let pg = yaml(&out.join("values/prometheus-postgres-exporter.yaml"));
    assert_eq!(
        pg["config"]["datasource"]["host"].as_str(),
        Some("postgres.default.svc")
    );
    assert_eq!(pg["config"]["datasource"]["port"].as_str(), Some("5432"));
    let redis = yaml(&out.join("values/prometheus-redis-exporter.yaml"));
    assert_eq!(
        redis["redisAddress"].as_str(),
        Some("redis://redis.default.svc:6379")
    );
    for (values, job) in [(&pg, "postgres"), (&redis, "redis")] {
        let sm = &values["serviceMonitor"];
        assert_eq!(sm["enabled"].as_bool(), Some(true));
        assert_eq!(
            sm["labels"]["release"].as_str(),
            Some("kube-prometheus-stack")
        );
        assert_eq!(sm["relabelings"][0]["targetLabel"].as_str(), Some("job"));
        assert_eq!(sm["relabelings"][0]["replacement"].as_str(), Some(job));
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains(
            "helm upgrade --install postgres-exporter prometheus-community/prometheus-postgres-exporter --version"
        ),
        "{readme}"
    );
    // The jobs the bundled database alerts select are the ones the ServiceMonitors set.
    let rules = std::fs::read_to_string(out.join("prometheusrule.yaml")).unwrap();
    assert!(
        rules.contains("pg_up{job=\"postgres\"}"),
        "PostgresDown selects the job"
    );
    assert!(
        rules.contains("redis_up{job=\"redis\"}"),
        "RedisDown selects the job"
    );

    // The all-options fixture: PostgreSQL's password from a Secret by name, Redis through an
    // exporter the cluster already runs.
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    let pg = yaml(&out.join("values/prometheus-postgres-exporter.yaml"));
    let ds = &pg["config"]["datasource"];
    assert_eq!(ds["user"].as_str(), Some("monitor"));
    assert_eq!(
        ds["passwordSecret"]["name"].as_str(),
        Some("shop-db-monitor")
    );
    assert_eq!(ds["passwordSecret"]["key"].as_str(), Some("password"));
    assert!(ds.get("password").is_none(), "no password value");
    assert_eq!(
        pg["serviceMonitor"]["labels"]["release"].as_str(),
        Some("prom")
    );
    assert!(!out.join("values/prometheus-redis-exporter.yaml").exists());
    assert!(resources(&out).contains(&"databases/redis-exporter.yaml".to_string()));
    let sm = yaml(&out.join("databases/redis-exporter.yaml"));
    assert_eq!(sm["kind"].as_str(), Some("ServiceMonitor"));
    assert_eq!(sm["metadata"]["labels"]["release"].as_str(), Some("prom"));
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"][0].as_str(),
        Some("cache")
    );
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("redis-exporter")
    );
    let endpoint = &sm["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"].as_str(), Some("http-metrics"));
    assert_eq!(
        endpoint["relabelings"][0]["replacement"].as_str(),
        Some("redis")
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("`shop-db-monitor` (key `password`"),
        "{readme}"
    );
}

#[test]
fn the_database_dashboard_reads_what_the_exporters_export() {
    // The dashboard the Kubernetes target ships passes the contract check against the
    // exporters' metric lists (mixin/exporters/), with every PostgreSQL and Redis panel.
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    let doc = yaml(&out.join("grafana/dashboards/obs-database.yaml"));
    let found = obs_gen::check::kubernetes::dashboards_of(&doc);
    let dashboard = found[0].1.as_ref().unwrap();
    assert!(obs_mixin::contract::check_dashboard(dashboard).is_empty());
    let text = dashboard.to_string();
    for name in [
        "pg_up",
        "pg_stat_activity_count",
        "redis_up",
        "redis_memory_used_bytes",
    ] {
        assert!(text.contains(name), "{name}");
        let exporter = if name.starts_with("pg_") {
            "postgres-exporter"
        } else {
            "redis-exporter"
        };
        let list = std::fs::read_to_string(
            obs_tests::repo_root().join(format!("mixin/exporters/{exporter}.txt")),
        )
        .unwrap();
        assert!(
            list.lines().any(|l| l.split(' ').next() == Some(name)),
            "{name} in mixin/exporters/{exporter}.txt"
        );
    }
}

#[test]
fn no_secret_value_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    assert!(
        !out.join(".env").exists(),
        "secrets live in Secrets the user creates"
    );
    let amc = yaml(&out.join("alertmanagerconfig.yaml"));
    let slack = &amc["spec"]["receivers"][0]["slackConfigs"][0];
    assert_eq!(slack["apiURL"]["name"].as_str(), Some("obs-alerting"));
    assert_eq!(slack["apiURL"]["key"].as_str(), Some("SHOP_SLACK_URL"));
    let values = yaml(&out.join("values/kube-prometheus-stack.yaml"));
    let rw = &values["prometheus"]["prometheusSpec"]["remoteWrite"][0];
    assert_eq!(
        rw["url"].as_str(),
        Some("https://mimir.example.com/api/v1/push")
    );
    assert_eq!(
        rw["basicAuth"]["password"]["key"].as_str(),
        Some("MIMIR_PASSWORD")
    );
    assert_eq!(
        rw["basicAuth"]["password"]["name"].as_str(),
        Some("obs-remote-write")
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("--from-literal=SHOP_SLACK_URL=\"$SHOP_SLACK_URL\""),
        "{readme}"
    );
}

/// The groups of the compose target's rule files, in the mixin's order.
fn compose_groups(cfg: &Config) -> Vec<serde_json::Value> {
    obs_mixin::rule_files(&cfg.thresholds_for_rules())
        .iter()
        .flat_map(|f| {
            let doc: serde_json::Value = serde_yaml_ng::from_str(&f.yaml).unwrap();
            doc["groups"].as_array().unwrap().clone()
        })
        .collect()
}

#[test]
fn both_targets_write_the_same_rule_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    let cfg = Config::from_toml(
        &std::fs::read_to_string(out.join("obs.toml")).unwrap(),
        "obs.toml",
    )
    .unwrap();
    let written: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(out.join("prometheusrule.yaml")).unwrap())
            .unwrap();
    let groups = written["spec"]["groups"].as_array().unwrap();
    assert_eq!(groups, &compose_groups(&cfg));
    let text = serde_json::to_string(groups).unwrap();
    assert!(
        text.contains("0.02"),
        "the [alerts] thresholds reach the PrometheusRule"
    );
    assert!(
        text.contains("api|worker"),
        "the services select the service alerts"
    );

    // The same file in the compose target: its prometheus/rules/ hold the same groups.
    let compose = Config {
        target: Target::Compose,
        ..cfg.clone()
    };
    assert_eq!(compose_groups(&compose), *groups);
}

#[test]
fn promtool_checks_the_groups_and_the_bundled_unit_tests_pass_on_them() {
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    let report = obs_gen_ok(tmp.path(), &["check", "monitoring"]);
    assert!(
        report.contains("ok    promtool check rules (prometheusrule.yaml)"),
        "{report}"
    );
    assert!(out.join("prometheusrule.yaml").is_file());

    // The unit tests are written for the default thresholds: the PrometheusRule of a
    // configuration without services, linking the mixin's default Grafana, split back into
    // the files the tests name.
    let cfg = Config {
        target: Target::Kubernetes,
        grafana_url: Some(obs_mixin::DEFAULT_GRAFANA_URL.parse().unwrap()),
        ..Config::default()
    };
    let groups = obs_gen::render::kubernetes::rule_groups(&cfg);
    let files = obs_mixin::rule_files(&obs_mixin::Thresholds::default());
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), files.len(), "one group per rule file");
    let dir = tmp.path().join("rules");
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    for (group, file) in groups.iter().zip(&files) {
        let doc = serde_json::json!({ "groups": [group] });
        std::fs::write(
            dir.join(&file.file_name),
            serde_yaml_ng::to_string(&doc).unwrap(),
        )
        .unwrap();
    }
    let mut names = Vec::new();
    for t in obs_mixin::rule_test_files() {
        // Named `tests/<stem>.test.yaml`, relative to the rule files.
        std::fs::write(dir.join(&t.file_name), &t.yaml).unwrap();
        names.push(t.file_name.trim_start_matches("tests/").to_string());
    }
    let res = Command::new(&promtool)
        .args(["test", "rules"])
        .args(&names)
        .current_dir(dir.join("tests"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(text.matches("SUCCESS").count(), names.len(), "{text}");
}

#[test]
fn dashboards_in_configmaps_pass_the_contract_checks_and_a_renamed_metric_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    let cfg = Config::from_toml(
        &std::fs::read_to_string(out.join("obs.toml")).unwrap(),
        "obs.toml",
    )
    .unwrap();
    let bundled = obs_mixin::dashboards_for(&cfg.thresholds_for_rules());
    let written = files(&out)
        .iter()
        .filter(|f| f.starts_with("grafana/dashboards/"))
        .count();
    assert_eq!(
        written,
        bundled.len(),
        "one ConfigMap per bundled dashboard"
    );
    for d in bundled {
        let doc = yaml(&out.join(format!("grafana/dashboards/{}.yaml", d.uid)));
        let found = obs_gen::check::kubernetes::dashboards_of(&doc);
        assert_eq!(found.len(), 1);
        assert_eq!(
            doc["data"][d.file_name.as_str()].as_str(),
            Some(d.to_json_string().as_str()),
            "the ConfigMap holds the bundled file byte for byte"
        );
        assert!(obs_gen::check::kubernetes::check_object(&doc).is_empty());
    }

    let path = out.join("grafana/dashboards/obs-service-overview.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "http_server_request_duration_seconds",
        "http_request_duration_seconds",
    );
    let broken: Value = serde_yaml_ng::from_str(&text).unwrap();
    let problems = obs_gen::check::kubernetes::check_object(&broken);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("http_request_duration_seconds")),
        "{problems:?}"
    );
    std::fs::write(&path, text).unwrap();
    let res = obs_gen(tmp.path(), &["check", "monitoring"]);
    assert_eq!(res.status.code(), Some(1), "obs-gen check fails on it");
}

#[test]
fn alloy_runs_with_least_privilege() {
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    let role = yaml(&out.join("alloy/clusterrole.yaml"));
    let rules = role["rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        rules[0]["resources"],
        serde_yaml_ng::from_str::<Value>("[pods]").unwrap()
    );
    assert_eq!(
        rules[0]["verbs"],
        serde_yaml_ng::from_str::<Value>("[get, list, watch]").unwrap()
    );
    let ds = yaml(&out.join("alloy/daemonset.yaml"));
    let c = &ds["spec"]["template"]["spec"]["containers"][0];
    assert!(c["image"].as_str().unwrap().starts_with("grafana/alloy:v"));
    assert_eq!(
        c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    assert_eq!(
        c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    assert!(c["resources"]["limits"]["memory"].as_str().is_some());
    assert!(c["resources"]["requests"]["cpu"].as_str().is_some());
    let config = yaml(&out.join("alloy/configmap.yaml"))["data"]["config.alloy"]
        .as_str()
        .unwrap()
        .to_string();
    for needed in [
        "discovery.kubernetes \"pods\"",
        "/var/log/pods/*$1/*.log",
        "stage.cri {}",
        "values = [\"namespace\", \"level\", \"service\", \"env\"]",
        "request_id = \"request_id\"",
    ] {
        assert!(config.contains(needed), "{needed} in\n{config}");
    }
}

/// The tree as one text, like [`tree_text`] for compose: the dashboards and the rules (rendered
/// and snapshotted by obs-mixin) are checked here to be the bundled ones and left out.
fn kubernetes_tree_text(dir: &Path) -> String {
    let mut s = String::new();
    for f in files(dir) {
        let text = std::fs::read_to_string(dir.join(&f)).unwrap();
        s.push_str(&format!("===== {f}\n"));
        if f.starts_with("grafana/dashboards/") {
            let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
            assert!(
                obs_gen::check::kubernetes::check_object(&doc).is_empty(),
                "{f}"
            );
            s.push_str(&format!(
                "(ConfigMap {} of the bundled dashboard)\n",
                doc["metadata"]["name"].as_str().unwrap()
            ));
        } else if f == "prometheusrule.yaml" {
            let (head, _) = text.split_once("  groups:").unwrap();
            s.push_str(head);
            s.push_str("  groups: (the bundled rule groups)\n");
        } else if f == ".obs-manifest.json" {
            s.push_str("(hashes of the files above)\n");
        } else {
            s.push_str(&text);
        }
    }
    s
}

#[test]
fn default_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let out = init_defaults(tmp.path());
    insta::assert_snapshot!("kubernetes_default_tree", kubernetes_tree_text(&out));
}

#[test]
fn all_options_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "kubernetes-all-options.toml");
    insta::assert_snapshot!("kubernetes_all_options_tree", kubernetes_tree_text(&out));
}
