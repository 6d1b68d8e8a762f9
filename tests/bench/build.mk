# tests/bench: the host benchmark (`make bench-host`, also part of `make
# bench`, tests/bench/bench_host.py): three agentrecoverd pods with 1,000,
# 10,000 and 100,000 noop agents (cold start, steady state, kill -9, the
# admin API, the refresh cycle with per-agent TTLs), the admin API under
# wrk with CPU burners (no lock lost), each figure beside its physical
# limit from the same run; build/bench/host.json and build/bench/scale.png.
# BENCH_HOST_AGENTS / BENCH_HOST_WRK_S / BENCH_HOST_RUNS scale it down.
BENCH_TARGETS += bench-host
.PHONY: bench-host
bench-host: $(BUILD)/agentrecoverd
	@$(DEPS) python3 redis-server redis-tools postgresql-15 wrk gnuplot-nox
	@mkdir -p $(BUILD)/bench
	@PYTHONDONTWRITEBYTECODE=1 python3 tests/bench/bench_host.py $(BUILD)/bench/host.json
