//! The obs.toml reader and validator: any text either fails with a typed one-line error
//! (`Error::Input` from the reader, one line per problem from validation; `obs-gen` exits 2 on
//! both before writing anything) or loads, reads back from its own `obs.toml` as the same
//! configuration, and renders a stack that passes its self-check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obs_gen::error::Error;
use obs_gen::model::Config;

fuzz_target!(|text: &str| {
    let cfg = match Config::from_toml(text, "obs.toml") {
        Ok(cfg) => cfg,
        Err(Error::Input(msg)) => {
            assert!(
                msg.starts_with("obs.toml:") && !msg.contains('\n'),
                "{msg:?}"
            );
            return;
        }
        Err(other) => panic!("reading gives Error::Input, not {other:?}"),
    };
    if let Err(errs) = obs_gen::validate::validate(&cfg, "obs.toml") {
        assert!(!errs.is_empty());
        for e in &errs {
            assert!(e.starts_with("obs.toml") && !e.contains('\n'), "{e:?}");
        }
        assert_eq!(Error::Invalid(errs).exit_code(), 2);
        return;
    }
    let back = Config::from_toml(&cfg.to_toml(), "obs.toml").expect("written obs.toml reads");
    assert_eq!(back, cfg, "obs.toml round trip");
    let files = obs_gen::render::render(&cfg).expect("a valid configuration renders");
    obs_gen::check::self_check(&files).expect("a valid configuration passes the self-check");
});
