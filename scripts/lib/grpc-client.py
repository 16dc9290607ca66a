"""Sends N unary calls to /demo.v1.Users/Get (id "1", answered OK) over one gRPC channel, one
after the other: the client of scripts/bench-callgrind-grpc.sh.

    python3 scripts/lib/grpc-client.py PORT N
"""

import sys

import grpc

port, n = sys.argv[1], int(sys.argv[2])
channel = grpc.insecure_channel(f"127.0.0.1:{port}")
grpc.channel_ready_future(channel).result(timeout=60)
get = channel.unary_unary("/demo.v1.Users/Get")
request = bytes([0x0A, 1]) + b"1"
for _ in range(n):
    get(request, timeout=60)
