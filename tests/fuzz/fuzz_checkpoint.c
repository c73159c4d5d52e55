/* fuzz_checkpoint.c - the C2SP signed-note checkpoint parser and verifier
 * (archiver/checkpoint.h ckpt_verify, ckpt_parse). A note that verifies
 * must also parse to the same values, and re-signing what it says with
 * the same key must give a note that verifies again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checkpoint a, b;
	struct cu_err err;
	char *note = NULL;

	cu_err_clear(&err);
	if (ckpt_parse((const char *)data, size, &b, NULL) != 0)
		memset(&b, 0, sizeof(b));
	if (ckpt_verify((const char *)data, size, fuzz_key(), &a, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (strcmp(a.origin, b.origin) != 0 || a.size != b.size || memcmp(a.root, b.root, HASH_LEN))
		abort(); /* verify accepted what parse refused or read differently */
	if (ckpt_sign(&a, fuzz_key(), &note, NULL) != 0)
		abort();
	if (ckpt_verify(note, strlen(note), fuzz_key(), &b, NULL) != 0 || b.size != a.size)
		abort();
	free(note);
	return 0;
}
