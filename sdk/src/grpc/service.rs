//! The service of [`GrpcLayer`](super::GrpcLayer): reads what only gRPC knows of a call and
//! begins its exchange.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};

use super::Shared;
use super::body::GrpcBody;
use super::call::Call;
use super::call::CallPath;
use super::future::GrpcFuture;
use crate::RequestId;
use crate::catalogue;
use crate::exchange::{Arrival, Begin, Exchange};
use crate::propagation::{self, CallerTrace};

/// The service [`GrpcLayer`](super::GrpcLayer) wraps around a gRPC service (tonic's router).
#[derive(Clone)]
pub struct GrpcService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for GrpcService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcService").finish_non_exhaustive()
    }
}

impl<S> GrpcService<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for GrpcService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &self.shared.settings;
        let arrival = Arrival::now(settings);
        // Metadata is headers: the ID is read and validated exactly as over HTTP.
        let id = crate::request_id::accept_or_make(request.headers_mut(), || {
            RequestId::generate_at(arrival.since_epoch())
        });
        request.extensions_mut().insert(id.clone());

        let caller = match settings.span && propagation::any() {
            true => propagation::read_caller(request.headers(), settings.otel),
            false => CallerTrace::default(),
        };
        let path = request.uri().path();
        let route = self.shared.methods.known(path);
        // A method not known yet is named by its answer (`_OTHER` when it is not served).
        let unresolved = route
            .is_none()
            .then(|| request.uri().path_and_query().cloned());
        let access = (settings.access_log.is_some()
            && !self.shared.exclude.iter().any(|p| p == path))
        .then(|| CallPath::new(request.uri().path_and_query().cloned()));
        let exchange = Exchange::begin(
            settings,
            arrival,
            Begin {
                id,
                method_slot: 0,
                method: catalogue::RPC_SYSTEM_GRPC,
                route,
                route_pending: false,
                path: access,
            },
            &caller,
        );
        if settings.otel && propagation::any() {
            propagation::continue_trace(exchange.span(), request.headers(), &caller);
        }
        let mut exchange = exchange;
        if settings.span && propagation::any() {
            exchange.trace_exemplar(propagation::sampled_trace_id(exchange.span()));
        }
        let inner = {
            let _entered = exchange.span().enter();
            self.inner.call(request)
        };
        GrpcFuture::new(
            inner,
            Call::new(exchange, unresolved.flatten(), self.shared.clone()),
        )
    }
}
