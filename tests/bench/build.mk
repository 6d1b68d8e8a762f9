# tests/bench: the host benchmark of issue 6 (`make bench-host`, also part of
# `make bench`): restore of 10,000 noop agents to /ready with 1 and 3 Redis
# masters, steady state (refresh cycle, saves/s, CPU, RSS per agent), wrk on
# /metrics and /api/agents with no lock lost, the chaos failover figures,
# each beside its physical limit from the same run; build/bench/host.json.
# BENCH_HOST_AGENTS / BENCH_HOST_WRK_S scale it down.
BENCH_TARGETS += bench-host
.PHONY: bench-host
bench-host: $(BUILD)/agentrecoverd
	@$(DEPS) python3 redis-server redis-tools postgresql-15 wrk
	@mkdir -p $(BUILD)/bench
	@PYTHONDONTWRITEBYTECODE=1 python3 tests/bench/bench_host.py $(BUILD)/bench/host.json
