/* text_files.c - text/<control>.txt, the text of each record, which the
 * load-file formats (DAT, EDRM) point to. */
#include <stdio.h>

#include "export/export_int.h"

int exp_render_text_files(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	char ctl[32], path[64];
	struct buf b;
	size_t i;
	int rc = 0;

	buf_init(&b, REC_MAX_BYTES * 3 + 16);
	for (i = 0; i < s->n && !rc; i++) {
		const struct exp_rec *r = &s->recs[i];
		struct exp_file f;

		exp_ctl(r->ctl, ctl);
		snprintf(path, sizeof(path), "text/%s.txt", ctl);
		buf_reset(&b);
		rc = exp_utf8_clean(&b, r->v.f[RF_BODY].ptr, r->v.f[RF_BODY].len);
		if (rc) {
			rc = cu_err_set(err, rc, "out of memory");
			break;
		}
		if (exp_file_open(&f, sink, path, err) != 0) {
			rc = f.rc;
			exp_file_abort(&f);
			break;
		}
		exp_file_put(&f, b.data, b.len);
		rc = exp_file_close(&f);
	}
	buf_release(&b);
	return rc;
}
