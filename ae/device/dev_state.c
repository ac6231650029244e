/*
 * dev_state.c - the device's persistent state; see dev_state.h.
 *
 * Document (format 1):
 *   {"format":1, "aei":"C...", "running":"A", "boots":3,
 *    "slots":{"A":{"state":"good","vr":"1.0.0"},"B":{"state":"empty","vr":""}},
 *    "software":[{"swn":"app","vr":"1.2","active":true,"mo":""}],
 *    "pending":{"kind":"firmware","trigger":"ud","acn":"...","to":"...",
 *               "url":"...","swn":"","phase":"downloaded","slot":"B","new_vr":""},
 *    "outbox":[{"to":"...","pc":{...}}],
 *    "last_acn":"..."}
 */
#include "ae/device/dev_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const slot_states[] = { "empty", "good", "pending", "bad" };
static const char *const kinds[] = { "none", "firmware", "software", "reboot" };
static const char *const phases[] = { "accepted", "downloaded", "installed", "booting", "confirmed" };
static const char *const triggers[] = { "ud", "in", "un", "act", "dea", "rbo", "far" };

const char *dev_slot_name(int slot)
{
	return slot ? "B" : "A";
}

const char *dev_phase_name(int phase)
{
	return phase >= 0 && phase <= DEV_PH_CONFIRMED ? phases[phase] : "?";
}

void dev_state_clear(dev_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nout && i < DEV_MAX_OUTBOX; i++)
		json_decref(st->outbox[i].pc);
	memset(st, 0, sizeof *st);
}

void dev_state_factory(dev_state *st, const dev_config *cfg, const char *aei)
{
	char keep[DEV_MAX_AEI + 1];
	unsigned long boots = st->boots;
	snprintf(keep, sizeof keep, "%s", aei ? aei : "");
	dev_state_clear(st);
	snprintf(st->aei, sizeof st->aei, "%s", keep);
	st->boots = boots;
	st->running = 0;
	st->slot[0].state = DEV_SLOT_GOOD;
	snprintf(st->slot[0].vr, sizeof st->slot[0].vr, "%s", cfg->fw_version);
	st->slot[1].state = DEV_SLOT_EMPTY;
	for (size_t i = 0; i < cfg->npackages && i < DEV_MAX_SW; i++) {
		snprintf(st->sw[i].name, sizeof st->sw[i].name, "%s", cfg->packages[i].name);
		snprintf(st->sw[i].vr, sizeof st->sw[i].vr, "%s", cfg->packages[i].version);
		st->sw[i].active = true;
		st->nsw++;
	}
}

dev_sw *dev_state_sw(dev_state *st, const char *name)
{
	for (size_t i = 0; i < st->nsw; i++)
		if (strcmp(st->sw[i].name, name) == 0)
			return &st->sw[i];
	return NULL;
}

int dev_outbox_push(dev_state *st, const char *to, json_t *pc, bool persist)
{
	int dropped = 0;
	if (st->nout == DEV_MAX_OUTBOX) {
		dev_outbox_pop(st);
		dropped = 1;
	}
	dev_update *u = &st->outbox[st->nout++];
	snprintf(u->to, sizeof u->to, "%s", to);
	u->pc = pc;
	u->persist = persist;
	return dropped;
}

void dev_outbox_pop(dev_state *st)
{
	if (st->nout == 0)
		return;
	json_decref(st->outbox[0].pc);
	memmove(&st->outbox[0], &st->outbox[1], (st->nout - 1) * sizeof st->outbox[0]);
	st->nout--;
	memset(&st->outbox[st->nout], 0, sizeof st->outbox[0]);
}

/* ---- serialisation ------------------------------------------------------- */

json_t *dev_state_to_json(const dev_state *st)
{
	json_t *doc = json_object(), *slots, *sw, *out;
	if (!doc)
		return NULL;
	/* each container belongs to doc at once (set_new also steals on failure) */
	if (json_object_set_new(doc, "slots", slots = json_object()) ||
	    json_object_set_new(doc, "software", sw = json_array()) ||
	    json_object_set_new(doc, "outbox", out = json_array()))
		goto fail;
	for (int i = 0; i < 2; i++) {
		int s = st->slot[i].state >= 0 && st->slot[i].state <= DEV_SLOT_BAD ? st->slot[i].state : 0;
		if (json_object_set_new(slots, dev_slot_name(i),
		                        json_pack("{s:s,s:s}", "state", slot_states[s], "vr", st->slot[i].vr)))
			goto fail;
	}
	for (size_t i = 0; i < st->nsw; i++)
		if (json_array_append_new(sw, json_pack("{s:s,s:s,s:b,s:s}", "swn", st->sw[i].name, "vr",
		                                        st->sw[i].vr, "active", st->sw[i].active, "mo",
		                                        st->sw[i].mo)))
			goto fail;
	for (size_t i = 0; i < st->nout; i++) {
		if (!st->outbox[i].persist)
			continue;
		if (json_array_append_new(out, json_pack("{s:s,s:O}", "to", st->outbox[i].to, "pc",
		                                         st->outbox[i].pc)))
			goto fail;
	}
	if (json_object_set_new(doc, "format", json_integer(1)) ||
	    json_object_set_new(doc, "aei", json_string(st->aei)) ||
	    json_object_set_new(doc, "running", json_string(dev_slot_name(st->running))) ||
	    json_object_set_new(doc, "boots", json_integer((json_int_t)st->boots)) ||
	    json_object_set_new(doc, "last_acn", json_string(st->last_acn)))
		goto fail;
	if (st->has_pending) {
		const dev_op *p = &st->pending;
		int k = p->kind > DEV_OP_NONE && p->kind <= DEV_OP_REBOOT ? p->kind : 0;
		if (json_object_set_new(doc, "pending",
		                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", kinds[k],
		                                  "trigger", p->trigger, "acn", p->acn, "to", p->to,
		                                  "url", p->url, "swn", p->name, "phase",
		                                  dev_phase_name(p->phase), "slot", dev_slot_name(p->slot),
		                                  "new_vr", p->new_vr)))
			goto fail;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

static void err_set(char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", what);
}

/* Copy string member key of o into dst (size n). Absent: "" when optional. */
static int get_str(const json_t *o, const char *key, char *dst, size_t n, bool optional)
{
	json_t *v = json_object_get(o, key);
	if (!v && optional) {
		dst[0] = '\0';
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || strlen(s) >= n || strlen(s) != json_string_length(v))
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int name_idx(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (s && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static int slot_idx(const char *s)
{
	if (s && strcmp(s, "A") == 0)
		return 0;
	if (s && strcmp(s, "B") == 0)
		return 1;
	return -1;
}

static int op_from_json(dev_op *p, const json_t *o)
{
	char kind[16], phase[16], slot[4];
	if (!json_is_object(o) || get_str(o, "kind", kind, sizeof kind, false) ||
	    get_str(o, "trigger", p->trigger, sizeof p->trigger, false) ||
	    get_str(o, "acn", p->acn, sizeof p->acn, true) ||
	    get_str(o, "to", p->to, sizeof p->to, false) ||
	    get_str(o, "url", p->url, sizeof p->url, true) ||
	    get_str(o, "swn", p->name, sizeof p->name, true) ||
	    get_str(o, "phase", phase, sizeof phase, false) ||
	    get_str(o, "slot", slot, sizeof slot, true) ||
	    get_str(o, "new_vr", p->new_vr, sizeof p->new_vr, true))
		return -1;
	p->kind = name_idx(kind, kinds, 4);
	p->phase = name_idx(phase, phases, 5);
	p->slot = slot[0] ? slot_idx(slot) : 0;
	if (p->kind <= DEV_OP_NONE || p->phase < 0 || p->slot < 0 || !p->to[0] ||
	    name_idx(p->trigger, triggers, 7) < 0 || (p->new_vr[0] && !dev_is_version(p->new_vr)))
		return -1;
	return 0;
}

int dev_state_from_json(dev_state *st, const json_t *doc, char *err, size_t errlen)
{
	char running[4];
	const char *what = "not a JSON object";
	memset(st, 0, sizeof *st);
	if (!json_is_object(doc))
		goto bad;
	what = "unknown format (want 1)";
	if (json_integer_value(json_object_get(doc, "format")) != 1)
		goto bad;
	what = "bad aei, running or last_acn";
	if (get_str(doc, "aei", st->aei, sizeof st->aei, true) ||
	    get_str(doc, "running", running, sizeof running, false) || slot_idx(running) < 0 ||
	    get_str(doc, "last_acn", st->last_acn, sizeof st->last_acn, true))
		goto bad;
	st->running = slot_idx(running);
	json_t *b = json_object_get(doc, "boots");
	what = "bad boots";
	if (b && (!json_is_integer(b) || json_integer_value(b) < 0))
		goto bad;
	st->boots = b ? (unsigned long)json_integer_value(b) : 0;

	json_t *slots = json_object_get(doc, "slots");
	what = "bad slots";
	if (!json_is_object(slots))
		goto bad;
	for (int i = 0; i < 2; i++) {
		json_t *s = json_object_get(slots, dev_slot_name(i));
		char sst[16];
		if (!json_is_object(s) || get_str(s, "state", sst, sizeof sst, false) ||
		    get_str(s, "vr", st->slot[i].vr, sizeof st->slot[i].vr, true))
			goto bad;
		st->slot[i].state = name_idx(sst, slot_states, 4);
		if (st->slot[i].state < 0 || (st->slot[i].vr[0] && !dev_is_version(st->slot[i].vr)))
			goto bad;
	}
	what = "the running slot is not good";
	if (st->slot[st->running].state != DEV_SLOT_GOOD)
		goto bad;

	json_t *sw = json_object_get(doc, "software");
	what = "bad software list";
	if (sw && (!json_is_array(sw) || json_array_size(sw) > DEV_MAX_SW))
		goto bad;
	for (size_t i = 0; sw && i < json_array_size(sw); i++) {
		json_t *e = json_array_get(sw, i);
		dev_sw *s = &st->sw[i];
		if (!json_is_object(e) || get_str(e, "swn", s->name, sizeof s->name, false) ||
		    get_str(e, "vr", s->vr, sizeof s->vr, false) ||
		    get_str(e, "mo", s->mo, sizeof s->mo, true) || !dev_is_token(s->name) ||
		    !dev_is_version(s->vr) || !json_is_boolean(json_object_get(e, "active")))
			goto bad;
		s->active = json_is_true(json_object_get(e, "active"));
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->sw[j].name, s->name) == 0)
				goto bad;
		st->nsw++;
	}

	json_t *p = json_object_get(doc, "pending");
	what = "bad pending operation";
	if (p && !json_is_null(p)) {
		if (op_from_json(&st->pending, p) != 0)
			goto bad;
		st->has_pending = true;
	}

	json_t *out = json_object_get(doc, "outbox");
	what = "bad outbox";
	if (out && (!json_is_array(out) || json_array_size(out) > DEV_MAX_OUTBOX))
		goto bad;
	for (size_t i = 0; out && i < json_array_size(out); i++) {
		json_t *e = json_array_get(out, i);
		char to[DEV_MAX_ADDR];
		json_t *pc = json_object_get(e, "pc");
		if (get_str(e, "to", to, sizeof to, false) || !to[0] || !json_is_object(pc))
			goto bad;
		dev_outbox_push(st, to, json_incref(pc), true);
	}
	return 0;
bad:
	dev_state_clear(st);
	err_set(err, errlen, what);
	return -1;
}

/* ---- files --------------------------------------------------------------- */

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int dev_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return fsync_dir_of(path);
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

static int state_path(char *buf, size_t n, const char *dir)
{
	int w = snprintf(buf, n, "%s/state.json", dir);
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

int dev_state_load(dev_state *st, const char *dir, char *err, size_t errlen)
{
	char path[4096], why[200];
	memset(st, 0, sizeof *st);
	if (state_path(path, sizeof path, dir) != 0) {
		err_set(err, errlen, "state directory path too long");
		return -1;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(DEV_MAX_STATE_FILE + 1);
	size_t len = buf ? fread(buf, 1, DEV_MAX_STATE_FILE + 1, f) : 0;
	bool rerr = ferror(f) != 0;
	fclose(f);
	if (!buf || rerr || len > DEV_MAX_STATE_FILE) {
		free(buf);
		snprintf(err, errlen, "%s: %s", path, !buf ? "out of memory" : rerr ? "read error" : "larger than 1 MiB");
		return -1;
	}
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!doc) {
		snprintf(err, errlen, "%s: not JSON (%s, line %d)", path, je.text, je.line);
		return -1;
	}
	int rc = dev_state_from_json(st, doc, why, sizeof why);
	json_decref(doc);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	return 1;
}

int dev_state_save(const dev_state *st, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	if (state_path(path, sizeof path, dir) != 0) {
		err_set(err, errlen, "state directory path too long");
		return -1;
	}
	json_t *doc = dev_state_to_json(st);
	char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text) {
		err_set(err, errlen, "out of memory");
		return -1;
	}
	size_t len = strlen(text);
	int rc = 0;
	if (len > DEV_MAX_STATE_FILE) {
		err_set(err, errlen, "state document larger than 1 MiB");
		rc = -1;
	} else if (dev_write_atomic(path, text, len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(text);
	return rc;
}
