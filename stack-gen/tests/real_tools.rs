//! The generated configurations against the real promtool and amtool (and `obs-gen check`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn run(tool: &Path, args: &[&str], dir: &Path) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_with_tools(dir: &Path) {
    let (tests, rules): (Vec<String>, Vec<String>) = files(dir)
        .into_iter()
        .filter(|f| f.starts_with("prometheus/rules/"))
        .partition(|f| f.starts_with("prometheus/rules/tests/"));
    assert!(!rules.is_empty(), "the bundled rules are written");
    if let Some(promtool) = obs_tests::require_tool("promtool") {
        run(
            &promtool,
            &["check", "config", "prometheus/prometheus.yml"],
            dir,
        );
        let mut args = vec!["check", "rules"];
        args.extend(rules.iter().map(String::as_str));
        run(&promtool, &args, dir);
        // The SLOs' generated unit tests pass against the generated rules.
        if !tests.is_empty() {
            let mut args = vec!["test", "rules"];
            args.extend(tests.iter().map(String::as_str));
            run(&promtool, &args, dir);
        }
    }
    if let Some(amtool) = obs_tests::require_tool("amtool") {
        run(
            &amtool,
            &["check-config", "alertmanager/alertmanager.yml"],
            dir,
        );
    }
    let report = obs_gen_ok(dir, &["check", "."]);
    assert!(report.contains(".: ok"), "{report}");
    if !tests.is_empty() && obs_tests::require_tool("promtool").is_some() {
        assert!(
            report.contains(&format!(
                "ok    promtool test rules ({} files)",
                tests.len()
            )),
            "{report}"
        );
    }
}

#[test]
fn the_readme_slos_get_their_rule_and_test_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "all-options.toml");
    let written = files(&out);
    for name in ["api-availability", "api-latency"] {
        for f in [
            format!("prometheus/rules/obs-slo-{name}.yaml"),
            format!("prometheus/rules/tests/obs-slo-{name}.test.yaml"),
        ] {
            assert!(written.contains(&f), "{f} in {written:?}");
        }
    }
}

#[test]
fn default_stack_passes_promtool_and_amtool() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    check_with_tools(&tmp.path().join("monitoring"));
}

#[test]
fn all_options_stack_passes_promtool_and_amtool() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate_fixture(tmp.path(), "all-options.toml");
    check_with_tools(&out);
}

#[test]
fn every_receiver_passes_amtool() {
    for flags in [
        vec!["--receiver", "webhook"],
        vec!["--receiver", "slack", "--slack-channel", "#ops"],
        vec![
            "--receiver",
            "email",
            "--email-to",
            "a@example.com",
            "--email-from",
            "b@example.com",
            "--email-smarthost",
            "smtp.example.com:25",
        ],
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["init", "--yes"];
        args.extend(flags.iter().copied());
        obs_gen_ok(tmp.path(), &args);
        let dir = tmp.path().join("monitoring");
        if let Some(amtool) = obs_tests::require_tool("amtool") {
            run(
                &amtool,
                &["check-config", "alertmanager/alertmanager.yml"],
                &dir,
            );
        }
        let am = std::fs::read_to_string(dir.join("alertmanager/alertmanager.yml")).unwrap();
        let entry = std::fs::read_to_string(dir.join("alertmanager/entrypoint.sh")).unwrap();
        assert!(
            !am.contains("${"),
            "Alertmanager would not expand variables: {am}"
        );
        assert!(entry.contains("exec /bin/alertmanager"));
    }
}

/// The webhook entrypoint really substitutes the URL from the environment (run with the
/// system's POSIX sh, as the image's busybox sh would), and a broken config stays checkable.
#[test]
fn webhook_entrypoint_substitutes_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes", "--receiver", "webhook"]);
    let dir = tmp.path().join("monitoring");
    let script = std::fs::read_to_string(dir.join("alertmanager/entrypoint.sh")).unwrap();
    let secrets = tmp.path().join("secrets");
    let script = script
        .replace("/tmp/obs-secrets", &secrets.display().to_string())
        .replace(
            "/etc/alertmanager/alertmanager.yml",
            &dir.join("alertmanager/alertmanager.yml")
                .display()
                .to_string(),
        )
        .replace("exec /bin/alertmanager", "exec echo started");
    let url = "https://hooks.example.com/a&b|c?x=1#frag";
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("ALERT_WEBHOOK_URL", url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(secrets.join("alertmanager.yml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(
        doc["receivers"][0]["webhook_configs"][0]["url"].as_str(),
        Some(url)
    );
    if let Some(amtool) = obs_tests::require_tool("amtool") {
        run(
            &amtool,
            &[
                "check-config",
                &secrets.join("alertmanager.yml").display().to_string(),
            ],
            tmp.path(),
        );
    }
    let bad = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("ALERT_WEBHOOK_URL", "http://x/'; rm -rf /")
        .output()
        .unwrap();
    assert!(
        !bad.status.success(),
        "a URL with quotes or spaces is refused"
    );
}

#[test]
fn check_reports_broken_files_and_contract_violations() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let dir = tmp.path().join("monitoring");

    // A rule on a metric the SDK does not emit breaks the name contract.
    std::fs::write(
        dir.join("prometheus/rules/custom.yml"),
        "groups:\n- name: custom\n  rules:\n  - alert: Old\n    expr: rate(http_requests_total[5m]) > 1\n",
    )
    .unwrap();
    // A compose service without health check or memory limit.
    let compose = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&compose).unwrap();
    doc["services"]["loki"]
        .as_mapping_mut()
        .unwrap()
        .remove("healthcheck");
    std::fs::write(
        dir.join("compose.yaml"),
        serde_yaml_ng::to_string(&doc).unwrap(),
    )
    .unwrap();
    // Broken YAML.
    std::fs::write(dir.join("loki/config.yaml"), "server: [unclosed\n").unwrap();

    let out = obs_gen(&dir, &["check", "."]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("prometheus/rules/custom.yml") && stderr.contains("http_requests_total"),
        "{stderr}"
    );
    assert!(
        stderr.contains("compose.yaml: services.loki.healthcheck: missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("loki/config.yaml: not valid YAML"),
        "{stderr}"
    );

    if obs_tests::require_tool("amtool").is_some() {
        let am = std::fs::read_to_string(dir.join("alertmanager/alertmanager.yml")).unwrap();
        std::fs::write(
            dir.join("alertmanager/alertmanager.yml"),
            am.replace("group_wait:", "group_wiat:"),
        )
        .unwrap();
        let out = obs_gen(&dir, &["check", "."]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("amtool check-config"));
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The generated entrypoint starts a real Alertmanager (Debian's) with the webhook URL taken
/// from the environment, and the loaded configuration carries it.
#[test]
fn entrypoint_starts_a_real_alertmanager_with_the_secret_from_env() {
    let Some(alertmanager) = obs_tests::require_tool("prometheus-alertmanager") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(
        tmp.path(),
        &[
            "init",
            "--yes",
            "--receiver",
            "webhook",
            "--webhook-url-env",
            "OPS_HOOK",
        ],
    );
    let dir = tmp.path().join("monitoring");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = std::fs::read_to_string(dir.join("alertmanager/entrypoint.sh"))
        .unwrap()
        .replace(
            "/tmp/obs-secrets",
            &tmp.path().join("secrets").display().to_string(),
        )
        .replace(
            "/etc/alertmanager/alertmanager.yml",
            &dir.join("alertmanager/alertmanager.yml")
                .display()
                .to_string(),
        )
        .replace(
            "--storage.path=/alertmanager",
            &format!("--storage.path={}", tmp.path().join("data").display()),
        )
        .replace(
            "exec /bin/alertmanager",
            &format!(
                "exec {} --web.listen-address=127.0.0.1:{port}",
                alertmanager.display()
            ),
        );
    let url = "https://hooks.example.com/T000/B000/secret-token";
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("OPS_HOOK", url)
        .spawn()
        .unwrap();
    let mut status = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Some(body) = http_get(port, "/api/v2/status")
            && (body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"))
        {
            status = Some(body);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let status = status.expect("Alertmanager answered /api/v2/status");
    // Alertmanager 0.25 shows the webhook URL; later versions mask it as <secret>.
    assert!(
        status.contains("secret-token") || status.contains("url: <secret>"),
        "the loaded config has the URL from the environment: {status}"
    );
    let private = std::fs::read_to_string(tmp.path().join("secrets/alertmanager.yml")).unwrap();
    assert!(private.contains(url), "{private}");
    assert!(
        !std::fs::read_to_string(dir.join("alertmanager/alertmanager.yml"))
            .unwrap()
            .contains("secret-token")
    );
}

/// Debian's real Prometheus loads the generated configuration and every bundled rule group.
#[test]
fn real_prometheus_loads_the_config_and_rules() {
    let Some(prometheus) = obs_tests::require_tool("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = generate_fixture(tmp.path(), "all-options.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus/prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The bundled groups and one per [[slo]] of the fixture.
    let cfg = obs_gen::model::Config::from_toml(
        &std::fs::read_to_string(dir.join("obs.toml")).unwrap(),
        "obs.toml",
    )
    .unwrap();
    assert_eq!(cfg.slo.len(), 2, "the fixture's SLOs");
    let expected: usize = obs_mixin::rule_files(&cfg.thresholds_for_rules())
        .iter()
        .map(|f| f.yaml.matches("- name:").count())
        .sum();
    // The API can answer before the first rule load finished; wait (bounded) for every group.
    let mut rules = None;
    for _ in 0..150 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Some(body) = http_get(port, "/api/v1/rules")
            && body.contains("\"status\":\"success\"")
        {
            let complete = body.matches("\"file\":").count() >= expected;
            rules = Some(body);
            if complete {
                break;
            }
        }
    }
    let jobs = [
        "\"job\":\"api\"",
        "\"job\":\"worker\"",
        "\"job\":\"node\"",
        "\"job\":\"postgres\"",
        "\"job\":\"redis\"",
    ];
    // Target discovery fills in job by job; wait (bounded) until every job is listed.
    let mut targets = String::new();
    for _ in 0..150 {
        targets = http_get(port, "/api/v1/targets").unwrap_or_default();
        if jobs.iter().all(|job| targets.contains(job)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let rules = rules.expect("Prometheus answered /api/v1/rules");
    assert!(expected > 0);
    assert_eq!(
        rules.matches("\"file\":").count(),
        expected,
        "every rule group is loaded: {rules}"
    );
    for job in jobs {
        assert!(targets.contains(job), "{job} in {targets}");
    }
}
