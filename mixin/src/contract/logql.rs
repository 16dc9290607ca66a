//! LogQL stream selectors: only the fields the catalogue ships as Loki labels may appear inside
//! `{…}`; the rest is structured metadata, filtered after a `|`.

use obs_catalogue as catalogue;

use super::Violation;

/// Checks the stream selectors of a LogQL query: only fields the catalogue ships as Loki labels
/// (`service`, `env`, `level`) may appear inside `{…}`.
pub fn check_logql(location: &str, expr: &str) -> Vec<Violation> {
    let stream_labels: Vec<&str> = catalogue::LOG_FIELDS
        .iter()
        .filter(|f| f.loki == catalogue::LokiPlacement::Label)
        .map(|f| f.name)
        .collect();
    let Some(selector) = stream_selector(expr) else {
        return vec![Violation {
            location: location.into(),
            expr: expr.into(),
            message: "LogQL query without a stream selector".into(),
        }];
    };
    let mut out = Vec::new();
    for matcher in split_matchers(selector) {
        let name: String = matcher
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !stream_labels.contains(&name.as_str()) {
            out.push(Violation {
                location: location.into(),
                expr: expr.into(),
                message: format!(
                    "`{name}` is not a Loki stream label (only {} are); filter structured metadata with `| {name}=\"…\"`",
                    stream_labels.join(", ")
                ),
            });
        }
    }
    out
}

/// The inside of the first `{…}` stream selector of a LogQL query (a `${var}` is not one);
/// quoted values may contain braces.
fn stream_selector(expr: &str) -> Option<&str> {
    let bytes = expr.as_bytes();
    let open = (0..bytes.len()).find(|&i| bytes[i] == b'{' && (i == 0 || bytes[i - 1] != b'$'))?;
    let mut quote = false;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b'}' if !quote => return Some(&expr[open + 1..i]),
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_matchers(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = false;
    let mut start = 0;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b',' if !quote => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(inner[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logql_stream_selectors_use_only_loki_labels() {
        assert!(
            check_logql(
                "t",
                r#"{service=~"$service", level="ERROR"} | request_id="$request_id""#
            )
            .is_empty()
        );
        assert!(check_logql("t", r#"{service=~"${service:regex}", env="a}b"} |= "x""#).is_empty());
        assert_eq!(
            check_logql("t", "sum(rate(x[5m]))")[0].message,
            "LogQL query without a stream selector"
        );
        let v = check_logql("t", r#"{service="a", request_id="$request_id"}"#);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("`request_id`"));
    }
}
