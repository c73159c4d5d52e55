/* zstream.c - compression of a frame while it is built (zstream.h). */
#include "archiver/zstream.h"

#include "archiver/segment.h"

#define ZS_JOB_BYTES (1u << 20) /* zstd's job size: a worker starts each MiB */

int zs_init(struct zstream *z, int level, int workers, struct cu_err *err)
{
	z->fed = 0;
	z->open = 0;
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level))) {
		zs_free(z);
		return cu_err_set(err, CU_EINVAL, "bad zstd level %d", level);
	}
	/* A libzstd built without threads refuses workers: compress inline. */
	if (workers > 0 &&
	    !ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, workers))) {
		(void)ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_jobSize, ZS_JOB_BYTES);
		(void)ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_overlapLog, 9);
	}
	return 0;
}

void zs_free(struct zstream *z)
{
	ZSTD_freeCCtx(z->cctx);
	z->cctx = NULL;
}

int zs_feed(struct zstream *z, const struct buf *raw, struct buf *out, int end, struct cu_err *err)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer ob;
	size_t left;
	int rc;

	if (!z->open) {
		buf_reset(out);
		rc = buf_reserve(out, ZSTD_compressBound(SEG_FRAME_MAX_RAW));
		if (rc)
			return cu_err_set(err, rc, "out of memory");
		z->fed = 0;
		z->open = 1;
	}
	in = (ZSTD_inBuffer){raw->data + z->fed, raw->len - z->fed, 0};
	do {
		ob = (ZSTD_outBuffer){out->data, out->alloc - 1, out->len};
		left = ZSTD_compressStream2(z->cctx, &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		out->len = ob.pos;
		if (ZSTD_isError(left)) {
			zs_abort(z);
			return cu_err_set(err, CU_EIO, "zstd: %s", ZSTD_getErrorName(left));
		}
		if (ob.pos == ob.size && left) { /* cannot happen: out holds the bound */
			zs_abort(z);
			return cu_err_set(err, CU_EIO, "zstd: output larger than its bound");
		}
	} while (end ? left != 0 : in.pos < in.size);
	z->fed += in.pos;
	if (end) {
		z->open = 0;
		z->fed = 0;
	}
	return 0;
}

void zs_abort(struct zstream *z)
{
	if (z->cctx)
		(void)ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
	z->fed = 0;
	z->open = 0;
}
