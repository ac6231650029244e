/*
 * dev_state.h - what the device remembers across restarts: its AE-ID, the
 * two firmware slots and which one runs, its software, the operation in
 * process and the reports not yet delivered.
 *
 * Design note
 *   The state is one JSON document, <state-dir>/state.json, rewritten
 *   whole on every change: written to state.json.tmp, fsync'ed, renamed
 *   over state.json, and the directory fsync'ed. A reader therefore sees
 *   the old or the new document, never a mix, and a change is on disk when
 *   dev_state_save() returns 0. Loading checks every member (types, lengths,
 *   character classes); a document that fails is refused as a whole.
 *
 *   The operation in process (`pending`) carries its phase. The phase is
 *   what a restart after a crash looks at (dev_agent.c): before
 *   DEV_PH_CONFIRMED nothing the device runs has changed, after it the new
 *   firmware runs.
 *
 * Ownership
 *   A dev_state owns the pc (json_t) of its outbox entries; dev_state_clear()
 *   releases them (safe on a zeroed state). dev_state_load() fills a zeroed
 *   state and leaves it zeroed on failure.
 *
 * Return values
 *   dev_state_load(): 1 loaded, 0 no state file, -1 unreadable or invalid
 *   (message in err). dev_state_save(): 0, or -1 with a message.
 */
#ifndef HEARTH_DEV_STATE_H
#define HEARTH_DEV_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ae/device/dev_config.h"

#define DEV_MAX_AEI 128         /* AE-ID */
#define DEV_MAX_ACN 192         /* action id (the CSE's mgmt_op.acn) */
#define DEV_MAX_ADDR 512        /* report target address */
#define DEV_MAX_URL 2048        /* image URL, fragment included */
#define DEV_MAX_SW 32           /* software packages known to the device */
#define DEV_MAX_OUTBOX 16       /* undelivered Updates */
#define DEV_MAX_STATE_FILE (1024 * 1024)

enum dev_slot_state { DEV_SLOT_EMPTY = 0, DEV_SLOT_GOOD, DEV_SLOT_PENDING, DEV_SLOT_BAD };

enum dev_op_kind { DEV_OP_NONE = 0, DEV_OP_FIRMWARE, DEV_OP_SOFTWARE, DEV_OP_REBOOT };

/* Phases of an operation. Firmware: ACCEPTED -> DOWNLOADED (image verified
 * in the inactive slot's temporary file) -> INSTALLED (slot file in place,
 * slot pending) -> BOOTING (trial boot of the new slot) -> CONFIRMED (the
 * new slot runs). Software and reboot: ACCEPTED only; their effect is
 * committed in the same write that ends them. */
enum dev_phase {
	DEV_PH_ACCEPTED = 0, DEV_PH_DOWNLOADED, DEV_PH_INSTALLED, DEV_PH_BOOTING, DEV_PH_CONFIRMED
};

typedef struct dev_slot {
	int state;                          /* enum dev_slot_state */
	char vr[DEV_MAX_VERSION + 1];       /* version in the image header; "" unknown */
} dev_slot;

typedef struct dev_sw {
	char name[DEV_MAX_TOKEN + 1];
	char vr[DEV_MAX_VERSION + 1];
	bool active;
	char mo[DEV_MAX_ADDR];              /* the <software> it was installed through; "" = sw-<name> */
} dev_sw;

/* One management operation, as received in the Notify (dev_ops.c) plus
 * its progress. */
typedef struct dev_op {
	int kind;                           /* enum dev_op_kind */
	char trigger[8];                    /* ud, in, un, act, dea, rbo, far */
	char acn[DEV_MAX_ACN];              /* "" for reboot (no status attribute) */
	char to[DEV_MAX_ADDR];              /* the mgmtObj: target of the report */
	char url[DEV_MAX_URL];              /* firmware/software: image URL */
	char name[DEV_MAX_TOKEN + 1];       /* software: swn */
	int phase;                          /* enum dev_phase */
	int slot;                           /* firmware: the slot being written (0 A, 1 B) */
	char new_vr[DEV_MAX_VERSION + 1];   /* version found in the new image */
} dev_op;

/* An Update to deliver: the report of an operation, or a follow-up
 * (deviceInfo fwv). Entries with persist == false (busy reports) are not
 * written to the state file. */
typedef struct dev_update {
	char to[DEV_MAX_ADDR];
	json_t *pc;
	bool persist;
} dev_update;

typedef struct dev_state {
	char aei[DEV_MAX_AEI + 1];          /* "" before the first registration */
	int running;                        /* 0 A, 1 B */
	dev_slot slot[2];
	dev_sw sw[DEV_MAX_SW];
	size_t nsw;
	unsigned long boots;
	bool has_pending;
	dev_op pending;
	dev_update outbox[DEV_MAX_OUTBOX];
	size_t nout;
	char last_acn[DEV_MAX_ACN];         /* the last finished operation */
} dev_state;

/* The factory state: slot A good with fw_version, slot B empty, the
 * configured packages installed and active, aei kept as given (may be ""). */
void dev_state_factory(dev_state *st, const dev_config *cfg, const char *aei);
void dev_state_clear(dev_state *st);

int dev_state_load(dev_state *st, const char *dir, char *err, size_t errlen);
int dev_state_save(const dev_state *st, const char *dir, char *err, size_t errlen);

/* Parse / serialise the document itself (no file I/O); used by load/save
 * and by the unit tests. dev_state_from_json() fills a zeroed state, or
 * returns -1 with a message and leaves it zeroed. */
json_t *dev_state_to_json(const dev_state *st);
int dev_state_from_json(dev_state *st, const json_t *doc, char *err, size_t errlen);

/* Outbox: append (steals pc; when full the oldest entry is dropped and 1 is
 * returned, else 0) and remove the head. */
int dev_outbox_push(dev_state *st, const char *to, json_t *pc, bool persist);
void dev_outbox_pop(dev_state *st);

/* Software list lookup; NULL when absent. */
dev_sw *dev_state_sw(dev_state *st, const char *name);

const char *dev_slot_name(int slot);    /* "A" / "B" */
const char *dev_phase_name(int phase);

/* Write data to path atomically (tmp + fsync + rename + fsync of the
 * directory). Returns 0, or -1 with errno set. */
int dev_write_atomic(const char *path, const void *data, size_t len);

#endif
