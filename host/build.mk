# host/: agentrecoverd, the host daemon.  Included by the Makefile.
# Host objects compile with the cJSON/libmicrohttpd flags.  Every host
# object but main.o -- host/*.c and the parts in host/<dir>/ (store,
# trading, telegram; not the CLI in host/ctl) -- goes into one archive,
# $(HOST_AR); the daemon is main.o + that archive + the static library, and
# the host's test binaries link the archive (only what they use is pulled
# in) through TEST_EXTRA_<name>.

HOST_PKGS   := libcjson libmicrohttpd
HOST_CFLAGS := $(shell pkg-config --cflags $(HOST_PKGS) 2>/dev/null)
HOST_LIBS   := $(shell pkg-config --libs $(HOST_PKGS) 2>/dev/null)
DEB_TEST    += python3-yaml pgbouncer

HOST_SRCS := $(sort $(wildcard host/*.c))
HOST_LIB_SRCS := $(filter-out host/main.c,$(HOST_SRCS))
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_LIB_OBJS := $(HOST_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_HDRS := $(wildcard host/*.h host/*/*.h)
# the parts in subdirectories (their build.mk files add flags and tests)
HOST_PART_SRCS := $(sort $(filter-out host/ctl/%,$(wildcard host/*/*.c)))
HOST_AR_OBJS := $(HOST_LIB_OBJS) $(HOST_PART_SRCS:%.c=$(BUILD)/obj/%.o)
# the host's migrations, compiled in (host/store/build.mk generates them)
HOST_AR_GEN := $(BUILD)/gen/host_migrations.o
HOST_AR := $(BUILD)/obj/host/libhost.a
HOST_AR_ASAN := $(BUILD)/asan/obj/host/libhost.a

AGENTRECOVERD := $(BUILD)/agentrecoverd
ALL_EXTRA += $(AGENTRECOVERD)

$(BUILD)/obj/host/%.o: host/%.c $(HEADERS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC $(CPPFLAGS_ALL) -Ihost $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/host/%.o: host/%.c $(HEADERS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -Ihost $(HOST_CFLAGS) -c $< -o $@

$(HOST_AR): $(HOST_AR_OBJS) $(HOST_AR_GEN)
	rm -f $@
	ar rcs $@ $^

$(HOST_AR_ASAN): $(subst $(BUILD)/obj/,$(BUILD)/asan/obj/,$(HOST_AR_OBJS)) \
                 $(HOST_AR_GEN:$(BUILD)/%=$(BUILD)/asan/%)
	rm -f $@
	ar rcs $@ $^

$(AGENTRECOVERD): $(BUILD)/obj/host/main.o $(HOST_AR) $(BUILD)/libagentrecover.a
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/host/main.o $(HOST_AR) $(BUILD)/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm

# Unit tests link the archive (or single objects); the end-to-end tests
# spawn the daemon (tests/support/daemon.c) and run in the normal build
# only.  `override`: the archive has every part, so appends by the parts'
# build.mk files (objects it holds already) are ignored -- they would be
# linked twice.
override TEST_EXTRA_test_host_config := $(BUILD)/obj/host/config.o $(BUILD)/obj/host/config_usage.o
override TEST_EXTRA_test_host_json := $(BUILD)/obj/host/json.o
override TEST_EXTRA_test_host_noop := $(BUILD)/obj/host/noop.o
override TEST_EXTRA_test_host_api := $(HOST_AR)
override TEST_EXTRA_test_host_http := $(HOST_AR)
HOST_E2E := test_host_lifecycle test_host_failover test_host_serve \
            test_host_auth test_host_shutdown test_host_recovery_flag \
            test_host_pgbouncer test_host_rotate_e2e
TEST_NOASAN += $(HOST_E2E)
$(HOST_E2E:%=$(BUILD)/tests/%): $(AGENTRECOVERD) $(BUILD)/tools/faultproxy
# agentrecoverctl's exit codes (its tables: test_ctl, host/ctl/build.mk)
TEST_NOASAN += test_ctl_errors
$(BUILD)/tests/test_ctl_errors: $(AGENTRECOVERD) $(BUILD)/agentrecoverctl
$(BUILD)/tests/test_ctl_errors: HOST_LIBS += $(shell pkg-config --libs libcurl libcjson 2>/dev/null)

# The local system of the demo: make demo (about a minute, cleans up),
# make start (left running; ports, logs, pids and a fresh admin token
# printed), make stop.
demo:
	@$(DEPS) $(DEB_BUILD) $(DEB_TEST)
	@$(MAKE) --no-print-directory $(AGENTRECOVERD)
	@host/scripts/demo.sh

start:
	@$(DEPS) $(DEB_BUILD) $(DEB_TEST)
	@$(MAKE) --no-print-directory $(AGENTRECOVERD)
	@host/scripts/start.sh

stop:
	@host/scripts/stop.sh

# The Kubernetes manifests parse and carry the required fields (python3-yaml).
.PHONY: test-host-manifests
CHECK_EXTRA += test-host-manifests
test-host-manifests:
	@echo "== examples/kubernetes and examples/docker"
	@host/scripts/check_manifests.sh
