//! Snapshots of the whole generated tree: the default (`init --yes`) and every option set.

mod common;

use common::*;

#[test]
fn default_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = obs_gen_ok(tmp.path(), &["init", "--yes"]);
    assert!(stdout.contains("wrote monitoring:"), "{stdout}");
    let out = tmp.path().join("monitoring");
    insta::assert_snapshot!("default_tree", tree_text(&out));
}

#[test]
fn all_options_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "all-options.toml");
    insta::assert_snapshot!("all_options_tree", tree_text(&out));
}

#[test]
fn thresholds_of_obs_toml_reach_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "all-options.toml");
    let rules: String = files(&out)
        .iter()
        .filter(|f| f.starts_with("prometheus/rules/"))
        .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
        .collect();
    let expected = obs_mixin::rule_files(
        &obs_gen::model::Config::from_toml(
            &std::fs::read_to_string(fixture("all-options.toml")).unwrap(),
            "fixture",
        )
        .unwrap()
        .thresholds_for_rules(),
    );
    assert!(!expected.is_empty());
    for file in &expected {
        assert_eq!(
            std::fs::read_to_string(out.join("prometheus/rules").join(&file.file_name)).unwrap(),
            file.yaml
        );
    }
    assert!(rules.contains("0.02"), "error_ratio = 0.02 is used");
    // The dashboards colour the same thresholds.
    let thresholds = obs_gen::model::Config::from_toml(
        &std::fs::read_to_string(fixture("all-options.toml")).unwrap(),
        "fixture",
    )
    .unwrap()
    .thresholds_for_rules();
    for d in obs_mixin::dashboards_for(&thresholds) {
        assert_eq!(
            std::fs::read_to_string(out.join("grafana/dashboards").join(&d.file_name)).unwrap(),
            d.to_json_string()
        );
    }
    let service =
        std::fs::read_to_string(out.join("grafana/dashboards/obs-service-overview.json")).unwrap();
    assert!(
        service.contains("\"value\": 0.02") && !service.contains("\"value\": 0.05"),
        "the 5xx ratio stat turns red at error_ratio = 0.02"
    );
    assert!(
        rules.contains("api|worker"),
        "the service jobs of obs.toml select the service alerts"
    );
}

#[test]
fn output_is_deterministic_and_a_rerun_changes_nothing() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    obs_gen_ok(a.path(), &["init", "--yes"]);
    obs_gen_ok(b.path(), &["init", "--yes"]);
    let (ta, tb) = (
        tree_text(&a.path().join("monitoring")),
        tree_text(&b.path().join("monitoring")),
    );
    assert_eq!(ta, tb);
    let env_a = std::fs::read_to_string(a.path().join("monitoring/.env")).unwrap();
    let env_b = std::fs::read_to_string(b.path().join("monitoring/.env")).unwrap();
    assert_ne!(env_a, env_b, "each stack gets its own random password");

    let again = obs_gen_ok(a.path(), &["generate"]);
    assert!(again.contains("0 created, 0 updated"), "{again}");
    assert_eq!(
        std::fs::read_to_string(a.path().join("monitoring/.env")).unwrap(),
        env_a,
        ".env is never regenerated"
    );
}

#[test]
fn env_file_is_private_and_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let out = tmp.path().join("monitoring");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(out.join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(out.join(".gitignore")).unwrap(),
        ".env\n"
    );
    let manifest = std::fs::read_to_string(out.join(".obs-manifest.json")).unwrap();
    assert!(
        !manifest.contains("\".env\""),
        "the secret file is not in the manifest"
    );
}

#[test]
fn default_compose_is_safe() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let text = std::fs::read_to_string(tmp.path().join("monitoring/compose.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let services = doc["services"].as_mapping().unwrap();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        assert!(
            svc["healthcheck"]["test"]
                .as_sequence()
                .is_some_and(|t| t.len() >= 2),
            "{name} has no health check"
        );
        assert!(
            svc["mem_limit"].as_str().is_some(),
            "{name} has no memory limit"
        );
        assert_eq!(svc["restart"].as_str(), Some("unless-stopped"), "{name}");
        let image = svc["image"].as_str().unwrap();
        assert!(
            image.rsplit_once(':').is_some_and(|(_, t)| t != "latest"),
            "{name}: {image}"
        );
        for port in svc["ports"].as_sequence().into_iter().flatten() {
            assert!(
                port.as_str().unwrap().starts_with("127.0.0.1:"),
                "{name}: {port:?}"
            );
        }
    }
    for needed in [
        "prometheus",
        "alertmanager",
        "grafana",
        "loki",
        "alloy",
        "node-exporter",
        "cadvisor",
    ] {
        assert!(services.contains_key(needed), "{needed} missing");
    }
    assert_eq!(
        doc["services"]["prometheus"]["extra_hosts"][0].as_str(),
        Some("host.docker.internal:host-gateway")
    );
    let grafana = &doc["services"]["grafana"]["environment"];
    assert_eq!(grafana["GF_AUTH_ANONYMOUS_ENABLED"].as_str(), Some("false"));
    assert_eq!(grafana["GF_USERS_ALLOW_SIGN_UP"].as_str(), Some("false"));
    assert!(!text.contains("admin123") && !text.contains("GF_SECURITY_ADMIN_PASSWORD: admin"));
    let prom =
        std::fs::read_to_string(tmp.path().join("monitoring/prometheus/prometheus.yml")).unwrap();
    assert!(prom.contains("host.docker.internal:3000"), "{prom}");
}
