//! The `demo.v1.Users` service of the gRPC examples (`grpc`, `grpc_bare`). Not an example
//! itself: each includes it with `#[path]`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::server::NamedService;
use tonic::{Request, Response, Status};

// The messages are written by hand with prost's derive, and the service with tonic's server
// codec, rather than generated from a `.proto` by tonic-build: generating needs `protoc` at
// build time, which the machines that build this crate do not have. What goes over the wire
// is the same.

/// `demo.v1.GetUserRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct GetUserRequest {
    /// The user's id.
    #[prost(string, tag = "1")]
    pub(crate) id: String,
}

/// `demo.v1.User`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct User {
    /// The user's id.
    #[prost(string, tag = "1")]
    pub(crate) id: String,
    /// The user's display name.
    #[prost(string, tag = "2")]
    pub(crate) name: String,
}

/// The handler of `Get`.
async fn get_user(request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
    let id = request.into_inner().id;
    tracing::info!(user_id = %id, "looking up user");
    match id.as_str() {
        "missing" => Err(Status::not_found("no such user")),
        "boom" => {
            tracing::error!("simulated failure: the user store refused the connection");
            Err(Status::internal("internal error"))
        }
        _ => Ok(Response::new(User {
            name: format!("user-{id}"),
            id,
        })),
    }
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// `Get` as tonic's server codec calls it.
struct Get;

impl tonic::server::UnaryService<GetUserRequest> for Get {
    type Response = User;
    type Future = BoxFuture<Result<Response<User>, Status>>;

    fn call(&mut self, request: Request<GetUserRequest>) -> Self::Future {
        Box::pin(get_user(request))
    }
}

/// The server of `demo.v1.Users`: routes its methods by path, as generated servers do.
#[derive(Clone)]
pub(crate) struct UsersServer;

impl NamedService for UsersServer {
    const NAME: &'static str = "demo.v1.Users";
}

impl<B> tower::Service<http::Request<B>> for UsersServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match request.uri().path() {
            "/demo.v1.Users/Get" => Box::pin(async move {
                let codec = tonic_prost::ProstCodec::<User, GetUserRequest>::default();
                Ok(tonic::server::Grpc::new(codec).unary(Get, request).await)
            }),
            // Any other method of the service: the trailers-only `UNIMPLEMENTED` answer.
            _ => Box::pin(async move { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}
