//! The doctor's HTTP client, used as one would use curl to look at a service: reqwest's
//! blocking client over rustls (no OpenSSL), `http://` and `https://`, the certificate checked
//! against the web's root CAs or, with `--cacert`, against the CAs of that file only (as curl's
//! flag does); redirects followed up to [`MAX_REDIRECTS`]; a connect timeout and a total one per
//! request. Credentials in the URL go out as basic auth (reqwest moves them into the header)
//! and are never shown: every message prints the URL through [`redact`].

use std::path::Path;
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use url::Url;

use crate::error::Error;

/// Redirects followed before giving up: enough for a proxy's or a login's, few enough that a
/// loop fails fast.
const MAX_REDIRECTS: usize = 5;

/// CA certificates to trust instead of the built-in roots: `--cacert FILE`.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    certs: Vec<reqwest::Certificate>,
}

impl TrustedCa {
    /// Reads the PEM certificates in `path` (one CA, or a bundle), failing as bad input (exit
    /// code 2) with a line naming the file when there is none or one is not a certificate.
    pub fn read(path: &Path) -> Result<TrustedCa, Error> {
        let bad = |why: String| Error::Input(format!("--cacert {}: {why}", path.display()));
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| bad(format!("not a PEM certificate ({})", innermost(&e))))?;
        if certs.is_empty() {
            return Err(bad(
                "not a PEM certificate (no -----BEGIN CERTIFICATE----- block in it)".into(),
            ));
        }
        // rustls reads a certificate only when a client is built to trust it.
        let mut builder = reqwest::Client::builder().tls_built_in_root_certs(false);
        for cert in &certs {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder
            .build()
            .map_err(|e| bad(format!("not a valid certificate ({})", innermost(&e))))?;
        Ok(TrustedCa { certs })
    }
}

/// How the doctor connects: timeouts and the CAs it trusts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Connection<'a> {
    /// The whole of each request, body included (curl's `--max-time`).
    pub(super) timeout: Duration,
    /// Establishing the connection, TLS handshake included (curl's `--connect-timeout`).
    pub(super) connect_timeout: Duration,
    pub(super) ca: Option<&'a TrustedCa>,
}

/// The service: its URL and a client for it.
pub(super) struct Target {
    url: Url,
    /// Scheme, host and port, credentials redacted, for messages.
    origin: String,
    /// The route of the doctor's test request, with its query.
    pub(super) path: String,
    client: Client,
    connect_timeout: Duration,
    timeout: Duration,
}

/// One answer.
pub(super) struct Response {
    pub(super) status: u16,
    headers: HeaderMap,
    /// The body as sent.
    pub(super) body: Vec<u8>,
}

impl Response {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for the JSON answers.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no answer, and whether TLS is the reason.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) detail: String,
    /// The certificate or the handshake failed, rather than the network.
    pub(super) tls: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl Target {
    /// Reads `url` (`http://` is assumed without a scheme) and makes a client for it.
    pub(super) fn parse(url: &str, connection: Connection<'_>) -> Result<Target, String> {
        let shown = redact(url);
        let full = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let parsed = Url::parse(&full).map_err(|e| format!("{shown}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{shown}: not an http:// or https:// URL"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("{shown}: no host"));
        }
        let mut path = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            path = format!("{path}?{query}");
        }
        // The origin leaves user and password out; say that there were some.
        let mut origin = parsed.origin().ascii_serialization();
        if !parsed.username().is_empty() || parsed.password().is_some() {
            origin = origin.replacen("://", "://***@", 1);
        }
        let client = client(connection).map_err(|e| format!("{shown}: {}", innermost(&e)))?;
        Ok(Target {
            url: parsed,
            origin,
            path,
            client,
            connect_timeout: connection.connect_timeout,
            timeout: connection.timeout,
        })
    }

    /// GETs `path` (absolute, with its query) with `headers`.
    pub(super) fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response, Failure> {
        let url = self.url.join(path).map_err(|e| Failure {
            detail: format!("{path}: {e}"),
            tls: false,
        })?;
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().map_err(|e| self.failure(e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().map_err(|e| self.failure(e))?.to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// One line for `e`, naming the service by its redacted origin.
    fn failure(&self, e: reqwest::Error) -> Failure {
        let e = e.without_url();
        let origin = &self.origin;
        if let Some(tls) = tls_error(&e) {
            let detail = match tls {
                rustls::Error::InvalidCertificate(why) => {
                    format!("{origin}: certificate not trusted ({})", certificate(why))
                }
                other => format!("{origin}: TLS handshake failed ({other})"),
            };
            return Failure { detail, tls: true };
        }
        let detail = if e.is_connect() && e.is_timeout() {
            let secs = self.connect_timeout.as_secs();
            format!("cannot connect to {origin} within {secs}s")
        } else if e.is_connect() {
            format!("cannot connect to {origin}: {}", innermost(&e))
        } else if e.is_timeout() {
            let secs = self.timeout.as_secs();
            format!("{origin}: no complete answer within {secs}s")
        } else if e.is_redirect() {
            format!("{origin}: more than {MAX_REDIRECTS} redirects")
        } else {
            format!("{origin}: {}", innermost(&e))
        };
        Failure { detail, tls: false }
    }
}

/// Why rustls refused the certificate, in words where its own are cryptic.
fn certificate(why: &rustls::CertificateError) -> String {
    match why {
        rustls::CertificateError::UnknownIssuer => "UnknownIssuer: no trusted CA issued it".into(),
        // webpki's error, which rustls carries without naming its type.
        rustls::CertificateError::Other(other)
            if format!("{other:?}").contains("CaUsedAsEndEntity") =>
        {
            CA_AS_LEAF.into()
        }
        other => other.to_string(),
    }
}

/// OpenSSL's `req -x509` makes self-signed certificates marked as CAs, which curl accepts as a
/// server's own and rustls refuses, even when trusted.
const CA_AS_LEAF: &str = "CaUsedAsEndEntity: the server presents a CA certificate as its own, \
    which rustls refuses even when trusted; serve a certificate that CA issued, or a \
    self-signed one with basicConstraints CA:FALSE";

fn client(connection: Connection<'_>) -> reqwest::Result<Client> {
    let mut builder = Client::builder()
        .user_agent(concat!("obs-gen-doctor/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .connect_timeout(connection.connect_timeout)
        .timeout(connection.timeout);
    if let Some(ca) = connection.ca {
        builder = builder.tls_built_in_root_certs(false);
        for cert in &ca.certs {
            builder = builder.add_root_certificate(cert.clone());
        }
    }
    builder.build()
}

/// rustls's verdict, if TLS is why `e` happened. An `io::Error` hides the error it wraps from
/// `source()` (it returns that error's source), and hyper wraps one `io::Error` in another, so
/// they are unwrapped by hand.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        let mut inner = err;
        loop {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        next = err.source();
    }
    None
}

/// The most specific message in `e`'s chain ("Connection refused (os error 111)" rather than
/// "error sending request").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// `url` with any user and password replaced by `***`, for every message that shows it.
pub(super) fn redact(url: &str) -> String {
    if let Ok(parsed) = Url::parse(url)
        && parsed.has_host()
    {
        if parsed.username().is_empty() && parsed.password().is_none() {
            return url.to_owned();
        }
        let mut bare = parsed;
        // A URL with a host takes any user and password.
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        let bare = bare.to_string();
        let (scheme, rest) = bare.split_once("://").unwrap_or(("", &bare));
        return format!("{scheme}://***@{rest}");
    }
    // Not a URL with a host (a password with an unencoded `/`, no scheme): whatever precedes
    // the last `@` after the scheme may be credentials.
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..start], &url[start + at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection<'static> {
        Connection {
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            ca: None,
        }
    }

    #[test]
    fn urls_with_and_without_scheme() {
        let t = Target::parse("http://127.0.0.1:3000/users/1?x=2", connection()).unwrap();
        assert_eq!(
            (t.origin.as_str(), t.path.as_str()),
            ("http://127.0.0.1:3000", "/users/1?x=2")
        );
        let t = Target::parse("localhost", connection()).unwrap();
        assert_eq!(
            (t.origin.as_str(), t.path.as_str()),
            ("http://localhost", "/")
        );
        let t = Target::parse("https://u:secret@api.internal:8443", connection()).unwrap();
        assert_eq!(t.origin, "https://***@api.internal:8443");
        // The credentials stay in the URL the requests are made from (reqwest sends them as
        // basic auth), also for the other paths.
        assert_eq!(
            t.url.join("/metrics").unwrap().as_str(),
            "https://u:secret@api.internal:8443/metrics"
        );
        for bad in ["ftp://x", "https://", "http://u:p@:80/"] {
            let err = Target::parse(bad, connection()).err().unwrap();
            assert!(!err.contains(":p@"), "{err}");
        }
    }

    #[test]
    fn credentials_are_redacted() {
        for (url, shown) in [
            ("https://u:p@host/x", "https://***@host/x"),
            ("https://u@host:8443/", "https://***@host:8443/"),
            ("http://:p@127.0.0.1:3000", "http://***@127.0.0.1:3000/"),
            ("http://host/a@b", "http://host/a@b"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("u:p@127.0.0.1:3000", "***@127.0.0.1:3000"),
            ("https://u:p/q@host/", "https://***@host/"),
            ("https://u:p%40x@host/", "https://***@host/"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn a_cacert_that_is_no_certificate_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a certificate\n").unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for (path, why) in [
            (&missing, "cannot read it"),
            (&text, "no -----BEGIN CERTIFICATE----- block"),
            (&garbage, "not a valid certificate"),
        ] {
            let err = TrustedCa::read(path).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let line = err.to_string();
            assert!(
                line.starts_with(&format!("--cacert {}: ", path.display())) && line.contains(why),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }
}
