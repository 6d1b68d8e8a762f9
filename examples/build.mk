# examples/: the operator's kit of agentrecoverd (Kubernetes manifests,
# Prometheus rules, Grafana dashboard, Dockerfile).  Included by the
# Makefile.
#   make test-ops-rules    promtool check rules + promtool test rules: every
#                          alert fires and clears on synthetic series; the
#                          PrometheusRule is generated from the plain file
#   make test-ops-metrics  starts PostgreSQL, Redis and one real
#                          build/agentrecoverd, scrapes its /metrics and
#                          checks that every metric the Grafana dashboard
#                          and the alerting rules query is exported
# Both are part of make check (test-host-manifests checks the manifests).
# (This file is read before host/build.mk: name the daemon by its path.)
DEB_TEST += $(filter-out $(DEB_TEST),prometheus python3-yaml curl)
.PHONY: test-ops-rules test-ops-metrics
CHECK_EXTRA += test-ops-rules test-ops-metrics

test-ops-rules:
	@echo "== alerting rules: promtool check rules, promtool test rules (tests/ops)"
	@BUILD=$(BUILD) tests/ops/rules.sh

test-ops-metrics: $(BUILD)/agentrecoverd
	@echo "== Grafana dashboard and alerting rules query only metrics a real agentrecoverd exports"
	@BUILD=$(BUILD) DAEMON=$(BUILD)/agentrecoverd tests/ops/metrics.sh

# examples/embedding.c runs against real servers in make check.
TEST_NOASAN += test_example_embedding
$(BUILD)/tests/test_example_embedding: $(BUILD)/examples/embedding
