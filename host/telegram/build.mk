# host/telegram/build.mk -- the Telegram bot of agentrecoverd (issue 7):
# Bot API client (libcurl), chat commands, the singleton poller and owner
# notifications.  TELEGRAM_OBJS go into the daemon (host/build.mk links
# HOST_DAEMON_OBJS) with the trading objects, and into the bot's tests.
# (This file is included before host/trading/build.mk: the trading object
# list is computed here, not taken from TRADING_OBJS.)

TELEGRAM_SRCS      := $(sort $(wildcard host/telegram/*.c))
TELEGRAM_OBJS      := $(TELEGRAM_SRCS:%.c=$(BUILD)/obj/%.o)
TELEGRAM_OBJS_ASAN := $(TELEGRAM_SRCS:%.c=$(BUILD)/asan/obj/%.o)
TG_TRADING_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard host/trading/*.c)))

$(TELEGRAM_OBJS) $(TELEGRAM_OBJS_ASAN): $(wildcard host/telegram/*.h host/trading/*.h)

# Into the daemon.
HOST_DAEMON_OBJS += $(TG_TRADING_OBJS) $(TELEGRAM_OBJS)
$(AGENTRECOVERD): $(TG_TRADING_OBJS) $(TELEGRAM_OBJS)

# status.c renders the exchange hub's metrics: its tests link trading too.
TEST_EXTRA_test_host_api += $(TG_TRADING_OBJS)

TEST_EXTRA_test_telegram_bot := $(TELEGRAM_OBJS) $(TG_TRADING_OBJS)
TEST_NOASAN += test_host_trading_e2e
$(BUILD)/tests/test_host_trading_e2e: $(AGENTRECOVERD)

# The fake Bot API of tests/support parses JSON with cJSON.
$(BUILD)/obj/tests/support/fake_telegram.o $(BUILD)/asan/obj/tests/support/fake_telegram.o: PKG_CFLAGS += $(shell pkg-config --cflags libcjson 2>/dev/null)
