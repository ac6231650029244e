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

# hearth-consent (ae/tools/hearth_consent.c; the documents in ae/lib/consent_doc.c,
# shared with the coordinator): the home user's
# consent tool, an AE on the home gateway (README "Home consent").
TOOLS += $(B)/hearth-consent
all: $(B)/hearth-consent
$(B)/hearth-consent: $(B)/obj/ae/tools/hearth_consent.o $(B)/libhearthclient.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libcurl jansson inih 2>/dev/null) -lpthread

# the black-box test runs $(B)/hearth-consent against an IN and an MN
$(B)/conformance/21_consent_test: | $(B)/hearth-consent

$(B)/tests/consent_test: $(B)/obj/tests/unit/consent_test.o $(B)/obj/ae/lib/consent_doc.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs jansson 2>/dev/null) $(CMOCKA_LIBS)

# IN + broker + two gateways + three vendor services + six devices; a
# whole update campaign through the coordinator (README "Demo: the
# connected home"); writes var/demo-report.json.
.PHONY: demo
demo: deps
	@$(MAKE) --no-print-directory all
	@bash examples/connected-home/run.sh $(B)
