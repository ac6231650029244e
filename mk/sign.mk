# hearth-sign (ae/tools/hearth_sign.c) and its library ae/lib/hsign.c:
# signed manifests and assignments, image encryption (libcjose + OpenSSL).
# hsign.o sits in libhearthclient.a; programs that do not call it do not
# link it, so only the targets below need libcjose.
SIGN_LIBS := $(shell pkg-config --libs cjose libcrypto jansson 2>/dev/null)
all: $(B)/hearth-sign

$(B)/hearth-sign: $(B)/obj/ae/tools/hearth_sign.o $(B)/libhearthclient.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SIGN_LIBS)

$(B)/tests/hsign_test: $(B)/obj/tests/unit/hsign_test.o $(B)/libhearthclient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SIGN_LIBS) $(CMOCKA_LIBS)

# the black-box test runs $(B)/hearth-sign
$(B)/tests/hsign_cli_test: $(B)/obj/tests/unit/hsign_cli_test.o | $(B)/hearth-sign
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
