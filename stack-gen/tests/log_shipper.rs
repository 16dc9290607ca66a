//! The log shipper: in compose it reaches Docker only through the read-only socket proxy, and
//! every `config.alloy` obs-gen writes (compose, local mode, Kubernetes) has balanced blocks,
//! only the Alloy components obs-gen uses (names from Grafana Alloy's component reference) and
//! references to components it defines. No Alloy binary runs here, so this is the check.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_yaml_ng::Value;

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const PROXY: &str = "tcp://docker-socket-proxy:2375";

#[test]
fn the_shipper_reaches_docker_only_through_the_read_only_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    let alloy_out = tmp.path().join("monitoring");
    let tmp2 = tempfile::tempdir().unwrap();
    let promtail_out = generate_fixture(tmp2.path(), "all-options.toml");
    for (out, shipper) in [(&alloy_out, "alloy"), (&promtail_out, "promtail")] {
        let compose = yaml(&out.join("compose.yaml"));
        let services = compose["services"].as_mapping().unwrap();
        let shipper_volumes: Vec<&str> = services[shipper]["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            shipper_volumes
                .iter()
                .all(|v| !v.contains("docker.sock") && !v.starts_with("/var/run")),
            "{shipper}: {shipper_volumes:?}"
        );
        let depends = services[shipper]["depends_on"].as_mapping().unwrap();
        assert!(depends.contains_key("docker-socket-proxy"), "{shipper}");

        let proxy = &services["docker-socket-proxy"];
        assert!(
            proxy["image"]
                .as_str()
                .unwrap()
                .starts_with("ghcr.io/tecnativa/docker-socket-proxy:")
        );
        assert_eq!(
            proxy["volumes"][0].as_str(),
            Some("/var/run/docker.sock:/var/run/docker.sock:ro")
        );
        assert!(proxy.get("ports").is_none(), "the proxy publishes no port");
        let env = proxy["environment"].as_mapping().unwrap();
        let allowed: BTreeSet<&str> = env
            .iter()
            .filter(|(_, v)| v.as_str() == Some("1"))
            .map(|(k, _)| k.as_str().unwrap())
            .collect();
        // Listing and reading containers, the discovery's network labels and the client's
        // version handshake; never POST, exec, images or events.
        assert_eq!(
            allowed,
            BTreeSet::from(["CONTAINERS", "NETWORKS", "PING", "VERSION"])
        );
        assert_eq!(env["POST"].as_str(), Some("0"));
        assert_eq!(env["EVENTS"].as_str(), Some("0"));
        assert!(proxy["healthcheck"]["test"].as_sequence().is_some());
    }
    let alloy = std::fs::read_to_string(alloy_out.join("alloy/config.alloy")).unwrap();
    assert_eq!(alloy.matches(&format!("\"{PROXY}\"")).count(), 2, "{alloy}");
    assert!(!alloy.contains("docker.sock"));
    let promtail = yaml(&promtail_out.join("promtail/config.yml"));
    assert_eq!(
        promtail["scrape_configs"][0]["docker_sd_configs"][0]["host"].as_str(),
        Some(PROXY)
    );

    // `obs-gen check` still passes the compose file.
    let report = obs_gen_ok(tmp.path(), &["check", "monitoring"]);
    assert!(report.contains("files parse"), "{report}");
}

/// The Alloy components obs-gen writes or may write, as Grafana Alloy's component reference
/// names them, with the fields each exports.
const COMPONENTS: &[(&str, &[&str])] = &[
    ("discovery.docker", &["targets"]),
    ("discovery.kubernetes", &["targets"]),
    ("discovery.relabel", &["output", "rules"]),
    ("local.file_match", &["targets"]),
    ("loki.source.docker", &[]),
    ("loki.source.file", &[]),
    ("loki.source.kubernetes", &[]),
    ("loki.process", &["receiver"]),
    ("loki.write", &["receiver"]),
];

/// Blocks inside components: `loki.process`'s stages, `discovery.relabel`'s rules,
/// `discovery.kubernetes`'s selectors and `loki.write`'s endpoint.
const BLOCKS: &[&str] = &[
    "rule",
    "selectors",
    "endpoint",
    "stage.cri",
    "stage.docker",
    "stage.static_labels",
    "stage.json",
    "stage.labels",
    "stage.structured_metadata",
    "stage.label_keep",
];

/// Checks one `config.alloy`: braces, brackets and parentheses balance outside strings and
/// comments; every top-level block is a known component with a label, each label once per
/// component; every nested block is known; every reference `<component>.<label>.<export>`
/// names a component defined here and a field it exports. Returns the problems.
fn check_alloy(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Code without comments and string contents (strings become "").
    let mut code = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                code.push_str("\"\"");
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    } else if c == '\n' {
                        problems.push("a string runs past the end of its line".into());
                    }
                }
            }
            c => code.push(c),
        }
    }
    let mut stack = Vec::new();
    for (line_no, line) in code.lines().enumerate() {
        for c in line.chars() {
            match c {
                '{' | '[' | '(' => stack.push(c),
                '}' | ']' | ')' => {
                    let open = match c {
                        '}' => '{',
                        ']' => '[',
                        _ => '(',
                    };
                    if stack.pop() != Some(open) {
                        problems.push(format!("line {}: unbalanced {c:?}", line_no + 1));
                    }
                }
                _ => {}
            }
        }
    }
    if !stack.is_empty() {
        problems.push(format!("unclosed {stack:?} at the end"));
    }

    // Blocks: `name "label" {` at depth 0, `name {` deeper.
    let mut defined: BTreeSet<(String, String)> = BTreeSet::new();
    let mut depth = 0usize;
    let original: Vec<&str> = text.lines().collect();
    for (i, line) in code.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(head) = trimmed.strip_suffix('{') {
            let head = head.trim();
            if !head.contains('=') && !head.is_empty() {
                let mut parts = head.split_whitespace();
                let name = parts.next().unwrap_or_default();
                let label = parts.next();
                if depth == 0 {
                    if !COMPONENTS.iter().any(|(c, _)| *c == name) {
                        problems.push(format!("unknown component {name:?}"));
                    }
                    match label {
                        Some("\"\"") => {
                            // The label was a string: it is on the same line of the original
                            // (comments and strings kept the lines where they were).
                            let label = original
                                .get(i)
                                .and_then(|l| l.split('"').nth(1))
                                .unwrap_or_default()
                                .to_string();
                            if !defined.insert((name.to_string(), label.clone())) {
                                problems.push(format!("{name} {label:?} defined twice"));
                            }
                        }
                        _ => problems.push(format!("component {name:?} without a label")),
                    }
                } else if !BLOCKS.contains(&name) {
                    problems.push(format!("unknown block {name:?}"));
                }
            }
        }
        for c in trimmed.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }

    // References: a component name, a label, an export, outside strings.
    for (component, exports) in COMPONENTS {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(&format!("{component}.")) {
            let after = &rest[at + component.len() + 1..];
            let reference: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            let mut parts = reference.split('.');
            let (label, export) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !defined.contains(&(component.to_string(), label.to_string())) {
                problems.push(format!("{component}.{reference}: no {component} {label:?}"));
            } else if !exports.contains(&export) {
                problems.push(format!(
                    "{component}.{reference}: {component} exports no {export:?}"
                ));
            }
            rest = &after[reference.len()..];
        }
    }
    problems
}

fn alloy_configs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    obs_gen_ok(tmp.path(), &["init", "--yes"]);
    out.push((
        "compose".into(),
        std::fs::read_to_string(tmp.path().join("monitoring/alloy/config.alloy")).unwrap(),
    ));
    let local = tempfile::tempdir().unwrap();
    let dir = generate_fixture(local.path(), "local.toml");
    if let Ok(text) = std::fs::read_to_string(dir.join("alloy/config.alloy")) {
        out.push(("local".into(), text));
    }
    for fixture in [None, Some("kubernetes-all-options.toml")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = match fixture {
            None => {
                obs_gen_ok(tmp.path(), &["init", "--yes", "--target", "kubernetes"]);
                tmp.path().join("monitoring")
            }
            Some(f) => generate_fixture(tmp.path(), f),
        };
        let cm = yaml(&dir.join("alloy/configmap.yaml"));
        out.push((
            format!("kubernetes {fixture:?}"),
            cm["data"]["config.alloy"].as_str().unwrap().to_string(),
        ));
    }
    out.push((
        "checked-in compose/".into(),
        std::fs::read_to_string(obs_tests::repo_root().join("compose/alloy/config.alloy")).unwrap(),
    ));
    out
}

#[test]
fn every_config_alloy_has_balanced_blocks_and_known_components() {
    let configs = alloy_configs();
    assert!(configs.len() >= 4);
    for (name, text) in &configs {
        let problems = check_alloy(text);
        assert!(problems.is_empty(), "{name}: {problems:?}\n{text}");
    }
}

#[test]
fn the_alloy_check_finds_what_is_wrong() {
    let (_, good) = &alloy_configs()[0];
    for (broken, want) in [
        (
            good.replacen("loki.write \"local\" {", "loki.write \"local\" {{", 1),
            "unclosed",
        ),
        (
            good.replacen("discovery.docker", "discovery.dockr", 1),
            "unknown component \"discovery.dockr\"",
        ),
        (
            good.replacen("stage.json", "stage.jsn", 1),
            "unknown block \"stage.jsn\"",
        ),
        (
            good.replacen(
                "loki.process.sdk_json.receiver",
                "loki.process.sdk.receiver",
                1,
            ),
            "no loki.process \"sdk\"",
        ),
        (
            good.replacen(
                "discovery.relabel.containers.rules",
                "discovery.relabel.containers.rule",
                1,
            ),
            "exports no \"rule\"",
        ),
    ] {
        let problems = check_alloy(&broken);
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{want} in {problems:?}"
        );
    }
}
