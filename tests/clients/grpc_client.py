"""Drives the SDK's `grpc` example with grpcio, a gRPC client nobody in this project wrote.

    python3 grpc_client.py HOST:PORT ROUNDS

Each round calls /demo.v1.Users/Get with ids that answer OK, NOT_FOUND and INTERNAL, a method
the server does not serve (UNIMPLEMENTED), and the standard health service (Check, overall and
for demo.v1.Users). ROUNDS 0 runs until killed. Prints one JSON line per round: the code name
of every call, and the x-request-id the server returned for each Get.
"""

import json
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def get_user_request(user_id):
    """`GetUserRequest { string id = 1; }`, encoded by hand: field 1, wire type 2."""
    data = user_id.encode()
    return bytes([0x0A, len(data)]) + data


def main():
    target, rounds = sys.argv[1], int(sys.argv[2])
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    get = channel.unary_unary("/demo.v1.Users/Get")
    nope = channel.unary_unary("/demo.v1.Users/Nope")
    health = health_pb2_grpc.HealthStub(channel)
    n = 0
    while rounds == 0 or n < rounds:
        n += 1
        codes, ids = {}, {}
        for user_id in ["1", "missing", "boom"]:
            try:
                _, call = get.with_call(get_user_request(user_id), timeout=5)
                codes[user_id] = "OK"
                metadata = call.initial_metadata()
            except grpc.RpcError as e:
                codes[user_id] = e.code().name
                metadata = e.initial_metadata() + e.trailing_metadata()
            ids[user_id] = dict(metadata).get("x-request-id")
        try:
            nope(b"", timeout=5)
            codes["nope"] = "OK"
        except grpc.RpcError as e:
            codes["nope"] = e.code().name
        for service in ["", "demo.v1.Users"]:
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            codes["health:" + service] = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        print(json.dumps({"codes": codes, "request_ids": ids}), flush=True)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
