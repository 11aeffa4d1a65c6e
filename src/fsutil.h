/* Durable file-system primitives.  Files that matter are written to a temp
 * name in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, final mode set at
 * open), fsynced, renamed over the target and the directory fsynced
 * (docs/HACKING.md, Conventions), so a crash leaves either the old or the new content.
 * All functions log what failed on which path and return 0 or -1. */
#ifndef ADENROLL_FSUTIL_H
#define ADENROLL_FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
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
 * (generation directories are flat).  A symlink at dir is refused, never
 * followed (ELOOP/ENOTDIR logged).  Used for never-committed data and
 * archive pruning. */
int fs_remove_flat_dir(const char *dir);
/* StrictModes (sshd) for an existing directory adenroll writes keys or
 * state into: it must be a directory owned by the effective user and not
 * writable by group or others, or another account could swap what adenroll
 * writes or reads there.  A directory that does not exist yet passes (it
 * is created private).  -1 with why set (saying what to do), not logged. */
int fs_dir_trusted(const char *dir, char *why, size_t whylen);
/* For a directory holding private keys that only file modes protect (an
 * NSS database without a password): dir and dir/key_leaf, when they exist,
 * must be owned by the effective user and neither readable nor writable by
 * group or others, and key_leaf a regular file.  -1 with why set (naming
 * the file, its owner and mode and the chown/chmod that fixes it), not logged. */
int fs_keys_private(const char *dir, const char *key_leaf, char *why, size_t whylen);
/* Removes the temp files fs_write_atomic and fs_symlink_atomic leave in dir
 * when the process writing them is killed (".<name>.tmp-<pid>-..."), unless
 * that process still runs.  Regular files and symlinks only; returns how
 * many were removed, -1 when dir cannot be read (ENOENT is 0). */
int fs_remove_stale_temps(const char *dir);
/* The same for a writer that names its temp file "<prefix><pid>" and
 * nothing more (the machine ccache's ".machine.ccache.tmp-<pid>", krb.c):
 * only leaves of exactly that form whose process is gone, only regular
 * files of the effective user (a symlink is neither followed nor removed);
 * each removal logged at debug.  Returns how many were removed, -1 when
 * dir cannot be read (ENOENT is 0). */
int fs_remove_stale_pid_files(const char *dir, const char *prefix);

/* opendir(3) that refuses a symlink at dir (errno ELOOP or ENOTDIR). */
DIR *fs_opendir_nofollow(const char *dir);
/* Whether name, inside the directory d reads, is a directory itself (not a
 * symlink to one). */
bool fs_is_real_dir_at(DIR *d, const char *name);

/* Joins a and b with one '/'; caller frees. */
char *fs_path_join(const char *a, const char *b);
/* Whether files can be created in dir now (in its closest existing
 * ancestor when dir is still to be made): not a directory, no write access,
 * a read-only file system, fewer than min_free bytes or no inode free give
 * -1 with errno and why set (not logged: the caller says what it gives up). */
int fs_dir_writable(const char *dir, unsigned long long min_free, char *why, size_t whylen);

#endif
