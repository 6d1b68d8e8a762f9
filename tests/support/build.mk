# tests/support/build.mk -- test support that needs the host (its headers,
# cJSON, its objects): tests/support/host/*.c.  Every tests/support/*.c
# goes into every test binary (the Makefile's TEST_SUPPORT) and must not
# need the host; these are linked only by the host's test binaries that
# name them in TEST_EXTRA_<name>, ahead of the host's objects and archive
# (which they call into).  Included by the Makefile after host/*/build.mk.

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
