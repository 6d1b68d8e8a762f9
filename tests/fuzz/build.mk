# tests/fuzz/build.mk -- fuzzing.  Included by the Makefile.
#
#   make fuzz          builds every target with clang + libFuzzer + ASan +
#                      UBSan (the library and host code instrumented for
#                      coverage) and runs each for FUZZ_TIME seconds (60),
#                      one after the other, starting from its corpus in
#                      tests/fuzz/corpus/<target>/ (new inputs go to
#                      build/fuzz/work/<target>/).  A crash, leak, timeout or
#                      violated check leaves its input in
#                      tests/fuzz/corpus/<target>/ (crash-*, leak-*, ...) --
#                      commit it with the fix: it is then a regression case.
#                      Prints executions per target; build/fuzz/report.txt.
#   make fuzz-replay   (part of make check) replays every file of every
#                      corpus once through each target built with $(CC) +
#                      ASan/UBSan and a plain main() (replay_main.c).
#   make fuzz-merge    adds the new coverage of build/fuzz/work/ to the
#                      corpora in tests/fuzz/corpus/ (minimised).
#
# Targets: api (the router and the admin API over the service layer and a
# throwaway PostgreSQL), config (duration and environment parser),
# redis_reply (Redlock reply handling), bot (the Telegram bot's getUpdates
# answer handling over a double of the service).  The host's code comes
# from an archive of every host object (only what a target uses is
# linked).

FUZZ_TARGETS := api config redis_reply bot
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_DEB     := clang libclang-rt-14-dev

FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
FUZZ_COV  := -fsanitize=fuzzer-no-link
# Other areas' code is compiled by clang here without -Werror (a clang-only
# warning there must not break fuzzing); the fuzz targets keep -Werror.
FUZZ_CFLAGS = -std=c11 -O1 -g $(FUZZ_SAN) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(HOST_CFLAGS)

FUZZ_LIB_OBJS = $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(LIB_GEN:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_HOST_SRCS := $(HOST_LIB_SRCS) $(HOST_PART_SRCS)
FUZZ_HOST_AR := $(FUZZ_DIR)/libhost.a
FUZZ_EXTRA_OBJS := $(FUZZ_DIR)/obj/tests/support/harness_pg.o $(FUZZ_HOST_AR)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# The replayers reuse the sanitizer objects `make check` builds anyway.
FUZZ_REPLAY_EXTRA := $(BUILD)/asan/obj/tests/support/harness_pg.o $(HOST_AR_ASAN)
FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/replay_%)
FUZZ_HDRS := $(HEADERS) $(wildcard host/*.h tests/support/*.h lib/redis/*.h)

FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/tools/lsan.supp:print_suppressions=0

.PHONY: fuzz fuzz-build fuzz-replay fuzz-merge
CHECK_EXTRA += fuzz-replay

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_COV) -Wall -Wextra -Ihost -c $< -o $@

$(FUZZ_HOST_AR): $(FUZZ_HOST_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(HOST_AR_GEN:$(BUILD)/%=$(FUZZ_DIR)/obj/$(BUILD)/%)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/libagentrecover.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libagentrecover.a $(FUZZ_EXTRA_OBJS) $(FUZZ_HDRS)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_EXTRA_OBJS) \
	  -o $@ $(FUZZ_DIR)/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm

$(FUZZ_DIR)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/asan/libagentrecover.a $(FUZZ_REPLAY_EXTRA) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(HOST_CFLAGS) \
	  $< tests/fuzz/replay_main.c $(FUZZ_REPLAY_EXTRA) \
	  -o $@ $(BUILD)/asan/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm

fuzz-build: $(FUZZ_BINS)

fuzz-replay: $(FUZZ_REPLAYS)
	@echo "== fuzz corpora replayed under ASan+UBSan ($(FUZZ_TARGETS))"
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_ENV) $(FUZZ_DIR)/replay_$$t tests/fuzz/corpus/$$t || exit 1; \
	done

fuzz:
	@$(DEPS) $(DEB_BUILD) $(DEB_TEST) $(FUZZ_DEB)
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-merge: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/work/$$t; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t $(FUZZ_DIR)/work/$$t || exit 1; \
	done

# fuzz_bot links the bot's update layer and command table (not the shared
# host objects above: the service is a double inside fuzz_bot.c).
FUZZ_BOT_SRCS := host/telegram/update.c host/telegram/commands.c \
                 host/telegram/handlers.c host/telegram/handlers_admin.c \
                 host/telegram/handlers_trader.c host/telegram/tg_api.c \
                 host/trading/memory.c host/trading/days.c
FUZZ_BOT_HDRS := $(wildcard host/telegram/*.h host/trading/*.h)

$(FUZZ_DIR)/fuzz_bot: tests/fuzz/fuzz_bot.c $(FUZZ_DIR)/libagentrecover.a $(FUZZ_BOT_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_HDRS) $(FUZZ_BOT_HDRS)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_BOT_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) \
	  -o $@ $(FUZZ_DIR)/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm

$(FUZZ_DIR)/replay_bot: tests/fuzz/fuzz_bot.c tests/fuzz/replay_main.c $(BUILD)/asan/libagentrecover.a $(FUZZ_BOT_SRCS:%.c=$(BUILD)/asan/obj/%.o) $(FUZZ_HDRS) $(FUZZ_BOT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(HOST_CFLAGS) \
	  $< tests/fuzz/replay_main.c $(FUZZ_BOT_SRCS:%.c=$(BUILD)/asan/obj/%.o) \
	  -o $@ $(BUILD)/asan/libagentrecover.a $(HOST_LIBS) $(PKG_LIBS) -lpthread -lm
