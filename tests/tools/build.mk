# tests/tools: the TCP fault proxy of the chaos suite.
FAULTPROXY := $(BUILD)/tools/faultproxy
ALL_EXTRA += $(FAULTPROXY)
$(FAULTPROXY): tests/tools/faultproxy.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE $< -o $@
