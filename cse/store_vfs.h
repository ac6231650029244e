/*
 * store_vfs.h - the store's SQLite VFS: the default one, with the writes
 * of a WAL commit gathered into one pwrite.
 */
#ifndef HEARTH_STORE_VFS_H
#define HEARTH_STORE_VFS_H

#define STORE_VFS_NAME "hearth"

/* Registers STORE_VFS_NAME over the default VFS (not as the default).
   Once per process, before the first open that names it. SQLITE_OK or
   SQLite's error code. */
int store_vfs_register(void);

#endif
