# hearth-coordinator (ae/coordinator/): the operator's updates coordinator,
# an AE on the IN-CSE. It speaks oneM2M and fetches vendor services with
# the client library (libcurl), and verifies manifests with the hsign
# library (SIGN_LIBS, mk/sign.mk).
COORD_SRC := $(filter-out ae/coordinator/hearth_coordinator_main.c,$(wildcard ae/coordinator/*.c))
COORD_OBJ := $(COORD_SRC:%.c=$(B)/obj/%.o)
COORD_LIBS := $(shell pkg-config --libs libcurl inih libmicrohttpd 2>/dev/null) $(SIGN_LIBS) -lpthread -lm
all: $(B)/hearth-coordinator

$(B)/hearth-coordinator: $(B)/obj/ae/coordinator/hearth_coordinator_main.o $(COORD_OBJ) $(B)/libhearthclient.a
	$(CC) $(LDFLAGS) -o $@ $^ $(COORD_LIBS)

# the black-box test runs $(B)/hearth-coordinator, $(B)/hearth-vendor and
# hearth-device, and makes vendor keys with hsign
$(B)/conformance/20_coordinator_test: LDLIBS += $(SIGN_LIBS)
$(B)/conformance/20_coordinator_test: | $(B)/hearth-coordinator $(B)/hearth-vendor $(B)/hearth-device

$(B)/tests/coordinator_test: $(B)/obj/tests/unit/coordinator_test.o $(COORD_OBJ) $(B)/libhearthclient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COORD_LIBS) $(CMOCKA_LIBS)
