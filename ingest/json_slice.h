/* json_slice.h - the exact bytes of each element of one array member of a
 * JSON object, so that a hook can archive every element as it was sent
 * (a Matrix transaction's events, the Prosody module's items) and set a
 * bad element aside without losing its neighbours.
 *
 * The byte ranges are found with jansson: json_loadb with
 * JSON_DISABLE_EOF_CHECK decodes one value from a position and reports how
 * many bytes it used, so only the structural characters between values
 * ('{', ':', ',', '[', ']', '}') are looked at here. No state is kept
 * between calls: safe from any thread.
 */
#ifndef CUSTOS_INGEST_JSON_SLICE_H
#define CUSTOS_INGEST_JSON_SLICE_H

#include <stddef.h>

#include "common/error.h"

/* Called for element index (0-based) whose bytes are p[0..n). A non-zero
 * return stops the walk and is returned by jslice_member_array. */
typedef int (*jslice_fn)(void *ctx, size_t index, const char *p, size_t n, struct cu_err *err);

/* Walks the top-level object in body[0..len), finds member, which must
 * appear once and be an array, and calls fn for each of its elements in
 * order. Returns 0, fn's first non-zero return, or CU_EINVAL (err says
 * why) when body is not such an object. Validate the whole body with
 * json_loadb first: a body jansson refused is never sliced. */
int jslice_member_array(const char *body, size_t len, const char *member, jslice_fn fn, void *ctx,
			struct cu_err *err) CU_MUST_CHECK;

#endif
