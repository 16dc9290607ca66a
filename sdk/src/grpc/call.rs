//! One gRPC call in flight, from the layer's service through its response future to the end
//! of its response body, where it is recorded.

use std::sync::Arc;

use http::uri::PathAndQuery;

use super::{Code, Shared};
use crate::exchange::{AccessPath, Exchange};

/// What the access line shows of a call: its path, `/package.Service/Method`.
pub(crate) struct CallPath(Option<PathAndQuery>);

impl CallPath {
    pub(super) fn new(path: Option<PathAndQuery>) -> Self {
        Self(path)
    }
}

impl AccessPath for CallPath {
    fn path(&self) -> &str {
        self.0.as_ref().map_or("", PathAndQuery::path)
    }
}

/// One call from its beginning to its status: recorded when dropped, with the status it
/// learnt, or `CANCELLED` when it ends before one (the client abandoned it).
pub(super) struct Call {
    exchange: Option<Box<Exchange<CallPath>>>,
    /// The status, once the answer's head or trailers said it.
    code: Option<Code>,
    /// The path of a method not known when the call began, named by the answer.
    unresolved: Option<PathAndQuery>,
    shared: Arc<Shared>,
}

impl Call {
    pub(super) fn new(
        exchange: Box<Exchange<CallPath>>,
        unresolved: Option<PathAndQuery>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            exchange: Some(exchange),
            code: None,
            unresolved,
            shared,
        }
    }

    pub(super) fn exchange(&self) -> &Exchange<CallPath> {
        self.exchange.as_ref().expect("only dropping empties it")
    }

    /// The call's status is `code`.
    pub(super) fn set_code(&mut self, code: Code) {
        self.code = Some(code);
    }

    /// Whether the call's status is known.
    pub(super) fn has_code(&self) -> bool {
        self.code.is_some()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let Some(exchange) = self.exchange.take() else {
            return;
        };
        let code = self.code.unwrap_or(Code::Cancelled);
        let route = self
            .unresolved
            .as_ref()
            .map(|path| self.shared.methods.resolve(path.path(), code));
        // Dropping the completion records the call.
        drop(exchange.respond(code.as_u16(), route));
    }
}
