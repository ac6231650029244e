/*
 * dev_agent.h - the hearth-device agent: registration, <node> and
 * mgmtObjs, the notification server, the operation worker and the report
 * sender.
 *
 * Design note
 *   Threads: the caller's (registration, then waiting for a signal), the
 *   libmicrohttpd thread of the notification server (parses a Notify,
 *   queues the operation or a busy report, answers at once; never blocks on
 *   the network or the disk), one worker (runs one operation at a time,
 *   owns the downloads and the slot files) and one reporter (delivers the
 *   outbox, in order, with a back-off while the CSE cannot be reached). All
 *   share the dev_state under one mutex; every change that must survive a
 *   crash is written to the state file before the mutex is released.
 *
 *   Restart rules (documented in README "Device agent"): an operation found
 *   in the state file at start was interrupted. Firmware confirmed before
 *   the interruption is reported successful with its new version; any
 *   earlier phase leaves the previous slot running and is reported failed
 *   with "install-failed: interrupted". A reboot (rbo) is reported
 *   successful (the restart was the reboot); a factory reset, software
 *   operation or unconfirmed firmware update is reported failed the same
 *   way. A SIGINT/SIGTERM during an operation is handled like a crash:
 *   the download is aborted and the report is made at the next start.
 *
 * Ownership
 *   dev_agent_open() keeps a pointer to cfg, which must outlive the agent.
 *   dev_agent_close() stops every thread and frees the agent (NULLs *ap).
 *
 * Return values
 *   dev_agent_open(): 0, or -1 (reason logged). dev_agent_connect(): 0
 *   registered and serving, 1 a stop signal arrived (its number in *sig),
 *   -1 the CSE refused the registration for good (reason logged).
 */
#ifndef HEARTH_DEV_AGENT_H
#define HEARTH_DEV_AGENT_H

#include <signal.h>

#include "ae/device/dev_config.h"

typedef struct dev_agent dev_agent;

/* Load (or create) the state, check the running slot, start the
 * notification server and the worker/reporter threads (which wait until
 * the registration is done). Call with stop signals blocked. */
int dev_agent_open(dev_agent **ap, const dev_config *cfg);

/* Register (or resume) the AE and create or update the <node> and its
 * mgmtObjs; transport failures are retried with a growing delay (0.5 s to
 * 30 s) during which a signal of stop_set ends the attempt. */
int dev_agent_connect(dev_agent *a, const sigset_t *stop_set, int *sig);

void dev_agent_close(dev_agent **ap);

#endif
