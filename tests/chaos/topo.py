"""topo.py -- the chaos topology on loopback: one PostgreSQL, three
redis-servers, N agentrecoverd pods, and one faultproxy per (pod slot,
server) pair, so each pod reaches each server through its own proxy.

How: every process is a child started with subprocess.Popen in a scratch
dir and stopped by its pid (never by name); PostgreSQL runs as the
`postgres` user when we are root (initdb refuses root).  A pod slot keeps
its proxies across pod restarts, so a replacement pod sees the same faults.
Ports come from free_port() (bind to port 0, close): on a busy machine
another process may take one before our server binds it (an outgoing
connection's source port is enough), so a server that cannot bind its
first port is started again on a fresh one (PORT_TRIES times) -- never a
server that is restarted on the port the others already know.
A pod's environment is built here (PASS_ENV from the caller, then the
chaos settings, its own admin and read tokens and extra_env), so nothing
the caller exported configures a chaos pod.

Never: kill a process we did not start, or leave one behind (close()).
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PGBIN = "/usr/lib/postgresql/15/bin"
KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
# The pods' admin and read tokens: set here, never taken from the caller's
# environment.
TOKEN = "chaos-admin-token-" + os.urandom(12).hex()
READ_TOKEN = "chaos-read-token-" + os.urandom(12).hex()
ADMIN_VARS = ("ADMIN_TOKEN", "ADMIN_READ_TOKEN", "ADMIN_AUTH")
# What a pod inherits from the caller's environment: nothing that the
# daemon reads as configuration (an exported ADMIN_TOKEN, HTTP_* limit or
# TELEGRAM_BOT_TOKEN must not change a chaos run), only what processes
# need to run.
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ",
            "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
# Trading agents never reach a real exchange from a chaos pod.
DEAD_EXCHANGE = "http://127.0.0.1:9"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
SLOT_LETTERS = "abcdefgh"
PORT_TRIES = 5


def base_env():
    return {k: v for k, v in os.environ.items() if k in PASS_ENV}


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
            return lo if lo > 1024 else 32768
    except (OSError, ValueError, IndexError):
        return 32768


_rng = random.Random(os.getpid() ^ int(time.time()))


def free_port():
    """A free loopback port below the kernel's ephemeral range: a port from
    that range can be taken by an outgoing connection's local end while a
    server that had it is restarted on it (PostgreSQL and Redis restarts
    reuse their port), and the restart then fails to bind."""
    low = _ephemeral_low()
    base = low - 11000 if low > 12000 else 1025
    for _ in range(200):
        p = _rng.randrange(base, low)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, port, path, body=None, timeout=2.0, token=None):
    """(status, parsed JSON or text, headers); status 0 when unreachable.
    token: the bearer token (the admin token when None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + (token or TOKEN))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, code, hdrs = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw, code, hdrs = e.read(), e.code, dict(e.headers)
    except (OSError, ValueError):
        return 0, None, {}
    try:
        return code, json.loads(raw), hdrs
    except ValueError:
        return code, raw.decode("utf-8", "replace"), hdrs


def http_ok(method, port, path, body=None, timeout=10):
    """http() that must answer 2xx: the parsed answer; RuntimeError
    otherwise."""
    code, b, _ = http(method, port, path, body, timeout=timeout)
    if code // 100 != 2:
        raise RuntimeError(f"{method} {path}: HTTP {code} {b}")
    return b


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Pod:
    def __init__(self, slot, name, port, proc, log):
        self.slot, self.name, self.port, self.proc, self.log = slot, name, port, proc, log
        self.dead = False      # killed or exited: its runners are gone
        self.stopped = False   # SIGSTOPped right now

    @property
    def pid(self):
        return self.proc.pid


class Topology:
    def __init__(self, root, settings, nslots=3, nredis=3):
        self.root = root
        self.s = settings
        self.nslots, self.nredis = nslots, nredis
        self.dir = tempfile.mkdtemp(prefix="arec-chaos.", dir="/tmp")
        self.procs = []          # every child, for close()
        self.redis = []          # [(port, Popen or None)]
        self.proxies = {}        # (slot, server) -> (listen, control, Popen)
        self.pods = [None] * nslots
        self.gen = [0] * nslots
        self.all_pods = []
        self.pg_port = None
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        self.daemon = os.path.join(root, "build/agentrecoverd")
        self.proxy_bin = os.path.join(root, "build/tools/faultproxy")
        self.extra_env = {}      # set before start_pod: e.g. the Telegram bot

    # ------------------------------------------------------------ servers
    def start_pg(self):
        if self.as_pg:
            shutil.chown(self.dir, "postgres", "postgres")
        data = os.path.join(self.dir, "pg")
        subprocess.run(self.as_pg + [f"{PGBIN}/initdb", "-D", data, "-U", "postgres",
                                     "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                                     "--no-sync"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for attempt in range(PORT_TRIES):
            self.pg_port = free_port()
            try:
                self.pg_ctl("start")
                break
            except subprocess.CalledProcessError:
                if attempt + 1 == PORT_TRIES:
                    raise
        self.psql("CREATE DATABASE arec", db="postgres")

    def pg_ctl(self, action, extra=()):
        data = os.path.join(self.dir, "pg")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.dir} -c fsync=off " \
               f"-c max_connections=200"
        o = ["-o", opts] if action in ("start", "restart") else []
        subprocess.run(self.as_pg + [f"{PGBIN}/pg_ctl", "-D", data, "-l",
                                     os.path.join(self.dir, "pg.log"), "-w", "-t", "30",
                                     action] + o + list(extra),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pg_pid(self):
        try:
            with open(os.path.join(self.dir, "pg", "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def psql(self, sql, db="arec", timeout=10):
        """Rows as lists of strings ('|'-separated); raises on error."""
        r = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-At", "-F", "|", "-v",
                            "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.pg_port),
                            "-U", "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return [ln.split("|") for ln in r.stdout.splitlines() if ln]

    def start_redis(self, i=None):
        """Starts a new master (i None) or master i again on its port."""
        fresh = i is None
        if fresh:
            self.redis.append((free_port(), None))
            i = len(self.redis) - 1
        for attempt in range(PORT_TRIES if fresh else 1):
            if attempt:
                self.redis[i] = (free_port(), None)
            port = self.redis[i][0]
            p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", self.dir],
                                 stdout=open(os.path.join(self.dir, f"redis{i}.log"), "a"),
                                 stderr=subprocess.STDOUT)
            self.procs.append(p)
            self.redis[i] = (port, p)
            # ours answers: a PONG while our process has exited is someone
            # else's server on that port
            wait_for(lambda: p.poll() is not None or self._ping(port), 5)
            if p.poll() is None and self._ping(port):
                return
        raise RuntimeError(f"redis {i} did not start")

    @staticmethod
    def _ping(port):
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2) as c:
                c.sendall(b"PING\r\n")
                return c.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill_redis(self, i):
        port, p = self.redis[i]
        if p and p.poll() is None:
            p.kill()
            p.wait()
        self.redis[i] = (port, None)

    # ------------------------------------------------------------ proxies
    def server_ports(self):
        """server index -> target port: 0 = PostgreSQL, 1.. = Redis."""
        return [self.pg_port] + [r[0] for r in self.redis]

    def start_proxies(self):
        for slot in range(self.nslots):
            for srv, target in enumerate(self.server_ports()):
                self.proxies[(slot, srv)] = self._start_proxy(target)

    def _start_proxy(self, target):
        """(listen port, control port, Popen) of a running faultproxy; it
        exits when it cannot bind either port: then fresh ports."""
        for _ in range(PORT_TRIES):
            lp, cp = free_port(), free_port()
            p = subprocess.Popen([self.proxy_bin, str(lp), str(target), str(cp)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            wait_for(lambda: p.poll() is not None or self._proxy_answers(cp), 5)
            if p.poll() is None and self._proxy_answers(cp):
                return lp, cp, p
            if p.poll() is None:
                p.kill()
            p.wait()
        raise RuntimeError("faultproxy did not start")

    @staticmethod
    def _proxy_answers(port):
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as c:
                c.settimeout(0.5)
                c.sendall(b"pass\n")
                return c.recv(64).startswith(b"ok")
        except OSError:
            return False

    def fault(self, slot, servers, cmd):
        """Sends cmd ('pass', 'blackhole', 'reset', 'delay N') to the proxies
        between pod slot and each server index (0 = pg, 1.. = redis)."""
        for srv in servers:
            _, cp, _ = self.proxies[(slot, srv)]
            with socket.create_connection(("127.0.0.1", cp), 2) as c:
                c.sendall((cmd + "\n").encode())
                ans = c.recv(64).decode()
                if not ans.startswith("ok"):
                    raise RuntimeError(f"faultproxy: {ans!r}")

    # --------------------------------------------------------------- pods
    def migrate(self):
        env = base_env()
        env["DATABASE_URL"] = self.db_url(self.pg_port)
        subprocess.run([self.daemon, "--migrate-only"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def db_url(port):
        return f"host=127.0.0.1 port={port} dbname=arec user=postgres"

    def start_pod(self, slot, faketime=None):
        """Starts a new pod (new name, new incarnation) in slot; faketime is
        None or (timestamp_file, start_after_seconds)."""
        self.gen[slot] += 1
        name = f"pod-{SLOT_LETTERS[slot]}{self.gen[slot]}"
        s = self.s
        env = base_env()
        env.update({
            "DATABASE_URL": self.db_url(self.proxies[(slot, 0)][0]),
            "DATABASE_CONNECT_TIMEOUT": "10s",
            "REDIS_ADDRS": ",".join(f"127.0.0.1:{self.proxies[(slot, 1 + i)][0]}"
                                    for i in range(len(self.redis))),
            "POD_NAME": name,
            "AGENT_LOCK_TTL": f"{s.ttl_ms}ms",
            "AGENT_RECONCILE_INTERVAL": f"{s.reconcile_ms}ms",
            "AGENT_SAVE_INTERVAL": f"{s.save_ms}ms",
            "AGENT_LOCK_BACKEND": s.backend,
            "AGENT_WORKERS": "4", "SHUTDOWN_TIMEOUT": "8s",
            "AGENT_SECRETS_KEY": KEY, "LOG_LEVEL": "info", "ADMIN_TOKEN": TOKEN,
            "ADMIN_READ_TOKEN": READ_TOKEN, "EXCHANGE_API_BASE": DEAD_EXCHANGE,
        })
        env.update(self.extra_env)
        if s.pod_lease_ttl:
            env["AGENT_POD_LEASE_TTL"] = s.pod_lease_ttl
        if faketime:
            env.update({"LD_PRELOAD": FAKETIME_LIB,
                        "FAKETIME_TIMESTAMP_FILE": faketime[0],
                        "FAKETIME_START_AFTER_SECONDS": str(faketime[1]),
                        "FAKETIME_NO_CACHE": "1",
                        "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        pod = Pod(slot, name, None, None, os.path.join(self.dir, f"{name}.log"))
        pod.env = env
        self._launch(pod)
        self.pods[slot] = pod
        self.all_pods.append(pod)
        return pod

    def _launch(self, pod):
        pod.port = free_port()
        pod.env["HTTP_PORT"] = str(pod.port)
        pod.proc = subprocess.Popen([self.daemon], env=pod.env, stdout=open(pod.log, "a"),
                                    stderr=subprocess.STDOUT)
        self.procs.append(pod.proc)
        pod.started_at = time.monotonic()

    @staticmethod
    def _http_bind_failed(pod):
        try:
            with open(pod.log, errors="replace") as f:
                return "HTTP server failed" in f.read()
        except OSError:
            return False

    def wait_ready(self, pod, timeout=30):
        """Until the pod answers /ready with 200; a pod that exited because
        its HTTP port was taken meanwhile is started again on a fresh one
        (same name, a new incarnation)."""
        for _ in range(PORT_TRIES):
            wait_for(lambda: pod.proc.poll() is not None or
                     http("GET", pod.port, "/ready", timeout=1)[0] == 200, timeout)
            if pod.proc.poll() is None and http("GET", pod.port, "/ready", timeout=1)[0] == 200:
                return
            if pod.proc.poll() is None or not self._http_bind_failed(pod):
                break
            self._launch(pod)
        raise RuntimeError(f"{pod.name} not ready (see {pod.log})")

    def live_pods(self):
        return [p for p in self.pods if p and not p.dead]

    # ------------------------------------------------------------ cleanup
    def close(self, keep=False, keep_data=False):
        """Stops every process; removes the scratch dir, or with keep the
        PostgreSQL data directory only (the logs stay: a failed run's data
        is hundreds of MB), or with keep_data too nothing."""
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                except OSError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.pg_port and self.pg_pid():
            try:
                self.pg_ctl("stop", ["-m", "immediate"])
            except subprocess.CalledProcessError:
                pid = self.pg_pid()
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif not keep_data:
            shutil.rmtree(os.path.join(self.dir, "pg"), ignore_errors=True)
