/* fuzz_proof.c - offline verification of proof documents (archiver/
 * proof_json.h pj_verify_ex) against a fixed key: any bytes must give a
 * clean verdict, never a crash, leak or unbounded allocation. */
#include <stdint.h>
#include <stdlib.h>

#include "archiver/proof_json.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_result res;
	struct cu_err err;
	int rc;

	cu_err_clear(&err);
	rc = pj_verify_ex((const char *)data, size, fuzz_key(), &res, &err);
	if (rc != 0 && !err.msg[0])
		abort(); /* a failed check must say what failed */
	if (rc == 0 && res.kind != PJ_INCLUSION && res.kind != PJ_CONSISTENCY)
		abort();
	if (rc != 0 && res.record)
		abort(); /* nothing is reported as proven by a failed document */
	json_decref(res.record);
	return 0;
}
