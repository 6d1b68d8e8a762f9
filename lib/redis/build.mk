# lib/redis/build.mk -- the Redis Redlock backend's build rules.  The
# library sources (lib/redis/*.c) are picked up by the top-level Makefile;
# this adds the `bench-redis` benchmark (also part of `make bench`): Redlock
# on 1 and 3 loopback redis-servers beside redis-benchmark from the same run,
# and beside its peer, node-redlock 4 on ioredis 5 (tests/bench/peer/,
# installed with npm into $(BUILD)/bench/peer on first use), on the same
# redis-server; written to $(BUILD)/bench/redis.json.

BENCH_TARGETS += bench-redis
.PHONY: bench-redis
# Runnable on its own: installs its Debian packages first (node and npm
# only when there are none on PATH), then builds, then runs.
bench-redis:
	@$(DEPS) $(DEB_BUILD) check redis-server redis-tools
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || $(DEPS) nodejs npm
	@$(MAKE) --no-print-directory $(BUILD)/bench/bench_redis $(BENCH_PEER)
	$(BUILD)/bench/bench_redis $(BUILD)/bench/redis.json $(BUILD)/bench/peer

# The peer: package.json (redlock 4, ioredis 5) and the timing script,
# installed into $(BUILD)/bench/peer; npm runs again only when package.json
# changes.  A failed install fails the benchmark, saying so.
BENCH_PEER := $(BUILD)/bench/peer/.installed $(BUILD)/bench/peer/redlock_bench.js

$(BUILD)/bench/peer/.installed: tests/bench/peer/package.json
	@mkdir -p $(dir $@)
	cp $< $(BUILD)/bench/peer/package.json
	@echo "bench-redis: npm install of the peer (node-redlock 4, ioredis 5) into $(BUILD)/bench/peer"
	@npm install --prefix $(BUILD)/bench/peer --no-audit --no-fund --loglevel=error \
	  >$(BUILD)/bench/peer/npm.log 2>&1 || { \
	  echo "bench-redis: FAILED: npm install of the node-redlock peer did not work;" \
	       "the comparison cannot run (log: $(BUILD)/bench/peer/npm.log):" >&2; \
	  tail -5 $(BUILD)/bench/peer/npm.log >&2; exit 1; }
	@node -e "require('$(CURDIR)/$(BUILD)/bench/peer/node_modules/redlock'); require('$(CURDIR)/$(BUILD)/bench/peer/node_modules/ioredis')" || { \
	  echo "bench-redis: FAILED: redlock / ioredis not loadable after npm install" >&2; exit 1; }
	@touch $@

$(BUILD)/bench/peer/redlock_bench.js: tests/bench/peer/redlock_bench.js
	@mkdir -p $(dir $@)
	cp $< $@

# Only the harness objects it needs (the other support code pulls in host
# libraries).
BENCH_REDIS_OBJS := $(BUILD)/obj/tests/support/harness_redis.o $(BUILD)/obj/tests/support/harness_pg.o

$(BUILD)/bench/bench_redis: tests/bench/bench_redis.c $(BENCH_REDIS_OBJS) $(BUILD)/libagentrecover.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $< $(BENCH_REDIS_OBJS) \
	  -o $@ $(BUILD)/libagentrecover.a $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# test_redis_faults drives a master through the fault proxy of tests/tools.
$(BUILD)/tests/test_redis_faults $(BUILD)/asan/tests/test_redis_faults: $(BUILD)/tools/faultproxy
