# tests/chaos: the chaos suite (python3 runner, stdlib only; a fake
# Telegram Bot API of its own; wrk for the flood's read load).
#   make chaos        every scenario with its repetitions for redis with
#                     per-agent TTLs, redis with pod leases and postgres
#                     (the Redis-down bot scenario for the two redis
#                     configurations), then kill -9 in both modes side by
#                     side; writes build/chaos/report.json and
#                     build/chaos/timeline.png
#   make chaos-smoke  one kill -9, one zombie, one PostgreSQL partition and
#                     the poison scenario, default backend and mode
#                     (part of make check, about 45 s)
# CHAOS_SEED replays a run; CHAOS_BACKEND / CHAOS_POD_LEASE_TTL choose the
# lock backend and the pod-lease mode (see tests/chaos/chaos.py).
DEB_CHAOS := python3 redis-server redis-tools postgresql-15 gnuplot-nox faketime wrk
.PHONY: chaos chaos-smoke
CHECK_EXTRA += chaos-smoke

chaos: $(BUILD)/agentrecoverd $(BUILD)/tools/faultproxy
	@$(DEPS) $(DEB_CHAOS)
	@echo "== chaos: every scenario, redis (per-agent TTL, pod leases) and postgres, then kill -9 in both modes side by side (tests/chaos/chaos.py --matrix)"
	@PYTHONDONTWRITEBYTECODE=1 python3 tests/chaos/chaos.py --matrix

chaos-smoke: $(BUILD)/agentrecoverd $(BUILD)/tools/faultproxy
	@$(DEPS) $(DEB_CHAOS)
	@echo "== chaos smoke: kill -9, zombie, PostgreSQL partition, poison, once each (tests/chaos/chaos.py --smoke)"
	@PYTHONDONTWRITEBYTECODE=1 python3 tests/chaos/chaos.py --smoke --out $(BUILD)/chaos-smoke
