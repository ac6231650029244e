# Small programs around the CSE (ae/tools/).
TOOLS := $(B)/hearth-files
all: $(TOOLS)

$(B)/hearth-files: $(B)/obj/ae/tools/hearth_files.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -lpthread

# IN-CSE + MN-CSE + three devices; one firmware update from the IN side.
.PHONY: demo-two-tier
demo-two-tier: deps
	@$(MAKE) --no-print-directory all
	@bash examples/two-tier/run.sh $(B)

# IN + broker + two gateways + three vendor services + six devices; a
# whole update campaign through the coordinator (README "Demo: the
# connected home"); writes var/demo-report.json.
.PHONY: demo
demo: deps
	@$(MAKE) --no-print-directory all
	@bash examples/connected-home/run.sh $(B)
