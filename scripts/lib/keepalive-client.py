"""Sends N `GET /users/42` requests over 4 keep-alive connections, like a load generator's,
without its own noise: the client of the instruction and kernel benchmarks.

    python3 scripts/lib/keepalive-client.py PORT N
"""
import http.client
import sys
import threading

port, total = int(sys.argv[1]), int(sys.argv[2])


def run(n):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(n):
        c.request("GET", "/users/42")
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status


threads = [threading.Thread(target=run, args=(total // 4,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
