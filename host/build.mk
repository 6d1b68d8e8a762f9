# host/: agentrecoverd, the host daemon (issue 5).  Included by the Makefile.
# Host objects compile with the cJSON/libmicrohttpd flags; the daemon links
# the static library.  The test binaries test_host_* link the host objects
# (but not main.o) through TEST_EXTRA_<name>.

HOST_PKGS   := libcjson libmicrohttpd
HOST_CFLAGS := $(shell pkg-config --cflags $(HOST_PKGS) 2>/dev/null)
HOST_LIBS   := $(shell pkg-config --libs $(HOST_PKGS) 2>/dev/null)
DEB_TEST    += python3-yaml

HOST_SRCS := $(sort $(wildcard host/*.c))
HOST_LIB_SRCS := $(filter-out host/main.c,$(HOST_SRCS))
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_LIB_OBJS := $(HOST_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_HDRS := $(wildcard host/*.h)

AGENTRECOVERD := $(BUILD)/agentrecoverd
ALL_EXTRA += $(AGENTRECOVERD)

$(BUILD)/obj/host/%.o: host/%.c $(HEADERS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC $(CPPFLAGS_ALL) -Ihost $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/host/%.o: host/%.c $(HEADERS) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -Ihost $(HOST_CFLAGS) -c $< -o $@

# HOST_DAEMON_OBJS: objects of host/*/ linked into the daemon (trading,
# telegram); host/*/build.mk append and add them as prerequisites.
$(AGENTRECOVERD): $(HOST_OBJS) $(BUILD)/libagentrecover.a
	$(CC) $(CFLAGS) -o $@ $(HOST_OBJS) $(HOST_DAEMON_OBJS) $(BUILD)/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm

# Unit tests link the host objects; the end-to-end test spawns the daemon.
TEST_EXTRA_test_host_config := $(BUILD)/obj/host/config.o
TEST_EXTRA_test_host_api := $(HOST_LIB_OBJS)
# The transport with the daemon's real probe (status.c renders the exchange
# hub's metrics, so the trading objects come along).
TEST_EXTRA_test_host_http := $(HOST_LIB_OBJS) \
  $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard host/trading/*.c)))
TEST_NOASAN += test_host_e2e
$(BUILD)/tests/test_host_e2e: $(AGENTRECOVERD)

# The local system of the demo: make demo (about a minute, cleans up),
# make start (left running; ports, logs and pids printed), make stop.
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
