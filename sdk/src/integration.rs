//! The list of integrations (Sentry, OTLP, Loki): the one place that knows which are compiled
//! in. The core (`config`, `init`, `logging`, the HTTP layer, errors, panics) goes through the
//! types and functions here and never names an integration or its cargo feature.
//!
//! Each integration implements [`Integration`](crate::export::Integration): built from the
//! environment or code, it gives a tracing layer, a handle with sent and dropped counts, and
//! shuts down by a deadline. Integrations that want to hear about failed requests subscribe to
//! the [completion hooks](crate::completion), and those that carry traces install their
//! propagation while they run. Everything here is static: an
//! integration that is not compiled in costs nothing, and one that is costs nothing while it
//! is off.

use std::time::Instant;

use crate::catalogue::env as vars;
use crate::config::{ConfigError, Env};
use crate::{Config, InitError, Metrics};

macro_rules! integrations {
    ($($feature:literal => $field:ident: $integration:ty, switched on by $switch:expr;)*) => {
        /// The settings of every integration compiled in; `None` is off.
        #[derive(Debug, Clone, Default)]
        pub(crate) struct Configs {
            $(
                #[cfg(feature = $feature)]
                pub(crate) $field: Option<<$integration as crate::export::Integration>::Config>,
            )*
        }

        impl Configs {
            /// Each integration's settings: as code set them, or from the environment `config`
            /// was read from (on when its variable is set).
            pub(crate) fn of(config: &Config) -> Result<Self, ConfigError> {
                config.environment.with_env(|env| {
                    let _ = env;
                    Ok(Self {
                        $(
                            #[cfg(feature = $feature)]
                            $field: match config.integration_set_in_code() {
                                Some(settings) => settings,
                                None => <$integration as crate::export::Integration>::config_from_env(env)?,
                            },
                        )*
                    })
                })
            }

            /// Whether an integration that is on exports spans: then request spans carry the
            /// OpenTelemetry fields, and log lines their trace and span IDs.
            pub(crate) fn exports_spans(&self) -> bool {
                $(
                    #[cfg(feature = $feature)]
                    if <$integration as crate::export::Integration>::EXPORTS_SPANS
                        && self.$field.is_some()
                    {
                        return true;
                    }
                )*
                false
            }

            /// Starts every integration that is on.
            pub(crate) fn start(
                &self,
                config: &Config,
                metrics: &Metrics,
            ) -> Result<Running, InitError> {
                let _ = (config, metrics);
                #[allow(unused_mut)]
                let mut running = Running::default();
                $(
                    #[cfg(feature = $feature)]
                    if let Some(settings) = &self.$field {
                        running.$field = Some(<$integration as crate::export::Integration>::start(
                            settings, config, metrics,
                        )?);
                    }
                )*
                Ok(running)
            }
        }

        /// The integrations [`Config::init`] started, owned by the [`Obs`](crate::Obs) guard.
        #[derive(Default)]
        pub(crate) struct Running {
            $(
                #[cfg(feature = $feature)]
                $field: Option<$integration>,
            )*
        }

        impl Running {
            /// The tracing layers of the started integrations, to add to the subscriber once:
            /// none when no integration that is on has one, so the subscriber then has nothing
            /// to call for them on every span and event.
            pub(crate) fn take_layers<S>(
                &mut self,
            ) -> Vec<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>
            where
                S: tracing::Subscriber
                    + for<'a> tracing_subscriber::registry::LookupSpan<'a>
                    + Send
                    + Sync,
            {
                #[allow(unused_imports)]
                use tracing_subscriber::Layer as _;
                #[allow(unused_mut)]
                let mut layers = Vec::new();
                $(
                    #[cfg(feature = $feature)]
                    if let Some(layer) = self
                        .$field
                        .as_mut()
                        .and_then(crate::export::Integration::layer::<S>)
                    {
                        layers.push(layer.boxed());
                    }
                )*
                layers
            }

            /// The line sinks of the started integrations, for the core's JSON layer.
            pub(crate) fn take_line_sinks(&mut self) -> Vec<Box<dyn crate::logging::LineSink>> {
                #[allow(unused_mut)]
                let mut sinks = Vec::new();
                $(
                    #[cfg(feature = $feature)]
                    if let Some(sink) = self.$field.as_mut().and_then(crate::export::Integration::line_sink) {
                        sinks.push(sink);
                    }
                )*
                sinks
            }

            /// The running integration whose drop counter has the label `exporter`.
            #[cfg(any($(feature = $feature),*))]
            pub(crate) fn handle(&self, exporter: &str) -> Option<&crate::export::ExporterHandle> {
                $(
                    #[cfg(feature = $feature)]
                    if let Some(running) = self.$field.as_ref().filter(|_| {
                        exporter == <$integration as crate::export::Integration>::EXPORTER.as_str()
                    }) {
                        return Some(crate::export::Integration::handle(running));
                    }
                )*
                None
            }

            /// Sends what every integration has queued until `deadline`, then stops them all.
            pub(crate) fn shutdown(&self, deadline: Instant) {
                let _ = deadline;
                $(
                    #[cfg(feature = $feature)]
                    if let Some(running) = &self.$field {
                        crate::export::Integration::shutdown(running, deadline);
                    }
                )*
            }
        }

        /// The variables that would switch on an integration this build leaves out, as
        /// `(variable, feature)`, when `config`'s environment set them: `init` warns about each.
        pub(crate) fn not_built(config: &Config) -> Vec<(&'static str, &'static str)> {
            config.environment.with_env(|env: &Env<'_>| {
                [$(($switch, $feature, cfg!(feature = $feature))),*]
                    .into_iter()
                    .filter(|(variable, _, built)| !built && env.get(variable).is_some())
                    .map(|(variable, feature, _)| (variable.name, feature))
                    .collect()
            })
        }
    };
}

// The order is the order of their tracing layers and of their start.
integrations! {
    "otlp" => otlp: crate::otlp::OtlpPipeline, switched on by vars::OTEL_EXPORTER_OTLP_ENDPOINT;
    "loki" => loki: crate::loki::Loki, switched on by vars::LOKI_URL;
    "sentry" => sentry: crate::sentry::Sentry, switched on by vars::SENTRY_DSN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_variables_without_their_feature_are_remembered() {
        let vars = [
            ("SENTRY_DSN", "http://key@127.0.0.1:9/1"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("LOKI_URL", "http://127.0.0.1:9"),
        ];
        let config = Config::from_lookup("pkg", "1", |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        // In the order `integrations!` lists them.
        let mut expected = Vec::new();
        if !cfg!(feature = "otlp") {
            expected.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp"));
        }
        if !cfg!(feature = "loki") {
            expected.push(("LOKI_URL", "loki"));
        }
        if !cfg!(feature = "sentry") {
            expected.push(("SENTRY_DSN", "sentry"));
        }
        assert_eq!(not_built(&config), expected);
        assert!(not_built(&Config::new("pkg")).is_empty());
    }

    /// Settings set in code win over the environment, switched off included; invalid
    /// variables of an integration name themselves when the settings are resolved.
    #[test]
    #[cfg(feature = "otlp")]
    fn code_wins_over_the_environment_and_bad_variables_name_themselves() {
        let from = |vars: &'static [(&'static str, &'static str)]| {
            Config::from_lookup("pkg", "1", move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap()
        };
        let on = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
        assert!(Configs::of(&on).unwrap().otlp.is_some());
        assert!(Configs::of(&on.clone().otlp(None)).unwrap().otlp.is_none());
        let set = Config::new("pkg").otlp(crate::otlp::OtlpConfig::new("http://code:4318"));
        assert_eq!(
            Configs::of(&set).unwrap().otlp.unwrap().traces_url(),
            "http://code:4318/v1/traces"
        );
        let bad = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ]);
        let err = Configs::of(&bad).unwrap_err();
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{err}"
        );
    }
}
