# hearth-vendor (ae/vendor/): the manufacturer's update service over HTTPS
# and its `publish` command; the hsign library (libhearthclient.a) signs
# and verifies, so it needs SIGN_LIBS (mk/sign.mk) besides libmicrohttpd
# and libinih.
VENDOR_SRC := $(filter-out ae/vendor/hearth_vendor_main.c,$(wildcard ae/vendor/*.c))
VENDOR_OBJ := $(VENDOR_SRC:%.c=$(B)/obj/%.o)
VENDOR_LIBS := $(shell pkg-config --libs libmicrohttpd inih libcurl 2>/dev/null) $(SIGN_LIBS) -lpthread -lm
all: $(B)/hearth-vendor

$(B)/hearth-vendor: $(B)/obj/ae/vendor/hearth_vendor_main.o $(VENDOR_OBJ) $(B)/libhearthclient.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VENDOR_LIBS)

# the black-box test runs $(B)/hearth-vendor and checks manifests with hsign
$(B)/conformance/18_vendor_test: LDLIBS += $(SIGN_LIBS)
$(B)/conformance/18_vendor_test: | $(B)/hearth-vendor
