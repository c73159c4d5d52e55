/* fuzz_matrix.c - Application Service transactions (ingest/matrix.h
 * mx_parse_txn). Every accepted transaction's event payloads must be
 * byte-exact, in-order slices of the input, every record must encode and
 * decode back to the same fields, and a refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "common/buf.h"
#include "ingest/matrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *cursor = text;
	struct mx_txn t;
	struct cu_err err;
	struct rec_view back;
	struct buf b;
	size_t i;
	unsigned f;

	cu_err_clear(&err);
	buf_init(&b, REC_MAX_BYTES);
	if (mx_parse_txn(text, size, "fuzz", "txn", "hs_token", &t, &err) != 0) {
		if (!err.msg[0] || t.n || t.ev)
			abort();
		goto out;
	}
	for (i = 0; i < t.n; i++) {
		const struct rec_view *v = &t.ev[i].in.rec;
		const char *p = v->f[RF_PAYLOAD].ptr;
		size_t n = v->f[RF_PAYLOAD].len;
		const char *at = n ? memmem(cursor, size - (size_t)(cursor - text), p, n) : NULL;

		/* (an empty body is kept as an empty "rejected" record) */
		if ((n && !at) || (!n && v->kind != REC_REJECTED) || !v->f[RF_EVENT_ID].len)
			abort();
		if (at)
			cursor = at + n;
		buf_reset(&b);
		if (rec_encode(v, &b) != 0)
			continue; /* over the record cap: the store refuses it with CU_ETOOBIG */
		if (rec_decode(b.data, b.len, &back, NULL) != 0 || back.kind != v->kind || back.flags != v->flags)
			abort();
		for (f = 1; f < RF_MAX_; f++)
			if (back.f[f].len != v->f[f].len ||
			    (back.f[f].len && memcmp(back.f[f].ptr, v->f[f].ptr, back.f[f].len)))
				abort();
	}
	mx_txn_release(&t);
out:
	buf_release(&b);
	return 0;
}
