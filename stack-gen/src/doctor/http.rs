//! Just enough HTTP/1.1 to GET a plain-HTTP service (the address Prometheus scrapes), so the
//! doctor needs no HTTP client and no TLS stack: status, headers, and a body, chunked or not.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// A plain-HTTP service address.
pub(super) struct Target {
    pub(super) authority: String,
    /// The route of the doctor's test request.
    pub(super) path: String,
}

/// One answer.
pub(super) struct Response {
    pub(super) status: u16,
    headers: Vec<(String, String)>,
    pub(super) body: String,
}

impl Response {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, String> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(format!(
                "{url}: the doctor speaks plain HTTP, the way Prometheus scrapes inside the network"
            ));
        } else if url.contains("://") {
            return Err(format!("{url}: not an http:// URL"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let authority = if authority.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        }) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Target {
            authority,
            path: path.to_string(),
        })
    }

    pub(super) fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, String> {
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.authority))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.authority))?;
        let mut stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("cannot connect to {}: {e}", self.authority))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| e.to_string())?;
        let host = self.authority.as_str();
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: obs-gen-doctor\r\nAccept: */*\r\nConnection: close\r\n"
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream
            .write_all(req.as_bytes())
            .map_err(|e| format!("GET {path}: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|e| format!("GET {path}: no complete answer within {timeout:?}: {e}"))?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let resp = Response {
            status,
            headers,
            body: String::new(),
        };
        if resp
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            body = dechunk(&body).ok_or_else(|| format!("GET {path}: bad chunked body"))?;
        }
        Ok(Response {
            body: String::from_utf8_lossy(&body).into_owned(),
            ..resp
        })
    }
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_chunks() {
        let t = Target::parse("http://127.0.0.1:3000/users/1").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:3000", "/users/1")
        );
        assert_eq!(
            Target::parse("localhost").unwrap().authority,
            "localhost:80"
        );
        assert!(Target::parse("https://x").is_err());
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
    }
}
