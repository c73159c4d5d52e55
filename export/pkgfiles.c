/* pkgfiles.c - record lists beside packages, and removing packages that
 * hold erased records or have expired (pkgfiles.h). */
#include "export/pkgfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fileio.h"
#include "common/layout.h"
#include "export/atrest.h"
#include "export/export.h"

#define LIST_MAGIC "CUSTOS-RECORDS1\n" /* 16 bytes, then created_ms, n, seqs: 8 bytes big-endian each */
#define LIST_HDR (16 + 8 + 8)
#define LIST_MAX ((size_t)LIST_HDR + 8 * (size_t)EXP_MAX_RECORDS)
#define SWEEP_MAX_NAMES 100000 /* directory entries looked at in one sweep */

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int exp_pkg_list_write(const char *pkg_path, const struct crypt_key *key, int64_t created_ms,
		       const uint64_t *seqs, size_t n, struct cu_err *err)
{
	struct atrest_writer w;
	char path[PATH_MAX], tmp[PATH_MAX + 16], *dir = NULL, *slash;
	uint8_t hdr[LIST_HDR], b[8];
	size_t i;
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s%s", pkg_path, EXP_PKG_LIST_SUFFIX) >= (int)sizeof(path))
		return cu_err_set(err, CU_EINVAL, "%s: name too long", pkg_path);
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return cu_err_errno(err, errno, "cannot create %s", tmp);
	fchmod(fd, 0600);
	memcpy(hdr, LIST_MAGIC, 16);
	put_be64(hdr + 16, (uint64_t)created_ms);
	put_be64(hdr + 24, (uint64_t)n);
	atrest_writer_init(&w, fd, key, tmp);
	rc = atrest_write(&w, hdr, sizeof(hdr), err);
	for (i = 0; rc == 0 && i < n; i++) {
		put_be64(b, seqs[i]);
		rc = atrest_write(&w, b, sizeof(b), err);
	}
	if (rc == 0)
		rc = atrest_finish(&w, err);
	atrest_writer_release(&w);
	if (rc == 0)
		rc = fio_fsync(fd, tmp, err);
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = cu_err_errno(err, errno, "rename %s", tmp);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	dir = strdup(path);
	if (!dir)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	rc = fio_fsync_dir(slash ? dir : ".", err);
	free(dir);
	return rc;
}

/* The package a file of the directory belongs to: its own name for the
 * package, without EXP_PKG_LIST_SUFFIX for its list, without ".tmp-XXXXXX"
 * for a temporary file of either. */
static void base_of(const char *name, char *out, size_t outlen)
{
	size_t n, sl = strlen(EXP_PKG_LIST_SUFFIX);

	snprintf(out, outlen, "%s", name);
	n = strlen(out);
	if (n > 11 && !strncmp(out + n - 11, ".tmp-", 5))
		out[n -= 11] = '\0';
	if (n > sl && !strcmp(out + n - sl, EXP_PKG_LIST_SUFFIX))
		out[n - sl] = '\0';
}

/* Reads a package's list: 0 and the seqs (malloc'd) and creation time, or
 * an error when it is missing or unreadable. */
static int list_read(const char *pkg_path, const struct crypt_key *key, uint64_t **seqs, size_t *n,
		     int64_t *created_ms, struct cu_err *err)
{
	char path[PATH_MAX];
	struct buf b;
	size_t i;
	int rc;

	*seqs = NULL;
	*n = 0;
	if (snprintf(path, sizeof(path), "%s%s", pkg_path, EXP_PKG_LIST_SUFFIX) >= (int)sizeof(path))
		return cu_err_set(err, CU_EINVAL, "%s: name too long", pkg_path);
	buf_init(&b, LIST_MAX);
	rc = atrest_read_buf(path, key, &b, err);
	if (rc == 0 && (b.len < LIST_HDR || memcmp(b.data, LIST_MAGIC, 16) != 0 ||
			get_be64(b.data + 24) != (b.len - LIST_HDR) / 8 || (b.len - LIST_HDR) % 8))
		rc = cu_err_set(err, CU_ECORRUPT, "%s is not a record list", path);
	if (rc == 0) {
		*created_ms = (int64_t)get_be64(b.data + 16);
		*n = (b.len - LIST_HDR) / 8;
		*seqs = malloc(*n * 8 + 8);
		if (!*seqs)
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		for (i = 0; rc == 0 && i < *n; i++)
			(*seqs)[i] = get_be64(b.data + LIST_HDR + 8 * i);
	}
	buf_release(&b);
	return rc;
}

/* 1 if the sorted lists a and b share a seq. */
static int intersects(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j])
			return 1;
		if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Unlinks dir/name, ENOENT being no error. */
static int unlink_in(const char *dir, const char *name, struct cu_err *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		return cu_err_errno(err, errno, "cannot remove %s", path);
	return 0;
}

int exp_pkg_remove(const char *pkg_path, struct cu_err *err)
{
	char *dir = strdup(pkg_path), *slash, base[NAME_MAX + 1], b2[NAME_MAX + 1];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (!dir)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		dir = strdup(".");
		if (!dir)
			return cu_err_set(err, CU_ENOMEM, "out of memory");
		snprintf(base, sizeof(base), "%s", pkg_path);
	} else {
		*slash = '\0';
		snprintf(base, sizeof(base), "%s", slash + 1);
	}
	d = opendir(dir);
	if (!d) {
		rc = errno == ENOENT ? 0 : cu_err_errno(err, errno, "cannot read %s", dir);
		free(dir);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		base_of(de->d_name, b2, sizeof(b2));
		if (!strcmp(b2, base))
			rc = unlink_in(dir, de->d_name, err);
	}
	closedir(d);
	if (rc == 0)
		rc = fio_fsync_dir(dir, err);
	free(dir);
	return rc;
}

/* A file of a package directory and the package it belongs to. */
struct pkg_name {
	char *name;
	char base[NAME_MAX + 1];
};

static int pkg_name_cmp(const void *a, const void *b)
{
	const struct pkg_name *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c ? c : strcmp(x->name, y->name);
}

/* Whether the package base of dir must go: it holds a seq of del (or its
 * list cannot be read while del is given), or it is older than
 * expire_before_ms. newest_ms is the latest modification time of its
 * files, its age when the list cannot be read (a package from an older
 * version, or one whose list is being written right now). */
static int must_go(const char *dir, const char *base, const struct crypt_key *key, const uint64_t *del,
		   size_t ndel, int64_t expire_before_ms, int64_t newest_ms)
{
	char path[PATH_MAX];
	uint64_t *seqs = NULL;
	size_t nseqs = 0;
	struct cu_err lerr;
	int64_t created = newest_ms;
	int readable, go = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, base);
	cu_err_clear(&lerr);
	readable = list_read(path, key, &seqs, &nseqs, &created, &lerr) == 0;
	if (!readable)
		created = newest_ms;
	if (ndel && (!readable || intersects(seqs, nseqs, del, ndel)))
		go = 1;
	if (expire_before_ms != INT64_MIN && created < expire_before_ms)
		go = 1;
	free(seqs);
	return go;
}

int exp_pkg_sweep(const char *dir, const char *label, const struct crypt_key *key, const uint64_t *del,
		  size_t ndel, int64_t expire_before_ms, int dry_run, json_t *removed, struct cu_err *err)
{
	struct pkg_name *names = NULL;
	uint64_t *sorted = NULL;
	size_t n = 0, alloc = 0, i, k;
	struct dirent *de;
	int rc = 0, any = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : cu_err_errno(err, errno, "cannot read %s", dir);
	while ((de = readdir(d)) != NULL && n < SWEEP_MAX_NAMES) {
		if (de->d_name[0] == '.')
			continue;
		if (n == alloc) {
			struct pkg_name *nn = realloc(names, (alloc = alloc ? 2 * alloc : 64) * sizeof(*names));
			if (!nn) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				break;
			}
			names = nn;
		}
		if (!(names[n].name = strdup(de->d_name))) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			break;
		}
		base_of(de->d_name, names[n].base, sizeof(names[n].base));
		n++;
	}
	closedir(d);
	if (rc)
		goto out;
	if (ndel) {
		sorted = malloc(ndel * sizeof(*sorted));
		if (!sorted) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(sorted, del, ndel * sizeof(*sorted));
		qsort(sorted, ndel, sizeof(*sorted), u64_cmp);
	}
	if (n)
		qsort(names, n, sizeof(*names), pkg_name_cmp);
	/* The files of one package are adjacent now: one decision each. */
	for (i = 0; rc == 0 && i < n; i = k) {
		int64_t newest = INT64_MIN;

		for (k = i; k < n && !strcmp(names[k].base, names[i].base); k++) {
			char path[PATH_MAX];
			struct stat sb;

			snprintf(path, sizeof(path), "%s/%s", dir, names[k].name);
			if (lstat(path, &sb) == 0 && (int64_t)sb.st_mtime * 1000 > newest)
				newest = (int64_t)sb.st_mtime * 1000;
		}
		if (!must_go(dir, names[i].base, key, sorted, ndel, expire_before_ms, newest))
			continue;
		if (removed) {
			char shown[PATH_MAX];

			snprintf(shown, sizeof(shown), "%s/%s", label, names[i].base);
			json_array_append_new(removed, json_string(shown));
		}
		if (dry_run)
			continue;
		for (; rc == 0 && i < k; i++)
			rc = unlink_in(dir, names[i].name, err);
		any = 1;
	}
	if (rc == 0 && any)
		rc = fio_fsync_dir(dir, err);
out:
	for (i = 0; i < n; i++)
		free(names[i].name);
	free(names);
	free(sorted);
	return rc;
}

int exp_pkg_ttl(const char *datadir, const char *config_path, int64_t *ttl_ms, struct cu_err *err)
{
	char path[PATH_MAX];
	struct custos_config *cfg;
	int rc;

	*ttl_ms = (int64_t)EXP_PKG_TTL_DEFAULT_S * 1000;
	if (!config_path) {
		snprintf(path, sizeof(path), "%s/" LAYOUT_CONFIG, datadir);
		config_path = path;
	}
	if ((rc = config_read(config_path, 1, &cfg, err))) /* no file: the defaults */
		return rc;
	*ttl_ms = (int64_t)cfg->exports.package_ttl_s * 1000;
	free(cfg);
	return 0;
}

int exp_pkg_expire(const char *datadir, const char *config_path, const struct crypt_key *key, int64_t now_ms,
		   json_t *removed, struct cu_err *err)
{
	char dir[PATH_MAX];
	int64_t ttl;
	int rc;

	rc = exp_pkg_ttl(datadir, config_path, &ttl, err);
	if (rc)
		return rc;
	snprintf(dir, sizeof(dir), "%s/" LAYOUT_EXPORTS_DIR, datadir);
	return exp_pkg_sweep(dir, LAYOUT_EXPORTS_DIR, key, NULL, 0, now_ms - ttl, 0, removed, err);
}
