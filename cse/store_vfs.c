/*
 * store_vfs.c - SQLite's default VFS with WAL writes gathered.
 *
 * SQLite appends a WAL frame as two writes, its 24-byte header and then
 * the page, so a create that changes 8 pages costs 16 pwrite calls. This
 * shim passes every call to the default ("unix") VFS, except that writes
 * to a WAL file that continue the previous one are held in a buffer and
 * written together, once:
 *
 *   - when the commit frame is complete: SQLite writes a commit frame's
 *     header with a non-zero "database size after commit" (WAL format,
 *     header bytes 4-7); the page that follows ends the commit, and the
 *     buffer is written before that xWrite returns, so an I/O error fails
 *     the commit as it would have;
 *   - before anything else touches the file (a write elsewhere, a read, a
 *     sync, a truncate, its size, a file control, close);
 *   - before the database file's shared-memory barrier, which SQLite
 *     passes just before it publishes a commit to other connections: a
 *     reader never learns of frames that are not in the file. (The commit
 *     rule above has already written them; this is the second guard.)
 *
 * So COMMIT returns with its frames in the file, as before: a commit still
 * survives kill -9, and the store's own fdatasync of the WAL covers it.
 * Database files and other journals go straight through.
 */
#include "store_vfs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"

#define WAL_FRAME_HDR 24
#define BUF_FIRST (16u * 1024u)
/* The default VFS writes at most 128 KiB - 1 per call (seekAndWriteFd
   masks the length to 17 bits): stay below. */
#define BUF_MAX (96u * 1024u)

typedef struct hfile hfile;
struct hfile {
	sqlite3_file base;    /* first: SQLite sees an hfile as a sqlite3_file */
	sqlite3_file *real;   /* the default VFS's file, right after this struct */
	bool is_wal;
	hfile *wal;           /* a database file: its WAL, while open */
	hfile *db;            /* a WAL: its database file */
	unsigned char *buf;   /* held WAL bytes, for file offset off */
	size_t len, cap;
	sqlite3_int64 off;
	bool commit_hdr;      /* the last held write was a commit frame's header */
	bool broken;          /* a held write failed where it could not be told */
};

static sqlite3_vfs *base;
static sqlite3_vfs shim;
static const sqlite3_io_methods shim_io;

static const sqlite3_io_methods *rm(const hfile *f)
{
	return f->real->pMethods;
}

static int flush(hfile *f)
{
	if (!f->len)
		return SQLITE_OK;
	int rc = rm(f)->xWrite(f->real, f->buf, (int)f->len, f->off);
	f->len = 0;
	f->commit_hdr = false;
	return rc;
}

/* Flush before an operation; a failure held from the barrier is told now. */
static int settle(hfile *f)
{
	int rc = flush(f);
	if (rc == SQLITE_OK && f->broken)
		rc = SQLITE_IOERR_WRITE;
	return rc;
}

static int x_close(sqlite3_file *pf)
{
	hfile *f = (hfile *)pf;
	int rc = flush(f);
	int rc2 = rm(f)->xClose(f->real);
	if (f->db)
		f->db->wal = NULL;
	if (f->wal)
		f->wal->db = NULL;
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int x_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xRead(f->real, p, n, off);
}

static bool hold(hfile *f, const void *p, int n, sqlite3_int64 off)
{
	if (n <= 0 || (size_t)n > BUF_MAX)
		return false;
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > BUF_MAX))
		return false;
	if (!f->len)
		f->off = off;
	if (f->len + (size_t)n > f->cap) {
		size_t cap = f->cap ? f->cap : BUF_FIRST;
		while (cap < f->len + (size_t)n)
			cap *= 2;
		unsigned char *b = realloc(f->buf, cap);
		if (!b)
			return false;
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return true;
}

static int x_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
	hfile *f = (hfile *)pf;
	int rc;

	if (!f->is_wal)
		return rm(f)->xWrite(f->real, p, n, off);
	if (f->broken)
		return SQLITE_IOERR_WRITE;
	bool ends_commit = f->commit_hdr;
	if (!hold(f, p, n, off)) {
		if ((rc = flush(f)) != SQLITE_OK)
			return rc;
		if (!hold(f, p, n, off))
			return rm(f)->xWrite(f->real, p, n, off);
	}
	if (ends_commit)
		return flush(f);
	const unsigned char *h = p;
	f->commit_hdr = n == WAL_FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
	return SQLITE_OK;
}

static int x_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xTruncate(f->real, size);
}

static int x_sync(sqlite3_file *pf, int flags)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xSync(f->real, flags);
}

static int x_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xFileSize(f->real, size);
}

static int x_lock(sqlite3_file *pf, int lock)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xLock(f->real, lock);
}

static int x_unlock(sqlite3_file *pf, int lock)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xUnlock(f->real, lock);
}

static int x_check_reserved(sqlite3_file *pf, int *out)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xCheckReservedLock(f->real, out);
}

static int x_file_control(sqlite3_file *pf, int op, void *arg)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xFileControl(f->real, op, arg);
}

static int x_sector_size(sqlite3_file *pf)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xSectorSize(f->real);
}

static int x_device_characteristics(sqlite3_file *pf)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xDeviceCharacteristics(f->real);
}

static int x_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **p)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xShmMap(f->real, region, size, extend, p);
}

static int x_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xShmLock(f->real, offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *pf)
{
	hfile *f = (hfile *)pf;
	if (f->wal && f->wal->len && flush(f->wal) != SQLITE_OK) {
		f->wal->broken = true;
		log_error("store: WAL write failed before a commit was published");
	}
	rm(f)->xShmBarrier(f->real);
}

static int x_shm_unmap(sqlite3_file *pf, int del)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xShmUnmap(f->real, del);
}

static int x_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
	hfile *f = (hfile *)pf;
	int rc = settle(f);
	return rc != SQLITE_OK ? rc : rm(f)->xFetch(f->real, off, n, pp);
}

static int x_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	hfile *f = (hfile *)pf;
	return rm(f)->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods shim_io = {
	3,
	x_close, x_read, x_write, x_truncate, x_sync, x_file_size,
	x_lock, x_unlock, x_check_reserved, x_file_control,
	x_sector_size, x_device_characteristics,
	x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap,
	x_fetch, x_unfetch,
};

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags, int *out_flags)
{
	hfile *f = (hfile *)pf;
	(void)vfs;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = base->xOpen(base, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods)
			rm(f)->xClose(f->real);
		return rc;
	}
	if (!f->real->pMethods)
		return SQLITE_CANTOPEN;
	if (f->real->pMethods->iVersion < 3) {
		/* not the default VFS's kind of file: nothing to shim for */
		rm(f)->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	f->base.pMethods = &shim_io;
	if ((flags & SQLITE_OPEN_WAL) && name) {
		f->is_wal = true;
		sqlite3_file *db = sqlite3_database_file_object(name);
		if (db && db->pMethods == &shim_io) {
			f->db = (hfile *)db;
			f->db->wal = f;
		}
	}
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return base->xDelete(base, name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return base->xAccess(base, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return base->xFullPathname(base, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return base->xDlOpen(base, name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	base->xDlError(base, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return base->xDlSym(base, h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	base->xDlClose(base, h);
}

static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base->xRandomness(base, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return base->xSleep(base, us);
}

static int v_current_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return base->xCurrentTime(base, t);
}

static int v_get_last_error(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	return base->xGetLastError ? base->xGetLastError(base, n, msg) : 0;
}

static int v_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return base->xCurrentTimeInt64(base, t);
}

int store_vfs_register(void)
{
	base = sqlite3_vfs_find(NULL);
	if (!base)
		return SQLITE_ERROR;
	if (base->iVersion < 2 || !base->xCurrentTimeInt64)
		return SQLITE_ERROR;
	shim.iVersion = 2;
	shim.szOsFile = (int)sizeof(hfile) + base->szOsFile;
	shim.mxPathname = base->mxPathname;
	shim.zName = STORE_VFS_NAME;
	shim.xOpen = v_open;
	shim.xDelete = v_delete;
	shim.xAccess = v_access;
	shim.xFullPathname = v_full_pathname;
	shim.xDlOpen = v_dlopen;
	shim.xDlError = v_dlerror;
	shim.xDlSym = v_dlsym;
	shim.xDlClose = v_dlclose;
	shim.xRandomness = v_randomness;
	shim.xSleep = v_sleep;
	shim.xCurrentTime = v_current_time;
	shim.xGetLastError = v_get_last_error;
	shim.xCurrentTimeInt64 = v_current_time_int64;
	return sqlite3_vfs_register(&shim, 0);
}
