# Small programs around the CSE (ae/tools/).
TOOLS := $(B)/hearth-files
all: $(TOOLS)

$(B)/hearth-files: $(B)/obj/ae/tools/hearth_files.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -lpthread
