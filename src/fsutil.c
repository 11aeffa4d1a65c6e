/* Durable writes (see fsutil.h).  The temp file lives in the target's
 * directory so rename(2) is atomic; O_EXCL|O_NOFOLLOW means a planted file
 * or symlink at the temp name is never written through. */
#include "adenroll-build.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

char *fs_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la > 0 && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* A temp name next to path that nobody can predict; the caller creates it
 * with O_EXCL and retries on EEXIST. */
static char *temp_name(const char *path)
{
	static unsigned counter;
	struct timespec ts;
	char *dir = dir_of(path), *name;

	clock_gettime(CLOCK_REALTIME, &ts);
	name = xasprintf("%s/.%s.tmp-%ld-%u-%lx", dir, base_of(path), (long)getpid(), counter++,
			 (unsigned long)ts.tv_nsec ^ ((unsigned long)random() << 8));
	free(dir);
	return name;
}

int fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_error("cannot open directory %s to sync it: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) != 0 && errno != EINVAL) {
		log_error("cannot sync directory %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int fs_fsync_parent(const char *path)
{
	char *dir = dir_of(path);
	int ret = fs_fsync_dir(dir);

	free(dir);
	return ret;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t owner)
{
	return fs_write_atomic_owned(path, data, len, mode, owner, (gid_t)-1);
}

int fs_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t owner,
			  gid_t group)
{
	char *tmp = NULL;
	int fd = -1, ret = -1, tries;

	for (tries = 0; tries < 100; tries++) {
		free(tmp);
		tmp = temp_name(path);
		/* The mode is given at creation so a key is never readable by others,
		 * not even between open and fchmod. */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		log_error("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* chown before chmod: chown may clear mode bits, and until the final
	 * mode is set the file is 0600 at most. */
	if ((owner != (uid_t)-1 || group != (gid_t)-1) && fchown(fd, owner, group) != 0) {
		log_error("cannot give %s to uid %ld gid %ld: %s", tmp, owner == (uid_t)-1 ? -1L : (long)owner,
			  group == (gid_t)-1 ? -1L : (long)group, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) != 0) {
		log_error("cannot set mode %04o on %s: %s", (unsigned)mode, tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_error("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		log_error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = fs_fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return ret;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	struct stat st;
	int ret = -1;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (p[0] != '\0' && mkdir(p, mode) != 0 && errno != EEXIST) {
			log_error("cannot create directory %s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("%s exists but is not a directory", path);
		goto out;
	}
	ret = 0;
out:
	free(p);
	return ret;
}

int fs_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t used = 0;
	struct stat st;
	int fd, ret = -1, saved;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		if (saved != ENOENT)
			log_error("cannot open %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_error("%s is not a regular file", path);
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		log_error("%s is too large (%lld bytes, at most %zu expected)", path,
			  (long long)st.st_size, max);
		goto out;
	}
	buf = xmalloc(max + 1);
	for (;;) {
		ssize_t r = read(fd, buf + used, max + 1 - used);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used > max) {
			log_error("%s is too large (more than %zu bytes)", path, max);
			goto out;
		}
	}
	buf[used] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = used;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int fs_symlink_atomic(const char *target, const char *link_path)
{
	char *tmp = NULL;
	int tries, ret = -1;

	for (tries = 0; tries < 100; tries++) {
		free(tmp);
		tmp = temp_name(link_path);
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST) {
			log_error("cannot create symlink %s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	if (rename(tmp, link_path) != 0) {
		log_error("cannot rename %s to %s: %s", tmp, link_path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = fs_fsync_parent(link_path);
out:
	free(tmp);
	return ret;
}

/* Cross-file-system move of one regular file or symlink. */
static int copy_entry(const char *src, const char *dst)
{
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;
	int ret = -1;

	if (lstat(src, &st) != 0) {
		log_error("cannot stat %s: %s", src, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		n = readlink(src, target, sizeof(target) - 1);
		if (n < 0) {
			log_error("cannot read symlink %s: %s", src, strerror(errno));
			return -1;
		}
		target[n] = '\0';
		return fs_symlink_atomic(target, dst);
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("cannot move %s: not a regular file", src);
		return -1;
	}
	if (fs_read_file(src, 64u << 20, &data, &len) != 0)
		goto out;
	ret = fs_write_atomic(dst, data, len, st.st_mode & 07777, st.st_uid == geteuid() ? (uid_t)-1 : st.st_uid);
out:
	if (data != NULL)
		explicit_bzero(data, len);   /* may be a private key */
	free(data);
	return ret;
}

int fs_move(const char *src, const char *dst)
{
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	int ret = -1;

	if (rename(src, dst) == 0)
		return fs_fsync_parent(dst) == 0 && fs_fsync_parent(src) == 0 ? 0 : -1;
	if (errno != EXDEV) {
		log_error("cannot move %s to %s: %s", src, dst, strerror(errno));
		return -1;
	}
	if (lstat(src, &st) != 0) {
		log_error("cannot stat %s: %s", src, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (copy_entry(src, dst) != 0)
			return -1;
		if (unlink(src) != 0) {
			log_error("copied %s to %s but cannot remove the source: %s", src, dst, strerror(errno));
			return -1;
		}
		return fs_fsync_parent(src);
	}
	/* Directories: copy every entry durably first, remove the source only
	 * once the copy is complete, so a crash leaves at least one full copy. */
	if (mkdir(dst, st.st_mode & 07777) != 0) {
		log_error("cannot create directory %s: %s", dst, strerror(errno));
		return -1;
	}
	d = opendir(src);
	if (d == NULL) {
		log_error("cannot open directory %s: %s", src, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *a, *b;
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		a = fs_path_join(src, de->d_name);
		b = fs_path_join(dst, de->d_name);
		r = copy_entry(a, b);
		free(a);
		free(b);
		if (r != 0)
			goto out;
	}
	if (fs_fsync_dir(dst) != 0 || fs_fsync_parent(dst) != 0)
		goto out;
	ret = fs_remove_flat_dir(src);
out:
	if (d != NULL)
		closedir(d);
	return ret;
}

int fs_remove_flat_dir(const char *dir)
{
	/* O_NOFOLLOW: a symlink planted where a directory is expected must not
	 * make us empty its target. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (d == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (e == ENOENT)
			return 0;
		log_error("cannot open directory %s: %s%s", dir, strerror(e),
			  e == ELOOP || e == ENOTDIR ? " (not a directory: left alone)" : "");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
			log_error("cannot remove %s/%s: %s", dir, de->d_name, strerror(errno));
			ret = -1;
		}
	}
	closedir(d);
	if (ret == 0 && rmdir(dir) != 0) {
		log_error("cannot remove directory %s: %s", dir, strerror(errno));
		ret = -1;
	}
	if (ret == 0)
		ret = fs_fsync_parent(dir);
	return ret;
}

int fs_dir_writable(const char *dir, unsigned long long min_free, char *why, size_t whylen)
{
	char *p = xstrdup(dir), *slash;
	struct stat st;
	struct statvfs vfs;
	unsigned long long avail;
	int ret = -1, e = 0;

	while (stat(p, &st) != 0) {
		e = errno;
		slash = strrchr(p, '/');
		if (e != ENOENT || slash == NULL || p[1] == '\0') {
			snprintf(why, whylen, "%s: %s", p, strerror(e));
			goto out;
		}
		slash[slash == p ? 1 : 0] = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		e = ENOTDIR;
		snprintf(why, whylen, "%s is not a directory", p);
		goto out;
	}
	/* EROFS shows here even for root, for whom permissions always pass. */
	if (faccessat(AT_FDCWD, p, W_OK | X_OK, AT_EACCESS) != 0) {
		e = errno;
		snprintf(why, whylen, "%s: %s", p, strerror(e));
		goto out;
	}
	if (statvfs(p, &vfs) == 0) {
		/* root may use the blocks reserved for it */
		avail = (unsigned long long)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
		if (avail < min_free) {
			e = ENOSPC;
			snprintf(why, whylen, "%s: %s (%llu bytes free)", p, strerror(e), avail);
			goto out;
		}
		if (vfs.f_files > 0 && (geteuid() == 0 ? vfs.f_ffree : vfs.f_favail) == 0) {
			e = ENOSPC;
			snprintf(why, whylen, "%s: %s (no free inode)", p, strerror(e));
			goto out;
		}
	}
	ret = 0;
out:
	free(p);
	if (ret != 0)
		errno = e;
	return ret;
}

int fs_dir_trusted(const char *dir, char *why, size_t whylen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "%s is owned by uid %ld, not by uid %ld that adenroll runs as, so that "
			 "account could replace what adenroll keeps there; chown %ld %s (or choose another "
			 "directory)", dir, (long)st.st_uid, (long)geteuid(), (long)geteuid(), dir);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whylen, "%s is writable by group or others (mode %04o), so they could replace "
			 "what adenroll keeps there; chmod go-w %s", dir, (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

/* The pid of a temp_name() leaf ".<base>.tmp-<pid>-<counter>-<hex>", 0 if it is not one. */
static long temp_owner(const char *leaf)
{
	const char *p = NULL, *q = leaf;
	char *end;
	long pid;

	if (leaf[0] != '.')
		return 0;
	while ((q = strstr(q, ".tmp-")) != NULL)
		p = q++;
	if (p == NULL)
		return 0;
	pid = strtol(p + 5, &end, 10);
	if (end == p + 5 || *end != '-' || pid <= 0)
		return 0;
	return pid;
}

/* The pid in "<prefix><pid>" (the whole leaf), 0 if it is not one. */
static long pid_file_owner(const char *leaf, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long pid;

	if (strncmp(leaf, prefix, n) != 0 || leaf[n] < '1' || leaf[n] > '9')
		return 0;
	errno = 0;
	pid = strtol(leaf + n, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 0 || pid != (long)(pid_t)pid)
		return 0;
	return pid;
}

/* fs_remove_stale_temps (prefix NULL: temp_name() leaves, regular files and
 * symlinks, logged at info) and fs_remove_stale_pid_files (prefix: exactly
 * "<prefix><pid>", regular files of the effective user only, logged at
 * debug). */
static int remove_stale(const char *dir, const char *prefix)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct stat st;
	int removed = 0;

	if (d == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return e == ENOENT ? 0 : -1;
	}
	while ((de = readdir(d)) != NULL) {
		long pid = prefix ? pid_file_owner(de->d_name, prefix) : temp_owner(de->d_name);

		if (pid == 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
			continue;   /* its writer still runs */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (prefix ? !S_ISREG(st.st_mode) || st.st_uid != geteuid()
			   : !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
			if (prefix)
				log_debug("removed %s/%s, left by run %ld that was killed while writing it", dir,
					  de->d_name, pid);
			else
				log_info("removed %s/%s, left by a run that was interrupted while writing it", dir,
					 de->d_name);
			removed++;
		} else {
			log_warn("cannot remove %s/%s: %s", dir, de->d_name, strerror(errno));
		}
	}
	closedir(d);
	if (removed > 0)
		fs_fsync_dir(dir);
	return removed;
}

int fs_remove_stale_temps(const char *dir)
{
	return remove_stale(dir, NULL);
}

int fs_remove_stale_pid_files(const char *dir, const char *prefix)
{
	return remove_stale(dir, prefix);
}

DIR *fs_opendir_nofollow(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int e = errno;

	if (d == NULL && fd >= 0)
		close(fd);
	errno = e;
	return d;
}

bool fs_is_real_dir_at(DIR *d, const char *name)
{
	struct stat st;

	return fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int fs_keys_private(const char *dir, const char *key_leaf, char *why, size_t whylen)
{
	const mode_t open_bits = S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
	char *kp = fs_path_join(dir, key_leaf);
	const char *what = dir, *problem;
	struct stat st;
	int ret = -1;

	if (stat(dir, &st) != 0) {
		ret = errno == ENOENT ? 0 : -1;   /* missing: created private */
		if (ret != 0)
			snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & open_bits) != 0)
		goto bad;
	what = kp;
	if (lstat(kp, &st) != 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret != 0)
			snprintf(why, whylen, "%s: %s", kp, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & open_bits) != 0)
		goto bad;
	ret = 0;
	goto out;
bad:
	if (what == dir && !S_ISDIR(st.st_mode))
		problem = "not a directory";
	else if (what == kp && !S_ISREG(st.st_mode))
		problem = "not a regular file";
	else if (st.st_uid != geteuid())
		problem = "not owned by the user adenroll runs as";
	else
		problem = "readable or writable by group or others";
	/* kept short: callers quote it in a one-line report */
	if (st.st_uid != geteuid())
		snprintf(why, whylen, "%s is %s (uid %ld, mode %04o), so others could read or replace its keys; "
			 "fix: chmod 700 %s && chmod 600 %s/%s && chown %ld %s %s/%s", what, problem,
			 (long)st.st_uid, (unsigned)(st.st_mode & 07777), dir, dir, key_leaf, (long)geteuid(),
			 dir, dir, key_leaf);
	else
		snprintf(why, whylen, "%s is %s (uid %ld, mode %04o), so others could read or replace its keys; "
			 "fix: chmod 700 %s && chmod 600 %s/%s", what, problem, (long)st.st_uid,
			 (unsigned)(st.st_mode & 07777), dir, dir, key_leaf);
out:
	free(kp);
	return ret;
}
