# lib/redis/build.mk -- the Redis Redlock backend's build rules.  The
# library sources (lib/redis/*.c) are picked up by the top-level Makefile;
# this adds the `bench-redis` benchmark (also part of `make bench`): Redlock
# on 1 and 3 loopback redis-servers beside redis-benchmark from the same run,
# written to $(BUILD)/bench/redis.json.

BENCH_TARGETS += bench-redis
.PHONY: bench-redis
bench-redis: $(BUILD)/bench/bench_redis
	@mkdir -p $(BUILD)/bench
	$(BUILD)/bench/bench_redis $(BUILD)/bench/redis.json

# Only the harness objects it needs (the other support code pulls in host
# libraries).
BENCH_REDIS_OBJS := $(BUILD)/obj/tests/support/harness_redis.o $(BUILD)/obj/tests/support/harness_pg.o

$(BUILD)/bench/bench_redis: tests/bench/bench_redis.c $(BENCH_REDIS_OBJS) $(BUILD)/libagentrecover.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $< $(BENCH_REDIS_OBJS) \
	  -o $@ $(BUILD)/libagentrecover.a $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# test_redis_faults drives a master through the fault proxy of tests/tools.
$(BUILD)/tests/test_redis_faults $(BUILD)/asan/tests/test_redis_faults: $(BUILD)/tools/faultproxy
