# Hearth - a oneM2M CSE.  `make` builds everything into build/.
#   make run          build and start an IN-CSE on 127.0.0.1:8080 (db under var/)
#   build/hearth-device   the simulated device agent (see README "Device agent")
#   build/hearth-sign     keys, signed manifests and assignments, image encryption (README "Signing")
#   build/hearth-vendor   the manufacturer's update service over HTTPS (README "Manufacturer service")
#   build/hearth-coordinator  the operator's updates coordinator: inventory, plan (README "Updates coordinator")
#   build/hearth-consent  the home user's consent tool at the gateway (README "Home consent")
#   make test         build and run every test (unit + conformance)
#   make SANITIZE=1 test   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make WERROR=1     warnings are errors (CI)

CC      ?= cc
B       := build
PKGS    := libmicrohttpd jansson sqlite3 libcurl inih libxml-2.0 gnutls
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O2 -g -pthread \
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
  -Wvla -Wwrite-strings -Wno-sign-conversion -Wno-format-truncation -fno-strict-aliasing
ifeq ($(WERROR),1)
CFLAGS_BASE += -Werror
endif
ifeq ($(SANITIZE),1)
B       := build-san
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
CFLAGS  := $(CFLAGS_BASE) $(PKG_CFLAGS) -I. $(EXTRA_CFLAGS)
# paho.mqtt.c ships no .pc file in Debian 12: the asynchronous client,
# with TLS (mqtt3as, on OpenSSL), for the test clients (ae/lib).
MQTT_LIBS := -lpaho-mqtt3as
# the daemon loads libcurl, libxml2 and paho (mqtt3as with TLS, else
# mqtt3a) itself on first use (bindings/transport_http.c,
# bindings/codec_xml.c, bindings/mqtt_binding.c)
HSIGN_LIBS := $(shell pkg-config --libs cjose libcrypto 2>/dev/null)
# ... and the signing library (libcjose, OpenSSL) as the plugin
# hearth-update.so, on the first verified update (mgmtobj/hsign_lazy.c)
DAEMON_LIBS := $(shell pkg-config --libs $(filter-out libcurl libxml-2.0,$(PKGS)) 2>/dev/null) -ldl -lpthread -lm
LDLIBS  := $(PKG_LIBS) $(MQTT_LIBS) $(HSIGN_LIBS) -lpthread -lm
LDFLAGS := $(LDFLAGS_SAN) $(EXTRA_LDFLAGS)

CORE_SRC := $(filter-out cse/hearth_cse_main.c,$(wildcard cse/*.c)) \
            $(wildcard bindings/*.c) $(wildcard mgmtobj/*.c)
# the gateway verifies signed updates with the signing library
# (ae/lib/hsign.c); libhearth.a holds only the stubs that load it
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
CLIENT_SRC := $(wildcard ae/lib/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
CONF_LIB_SRC := $(wildcard conformance/lib/*.c)
CONF_LIB_OBJ := $(CONF_LIB_SRC:%.c=$(B)/obj/%.o)
CONF_SRC := $(wildcard conformance/*_test.c)
CONF_BIN := $(CONF_SRC:conformance/%.c=$(B)/conformance/%)
# hearth-device (ae/device/): the simulated device agent; it also needs
# OpenSSL's libcrypto (SHA-256 of firmware images).
DEVICE_PKGS := libmicrohttpd jansson libcurl inih libcrypto
DEVICE_CFLAGS := $(shell pkg-config --cflags libcrypto 2>/dev/null)
DEVICE_LIBS := $(shell pkg-config --libs $(DEVICE_PKGS) 2>/dev/null) -lpthread
DEVICE_SRC := $(filter-out ae/device/hearth_device_main.c,$(wildcard ae/device/*.c))
DEVICE_OBJ := $(DEVICE_SRC:%.c=$(B)/obj/%.o)

.PHONY: all deps run test unit conformance clean
.SECONDARY:
all: $(B)/hearth-cse $(B)/hearth-update.so $(B)/hearth-device $(UNIT_BIN) $(CONF_BIN)

deps:
	@sh tools/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libhearth.a: $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/libhearthclient.a: $(CLIENT_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/hearth-cse: $(B)/obj/cse/hearth_cse_main.o $(B)/libhearth.a | $(B)/hearth-update.so
	$(CC) $(LDFLAGS) -o $@ $(filter-out %.so,$^) $(DAEMON_LIBS)

# the signing library as a plugin of the daemon (see mgmtobj/hsign_lazy.c)
$(B)/obj-pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(B)/hearth-update.so: $(B)/obj-pic/ae/lib/hsign.o
	$(CC) $(LDFLAGS) -shared -Wl,-Bsymbolic -o $@ $^ $(HSIGN_LIBS) $(shell pkg-config --libs jansson 2>/dev/null)

$(B)/obj/ae/device/%.o: CFLAGS += $(DEVICE_CFLAGS)

$(B)/libhearthdevice.a: $(DEVICE_OBJ)
	@rm -f $@; ar rcs $@ $^

# log.o is the only piece of the CSE the agent uses
$(B)/hearth-device: $(B)/obj/ae/device/hearth_device_main.o $(B)/libhearthdevice.a $(B)/libhearthclient.a $(B)/obj/cse/log.o
	$(CC) $(LDFLAGS) -o $@ $^ $(DEVICE_LIBS)

$(B)/tests/device_test: $(B)/obj/tests/unit/device_test.o $(B)/libhearthdevice.a $(B)/obj/cse/log.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DEVICE_LIBS) $(CMOCKA_LIBS)

# the verifier (libhearth, GnuTLS) checked against the device's signer (OpenSSL)
$(B)/tests/attest_test: $(B)/obj/tests/unit/attest_test.o $(B)/obj/ae/device/dev_attest.o $(B)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libcrypto 2>/dev/null) $(CMOCKA_LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

# The harness takes codec_xml (the xml passes) and rsc_http_status (mqtt
# passes) from libhearth.a through a partial link that exports only those
# symbols: linking the archive itself would drag in cse/prim.o, whose
# m2m_request_init clashes with the client library's.
CONF_CORE_SYMS := codec_xml_encode codec_xml_decode codec_xml_encode_prim codec_xml_decode_prim \
                  rsc_http_status
$(B)/obj/conformance/hearth_core.o: $(B)/libhearth.a
	@mkdir -p $(dir $@)
	$(LD) -r -o $@.tmp $(addprefix -u ,$(CONF_CORE_SYMS)) $<
	objcopy $(addprefix -G ,$(CONF_CORE_SYMS)) $@.tmp $@
	@rm -f $@.tmp

$(B)/conformance/%: $(B)/obj/conformance/%.o $(CONF_LIB_OBJ) $(B)/libhearthclient.a $(B)/obj/conformance/hearth_core.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

run: deps $(B)/hearth-cse
	@mkdir -p var
	@echo "Hearth IN-CSE on http://127.0.0.1:8080 (database var/hearth.db). Register an AE with:"
	@echo "  curl -si -X POST 'http://127.0.0.1:8080/cse-in' -H 'X-M2M-Origin: Cmyapp' -H 'X-M2M-RI: r1' -H 'X-M2M-RVI: 4' -H 'Content-Type: application/json;ty=2' -d '{\"m2m:ae\":{\"rn\":\"myapp\",\"api\":\"Nmyapp\",\"rr\":false,\"srv\":[\"4\"]}}'"
	exec $(B)/hearth-cse --http-addr 127.0.0.1 --http-port 8080 --db var/hearth.db $(RUN_ARGS)

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(B)

# 13_device_agent computes SHA-256 of the images it serves
$(B)/conformance/13_device_agent_test: LDLIBS += $(shell pkg-config --libs libcrypto 2>/dev/null)
$(B)/conformance/16_devices_e2e_test: LDLIBS += $(shell pkg-config --libs libcrypto 2>/dev/null)

conformance: $(B)/hearth-cse $(B)/hearth-device $(CONF_BIN)
	@sh conformance/run.sh $(B)

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory conformance
	@bash examples/two-tier/run.sh $(B)
	@bash examples/connected-home/run.sh $(B)
	@$(MAKE) --no-print-directory fuzz-smoke

clean:
	rm -rf build build-san

include mk/bench.mk
include mk/tools.mk
include mk/sign.mk
include mk/vendor.mk
include mk/coordinator.mk

-include mk/fuzz.mk
-include $(shell find $(B)/obj $(B)/obj-pic -name '*.d' 2>/dev/null)
