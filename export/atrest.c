/* atrest.c - chunked AES-256-GCM files at rest (atrest.h has the format). */
#include "export/atrest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

#define AAD_LEN (ATREST_MAGIC_LEN + 8 + 1)

static void make_aad(uint64_t chunk, int final, uint8_t aad[AAD_LEN])
{
	int i;

	memcpy(aad, ATREST_MAGIC, ATREST_MAGIC_LEN);
	for (i = 0; i < 8; i++)
		aad[ATREST_MAGIC_LEN + i] = (uint8_t)(chunk >> (56 - 8 * i));
	aad[ATREST_MAGIC_LEN + 8] = (uint8_t)(final ? 1 : 0);
}

void atrest_writer_init(struct atrest_writer *w, int fd, const struct crypt_key *key, const char *what)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->key = key;
	w->what = what;
	buf_init(&w->plain, ATREST_CHUNK);
	buf_init(&w->sealed, ATREST_CHUNK + CRYPT_NONCE_LEN + CRYPT_TAG_LEN + 16);
}

/* Seals the pending plaintext as the next chunk and writes it. */
static int flush_chunk(struct atrest_writer *w, int final, struct cu_err *err)
{
	uint8_t aad[AAD_LEN], len[4];
	int rc;

	if (!w->started) {
		rc = fio_write_all(w->fd, ATREST_MAGIC, ATREST_MAGIC_LEN, w->what, err);
		if (rc)
			return rc;
		w->started = 1;
	}
	make_aad(w->chunk, final, aad);
	rc = crypt_seal(w->key, aad, sizeof(aad), w->plain.data ? w->plain.data : aad, w->plain.len, &w->sealed);
	if (w->plain.data)
		OPENSSL_cleanse(w->plain.data, w->plain.len);
	buf_reset(&w->plain);
	if (rc)
		return cu_err_set(err, rc, "%s: cannot encrypt", w->what);
	len[0] = (uint8_t)(w->sealed.len >> 24);
	len[1] = (uint8_t)(w->sealed.len >> 16);
	len[2] = (uint8_t)(w->sealed.len >> 8);
	len[3] = (uint8_t)w->sealed.len;
	rc = fio_write_all(w->fd, len, sizeof(len), w->what, err);
	if (rc == 0)
		rc = fio_write_all(w->fd, w->sealed.data, w->sealed.len, w->what, err);
	w->chunk++;
	return rc;
}

int atrest_write(struct atrest_writer *w, const void *p, size_t n, struct cu_err *err)
{
	const uint8_t *s = p;
	int rc;

	if (w->failed)
		return cu_err_set(err, CU_EIO, "%s: an earlier write failed", w->what);
	if (!w->key) {
		rc = fio_write_all(w->fd, p, n, w->what, err);
		w->failed = rc != 0;
		return rc;
	}
	while (n) {
		size_t k = ATREST_CHUNK - w->plain.len;

		if (k > n)
			k = n;
		if (buf_append(&w->plain, s, k) != 0) {
			w->failed = 1;
			return cu_err_set(err, CU_ENOMEM, "%s: out of memory", w->what);
		}
		s += k;
		n -= k;
		/* Full chunks go out at once; the final one is written by finish. */
		if (w->plain.len == ATREST_CHUNK && n && (rc = flush_chunk(w, 0, err)) != 0) {
			w->failed = 1;
			return rc;
		}
	}
	return 0;
}

int atrest_finish(struct atrest_writer *w, struct cu_err *err)
{
	int rc;

	if (w->failed)
		return cu_err_set(err, CU_EIO, "%s: an earlier write failed", w->what);
	if (!w->key)
		return 0;
	rc = flush_chunk(w, 1, err);
	w->failed = rc != 0;
	return rc;
}

void atrest_writer_release(struct atrest_writer *w)
{
	if (w->plain.data)
		OPENSSL_cleanse(w->plain.data, w->plain.alloc);
	buf_release(&w->plain);
	buf_release(&w->sealed);
}

/* Reads up to n bytes at the current offset; *got < n only at the end. */
static int read_some(int fd, uint8_t *p, size_t n, size_t *got, const char *what, struct cu_err *err)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, p + *got, n - *got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cu_err_errno(err, errno, "read %s", what);
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

int atrest_read_fd(int fd, const char *what, const struct crypt_key *key, atrest_fn fn, void *arg,
		   struct cu_err *err)
{
	uint8_t hdr[ATREST_MAGIC_LEN], lenb[4], aad[AAD_LEN];
	struct buf in, plain;
	uint64_t chunk = 0;
	size_t got, clen;
	int rc, final = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return cu_err_errno(err, errno, "seek %s", what);
	buf_init(&in, ATREST_CHUNK + CRYPT_NONCE_LEN + CRYPT_TAG_LEN);
	buf_init(&plain, ATREST_CHUNK);
	rc = buf_reserve(&in, ATREST_CHUNK + CRYPT_NONCE_LEN + CRYPT_TAG_LEN);
	if (rc) {
		rc = cu_err_set(err, rc, "out of memory");
		goto out;
	}
	if (!key) {
		for (;;) {
			rc = read_some(fd, in.data, ATREST_CHUNK, &got, what, err);
			if (rc || !got)
				break;
			rc = fn(arg, in.data, got, err);
			if (rc || got < ATREST_CHUNK)
				break;
		}
		goto out;
	}
	rc = read_some(fd, hdr, sizeof(hdr), &got, what, err);
	if (rc == 0 && (got != sizeof(hdr) || memcmp(hdr, ATREST_MAGIC, ATREST_MAGIC_LEN) != 0))
		rc = cu_err_set(err, CU_ECRYPTO, "%s is not an encrypted file of this archive", what);
	while (rc == 0 && !final) {
		rc = read_some(fd, lenb, sizeof(lenb), &got, what, err);
		if (rc)
			break;
		if (got != sizeof(lenb)) {
			rc = cu_err_set(err, CU_ECRYPTO, "%s is cut short (no final chunk)", what);
			break;
		}
		clen = (size_t)lenb[0] << 24 | (size_t)lenb[1] << 16 | (size_t)lenb[2] << 8 | lenb[3];
		if (clen < CRYPT_NONCE_LEN + CRYPT_TAG_LEN || clen > ATREST_CHUNK + CRYPT_NONCE_LEN + CRYPT_TAG_LEN) {
			rc = cu_err_set(err, CU_ECRYPTO, "%s: chunk %llu has a bad length", what,
					(unsigned long long)chunk);
			break;
		}
		rc = read_some(fd, in.data, clen, &got, what, err);
		if (rc == 0 && got != clen)
			rc = cu_err_set(err, CU_ECRYPTO, "%s is cut short in chunk %llu", what,
					(unsigned long long)chunk);
		if (rc)
			break;
		/* The final flag is authenticated: try "not final", then "final". */
		make_aad(chunk, 0, aad);
		if (crypt_open_box(key, aad, sizeof(aad), in.data, clen, &plain) != 0) {
			make_aad(chunk, 1, aad);
			if (crypt_open_box(key, aad, sizeof(aad), in.data, clen, &plain) != 0) {
				rc = cu_err_set(err, CU_ECRYPTO, "%s: chunk %llu does not decrypt (changed, or "
						"another key)", what, (unsigned long long)chunk);
				break;
			}
			final = 1;
		}
		chunk++;
		if (plain.len)
			rc = fn(arg, plain.data, plain.len, err);
		OPENSSL_cleanse(plain.data, plain.len);
	}
	if (rc == 0 && final) {
		rc = read_some(fd, lenb, 1, &got, what, err);
		if (rc == 0 && got)
			rc = cu_err_set(err, CU_ECRYPTO, "%s has bytes after its final chunk", what);
	}
out:
	if (plain.data)
		OPENSSL_cleanse(plain.data, plain.alloc);
	buf_release(&in);
	buf_release(&plain);
	return rc;
}

int atrest_read_file(const char *path, const struct crypt_key *key, atrest_fn fn, void *arg,
		     struct cu_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return errno == ENOENT ? cu_err_set(err, CU_ENOTFOUND, "%s is not there", path)
				       : cu_err_errno(err, errno, "open %s", path);
	rc = atrest_read_fd(fd, path, key, fn, arg, err);
	close(fd);
	return rc;
}

static int to_buf(void *arg, const uint8_t *p, size_t n, struct cu_err *err)
{
	int rc = buf_append(arg, p, n);

	return rc ? cu_err_set(err, rc, "the file is larger than %zu bytes", ((struct buf *)arg)->max) : 0;
}

int atrest_read_buf(const char *path, const struct crypt_key *key, struct buf *out, struct cu_err *err)
{
	buf_reset(out);
	return atrest_read_file(path, key, to_buf, out, err);
}
