#!/bin/sh
# check_manifests.sh -- `make test-host-manifests` (part of make check): the
# Kubernetes manifests in examples/kubernetes parse as YAML and carry what
# issue 5 asks for; the Dockerfile is multi-stage Debian 12 and non-root;
# the HorizontalPodAutoscaler and the Prometheus adapter rules of issue 8
# agree with each other and with the metrics agentrecoverd exports.
set -eu
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import sys, yaml, glob
docs = {}
for f in sorted(glob.glob("examples/kubernetes/*.yaml")):
    for d in yaml.safe_load_all(open(f)):
        if d: docs[d["kind"]] = d
errors = []
def need(cond, what):
    if not cond: errors.append(what)
for kind in ("Deployment", "Service", "PodDisruptionBudget", "Job", "Secret"):
    need(kind in docs, "missing a %s" % kind)
dep = docs.get("Deployment", {})
spec = dep.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
need(spec.get("replicas") == 3, "Deployment: replicas 3")
need(pod.get("terminationGracePeriodSeconds") == 30, "Deployment: terminationGracePeriodSeconds 30")
lp, rp = c.get("livenessProbe", {}), c.get("readinessProbe", {})
need(lp.get("httpGet", {}).get("path") == "/healthz", "liveness /healthz")
need(lp.get("initialDelaySeconds") == 30 and lp.get("periodSeconds") == 10, "liveness 30 s / 10 s")
need(rp.get("httpGet", {}).get("path") == "/ready", "readiness /ready")
need(rp.get("initialDelaySeconds") == 5 and rp.get("periodSeconds") == 5, "readiness 5 s / 5 s")
env = {e["name"]: e for e in c.get("env", [])}
need(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
     "POD_NAME from the downward API")
for s in ("DATABASE_URL", "REDIS_PASSWORD", "ADMIN_TOKEN", "AGENT_SECRETS_KEY"):
    need("secretKeyRef" in env.get(s, {}).get("valueFrom", {}), "%s from a Secret" % s)
need("requests" in c.get("resources", {}) and "limits" in c.get("resources", {}), "resources")
sc = c.get("securityContext", {})
need(sc.get("readOnlyRootFilesystem") is True, "read-only root filesystem")
need(sc.get("runAsNonRoot") is True or pod.get("securityContext", {}).get("runAsNonRoot") is True, "non-root")
svc = docs.get("Service", {}).get("spec", {})
need(svc.get("selector") == spec.get("selector", {}).get("matchLabels"), "Service selects the pods")
pdb = docs.get("PodDisruptionBudget", {}).get("spec", {})
need(pdb.get("selector", {}).get("matchLabels") == spec.get("selector", {}).get("matchLabels"), "PDB selects the pods")
job = docs.get("Job", {}).get("spec", {}).get("template", {}).get("spec", {})
jc = (job.get("containers") or [{}])[0]
need(any(a.startswith("--migrate") for a in jc.get("args", [])), "Job runs --migrate")
# issue 8: auto-scaling on agents per pod through the Prometheus adapter
need("HorizontalPodAutoscaler" in docs, "missing a HorizontalPodAutoscaler")
need("ConfigMap" in docs, "missing the Prometheus adapter rules (ConfigMap)")
hpa = docs.get("HorizontalPodAutoscaler", {})
hs = hpa.get("spec", {})
ref = hs.get("scaleTargetRef", {})
need(hpa.get("apiVersion") == "autoscaling/v2", "HPA: autoscaling/v2")
need(ref.get("kind") == "Deployment" and ref.get("name") == dep.get("metadata", {}).get("name"),
     "HPA scales the Deployment")
need(0 < hs.get("minReplicas", 0) <= hs.get("maxReplicas", 0), "HPA: min <= max replicas")
ext = [m.get("external", {}) for m in hs.get("metrics", []) if m.get("type") == "External"]
ext_names = [e.get("metric", {}).get("name") for e in ext]
need(any(e.get("target", {}).get("type") == "AverageValue" for e in ext),
     "HPA: an External metric with an AverageValue target (agents per pod)")
try:
    rules = yaml.safe_load(docs.get("ConfigMap", {}).get("data", {}).get("config.yaml", "")) or {}
except yaml.YAMLError as e:
    rules = {}
    errors.append("adapter config.yaml does not parse: %s" % e)
served = [r.get("name", {}).get("as") for r in rules.get("externalRules", [])]
need(ext_names and all(n in served for n in ext_names),
     "HPA metric %s served by the adapter's externalRules %s" % (ext_names, served))
series = " ".join(r.get("seriesQuery", "") for r in rules.get("externalRules", []) + rules.get("rules", []))
for m in ("agents_wanted", "agents_running"):
    need(m in series, "adapter rules read %s" % m)
src = open("lib/core/metrics.c").read()
for m in ("agents_wanted", "agents_running"):
    need('"%s"' % m in src, "the library exports %s" % m)
df = open("examples/docker/Dockerfile").read()
need(df.count("FROM debian:12") >= 2, "Dockerfile: two Debian 12 stages")
need("USER 10001" in df, "Dockerfile: non-root USER")
if errors:
    print("manifests: FAILED:\n  " + "\n  ".join(errors)); sys.exit(1)
print("   manifests OK: %s parse as YAML and carry the required fields" % ", ".join(sorted(docs)))
PY
