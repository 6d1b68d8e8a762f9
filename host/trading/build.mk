# host/trading/build.mk -- the trading part of the host: exchange client
# (libcurl), circuit breaker, symbol rules, paper/live order execution with
# order safety, fills and the reconcile on takeover, and the "conservative"
# / "aggressive" strategies as agent types.
#
# TRADING_OBJS: objects for the host engineer to link into agentrecoverd.
# HOST_CFLAGS / HOST_LIBS: appended with what these objects and the fake
# exchange of tests/support need (every test binary links tests/support/*.o,
# so libmicrohttpd goes into HOST_LIBS for all of them).

TRADING_SRCS      := $(sort $(wildcard host/trading/*.c))
TRADING_OBJS      := $(TRADING_SRCS:%.c=$(BUILD)/obj/%.o)
TRADING_OBJS_ASAN := $(TRADING_SRCS:%.c=$(BUILD)/asan/obj/%.o)
TRADING_PKGS      := libcurl libcjson libcrypto

TRADING_CFLAGS := $(shell pkg-config --cflags $(TRADING_PKGS) 2>/dev/null)
TRADING_LIBS   := $(shell pkg-config --libs $(TRADING_PKGS) libmicrohttpd 2>/dev/null)

HOST_CFLAGS += $(TRADING_CFLAGS) -Ihost
HOST_LIBS   += $(TRADING_LIBS)

$(TRADING_OBJS) $(TRADING_OBJS_ASAN): PKG_CFLAGS += $(TRADING_CFLAGS)
$(TRADING_OBJS) $(TRADING_OBJS_ASAN): $(wildcard host/trading/*.h)

# The trading tests link the objects; the end-to-end test too (it reads
# the agents' memory JSON with memory.c).
TEST_EXTRA_test_trading_exchange  := $(TRADING_OBJS)
TEST_EXTRA_test_trading_strategy  := $(TRADING_OBJS)
TEST_EXTRA_test_trading_agent     := $(TRADING_OBJS)
TEST_EXTRA_test_trading_rules     := $(TRADING_OBJS)
TEST_EXTRA_test_trading_reconcile := $(TRADING_OBJS)
TEST_EXTRA_test_host_trading_e2e  := $(TRADING_OBJS)
TEST_EXTRA_test_trading_params    := $(TRADING_OBJS)
TEST_EXTRA_test_trading_controls  := $(TRADING_OBJS)
# The admin API's trading controls (tests/test_host_api_ctl.c): the whole
# host archive, as test_host_api.
TEST_EXTRA_test_host_api_ctl       = $(HOST_AR)
# The trading controls end to end (real agentrecoverd processes).
TEST_EXTRA_test_host_trading_ctl  := $(TRADING_OBJS)
TEST_NOASAN += test_host_trading_ctl
$(BUILD)/tests/test_host_trading_ctl: $(AGENTRECOVERD)
