/*
 * dev_agent.c - the hearth-device agent; see dev_agent.h.
 *
 * Invariants (under a->mu):
 *   - busy is true from the moment an operation is accepted (or found
 *     pending at start) until its end is committed (finish_locked clears it
 *     in the same step that queues the report); cur_key names it (acn, or
 *     "<to>#<trigger>" for a reboot, which has no acn). The worker runs at
 *     most one operation: a job queued while it is still returning from the
 *     previous one waits for its next loop.
 *   - st.has_pending is true exactly while an operation accepted by the
 *     worker has not been committed; the commit (finish_locked) clears it,
 *     records last_acn, queues the report and writes the state in one step.
 *   - the running slot changes only at the confirm step of a firmware
 *     update, and only to a slot whose image passed the health check.
 *   - the file of the running slot is never written (except by a factory
 *     reset, which rewrites slot A and makes it the running one); downloads
 *     go to "<inactive slot>.part" and are renamed over the inactive slot.
 */
#include "ae/device/dev_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ae/device/dev_attest.h"
#include "ae/device/dev_image.h"
#include "ae/device/dev_ops.h"
#include "ae/device/dev_state.h"
#include "ae/lib/m2m_client.h"
#include "cse/log.h"

#define DEV_MAX_NOTIFY_BODY (64u * 1024u)  /* a Notify content */
#define DEV_NOTIFY_CONN_LIMIT 32u
#define DEV_NOTIFY_CONN_TIMEOUT_S 10u
#define DEV_RETRY_MIN_MS 500L
#define DEV_RETRY_MAX_MS 30000L
#define DEV_PATH_MAX 4200

struct dev_agent {
	const dev_config *cfg;
	char csi[160];                 /* "/<cse-id>" */
	char cse_addr[300];            /* "/<cse-id>/<cse-rn>" */
	char node_addr[450];           /* "/<cse-id>/<cse-rn>/<node-name>" */
	char ni[256];
	char poa[600];
	char slot_path[2][DEV_PATH_MAX];
	m2m_client *cl;
	struct MHD_Daemon *mhd;
	dev_attest_key *key;           /* NULL: a keyless device */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	dev_state st;
	bool ready;                    /* the AE-ID is known: work may start */
	bool busy;
	char cur_key[DEV_MAX_ADDR + 16];
	bool resume;                   /* st.pending was found at start */
	bool has_job;
	dev_op job;
	atomic_bool stop;

	pthread_t worker, reporter;
	bool worker_on, reporter_on;
};

/* ---- small helpers ------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[DEV_PATH_MAX];
	int n = snprintf(buf, sizeof buf, "%s", path);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (!c)
			break;
	}
	struct stat st;
	return (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) ? 0 : -1;
}

static int pkg_path(const dev_agent *a, const char *name, char *buf, size_t n)
{
	int w = snprintf(buf, n, "%s/pkg-%s.img", a->cfg->state_dir, name);
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* Write the state; a failure is logged (the operation goes on: the worst
 * case is a report repeated or an operation reported interrupted). Call
 * with a->mu held. */
static void save_locked(dev_agent *a)
{
	char err[512];
	if (dev_state_save(&a->st, a->cfg->state_dir, err, sizeof err) != 0)
		log_error("cannot write the state file: %s", err);
}

static void op_key(const dev_op *op, char *buf, size_t n)
{
	if (op->acn[0])
		snprintf(buf, n, "%s", op->acn);
	else
		snprintf(buf, n, "%s#%s", op->to, op->trigger);
}

static const char *op_kind_name(int kind)
{
	return kind == DEV_OP_FIRMWARE ? "firmware" : kind == DEV_OP_SOFTWARE ? "software" : "reboot";
}

/* The debug text of an error response, for logs. */
static const char *res_dbg(const m2m_result *r)
{
	const char *d = json_string_value(json_object_get(r->body, "m2m:dbg"));
	if (d)
		return d;
	return r->error[0] ? r->error : "";
}

/* What went wrong with a request, for logs: the transport error or the
 * response status code and its debug text. */
static const char *res_why(const m2m_result *r, int rc, char *buf, size_t n)
{
	if (rc != 0 || r->http_status == 0)
		snprintf(buf, n, "%s", r->error[0] ? r->error : "no response");
	else
		snprintf(buf, n, "rsc %d%s%s", r->rsc, res_dbg(r)[0] ? ": " : "", res_dbg(r));
	return buf;
}

/* A request that may be retried: no response, or a 5xxx. */
static bool res_transient(const m2m_result *r, int rc)
{
	return rc != 0 || r->http_status == 0 || r->rsc >= 5000 || (r->rsc == 0 && r->http_status >= 500);
}

static void crash_hook(dev_agent *a, int phase)
{
	if (a->cfg->crash_after != phase)
		return;
	static const char *const names[] = { "", "download", "install", "confirm" };
	log_warn("test hook: killing the agent after %s (--test-crash-after)", names[phase]);
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/* ---- reports ------------------------------------------------------------- */

/* Commit the end of op (the pending one, or one that never became
 * pending): queue its report, record last_acn, clear the pending operation
 * and the busy mark, write the state. Follow-up updates queued right after,
 * under the same lock hold, go out after the report. */
static void finish_locked(dev_agent *a, const dev_op *op, bool ok, const char *code, const char *text,
                          const char *vr)
{
	json_t *pc = dev_report_pc(op, ok, code, text, vr);
	if (!pc)
		log_error("out of memory building the report of %s", op->acn);
	else if (dev_outbox_push(&a->st, op->to, pc, true))
		log_warn("outbox full: the oldest undelivered update was dropped");
	if (ok)
		log_info("%s %s %s: successful%s%s", op_kind_name(op->kind), op->trigger,
		         op->acn[0] ? op->acn : op->to, vr && vr[0] ? ", version " : "", vr ? vr : "");
	else
		log_warn("%s %s %s: failed: %s: %s", op_kind_name(op->kind), op->trigger,
		         op->acn[0] ? op->acn : op->to, code, text ? text : "");
	if (op->acn[0])
		snprintf(a->st.last_acn, sizeof a->st.last_acn, "%s", op->acn);
	a->st.has_pending = false;
	memset(&a->st.pending, 0, sizeof a->st.pending);
	/* free for the next operation before the report can reach the gateway,
	 * which may answer it with the next Notify at once */
	a->busy = false;
	a->cur_key[0] = '\0';
	save_locked(a);
	pthread_cond_broadcast(&a->cv);
}

/* Queue an Update of one of the device's own mgmtObjs (deviceInfo fwv,
 * firmware vr after a factory reset...). root/attrs: e.g. "m2m:dvi",
 * {"fwv": "2.0"} (stolen). Written with the next save. */
static void followup_locked(dev_agent *a, const char *rn, const char *root, json_t *attrs)
{
	char to[DEV_MAX_ADDR];
	int n = snprintf(to, sizeof to, "%s/%s", a->node_addr, rn);
	json_t *pc = json_object();
	if (n < 0 || (size_t)n >= sizeof to || !attrs || !pc || json_object_set_new(pc, root, attrs)) {
		if (!pc)
			json_decref(attrs);
		json_decref(pc);
		return;
	}
	if (dev_outbox_push(&a->st, to, pc, true))
		log_warn("outbox full: the oldest undelivered update was dropped");
}

/* Deliver one Update. Returns 0 delivered or refused for good (logged), -1
 * to retry later. */
static int send_update(dev_agent *a, const char *aei, const char *to, const json_t *pc)
{
	m2m_result r;
	int rc = m2m_do(a->cl, M2M_OP_UPDATE, to, aei, -1, pc, NULL, &r);
	int out = 0;
	if (res_transient(&r, rc)) {
		char why[400];
		log_warn("update of %s not delivered (%s): will retry", to, res_why(&r, rc, why, sizeof why));
		out = -1;
	} else if (r.rsc == 2004 || r.rsc == 2000) {
		log_info("update of %s delivered (%d)", to, r.rsc);
	} else {
		log_warn("update of %s refused by the CSE (rsc %d: %s); dropped", to, r.rsc, res_dbg(&r));
	}
	m2m_result_clear(&r);
	return out;
}

static void *reporter_main(void *arg)
{
	dev_agent *a = arg;
	long backoff = 0;
	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stop)) {
		if (!a->ready || a->st.nout == 0) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		char to[DEV_MAX_ADDR], aei[DEV_MAX_AEI + 1];
		json_t *pc = json_incref(a->st.outbox[0].pc);
		bool persist = a->st.outbox[0].persist;
		snprintf(to, sizeof to, "%s", a->st.outbox[0].to);
		snprintf(aei, sizeof aei, "%s", a->st.aei);
		pthread_mutex_unlock(&a->mu);
		int rc = send_update(a, aei, to, pc);
		pthread_mutex_lock(&a->mu);
		if (rc == 0) {
			/* the head may have been dropped meanwhile (outbox full) */
			if (a->st.nout > 0 && a->st.outbox[0].pc == pc) {
				dev_outbox_pop(&a->st);
				if (persist)
					save_locked(a);
			}
			backoff = 0;
		} else {
			backoff = backoff ? backoff * 2 : DEV_RETRY_MIN_MS;
			if (backoff > DEV_RETRY_MAX_MS)
				backoff = DEV_RETRY_MAX_MS;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += backoff / 1000;
			ts.tv_nsec += (backoff % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!atomic_load(&a->stop) &&
			       pthread_cond_timedwait(&a->cv, &a->mu, &ts) != ETIMEDOUT)
				;
		}
		json_decref(pc);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- simulated boot ------------------------------------------------------ */

/* "Reboot": reload the state from its file as a fresh boot would, keep the
 * undelivered in-memory reports and count the boot. trial >= 0: a trial
 * boot of that slot (the caller runs its health check); otherwise the
 * running image is checked. Call with a->mu held. */
static void reboot_locked(dev_agent *a, int trial)
{
	dev_state fresh;
	char err[512] = "state file missing", vr[DEV_MAX_VERSION + 1], why[200];
	if (dev_state_load(&fresh, a->cfg->state_dir, err, sizeof err) == 1) {
		for (size_t i = 0; i < a->st.nout; i++)
			if (!a->st.outbox[i].persist)
				dev_outbox_push(&fresh, a->st.outbox[i].to, json_incref(a->st.outbox[i].pc), false);
		dev_state_clear(&a->st);
		a->st = fresh;
	} else {
		log_error("reboot: cannot reload the state file (%s); keeping the state in memory", err);
	}
	a->st.boots++;
	if (trial >= 0)
		log_info("boot %lu: trial boot of slot %s", a->st.boots, dev_slot_name(trial));
	else if (dev_image_check_file(a->slot_path[a->st.running], vr, sizeof vr, why, sizeof why) != 0)
		log_error("boot %lu: running slot %s does not parse: %s", a->st.boots,
		          dev_slot_name(a->st.running), why);
	else
		log_info("boot %lu: running slot %s, firmware %s", a->st.boots, dev_slot_name(a->st.running), vr);
}

/* ---- operations ---------------------------------------------------------- */

/* Accept op as pending and write it. Returns with a->mu released. */
static void begin_op(dev_agent *a, const dev_op *op)
{
	pthread_mutex_lock(&a->mu);
	a->st.pending = *op;
	a->st.has_pending = true;
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
}

static void end_op(dev_agent *a, const dev_op *op, bool ok, const char *code, const char *text,
                   const char *vr)
{
	pthread_mutex_lock(&a->mu);
	finish_locked(a, op, ok, code, text, vr);
	pthread_mutex_unlock(&a->mu);
}

/* Check the URL and fetch it into path. Returns true when the verified
 * image is in path; otherwise the operation was ended (or, when stopping,
 * left pending) and false is returned. */
static bool fetch_image(dev_agent *a, const dev_op *op, const char *path)
{
	char base[DEV_MAX_URL], why[512];
	unsigned char digest[32];
	if (!op->url[0]) {
		end_op(a, op, false, "download-failed", "the mgmtObj has no url", NULL);
		return false;
	}
	if (dev_url_digest(op->url, base, sizeof base, digest) != 0) {
		end_op(a, op, false, "no-digest", "the image URL has no #sha256=<64 hex digits> fragment", NULL);
		return false;
	}
	if (!dev_url_fetchable(base)) {
		end_op(a, op, false, "download-failed", "only http:// and https:// URLs are fetched", NULL);
		return false;
	}
	dev_fetch f = { .url = base, .sha256 = digest, .path = path, .max_bytes = a->cfg->max_image,
	                .timeout_s = a->cfg->download_timeout, .stop = &a->stop };
	log_info("%s %s %s: downloading %s", op_kind_name(op->kind), op->trigger, op->acn, base);
	int r = dev_fetch_run(&f, why, sizeof why);
	if (r == DEV_FETCH_OK) {
		log_info("%s %s %s: image verified (%s)", op_kind_name(op->kind), op->trigger, op->acn, why);
		return true;
	}
	if (r == DEV_FETCH_STOPPED) {
		log_warn("%s %s %s: download interrupted by shutdown; reported at the next start",
		         op_kind_name(op->kind), op->trigger, op->acn);
		return false;
	}
	end_op(a, op, false, r == DEV_FETCH_MISMATCH ? "digest-mismatch" : "download-failed", why, NULL);
	return false;
}

static int rename_synced(const char *from, const char *to)
{
	if (rename(from, to) != 0)
		return -1;
	/* a directory sync makes the rename durable */
	char dir[DEV_PATH_MAX];
	snprintf(dir, sizeof dir, "%s", to);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static void firmware_update(dev_agent *a, dev_op *op)
{
	char part[DEV_PATH_MAX + 8], vr[DEV_MAX_VERSION + 1], why[256];

	pthread_mutex_lock(&a->mu);
	op->slot = 1 - a->st.running;
	pthread_mutex_unlock(&a->mu);
	const char *slot_file = a->slot_path[op->slot];
	snprintf(part, sizeof part, "%s.part", slot_file);
	op->phase = DEV_PH_ACCEPTED;
	begin_op(a, op);
	if (!fetch_image(a, op, part))
		return;

	pthread_mutex_lock(&a->mu);
	a->st.pending.phase = DEV_PH_DOWNLOADED;
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
	crash_hook(a, DEV_CRASH_DOWNLOAD);

	if (rename_synced(part, slot_file) != 0) {
		snprintf(why, sizeof why, "cannot install into slot %s: %s", dev_slot_name(op->slot), strerror(errno));
		unlink(part);
		end_op(a, op, false, "install-failed", why, NULL);
		return;
	}
	pthread_mutex_lock(&a->mu);
	a->st.slot[op->slot].state = DEV_SLOT_PENDING;
	a->st.slot[op->slot].vr[0] = '\0';
	a->st.pending.phase = DEV_PH_INSTALLED;
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
	log_info("firmware ud %s: installed into slot %s", op->acn, dev_slot_name(op->slot));
	crash_hook(a, DEV_CRASH_INSTALL);

	/* reboot into the new slot: a trial boot that must pass the health check */
	pthread_mutex_lock(&a->mu);
	a->st.pending.phase = DEV_PH_BOOTING;
	save_locked(a);
	log_info("firmware ud %s: rebooting into slot %s", op->acn, dev_slot_name(op->slot));
	reboot_locked(a, op->slot);
	pthread_mutex_unlock(&a->mu);
	if (dev_image_check_file(slot_file, vr, sizeof vr, why, sizeof why) != 0) {
		pthread_mutex_lock(&a->mu);
		a->st.slot[op->slot].state = DEV_SLOT_BAD;
		log_warn("firmware ud %s: slot %s failed its health check; slot %s keeps running", op->acn,
		         dev_slot_name(op->slot), dev_slot_name(a->st.running));
		finish_locked(a, op, false, "health-check-failed", why, NULL);
		pthread_mutex_unlock(&a->mu);
		return;
	}

	/* confirm */
	pthread_mutex_lock(&a->mu);
	a->st.running = op->slot;
	a->st.slot[op->slot].state = DEV_SLOT_GOOD;
	snprintf(a->st.slot[op->slot].vr, sizeof a->st.slot[op->slot].vr, "%s", vr);
	a->st.pending.phase = DEV_PH_CONFIRMED;
	snprintf(a->st.pending.new_vr, sizeof a->st.pending.new_vr, "%s", vr);
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
	log_info("firmware ud %s: slot %s confirmed, firmware %s", op->acn, dev_slot_name(op->slot), vr);
	crash_hook(a, DEV_CRASH_CONFIRM);

	pthread_mutex_lock(&a->mu);
	finish_locked(a, op, true, NULL, NULL, vr);
	followup_locked(a, "deviceInfo", "m2m:dvi", json_pack("{s:s}", "fwv", vr));
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
}

static void software_op(dev_agent *a, dev_op *op)
{
	char path[DEV_PATH_MAX], part[DEV_PATH_MAX + 8], vr[DEV_MAX_VERSION + 1], why[256];
	if (!op->name[0]) {
		end_op(a, op, false, "install-failed", "the software has no usable swn", NULL);
		return;
	}
	if (pkg_path(a, op->name, path, sizeof path) != 0) {
		end_op(a, op, false, "install-failed", "package path too long", NULL);
		return;
	}
	snprintf(part, sizeof part, "%s.part", path);
	op->phase = DEV_PH_ACCEPTED;

	if (strcmp(op->trigger, "in") == 0) {
		pthread_mutex_lock(&a->mu);
		bool full = !dev_state_sw(&a->st, op->name) && a->st.nsw >= DEV_MAX_SW;
		pthread_mutex_unlock(&a->mu);
		if (full) {
			end_op(a, op, false, "install-failed", "too many software packages", NULL);
			return;
		}
		begin_op(a, op);
		if (!fetch_image(a, op, part))
			return;
		if (dev_image_check_file(part, vr, sizeof vr, why, sizeof why) != 0) {
			unlink(part);
			end_op(a, op, false, "install-failed", why, NULL);
			return;
		}
		if (rename_synced(part, path) != 0) {
			snprintf(why, sizeof why, "cannot install the package: %s", strerror(errno));
			unlink(part);
			end_op(a, op, false, "install-failed", why, NULL);
			return;
		}
		pthread_mutex_lock(&a->mu);
		dev_sw *s = dev_state_sw(&a->st, op->name);
		if (!s) {
			s = &a->st.sw[a->st.nsw++];
			memset(s, 0, sizeof *s);
			snprintf(s->name, sizeof s->name, "%s", op->name);
			s->active = false;
		}
		snprintf(s->vr, sizeof s->vr, "%s", vr);
		snprintf(s->mo, sizeof s->mo, "%s", op->to);
		finish_locked(a, op, true, NULL, NULL, vr);
		pthread_mutex_unlock(&a->mu);
		return;
	}

	begin_op(a, op);
	pthread_mutex_lock(&a->mu);
	dev_sw *s = dev_state_sw(&a->st, op->name);
	if (strcmp(op->trigger, "un") == 0) {
		if (s) {
			size_t i = (size_t)(s - a->st.sw);
			memmove(&a->st.sw[i], &a->st.sw[i + 1], (a->st.nsw - i - 1) * sizeof a->st.sw[0]);
			a->st.nsw--;
			unlink(path);
		} else {
			log_info("software un %s: %s is not installed; nothing to do", op->acn, op->name);
		}
		finish_locked(a, op, true, NULL, NULL, NULL);
	} else if (!s) {
		snprintf(why, sizeof why, "%s is not installed", op->name);
		finish_locked(a, op, false, "install-failed", why, NULL);
	} else {
		s->active = strcmp(op->trigger, "act") == 0;
		finish_locked(a, op, true, NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&a->mu);
}

static void reboot_op(dev_agent *a, dev_op *op)
{
	op->phase = DEV_PH_ACCEPTED;
	begin_op(a, op);
	pthread_mutex_lock(&a->mu);
	if (strcmp(op->trigger, "rbo") == 0) {
		log_info("reboot %s: rebooting", op->to);
		reboot_locked(a, -1);
		finish_locked(a, op, true, NULL, NULL, NULL);
		pthread_mutex_unlock(&a->mu);
		return;
	}
	/* factory reset: the configured initial state, the same AE-ID. Order:
	 * the factory image into slot A (atomic), then the state (the commit),
	 * then the files nothing refers to any more. A crash before the commit
	 * leaves the old state, reported interrupted at the next start (slot A
	 * then holds the factory image; the start-up check follows the image). */
	char aei[DEV_MAX_AEI + 1], path[DEV_PATH_MAX];
	char gone[DEV_MAX_SW][DEV_MAX_TOKEN + 1];
	size_t ngone = 0;
	snprintf(aei, sizeof aei, "%s", a->st.aei);
	log_info("reboot %s: factory reset", op->to);
	if (dev_image_write_factory(a->slot_path[0], a->cfg->fw_name, a->cfg->fw_version) != 0) {
		char why[200];
		snprintf(why, sizeof why, "cannot rewrite the factory image: %s", strerror(errno));
		finish_locked(a, op, false, "install-failed", why, NULL);
		pthread_mutex_unlock(&a->mu);
		return;
	}
	for (size_t i = 0; i < a->st.nsw; i++)
		snprintf(gone[ngone++], sizeof gone[0], "%s", a->st.sw[i].name);
	/* keep what must outlive the reset: undelivered updates, the operation */
	dev_state old = a->st;
	memset(&a->st, 0, sizeof a->st);
	dev_state_factory(&a->st, a->cfg, aei);
	a->st.boots = old.boots + 1;
	memcpy(a->st.outbox, old.outbox, sizeof old.outbox);
	a->st.nout = old.nout;
	a->st.pending = old.pending;
	a->st.has_pending = old.has_pending;
	finish_locked(a, op, true, NULL, NULL, NULL);
	followup_locked(a, "firmware", "m2m:fwr", json_pack("{s:s}", "vr", a->cfg->fw_version));
	followup_locked(a, "deviceInfo", "m2m:dvi", json_pack("{s:s}", "fwv", a->cfg->fw_version));
	for (size_t i = 0; i < a->st.nsw; i++) {
		char rn[DEV_MAX_TOKEN + 8];
		snprintf(rn, sizeof rn, "sw-%s", a->st.sw[i].name);
		followup_locked(a, rn, "m2m:swr", json_pack("{s:s}", "vr", a->st.sw[i].vr));
	}
	save_locked(a);
	unlink(a->slot_path[1]);
	for (size_t i = 0; i < ngone; i++)
		if (pkg_path(a, gone[i], path, sizeof path) == 0)
			unlink(path);
	pthread_mutex_unlock(&a->mu);
}

/* The operation found in the state file at start (see dev_agent.h). */
static void resume_op(dev_agent *a)
{
	pthread_mutex_lock(&a->mu);
	dev_op op = a->st.pending;
	log_warn("%s %s %s was interrupted in phase %s", op_kind_name(op.kind), op.trigger,
	         op.acn[0] ? op.acn : op.to, dev_phase_name(op.phase));
	if (op.kind == DEV_OP_FIRMWARE && op.phase == DEV_PH_CONFIRMED) {
		char vr[DEV_MAX_VERSION + 1];
		snprintf(vr, sizeof vr, "%s", op.new_vr);
		finish_locked(a, &op, true, NULL, NULL, vr);
		followup_locked(a, "deviceInfo", "m2m:dvi", json_pack("{s:s}", "fwv", vr));
		save_locked(a);
	} else if (op.kind == DEV_OP_REBOOT && strcmp(op.trigger, "rbo") == 0) {
		finish_locked(a, &op, true, NULL, NULL, NULL);
	} else {
		char part[DEV_PATH_MAX + 8];
		if (op.kind == DEV_OP_FIRMWARE) {
			snprintf(part, sizeof part, "%s.part", a->slot_path[op.slot]);
			unlink(part);
			if (op.slot != a->st.running && a->st.slot[op.slot].state == DEV_SLOT_PENDING)
				a->st.slot[op.slot].state = DEV_SLOT_BAD;
		} else if (op.kind == DEV_OP_SOFTWARE && op.name[0]) {
			char path[DEV_PATH_MAX];
			if (pkg_path(a, op.name, path, sizeof path) == 0) {
				snprintf(part, sizeof part, "%s.part", path);
				unlink(part);
			}
		}
		finish_locked(a, &op, false, "install-failed", "interrupted", NULL);
	}
	pthread_mutex_unlock(&a->mu);
}

static void *worker_main(void *arg)
{
	dev_agent *a = arg;
	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stop)) {
		if (a->ready && a->resume) {
			a->resume = false;
			pthread_mutex_unlock(&a->mu);
			resume_op(a);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		if (a->ready && a->has_job) {
			dev_op op = a->job;
			a->has_job = false;
			pthread_mutex_unlock(&a->mu);
			if (op.kind == DEV_OP_FIRMWARE)
				firmware_update(a, &op);
			else if (op.kind == DEV_OP_SOFTWARE)
				software_op(a, &op);
			else
				reboot_op(a, &op);
			/* busy was cleared by the commit (finish_locked); an operation
			 * left unfinished only by a stop keeps it set */
			pthread_mutex_lock(&a->mu);
			continue;
		}
		pthread_cond_wait(&a->cv, &a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- notification server ------------------------------------------------- */

typedef struct conn_ctx {
	char *buf;
	size_t len;
	bool overflow;
} conn_ctx;

static unsigned rsc_http(int rsc)
{
	switch (rsc) {
	case 2000: return 200;
	case 4000: return 400;
	case 4005: return 405;
	case 4015: return 415;
	case 4103: return 403;
	default: return 500;
	}
}

static enum MHD_Result answer(struct MHD_Connection *conn, int rsc, const char *dbg)
{
	char rscs[16], body[300] = "";
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	const char *rvi = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RVI");
	size_t bl = 0;
	if (dbg) {
		json_t *d = json_pack("{s:s}", "m2m:dbg", dbg);
		char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
		if (s && strlen(s) < sizeof body)
			snprintf(body, sizeof body, "%s", s);
		free(s);
		json_decref(d);
		bl = strlen(body);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(bl, body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	snprintf(rscs, sizeof rscs, "%d", rsc);
	MHD_add_response_header(resp, "X-M2M-RSC", rscs);
	if (ri && strlen(ri) <= 256)
		MHD_add_response_header(resp, "X-M2M-RI", ri);
	MHD_add_response_header(resp, "X-M2M-RVI", rvi && strlen(rvi) <= 8 ? rvi : "4");
	if (bl)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, rsc_http(rsc), resp);
	MHD_destroy_response(resp);
	return r;
}

/* Answer 2000 with content pc (taken). */
static enum MHD_Result answer_pc(struct MHD_Connection *conn, json_t *pc)
{
	char *body = pc ? json_dumps(pc, JSON_COMPACT) : NULL;
	json_decref(pc);
	if (!body)
		return answer(conn, 5000, "cannot encode the answer");
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	const char *rvi = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RVI");
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "X-M2M-RSC", "2000");
	if (ri && strlen(ri) <= 256)
		MHD_add_response_header(resp, "X-M2M-RI", ri);
	MHD_add_response_header(resp, "X-M2M-RVI", rvi && strlen(rvi) <= 8 ? rvi : "4");
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

/* The answer to an attestation challenge: {"hd:ats": JWS} signed over
   nonce and the running metadata, or {"hd:ats": null} without a key. */
static enum MHD_Result attest_answer(dev_agent *a, struct MHD_Connection *conn, const char *nonce)
{
	const dev_config *c = a->cfg;
	if (!a->key) {
		log_info("attestation challenge: no key, answered as a keyless device");
		return answer_pc(conn, json_pack("{s:n}", "hd:ats"));
	}
	char fwv[DEV_MAX_VERSION + 1];
	pthread_mutex_lock(&a->mu);
	snprintf(fwv, sizeof fwv, "%s", a->st.slot[a->st.running].vr);
	pthread_mutex_unlock(&a->mu);
	dev_attest_meta m = { c->manufacturer, c->model, c->serial, c->hw_version, fwv, c->sw_version,
		              (long long)time(NULL) };
	char *jws = dev_attest_sign(a->key, nonce, &m);
	if (!jws) {
		log_error("attestation challenge: the statement could not be signed");
		return answer(conn, 5000, "the statement could not be signed");
	}
	log_info("attestation challenge: signed statement (fwv %s)", fwv);
	json_t *pc = json_pack("{s:s}", "hd:ats", jws);
	free(jws);
	return answer_pc(conn, pc);
}

/* May this originator start operations? The gateway CSE: "/<cse-id>",
 * "<cse-id>" or "//<sp-id>/<cse-id>". */
static bool trusted(const dev_agent *a, const char *orig)
{
	if (!orig)
		return false;
	const char *id = a->cfg->cse_id;
	if (strcmp(orig, a->csi) == 0 || strcmp(orig, id) == 0)
		return true;
	if (strncmp(orig, "//", 2) == 0) {
		const char *slash = strchr(orig + 2, '/');
		return slash && strcmp(slash, a->csi) == 0;
	}
	return false;
}

/* Take the operation of a Notify: queue it, or answer it busy. */
static void notify_op(dev_agent *a, dev_op *op)
{
	char key[sizeof a->cur_key];
	op_key(op, key, sizeof key);
	pthread_mutex_lock(&a->mu);
	if (a->busy && strcmp(key, a->cur_key) == 0) {
		log_info("notify: %s %s %s is already in process", op_kind_name(op->kind), op->trigger, key);
	} else if (op->acn[0] && strcmp(op->acn, a->st.last_acn) == 0) {
		log_info("notify: %s %s %s has already ended; ignored", op_kind_name(op->kind), op->trigger, key);
	} else if (a->busy) {
		char text[DEV_MAX_ADDR + 64];
		snprintf(text, sizeof text, "another operation is in process (%s)", a->cur_key);
		log_warn("notify: %s %s %s refused: busy with %s", op_kind_name(op->kind), op->trigger, key,
		         a->cur_key);
		if (a->st.nout >= DEV_MAX_OUTBOX) {
			/* never evict a real report for a busy one */
			log_warn("outbox full: the busy report of %s is not sent", key);
		} else {
			json_t *pc = dev_report_pc(op, false, "busy", text, NULL);
			if (pc)
				dev_outbox_push(&a->st, op->to, pc, false);
			pthread_cond_broadcast(&a->cv);
		}
	} else {
		log_info("notify: %s %s %s accepted (report to %s)", op_kind_name(op->kind), op->trigger, key,
		         op->to);
		a->job = *op;
		a->has_job = true;
		a->busy = true;
		snprintf(a->cur_key, sizeof a->cur_key, "%s", key);
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)url;
	(void)version;
	dev_agent *a = cls;
	conn_ctx *x = *con_cls;
	if (!x) {
		x = calloc(1, sizeof *x);
		if (!x)
			return MHD_NO;
		*con_cls = x;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (x->overflow || x->len + n > DEV_MAX_NOTIFY_BODY) {
			x->overflow = true;
			return MHD_YES;
		}
		char *b = realloc(x->buf, x->len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + x->len, upload, n);
		x->buf = b;
		x->len += n;
		b[x->len] = '\0';
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0)
		return answer(conn, 4005, "only Notify (POST) is served here");
	if (x->overflow)
		return answer(conn, 4000, "notification larger than 64 KiB");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	if (ct && strstr(ct, "xml"))
		return answer(conn, 4015, "only JSON notifications are understood");
	json_error_t je;
	json_t *body = x->len ? json_loadb(x->buf, x->len, JSON_REJECT_DUPLICATES, &je) : NULL;
	const char *orig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-Origin");
	char nonce[DEV_ATTEST_NONCE_MAX + 1];
	int chal = dev_attest_challenge(body, nonce, sizeof nonce);
	if (chal != 0) {
		json_decref(body);
		if (chal < 0)
			return answer(conn, 4000, "hd:atq needs a nonce of 16..128 base64url characters");
		if (!trusted(a, orig)) {
			log_warn("attestation challenge from %s refused: only the gateway CSE %s asks",
			         orig ? orig : "(no originator)", a->csi);
			return answer(conn, 4103, "attestation challenges are accepted from the gateway CSE only");
		}
		return attest_answer(a, conn, nonce);
	}
	dev_op op;
	char why[200];
	int kind = dev_notify_parse(body, a->csi, &op, why, sizeof why);
	json_decref(body);
	if (kind == DEV_NOTIFY_BAD) {
		log_warn("notify from %s refused: %s", orig ? orig : "(no originator)", why);
		return answer(conn, 4000, why);
	}
	if (kind == DEV_NOTIFY_OTHER) {
		log_debug("notify from %s: %s; nothing to do", orig ? orig : "(no originator)", why);
		return answer(conn, 2000, NULL);
	}
	if (!trusted(a, orig)) {
		log_warn("notify: %s %s from %s refused: only the gateway CSE %s starts operations",
		         op_kind_name(op.kind), op.trigger, orig ? orig : "(no originator)", a->csi);
		return answer(conn, 4103, "operations are accepted from the gateway CSE only");
	}
	notify_op(a, &op);
	return answer(conn, 2000, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	conn_ctx *x = *con_cls;
	if (x) {
		free(x->buf);
		free(x);
		*con_cls = NULL;
	}
}

static int server_start(dev_agent *a)
{
	const dev_config *c = a->cfg;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	memset(&ss, 0, sizeof ss);
	bool v6 = strchr(c->listen_addr, ':') != NULL;
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)c->listen_port);
		if (inet_pton(AF_INET6, c->listen_addr, &s6->sin6_addr) != 1)
			return -1;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)c->listen_port);
		if (inet_pton(AF_INET, c->listen_addr, &s4->sin_addr) != 1)
			return -1;
	}
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
	                          (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
	                          MHD_OPTION_CONNECTION_LIMIT, DEV_NOTIFY_CONN_LIMIT,
	                          MHD_OPTION_CONNECTION_TIMEOUT, DEV_NOTIFY_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!a->mhd) {
		log_error("cannot listen on %s%s%s:%d (address in use or not available?)", v6 ? "[" : "",
		          c->listen_addr, v6 ? "]" : "", c->listen_port);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : 0;
	if (c->poa[0])
		snprintf(a->poa, sizeof a->poa, "%s", c->poa);
	else
		snprintf(a->poa, sizeof a->poa, "http://%s%s%s:%u", v6 ? "[" : "", c->listen_addr, v6 ? "]" : "", port);
	log_info("notification server on %s%s%s:%u (poa %s)", v6 ? "[" : "", c->listen_addr, v6 ? "]" : "",
	         port, a->poa);
	return 0;
}

/* ---- start ------------------------------------------------------------------ */

static int state_init(dev_agent *a)
{
	const dev_config *c = a->cfg;
	char err[600], vr[DEV_MAX_VERSION + 1], why[200];
	int rc = dev_state_load(&a->st, c->state_dir, err, sizeof err);
	if (rc < 0) {
		char bad[DEV_PATH_MAX], cur[DEV_PATH_MAX];
		snprintf(cur, sizeof cur, "%s/state.json", c->state_dir);
		snprintf(bad, sizeof bad, "%s/state.json.bad", c->state_dir);
		log_error("state file unusable (%s); kept as %s, starting from the factory state", err, bad);
		if (rename(cur, bad) != 0)
			log_error("cannot rename %s: %s", cur, strerror(errno));
	}
	if (rc <= 0) {
		dev_state_factory(&a->st, c, "");
		if (dev_image_write_factory(a->slot_path[0], c->fw_name, c->fw_version) != 0) {
			log_error("cannot write the factory image %s: %s", a->slot_path[0], strerror(errno));
			return -1;
		}
		unlink(a->slot_path[1]);
		if (dev_state_save(&a->st, c->state_dir, err, sizeof err) != 0) {
			log_error("cannot write the state file: %s", err);
			return -1;
		}
		log_info("factory state: slot A firmware %s, %zu software package(s)", c->fw_version, a->st.nsw);
	}
	a->st.boots++;
	dev_slot *run = &a->st.slot[a->st.running];
	if (dev_image_check_file(a->slot_path[a->st.running], vr, sizeof vr, why, sizeof why) != 0) {
		log_error("running slot %s does not parse: %s", dev_slot_name(a->st.running), why);
	} else if (strcmp(vr, run->vr) != 0) {
		/* the image is what runs (a factory reset interrupted after its
		 * image write, say) */
		log_warn("running slot %s holds %s, the state said %s; following the image",
		         dev_slot_name(a->st.running), vr, run->vr);
		snprintf(run->vr, sizeof run->vr, "%s", vr);
	}
	log_info("boot %lu: running slot %s, firmware %s; AE-ID %s", a->st.boots,
	         dev_slot_name(a->st.running), a->st.slot[a->st.running].vr,
	         a->st.aei[0] ? a->st.aei : "(not registered yet)");
	if (a->st.has_pending) {
		a->resume = true;
		a->busy = true;
		op_key(&a->st.pending, a->cur_key, sizeof a->cur_key);
	}
	save_locked(a);
	return 0;
}

int dev_agent_open(dev_agent **ap, const dev_config *cfg)
{
	*ap = NULL;
	dev_agent *a = calloc(1, sizeof *a);
	if (!a) {
		log_error("out of memory");
		return -1;
	}
	a->cfg = cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	atomic_init(&a->stop, false);
	snprintf(a->csi, sizeof a->csi, "/%s", cfg->cse_id);
	snprintf(a->cse_addr, sizeof a->cse_addr, "/%s/%s", cfg->cse_id, cfg->cse_rn);
	snprintf(a->node_addr, sizeof a->node_addr, "%s/%s", a->cse_addr, cfg->node_name);
	snprintf(a->ni, sizeof a->ni, "urn:dev:%s:%s:%s", cfg->manufacturer, cfg->model, cfg->serial);
	int n0 = snprintf(a->slot_path[0], sizeof a->slot_path[0], "%s/slot-a.img", cfg->state_dir);
	int n1 = snprintf(a->slot_path[1], sizeof a->slot_path[1], "%s/slot-b.img", cfg->state_dir);
	if (n0 < 0 || n1 < 0 || (size_t)n1 >= sizeof a->slot_path[1] - 16) {
		log_error("state directory path too long");
		goto fail;
	}
	if (mkdir_p(cfg->state_dir) != 0) {
		log_error("cannot create the state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	if (state_init(a) != 0)
		goto fail;
	if (cfg->key_file[0]) {
		char err[600];
		if (dev_attest_load(&a->key, cfg->key_file, cfg->cert_file, true, err, sizeof err) != 0) {
			log_error("%s", err);
			goto fail;
		}
		log_info("attestation key %s loaded (certificate %s)", cfg->key_file, cfg->cert_file);
	}
	a->cl = m2m_client_new(cfg->cse_url);
	if (!a->cl) {
		log_error("out of memory");
		goto fail;
	}
	if (server_start(a) != 0)
		goto fail;
	if (pthread_create(&a->worker, NULL, worker_main, a) != 0) {
		log_error("cannot start the worker thread");
		goto fail;
	}
	a->worker_on = true;
	if (pthread_create(&a->reporter, NULL, reporter_main, a) != 0) {
		log_error("cannot start the reporter thread");
		goto fail;
	}
	a->reporter_on = true;
	*ap = a;
	return 0;
fail:
	dev_agent_close(&a);
	return -1;
}

void dev_agent_close(dev_agent **ap)
{
	if (!ap || !*ap)
		return;
	dev_agent *a = *ap;
	pthread_mutex_lock(&a->mu);
	atomic_store(&a->stop, true);
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	if (a->worker_on)
		pthread_join(a->worker, NULL);
	if (a->reporter_on)
		pthread_join(a->reporter, NULL);
	pthread_mutex_lock(&a->mu);
	if (a->st.has_pending)
		log_warn("stopping with %s %s in process; it is reported at the next start",
		         op_kind_name(a->st.pending.kind), a->st.pending.acn[0] ? a->st.pending.acn : a->st.pending.to);
	size_t lost = 0;
	for (size_t i = 0; i < a->st.nout; i++)
		lost += !a->st.outbox[i].persist;
	if (lost)
		log_warn("%zu busy report(s) not delivered", lost);
	pthread_mutex_unlock(&a->mu);
	m2m_client_free(&a->cl);
	dev_state_clear(&a->st);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	dev_attest_free(&a->key);
	free(a);
	*ap = NULL;
}

/* ---- registration and resources ------------------------------------------ */

enum { REG_OK = 0, REG_RETRY = 1, REG_FATAL = -1 };

static bool poa_listed(const json_t *ae, const char *poa)
{
	json_t *p = json_object_get(ae, "poa");
	for (size_t i = 0; i < json_array_size(p); i++)
		if (json_string_value(json_array_get(p, i)) &&
		    strcmp(json_string_value(json_array_get(p, i)), poa) == 0)
			return true;
	return false;
}

/* Make the registered AE's poa ours (the port may have changed). */
static void ae_fix_poa(dev_agent *a, const char *aei, const json_t *ae)
{
	if (poa_listed(ae, a->poa) && json_is_true(json_object_get(ae, "rr")))
		return;
	char to[DEV_MAX_AEI + 200];
	snprintf(to, sizeof to, "%s/%s", a->csi, aei);
	json_t *pc = json_pack("{s:{s:[s],s:b}}", "m2m:ae", "poa", a->poa, "rr", 1);
	m2m_result r;
	int rc = m2m_do(a->cl, M2M_OP_UPDATE, to, aei, -1, pc, NULL, &r);
	if (rc == 0 && r.rsc == 2004)
		log_info("AE %s: poa updated to %s", aei, a->poa);
	else
		log_warn("AE %s: cannot update its poa to %s (rsc %d: %s)", aei, a->poa, r.rsc, res_dbg(&r));
	m2m_result_clear(&r);
	json_decref(pc);
}

/* Create the AE with originator orig, rn (NULL: none). Returns REG_* and
 * the AE-ID in aei; *rsc gets the answer's code. */
static int ae_create(dev_agent *a, const char *orig, const char *rn, char *aei, size_t n, int *rsc)
{
	json_t *ae = json_pack("{s:s,s:b,s:[s],s:[s,s]}", "api", a->cfg->app_id, "rr", 1, "poa", a->poa,
	                       "srv", "3", "4");
	if (ae && rn)
		json_object_set_new(ae, "rn", json_string(rn));
	json_t *pc = ae ? json_pack("{s:o}", "m2m:ae", ae) : NULL;
	m2m_result r;
	int rc = m2m_do(a->cl, M2M_OP_CREATE, a->cse_addr, orig, 2, pc, NULL, &r);
	json_decref(pc);
	int out = REG_FATAL;
	*rsc = r.rsc;
	if (res_transient(&r, rc)) {
		char why[400];
		log_warn("registration at %s (to %s) failed (%s); retrying", m2m_client_base_url(a->cl), a->cse_addr,
		         res_why(&r, rc, why, sizeof why));
		out = REG_RETRY;
	} else if (r.rsc == 2001) {
		const char *id = json_string_value(json_object_get(json_object_get(r.body, "m2m:ae"), "aei"));
		if (id && strlen(id) < n && strlen(id) <= DEV_MAX_AEI) {
			snprintf(aei, n, "%s", id);
			out = REG_OK;
		} else {
			log_error("registration answered 2001 without a usable aei");
		}
	} else if (r.rsc != 4105 && r.rsc != 4117) {
		log_error("registration with originator %s refused (rsc %d: %s)", orig, r.rsc, res_dbg(&r));
	}
	m2m_result_clear(&r);
	return out;
}

/* Retrieve the AE aei. Returns REG_OK (*ae set, new reference), REG_RETRY,
 * or REG_FATAL with *rsc (4004: it is gone). */
static int ae_get(dev_agent *a, const char *aei, json_t **ae, int *rsc)
{
	char to[DEV_MAX_AEI + 200];
	snprintf(to, sizeof to, "%s/%s", a->csi, aei);
	m2m_result r;
	int rc = m2m_do(a->cl, M2M_OP_RETRIEVE, to, aei, -1, NULL, NULL, &r);
	int out = REG_FATAL;
	*rsc = r.rsc;
	*ae = NULL;
	if (res_transient(&r, rc)) {
		char why[400];
		log_warn("retrieve of AE %s failed (%s); retrying", aei, res_why(&r, rc, why, sizeof why));
		out = REG_RETRY;
	} else if (r.rsc == 2000 && json_is_object(json_object_get(r.body, "m2m:ae"))) {
		*ae = json_incref(json_object_get(r.body, "m2m:ae"));
		out = REG_OK;
	}
	m2m_result_clear(&r);
	return out;
}

static int do_register(dev_agent *a)
{
	char aei[DEV_MAX_AEI + 1], stored[DEV_MAX_AEI + 1];
	json_t *ae = NULL;
	int rsc = 0, r;
	pthread_mutex_lock(&a->mu);
	snprintf(stored, sizeof stored, "%s", a->st.aei);
	pthread_mutex_unlock(&a->mu);

	if (stored[0]) {
		r = ae_get(a, stored, &ae, &rsc);
		if (r == REG_RETRY)
			return REG_RETRY;
		if (r == REG_OK) {
			const char *api = json_string_value(json_object_get(ae, "api"));
			if (api && strcmp(api, a->cfg->app_id) != 0)
				log_warn("AE %s has App-ID %s (configured: %s)", stored, api, a->cfg->app_id);
			log_info("resumed AE-ID %s from the state file (no new registration)", stored);
			ae_fix_poa(a, stored, ae);
			json_decref(ae);
			return REG_OK;
		}
		log_warn("AE %s from the state file is not usable (rsc %d); registering again", stored, rsc);
		/* the same identity first, so that the node's hael stays right */
		r = ae_create(a, stored, a->cfg->ae_name, aei, sizeof aei, &rsc);
		if (r == REG_RETRY)
			return REG_RETRY;
		if (r == REG_OK)
			goto done;
	}
	r = ae_create(a, a->cfg->originator, a->cfg->ae_name, aei, sizeof aei, &rsc);
	if (r == REG_OK)
		goto done;
	if (r == REG_RETRY)
		return REG_RETRY;
	if (rsc == 4117 && strlen(a->cfg->originator) > 1) {
		/* our configured AE-ID is registered already: it is ours */
		r = ae_get(a, a->cfg->originator, &ae, &rsc);
		if (r != REG_OK)
			return r == REG_RETRY ? REG_RETRY : REG_FATAL;
		snprintf(aei, sizeof aei, "%s", a->cfg->originator);
		log_info("AE-ID %s is registered already; adopting it", aei);
		ae_fix_poa(a, aei, ae);
		json_decref(ae);
		goto done;
	}
	if (rsc == 4105) {
		log_warn("AE name %s is taken by another registration; registering without a name",
		         a->cfg->ae_name);
		r = ae_create(a, a->cfg->originator, NULL, aei, sizeof aei, &rsc);
		if (r == REG_OK)
			goto done;
		if (r == REG_RETRY)
			return REG_RETRY;
	}
	if (rsc == 4117 || rsc == 4105)
		log_error("registration refused (rsc %d)", rsc);
	return REG_FATAL;
done:
	log_info("registered as AE-ID %s (poa %s)", aei, a->poa);
	pthread_mutex_lock(&a->mu);
	snprintf(a->st.aei, sizeof a->st.aei, "%s", aei);
	save_locked(a);
	pthread_mutex_unlock(&a->mu);
	return REG_OK;
}

/* Create rn of type ty under parent; on 4105 update it with upd (may be
 * NULL: nothing to update). create/upd are stolen. Returns the final rsc,
 * 0 when no response. */
/* With --announce-to: at and the announced attributes (aa) of each type, so
   that the operator sees versions and operation states at its IN-CSE. */
static void annc_decorate(const dev_agent *a, const char *root, json_t *o)
{
	const char *to = a->cfg->announce_to;
	if (!o || !to || !*to)
		return;
	char csi[DEV_MAX_ADDR];
	snprintf(csi, sizeof csi, "/%s", to);
	json_t *aa = NULL;
	if (strcmp(root, "m2m:dvi") == 0)
		aa = json_pack("[sssssss]", "dlb", "man", "mod", "dty", "hwv", "fwv", "swv");
	else if (strcmp(root, "m2m:fwr") == 0)
		aa = json_pack("[sssss]", "vr", "fwn", "url", "ud", "uds");
	else if (strcmp(root, "m2m:swr") == 0)
		aa = json_pack("[ssss]", "vr", "swn", "ins", "acts");
	else if (strcmp(root, "m2m:nod") == 0)
		aa = json_pack("[s]", "hael");
	json_object_set_new(o, "at", json_pack("[s]", csi));
	if (aa)
		json_object_set_new(o, "aa", aa);
}

static int create_or_update(dev_agent *a, const char *aei, const char *parent, const char *rn, int ty,
                            const char *root, json_t *create, json_t *upd)
{
	m2m_result r;
	annc_decorate(a, root, create);
	annc_decorate(a, root, upd);
	json_object_set_new(create, "rn", json_string(rn));
	json_t *pc = json_pack("{s:o}", root, create);
	int rc = m2m_do(a->cl, M2M_OP_CREATE, parent, aei, ty, pc, NULL, &r);
	json_decref(pc);
	int rsc = rc == 0 ? r.rsc : 0;
	if (rsc == 4105) {
		m2m_result_clear(&r);
		char to[DEV_MAX_ADDR];
		snprintf(to, sizeof to, "%s/%s", parent, rn);
		if (!upd)
			return 2004;
		pc = json_pack("{s:o}", root, upd);
		upd = NULL;
		rc = m2m_do(a->cl, M2M_OP_UPDATE, to, aei, -1, pc, NULL, &r);
		json_decref(pc);
		rsc = rc == 0 ? r.rsc : 0;
		if (rsc != 2004)
			log_warn("%s exists but cannot be updated (rsc %d: %s)", to, rsc, res_dbg(&r));
	} else if (rsc != 2001) {
		log_warn("cannot create %s/%s (rsc %d: %s)", parent, rn, rsc, res_dbg(&r));
	}
	json_decref(upd);
	m2m_result_clear(&r);
	return rsc;
}

static char *factory_url(const char *name, const char *vr)
{
	static _Thread_local char buf[200];
	snprintf(buf, sizeof buf, "urn:hearth:image:%s:%s", name, vr);
	return buf;
}

/* The <accessControlPolicy> "manager-acp" under the device's AE: the AE
 * may do everything, the manager RETRIEVE and UPDATE (acop 6); only the AE
 * may change it. Its SP-relative ID goes to acpi. */
static int manager_acp(dev_agent *a, const char *aei, char *acpi, size_t n)
{
	const char *mgr = a->cfg->manager;
	char ae[DEV_MAX_ADDR], to[DEV_MAX_ADDR + 16];
	snprintf(ae, sizeof ae, "%s/%s", a->cse_addr, a->cfg->ae_name);
	snprintf(to, sizeof to, "%s/manager-acp", ae);
	json_t *acp = json_pack("{s:{s:s,s:{s:[{s:[s],s:i},{s:[s],s:i}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "rn",
	                        "manager-acp", "pv", "acr", "acor", aei, "acop", 63, "acor", mgr, "acop", 6, "pvs", "acr",
	                        "acor", aei, "acop", 63);
	m2m_result r;
	int rc = m2m_do(a->cl, M2M_OP_CREATE, ae, aei, 1, acp, NULL, &r);
	json_decref(acp);
	if (rc == 0 && r.rsc == 4105) { /* from an earlier start: read its ri */
		m2m_result_clear(&r);
		rc = m2m_do(a->cl, M2M_OP_RETRIEVE, to, aei, -1, NULL, NULL, &r);
		rc = rc == 0 && r.rsc == 2000 ? 0 : -1;
	} else
		rc = rc == 0 && r.rsc == 2001 ? 0 : -1;
	const char *ri = json_string_value(json_object_get(json_object_get(r.body, "m2m:acp"), "ri"));
	if (rc == 0 && ri && strlen(ri) + strlen(a->cfg->cse_id) + 2 < n) {
		if (ri[0] == '/')
			snprintf(acpi, n, "%s", ri);
		else
			snprintf(acpi, n, "/%s/%s", a->cfg->cse_id, ri);
		log_info("manager %s may retrieve and update the node and firmware (%s)", mgr, acpi);
	} else
		rc = -1;
	m2m_result_clear(&r);
	return rc;
}

/* The <node> and its mgmtObjs, from the current state. */
static void sync_node(dev_agent *a)
{
	const dev_config *c = a->cfg;
	dev_state snap;
	char aei[DEV_MAX_AEI + 1], fwv[DEV_MAX_VERSION + 1];
	pthread_mutex_lock(&a->mu);
	snprintf(aei, sizeof aei, "%s", a->st.aei);
	snprintf(fwv, sizeof fwv, "%s", a->st.slot[a->st.running].vr);
	memcpy(snap.sw, a->st.sw, sizeof snap.sw);
	snap.nsw = a->st.nsw;
	pthread_mutex_unlock(&a->mu);

	/* --manager: node and firmware governed by a policy of the device's
	   own that grants it everything and the manager RETRIEVE + UPDATE */
	char acpi[DEV_MAX_ADDR] = "";
	if (c->manager[0] && manager_acp(a, aei, acpi, sizeof acpi) != 0)
		log_warn("the manager's access control policy could not be set; %s gets no rights", c->manager);
	json_t *nod_c = json_pack("{s:s,s:[s]}", "ni", a->ni, "hael", aei);
	json_t *nod_u = json_pack("{s:s,s:[s]}", "ni", a->ni, "hael", aei);
	json_t *fw_c = json_pack("{s:i,s:s,s:s,s:s,s:b}", "mgd", 1001, "vr", fwv, "fwn", c->fw_name, "url",
	                         factory_url(c->fw_name, fwv), "ud", 0);
	json_t *fw_u = json_pack("{s:s,s:s}", "vr", fwv, "fwn", c->fw_name);
	if (acpi[0]) {
		json_t *objs[] = { nod_c, nod_u, fw_c, fw_u };
		for (size_t i = 0; i < 4; i++)
			json_object_set_new(objs[i], "acpi", json_pack("[s]", acpi));
	}
	int rsc = create_or_update(a, aei, a->cse_addr, c->node_name, 14, "m2m:nod", nod_c, nod_u);
	if (rsc != 2001 && rsc != 2004) {
		json_decref(fw_c);
		json_decref(fw_u);
		log_warn("the gateway did not accept the <node> %s (rsc %d): device-management resources "
		         "are not created; operations Notified to this AE are still executed", a->node_addr, rsc);
		return;
	}
	log_info("<node> %s (ni %s, hael [%s]) %s", a->node_addr, a->ni, aei, rsc == 2001 ? "created" : "updated");
	create_or_update(a, aei, a->node_addr, "deviceInfo", 13, "m2m:dvi",
	                 json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "mgd", 1007, "dlb", c->device_label,
	                           "man", c->manufacturer, "mod", c->model, "dty", c->device_type, "hwv",
	                           c->hw_version, "fwv", fwv, "swv", c->sw_version),
	                 json_pack("{s:s,s:s,s:s,s:s}", "dlb", c->device_label, "dty", c->device_type, "fwv",
	                           fwv, "swv", c->sw_version));
	create_or_update(a, aei, a->node_addr, "firmware", 13, "m2m:fwr", fw_c, fw_u);
	for (size_t i = 0; i < snap.nsw; i++) {
		const dev_sw *s = &snap.sw[i];
		if (s->mo[0]) {
			/* installed through a <software> of the gateway: keep that one */
			json_t *pc = json_pack("{s:{s:s}}", "m2m:swr", "vr", s->vr);
			m2m_result r;
			int rc = m2m_do(a->cl, M2M_OP_UPDATE, s->mo, aei, -1, pc, NULL, &r);
			if (rc != 0 || r.rsc != 2004)
				log_warn("cannot update %s (rsc %d: %s)", s->mo, r.rsc, res_dbg(&r));
			m2m_result_clear(&r);
			json_decref(pc);
			continue;
		}
		char rn[DEV_MAX_TOKEN + 8];
		snprintf(rn, sizeof rn, "sw-%s", s->name);
		create_or_update(a, aei, a->node_addr, rn, 13, "m2m:swr",
		                 json_pack("{s:i,s:s,s:s,s:s}", "mgd", 1002, "vr", s->vr, "swn", s->name, "url",
		                           factory_url(s->name, s->vr)),
		                 json_pack("{s:s}", "vr", s->vr));
	}
	create_or_update(a, aei, a->node_addr, "reboot", 13, "m2m:rbo",
	                 json_pack("{s:i,s:b,s:b}", "mgd", 1009, "rbo", 0, "far", 0), NULL);
}

/* Wait ms for a signal of set: 1 with *sig when one came, 0 otherwise. */
static int wait_signal(const sigset_t *set, long ms, int *sig)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	siginfo_t si;
	for (;;) {
		int s = sigtimedwait(set, &si, &ts);
		if (s > 0) {
			*sig = s;
			return 1;
		}
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return 0;
	}
}

int dev_agent_connect(dev_agent *a, const sigset_t *stop_set, int *sig)
{
	long delay = DEV_RETRY_MIN_MS;
	for (;;) {
		int r = do_register(a);
		if (r == REG_OK)
			break;
		if (r == REG_FATAL)
			return -1;
		if (wait_signal(stop_set, delay, sig))
			return 1;
		delay = delay * 2 > DEV_RETRY_MAX_MS ? DEV_RETRY_MAX_MS : delay * 2;
	}
	sync_node(a);
	pthread_mutex_lock(&a->mu);
	a->ready = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}
