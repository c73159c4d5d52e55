/* fuzz_record.c - the record decoder (archiver/record.h rec_decode) and the
 * JSON rendering of a decoded record (record_json.h). The encoding is
 * canonical, so bytes that decode must re-encode to exactly themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "archiver/record.h"
#include "archiver/record_json.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_view v;
	struct store_entry e;
	struct cu_err err;
	struct buf b;
	json_t *j;

	if (size > REC_MAX_BYTES)
		return 0;
	cu_err_clear(&err);
	if (rec_decode(data, size, &v, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	buf_init(&b, REC_MAX_BYTES);
	if (rec_encode(&v, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
		abort(); /* not canonical: two encodings of one record */
	buf_release(&b);

	memset(&e, 0, sizeof(e));
	e.seq = v.seq;
	e.bytes = data;
	e.len = size;
	if (hash_leaf(data, size, e.leaf) != 0)
		abort();
	j = rec_entry_to_json(&e);
	if (j) {
		char *s = json_dumps(j, JSON_COMPACT);
		free(s);
		json_decref(j);
	}
	return 0;
}
