/* buf.h - growable byte buffer with a hard cap (every buffer has a cap).
 *
 * Ownership: buf_init() starts an empty buffer owned by the caller,
 * buf_release() frees its memory, buf_take() hands the bytes to the caller
 * (who frees them with free()) and leaves the buffer empty.
 * data is always NUL-terminated past len so text can be used as a C string.
 */
#ifndef CUSTOS_COMMON_BUF_H
#define CUSTOS_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct buf {
	uint8_t *data; /* NULL until the first append; NUL-terminated past len */
	size_t len;    /* bytes in use */
	size_t alloc;  /* bytes allocated (len + 1 <= alloc when data != NULL) */
	size_t max;    /* hard cap on len; appends beyond it fail with CU_ETOOBIG */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
uint8_t *buf_take(struct buf *b, size_t *len_out);

/* Makes room for at least extra more bytes. */
int buf_reserve(struct buf *b, size_t extra) CU_MUST_CHECK;
int buf_append(struct buf *b, const void *p, size_t n) CU_MUST_CHECK;
int buf_append_str(struct buf *b, const char *s) CU_MUST_CHECK;
int buf_append_byte(struct buf *b, uint8_t c) CU_MUST_CHECK;
int buf_printf(struct buf *b, const char *fmt, ...) CU_MUST_CHECK
	__attribute__((format(printf, 2, 3)));

#endif
