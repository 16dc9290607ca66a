//! The wizard driven through a real pseudo-terminal: questions whose flag was given are skipped,
//! the answers end up in obs.toml, and the stack is written.

use std::process::Command;

use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

/// Answers a yes/no question: waits for its `[y/N]` and for the terminal to switch to raw mode
/// (the key is read without Enter), then presses `key`.
fn key(p: &mut PtySession, key: &str) -> Result<(), rexpect::error::Error> {
    p.exp_string("]")?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send(key)?;
    p.flush()?;
    Ok(())
}

/// Starts `obs-gen ARGS` in `dir` on a pseudo-terminal, colours off, escape codes stripped.
fn wizard(dir: &std::path::Path, args: &[&str]) -> Result<PtySession, rexpect::error::Error> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_obs-gen"));
    cmd.args(args)
        .current_dir(dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
}

#[test]
fn wizard_answers_land_in_obs_toml() -> Result<(), rexpect::error::Error> {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = wizard(
        tmp.path(),
        &["init", "--log-shipper", "promtail", "--receiver", "none"],
    )?;
    p.exp_string("Project name")?;
    p.send_line("shop")?;
    p.exp_string("Environment")?;
    p.send_line("")?; // Enter takes the default
    p.exp_string("Target")?;
    // A selection list reads keys in raw mode, as a yes/no question does: Enter takes compose.
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send("\r")?;
    p.flush()?;
    p.exp_string("Service to scrape")?;
    p.send_line("api=host.docker.internal:8080")?;
    p.exp_string("api=host.docker.internal:8080")?;
    p.exp_string("Service to scrape")?;
    p.send_line("")?; // empty: done
    p.exp_string("Availability objective of api")?;
    p.send_line("99.9")?;
    p.exp_string("Watch PostgreSQL?")?;
    key(&mut p, "y")?;
    p.exp_string("PostgreSQL address")?;
    p.send_line("")?;
    p.exp_string("Watch Redis?")?;
    key(&mut p, "n")?;
    p.exp_string("Retention")?;
    p.send_line("30d")?;
    p.exp_string("Tracing")?;
    key(&mut p, "y")?;
    p.exp_string("Sentry")?;
    key(&mut p, "n")?;
    p.exp_string("wrote monitoring")?;
    p.exp_eof()?;

    let text = std::fs::read_to_string(tmp.path().join("monitoring/obs.toml")).unwrap();
    let cfg = obs_gen::model::Config::from_toml(&text, "obs.toml").unwrap();
    assert_eq!(cfg.project, "shop");
    assert_eq!(cfg.environment, "production");
    assert_eq!(cfg.services.len(), 1);
    assert_eq!(cfg.services[0].name, "api");
    assert_eq!(
        cfg.services[0].target.as_ref().unwrap().to_string(),
        "host.docker.internal:8080"
    );
    assert_eq!(
        cfg.log_shipper,
        obs_gen::model::LogShipper::Promtail,
        "taken from the flag, not asked"
    );
    assert_eq!(
        cfg.databases.postgres.unwrap().address.unwrap().to_string(),
        "host.docker.internal:5432"
    );
    assert!(cfg.databases.redis.is_none());
    assert_eq!(cfg.retention.as_str(), "30d");
    assert!(cfg.tracing);
    assert!(!cfg.sentry);
    assert_eq!(
        cfg.slo,
        [obs_mixin::slo::Slo::availability(
            "api-availability",
            "api",
            99.9
        )]
    );
    assert!(
        tmp.path()
            .join("monitoring/prometheus/rules/obs-slo-api-availability.yaml")
            .exists()
    );
    assert!(tmp.path().join("monitoring/tempo/config.yaml").exists());
    assert!(tmp.path().join("monitoring/promtail/config.yml").exists());
    Ok(())
}

#[test]
fn with_sentry_on_the_wizard_asks_for_a_frontend_and_the_public_urls()
-> Result<(), rexpect::error::Error> {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = wizard(
        tmp.path(),
        &[
            "init",
            "--project",
            "shop",
            "--environment",
            "production",
            "--target",
            "compose",
            "--service",
            "api=host.docker.internal:8080",
            "--slo",
            "api=99.9",
            "--log-shipper",
            "none",
            "--postgres",
            "--redis",
            "--receiver",
            "none",
            "--retention",
            "15d",
            "--tracing",
            "false",
            "--sentry",
        ],
    )?;
    p.exp_string("web front end")?;
    // A selection reads keys in raw mode: `j` moves to the next item (nextjs), Enter takes it.
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send("j")?;
    p.flush()?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    p.send("\r")?;
    p.flush()?;
    p.exp_string("URL browsers call api at")?;
    p.send_line("https://api.example.com/v1")?;
    p.exp_string("wrote monitoring")?;
    p.exp_eof()?;

    let text = std::fs::read_to_string(tmp.path().join("monitoring/obs.toml")).unwrap();
    let cfg = obs_gen::model::Config::from_toml(&text, "obs.toml").unwrap();
    assert_eq!(cfg.frontend, Some(obs_gen::model::Frontend::Nextjs));
    assert_eq!(
        cfg.services[0].public_url.as_ref().map(|u| u.as_str()),
        Some("https://api.example.com/v1")
    );
    let shared = std::fs::read_to_string(
        tmp.path()
            .join("monitoring/frontend/nextjs/sentry.shared.ts"),
    )
    .unwrap();
    assert!(
        shared.contains(r"/^https:\/\/api\.example\.com(?:[\/?#]|$)/"),
        "{shared}"
    );
    Ok(())
}
