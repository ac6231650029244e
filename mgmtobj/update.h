/*
 * update.h - verified firmware updates at the gateway (mgmtobj/README.md,
 * "Verified updates").
 *
 * With [update] vendor-keys set, a firmware ud operation is not handed to
 * the node's adapter as written: the gateway reads the update package the
 * firmware's url names (a local <contentInstance>), verifies the
 * manufacturer's manifest and the coordinator's assignment, downloads and
 * checks the image (decrypting it when it was encrypted for this
 * gateway), keeps it in its cache, and only then starts the adapter with
 * url = the gateway's own cache URL. Any failed check ends the operation
 * with the hsign reason code of that check; nothing reaches the device.
 */
#ifndef HEARTH_MGMT_UPDATE_H
#define HEARTH_MGMT_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "adapter.h"

/* Hidden attributes of a firmware mgmtObj: the seq and the manifest hash
   (base64url SHA-256 of its JWS) of the last verified update that ended
   successful. */
#define MGMT_HA_USEQ "_useq"
#define MGMT_HA_UHASH "_uhash"

/* reason codes of the gateway besides the HS_R_* ones */
#define UPD_R_NO_PACKAGE "no-package"
#define UPD_R_ALREADY_INSTALLED "already-installed"
#define UPD_R_DOWNLOAD_FAILED "download-failed"

typedef struct upd upd;

/* Load the keys and prepare the cache. *out = NULL when verified updates
   are off (no vendor-keys). Returns 0, or -1 (logged) on a bad key,
   directory or cache. */
int upd_start(cse *c, upd **out);
void upd_stop(upd **u);

/* Is op one that must be verified (a firmware ud)? */
bool upd_applies(const upd *u, const mgmt_op *op);

/* Verify op's update package and start ad with the cached image. Returns
   NULL when the operation is under way, or a reason code with text. On a
   worker, never under the CSE lock. */
const char *upd_run(cse *c, upd *u, const mgmt_op *op, const mgmt_adapter *ad, char *text, size_t textlen);

/* Under the CSE lock, in the Update that ends operation acn successfully:
   record the installed seq and manifest hash in a (the mgmtObj's
   attributes). Drops acn's pending entry whatever ok is. */
void upd_ended(upd *u, const char *acn, bool ok, json_t *a);

#endif
