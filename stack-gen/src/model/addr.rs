//! Network addresses of the model: [`Port`] and [`HostPort`], checked once when `obs.toml` or a
//! flag is read, so the renderers never parse a string again.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A TCP port, 1 to 65535.
///
/// ```
/// use obs_gen::model::Port;
/// assert_eq!("9090".parse::<Port>().unwrap().get(), 9090);
/// assert!("70000".parse::<Port>().is_err());
/// assert!(serde_json::from_str::<Port>("0").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

/// Why a value is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Not a number from 1 to 65535.
    #[error("{0} is not a port (must be 1-65535)")]
    Port(String),
    /// No `host:port` shape.
    #[error("{0:?} is not a valid host:port")]
    Shape(String),
    /// A `host:port` whose port is out of range.
    #[error("{0:?} is not a valid host:port (port must be 1-65535)")]
    HostPortPort(String),
    /// A `host:port` whose host is neither an IP address nor a DNS name.
    #[error("{text:?} is not a valid host:port (bad host name {host:?})")]
    Host {
        /// The whole value.
        text: String,
        /// Its host part.
        host: String,
    },
}

impl Port {
    /// The port `port`; `None` for 0, which is no port.
    pub const fn new(port: u16) -> Option<Port> {
        if port == 0 { None } else { Some(Port(port)) }
    }

    /// A port written in the source, such as a default.
    pub(crate) const fn known(port: u16) -> Port {
        assert!(port != 0, "port 0 is no port");
        Port(port)
    }

    /// The port number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for Port {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u16>()
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| AddrError::Port(s.into()))
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Port {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read wide, so `70000` gets the port message rather than serde's "out of range".
        let n = i64::deserialize(d)?;
        u16::try_from(n)
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| serde::de::Error::custom(AddrError::Port(n.to_string())))
    }
}

/// `host:port`: an IP address (IPv6 in brackets, `[::1]:9090`) or a DNS name, and a [`Port`].
///
/// ```
/// use obs_gen::model::HostPort;
/// let a: HostPort = "host.docker.internal:3000".parse().unwrap();
/// assert_eq!((a.host(), a.port().get()), ("host.docker.internal", 3000));
/// assert_eq!("[::1]:9".parse::<HostPort>().unwrap().to_string(), "[::1]:9");
/// assert!("api:99999".parse::<HostPort>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPort {
    host: String,
    port: Port,
}

impl HostPort {
    /// `host.docker.internal:port`: a port of the docker host, as containers reach it.
    pub fn docker_host(port: Port) -> HostPort {
        HostPort {
            host: "host.docker.internal".into(),
            port,
        }
    }

    /// The host: an IP address (without brackets) or a DNS name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> Port {
        self.port
    }
}

impl FromStr for HostPort {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = match s.strip_prefix('[') {
            Some(rest) => rest.split_once("]:"),
            None => s.rsplit_once(':').filter(|(h, _)| !h.contains(':')),
        }
        .ok_or_else(|| AddrError::Shape(s.into()))?;
        let port = port
            .parse::<Port>()
            .map_err(|_| AddrError::HostPortPort(s.into()))?;
        let host_ok = host.parse::<IpAddr>().is_ok()
            || (!host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                }));
        if !host_ok {
            return Err(AddrError::Host {
                text: s.into(),
                host: host.into(),
            });
        }
        Ok(HostPort {
            host: host.into(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl TryFrom<String> for HostPort {
    type Error = AddrError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<HostPort> for String {
    fn from(a: HostPort) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_shapes() {
        let a: HostPort = "a:1".parse().unwrap();
        assert_eq!((a.host(), a.port().get()), ("a", 1));
        let v6: HostPort = "[::1]:9".parse().unwrap();
        assert_eq!((v6.host(), v6.to_string().as_str()), ("::1", "[::1]:9"));
        for (bad, msg) in [
            ("::1:9", "\"::1:9\" is not a valid host:port"),
            ("nohost", "\"nohost\" is not a valid host:port"),
            (
                "api:0",
                "\"api:0\" is not a valid host:port (port must be 1-65535)",
            ),
            (
                "bad_-.:80",
                "\"bad_-.:80\" is not a valid host:port (bad host name \"bad_-.\")",
            ),
        ] {
            assert_eq!(bad.parse::<HostPort>().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn ports_out_of_range_are_refused_by_serde() {
        for bad in ["0", "70000", "-1"] {
            let err = serde_json::from_str::<Port>(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("{bad} is not a port (must be 1-65535)")),
                "{err}"
            );
        }
        assert_eq!(serde_json::from_str::<Port>("65535").unwrap().get(), 65535);
    }
}
