//! Bad input: one clear line naming the field, exit code 2, nothing written.

mod common;

use std::path::Path;

use common::*;

/// Writes `toml` as monitoring/obs.toml, runs `generate`, and checks the failure: exit 2, one
/// line on stderr containing `expected`, and no file written besides obs.toml.
fn rejects(toml: &str, expected: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("monitoring");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("obs.toml"), toml).unwrap();
    let res = obs_gen(tmp.path(), &["generate"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(expected),
        "{stderr:?} should contain {expected:?}"
    );
    assert_eq!(files(&out), ["obs.toml"], "nothing written");
}

const SERVICE: &str = "[[services]]\nname = \"app\"\ntarget = \"host.docker.internal:3000\"\n";

#[test]
fn malformed_toml() {
    rejects("project = \"x\nname = ", "obs.toml: line 1:");
}

#[test]
fn unknown_key() {
    rejects(
        &format!("project = \"x\"\nlog_shiper = \"alloy\"\n{SERVICE}"),
        "unknown field `log_shiper`",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}\n[alerts]\nerror_rate = 0.1\n"),
        "unknown field `error_rate`",
    );
}

#[test]
fn bad_enum_value() {
    rejects(
        &format!("project = \"x\"\nlog_shipper = \"fluentd\"\n{SERVICE}"),
        "fluentd",
    );
}

#[test]
fn duplicate_service() {
    rejects(
        &format!("project = \"x\"\n{SERVICE}{SERVICE}"),
        "obs.toml: services[1].name: \"app\" is already the name of services[0]",
    );
}

#[test]
fn bad_host_port() {
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[[services]]\nname = \"api\"\ntarget = \"api:99999\"\n"
        ),
        "obs.toml: services[1].target: \"api:99999\" is not a valid host:port (port must be 1-65535)",
    );
}

#[test]
fn clashing_ports() {
    rejects(
        &format!("project = \"x\"\n{SERVICE}[ports]\nloki = 9090\n"),
        "ports.loki: 9090 is already the port of ports.prometheus",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[ports]\ngrafana = 3000\n"),
        "ports.grafana: 3000 clashes with services[0].target",
    );
}

#[test]
fn bad_durations() {
    rejects(
        &format!("project = \"x\"\nretention = \"two weeks\"\n{SERVICE}"),
        "obs.toml: retention:",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[alerts]\nerror_ratio_for = \"5 min\"\n"),
        "obs.toml: alerts.error_ratio_for:",
    );
}

#[test]
fn bad_flag_value_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let res = obs_gen(tmp.path(), &["init", "--yes", "--service", "api=api:0"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("services[0].target"), "{stderr}");
    assert!(!tmp.path().join("monitoring").exists(), "nothing written");

    let res = obs_gen(tmp.path(), &["init", "--yes", "--log-shipper", "fluentd"]);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("--log-shipper"));
    for (slo, expected) in [
        (
            "app=high",
            "--slo[0]: \"app=high\" must be SERVICE=OBJECTIVE",
        ),
        (
            "app=100",
            "obs.toml: slo[0].objective: 100 must be a percentage",
        ),
        (
            "web=99",
            "obs.toml: slo[0].service: \"web\" is not a [[services]] name",
        ),
    ] {
        let res = obs_gen(tmp.path(), &["init", "--yes", "--slo", slo]);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(expected),
            "{stderr:?} should contain {expected:?}"
        );
        assert!(!tmp.path().join("monitoring").exists(), "nothing written");
    }
}

#[test]
fn no_terminal_without_yes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let res = obs_gen(tmp.path(), &["init"]);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("--yes"));
    assert!(!tmp.path().join("monitoring").exists());
}

#[test]
fn unwritable_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: unwritable even for root.
    std::fs::write(tmp.path().join("blocker"), "").unwrap();
    let res = obs_gen(
        tmp.path(),
        &["init", "--yes", "--output", "blocker/monitoring"],
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("blocker/monitoring"), "{stderr}");
    assert_eq!(files(tmp.path()), ["blocker"]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("blocker")).unwrap(),
        ""
    );
    let _ = Path::new("");
}

/// `[[slo]]` tables: every field is checked, the error names `slo[i].key`.
#[test]
fn bad_slos() {
    let slo = |body: &str| {
        format!(
            "project = \"x\"\n{SERVICE}[[slo]]\nname = \"app-availability\"\nservice = \"app\"\n{body}"
        )
    };
    rejects(
        &slo("kind = \"availability\"\nobjective = 100\n"),
        "obs.toml: slo[0].objective: 100 must be a percentage between 0 and 100",
    );
    rejects(
        &slo("kind = \"availability\"\nobjective = 0\n"),
        "obs.toml: slo[0].objective: 0 must be a percentage between 0 and 100",
    );
    rejects(
        &slo("kind = \"latency\"\nthreshold = 0.3\nobjective = 99\n"),
        "obs.toml: slo[0].threshold: 0.3 is not a bucket bound of http_server_request_duration_seconds (one of 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)",
    );
    rejects(
        &slo("kind = \"availability\"\nobjective = 99\nwindow = \"12h\"\n"),
        "obs.toml: slo[0].window: \"12h\" is shorter than one day (1d)",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[[slo]]\nname = \"api-availability\"\nservice = \"api\"\nkind = \"availability\"\nobjective = 99\n"
        ),
        "obs.toml: slo[0].service: \"api\" is not a [[services]] name (one of \"app\")",
    );
    let one = "[[slo]]\nname = \"a\"\nservice = \"app\"\nkind = \"availability\"\nobjective = 99\n";
    rejects(
        &format!("project = \"x\"\n{SERVICE}{one}{one}"),
        "obs.toml: slo[1].name: \"a\" is already the name of slo[0]",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[[slo]]\nname = \"App_SLO\"\nservice = \"app\"\nkind = \"availability\"\nobjective = 99\n"
        ),
        "obs.toml: slo[0].name: \"App_SLO\" must be lower-case letters, digits and '-' ([a-z0-9-])",
    );
    rejects(
        &slo("kind = \"availability\"\nobjective = 99\nwindow = \"2d\"\n"),
        "obs.toml: slo[0].window: \"2d\" makes the shortest burn-rate window (the 5m of a 30d SLO) 20s, under 4 scrapes of 15s",
    );
    rejects(&slo("kind = \"uptime\"\nobjective = 99\n"), "uptime");
    rejects(
        &slo("kind = \"availability\"\nobjective = 99\nwindow = \"a month\"\n"),
        "obs.toml: slo[0].window: \"a month\" is not a duration like 30s, 5m, 1h30m or 15d",
    );
}

#[test]
fn durations_ports_and_addresses_are_refused_when_read() {
    rejects(
        &format!("project = \"x\"\nscrape_interval = \"5 minutes\"\n{SERVICE}"),
        "obs.toml: scrape_interval: \"5 minutes\" is not a duration like 30s, 5m, 1h30m or 15d",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[alerting]\ngroup_wait = \"1.5m\"\n"),
        "obs.toml: alerting.group_wait: \"1.5m\" is not a duration",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[ports]\ngrafana = 70000\n"),
        "obs.toml: ports.grafana: 70000 is not a port (must be 1-65535)",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[ports]\nloki = 0\n"),
        "obs.toml: ports.loki: 0 is not a port (must be 1-65535)",
    );
    rejects(
        &format!("project = \"x\"\nbind_address = \"localhost\"\n{SERVICE}"),
        "obs.toml: bind_address: invalid IP address syntax",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}[databases.redis]\naddress = \"redis\"\n"),
        "obs.toml: databases.redis.address: \"redis\" is not a valid host:port",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[local]\nprometheus = \"127.0.0.1:9090\"\nalertmanager = \"127.0.0.1\"\n"
        ),
        "obs.toml: local.alertmanager: \"127.0.0.1\" is not a valid host:port",
    );
}

#[test]
fn the_receiver_carries_exactly_its_own_keys() {
    rejects(
        &format!("project = \"x\"\n{SERVICE}[alerting]\nreceiver = \"slack\"\n"),
        "obs.toml: alerting.slack_channel: a Slack channel like \"#alerts\" is needed for receiver = \"slack\"",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[alerting]\nreceiver = \"email\"\nemail_to = \"a@b.c\"\nemail_from = \"d@e.f\"\nemail_smarthost = \"smtp:99999\"\n"
        ),
        "obs.toml: alerting.email_smarthost: \"smtp:99999\" is not a valid host:port (port must be 1-65535)",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[alerting]\nreceiver = \"webhook\"\nslack_channel = \"#alerts\"\n"
        ),
        "obs.toml: alerting.slack_channel: only read with receiver = \"slack\" (receiver is \"webhook\")",
    );
}

#[test]
fn flags_go_through_the_same_types() {
    for (args, expected) in [
        (
            &["init", "--yes", "--retention", "5 minutes"][..],
            "\"5 minutes\" is not a duration",
        ),
        (
            &["init", "--yes", "--postgres", "db:70000"][..],
            "\"db:70000\" is not a valid host:port (port must be 1-65535)",
        ),
        (
            &["init", "--yes", "--bind-address", "everywhere"][..],
            "--bind-address",
        ),
        (
            &["init", "--yes", "--receiver", "slack"][..],
            "alerting.slack_channel: a Slack channel like \"#alerts\" is needed",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let res = obs_gen(tmp.path(), args);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!tmp.path().join("monitoring").exists(), "nothing written");
    }
}

#[test]
fn frontend_without_sentry() {
    rejects(
        &format!("project = \"x\"\nfrontend = \"nextjs\"\n{SERVICE}"),
        "obs.toml: frontend: \"nextjs\" sets up Sentry in the frontend and needs sentry = true",
    );
}

#[test]
fn unknown_frontend() {
    rejects(
        &format!("project = \"x\"\nsentry = true\nfrontend = \"vue\"\n{SERVICE}"),
        "frontend: \"vue\" is not a frontend obs-gen writes (known: nextjs)",
    );
}

#[test]
fn malformed_public_url() {
    for (url, why) in [
        ("api.example.com", "is not a URL"),
        ("ftp://api.example.com", "is not an http or https URL"),
        (
            "https://api.example.com/?x=1",
            "must not have a query or fragment",
        ),
    ] {
        rejects(
            &format!(
                "project = \"x\"\nsentry = true\nfrontend = \"nextjs\"\n{SERVICE}public_url = \"{url}\"\n"
            ),
            &format!("obs.toml: services[0].public_url: \"{url}\" {why}"),
        );
    }
    // A password in the URL is refused without being repeated.
    let toml = format!(
        "project = \"x\"\nsentry = true\nfrontend = \"nextjs\"\n{SERVICE}public_url = \"https://user:hunter2@api.example.com\"\n"
    );
    rejects(
        &toml,
        "services[0].public_url: carries a user name or password",
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("monitoring")).unwrap();
    std::fs::write(tmp.path().join("monitoring/obs.toml"), toml).unwrap();
    let res = obs_gen(tmp.path(), &["generate"]);
    assert!(!String::from_utf8_lossy(&res.stderr).contains("hunter2"));
}

#[test]
fn sample_rate_out_of_range() {
    rejects(
        &format!(
            "project = \"x\"\nsentry = true\nfrontend = \"nextjs\"\n{SERVICE}[sentry_sampling]\ntraces_sample_rate = 1.5\n"
        ),
        "obs.toml: sentry_sampling.traces_sample_rate: 1.5 is not a rate from 0 to 1",
    );
}

#[test]
fn frontend_flags_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--frontend", "nextjs"][..], "frontend: \"nextjs\""),
        (&["--frontend", "vue"][..], "--frontend"),
        (
            &[
                "--sentry",
                "--frontend",
                "nextjs",
                "--public-url",
                "web=https://x.example",
            ][..],
            "--public-url[0]: no service is named \"web\"",
        ),
    ] {
        let res = obs_gen(tmp.path(), &[&["init", "--yes"][..], args].concat());
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!tmp.path().join("monitoring").exists(), "nothing written");
    }
}

const K8S: &str = "project = \"x\"\ntarget = \"kubernetes\"\n";

#[test]
fn kubernetes_names_must_be_rfc_1123() {
    rejects(
        &format!("{K8S}[[services]]\nname = \"Api_1\"\n"),
        "obs.toml: services[0].name: \"Api_1\" is not a Kubernetes name (RFC 1123",
    );
    rejects(
        &format!("{K8S}[kubernetes]\nnamespace = \"Monitoring\"\n[[services]]\nname = \"api\"\n"),
        "obs.toml: kubernetes.namespace: \"Monitoring\" is not a Kubernetes name",
    );
    rejects(
        &format!("{K8S}[[services]]\nname = \"api\"\nnamespace = \"team_a\"\n"),
        "obs.toml: services[0].namespace: \"team_a\" is not a Kubernetes name",
    );
}

#[test]
fn kubernetes_selectors_must_be_labels() {
    rejects(
        &format!(
            "{K8S}[[services]]\nname = \"api\"\n[services.selector]\n\"bad key!\" = \"api\"\n"
        ),
        "obs.toml: services[0].selector: label key \"bad key!\"",
    );
    rejects(
        &format!("{K8S}[[services]]\nname = \"api\"\n[services.selector]\napp = \"-api\"\n"),
        "obs.toml: services[0].selector: label \"app\": the value \"-api\"",
    );
}

#[test]
fn keys_of_the_other_target() {
    rejects(
        &format!("project = \"x\"\n{SERVICE}[kubernetes]\nnamespace = \"monitoring\"\n"),
        "obs.toml: kubernetes: only for target = \"kubernetes\" (this file has target = \"compose\")",
    );
    rejects(
        &format!("project = \"x\"\n{SERVICE}port = \"http\"\n"),
        "obs.toml: services[0].port: only for target = \"kubernetes\"",
    );
    rejects(
        &format!("{K8S}{SERVICE}"),
        "obs.toml: services[0].target: only for target = \"compose\" (this file has target = \"kubernetes\")",
    );
    rejects(
        &format!("{K8S}bind_address = \"0.0.0.0\"\n[[services]]\nname = \"api\"\n"),
        "obs.toml: bind_address: only for target = \"compose\"",
    );
}

#[test]
fn database_keys_name_what_is_wrong() {
    const API: &str = "[[services]]\nname = \"api\"\n";
    rejects(
        &format!("project = \"x\"\n{SERVICE}[databases.postgres]\n"),
        "obs.toml: databases.postgres.address: the host:port of the server is needed",
    );
    rejects(
        &format!(
            "project = \"x\"\n{SERVICE}[databases.postgres]\naddress = \"db:5432\"\npassword_secret = {{ name = \"pg\", key = \"password\" }}\n"
        ),
        "obs.toml: databases.postgres.password_secret: only for target = \"kubernetes\"",
    );
    rejects(
        &format!("{K8S}{API}[databases.redis]\n"),
        "obs.toml: databases.redis.address: the host:port of the server is needed",
    );
    rejects(
        &format!(
            "{K8S}{API}[databases.postgres]\naddress = \"db:5432\"\npassword_secret = {{ name = \"PG_SECRET\", key = \"password\" }}\n"
        ),
        "obs.toml: databases.postgres.password_secret.name: \"PG_SECRET\" is not a Secret name",
    );
    rejects(
        &format!("{K8S}{API}[databases.redis]\naddress = \"redis:6379\"\nuser = \"monitor\"\n"),
        "obs.toml: databases.redis.user: an ACL user needs databases.redis.password_secret",
    );
    rejects(
        &format!(
            "{K8S}{API}[databases.redis]\naddress = \"redis:6379\"\nexporter = {{ selector = {{ app = \"redis-exporter\" }} }}\n"
        ),
        "obs.toml: databases.redis.address: the exporter of databases.redis.exporter already connects to its server",
    );
    rejects(
        &format!("{K8S}{API}[databases.redis]\nexporter = {{ selector = {{}} }}\n"),
        "obs.toml: databases.redis.exporter.selector: an empty selector would match every Service",
    );
    rejects(
        &format!("{K8S}{API}[databases.redis]\nexporter = {{ port = \"metrics\" }}\n"),
        "missing field `selector`",
    );
}

#[test]
fn remote_write_url_must_be_http() {
    rejects(
        &format!("project = \"x\"\n{SERVICE}[remote_write]\nurl = \"mimir:9009/api/v1/push\"\n"),
        "obs.toml: remote_write.url: \"mimir:9009/api/v1/push\" must start with http:// or https://",
    );
    rejects(
        &format!("{K8S}[[services]]\nname = \"api\"\n[remote_write]\nurl = \"ftp://mimir/push\"\n"),
        "obs.toml: remote_write.url: \"ftp://mimir/push\" must start with http",
    );
}

#[test]
fn kubernetes_flag_with_compose_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let res = obs_gen(tmp.path(), &["init", "--yes", "--namespace", "obs"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kubernetes: only for target = \"kubernetes\""),
        "{stderr}"
    );
    assert!(!tmp.path().join("monitoring").exists(), "nothing written");
}
