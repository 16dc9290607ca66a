//! The log filter in its cheapest form.

use super::{Config, ConfigError};

impl Config {
    /// The log filter, as the cheapest filter that means the same: a `Targets` list when the
    /// directives only name targets and levels (the common case), an `EnvFilter` when they
    /// select by span or field.
    ///
    /// `EnvFilter` keeps a lock-guarded map of spans and consults it on every span enter, exit
    /// and close, for the sake of span directives; a filter without them should not pay that on
    /// every request.
    pub(crate) fn filter_layers(&self) -> Result<LogFilter, ConfigError> {
        let env_filter = self.env_filter()?;
        let dynamic = self.log_filter.contains(['[', '{']);
        Ok(
            match self
                .log_filter
                .parse::<tracing_subscriber::filter::Targets>()
            {
                Ok(targets) if !dynamic => (Some(targets), None),
                _ => (None, Some(env_filter)),
            },
        )
    }

    pub(crate) fn env_filter(&self) -> Result<tracing_subscriber::EnvFilter, ConfigError> {
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.log_filter)
            .map_err(|e| ConfigError::InvalidLogFilter {
                filter: self.log_filter.clone(),
                source_var: self.log_filter_source,
                reason: e.to_string(),
            })
    }
}

/// One of the two filters is set; see [`Config::filter_layers`].
pub(crate) type LogFilter = (
    Option<tracing_subscriber::filter::Targets>,
    Option<tracing_subscriber::EnvFilter>,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_filters_use_targets_and_span_filters_keep_env_filter() {
        use tracing_subscriber::layer::SubscriberExt;
        let filter = |f: &str| Config::new("svc").log_filter(f).filter_layers().unwrap();
        for plain in [
            "info",
            "warn,obs::access=info",
            "debug,hyper=off,my_app=trace",
        ] {
            let (targets, env) = filter(plain);
            assert!(targets.is_some() && env.is_none(), "{plain}");
        }
        for dynamic in ["info,[request]=debug", "warn,[{user_id=7}]=trace"] {
            let (targets, env) = filter(dynamic);
            assert!(targets.is_none() && env.is_some(), "{dynamic}");
        }

        // The Targets filter means what the EnvFilter would.
        let (targets, _) = filter("warn,obs::access=info");
        let writer = crate::logging::MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(crate::logging::JsonLayer::new(writer.clone()))
            .with(targets);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "obs::access", "kept");
            tracing::info!(target: "my_app", "dropped");
            tracing::warn!(target: "my_app", "kept too");
        });
        let messages: Vec<_> = writer
            .json_lines()
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(messages, ["kept", "kept too"]);
    }
}
