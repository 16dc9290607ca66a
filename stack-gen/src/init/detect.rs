//! Finds the databases an application already runs in its own compose file
//! (`obs-gen init --app-compose`), as the answers' defaults.

use crate::error::{Error, one_line};
use crate::model::{Database, Databases, HostPort, Port};

/// Looks for PostgreSQL and Redis images in an application's compose file. Returns the
/// addresses the exporters should use from the monitoring stack: a published host port is
/// reached through `host.docker.internal`.
pub fn detect_databases(compose_text: &str, origin: &str) -> Result<Databases, Error> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(compose_text).map_err(|e| {
        Error::Input(format!(
            "{origin}: not valid YAML ({})",
            one_line(&e.to_string())
        ))
    })?;
    let mut found = Databases::default();
    let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) else {
        return Ok(found);
    };
    for (_, service) in services {
        let image = service
            .get("image")
            .and_then(|i| i.as_str())
            .unwrap_or_default();
        let name = image.rsplit('/').next().unwrap_or(image);
        let name = name.split([':', '@']).next().unwrap_or(name);
        let (kind, internal) = match name {
            n if n.contains("postgres") && !n.contains("exporter") => ("postgres", 5432),
            n if (n == "redis" || n == "valkey" || n.starts_with("redis-stack")) => ("redis", 6379),
            _ => continue,
        };
        let mut host_port = Port::known(internal);
        if let Some(ports) = service.get("ports").and_then(|p| p.as_sequence()) {
            for p in ports {
                let text = match p {
                    serde_yaml_ng::Value::String(s) => s.clone(),
                    serde_yaml_ng::Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                let parts: Vec<&str> = text.split(':').collect();
                if parts.len() >= 2
                    && parts[parts.len() - 1].split('/').next() == Some(&internal.to_string())
                    && let Ok(p) = parts[parts.len() - 2].parse::<Port>()
                {
                    host_port = p;
                }
            }
        }
        let db = Some(Database::at(HostPort::docker_host(host_port)));
        match kind {
            "postgres" if found.postgres.is_none() => found.postgres = db,
            "redis" if found.redis.is_none() => found.redis = db,
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_databases_in_an_app_compose_file() {
        let text = "services:\n  db:\n    image: postgres:17\n    ports: [\"15432:5432\"]\n  cache:\n    image: docker.io/library/redis:7-alpine\n  web:\n    image: nginx\n";
        let d = detect_databases(text, "c.yaml").unwrap();
        assert_eq!(
            d.postgres.unwrap().address.unwrap().to_string(),
            "host.docker.internal:15432"
        );
        assert_eq!(
            d.redis.unwrap().address.unwrap().to_string(),
            "host.docker.internal:6379"
        );
    }
}
