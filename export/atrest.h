/* atrest.h - files the archive keeps beside the log that hold record
 * content (export and transfer packages, their record lists, spool
 * files): encrypted at rest whenever the archive is, with the archive's
 * data key (archiver/crypt.h), in chunks, so a large package is never held
 * in memory whole and plaintext never touches the disk.
 *
 * Format of an encrypted file (docs/EXPORTS.md "Packages at rest"):
 *   "CUSTOS-ATREST-1\n"                                  16 bytes
 *   chunks: length (4 bytes big-endian) || crypt_seal output
 *           (nonce 12 || ciphertext || tag 16), of at most ATREST_CHUNK
 *           plaintext bytes; the AAD is the 16 header bytes, the chunk's
 *           number (8 bytes big-endian) and a final flag (1 byte): chunks
 *           cannot be reordered, dropped, or the file cut after one
 *   the last chunk has the final flag (and may be empty).
 * Without a key (an archive not encrypted at rest) the file is the plain
 * bytes, written and read through the same calls.
 *
 * Threads: an atrest_writer belongs to one thread; the read functions are
 * reentrant.
 */
#ifndef CUSTOS_EXPORT_ATREST_H
#define CUSTOS_EXPORT_ATREST_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/crypt.h"
#include "common/buf.h"
#include "common/error.h"

#define ATREST_MAGIC "CUSTOS-ATREST-1\n"
#define ATREST_MAGIC_LEN 16
#define ATREST_CHUNK (1u << 20) /* plaintext bytes per chunk */

/* Writes one file through fd (which it does not own). */
struct atrest_writer {
	int fd;
	const char *what;             /* for messages */
	const struct crypt_key *key;  /* NULL: plain */
	struct buf plain;             /* the chunk being filled */
	struct buf sealed;            /* crypt_seal output */
	uint64_t chunk;               /* chunks written */
	int started;                  /* header written */
	int failed;                   /* sticky: a write failed */
};

/* key NULL: the bytes go to fd as they are. key is borrowed. */
void atrest_writer_init(struct atrest_writer *w, int fd, const struct crypt_key *key, const char *what);
int atrest_write(struct atrest_writer *w, const void *p, size_t n, struct cu_err *err) CU_MUST_CHECK;
/* Writes the final chunk (encrypted) or nothing more (plain). No fsync. */
int atrest_finish(struct atrest_writer *w, struct cu_err *err) CU_MUST_CHECK;
/* Wipes and frees the buffers (call after finish or on failure). */
void atrest_writer_release(struct atrest_writer *w);

/* Reads fd from offset 0 to its end, decrypting with key (NULL: plain),
 * and hands the plaintext to fn in pieces of at most ATREST_CHUNK bytes.
 * CU_ECRYPTO for a changed, reordered or cut file, or the wrong key;
 * fn's nonzero return stops and is returned. */
typedef int (*atrest_fn)(void *arg, const uint8_t *p, size_t n, struct cu_err *err);
int atrest_read_fd(int fd, const char *what, const struct crypt_key *key, atrest_fn fn, void *arg,
		   struct cu_err *err) CU_MUST_CHECK;
/* The same for a file by name (O_NOFOLLOW). CU_ENOTFOUND if it is not there. */
int atrest_read_file(const char *path, const struct crypt_key *key, atrest_fn fn, void *arg,
		     struct cu_err *err) CU_MUST_CHECK;
/* Reads a whole file into out (capped by out's max: CU_ETOOBIG). */
int atrest_read_buf(const char *path, const struct crypt_key *key, struct buf *out,
		    struct cu_err *err) CU_MUST_CHECK;

#endif
