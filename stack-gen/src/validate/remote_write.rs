//! The checks of `[remote_write]`, read by both targets: the push URL, the names of the
//! variables holding credentials, and one way to authenticate.

use super::syntax::is_env_name;
use crate::model::Config;

/// Every problem of `[remote_write]`, when present.
pub(super) fn check(cfg: &Config, err: &mut impl FnMut(&str, String)) {
    let Some(rw) = &cfg.remote_write else {
        return;
    };
    if let Err(msg) = check_push_url(&rw.url) {
        err("remote_write.url", msg);
    }
    for (key, value) in [
        ("password_env", &rw.password_env),
        ("bearer_token_env", &rw.bearer_token_env),
    ] {
        if let Some(v) = value
            && !is_env_name(v)
        {
            err(
                &format!("remote_write.{key}"),
                format!("{v:?} is not an environment variable name (A-Z, 0-9, _)"),
            );
        }
    }
    match (&rw.username, &rw.password_env, &rw.bearer_token_env) {
        (Some(_), None, _) => err(
            "remote_write.password_env",
            "basic auth needs the variable holding the password as well as username".into(),
        ),
        (None, Some(_), _) => err(
            "remote_write.username",
            "basic auth needs a username as well as password_env".into(),
        ),
        (Some(_), Some(_), Some(_)) => err(
            "remote_write.bearer_token_env",
            "use either basic auth (username, password_env) or a bearer token, not both".into(),
        ),
        _ => {}
    }
    if let Some(u) = &rw.username
        && (u.is_empty() || u.contains(char::is_control))
    {
        err(
            "remote_write.username",
            format!("{u:?} must be a non-empty user name"),
        );
    }
}

/// Checks a push URL: `http://` or `https://`, a host, no whitespace. Hand-written because the
/// generator only needs the scheme and host checked (Prometheus parses the rest on load), and
/// a URL crate would come in for these two lines.
fn check_push_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(format!(
            "{url:?} must start with http:// or https:// (the remote-write receiver's push URL)"
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || url.contains(char::is_whitespace) {
        return Err(format!(
            "{url:?} needs a host and no spaces or user:password@ (put credentials in password_env)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls() {
        assert!(check_push_url("https://mimir.example.com/api/v1/push").is_ok());
        assert!(check_push_url("http://127.0.0.1:9090/api/v1/write").is_ok());
        assert!(check_push_url("https://u:p@host/x").is_err());
        assert!(check_push_url("https:///x").is_err());
    }
}
