/*
 * dev_ops.c - operation Notify parsing and report content; see dev_ops.h.
 */
#include "ae/device/dev_ops.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DEV_MAX_DC 512 /* bytes of a report's dc */

const char *dev_op_root(int kind)
{
	switch (kind) {
	case DEV_OP_FIRMWARE: return "m2m:fwr";
	case DEV_OP_SOFTWARE: return "m2m:swr";
	case DEV_OP_REBOOT: return "m2m:rbo";
	default: return NULL;
	}
}

static void why_set(char *why, size_t n, const char *s)
{
	if (why && n)
		snprintf(why, n, "%s", s);
}

/* Printable ASCII without blanks, 1..max-1 bytes. */
static bool is_addr(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool is_ri(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 128)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._~", *s))
			return false;
	return true;
}

/* Is st = {"acn": <string>, "sus": 3}? Copies acn. */
static bool status_in_process(const json_t *st, char *acn, size_t n)
{
	json_t *a = json_object_get(st, "acn"), *s = json_object_get(st, "sus");
	const char *av = json_string_value(a);
	if (!json_is_object(st) || !av || !json_is_integer(s) || json_integer_value(s) != 3 ||
	    !is_addr(av, n) || strlen(av) != json_string_length(a))
		return false;
	snprintf(acn, n, "%s", av);
	return true;
}

static bool flag(const json_t *mo, const char *key)
{
	return json_is_true(json_object_get(mo, key));
}

int dev_notify_parse(const json_t *body, const char *csi, dev_op *op, char *why, size_t whylen)
{
	memset(op, 0, sizeof *op);
	json_t *sgn = json_object_get(body, "m2m:sgn");
	if (!json_is_object(sgn)) {
		why_set(why, whylen, "no m2m:sgn object");
		return DEV_NOTIFY_BAD;
	}
	if (json_is_true(json_object_get(sgn, "vrq"))) {
		why_set(why, whylen, "verification request");
		return DEV_NOTIFY_OTHER;
	}
	if (json_is_true(json_object_get(sgn, "sud"))) {
		why_set(why, whylen, "subscription deletion");
		return DEV_NOTIFY_OTHER;
	}
	json_t *rep = json_object_get(json_object_get(sgn, "nev"), "rep");
	json_t *mo = NULL;
	int kind = DEV_OP_NONE;
	for (int k = DEV_OP_FIRMWARE; k <= DEV_OP_REBOOT; k++)
		if ((mo = json_object_get(rep, dev_op_root(k))) != NULL) {
			kind = k;
			break;
		}
	if (!kind) {
		why_set(why, whylen, "not a firmware, software or reboot representation");
		return DEV_NOTIFY_OTHER;
	}
	if (!json_is_object(mo)) {
		why_set(why, whylen, "representation is not an object");
		return DEV_NOTIFY_BAD;
	}

	/* which operation, if any */
	const char *trigger = NULL;
	const char *status = NULL;
	if (kind == DEV_OP_FIRMWARE && flag(mo, "ud")) {
		trigger = "ud";
		status = "uds";
	} else if (kind == DEV_OP_SOFTWARE) {
		static const char *const t[] = { "in", "un", "act", "dea" };
		static const char *const s[] = { "ins", "ins", "acts", "acts" };
		for (int i = 0; i < 4 && !trigger; i++)
			if (flag(mo, t[i]) && json_is_object(json_object_get(mo, s[i])) &&
			    json_integer_value(json_object_get(json_object_get(mo, s[i]), "sus")) == 3) {
				trigger = t[i];
				status = s[i];
			}
	} else if (kind == DEV_OP_REBOOT) {
		if (flag(mo, "far"))
			trigger = "far";
		else if (flag(mo, "rbo"))
			trigger = "rbo";
	}
	if (!trigger) {
		why_set(why, whylen, "no trigger set (not an operation start)");
		return DEV_NOTIFY_OTHER;
	}
	if (status && !status_in_process(json_object_get(mo, status), op->acn, sizeof op->acn)) {
		why_set(why, whylen, "trigger set but its status is not {acn, sus 3}");
		return DEV_NOTIFY_OTHER;
	}

	/* where the report goes */
	const char *ri = json_string_value(json_object_get(mo, "ri"));
	const char *sur = json_string_value(json_object_get(sgn, "sur"));
	if (is_ri(ri) && csi && strlen(csi) + strlen(ri) + 2 <= sizeof op->to)
		snprintf(op->to, sizeof op->to, "%s/%s", csi, ri);
	else if (is_addr(sur, sizeof op->to))
		snprintf(op->to, sizeof op->to, "%s", sur);
	else {
		memset(op, 0, sizeof *op);
		why_set(why, whylen, "neither a usable ri nor sur: nowhere to report");
		return DEV_NOTIFY_BAD;
	}

	op->kind = kind;
	snprintf(op->trigger, sizeof op->trigger, "%s", trigger);
	const char *url = json_string_value(json_object_get(mo, "url"));
	if (url && strlen(url) < sizeof op->url)
		snprintf(op->url, sizeof op->url, "%s", url);
	else if (url)
		snprintf(op->url, sizeof op->url, "%s", "-"); /* too long: fails the fetch */
	const char *swn = json_string_value(json_object_get(mo, "swn"));
	if (kind == DEV_OP_SOFTWARE && dev_is_token(swn))
		snprintf(op->name, sizeof op->name, "%s", swn);
	op->phase = DEV_PH_ACCEPTED;
	why_set(why, whylen, "operation");
	return DEV_NOTIFY_OP;
}

json_t *dev_report_pc(const dev_op *op, bool ok, const char *code, const char *text, const char *vr)
{
	const char *root = dev_op_root(op->kind);
	char dc[DEV_MAX_DC];
	if (!root)
		return NULL;
	if (ok)
		snprintf(dc, sizeof dc, "ok");
	else if (text && text[0])
		snprintf(dc, sizeof dc, "%s: %s", code ? code : "install-failed", text);
	else
		snprintf(dc, sizeof dc, "%s", code ? code : "install-failed");
	json_t *mo = json_pack("{s:s}", "dc", dc);
	if (!mo)
		return NULL;
	int rc = 0;
	if (op->kind == DEV_OP_REBOOT) {
		rc |= json_object_set_new(mo, op->trigger, json_false());
	} else {
		const char *status = strcmp(op->trigger, "ud") == 0 ? "uds"
		                   : (strcmp(op->trigger, "in") == 0 || strcmp(op->trigger, "un") == 0) ? "ins"
		                   : "acts";
		rc |= json_object_set_new(mo, status, json_pack("{s:s,s:i}", "acn", op->acn, "sus", ok ? 1 : 2));
		if (ok && vr && vr[0])
			rc |= json_object_set_new(mo, "vr", json_string(vr));
	}
	json_t *pc = rc ? NULL : json_object();
	if (!pc) {
		json_decref(mo);
		return NULL;
	}
	if (json_object_set_new(pc, root, mo)) { /* steals mo */
		json_decref(pc);
		return NULL;
	}
	return pc;
}
