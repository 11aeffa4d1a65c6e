/* Durable file-system primitives.  Files that matter are written to a temp
 * name in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, final mode set at
 * open), fsynced, renamed over the target and the directory fsynced
 * (docs/HACKING.md, Conventions), so a crash leaves either the old or the new content.
 * All functions log what failed on which path and return 0 or -1. */
#ifndef ADENROLL_FSUTIL_H
#define ADENROLL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Atomically replaces path with data.  mode is exact (not subject to the
 * umask): 0600 for keys.  owner: chown to this uid (group unchanged), or
 * (uid_t)-1 to keep the caller's.  A symlink at path is replaced, never followed. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t owner);
/* The same, also giving the file to group (gid_t)-1 = keep).  Owner, group
 * and mode are set on the temp file before the rename, so the file appears
 * under its name with its final ownership, never briefly root's or wider. */
int fs_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t owner,
			  gid_t group);
/* mkdir -p; mode applies to directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode);
int fs_fsync_dir(const char *dir);
/* fsyncs the directory that holds path. */
int fs_fsync_parent(const char *path);
/* Reads a regular file of at most max bytes into a NUL-terminated buffer
 * (*len excludes the NUL; len may be NULL).  Follows symlinks.  Logs every
 * failure except ENOENT, which returns -1 with errno == ENOENT for the caller to judge. */
int fs_read_file(const char *path, size_t max, unsigned char **out, size_t *len);
/* Atomically points link_path at target (symlink to a temp name + rename). */
int fs_symlink_atomic(const char *target, const char *link_path);
/* Moves src to dst (rename; across file systems: copies a flat directory or
 * file durably, then removes the source).  dst must not exist. */
int fs_move(const char *src, const char *dst);
/* Removes a directory and the regular files/symlinks directly inside it
 * (generation directories are flat).  Used only for never-committed data. */
int fs_remove_flat_dir(const char *dir);
/* Joins a and b with one '/'; caller frees. */
char *fs_path_join(const char *a, const char *b);
/* Whether files can be created in dir now (in its closest existing
 * ancestor when dir is still to be made): not a directory, no write access,
 * a read-only file system, fewer than min_free bytes or no inode free give
 * -1 with errno and why set (not logged: the caller says what it gives up). */
int fs_dir_writable(const char *dir, unsigned long long min_free, char *why, size_t whylen);

#endif
