# lib/pg/build.mk -- the PostgreSQL backend's build rules: the migrations of
# sql/NNN_*.sql compiled into the library as $(BUILD)/gen/migrations.c by
# lib/pg/migrations.awk (each file becomes one C string, its BEGIN;/COMMIT;
# lines dropped because arec_pg_migrate() wraps each body in its own
# transaction; an embedding service can turn its own files into an
# arec_pg_migration array with the same script), and the `bench-pg`
# benchmark.

PG_SQL := $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))
LIB_GEN += $(BUILD)/gen/migrations.c

$(BUILD)/gen/migrations.c: $(PG_SQL) lib/pg/build.mk lib/pg/migrations.awk
	@mkdir -p $(dir $@)
	@awk -v sym=arec__pg_migrations -f lib/pg/migrations.awk $(PG_SQL) > $@.tmp
	@mv $@.tmp $@

# ------------------------------------------------------------------ bench
BENCH_TARGETS += bench-pg
.PHONY: bench-pg
bench-pg: $(BUILD)/bench/bench_pg
	@mkdir -p $(BUILD)/bench
	$(BUILD)/bench/bench_pg $(BUILD)/bench/pg.json

BENCH_PG_OBJS := $(BUILD)/obj/tests/support/harness_pg.o $(BUILD)/obj/tests/support/harness_pgmig.o

$(BUILD)/bench/bench_pg: tests/bench/bench_pg.c $(BENCH_PG_OBJS) $(BUILD)/libagentrecover.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $< $(BENCH_PG_OBJS) \
	  -o $@ $(BUILD)/libagentrecover.a $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm
