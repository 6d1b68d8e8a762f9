#!/usr/bin/env python3
"""loadgen.py -- the load processes of the chaos flood scenario, each run
as its own process (its own interpreter, so neither measures the other's
work):

  loadgen.py flood PORT --src 127.0.0.2 --idle 5000 --slow 1000 --seconds S
      opens IDLE idle connections and SLOW clients that send a request
      head announcing a 100,000-byte body and then one byte per second,
      from SRC to 127.0.0.1:PORT and holds them for S seconds; a
      connection the server held for a second or more and then closed
      (its idle or body deadline) is dialled again, once a second, so the
      server's slots for SRC stay taken; one it refused at once (the
      per-address limit) is not -- that would be a connection storm, not
      a flood of held connections; prints
      "ready <opened> <failed>" once the first round is open, and a JSON
      line of counters at the end.
  loadgen.py probe PORT --rate 10 --seconds S
      GET /healthz and GET /ready from 127.0.0.1, RATE times a second
      each, a new connection per probe (as a kubelet does); prints one
      JSON line: [[t, path, ms or null, status], ...].

How (flood): the process raises its open-file limit to the hard limit;
every connection binds its source port below the kernel's ephemeral range
(20000-32767), so that while it is open it cannot take a port another
test picks through bind(port 0), and closes with SO_LINGER 0 (a reset), so
that it leaves no TIME_WAIT behind.  One epoll set watches every
connection for the server's close.

Never: connect anywhere but the one port it was given, or outlive its
--seconds (plus the time to close).
"""
import argparse
import errno
import json
import resource
import select
import signal
import socket
import struct
import sys
import time

PORT_LO, PORT_HI = 20000, 32767
SLOW_HEAD = (b"POST /api/agents HTTP/1.1\r\nHost: flood\r\n"
             b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
LINGER0 = struct.pack("ii", 1, 0)


class Flood:
    def __init__(self, a):
        self.a = a
        self.ep = select.epoll()
        self.conns = {}          # fd -> (socket, kind, source port, opened at)
        self.used = set()        # source ports in use
        self.next_port = PORT_LO
        self.st = {"opened": 0, "connect_failed": 0, "refused": 0, "closed_after_held": 0,
                   "answered": 0, "trickled_bytes": 0, "alive_min": None, "alive_max": 0}

    def port(self):
        for _ in range(PORT_HI - PORT_LO + 1):
            p = self.next_port
            self.next_port = PORT_LO if p >= PORT_HI else p + 1
            if p not in self.used:
                return p
        return None

    def dial(self, kind):
        for _ in range(64):
            p = self.port()
            if p is None:
                return False
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            try:
                s.bind((self.a.src, p))
            except OSError as e:
                s.close()
                if e.errno == errno.EADDRINUSE:
                    continue  # someone else's port: the next one
                raise
            s.settimeout(2.0)
            try:
                s.connect(("127.0.0.1", self.a.port))
            except OSError:
                s.close()
                self.st["connect_failed"] += 1
                return False
            self.st["opened"] += 1
            if kind == "slow":
                try:
                    s.sendall(SLOW_HEAD)
                except OSError:  # the server closed it at once (limit)
                    s.close()
                    self.st["refused"] += 1
                    return True
            s.setblocking(False)
            self.used.add(p)
            self.conns[s.fileno()] = (s, kind, p, time.monotonic())
            self.ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            return True
        return False

    def drop(self, fd, missing=None):
        """Closes fd; a connection the server closed after holding it for
        a second goes on `missing` (dialled again)."""
        s, kind, p, opened = self.conns.pop(fd)
        try:
            self.ep.unregister(fd)
        except OSError:
            pass
        s.close()  # SO_LINGER 0: a reset, no TIME_WAIT
        self.used.discard(p)
        if missing is not None:
            if time.monotonic() - opened >= 1.0:
                self.st["closed_after_held"] += 1
                missing.append(kind)
            else:
                self.st["refused"] += 1

    def watch(self, timeout, missing):
        for fd, ev in self.ep.poll(timeout):
            if fd not in self.conns:
                continue
            s = self.conns[fd][0]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                self.st["answered"] += 1  # a 408/413/503 before the close
                if not (ev & (select.EPOLLRDHUP | select.EPOLLHUP)):
                    continue
            self.drop(fd, missing)

    def run(self):
        a = self.a
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        missing = []
        # interleaved, so that what the server keeps of SRC (its
        # per-address limit) holds both kinds in proportion
        total = a.idle + a.slow
        for i in range(total):
            kind = "slow" if (i + 1) * a.slow // total > i * a.slow // total else "idle"
            if not self.dial(kind):
                missing.append(kind)
        print(f"ready {self.st['opened']} {self.st['connect_failed']}", flush=True)
        end = time.monotonic() + a.seconds
        tick = time.monotonic()
        while not stop and time.monotonic() < end:
            self.watch(0.1, missing)
            now = time.monotonic()
            if now - tick < 1.0:
                continue
            tick = now
            alive = len(self.conns)
            self.st["alive_max"] = max(self.st["alive_max"], alive)
            lo = self.st["alive_min"]
            self.st["alive_min"] = alive if lo is None else min(lo, alive)
            for fd, (s, kind, _, _) in list(self.conns.items()):
                if kind == "slow":
                    try:
                        s.send(b" ")
                        self.st["trickled_bytes"] += 1
                    except OSError:
                        self.drop(fd, missing)
            again, missing = missing, []
            for kind in again:
                if not self.dial(kind):
                    missing.append(kind)
        for fd in list(self.conns):
            self.drop(fd)
        self.st["redials"] = self.st["opened"] - a.idle - a.slow
        print(json.dumps(self.st), flush=True)


def probe_once(port, path, timeout):
    t = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None, 0
    ms = (time.monotonic() - t) * 1000.0
    try:
        status = int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return ms, status


def probe(a):
    out = []
    t0 = time.monotonic()
    step = 1.0 / (2 * a.rate)
    i = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop and time.monotonic() - t0 < a.seconds:
        due = t0 + i * step
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        path = "/healthz" if i % 2 == 0 else "/ready"
        ms, status = probe_once(a.port, path, a.timeout)
        out.append([round(time.monotonic() - t0, 3), path,
                    None if ms is None else round(ms, 2), status])
        i += 1
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("port", type=int)
    f.add_argument("--src", default="127.0.0.2")
    f.add_argument("--idle", type=int, default=5000)
    f.add_argument("--slow", type=int, default=1000)
    f.add_argument("--seconds", type=float, default=30)
    p = sub.add_parser("probe")
    p.add_argument("port", type=int)
    p.add_argument("--rate", type=float, default=10)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--timeout", type=float, default=2.0)
    a = ap.parse_args()
    if a.cmd == "flood":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < a.idle + a.slow + 100:
            print(f"open-file hard limit {hard} is too low for the flood", file=sys.stderr)
            return 2
        Flood(a).run()
    else:
        probe(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
