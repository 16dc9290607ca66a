//! The deny-list set with `Config::redactor` reaches what `init` installs: the JSON log (event
//! and span fields) and `redact::installed` for the integrations. `init` is process-wide, so this
//! file is its own test binary.

use obs_service::redact::{self, REDACTED, Redactor};

#[test]
fn the_configured_deny_list_governs_the_installed_log_and_integrations() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let obs = obs_service::Config::new("redact-test")
        .redactor(Redactor::default().deny("iban").allow("session"))
        .log_file(&log, obs_service::Rotation::Daily, 1)
        .init()
        .expect("init");

    {
        let span = tracing::info_span!("payout", customer_iban = "DE89370400440532013000");
        let _entered = span.enter();
        tracing::info!(
            iban = "GB29NWBK60161331926819",
            authorization = "Bearer tok-5521",
            session = "s-1",
            amount = 12,
            "payout sent"
        );
    }
    let installed = redact::installed();
    assert!(installed.is_sensitive("payee_iban"));
    assert!(installed.is_sensitive("X-Api-Key"), "defaults are kept");
    assert!(!installed.is_sensitive("session"), "allowed again");

    drop(obs); // flushes the file writer
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .expect("a log file");
    let text = std::fs::read_to_string(file).unwrap();
    let line: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["message"] == "payout sent")
        .unwrap_or_else(|| panic!("no payout line in {text}"));
    assert_eq!(line["iban"], REDACTED);
    assert_eq!(line["customer_iban"], REDACTED);
    assert_eq!(line["authorization"], REDACTED);
    assert_eq!(line["session"], "s-1");
    assert_eq!(line["amount"], 12);
    for secret in [
        "DE89370400440532013000",
        "GB29NWBK60161331926819",
        "tok-5521",
    ] {
        assert!(!text.contains(secret), "{secret} reached the log: {text}");
    }
}
