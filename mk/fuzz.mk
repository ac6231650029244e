# mk/fuzz.mk - libFuzzer targets for every parser (included by the Makefile).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fuzz_filter ..."]
#                     build every target into build-fuzz/ and fuzz each one
#                     for FUZZ_SECONDS on a copy of its corpus; fails on any
#                     crash, leak or sanitizer report (input kept in
#                     build-fuzz/crashes/<target>/)
#   make fuzz-smoke   seeds + regressions + 10 s of fuzzing per target
#   make fuzz-build   only build
# Needs clang with libFuzzer (Debian: clang libclang-rt-14-dev). The
# library is compiled again with clang and its own objects: gcc objects
# have no coverage instrumentation.

FUZZ_CC      ?= clang
FB           := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(filter-out fuzz_common,$(FUZZ_NAMES))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -pthread -fno-omit-frame-pointer \
  -Wall -Wextra -Wno-sign-conversion -fno-strict-aliasing \
  $(FUZZ_SAN) $(PKG_CFLAGS) -I. $(EXTRA_FUZZ_CFLAGS)
FUZZ_LIB_OBJ := $(CORE_SRC:%.c=$(FB)/obj/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FB)/%)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-check clean-fuzz

# Library sources: instrumented for coverage but without libFuzzer's main.
$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FB)/libhearth-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^

$(FB)/fuzz_%: $(FB)/obj/tests/fuzz/fuzz_%.o $(FB)/obj/tests/fuzz/fuzz_common.o $(FB)/libhearth-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(LDLIBS)

# the signed-document parsers: the real signing library, not the daemon's
# loader stubs (mgmtobj/hsign_lazy.c), which it overrides at link time
$(FB)/fuzz_signed: $(FB)/obj/tests/fuzz/fuzz_signed.o $(FB)/obj/ae/lib/hsign.o $(FB)/libhearth-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(LDLIBS)

fuzz-check:
	@sh tests/fuzz/run.sh check "$(FUZZ_CC)" $(FB)

fuzz-build: fuzz-check
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh fuzz $(FB) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@sh tests/fuzz/run.sh smoke $(FB) 10 $(FUZZ_TARGETS)

clean-fuzz:
	rm -rf $(FB)
clean: clean-fuzz

-include $(shell find $(FB)/obj -name '*.d' 2>/dev/null)
