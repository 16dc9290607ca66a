//! Reading the configuration from the environment, through the catalogue's entries.

use obs_catalogue::env::{self as vars, EnvVar};

use super::{Config, ConfigError, LogFile, LogFormat, Rotation};

impl Config {
    /// Reads the configuration from the environment (the variables are listed in
    /// [`catalogue::env`](crate::catalogue::env)). `package_name` and
    /// `package_version` are the fallbacks for the service name and version; the
    /// [`init!`](crate::init!) macro passes the calling crate's.
    pub fn from_env(package_name: &str, package_version: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(package_name, package_version, |key| std::env::var(key).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup` (useful in tests).
    pub fn from_lookup(
        package_name: &str,
        package_version: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let service = env
            .get(&vars::OBS_SERVICE_NAME)
            .or_else(|| env.get(&vars::OTEL_SERVICE_NAME))
            .unwrap_or_else(|| package_name.to_owned());
        let mut config = Config::new(service);
        config.version = env
            .get(&vars::OBS_SERVICE_VERSION)
            .unwrap_or_else(|| package_version.to_owned());
        if let Some(environment) = env.get(&vars::OBS_ENV) {
            config.env = environment;
        }
        if let Some(commit) = env
            .get(&vars::OBS_COMMIT)
            .or_else(|| env.get(&vars::GIT_COMMIT))
        {
            config.commit = commit;
        }
        if let Some(filter) = env.get(&vars::OBS_LOG) {
            config.log_filter = filter;
            config.log_filter_source = vars::OBS_LOG.name;
        } else if let Some(filter) = env.get(&vars::RUST_LOG) {
            config.log_filter = filter;
            config.log_filter_source = vars::RUST_LOG.name;
        }
        if let Some(format) = env.get(&vars::OBS_LOG_FORMAT) {
            config.log_format = match format.to_ascii_lowercase().as_str() {
                "json" => LogFormat::Json,
                "pretty" | "text" => LogFormat::Pretty,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OBS_LOG_FORMAT.name,
                        value: format,
                        expected: "json or pretty",
                    });
                }
            };
        }
        if let Some(path) = env.get(&vars::OBS_LOG_FILE) {
            let rotation = match env
                .get(&vars::OBS_LOG_ROTATION)
                .map(|r| r.to_ascii_lowercase())
            {
                None => Rotation::Daily,
                Some(r) if r == "daily" => Rotation::Daily,
                Some(r) if r == "hourly" => Rotation::Hourly,
                Some(r) => {
                    return Err(ConfigError::InvalidEnv {
                        name: vars::OBS_LOG_ROTATION.name,
                        value: r,
                        expected: "daily or hourly",
                    });
                }
            };
            let keep = match env.get(&vars::OBS_LOG_KEEP) {
                None => 7,
                Some(k) => match k.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(ConfigError::InvalidEnv {
                            name: vars::OBS_LOG_KEEP.name,
                            value: k,
                            expected: "a whole number of files, at least 1",
                        });
                    }
                },
            };
            config.log_file = Some(LogFile {
                path: path.into(),
                rotation,
                keep,
            });
        }
        if let Some(drain) = env.get(&vars::OBS_SHUTDOWN_DRAIN) {
            config.shutdown_drain =
                crate::shutdown::parse_drain(&drain).ok_or(ConfigError::InvalidEnv {
                    name: vars::OBS_SHUTDOWN_DRAIN.name,
                    value: drain,
                    expected: "a duration like 10s, 500ms or 1m (0 for none)",
                })?;
        }
        config.environment = Environment::read(&env);
        Ok(config)
    }
}

/// The variables of the catalogue that were set, as [`Config::from_lookup`] read them: `init`
/// reads each integration's settings from these, so a configuration built in code
/// ([`Config::new`]) has none.
#[derive(Clone, Default)]
pub(crate) struct Environment(Vec<(&'static str, String)>);

impl Environment {
    /// Every variable of the catalogue that `env` has.
    fn read(env: &Env<'_>) -> Self {
        Self(
            vars::ALL
                .iter()
                .filter_map(|variable| Some((variable.name, env.get(variable)?)))
                .collect(),
        )
    }

    /// Runs `f` with these variables as an [`Env`].
    pub(crate) fn with_env<R>(&self, f: impl FnOnce(&Env<'_>) -> R) -> R {
        let lookup = |name: &str| {
            self.0
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
        };
        f(&Env::new(&lookup))
    }
}

impl std::fmt::Debug for Environment {
    /// The names alone: values such as `SENTRY_DSN` hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The environment as [`Config::from_lookup`] reads it: values trimmed, empty ones unset.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    /// The environment `lookup` reads.
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `variable`, if it is set to something other than blanks.
    pub(crate) fn get(&self, variable: &EnvVar) -> Option<String> {
        (self.lookup)(variable.name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup("pkg", "9.9.9", |k| map.get(k).cloned())
    }
    #[test]
    fn zero_configuration_uses_package_name_and_json() {
        let c = from(&[]).unwrap();
        assert_eq!(c.service, "pkg");
        assert_eq!(c.version, "9.9.9");
        assert_eq!(c.env, "development");
        assert_eq!(c.log_filter, "info");
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.log_file.is_none());
    }

    #[test]
    fn service_name_precedence() {
        assert_eq!(
            from(&[("OTEL_SERVICE_NAME", "otel")]).unwrap().service,
            "otel"
        );
        let c = from(&[("OTEL_SERVICE_NAME", "otel"), ("OBS_SERVICE_NAME", "obs")]).unwrap();
        assert_eq!(c.service, "obs");
        assert_eq!(from(&[("OBS_SERVICE_NAME", "  ")]).unwrap().service, "pkg");
    }

    #[test]
    fn log_filter_precedence() {
        let c = from(&[("RUST_LOG", "debug"), ("OBS_LOG", "warn")]).unwrap();
        assert_eq!(
            (c.log_filter.as_str(), c.log_filter_source),
            ("warn", "OBS_LOG")
        );
        let c = from(&[("RUST_LOG", "debug")]).unwrap();
        assert_eq!(
            (c.log_filter.as_str(), c.log_filter_source),
            ("debug", "RUST_LOG")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = from(&[("OBS_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.to_string().contains("OBS_LOG_FORMAT"), "{err}");
        let err = from(&[("OBS_LOG_FILE", "/tmp/x.log"), ("OBS_LOG_KEEP", "0")]).unwrap_err();
        assert!(err.to_string().contains("OBS_LOG_KEEP"), "{err}");
        let err = from(&[("OBS_LOG", "info,=[")])
            .unwrap()
            .env_filter()
            .unwrap_err();
        assert!(err.to_string().contains("OBS_LOG"), "{err}");
    }

    #[test]
    fn the_catalogues_variables_are_kept_by_name_only_in_debug() {
        let c = from(&[
            ("SENTRY_DSN", "http://hunter2@127.0.0.1:9/1"),
            ("NOT_OURS", "x"),
        ])
        .unwrap();
        c.environment.with_env(|env| {
            assert_eq!(
                env.get(&vars::SENTRY_DSN).as_deref(),
                Some("http://hunter2@127.0.0.1:9/1")
            );
        });
        let debug = format!("{c:?}");
        assert!(
            debug.contains("SENTRY_DSN") && !debug.contains("hunter2"),
            "{debug}"
        );
        assert!(!debug.contains("NOT_OURS"), "{debug}");
    }

    #[test]
    fn log_file_from_env() {
        let c = from(&[
            ("OBS_LOG_FILE", "/var/log/app.log"),
            ("OBS_LOG_ROTATION", "HOURLY"),
            ("OBS_LOG_KEEP", "3"),
        ])
        .unwrap();
        assert_eq!(
            c.log_file,
            Some(LogFile {
                path: "/var/log/app.log".into(),
                rotation: Rotation::Hourly,
                keep: 3
            })
        );
    }
}
