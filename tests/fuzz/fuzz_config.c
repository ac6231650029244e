/*
 * fuzz_config.c - the configuration parsers: the INI file (libinih through
 * config_read_file(), and through config_load() with -c) and the command
 * line (config_load() with getopt_long).
 *
 * Input: INI text, optionally followed by a line "%%" and then command-line
 * arguments separated by NUL bytes:
 *
 *     [cse]\ncse-type = mn\n%%\n--http-port\0" "8282\0--cse-id\0id-mn7
 *
 * The INI part is written to a memfd and read through /proc/self/fd/N (no
 * file system litter, fresh offset per open). Three runs per input:
 * config_read_file(ini); config_load(argv "-c ini" + args); config_load(args).
 * stdout (--help, --version) goes to /dev/null; stdin is /dev/null so that
 * "-c /dev/stdin" cannot block.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

#include "cse/config.h"
#include "cse/log.h"

#define FZ_MAX_ARGS 64

static int ini_fd = -1;
static char ini_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null_fd = open("/dev/null", O_RDWR);
	(void)argc;
	(void)argv;
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0)
		abort();
	close(null_fd);
	log_level = -1;
	ini_fd = memfd_create("hearth-fuzz-ini", 0);
	if (ini_fd < 0)
		abort();
	snprintf(ini_path, sizeof ini_path, "/proc/self/fd/%d", ini_fd);
	return 0;
}

static void write_ini(const uint8_t *d, size_t n)
{
	/* A memfd write is never short. */
	if (ftruncate(ini_fd, 0) != 0 || (n > 0 && pwrite(ini_fd, d, n, 0) != (ssize_t)n))
		abort();
}

static void load(char **argv, int argc)
{
	char err[512];
	cse_config cfg;
	config_init(&cfg);
	int rc = config_load(&cfg, argc, argv, err, sizeof err);
	if (rc == -1 && (!err[0] || strchr(err, '\n')))
		fz_fail("config_load() failed without a one-line message: \"%s\"", err);
	if (rc == 0 && (!cfg.cse_id || !cfg.cse_rn || !cfg.db_path || !cfg.poa))
		fz_fail("config_load() succeeded with a setting missing");
	config_clear(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "%%\n";
	char *argv[FZ_MAX_ARGS + 4];
	char *args = NULL;
	size_t ini_len = size, nargs = 0;
	char err[512];
	cse_config cfg;

	/* the separator line: "%%\n" at the start or after a '\n' */
	for (size_t i = 0; i + 3 <= size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, sep, 3) == 0) {
			ini_len = i;
			args = fz_memdup0(data + i + 3, size - i - 3);
			break;
		}
	}
	write_ini(data, ini_len);

	config_init(&cfg);
	err[0] = '\0';
	if (config_read_file(&cfg, ini_path, err, sizeof err) != 0 && !err[0])
		fz_fail("config_read_file() failed without a message");
	config_clear(&cfg);

	argv[0] = (char *)"hearth-cse";
	argv[1] = (char *)"-c";
	argv[2] = ini_path;
	if (args) {
		size_t len = size - ini_len - 3;
		char *p = args;
		while (p < args + len && nargs < FZ_MAX_ARGS) {
			argv[3 + nargs++] = p;
			p += strlen(p) + 1;
		}
	}
	argv[3 + nargs] = NULL;
	load(argv, (int)(3 + nargs));
	/* the flags alone, without the file */
	argv[2] = argv[0];
	load(argv + 2, (int)(1 + nargs));
	free(args);
	return 0;
}
