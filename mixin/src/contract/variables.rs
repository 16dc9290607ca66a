//! Grafana template variables (`$job`, `${instance:regex}`, `$__rate_interval`) replaced by
//! placeholders, so a dashboard query parses as PromQL.

/// Replaces Grafana template variables with parseable placeholders: interval variables
/// (`$__rate_interval`, `$__interval`, `$__range`, …) become `5m`, other variables become `x`
/// inside quotes and `1` outside.
pub fn substitute_variables(query: &str) -> String {
    substitute(
        query,
        &|name, quoted| match (name.starts_with("__"), quoted) {
            (true, _) => "5m".into(),
            (false, true) => "x".into(),
            (false, false) => "1".into(),
        },
    )
}

/// Replaces every Grafana variable by `placeholder(name, inside_quotes)`; `name` is without
/// `$`, braces and format (`__rate_interval`, `job`).
pub(crate) fn substitute(query: &str, placeholder: &dyn Fn(&str, bool) -> String) -> String {
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote.is_some() => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' | '\'' | '`' => {
                match quote {
                    None => quote = Some(c),
                    Some(q) if q == c => quote = None,
                    _ => {}
                }
                out.push(c);
            }
            '$' => {
                let mut name = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                        name.push(n);
                    }
                    name = name.split(':').next().unwrap_or_default().to_string();
                } else {
                    while let Some(&n) = chars.peek() {
                        if n.is_ascii_alphanumeric() || n == '_' {
                            name.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                if name.is_empty() {
                    out.push('$');
                } else {
                    out.push_str(&placeholder(&name, quote.is_some()));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_placeholders() {
        assert_eq!(
            substitute_variables(
                r#"rate(x{job=~"$job",a="${instance:regex}"}[$__rate_interval]) > $threshold"#
            ),
            r#"rate(x{job=~"x",a="x"}[5m]) > 1"#
        );
    }
}
