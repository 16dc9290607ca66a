//! The JSON string writer of log lines: its output is exactly serde_json's, stays on one line,
//! and parses back to the original string.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    let mut out = b"{\"k\":".to_vec();
    obs_service::fuzzing::write_json_str(&mut out, value);
    let written = &out[5..];
    assert_eq!(written, serde_json::to_string(value).unwrap().as_bytes());
    assert!(!written.contains(&b'\n') && !written.contains(&b'\r'));
    out.push(b'}');
    let line: serde_json::Value = serde_json::from_slice(&out).expect("a JSON object");
    assert_eq!(line["k"].as_str(), Some(value));
});
