# tests/support/build.mk -- test support that needs the host (its headers,
# cJSON, libmicrohttpd, its objects): tests/support/host/*.c.  Every
# tests/support/*.c goes into every test binary (the Makefile's
# TEST_SUPPORT) and must not need the host; these are linked only by the
# host's test binaries (HOST_TEST_NAMES: test_host_*, test_telegram_*,
# test_trading_*, test_ctl*), ahead of the host's objects and archive
# (which they call into).  The library's own tests (core, memory,
# PostgreSQL, Redis, the embedding example) link neither these nor an HTTP
# or JSON library: test-split checks their ELF dependencies.  Included by
# the Makefile after host/*/build.mk.

TEST_HOST_SUP_SRCS := $(sort $(wildcard tests/support/host/*.c))
$(TEST_HOST_SUP_SRCS:%.c=$(BUILD)/obj/%.o) $(TEST_HOST_SUP_SRCS:%.c=$(BUILD)/asan/obj/%.o): \
  PKG_CFLAGS += $(HOST_CFLAGS) -Itests

# The admin API's fixture: router, service, store over PostgreSQL.
TEST_API_FIXTURE := $(BUILD)/obj/tests/support/host/api_fixture.o
override TEST_EXTRA_test_host_api := $(TEST_API_FIXTURE) $(TEST_EXTRA_test_host_api)
override TEST_EXTRA_test_host_ui := $(TEST_API_FIXTURE) $(TEST_EXTRA_test_host_ui)
TEST_EXTRA_test_host_api_ctl := $(TEST_API_FIXTURE) $(TEST_EXTRA_test_host_api_ctl)

# The host data layer's fixture: PostgreSQL, log capture, store helpers
# (the store, secrets and service tests).
TEST_STORE_FIXTURE := $(BUILD)/obj/tests/support/host/store_fixture.o
TEST_EXTRA_test_host_store := $(TEST_STORE_FIXTURE) $(TEST_EXTRA_test_host_store)
TEST_EXTRA_test_host_secrets := $(TEST_STORE_FIXTURE) $(TEST_EXTRA_test_host_secrets)
TEST_EXTRA_test_host_service := $(TEST_STORE_FIXTURE) $(TEST_EXTRA_test_host_service)
TEST_EXTRA_test_host_actors := $(TEST_STORE_FIXTURE) $(TEST_EXTRA_test_host_actors)

# The host service layer's fixture (on the data layer's).
TEST_SVC_FIXTURE := $(BUILD)/obj/tests/support/host/svc_fixture.o
TEST_EXTRA_test_host_service := $(TEST_SVC_FIXTURE) $(TEST_EXTRA_test_host_service)
TEST_EXTRA_test_host_actors := $(TEST_SVC_FIXTURE) $(TEST_EXTRA_test_host_actors)

# The fake exchange and the fake Bot API (libmicrohttpd, cJSON) go into
# every host test binary; the host's compile and link flags too, and into
# those only.
TEST_FAKES := $(addprefix $(BUILD)/obj/tests/support/host/,fake_exchange.o \
                fake_exchange_orders.o fake_telegram.o)
HOST_TEST_NAMES := $(filter test_host_% test_telegram_% test_trading_% test_ctl%,$(TEST_NAMES))
$(foreach t,$(HOST_TEST_NAMES),$(eval override TEST_EXTRA_$(t) := $$(TEST_EXTRA_$(t)) $$(TEST_FAKES)))
$(HOST_TEST_NAMES:%=$(BUILD)/tests/%) $(HOST_TEST_NAMES:%=$(BUILD)/asan/tests/%): \
  TEST_HOST_CFLAGS = $(HOST_CFLAGS)
$(HOST_TEST_NAMES:%=$(BUILD)/tests/%) $(HOST_TEST_NAMES:%=$(BUILD)/asan/tests/%): \
  TEST_HOST_LIBS = $(HOST_LIBS)

# No library test binary needs an HTTP or JSON library.
LIB_TEST_NAMES := $(filter-out $(HOST_TEST_NAMES),$(TEST_NAMES))
.PHONY: test-split
CHECK_EXTRA += test-split
test-split: $(LIB_TEST_NAMES:%=$(BUILD)/tests/%)
	@echo "== the library's tests link no host library (libmicrohttpd, cJSON, libcurl)"
	@bad=0; for t in $^; do \
	  if readelf -d $$t | grep -E 'NEEDED.*(microhttpd|cjson|curl)'; then \
	    echo "   $$t links a host library"; bad=1; fi; \
	done; test $$bad = 0 && echo "   $(words $^) binaries: none"
