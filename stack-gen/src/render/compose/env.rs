//! `.env.example` and the generated `.env`. The Grafana admin password is random and lives only
//! in `.env`, which is written once (mode 0600) and never regenerated.

use crate::model::Config;

/// Name of the Grafana admin password variable.
pub const GRAFANA_PASSWORD_VAR: &str = "GF_SECURITY_ADMIN_PASSWORD";

fn body(cfg: &Config, password: &str) -> String {
    let mut s = String::new();
    s.push_str("# Grafana admin password (user `admin`). obs-gen wrote a random one into .env.\n");
    s.push_str(&format!("{GRAFANA_PASSWORD_VAR}={password}\n"));
    if let Some(var) = cfg.alerting.receiver.secret_var() {
        s.push_str("\n# Alert receiver (read by alertmanager/entrypoint.sh, never written into a config file).\n");
        s.push_str(&format!("# {}\n{}=\n", var.holds, var.name));
    }
    if let Some(rw) = &cfg.remote_write {
        let vars = rw.secret_vars();
        if !vars.is_empty() {
            s.push_str("\n# Remote write (compose passes these to Prometheus as secrets).\n");
            for (var, what) in vars {
                s.push_str(&format!("# {what}\n{var}=\n"));
            }
        }
    }
    if cfg.databases.postgres.is_some() {
        s.push_str("\n# postgres-exporter login (a read-only role with pg_monitor is enough).\n");
        s.push_str("POSTGRES_EXPORTER_USER=postgres\nPOSTGRES_EXPORTER_PASSWORD=\nPOSTGRES_EXPORTER_SSLMODE=disable\n");
    }
    if cfg.databases.redis.is_some() {
        s.push_str("\n# redis_exporter password, if Redis requires one.\nREDIS_PASSWORD=\n");
    }
    s.push_str(
        "\n# For your services (obs-service reads these; they are not used by the stack itself).\n",
    );
    s.push_str(&format!("OBS_ENV={}\n", cfg.environment));
    s.push_str(&format!("# Push logs straight to Loki instead of (or besides) the log shipper:\n# LOKI_URL=http://127.0.0.1:{}\n", cfg.ports.loki));
    if cfg.tracing {
        s.push_str(&format!(
            "# OTLP traces to Tempo:\nOTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{}\n",
            cfg.ports.otlp_http
        ));
    } else {
        s.push_str("# OTLP traces (turn tracing on in obs.toml to run Tempo):\n# OTEL_EXPORTER_OTLP_ENDPOINT=\n");
    }
    if cfg.sentry {
        s.push_str("# Sentry project DSN:\nSENTRY_DSN=\n");
        if cfg.frontend.is_some() {
            s.push_str(&format!(
                "# Share of requests sent as Sentry transactions, in the browser's traces ([sentry_sampling]):\nSENTRY_TRACES_SAMPLE_RATE={}\n",
                cfg.sentry_sampling.traces_sample_rate
            ));
        }
    } else {
        s.push_str("# Sentry project DSN (sentry = true in obs.toml):\n# SENTRY_DSN=\n");
    }
    if cfg.frontend.is_some() {
        s.push_str("\n# For the Next.js app (frontend/nextjs/README.md): set these where it is built and runs.\n");
        for (var, what) in crate::render::frontend::ENV_VARS {
            let value = match *var {
                "NEXT_PUBLIC_SENTRY_ENVIRONMENT" => cfg.environment.as_str(),
                _ => "",
            };
            s.push_str(&format!("# {what}\n{var}={value}\n"));
        }
    }
    s
}

/// Renders `.env.example` (no secret in it).
pub fn example(cfg: &Config) -> String {
    format!(
        "# Copy to .env and fill in. obs-gen already wrote .env (git-ignored) with a random password.\n{}",
        body(cfg, "")
    )
}

/// Renders the first `.env`, with `password` as the Grafana admin password.
pub fn dotenv(cfg: &Config, password: &str) -> String {
    format!(
        "# Secrets of this stack. Keep out of git (see .gitignore). Written once by obs-gen.\n{}",
        body(cfg, password)
    )
}

/// A random password of 32 letters and digits from the operating system's generator.
pub fn random_password() -> Result<String, crate::error::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    while out.len() < 32 {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf)
            .map_err(|e| crate::error::Error::Io(format!("cannot get random bytes: {e}")))?;
        for b in buf {
            // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
            if (b as usize) < 248 && out.len() < 32 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_random_and_alphanumeric() {
        let a = super::random_password().unwrap();
        let b = super::random_password().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
