/*
 * hsign_cli_test.c - black-box test of build/hearth-sign: keygen, kid,
 * manifest, assign, verify (every reason code it can print), encrypt and
 * decrypt, run as separate processes (posix_spawn, no shell) in a
 * temporary directory; exit status, stdout and stderr are checked.
 *
 * The binary is found next to this test's directory: <B>/tests/X ->
 * <B>/hearth-sign.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

static char bin[PATH_MAX];
static char dir[64];
static char out[64 * 1024], err[4096];

/* Run hearth-sign with args (NULL-terminated); stdout/stderr into out/err. */
static int run(const char *const *args)
{
	const char *argv[40];
	int n = 0;
	argv[n++] = bin;
	for (; args[n - 1] && n < 39; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "cli.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "cli.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(rc, 0);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	FILE *f = fopen("cli.out", "r");
	size_t k = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[k] = '\0';
	if (f)
		fclose(f);
	f = fopen("cli.err", "r");
	k = f ? fread(err, 1, sizeof(err) - 1, f) : 0;
	err[k] = '\0';
	if (f)
		fclose(f);
	return WEXITSTATUS(st);
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})

/* exit 1 and exactly this reason code on stderr */
#define REFUSED(code, ...)                                                        \
	do {                                                                          \
		int rc_ = RUN(__VA_ARGS__);                                               \
		if (rc_ != 1 || strcmp(err, code "\n") != 0)                              \
			fail_msg("want 1 \"%s\", got %d \"%s\"", code, rc_, err);             \
	} while (0)

static void write_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(name, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static size_t read_file(const char *name, unsigned char *buf, size_t max)
{
	FILE *f = fopen(name, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static bool same_file(const char *a, const char *b)
{
	static unsigned char x[300000], y[300000];
	size_t n = read_file(a, x, sizeof(x)), m = read_file(b, y, sizeof(y));
	return n == m && memcmp(x, y, n) == 0;
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/hsign-cli-XXXXXX", t && strlen(t) < 40 ? t : "/tmp");
	if (!mkdtemp(dir) || chdir(dir) != 0)
		return -1;
	/* an image with a device image header, some 200 kB */
	FILE *f = fopen("lamp.bin", "wb");
	if (!f)
		return -1;
	fputs("HEARTH-IMAGE v1 version=2.1.0 model=lamp\n", f);
	for (int i = 0; i < 200000; i++)
		fputc((i * 31) & 0xff, f);
	return fclose(f);
}

static int teardown(void **state)
{
	(void)state;
	static const char *const files[] = {"v.pem", "v.pub", "o.pem", "o.pub", "g.pem", "g.pub", "g2.pem", "g2.pub",
	                                    "lamp.bin", "m.jws", "a.jws", "me.jws", "lamp.jwe", "lamp.dec", "x.jwe",
	                                    "x.dec", "flip.bin", "long.bin", "bad.jws", "cli.out", "cli.err", NULL};
	for (const char *const *p = files; *p; p++)
		unlink(*p);
	return chdir("/") == 0 && rmdir(dir) == 0 ? 0 : -1;
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(RUN("--help"), 0);
	assert_non_null(strstr(out, "usage: hearth-sign"));
	assert_int_equal(RUN("verify", "--help"), 0);
	/* bad usage: exit 2, one line on stderr */
	const char *const bad[][6] = {
		{"frobnicate", NULL},
		{"keygen", NULL},
		{"keygen", "--out", NULL},
		{"keygen", "--out", "z.pem", "--bogus", "1", NULL},
		{"manifest", "--key", "v.pem", NULL},
		{"encrypt", "--for", "g.pub", "only-one", NULL},
		{"verify", "--manifest", "m.jws", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run(bad[i]);
		if (rc != 2)
			fail_msg("case %zu: exit %d", i, rc);
		char *nl = strchr(err, '\n');
		assert_non_null(nl);
		assert_int_equal(nl[1], '\0');
		assert_non_null(strstr(err, "hearth-sign: "));
	}
	assert_int_equal(run((const char *const[]){NULL}), 2);
}

static void test_flow(void **state)
{
	(void)state;
	/* keys */
	char kid[64];
	assert_int_equal(RUN("keygen", "--out", "v.pem", "--pub", "v.pub"), 0);
	assert_int_equal(strlen(out), 44);
	memcpy(kid, out, 45);
	assert_int_equal(RUN("kid", "--key", "v.pub"), 0);
	assert_string_equal(out, kid);
	assert_int_equal(RUN("kid", "--key", "v.pem"), 0);
	assert_string_equal(out, kid);
	struct stat st;
	assert_int_equal(stat("v.pem", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(RUN("keygen", "--out", "o.pem", "--pub", "o.pub"), 0);
	assert_int_equal(RUN("keygen", "--out", "g.pem", "--pub", "g.pub"), 0);
	assert_int_equal(RUN("keygen", "--out", "g2.pem", "--pub", "g2.pub"), 0);
	assert_int_equal(RUN("keygen", "--out", "v.pem"), 1); /* never replaced */
	assert_int_equal(RUN("kid", "--key", "lamp.bin"), 1);
	assert_string_equal(err, "hearth-sign: lamp.bin: bad-key\n");

	/* manifest + assignment + verify */
	assert_int_equal(RUN("manifest", "--key", "v.pem", "--vendor", "Acme", "--model", "lamp", "--hw", "1.0,1.1",
	                     "--version", "2.1.0", "--seq", "7", "--image", "lamp.bin", "--criticality", "critical",
	                     "--advisory", "HSA-1", "--advisory", "HSA-2", "--expires", "3600", "--out", "m.jws"),
	                 0);
	assert_int_equal(RUN("assign", "--key", "o.pem", "--manifest", "m.jws", "--device", "lamp-1", "--gateway", "/id-mn",
	                     "--campaign", "spring", "--out", "a.jws"),
	                 0);
	assert_int_equal(RUN("verify", "--vendor-pub", "v.pub", "--vendor", "Acme", "--manifest", "m.jws", "--image",
	                     "lamp.bin", "--model", "lamp", "--hw", "1.1", "--installed-seq", "6", "--operator-pub",
	                     "o.pub", "--assignment", "a.jws", "--device", "lamp-1", "--gateway", "/id-mn"),
	                 0);
	assert_non_null(strstr(out, "\"seq\": 7"));
	assert_non_null(strstr(out, "\"HSA-2\""));
	assert_non_null(strstr(out, "\"criticality\": \"critical\""));
	assert_non_null(strstr(out, "\"campaign\": \"spring\""));
	assert_non_null(strstr(out, "\nok\n"));
	assert_string_equal(err, "");

	/* each refusal with its reason code */
	REFUSED("downgrade", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--installed-seq", "7");
	REFUSED("model-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--model", "kettle");
	REFUSED("hardware-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--hw", "2.0");
	REFUSED("unknown-key", "verify", "--vendor-pub", "g.pub", "--manifest", "m.jws");
	REFUSED("unknown-key", "verify", "--vendor-pub", "v.pub", "--vendor", "Other", "--manifest", "m.jws");
	REFUSED("expired", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--now", "253402300000");
	REFUSED("assignment-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--operator-pub",
	        "o.pub", "--assignment", "a.jws", "--device", "lamp-2");
	REFUSED("assignment-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--operator-pub",
	        "o.pub", "--assignment", "a.jws", "--gateway", "/id-other");
	REFUSED("assignment-signature", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--operator-pub",
	        "v.pub", "--assignment", "a.jws");
	REFUSED("assignment-malformed", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--operator-pub",
	        "o.pub", "--assignment", "m.jws");

	static unsigned char buf[300000];
	size_t n = read_file("lamp.bin", buf, sizeof(buf));
	buf[n / 2] ^= 0x20;
	write_file("flip.bin", buf, n);
	REFUSED("digest-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--image", "flip.bin");
	buf[n / 2] ^= 0x20;
	buf[n] = 0;
	write_file("long.bin", buf, n + 1);
	REFUSED("size-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--image", "long.bin");

	/* one character of the manifest's payload changed */
	n = read_file("m.jws", buf, sizeof(buf));
	unsigned char *p = memchr(buf, '.', n);
	p[8] = p[8] == 'A' ? 'B' : 'A';
	write_file("bad.jws", buf, n);
	REFUSED("manifest-signature", "verify", "--vendor-pub", "v.pub", "--manifest", "bad.jws");
	write_file("bad.jws", "not.a.manifest\n", 15);
	REFUSED("manifest-malformed", "verify", "--vendor-pub", "v.pub", "--manifest", "bad.jws");

	/* the signer refuses values outside the schema */
	assert_int_equal(RUN("manifest", "--key", "v.pem", "--vendor", "Acme", "--model", "lamp", "--hw", "1.0",
	                     "--version", "2.1 beta", "--seq", "7", "--image", "lamp.bin"),
	                 1);
	assert_non_null(strstr(err, "manifest-malformed"));
	assert_int_equal(RUN("manifest", "--key", "v.pem", "--vendor", "Acme", "--model", "lamp", "--hw", "1.0",
	                     "--version", "2.1.0", "--seq", "0", "--image", "lamp.bin"),
	                 2);
}

static void test_encryption(void **state)
{
	(void)state;
	/* keys from test_flow */
	assert_int_equal(RUN("manifest", "--key", "v.pem", "--vendor", "Acme", "--model", "lamp", "--hw", "1.0",
	                     "--version", "2.2.0", "--seq", "8", "--image", "lamp.bin", "--encrypt-for", "g.pub",
	                     "--out-image", "lamp.jwe", "--out", "me.jws", "--expires", "2099-01-01T00:00:00Z"),
	                 0);
	assert_int_equal(RUN("verify", "--vendor-pub", "v.pub", "--manifest", "me.jws", "--encrypted-image", "lamp.jwe"),
	                 0);
	assert_non_null(strstr(out, "\"alg\": \"ECDH-ES\""));
	assert_non_null(strstr(out, "\"exp\": 4070908800"));
	REFUSED("size-mismatch", "verify", "--vendor-pub", "v.pub", "--manifest", "me.jws", "--encrypted-image",
	        "lamp.bin");
	REFUSED("not-encrypted", "verify", "--vendor-pub", "v.pub", "--manifest", "m.jws", "--encrypted-image",
	        "lamp.jwe");

	assert_int_equal(RUN("decrypt", "--key", "g.pem", "lamp.jwe", "lamp.dec"), 0);
	assert_true(same_file("lamp.bin", "lamp.dec"));
	REFUSED("not-for-this-gateway", "decrypt", "--key", "g2.pem", "lamp.jwe", "x.dec");
	REFUSED("bad-key", "decrypt", "--key", "g.pub", "lamp.jwe", "x.dec");
	REFUSED("decrypt-failed", "decrypt", "--key", "g.pem", "lamp.bin", "x.dec");

	assert_int_equal(RUN("encrypt", "--for", "g2.pub", "lamp.bin", "x.jwe"), 0);
	assert_int_equal(strncmp(out, "sha256=", 7), 0);
	assert_non_null(strstr(out, " size="));
	assert_int_equal(RUN("decrypt", "--key", "g2.pem", "x.jwe", "x.dec"), 0);
	assert_true(same_file("lamp.bin", "x.dec"));
	static unsigned char buf[400000];
	size_t n = read_file("x.jwe", buf, sizeof(buf));
	buf[n - 30] = buf[n - 30] == 'A' ? 'B' : 'A';
	write_file("x.jwe", buf, n);
	REFUSED("decrypt-failed", "decrypt", "--key", "g2.pem", "x.jwe", "x.dec");
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	char *slash = strrchr(self, '/');
	*slash = '\0';
	slash = strrchr(self, '/'); /* <B>/tests -> <B> */
	if (!slash)
		return 1;
	*slash = '\0';
	if (snprintf(bin, sizeof(bin), "%s/hearth-sign", self) >= (int)sizeof(bin) || access(bin, X_OK) != 0) {
		fprintf(stderr, "hsign_cli_test: %s not found (make builds it)\n", bin);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_encryption),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
