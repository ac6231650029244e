/*
 * attest_test.c - the gateway's verifier of device statements
 * (mgmtobj/attest_verify.c) against statements made by the device's
 * signer (ae/device/dev_attest.c), with a throwaway PKI from
 * tests/attest-pki.sh (the `openssl` command; skipped without it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ae/device/dev_attest.h"
#include "mgmtobj/attest.h"

static char dir[64];
static bool have_pki;

static const char *path(const char *name)
{
	static char buf[8][160];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int pki_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hearth-attest-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sh tests/attest-pki.sh %s >/dev/null 2>&1", dir);
	have_pki = access("tests/attest-pki.sh", R_OK) == 0 && system(cmd) == 0;
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define NEED_PKI()                                                                          \
	do {                                                                                \
		if (!have_pki) {                                                            \
			print_message("[  SKIP    ] no PKI (openssl missing or tests/attest-pki.sh not found)\n"); \
			skip();                                                             \
		}                                                                           \
	} while (0)

static const char NONCE[] = "q3x9B7hJk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4";

static const attest_meta node_42 = { "Acme", "TH10", "42", "1.0", "1.0.0", "2.0" };
static const attest_meta node_43 = { "Acme", "TH10", "43", "1.0", "1.0.0", "2.0" };

/* A statement {"hd:ats": JWS} signed with key over cert. */
static json_t *statement(const char *key, const char *cert, bool check_pair, const char *nonce, const char *serial,
                         const char *fwv)
{
	dev_attest_key *k = NULL;
	char err[256];
	assert_int_equal(dev_attest_load(&k, path(key), path(cert), check_pair, err, sizeof(err)), 0);
	dev_attest_meta m = { "Acme", "TH10", serial, "1.0", fwv, "2.0", (long long)time(NULL) };
	char *jws = dev_attest_sign(k, nonce, &m);
	assert_non_null(jws);
	json_t *pc = json_pack("{s:s}", "hd:ats", jws);
	free(jws);
	dev_attest_free(&k);
	assert_null(k);
	return pc;
}

static void expect(const json_t *pc, const char *nonce, const attest_meta *want, time_t now, attest_trust t,
                   const char *reason)
{
	const char *why = "unset";
	char text[300];
	attest_trust got = attest_verify(pc, nonce, want, path("trust"), now, &why, text, sizeof(text));
	print_message("  -> %s %s: %s\n", attest_trust_name(got), why ? why : "", text);
	assert_int_equal(got, t);
	if (reason)
		assert_string_equal(why, reason);
	else
		assert_null(why);
}

static void test_good(void **state)
{
	(void)state;
	NEED_PKI();
	json_t *pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	expect(pc, NONCE, &node_42, time(NULL), ATTEST_VERIFIED, NULL);
	json_decref(pc);
}

static void test_wrong_ca(void **state)
{
	(void)state;
	NEED_PKI();
	json_t *pc = statement("evil.key", "evil.pem", true, NONCE, "43", "1.0.0");
	expect(pc, NONCE, &node_43, time(NULL), ATTEST_FAILED, "bad-certificate");
	json_decref(pc);
}

static void test_key_not_the_certs(void **state)
{
	(void)state;
	NEED_PKI();
	char err[256];
	dev_attest_key *k = NULL;
	/* the agent refuses such a pair at start */
	assert_int_equal(dev_attest_load(&k, path("other.key"), path("good.pem"), true, err, sizeof(err)), -1);
	assert_null(k);
	json_t *pc = statement("other.key", "good.pem", false, NONCE, "42", "1.0.0");
	expect(pc, NONCE, &node_42, time(NULL), ATTEST_FAILED, "bad-signature");
	json_decref(pc);
}

static void test_replayed(void **state)
{
	(void)state;
	NEED_PKI();
	json_t *pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	expect(pc, "Zz9B7hJk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4", &node_42, time(NULL), ATTEST_FAILED,
	       "nonce-mismatch");
	json_decref(pc);
}

static void test_edited_fwv(void **state)
{
	(void)state;
	NEED_PKI();
	/* the node's fwv edited after registration */
	json_t *pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	attest_meta edited = node_42;
	edited.fwv = "9.9.9";
	expect(pc, NONCE, &edited, time(NULL), ATTEST_FAILED, "metadata-mismatch");
	json_decref(pc);
	/* the statement's payload edited after signing: the signature breaks */
	pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	const char *jws = json_string_value(json_object_get(pc, "hd:ats"));
	const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
	char payload[1024];
	snprintf(payload, sizeof(payload), "{\"nonce\":\"%s\",\"man\":\"Acme\",\"mod\":\"TH10\",\"serial\":\"42\","
	         "\"hwv\":\"1.0\",\"fwv\":\"9.9.9\",\"swv\":\"2.0\",\"iat\":1}", NONCE);
	char enc[1500], forged[8192];
	assert_int_equal(attest_b64url((const unsigned char *)payload, strlen(payload), enc, sizeof(enc)), 0);
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - jws), jws, enc, d2);
	json_t *f = json_pack("{s:s}", "hd:ats", forged);
	expect(f, NONCE, &edited, time(NULL), ATTEST_FAILED, "bad-signature");
	json_decref(f);
	json_decref(pc);
	/* another device's metadata under this certificate */
	pc = statement("good.key", "good.pem", true, NONCE, "43", "1.0.0");
	expect(pc, NONCE, &node_43, time(NULL), ATTEST_FAILED, "bad-certificate");
	json_decref(pc);
}

static void test_expired(void **state)
{
	(void)state;
	NEED_PKI();
	json_t *pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	expect(pc, NONCE, &node_42, time(NULL) + 90L * 86400, ATTEST_FAILED, "bad-certificate");
	json_decref(pc);
}

static void test_unknown_manufacturer(void **state)
{
	(void)state;
	NEED_PKI();
	json_t *pc = statement("good.key", "good.pem", true, NONCE, "42", "1.0.0");
	const char *why = NULL;
	char text[200];
	assert_int_equal(attest_verify(pc, NONCE, &node_42, path("no-such-dir"), time(NULL), &why, text, sizeof(text)),
	                 ATTEST_FAILED);
	assert_string_equal(why, "unknown-manufacturer");
	json_decref(pc);
}

static void test_keyless(void **state)
{
	(void)state;
	json_t *pc = json_pack("{s:n}", "hd:ats");
	expect(pc, NONCE, &node_42, time(NULL), ATTEST_ASSERTED, NULL);
	json_decref(pc);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "a", "a.b", "a.b.c.d", "...", "!!.??.**",
		"eyJhbGciOiJub25lIn0.e30.", /* alg none */
		"eyJhbGciOiJFUzI1NiJ9.e30.AAAA", /* no x5c */
		"eyJhbGciOiJFUzI1NiIsIng1YyI6WyJBQUFBIl19.e30.AAAA", /* x5c not a certificate, payload {} */
		"W10.W10.AAAA", /* header [] */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *pc = json_pack("{s:s}", "hd:ats", bad[i]);
		const char *why = NULL;
		char text[200];
		assert_int_equal(attest_verify(pc, NONCE, &node_42, "/nonexistent", time(NULL), &why, text, sizeof(text)),
		                 ATTEST_FAILED);
		assert_non_null(why);
		assert_true(strcmp(why, "malformed") == 0 || strcmp(why, "bad-certificate") == 0);
		json_decref(pc);
	}
	json_t *shapes[] = { NULL, json_object(), json_pack("{s:i}", "hd:ats", 1), json_pack("[]") };
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const char *why = NULL;
		assert_int_equal(attest_verify(shapes[i], NONCE, &node_42, "/x", time(NULL), &why, NULL, 0), ATTEST_FAILED);
		assert_string_equal(why, "malformed");
		json_decref(shapes[i]);
	}
	/* an oversized statement */
	char *big = malloc(ATTEST_MAX_JWS + 2);
	memset(big, 'A', ATTEST_MAX_JWS + 1);
	big[ATTEST_MAX_JWS + 1] = '\0';
	json_t *pc = json_pack("{s:s}", "hd:ats", big);
	const char *why = NULL;
	assert_int_equal(attest_verify(pc, NONCE, &node_42, "/x", time(NULL), &why, NULL, 0), ATTEST_FAILED);
	assert_string_equal(why, "malformed");
	json_decref(pc);
	free(big);
}

static void test_challenge_parse(void **state)
{
	(void)state;
	char nonce[DEV_ATTEST_NONCE_MAX + 1];
	json_t *b = json_pack("{s:{s:{s:{s:{s:s}}}}}", "m2m:sgn", "nev", "rep", "hd:atq", "nonce", NONCE);
	assert_int_equal(dev_attest_challenge(b, nonce, sizeof(nonce)), 1);
	assert_string_equal(nonce, NONCE);
	json_decref(b);
	b = json_pack("{s:{s:{s:{s:{s:s}}}}}", "m2m:sgn", "nev", "rep", "hd:atq", "nonce", "short");
	assert_int_equal(dev_attest_challenge(b, nonce, sizeof(nonce)), -1);
	json_decref(b);
	b = json_pack("{s:{s:{s:{s:{s:s}}}}}", "m2m:sgn", "nev", "rep", "hd:atq", "nonce", "has/slash+plus=0123456789");
	assert_int_equal(dev_attest_challenge(b, nonce, sizeof(nonce)), -1);
	json_decref(b);
	b = json_pack("{s:{s:{s:{s:{}}}}}", "m2m:sgn", "nev", "rep", "m2m:fwr");
	assert_int_equal(dev_attest_challenge(b, nonce, sizeof(nonce)), 0);
	json_decref(b);
	assert_int_equal(dev_attest_challenge(NULL, nonce, sizeof(nonce)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_key_not_the_certs),
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_edited_fwv),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_unknown_manufacturer),
		cmocka_unit_test(test_keyless),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_challenge_parse),
	};
	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
