/*
 * http_tls_test.c - the originator rule of TLS client authentication
 * (bindings/http_tls.c), as a table: certificate CN, X-M2M-Origin, rules,
 * allowed or not (digest section 14: fr must match the AE-ID bound to the
 * credential, else 4106).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "bindings/http_tls.h"

typedef struct origin_case {
	const char *rules, *cn, *fr;
	bool allowed;
} origin_case;

static const origin_case origin_cases[] = {
	/* default: the CN itself, exactly */
	{ NULL, "Cdevice1", "Cdevice1", true },
	{ "", "Cdevice1", "Cdevice1", true },
	{ "", "Cdevice1", "Cdevice10", false },
	{ "", "Cdevice1", "Cdevice", false },
	{ "", "Cdevice1", "cdevice1", false },
	{ "", "Cdevice1", "/id-in/Cdevice1", false },
	{ "", "", "", false },
	{ "", "Cdevice1", NULL, false },
	/* patterns */
	{ "device-*=Cdev*", "device-7", "Cdev7", true },
	{ "device-*=Cdev*", "device-7", "Cother", false },
	{ "device-*=Cdev*", "gateway-1", "Cdev7", false },
	{ "gw=Cgw,device-*=Cdev*", "gw", "Cgw", true },
	{ "gw=Cgw,device-*=Cdev*", "gw", "Cdev1", false },
	{ "gw=Cgw,device-*=Cdev*", "device-1", "Cdev1", true },
	{ "*=*", "anyone", "Canything", true },
	{ "broken", "broken", "broken", false },
};

static void test_origin_allowed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++) {
		const origin_case *t = &origin_cases[i];
		bool got = http_tls_origin_allowed(t->rules, t->cn, t->fr);
		if (got != t->allowed)
			fail_msg("case %zu: rules '%s' cn '%s' fr '%s': got %d want %d", i,
			         t->rules ? t->rules : "(null)", t->cn, t->fr ? t->fr : "(null)", got,
			         t->allowed);
	}
}

static void test_rules_valid(void **state)
{
	(void)state;
	assert_true(http_tls_rules_valid(""));
	assert_true(http_tls_rules_valid("a=b"));
	assert_true(http_tls_rules_valid("device-*=Cdev*,gw=Cgw"));
	assert_false(http_tls_rules_valid("a"));
	assert_false(http_tls_rules_valid("=b"));
	assert_false(http_tls_rules_valid("a="));
	assert_false(http_tls_rules_valid("a=b=c"));
	assert_false(http_tls_rules_valid("a=b,,c=d"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_allowed),
		cmocka_unit_test(test_rules_valid),
	};
	return cmocka_run_group_tests_name("http_tls", tests, NULL, NULL);
}
