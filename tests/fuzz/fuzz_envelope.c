/* fuzz_envelope.c - the generic JSON envelope parser (ingest/envelope.h
 * env_parse). A parsed envelope must encode to record bytes that decode
 * back to the same fields (the record model's canonical encoding). The
 * array splitter of ingest requests (env_split_array) gets the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "common/buf.h"
#include "ingest/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_msg m;
	struct rec_view back;
	struct cu_err err;
	struct buf b;
	unsigned i;

	cu_err_clear(&err);
	buf_init(&b, REC_MAX_BYTES);
	if (env_parse((const char *)data, size, "fuzz", size & 1 ? "{\"fuzz\":true}" : NULL, &m,
		      &err) != 0) {
		/* A refusal must say why. */
		if (!err.msg[0])
			abort();
		goto out;
	}
	if (rec_encode(&m.in.rec, &b) == 0) {
		if (rec_decode(b.data, b.len, &back, NULL) != 0)
			abort();
		for (i = 1; i < RF_MAX_; i++)
			if (back.f[i].len != m.in.rec.f[i].len ||
			    (back.f[i].len && memcmp(back.f[i].ptr, m.in.rec.f[i].ptr, back.f[i].len)))
				abort();
		if (back.kind != m.in.rec.kind || back.origin_ts != m.in.rec.origin_ts)
			abort();
	}
	env_release(&m);
out:
	buf_release(&b);
	{
		/* The same bytes as an ingest request's array: every span found
		 * lies inside the text and is an object's braces. */
		struct env_span *sp;
		size_t n, k;
		if (env_split_array((const char *)data, size, 1000, &sp, &n, &err) == 0) {
			for (k = 0; k < n; k++)
				if (sp[k].off + sp[k].len > size || sp[k].len < 2 ||
				    data[sp[k].off] != '{' || data[sp[k].off + sp[k].len - 1] != '}')
					abort();
			free(sp);
		} else if (!err.msg[0]) {
			abort();
		}
	}
	return 0;
}
