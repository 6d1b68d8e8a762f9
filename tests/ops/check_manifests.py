#!/usr/bin/env python3
# check_manifests.py -- the static check of the deployment kit, run by
# host/scripts/check_manifests.sh (make test-host-manifests).
#
# What: every YAML file under examples/kubernetes parses; the kustomizations
# (base/ and the hpa/ overlay) reference files that exist and build, here in
# Python (a small kustomize: resources, namespace, JSON 6902 patches) and,
# where kubectl is installed, the same as `kubectl kustomize`; the built
# objects carry what the README advises: restricted Pod Security on every
# pod spec (Deployment, Job, Redis StatefulSet), three independent Redis
# masters with appendonly/appendfsync always that REDIS_ADDRS names, pod
# leases, topology spread, probes, Telegram and trading settings from the
# Secret and the ConfigMap, scraping (PodMonitor and prometheus.io/*
# annotations), the PrometheusRule equal to the plain rules file, the HPA
# and its adapter rules, no `replicas` in the hpa overlay's Deployment; the
# Dockerfile always builds from source and .dockerignore keeps build
# output and VCS data out of the context; both READMEs name every manifest.
# How: PyYAML only; each requirement is one need(cond, what) line.
# Never: talk to a cluster, run docker, or change a file.
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
K8S = "examples/kubernetes"
errors = []


def need(cond, what):
    if not cond:
        errors.append(what)
    return bool(cond)


def load_all(path):
    with open(os.path.join(ROOT, path)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


# ------------------------------------------------------------ kustomize
def apply_op(doc, op):
    """One JSON 6902 operation (remove, add, replace) on doc, in place."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    last = int(parts[-1]) if isinstance(cur, list) else parts[-1]
    if op["op"] == "remove":
        del cur[last]
    elif op["op"] == "add" and isinstance(cur, list):
        cur.insert(last, op["value"])
    elif op["op"] in ("add", "replace"):
        if op["op"] == "replace":
            cur[last]  # must exist
        cur[last] = op["value"]
    else:
        raise ValueError("unsupported patch op %r" % op["op"])


def matches(target, d):
    api = d.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    for key, have in (("kind", d.get("kind")), ("name", d.get("metadata", {}).get("name")),
                      ("group", group), ("version", version)):
        if key in target and target[key] != have:
            return False
    return True


def kustomize(directory, seen=()):
    """The objects `kubectl kustomize directory` makes, for the features
    these examples use; anything else is reported, never guessed."""
    kpath = os.path.join(directory, "kustomization.yaml")
    if not need(os.path.isfile(os.path.join(ROOT, kpath)), "%s: no kustomization.yaml" % directory):
        return []
    if directory in seen:
        errors.append("%s: kustomization cycle" % directory)
        return []
    k = load_all(kpath)[0]
    known = {"apiVersion", "kind", "namespace", "resources", "patches"}
    need(not set(k) - known, "%s: kustomization fields this check does not model: %s"
         % (kpath, sorted(set(k) - known)))
    out = []
    for r in k.get("resources") or []:
        p = os.path.normpath(os.path.join(directory, r))
        full = os.path.join(ROOT, p)
        if os.path.isdir(full):
            out += kustomize(p, seen + (directory,))
        elif need(os.path.isfile(full), "%s: resource %s does not exist" % (kpath, r)):
            out += load_all(p)
    for patch in k.get("patches") or []:
        ops = yaml.safe_load(patch.get("patch", "")) if "patch" in patch else None
        if not need(isinstance(ops, list) and "target" in patch,
                    "%s: only inline JSON 6902 patches with a target are modelled" % kpath):
            continue
        hit = [d for d in out if matches(patch["target"], d)]
        need(hit, "%s: patch target %s matches nothing" % (kpath, patch["target"]))
        for d in hit:
            for op in ops:
                try:
                    apply_op(d, op)
                except (KeyError, IndexError, ValueError) as e:
                    errors.append("%s: patch %s fails on %s: %s" % (kpath, op, d["kind"], e))
    if k.get("namespace"):
        for d in out:
            if d.get("kind") != "Namespace":
                d.setdefault("metadata", {})["namespace"] = k["namespace"]
    return out


def kubectl_kustomize(directory):
    """(kind, name) -> object from kubectl kustomize, or None without kubectl."""
    if not shutil.which("kubectl"):
        return None
    r = subprocess.run(["kubectl", "kustomize", os.path.join(ROOT, directory)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        errors.append("kubectl kustomize %s failed: %s" % (directory, r.stderr.strip()[:300]))
        return {}
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(r.stdout) if d}


def by_kind(objs):
    out = {}
    for d in objs:
        out.setdefault(d["kind"], []).append(d)
    return out


def one(objs, kind, name=None, where=""):
    c = [d for d in objs.get(kind, []) if name is None or d["metadata"]["name"] == name]
    need(len(c) == 1, "%s: expected one %s%s, found %d" % (where, kind, " " + name if name else "", len(c)))
    return c[0] if c else {}


# ------------------------------------------------------------------ pods
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret", "name"}


def check_restricted(kind, name, pod):
    """The restricted Pod Security Standard, plus a read-only root."""
    w = "%s %s" % (kind, name)
    psc = pod.get("securityContext") or {}
    for f in ("hostNetwork", "hostPID", "hostIPC"):
        need(not pod.get(f), "%s: %s" % (w, f))
    for v in pod.get("volumes") or []:
        need(set(v) <= RESTRICTED_VOLUMES, "%s: volume %s of a type restricted PSS forbids" % (w, v.get("name")))
    containers = (pod.get("containers") or []) + (pod.get("initContainers") or [])
    need(containers, "%s: no containers" % w)
    for c in containers:
        cw = "%s container %s" % (w, c.get("name"))
        sc = c.get("securityContext") or {}
        need(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "%s: runAsNonRoot" % cw)
        need(sc.get("runAsUser", psc.get("runAsUser")) not in (0, "0"), "%s: runAsUser 0" % cw)
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        need(seccomp in ("RuntimeDefault", "Localhost"), "%s: seccompProfile RuntimeDefault" % cw)
        need(sc.get("allowPrivilegeEscalation") is False, "%s: allowPrivilegeEscalation: false" % cw)
        need(not sc.get("privileged"), "%s: privileged" % cw)
        caps = sc.get("capabilities") or {}
        need("ALL" in (caps.get("drop") or []), "%s: capabilities.drop [ALL]" % cw)
        need(set(caps.get("add") or []) <= {"NET_BIND_SERVICE"}, "%s: capabilities.add" % cw)
        need(sc.get("readOnlyRootFilesystem") is True, "%s: readOnlyRootFilesystem" % cw)
        need("requests" in (c.get("resources") or {}) and "limits" in (c.get("resources") or {}),
             "%s: resources requests and limits" % cw)


def env_of(container):
    return {e["name"]: e for e in container.get("env") or []}


def ref(env, name, kind):
    """The {name, key} of a secretKeyRef / configMapKeyRef, or {}."""
    return (env.get(name, {}).get("valueFrom") or {}).get(kind) or {}


# ------------------------------------------------------------------ main
def main():
    # every YAML under examples/kubernetes parses
    files = sorted(glob.glob(os.path.join(ROOT, K8S, "**", "*.y*ml"), recursive=True))
    need(files, "no YAML under %s" % K8S)
    for f in files:
        try:
            load_all(os.path.relpath(f, ROOT))
        except yaml.YAMLError as e:
            errors.append("%s does not parse: %s" % (os.path.relpath(f, ROOT), e))
    if errors:
        return report(files)

    base = kustomize(K8S + "/base")
    hpa = kustomize(K8S + "/hpa")
    kb, kh = by_kind(base), by_kind(hpa)
    listed = {os.path.normpath(os.path.join(K8S, d, r))
              for d in ("base", "hpa") for r in load_all("%s/%s/kustomization.yaml" % (K8S, d))[0].get("resources", [])}
    for f in files:
        rel = os.path.relpath(f, ROOT)
        if not rel.endswith("kustomization.yaml") and not rel.endswith(".example.yaml"):
            need(rel in listed, "%s is in no kustomization" % rel)

    # kubectl kustomize, where installed, builds the same objects
    for d, objs in (("base", base), ("hpa", hpa)):
        real = kubectl_kustomize("%s/%s" % (K8S, d))
        if real is None:
            continue
        mine = {(o["kind"], o["metadata"]["name"]): o for o in objs}
        need(set(real) == set(mine), "kubectl kustomize %s: objects %s, this check: %s"
             % (d, sorted(real), sorted(mine)))
        for key in set(real) & set(mine):
            need(real[key] == mine[key], "kubectl kustomize %s: %s %s differs from this check's build" % (d, *key))

    dep = one(kb, "Deployment", "agentrecover", "base")
    spec = dep.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    c = (pod.get("containers") or [{}])[0]
    env = env_of(c)
    labels = spec.get("selector", {}).get("matchLabels")
    need(spec.get("replicas") == 3, "base Deployment: replicas 3")
    hdep = one(kh, "Deployment", "agentrecover", "hpa overlay")
    need("replicas" not in hdep.get("spec", {}), "hpa overlay: the Deployment still sets replicas")
    need(hdep.get("spec", {}).get("template") == spec.get("template"),
         "hpa overlay: the pod template differs from the base")

    # pods: restricted PSS everywhere
    for kind in ("Deployment", "Job", "StatefulSet"):
        need(kind in kb, "base: no %s" % kind)
        for d in kb.get(kind, []):
            check_restricted(kind, d["metadata"]["name"], d["spec"]["template"]["spec"])
    ns = one(kb, "Namespace", None, "base")
    need(ns.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
         "Namespace: enforces the restricted Pod Security Standard")

    # the daemon's pod
    need(pod.get("terminationGracePeriodSeconds") == 30, "Deployment: terminationGracePeriodSeconds 30")
    lp, rp = c.get("livenessProbe", {}), c.get("readinessProbe", {})
    need(lp.get("httpGet", {}).get("path") == "/healthz", "liveness /healthz")
    need(lp.get("initialDelaySeconds") == 30 and lp.get("periodSeconds") == 10, "liveness 30 s / 10 s")
    need(rp.get("httpGet", {}).get("path") == "/ready", "readiness /ready")
    need(rp.get("initialDelaySeconds") == 5 and rp.get("periodSeconds") == 5, "readiness 5 s / 5 s")
    need(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
         "POD_NAME from the downward API")
    port = next((p.get("containerPort") for p in c.get("ports", []) if p.get("name") == "http"), None)
    need(port == 8080 and env.get("HTTP_PORT", {}).get("value") == "8080", "HTTP_PORT 8080 on port http")
    need(env.get("HTTP_ADDR", {}).get("value") == "0.0.0.0", "HTTP_ADDR=0.0.0.0")
    need(env.get("AGENT_POD_LEASE_TTL", {}).get("value") == "5s", "pod leases on: AGENT_POD_LEASE_TTL=5s")
    need("REDIS_HOST" not in env and "REDIS_PORT" not in env, "REDIS_HOST/REDIS_PORT beside REDIS_ADDRS")
    secret = load_all(K8S + "/secret.example.yaml")[0]
    skeys = set(secret.get("stringData", {}) or {}) | set(secret.get("data", {}) or {})
    for s in ("DATABASE_URL", "REDIS_PASSWORD", "ADMIN_TOKEN", "ADMIN_READ_TOKEN", "AGENT_SECRETS_KEY",
              "TELEGRAM_BOT_TOKEN"):
        r = ref(env, s, "secretKeyRef")
        need(r.get("name") == secret["metadata"]["name"] and r.get("key") in skeys,
             "%s from a key of the Secret %s" % (s, secret["metadata"]["name"]))
    cms = {d["metadata"]["name"]: d for d in kb.get("ConfigMap", [])}
    for s in ("TELEGRAM_ALLOWED_USERS", "TRADING_MODE", "EXCHANGE_ALLOW_MAINNET", "TRADING_STEP_INTERVAL"):
        r = ref(env, s, "configMapKeyRef")
        need(r.get("key") in (cms.get(r.get("name"), {}).get("data") or {}),
             "%s from a key of a ConfigMap in the base" % s)
    cm = cms.get(ref(env, "TRADING_MODE", "configMapKeyRef").get("name"), {}).get("data", {})
    need(cm.get("TRADING_MODE") == "paper" and cm.get("EXCHANGE_ALLOW_MAINNET") == "false",
         "ConfigMap: paper trading, no mainnet by default")
    for e in env.values():
        r = (e.get("valueFrom") or {}).get("secretKeyRef")
        if r:
            need(r.get("name") == secret["metadata"]["name"] and r.get("key") in skeys,
                 "%s: Secret key %s not in secret.example.yaml" % (e["name"], r.get("key")))

    # topology spread: hostname (hard, maxSkew 1) and zone (soft)
    tsc = {t.get("topologyKey"): t for t in pod.get("topologySpreadConstraints") or []}
    h, z = tsc.get("kubernetes.io/hostname", {}), tsc.get("topology.kubernetes.io/zone", {})
    need(h.get("maxSkew") == 1 and h.get("whenUnsatisfiable") == "DoNotSchedule"
         and h.get("labelSelector", {}).get("matchLabels") == labels,
         "topologySpreadConstraints: kubernetes.io/hostname, maxSkew 1, over the pods")
    need(z.get("whenUnsatisfiable") == "ScheduleAnyway" and z.get("labelSelector", {}).get("matchLabels") == labels,
         "topologySpreadConstraints: a soft topology.kubernetes.io/zone spread")

    # Redis: three independent persistent masters that REDIS_ADDRS names
    addrs = [a.strip() for a in env.get("REDIS_ADDRS", {}).get("value", "").split(",") if a.strip()]
    need(len(addrs) == 3 and len(set(addrs)) == 3, "REDIS_ADDRS: three distinct host:port, got %s" % addrs)
    sts = one(kb, "StatefulSet", "redis", "base")
    ss = sts.get("spec", {})
    svc = next((s for s in kb.get("Service", []) if s["metadata"]["name"] == ss.get("serviceName")), {})
    need(svc.get("spec", {}).get("clusterIP") == "None", "Redis: a headless Service named by serviceName")
    need(svc.get("spec", {}).get("selector") == ss.get("selector", {}).get("matchLabels"),
         "Redis: the headless Service selects the StatefulSet's pods")
    need(ss.get("replicas") == 3, "Redis StatefulSet: 3 replicas")
    svc_ports = {p.get("port") for p in svc.get("spec", {}).get("ports", [])}
    provided = {"%s-%d.%s:%d" % (sts["metadata"]["name"], i, svc["metadata"]["name"], p)
                for i in range(ss.get("replicas") or 0) for p in svc_ports} if svc else set()
    for a in addrs:
        need(a in provided, "REDIS_ADDRS host %s is not one of the Redis pods %s" % (a, sorted(provided)))
    rc = (ss.get("template", {}).get("spec", {}).get("containers") or [{}])[0]
    cmd = " ".join(rc.get("command", []) + rc.get("args", []))
    need(re.search(r"--appendonly\s+yes\b", cmd) and re.search(r"--appendfsync\s+always\b", cmd),
         "Redis: redis-server --appendonly yes --appendfsync always")
    need(not re.search(r"replicaof|slaveof", cmd, re.I), "Redis: the masters must not replicate each other")
    mounts = {m.get("mountPath"): m.get("name") for m in rc.get("volumeMounts", [])}
    need("--dir /data" in cmd and mounts.get("/data") in
         [v["metadata"]["name"] for v in ss.get("volumeClaimTemplates", [])],
         "Redis: the append-only file on a volume of a volumeClaimTemplate")
    need(ref(env_of(rc), "REDIS_PASSWORD", "secretKeyRef").get("key") == "REDIS_PASSWORD",
         "Redis: requirepass from the Secret's REDIS_PASSWORD")

    # scraping
    ann = spec.get("template", {}).get("metadata", {}).get("annotations", {})
    need(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
         and ann.get("prometheus.io/path") == "/metrics", "prometheus.io/scrape|port|path annotations")
    pm = one(kb, "PodMonitor", None, "base")
    pms = pm.get("spec", {})
    need(pms.get("selector", {}).get("matchLabels") == labels, "PodMonitor selects the pods")
    eps = pms.get("podMetricsEndpoints") or [{}]
    need(eps[0].get("port") == "http" and eps[0].get("path") == "/metrics", "PodMonitor scrapes http /metrics")
    need(any(r.get("sourceLabels") == ["__meta_kubernetes_pod_name"] and r.get("targetLabel") == "pod"
             for r in eps[0].get("relabelings", [])), "PodMonitor relabels __meta_kubernetes_pod_name to pod")

    # alerting rules: the PrometheusRule carries the plain file's groups
    pr = one(kb, "PrometheusRule", None, "base")
    plain = load_all("examples/prometheus/agentrecover-rules.yml")[0]
    need(pr.get("apiVersion") == "monitoring.coreos.com/v1", "PrometheusRule: monitoring.coreos.com/v1")
    need(pr.get("spec", {}).get("groups") == plain.get("groups"),
         "PrometheusRule groups differ from examples/prometheus/agentrecover-rules.yml "
         "(python3 tests/ops/gen_prometheus_rule.py --write)")

    # service, PDB, migration Job
    s = one(kb, "Service", "agentrecover", "base")
    need(s.get("spec", {}).get("selector") == labels, "Service selects the pods")
    pdb = one(kb, "PodDisruptionBudget", None, "base")
    need(pdb.get("spec", {}).get("selector", {}).get("matchLabels") == labels, "PDB selects the pods")
    job = one(kb, "Job", None, "base").get("spec", {})
    jc = (job.get("template", {}).get("spec", {}).get("containers") or [{}])[0]
    need("--migrate-only" in jc.get("args", []), "Job runs --migrate-only")
    need(isinstance(job.get("ttlSecondsAfterFinished"), int), "Job: ttlSecondsAfterFinished")
    need(jc.get("image") == c.get("image"), "Job and Deployment run the same image")

    # auto-scaling (hpa overlay): HPA + the Prometheus adapter rules
    hpa_o = one(kh, "HorizontalPodAutoscaler", None, "hpa overlay")
    need("HorizontalPodAutoscaler" not in kb, "base: no HPA (it lives in the hpa overlay)")
    hs = hpa_o.get("spec", {})
    tref = hs.get("scaleTargetRef", {})
    need(hpa_o.get("apiVersion") == "autoscaling/v2", "HPA: autoscaling/v2")
    need(tref.get("kind") == "Deployment" and tref.get("name") == dep["metadata"]["name"], "HPA scales the Deployment")
    need(0 < hs.get("minReplicas", 0) <= hs.get("maxReplicas", 0), "HPA: min <= max replicas")
    ext = [m.get("external", {}) for m in hs.get("metrics", []) if m.get("type") == "External"]
    ext_names = [e.get("metric", {}).get("name") for e in ext]
    need(any(e.get("target", {}).get("type") == "AverageValue" for e in ext),
         "HPA: an External metric with an AverageValue target (agents per pod)")
    adapter = one(kh, "ConfigMap", "agentrecover-prometheus-adapter", "hpa overlay")
    try:
        rules = yaml.safe_load(adapter.get("data", {}).get("config.yaml", "")) or {}
    except yaml.YAMLError as e:
        rules = {}
        errors.append("adapter config.yaml does not parse: %s" % e)
    served = [r.get("name", {}).get("as") for r in rules.get("externalRules", [])]
    need(ext_names and all(n in served for n in ext_names),
         "HPA metric %s served by the adapter's externalRules %s" % (ext_names, served))
    series = " ".join(r.get("seriesQuery", "") for r in rules.get("externalRules", []) + rules.get("rules", []))
    for m in ("agents_wanted", "agents_running"):
        need(m in series, "adapter rules read %s" % m)
        lib_src = "".join(open(os.path.join(ROOT, "lib/core", f)).read()
                          for f in sorted(os.listdir(os.path.join(ROOT, "lib/core"))) if f.endswith(".c"))
        need('"%s"' % m in lib_src, "the library exports %s" % m)

    check_docker()
    # the walkthroughs name every manifest
    names = {os.path.basename(f) for f in files}
    for doc in ("README.md", "examples/docker/README.md"):
        text = open(os.path.join(ROOT, doc)).read()
        for n in sorted(names - {"kustomization.yaml"}):
            need(n in text, "%s does not mention %s" % (doc, n))
        need("apply -k" in text or "kustomize" in text, "%s: the kustomize overlays" % doc)
    return report(files, sorted(set(kb) | set(kh)))


def check_docker():
    df = open(os.path.join(ROOT, "examples/docker/Dockerfile")).read()
    lines = re.sub(r"\\\n", " ", df).splitlines()
    need(df.count("FROM debian:12") >= 2, "Dockerfile: two Debian 12 stages")
    need(re.search(r"^USER 10001", df, re.M), "Dockerfile: non-root USER 10001")
    stage = []
    for ln in lines:
        if ln.startswith("FROM "):
            stage.append([])
        if stage and ln.startswith("RUN "):
            stage[-1].append(ln)
    build_runs = " ; ".join(stage[0]) if stage else ""
    m_make = re.search(r"\bmake\b[^;&|]*\bbuild/agentrecoverd\b", build_runs)
    m_clean = re.search(r"\bmake\s+clean\b|\brm\s+-rf\s+(?:\./)?build/?\b", build_runs)
    need(m_make and m_clean and m_clean.start() < m_make.start(),
         "Dockerfile: the build stage removes build/ (make clean) before make build/agentrecoverd")
    need(re.search(r"COPY --from=build /src/build/agentrecoverd", df), "Dockerfile: copies the binary it built")
    try:
        ignore = [ln.strip() for ln in open(os.path.join(ROOT, ".dockerignore")) if ln.strip() and not ln.startswith("#")]
    except OSError:
        ignore = []
        errors.append("no .dockerignore at the repository root")
    # what the context keeps, by Docker's rules: a pattern matches a path or
    # one of its parent directories, ** any number of directories, the last
    # matching line wins and "!" re-includes
    def rx(p):
        out, i = "", 0
        while i < len(p):
            if p.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif p.startswith("**", i):
                out, i = out + ".*", i + 2
            else:
                out += {"*": "[^/]*", "?": "[^/]"}.get(p[i], re.escape(p[i]))
                i += 1
        return re.compile(out + "(?:/.*)?$")
    rules = [(p.startswith("!"), rx(os.path.normpath(p.lstrip("!").strip("/")))) for p in ignore]

    def ignored(path):
        out = False
        for neg, r in rules:
            if r.match(path):
                out = not neg
        return out
    for pat in ("build/agentrecoverd", "build/obj/lib/core/x.o", ".git/HEAD", "tests/fuzz/corpus/api/x",
                "lib/core/x.o", "host/x.o"):
        need(ignored(pat), ".dockerignore keeps %s in the image context" % pat)
    needed = ["Makefile"]
    for d in ("lib", "host", "include", "sql", "pkgconfig", "examples"):
        for dp, _, fs in os.walk(os.path.join(ROOT, d)):
            needed += [os.path.relpath(os.path.join(dp, f), ROOT) for f in fs
                       if not f.endswith((".o", ".a", ".d", ".pyc"))]
    dropped = [f for f in needed if ignored(f)]
    need(not dropped, ".dockerignore drops sources the build needs: %s" % dropped[:5])


def report(files, kinds=()):
    if errors:
        print("manifests: FAILED:\n  " + "\n  ".join(errors))
        return 1
    print("   manifests OK: %d YAML files parse; base and hpa overlay build (%s); %s"
          % (len(files), "and match kubectl kustomize" if shutil.which("kubectl") else "kubectl not installed",
             ", ".join(kinds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
