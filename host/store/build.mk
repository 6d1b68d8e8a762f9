# host/store/build.mk -- the host's data layer: its store (host/store/*.c:
# users, exchange accounts with their credential cipher and rotation,
# pairs, the bot's fenced state, the audit trail) and its migrations
# (host/sql/NNN_*.sql compiled in as $(BUILD)/gen/host_migrations.c by
# lib/pg/migrations.awk, array arec__host_migrations).
#
# HOST_DATA_OBJS: the store objects and the compiled migrations.  They go
# into the daemon (appended to HOST_DAEMON_OBJS, which host/build.mk
# links) and into every test binary that links the host's service layer
# (host/service*.c, validate.c, strategies.c are host/*.c: HOST_LIB_OBJS).
# libcrypto (OpenSSL) is in HOST_LIBS through host/trading/build.mk; it is
# added here too for the store's own tests.

HOST_SQL         := $(sort $(wildcard host/sql/[0-9][0-9][0-9]_*.sql))
HOST_DATA_SRCS   := $(sort $(wildcard host/store/*.c))
HOST_DATA_GEN    := $(BUILD)/gen/host_migrations.c
HOST_DATA_OBJS   := $(HOST_DATA_SRCS:%.c=$(BUILD)/obj/%.o) $(HOST_DATA_GEN:%.c=%.o)
HOST_DATA_HDRS   := $(wildcard host/store/*.h) host/store.h

HOST_LIBS += $(shell pkg-config --libs libcrypto 2>/dev/null)

$(HOST_DATA_GEN): $(HOST_SQL) host/store/build.mk lib/pg/migrations.awk
	@mkdir -p $(dir $@)
	@awk -v sym=arec__host_migrations -f lib/pg/migrations.awk $(HOST_SQL) > $@.tmp
	@mv $@.tmp $@

$(HOST_DATA_SRCS:%.c=$(BUILD)/obj/%.o) $(HOST_DATA_SRCS:%.c=$(BUILD)/asan/obj/%.o): $(HOST_DATA_HDRS)

# Into the daemon.
HOST_DAEMON_OBJS += $(HOST_DATA_OBJS)
$(AGENTRECOVERD): $(HOST_DATA_OBJS)

# HOST_SVC_OBJS: the service layer (host/service*.c, validate.c,
# strategies.c, noop.c; all of them also in host/build.mk's HOST_OBJS) with
# the store and the trading objects the strategy registry registers: what
# a test of the service links.
HOST_SVC_SRCS := $(sort $(wildcard host/service*.c)) host/validate.c \
  host/strategies.c host/noop.c
HOST_SVC_OBJS := $(HOST_SVC_SRCS:%.c=$(BUILD)/obj/%.o) $(HOST_DATA_OBJS) \
  $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard host/trading/*.c)))

TEST_EXTRA_test_host_store    := $(HOST_DATA_OBJS)
TEST_EXTRA_test_host_secrets  := $(HOST_DATA_OBJS)
TEST_EXTRA_test_host_validate := $(BUILD)/obj/host/validate.o
TEST_EXTRA_test_host_service  := $(HOST_SVC_OBJS)
TEST_EXTRA_test_host_actors   := $(HOST_SVC_OBJS)
# The existing host tests link HOST_LIB_OBJS, which now call the store.
TEST_EXTRA_test_host_api      += $(HOST_DATA_OBJS)
TEST_EXTRA_test_host_http     += $(HOST_DATA_OBJS)
