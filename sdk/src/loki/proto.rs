//! Loki's push protobuf (`logproto`), the messages the push API reads.

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub(crate) streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: one stream (a label set) and its entries.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StreamAdapter {
    /// Labels in Prometheus text form: `{service="api", env="prod", level="INFO"}`.
    #[prost(string, tag = "1")]
    pub(crate) labels: String,
    #[prost(message, repeated, tag = "2")]
    pub(crate) entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub(crate) hash: u64,
}

/// `logproto.EntryAdapter`: one line.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub(crate) timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    pub(crate) line: String,
    #[prost(message, repeated, tag = "3")]
    pub(crate) structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`: one structured-metadata pair.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Timestamp {
    #[prost(int64, tag = "1")]
    pub(crate) seconds: i64,
    #[prost(int32, tag = "2")]
    pub(crate) nanos: i32,
}
