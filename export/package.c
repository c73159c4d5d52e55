/* package.c - writing a package with libarchive (zip or pax tar), hashing
 * every file for the manifests as it goes, and the package itself for the
 * log's "produced" record.
 *
 * A file's size must be known before its header is written (tar needs it;
 * zip is smaller with it), so each file is spooled first: in memory up to
 * SPOOL_MEM, beyond that in an unlinked temporary file beside the package.
 * The package is written to a temporary name and linked into place only
 * when it is complete and fsynced: a failed or interrupted export never
 * leaves a half package under the requested name.
 *
 * With a key (a package kept in the data directory of an archive that is
 * encrypted at rest) the package is written through export/atrest.h, and a
 * spool file is encrypted under a random key that lives only in memory:
 * no plaintext of it touches the disk. The package's SHA-256 is that of
 * the plaintext package, the bytes a download gives.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/encode.h"
#include "common/fileio.h"
#include "export/atrest.h"
#include "export/export_int.h"

#define SPOOL_MEM (16u << 20)      /* file content kept in memory before spilling to disk */
#define MANIFEST_MAX (1ull << 30)  /* cap on a manifest's text */

struct pkg_writer {
	struct exp_sink sink;       /* first member: the sink callbacks get a pkg_writer */
	struct archive *a;          /* libarchive writer */
	int fd;                     /* the temporary package file */
	struct atrest_writer out;   /* ... written through this (plain without a key) */
	int out_open;               /* 1 once out is initialised */
	char *out_path;             /* the name the package gets when complete */
	char *tmp_path;             /* its temporary name; NULL once linked into place */
	char *dir;                  /* the directory of both */
	enum exp_container container;
	int bagit;                  /* 1: BagIt manifests, else SHA256SUMS */
	char base[96];              /* the base directory inside the package */
	time_t mtime;               /* modification time of every entry */
	EVP_MD_CTX *pkg_md;         /* SHA-256 of the package bytes as written */
	uint64_t pkg_bytes;         /* package bytes written */
	struct cu_err io_err;       /* first error inside the libarchive write callback */
	/* the file being written */
	char path[EXP_READ_MAX_PATH]; /* its path below base */
	int in_file;                /* 1 between begin and end */
	struct buf mem;             /* its content while it is small */
	int spill_fd;               /* >= 0 once the content went to disk */
	struct atrest_writer spill_w; /* ... written through this */
	struct crypt_key spill_key; /* random, in memory only, when the package is encrypted */
	int encrypt;                /* 1: package and spool encrypted */
	uint64_t size;              /* its size so far */
	EVP_MD_CTX *md256, *md512;  /* its digests */
	/* manifests */
	struct buf sums256;         /* SHA256SUMS, or BagIt manifest-sha256.txt */
	struct buf sums512;         /* BagIt manifest-sha512.txt */
	struct buf tag256;          /* BagIt tagmanifest-sha256.txt */
	uint64_t oxum_bytes;        /* BagIt payload octets */
	uint64_t oxum_files;        /* BagIt payload files */
	uint64_t files;             /* files written */
	int finished;               /* 1 after pkg_writer_finish succeeded */
	char hex[65];               /* the package's SHA-256 after finish */
};

/* libarchive's output callback: the file and the package digest. */
static la_ssize_t write_cb(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct pkg_writer *w = ctx;

	(void)a;
	if (atrest_write(&w->out, p, n, &w->io_err) != 0)
		return -1;
	if (EVP_DigestUpdate(w->pkg_md, p, n) != 1) {
		cu_err_set(&w->io_err, CU_ECRYPTO, "hashing the package failed");
		return -1;
	}
	w->pkg_bytes += n;
	return (la_ssize_t)n;
}

static int la_fail(struct pkg_writer *w, const char *what, struct cu_err *err)
{
	if (w->io_err.code)
		return cu_err_set(err, w->io_err.code, "%s", w->io_err.msg);
	return cu_err_set(err, CU_EIO, "%s: %s", what, archive_error_string(w->a) ?
			  archive_error_string(w->a) : "libarchive error");
}

static int is_payload(const struct pkg_writer *w, const char *path)
{
	return w->bagit && exp_bag_is_payload(path);
}

static int sink_begin(struct exp_sink *s, const char *path, struct cu_err *err)
{
	struct pkg_writer *w = (struct pkg_writer *)s;

	if (w->in_file || strlen(path) >= sizeof(w->path) - sizeof(w->base) - 2)
		return cu_err_set(err, CU_EINVAL, "package: bad file %s", path);
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->in_file = 1;
	w->size = 0;
	buf_reset(&w->mem);
	if (w->spill_fd >= 0) {
		atrest_writer_release(&w->spill_w);
		close(w->spill_fd);
		w->spill_fd = -1;
	}
	if (EVP_DigestInit_ex(w->md256, EVP_sha256(), NULL) != 1 ||
	    (w->bagit && EVP_DigestInit_ex(w->md512, EVP_sha512(), NULL) != 1))
		return cu_err_set(err, CU_ECRYPTO, "package: digest init failed");
	return 0;
}

/* Moves the content to an unlinked temporary file beside the package. */
static int spill(struct pkg_writer *w, struct cu_err *err)
{
	char tmpl[4096];
	int fd;

	snprintf(tmpl, sizeof(tmpl), "%s/.custos-spool-XXXXXX", w->dir);
	fd = mkstemp(tmpl);
	if (fd < 0)
		return cu_err_errno(err, errno, "package: cannot create a spool file in %s", w->dir);
	unlink(tmpl);
	w->spill_fd = fd;
	atrest_writer_init(&w->spill_w, fd, w->encrypt ? &w->spill_key : NULL, "package spool file");
	if (atrest_write(&w->spill_w, w->mem.data, w->mem.len, err) != 0)
		return CU_EIO;
	OPENSSL_cleanse(w->mem.data, w->mem.len);
	buf_reset(&w->mem);
	return 0;
}

static int sink_write(struct exp_sink *s, const void *p, size_t n, struct cu_err *err)
{
	struct pkg_writer *w = (struct pkg_writer *)s;

	if (!w->in_file)
		return cu_err_set(err, CU_ESTATE, "package: write outside a file");
	if (EVP_DigestUpdate(w->md256, p, n) != 1 ||
	    (w->bagit && EVP_DigestUpdate(w->md512, p, n) != 1))
		return cu_err_set(err, CU_ECRYPTO, "package: hashing failed");
	w->size += n;
	if (w->spill_fd < 0 && w->mem.len + n > SPOOL_MEM && spill(w, err) != 0)
		return CU_EIO;
	if (w->spill_fd >= 0)
		return atrest_write(&w->spill_w, p, n, err);
	if (buf_append(&w->mem, p, n) != 0)
		return cu_err_set(err, CU_ENOMEM, "package: out of memory");
	return 0;
}

static int add_line(struct buf *b, const char *hex, const char *path, struct cu_err *err)
{
	if (buf_printf(b, "%s  %s\n", hex, path) != 0)
		return cu_err_set(err, CU_ETOOBIG, "package: manifest larger than %llu bytes",
				  (unsigned long long)MANIFEST_MAX);
	return 0;
}

/* Copies a spooled file back into the archive, chunk by chunk. */
struct entry_copy {
	struct pkg_writer *w;
	const char *name;
	uint64_t copied;
};

static int copy_chunk(void *arg, const uint8_t *p, size_t n, struct cu_err *err)
{
	struct entry_copy *c = arg;

	if (archive_write_data(c->w->a, p, n) != (la_ssize_t)n)
		return la_fail(c->w, c->name, err);
	c->copied += n;
	return 0;
}

/* Writes the entry header and the spooled content into the archive. */
static int emit_entry(struct pkg_writer *w, struct cu_err *err)
{
	struct archive_entry *ae = archive_entry_new();
	char full[EXP_READ_MAX_PATH + 128];
	int rc = 0;

	if (!ae)
		return cu_err_set(err, CU_ENOMEM, "package: out of memory");
	snprintf(full, sizeof(full), "%s/%s", w->base, w->path);
	archive_entry_set_pathname_utf8(ae, full);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)w->size);
	archive_entry_set_mtime(ae, w->mtime, 0);
	if (archive_write_header(w->a, ae) != ARCHIVE_OK) {
		rc = la_fail(w, full, err);
		goto out;
	}
	if (w->spill_fd < 0) {
		if (w->mem.len && archive_write_data(w->a, w->mem.data, w->mem.len) != (la_ssize_t)w->mem.len) {
			rc = la_fail(w, full, err);
			goto out;
		}
	} else {
		struct entry_copy ec = {w, full, 0};

		rc = atrest_finish(&w->spill_w, err);
		if (rc == 0)
			rc = atrest_read_fd(w->spill_fd, "package spool file", w->encrypt ? &w->spill_key : NULL,
					    copy_chunk, &ec, err);
		if (rc == 0 && ec.copied != w->size)
			rc = cu_err_set(err, CU_EIO, "package spool file: %llu bytes read back, %llu written",
					(unsigned long long)ec.copied, (unsigned long long)w->size);
		if (rc)
			goto out;
	}
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		rc = la_fail(w, full, err);
out:
	archive_entry_free(ae);
	return rc;
}

static int sink_end(struct exp_sink *s, struct cu_err *err)
{
	struct pkg_writer *w = (struct pkg_writer *)s;
	uint8_t d256[32], d512[64];
	char hex[129];
	unsigned int len = 0;
	int rc;

	if (!w->in_file)
		return cu_err_set(err, CU_ESTATE, "package: end outside a file");
	w->in_file = 0;
	if (EVP_DigestFinal_ex(w->md256, d256, &len) != 1)
		return cu_err_set(err, CU_ECRYPTO, "package: hashing failed");
	hex_encode(d256, 32, hex);
	if (!w->bagit) {
		if (strcmp(w->path, EXP_SUMS) != 0 && (rc = add_line(&w->sums256, hex, w->path, err)))
			return rc;
	} else if (is_payload(w, w->path)) {
		if ((rc = add_line(&w->sums256, hex, w->path, err)))
			return rc;
		if (EVP_DigestFinal_ex(w->md512, d512, &len) != 1)
			return cu_err_set(err, CU_ECRYPTO, "package: hashing failed");
		hex_encode(d512, 64, hex);
		if ((rc = add_line(&w->sums512, hex, w->path, err)))
			return rc;
		w->oxum_bytes += w->size;
		w->oxum_files++;
	} else if (strcmp(w->path, EXP_BAG_TAGMANIFEST) != 0) {
		if ((rc = add_line(&w->tag256, hex, w->path, err)))
			return rc;
	}
	rc = emit_entry(w, err);
	if (!rc)
		w->files++;
	return rc;
}

static int sink_oxum(struct exp_sink *s, uint64_t *bytes, uint64_t *files)
{
	struct pkg_writer *w = (struct pkg_writer *)s;

	*bytes = w->oxum_bytes;
	*files = w->oxum_files;
	return 0;
}

int pkg_writer_open(const char *out_path, enum exp_container c, const char *base, int bagit,
		    int64_t mtime_ms, const struct crypt_key *key, struct pkg_writer **out, struct cu_err *err)
{
	struct pkg_writer *w = calloc(1, sizeof(*w));
	char *dcopy = NULL;
	struct stat sb;
	int rc = 0;

	*out = NULL;
	if (!w)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	w->fd = -1;
	w->spill_fd = -1;
	w->container = c;
	w->bagit = bagit;
	w->mtime = (time_t)(mtime_ms / 1000);
	snprintf(w->base, sizeof(w->base), "%s", base);
	buf_init(&w->mem, SPOOL_MEM + (1u << 20));
	buf_init(&w->sums256, MANIFEST_MAX);
	buf_init(&w->sums512, MANIFEST_MAX);
	buf_init(&w->tag256, MANIFEST_MAX);
	w->sink.begin = sink_begin;
	w->sink.write = sink_write;
	w->sink.end = sink_end;
	w->sink.payload_oxum = sink_oxum;
	w->out_path = strdup(out_path);
	dcopy = strdup(out_path);
	w->pkg_md = EVP_MD_CTX_new();
	w->md256 = EVP_MD_CTX_new();
	w->md512 = EVP_MD_CTX_new();
	if (!w->out_path || !dcopy || !w->pkg_md || !w->md256 || !w->md512) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	w->dir = strdup(dirname(dcopy));
	if (!w->dir || asprintf(&w->tmp_path, "%s.tmp-XXXXXX", out_path) < 0) {
		w->tmp_path = NULL;
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if (lstat(out_path, &sb) == 0) {
		rc = cu_err_set(err, CU_EEXIST, "%s exists: refusing to overwrite it", out_path);
		goto out;
	}
	w->fd = mkstemp(w->tmp_path);
	if (w->fd < 0) {
		rc = cu_err_errno(err, errno, "cannot create %s", w->tmp_path);
		free(w->tmp_path);
		w->tmp_path = NULL;
		goto out;
	}
	fchmod(w->fd, key ? 0600 : 0644);
	atrest_writer_init(&w->out, w->fd, key, w->tmp_path);
	w->out_open = 1;
	w->encrypt = key != NULL;
	if (key && RAND_priv_bytes(w->spill_key.key, sizeof(w->spill_key.key)) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "no randomness for the spool key");
		goto out;
	}
	if (EVP_DigestInit_ex(w->pkg_md, EVP_sha256(), NULL) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "digest init failed");
		goto out;
	}
	w->a = archive_write_new();
	if (!w->a) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if ((c == EXP_TAR ? archive_write_set_format_pax_restricted(w->a)
			  : archive_write_set_format_zip(w->a)) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		rc = la_fail(w, "cannot start the package", err);
		goto out;
	}
	*out = w;
	w = NULL;
out:
	free(dcopy);
	pkg_writer_free(w);
	return rc;
}

struct exp_sink *pkg_writer_sink(struct pkg_writer *w)
{
	return &w->sink;
}

/* Writes one whole file from memory through the sink. */
static int put_file(struct pkg_writer *w, const char *path, const struct buf *b, struct cu_err *err)
{
	int rc = sink_begin(&w->sink, path, err);

	if (!rc && b->len)
		rc = sink_write(&w->sink, b->data, b->len, err);
	if (!rc)
		rc = sink_end(&w->sink, err);
	return rc;
}

/* Links the finished temporary file to its name, never replacing a file
 * that appeared meanwhile. */
static int link_into_place(struct pkg_writer *w, struct cu_err *err)
{
	struct stat sb;

	if (link(w->tmp_path, w->out_path) != 0) {
		if (errno == EEXIST)
			return cu_err_set(err, CU_EEXIST, "%s exists: refusing to overwrite it",
					  w->out_path);
		if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP)
			return cu_err_errno(err, errno, "cannot create %s", w->out_path);
		/* No hard links on this file system: rename, after a check. */
		if (lstat(w->out_path, &sb) == 0)
			return cu_err_set(err, CU_EEXIST, "%s exists: refusing to overwrite it",
					  w->out_path);
		if (rename(w->tmp_path, w->out_path) != 0)
			return cu_err_errno(err, errno, "cannot rename to %s", w->out_path);
	} else {
		unlink(w->tmp_path);
	}
	free(w->tmp_path);
	w->tmp_path = NULL;
	return fio_fsync_dir(w->dir, err);
}

int pkg_writer_finish(struct pkg_writer *w, const struct exp_set *s, struct cu_err *err)
{
	uint8_t d[32];
	unsigned int len = 0;
	int rc;

	(void)s;
	if (!w->bagit) {
		rc = put_file(w, EXP_SUMS, &w->sums256, err);
	} else {
		rc = put_file(w, EXP_BAG_MANIFEST256, &w->sums256, err);
		if (!rc)
			rc = put_file(w, EXP_BAG_MANIFEST512, &w->sums512, err);
		if (!rc)
			rc = put_file(w, EXP_BAG_TAGMANIFEST, &w->tag256, err);
	}
	if (rc)
		return rc;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return la_fail(w, "cannot finish the package", err);
	rc = atrest_finish(&w->out, err);
	if (rc)
		return rc;
	rc = fio_fsync(w->fd, w->tmp_path, err);
	if (rc)
		return rc;
	if (EVP_DigestFinal_ex(w->pkg_md, d, &len) != 1)
		return cu_err_set(err, CU_ECRYPTO, "hashing the package failed");
	hex_encode(d, 32, w->hex);
	rc = link_into_place(w, err);
	if (!rc)
		w->finished = 1;
	return rc;
}

void pkg_writer_digest(struct pkg_writer *w, char hex[65], uint64_t *bytes, uint64_t *files)
{
	memcpy(hex, w->hex, 65);
	*bytes = w->pkg_bytes;
	*files = w->files;
}

void pkg_writer_free(struct pkg_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a); /* also closes if still open */
	if (w->fd >= 0)
		close(w->fd);
	if (w->spill_fd >= 0) {
		atrest_writer_release(&w->spill_w);
		close(w->spill_fd);
	}
	if (w->out_open)
		atrest_writer_release(&w->out);
	OPENSSL_cleanse(&w->spill_key, sizeof(w->spill_key));
	if (w->mem.data)
		OPENSSL_cleanse(w->mem.data, w->mem.alloc);
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	free(w->out_path);
	free(w->dir);
	EVP_MD_CTX_free(w->pkg_md);
	EVP_MD_CTX_free(w->md256);
	EVP_MD_CTX_free(w->md512);
	buf_release(&w->mem);
	buf_release(&w->sums256);
	buf_release(&w->sums512);
	buf_release(&w->tag256);
	free(w);
}
