//! Request IDs: validated on the way in, generated when missing, passed on to outgoing calls.
//!
//! The server side lives in [`HttpLayer`](crate::HttpLayer): it accepts a well-formed incoming
//! `X-Request-ID` ([`catalogue::is_valid_request_id`]) and otherwise makes a new one, so a client
//! can never inject a line break or a forged value into the logs. While a request is handled,
//! [`RequestId::current`] returns its ID; [`PropagateRequestIdLayer`] (tower clients) and, with the
//! `reqwest` feature, [`RequestBuilderExt`] put it on outgoing calls.
//!
//! The parts: [`RequestId`] itself (here) and the client side that passes it on (`propagate`).

mod propagate;

#[cfg(feature = "reqwest")]
pub use propagate::RequestBuilderExt;
pub use propagate::{PropagateRequestId, PropagateRequestIdLayer};

use std::fmt;
use std::future::Future;

use http::{HeaderValue, Request};

use crate::catalogue;

/// [`catalogue::REQUEST_ID_HEADER`] as a ready-made header name: a `&str` name is parsed on
/// every header look-up and insert, which the request path does three times.
pub const REQUEST_ID_HEADER: http::HeaderName =
    http::HeaderName::from_static(catalogue::REQUEST_ID_HEADER);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The request ID of an incoming request: its well-formed `X-Request-ID`, or one `generate`
/// makes. The headers are left holding exactly that ID, so downstream code (and the proxies
/// it calls) sees the ID that is logged, never a malformed one. Every server adapter reads
/// the ID so.
// Inlined into each adapter's call, as the code it replaced was.
#[inline]
pub(crate) fn accept_or_make(
    headers: &mut http::HeaderMap,
    generate: impl FnOnce() -> RequestId,
) -> RequestId {
    use http::header::Entry;
    // One entry look-up reads and writes the header, where `get` then `insert` hashed and
    // probed the map twice.
    match headers.entry(REQUEST_ID_HEADER) {
        Entry::Occupied(mut entry) => match RequestId::from_header(entry.get()) {
            Some(id) => {
                // Repeated headers collapse to the one we log, as `insert` did.
                if entry.iter().nth(1).is_some() {
                    entry.insert(id.header_value().clone());
                }
                id
            }
            None => {
                let id = generate();
                entry.insert(id.header_value().clone());
                id
            }
        },
        Entry::Vacant(entry) => {
            let id = generate();
            entry.insert(id.header_value().clone());
            id
        }
    }
}

/// The ID of one request.
///
/// ```
/// use obs_service::RequestId;
///
/// let fresh = RequestId::generate();
/// assert_eq!(fresh.as_str().len(), 36);
/// assert_eq!(RequestId::parse("abc-123").unwrap().as_str(), "abc-123");
/// assert!(RequestId::parse("no spaces allowed").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A new, time-ordered ID (UUID v7), so IDs sort by arrival (to the millisecond) in log
    /// searches.
    pub fn generate() -> Self {
        Self::generate_at(crate::clock::since_epoch())
    }

    /// [`RequestId::generate`] for a request that arrived `since_epoch` after the Unix epoch:
    /// the HTTP layer reads the clock once for the ID and the access line's timestamp.
    pub(crate) fn generate_at(since_epoch: std::time::Duration) -> Self {
        Self::from_generated(Self::generate_bytes_at(since_epoch))
    }

    /// The text of a fresh ID (see [`RequestId::generate_at`]), reference-counted from the
    /// start: one allocation, however many headers share it.
    pub(crate) fn generate_bytes_at(since_epoch: std::time::Duration) -> bytes::Bytes {
        // `Uuid::now_v7` orders IDs within a millisecond too, through one process-wide mutex: a
        // lock every request of every core would take. Random bits within the millisecond are
        // what RFC 9562 allows, and all a log search needs. They come from fastrand's
        // per-thread generator rather than the `rand` one `Uuid::new_v7` draws from: an ID must
        // be unique, not secret (it is logged and sent back to the caller), and 74 bits from a
        // randomly seeded per-thread stream make a collision within one millisecond as
        // unlikely as with a cryptographic generator, at a third of the cost.
        let millis = since_epoch.as_millis() as u64;
        let random = fastrand::u128(..).to_le_bytes();
        let random: &[u8; 10] = random[..10].try_into().expect("ten of sixteen bytes");
        let uuid = uuid::Builder::from_unix_timestamp_millis(millis, random).into_uuid();
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid.hyphenated().encode_lower(&mut buf);
        // The ID is cloned into the request's headers, extensions and task-local and into the
        // response: a buffer that is reference-counted from the start is one allocation, where
        // a copied one is promoted (allocated again) on its first clone.
        bytes::Bytes::from_owner(buf)
    }

    /// The ID whose text [`RequestId::generate_bytes_at`] made, sharing it.
    pub(crate) fn from_generated(text: bytes::Bytes) -> Self {
        Self(HeaderValue::from_maybe_shared(text).expect("a UUID is a valid header value"))
    }

    /// Accepts `value` if it is a well-formed request ID (see
    /// [`catalogue::is_valid_request_id`]).
    pub fn parse(value: &str) -> Option<Self> {
        catalogue::is_valid_request_id(value)
            .then(|| HeaderValue::from_str(value).ok().map(Self))
            .flatten()
    }

    /// Accepts a header value if it is a well-formed request ID.
    pub fn from_header(value: &HeaderValue) -> Option<Self> {
        let text = value.to_str().ok()?;
        catalogue::is_valid_request_id(text).then(|| Self(value.clone()))
    }

    /// The incoming ID of `request` when well formed, a fresh one otherwise.
    pub fn from_request<B>(request: &Request<B>) -> Self {
        request
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(Self::from_header)
            .unwrap_or_else(Self::generate)
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        // Only validated ASCII is ever stored, so UTF-8 validation (which checks a word at a
        // time) is enough, where `HeaderValue::to_str` checks every byte for visible ASCII.
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// The ID as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The ID as the value of a gRPC answer's `x-request-id`: marked sensitive, which tells the
    /// HTTP/2 encoder (HPACK) never to add it to the connection's header table. A value new on
    /// every call would only churn that table, evicting the headers that do repeat, and cost the
    /// insertion on every answer (about 3 000 instructions a call). HTTP/1 has no such table.
    #[cfg(feature = "grpc")]
    pub(crate) fn answer_header_value(&self) -> HeaderValue {
        let mut value = self.0.clone();
        value.set_sensitive(true);
        value
    }

    /// The ID of the request the current task is handling, if any.
    pub fn current() -> Option<RequestId> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `future` with `self` as the [current](RequestId::current) request ID.
    pub fn scope<F: Future>(
        self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<RequestId, F> {
        CURRENT.scope(self, future)
    }

    /// Runs `f` with `self` as the current request ID: what [`RequestId::scope`] does around
    /// each poll, for a future that scopes its inner poll itself.
    pub(crate) fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_incoming_ids_are_replaced() {
        for bad in [
            &b"has space"[..],
            b"line\nbreak",
            b"\xff\xfe",
            b"quote\"d",
            &[b'a'; 129],
        ] {
            let mut req = Request::new(());
            if let Ok(v) = HeaderValue::from_bytes(bad) {
                req.headers_mut().insert(catalogue::REQUEST_ID_HEADER, v);
            }
            let id = RequestId::from_request(&req);
            assert_ne!(id.as_str().as_bytes(), bad);
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{id}");
        }
    }

    #[cfg(feature = "grpc")]
    #[test]
    fn the_answers_id_is_the_same_value_kept_out_of_hpacks_table() {
        let id = RequestId::parse("edge:1234.abc_DEF-9").unwrap();
        let answer = id.answer_header_value();
        assert_eq!(answer, id.header_value());
        assert!(answer.is_sensitive() && !id.header_value().is_sensitive());
    }

    #[test]
    fn well_formed_incoming_id_is_kept() {
        let req = Request::builder()
            .header(catalogue::REQUEST_ID_HEADER, "edge:1234.abc_DEF-9")
            .body(())
            .unwrap();
        assert_eq!(
            RequestId::from_request(&req).as_str(),
            "edge:1234.abc_DEF-9"
        );
    }

    #[test]
    fn header_name_matches_the_catalogue() {
        assert_eq!(REQUEST_ID_HEADER.as_str(), catalogue::REQUEST_ID_HEADER);
    }

    #[test]
    fn generated_ids_are_unique_and_time_ordered() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert!(a.as_str() < b.as_str() || a.as_str()[..13] == b.as_str()[..13]);
    }

    #[test]
    fn generated_ids_are_uuid_v7_of_now_and_do_not_repeat() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        // Many in the same millisecond, from several threads: only the random bits tell them
        // apart.
        let ids: Vec<RequestId> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..20_000)
                            .map(|_| RequestId::generate())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        let after = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let unique: std::collections::HashSet<&str> = ids.iter().map(RequestId::as_str).collect();
        assert_eq!(unique.len(), ids.len(), "a generated ID repeated");
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id.as_str()).unwrap();
            assert_eq!(uuid.get_version(), Some(uuid::Version::SortRand), "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            let (secs, nanos) = uuid.get_timestamp().unwrap().to_unix();
            let millis = secs * 1000 + u64::from(nanos) / 1_000_000;
            assert!(
                (before..=after).contains(&millis),
                "{id}: {millis} not in {before}..={after}"
            );
            assert_eq!(
                id.as_str(),
                uuid.hyphenated().to_string(),
                "lower-case, hyphenated"
            );
        }
    }
}
