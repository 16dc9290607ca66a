//! gRPC status codes as the metrics, the access line and the spans name them: read from the
//! `grpc-status` of trailers (or of the headers of a trailers-only answer), or derived from
//! the HTTP status of an answer that is not gRPC at all.

use http::{HeaderMap, HeaderName, StatusCode};

/// The header (or trailer) that carries a gRPC call's status code.
pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// A gRPC status code.
///
/// ```
/// use obs_service::grpc::Code;
///
/// assert_eq!(Code::from_u16(5), Code::NotFound);
/// assert_eq!(Code::NotFound.as_str(), "NOT_FOUND");
/// assert!(Code::Internal.is_server_fault());
/// assert!(!Code::NotFound.is_server_fault());
/// // An answer that is not gRPC: mapped as the gRPC spec's HTTP mapping says.
/// assert_eq!(Code::from_http_status(http::StatusCode::SERVICE_UNAVAILABLE), Code::Unavailable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Code {
    /// Not an error.
    Ok = 0,
    /// The call was cancelled, typically by the caller.
    Cancelled = 1,
    /// An error with no better code (and any code number outside the known ones).
    Unknown = 2,
    /// The caller's argument is invalid.
    InvalidArgument = 3,
    /// The deadline passed before the call completed.
    DeadlineExceeded = 4,
    /// The entity asked for was not found.
    NotFound = 5,
    /// The entity to create already exists.
    AlreadyExists = 6,
    /// The caller may not do this.
    PermissionDenied = 7,
    /// A resource (a quota, the disk) is exhausted.
    ResourceExhausted = 8,
    /// The system is not in the state the call needs.
    FailedPrecondition = 9,
    /// The call was aborted (a concurrency conflict).
    Aborted = 10,
    /// Past the valid range.
    OutOfRange = 11,
    /// The server does not implement the method.
    Unimplemented = 12,
    /// An invariant broke inside the server.
    Internal = 13,
    /// The service is unavailable for now; a retry may succeed.
    Unavailable = 14,
    /// Data was lost or corrupted.
    DataLoss = 15,
    /// The caller did not authenticate.
    Unauthenticated = 16,
}

/// Every code, by number.
const CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

impl Code {
    /// The code of number `code`; numbers outside the known ones are [`Code::Unknown`], as a
    /// gRPC client reads them.
    pub fn from_u16(code: u16) -> Self {
        CODES
            .get(usize::from(code))
            .copied()
            .unwrap_or(Code::Unknown)
    }

    /// The code's number, as `grpc-status` carries it.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The code's name, as `rpc_response_status_code` and the access line say it: `OK`,
    /// `NOT_FOUND`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// Whether the code means the server failed, as the OpenTelemetry RPC conventions classify
    /// a server's codes ([`GRPC_SERVER_FAULT_CODES`](crate::catalogue::GRPC_SERVER_FAULT_CODES)):
    /// such answers carry `error_type` and count against the error ratio and availability.
    pub fn is_server_fault(self) -> bool {
        matches!(
            self,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        )
    }

    /// The code of a `grpc-status` value: its decimal number. A value that is not a number
    /// is [`Code::Unknown`].
    pub fn parse(value: &[u8]) -> Self {
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.trim().parse::<u16>().ok())
            .map_or(Code::Unknown, Code::from_u16)
    }

    /// The `grpc-status` in `headers` (trailers, or the headers of a trailers-only answer),
    /// if there is one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(GRPC_STATUS)
            .map(|value| Self::parse(value.as_bytes()))
    }

    /// The code of an answer whose HTTP status is not `200`, so not a gRPC answer (a proxy
    /// or a plain HTTP server replied), as the gRPC spec maps HTTP statuses.
    pub fn from_http_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }

    /// The code of an answer's head: a non-`200` HTTP status mapped, else the `grpc-status`
    /// of a trailers-only answer; `None` when the status is still to come in the trailers.
    pub fn from_response_head(status: StatusCode, headers: &HeaderMap) -> Option<Self> {
        if status != StatusCode::OK {
            return Some(Self::from_http_status(status));
        }
        Self::from_headers(headers)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for (number, code) in CODES.iter().enumerate() {
            assert_eq!(usize::from(code.as_u16()), number);
            assert_eq!(Code::from_u16(code.as_u16()), *code);
        }
        assert_eq!(Code::from_u16(17), Code::Unknown);
        assert_eq!(Code::from_u16(u16::MAX), Code::Unknown);
    }

    #[test]
    fn the_server_faults_are_the_catalogues() {
        let faults: Vec<&str> = CODES
            .iter()
            .filter(|c| c.is_server_fault())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(faults, crate::catalogue::GRPC_SERVER_FAULT_CODES);
    }

    #[test]
    fn grpc_status_values_parse() {
        assert_eq!(Code::parse(b"0"), Code::Ok);
        assert_eq!(Code::parse(b"13"), Code::Internal);
        assert_eq!(Code::parse(b"99"), Code::Unknown);
        assert_eq!(Code::parse(b"abc"), Code::Unknown);
        assert_eq!(Code::parse(b""), Code::Unknown);
        assert_eq!(Code::parse(b"\xff"), Code::Unknown);
    }

    #[test]
    fn http_statuses_map_as_the_grpc_spec_says() {
        let map = |s: u16| Code::from_http_status(StatusCode::from_u16(s).unwrap());
        assert_eq!(map(400), Code::Internal);
        assert_eq!(map(401), Code::Unauthenticated);
        assert_eq!(map(403), Code::PermissionDenied);
        assert_eq!(map(404), Code::Unimplemented);
        for s in [429, 502, 503, 504] {
            assert_eq!(map(s), Code::Unavailable);
        }
        assert_eq!(map(500), Code::Unknown);
        let mut headers = HeaderMap::new();
        assert_eq!(Code::from_response_head(StatusCode::OK, &headers), None);
        headers.insert(GRPC_STATUS, "5".parse().unwrap());
        assert_eq!(
            Code::from_response_head(StatusCode::OK, &headers),
            Some(Code::NotFound)
        );
        assert_eq!(
            Code::from_response_head(StatusCode::BAD_GATEWAY, &headers),
            Some(Code::Unavailable)
        );
    }
}
