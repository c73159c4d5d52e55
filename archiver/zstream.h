/* zstream.h - a frame's compression while it is being built.
 *
 * The writer feeds the entries of the frame it is building as they are
 * encoded, and zstd compresses them on its own worker threads
 * (ZSTD_c_nbWorkers), so that compressing a group commit overlaps with
 * encoding and hashing its records instead of following them. Jobs carry
 * the whole window of the job before (ZSTD_c_overlapLog 9), so the result
 * is as small as one-shot compression. The zstd frame has no content size
 * (it is not known in advance); the segment frame header carries it
 * (docs/FORMAT.md "Frame").
 */
#ifndef CUSTOS_ARCHIVER_ZSTREAM_H
#define CUSTOS_ARCHIVER_ZSTREAM_H

#include <zstd.h>

#include "common/buf.h"
#include "common/error.h"

struct zstream {
	ZSTD_CCtx *cctx;
	size_t fed;   /* bytes of the frame's raw buffer given to zstd so far */
	int open;     /* 1 while a frame is being compressed */
};

/* level: zstd level; workers: 0 compresses in the caller's thread. */
int zs_init(struct zstream *z, int level, int workers, struct cu_err *err) CU_MUST_CHECK;
void zs_free(struct zstream *z);
/* Gives zstd raw[fed..len) and appends what it has compressed to out;
 * with end, finishes the zstd frame (out then holds all of it). */
int zs_feed(struct zstream *z, const struct buf *raw, struct buf *out, int end,
	    struct cu_err *err) CU_MUST_CHECK;
/* Abandons the frame being compressed (a failed append). */
void zs_abort(struct zstream *z);

#endif
