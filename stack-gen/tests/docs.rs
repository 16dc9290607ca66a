//! The generator guide (docs/generator.md) documents every key of obs.toml and every flag of
//! `init`.

use obs_gen::model::{AlertingKeys, Config, Database, ExporterService, SecretKeyRef, Service};

fn keys(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                out.push(format!("{prefix}{k}"));
                keys(&format!("{prefix}{k}."), v, out);
            }
        }
        toml::Value::Array(a) => {
            if let Some(first) = a.first() {
                keys(prefix, first, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_generator_guide_documents_every_obs_toml_key_and_init_flag() {
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/generator.md"))
            .unwrap();
    let mut cfg = Config::default();
    cfg.services
        .push(Service::new("api", "api:1".parse().unwrap()));
    // Every key of a [databases.*] table, the Kubernetes ones included, set once.
    cfg.databases.postgres = Some(Database {
        user: Some("postgres".into()),
        password_secret: Some(SecretKeyRef {
            name: "pg".into(),
            key: "password".into(),
        }),
        ..Database::at("db:5432".parse().unwrap())
    });
    cfg.databases.redis = Some(Database {
        exporter: Some(ExporterService {
            namespace: Some("cache".into()),
            selector: [("app".to_string(), "redis-exporter".to_string())].into(),
            port: "metrics".into(),
        }),
        ..Database::default()
    });
    // The keys of the Kubernetes target and of remote write, each set once.
    cfg.kubernetes = Some(Default::default());
    cfg.services[0].namespace = Some("shop".into());
    cfg.services[0].selector = Some([("app".to_string(), "api".to_string())].into());
    cfg.services[0].port = Some("http".into());
    cfg.remote_write = Some(obs_gen::model::RemoteWrite {
        url: "https://mimir.example.com/api/v1/push".into(),
        username: Some("tenant".into()),
        password_env: Some("X".into()),
        bearer_token_env: Some("X".into()),
    });
    let value: toml::Value = toml::from_str(&cfg.to_toml()).unwrap();
    let mut all = Vec::new();
    keys("", &value, &mut all);
    // `[alerting]` in its written form with every key set (each receiver reads only its own).
    let x = || Some("X".to_string());
    let d = || Some("1m".parse().unwrap());
    let alerting = AlertingKeys {
        webhook_url_env: x(),
        slack_api_url_env: x(),
        slack_channel: x(),
        email_to: x(),
        email_from: x(),
        email_smarthost: Some("smtp:25".parse().unwrap()),
        email_username: x(),
        email_password_env: x(),
        group_wait: d(),
        group_interval: d(),
        repeat_interval: d(),
        ..AlertingKeys::default()
    };
    keys(
        "alerting.",
        &toml::Value::try_from(alerting).unwrap(),
        &mut all,
    );
    let thresholds = serde_json::to_value(obs_mixin::Thresholds::default()).unwrap();
    all.extend(thresholds.as_object().unwrap().keys().cloned());
    let mut missing = Vec::new();
    for key in &all {
        let last = key.rsplit('.').next().unwrap();
        let documented = [
            format!("`{last}`"),
            format!("`{key}`"),
            format!("] {last}`"),
            format!("[{key}"),
        ]
        .iter()
        .any(|form| guide.contains(form.as_str()));
        if !documented {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/generator.md does not mention these obs.toml keys: {missing:?}"
    );

    let help = std::process::Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .args(["init", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches([',', '.', ')']))
        .collect();
    assert!(flags.contains(&"--log-shipper"));
    for flag in flags {
        if ["--help", "--output", "--force", "--dry-run", "--yes"].contains(&flag) {
            continue;
        }
        assert!(
            guide.contains(flag),
            "docs/generator.md does not mention {flag}"
        );
    }
}
