# host/telegram/build.mk -- the Telegram bot of agentrecoverd: Bot API
# client (libcurl), update handling and privacy rules, the command table
# over host/service.h, the outbox (per-chat queues, 429s), the poller role
# and owner notifications.  TELEGRAM_OBJS go into the daemon (host/build.mk
# links HOST_DAEMON_OBJS) and into the bot's tests.  The bot reads agents'
# memory JSON with host/trading/memory.c (linked with the trading objects).

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
TEST_NOASAN += test_host_trading_e2e
$(BUILD)/tests/test_host_trading_e2e: $(AGENTRECOVERD)

# The bot's tests: the bot and the service with its store and the trading
# objects (HOST_SVC_OBJS, host/store/build.mk), against real PostgreSQL.
TEST_EXTRA_test_telegram_bot  = $(TELEGRAM_OBJS) $(HOST_SVC_OBJS)
TEST_EXTRA_test_telegram_role = $(TELEGRAM_OBJS) $(HOST_SVC_OBJS)
TEST_EXTRA_test_telegram_trader = $(TELEGRAM_OBJS) $(HOST_SVC_OBJS)
