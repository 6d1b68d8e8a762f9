# tests/tools: the TCP fault proxy of the chaos suite.
FAULTPROXY := $(BUILD)/tools/faultproxy
ALL_EXTRA += $(FAULTPROXY)
$(FAULTPROXY): tests/tools/faultproxy.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE $< -o $@

# The documents stay true to the tree: links resolve inside the repository,
# nothing points at notes outside it, docs/operations.md's configuration
# table matches agentrecoverd --help.
.PHONY: test-docs
CHECK_EXTRA += test-docs
test-docs: $(BUILD)/agentrecoverd
	@echo "== docs: links, no outside references, configuration table against --help"
	@python3 tests/tools/check_docs.py $(CURDIR) $(BUILD)/agentrecoverd
