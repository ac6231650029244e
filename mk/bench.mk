# Benchmarks: make bench (see bench/run.sh and bench/RESULTS.md).
BENCH_BIN := $(B)/bench/limit-server $(B)/bench/hload $(B)/bench/mkstore $(B)/bench/fanout $(B)/bench/storecap

$(B)/bench/limit-server: bench/limit_server.c bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/hload: bench/hload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

$(B)/bench/mkstore: bench/mkstore.c $(B)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/storecap: bench/storecap.c bench/floor.c $(B)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/fanout: bench/fanout.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

.PHONY: bench
bench: deps $(B)/hearth-cse $(BENCH_BIN)
	@sh bench/run.sh $(B)

.PHONY: soak
soak: deps $(B)/hearth-cse $(BENCH_BIN)
	@sh bench/soak.sh $(B)
