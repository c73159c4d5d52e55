/* render.c - the dispatch by format: which renderers write a package's
 * files before its proofs, in package order (docs/EXPORTS.md shows each
 * file). The formats are rsmf.c, dat.c, edrm.c (with text_files.c) and
 * bagit.c; README and custody statement readme.c. */
#include "export/export_int.h"

int exp_render_payload(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	int rc = 0;

	switch (s->meta.format) {
	case EXP_RSMF:
		rc = exp_render_rsmf(s, sink, err);
		break;
	case EXP_DAT:
		rc = exp_render_dat(s, sink, err);
		if (!rc)
			rc = exp_render_text_files(s, sink, err);
		break;
	case EXP_EDRM:
		rc = exp_render_edrm(s, sink, err);
		if (!rc)
			rc = exp_render_text_files(s, sink, err);
		break;
	case EXP_BAGIT:
		rc = exp_render_bagit_txt(sink, err);
		if (!rc)
			rc = exp_render_bag_payload(s, sink, err);
		break;
	default:
		rc = cu_err_set(err, CU_EINVAL, "unknown export format");
	}
	if (!rc)
		rc = exp_render_readme(s, sink, err);
	return rc;
}

