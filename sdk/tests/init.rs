//! `init` is process-wide: this file runs in its own test binary, so nothing else installed a
//! subscriber or recorder first.

#[test]
fn second_init_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs").join("svc.log");
    let obs = obs_service::Config::new("init-test")
        .log_file(&log, obs_service::Rotation::Hourly, 2)
        .init()
        .expect("first init succeeds");
    tracing::info!(answer = 42, "to the file");
    tracing::debug!("below the filter");
    // The filter's level reaches tracing's global maximum, so a disabled `debug!` costs one
    // comparison at its callsite rather than a call into the subscriber.
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        tracing::level_filters::LevelFilter::INFO
    );
    let again = obs_service::Config::new("init-test").init();
    assert!(
        matches!(again, Err(obs_service::InitError::AlreadyInitialised)),
        "{again:?}"
    );
    assert!(again.unwrap_err().to_string().contains("already"));

    // The global recorder is the guard's registry: a service's own metrics land on /metrics.
    metrics::counter!("app_things_total").increment(3);
    let text = obs.metrics().render();
    assert!(text.contains("app_things_total 3"), "{text}");
    assert!(
        text.contains(r#"obs_build_info{service="init-test""#),
        "{text}"
    );
    // Active writers report "nothing dropped" before anything was.
    for writer in ["stdout", "file"] {
        let series =
            format!("obs_exporter_dropped_total{{exporter=\"{writer}\",reason=\"queue_full\"}} 0");
        assert!(text.contains(&series), "{series} missing:\n{text}");
    }

    // Dropping the guard flushes the file writer.
    drop(obs);
    let files: Vec<_> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("svc.log."), "rotated file name {name}");
    let content = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!content.contains("below the filter"), "{content}");
    let line: serde_json::Value = serde_json::from_str(content.lines().last().unwrap()).unwrap();
    assert_eq!(line["message"], "to the file");
    assert_eq!(line["answer"], 42);
    assert_eq!(line["service"], "init-test");
}

#[test]
fn bad_log_filter_is_reported_with_its_source() {
    let err = obs_service::Config::new("x")
        .log_filter("info,=[[")
        .init()
        .unwrap_err();
    assert!(err.to_string().contains("log filter"), "{err}");
}
