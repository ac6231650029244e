/*
 * consent_doc.c - the consent policy document and the consent requests
 * (consent.h): parse with bounds, check, write back.
 */
#include "ae/lib/consent.h"

#include <stdio.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *what, const char *detail)
{
	snprintf(err, errlen, "%s: %s", what, detail);
	return -1;
}

int cs_mode_parse(const char *s)
{
	if (s && strcmp(s, "auto") == 0)
		return CS_AUTO;
	if (s && strcmp(s, "ask") == 0)
		return CS_ASK;
	return -1;
}

const char *cs_mode_name(enum cs_mode m)
{
	return m == CS_AUTO ? "auto" : "ask";
}

bool cs_hash_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > CS_HASH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr("._~+/=-", ch)))
			return false;
	}
	return true;
}

int cs_policy_default(struct cs_policy *p)
{
	p->critical = CS_AUTO;
	p->auto_after_hours = 24;
	p->other = CS_ASK;
	p->decisions = json_object();
	return p->decisions ? 0 : -1;
}

void cs_policy_clear(struct cs_policy *p)
{
	json_decref(p->decisions);
	p->decisions = NULL;
}

/* Parse text (bounded) into a JSON object, or NULL with the reason. */
static json_t *load_object(const char *text, const char *what, char *err, size_t errlen)
{
	if (!text) {
		bad(err, errlen, what, "no content");
		return NULL;
	}
	size_t n = strnlen(text, CS_DOC_MAX + 1);
	if (n > CS_DOC_MAX) {
		bad(err, errlen, what, "larger than 256 KiB");
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(err, errlen, "%s: not JSON (%.100s at %d:%d)", what, je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		bad(err, errlen, what, "not a JSON object");
		return NULL;
	}
	return o;
}

static bool version_one(const json_t *o)
{
	const json_t *v = json_object_get(o, "v");
	return json_is_integer(v) && json_integer_value(v) == 1;
}

int cs_policy_parse(const char *text, struct cs_policy *p, char *err, size_t errlen)
{
	const char *what = "policy document";
	memset(p, 0, sizeof(*p));
	json_t *o = load_object(text, what, err, errlen);
	if (!o)
		return -1;
	int rc = -1;
	const json_t *h = json_object_get(o, "auto_after_hours");
	const json_t *d = json_object_get(o, "decisions");
	int crit = cs_mode_parse(json_string_value(json_object_get(o, "critical")));
	int other = cs_mode_parse(json_string_value(json_object_get(o, "other")));
	if (!version_one(o))
		bad(err, errlen, what, "\"v\" is not 1");
	else if (crit < 0)
		bad(err, errlen, what, "\"critical\" is not \"auto\" or \"ask\"");
	else if (other < 0)
		bad(err, errlen, what, "\"other\" is not \"auto\" or \"ask\"");
	else if (!json_is_integer(h) || json_integer_value(h) < 0 || json_integer_value(h) > (json_int_t)CS_HOURS_MAX)
		bad(err, errlen, what, "\"auto_after_hours\" is not an integer from 0 to 8760");
	else if (!json_is_object(d))
		bad(err, errlen, what, "\"decisions\" is not an object");
	else if (json_object_size(d) > CS_DECISIONS_MAX)
		bad(err, errlen, what, "more than 4096 decisions");
	else
		rc = 0;
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)d, k, val) {
		if (rc != 0)
			break;
		const char *s = json_string_value(val);
		if (!cs_hash_ok(k))
			rc = bad(err, errlen, what, "a decision's key is not a manifest hash");
		else if (!s || (strcmp(s, "granted") != 0 && strcmp(s, "refused") != 0))
			rc = bad(err, errlen, what, "a decision is not \"granted\" or \"refused\"");
	}
	if (rc == 0) {
		p->critical = (enum cs_mode)crit;
		p->other = (enum cs_mode)other;
		p->auto_after_hours = (unsigned)json_integer_value(h);
		p->decisions = json_deep_copy(d);
		if (!p->decisions)
			rc = bad(err, errlen, what, "out of memory");
	}
	json_decref(o);
	return rc;
}

char *cs_policy_dump(const struct cs_policy *p)
{
	json_t *o = json_pack("{s:i,s:s,s:I,s:s,s:O}", "v", 1, "critical", cs_mode_name(p->critical),
	                      "auto_after_hours", (json_int_t)p->auto_after_hours, "other", cs_mode_name(p->other),
	                      "decisions", p->decisions);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

const char *cs_decision(const struct cs_policy *p, const char *hash)
{
	const char *s = hash ? json_string_value(json_object_get(p->decisions, hash)) : NULL;
	return s ? s : "none";
}

int cs_decide(struct cs_policy *p, const char *hash, bool grant, char *err, size_t errlen)
{
	const char *now = cs_decision(p, hash);
	const char *want = grant ? "granted" : "refused";
	if (grant && strcmp(now, "refused") == 0) {
		snprintf(err, errlen, "refusal is final for that manifest");
		return -1;
	}
	if (strcmp(now, want) == 0)
		return 1;
	if (strcmp(now, "none") == 0 && json_object_size(p->decisions) >= CS_DECISIONS_MAX) {
		snprintf(err, errlen, "the policy already holds 4096 decisions");
		return -1;
	}
	if (json_object_set_new(p->decisions, hash, json_string(want)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Copy the string member k of in (at most max bytes) into out. */
static int copy_str(const json_t *in, json_t *out, const char *k, size_t max, bool required, char *err,
                    size_t errlen)
{
	const json_t *v = json_object_get(in, k);
	char detail[96];
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
		snprintf(detail, sizeof(detail), "\"%s\" is not a string of 1 to %zu bytes", k, max);
		return bad(err, errlen, "consent request", detail);
	}
	return json_object_set(out, k, (json_t *)v) == 0 ? 0 : bad(err, errlen, "consent request", "out of memory");
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

json_t *cs_request_parse(const char *text, char *err, size_t errlen)
{
	static const char *const kinds[] = { "consent", "inform" };
	static const char *const crits[] = { "low", "medium", "high", "critical" };
	static const char *const strs[] = { "campaign", "device", "manufacturer", "model", "from", "to" };
	const char *what = "consent request";
	json_t *in = load_object(text, what, err, errlen);
	json_t *out = json_object();
	int rc = in && out ? 0 : -1;
	if (in && !out)
		bad(err, errlen, what, "out of memory");
	if (rc == 0 && !version_one(in))
		rc = bad(err, errlen, what, "\"v\" is not 1");
	if (rc == 0 && !one_of(json_string_value(json_object_get(in, "kind")), kinds, 2))
		rc = bad(err, errlen, what, "\"kind\" is not \"consent\" or \"inform\"");
	if (rc == 0 && !one_of(json_string_value(json_object_get(in, "criticality")), crits, 4))
		rc = bad(err, errlen, what, "\"criticality\" is not low, medium, high or critical");
	if (rc == 0 && !cs_hash_ok(json_string_value(json_object_get(in, "manifest"))))
		rc = bad(err, errlen, what, "\"manifest\" is not a manifest hash");
	if (rc == 0)
		rc = copy_str(in, out, "kind", 16, true, err, errlen) || copy_str(in, out, "criticality", 16, true, err, errlen) ||
		     copy_str(in, out, "manifest", CS_HASH_MAX, true, err, errlen) ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < sizeof(strs) / sizeof(strs[0]); i++)
		rc = copy_str(in, out, strs[i], CS_STR_MAX, strcmp(strs[i], "device") == 0, err, errlen);
	const json_t *adv = json_object_get(in, "advisories");
	if (rc == 0 && adv) {
		size_t i;
		const json_t *a;
		if (!json_is_array(adv) || json_array_size(adv) > CS_ADVISORIES_MAX)
			rc = bad(err, errlen, what, "\"advisories\" is not an array of at most 64 ids");
		json_array_foreach(adv, i, a) {
			if (rc != 0)
				break;
			if (!json_is_string(a) || json_string_length(a) == 0 || json_string_length(a) > CS_STR_MAX)
				rc = bad(err, errlen, what, "an advisory id is not a string of 1 to 128 bytes");
		}
		if (rc == 0 && json_object_set(out, "advisories", (json_t *)adv) != 0)
			rc = bad(err, errlen, what, "out of memory");
	}
	const json_t *asked = json_object_get(in, "asked");
	const json_t *at = json_object_get(in, "auto_at");
	if (rc == 0 && asked && (!json_is_integer(asked) || json_integer_value(asked) < 0))
		rc = bad(err, errlen, what, "\"asked\" is not an epoch");
	if (rc == 0 && at && !json_is_null(at) && (!json_is_integer(at) || json_integer_value(at) < 0))
		rc = bad(err, errlen, what, "\"auto_at\" is not an epoch or null");
	if (rc == 0 && ((asked && json_object_set(out, "asked", (json_t *)asked) != 0) ||
	                json_object_set_new(out, "auto_at", at ? json_incref((json_t *)at) : json_null()) != 0))
		rc = bad(err, errlen, what, "out of memory");
	if (rc == 0 && json_object_set_new(out, "v", json_integer(1)) != 0)
		rc = bad(err, errlen, what, "out of memory");
	json_decref(in);
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
