/* fuzz_verify_export.c - offline verification of export packages
 * (export/export.h exp_verify_buffer): any bytes, as zip or tar or
 * anything else, must give a clean verdict naming what is wrong, never a
 * crash, leak or unbounded allocation. The read caps are lowered so that
 * a bomb in the input hits them within the fuzzer's memory limit. */
#include <stdint.h>
#include <stdlib.h>

#include "export/export.h"
#include "export/export_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exp_verify_result res;
	struct cu_err err;
	int rc;

	exp_read_caps.members = 10000;
	exp_read_caps.member_bytes = 16u << 20;
	exp_read_caps.total_bytes = 64u << 20;
	cu_err_clear(&err);
	rc = exp_verify_buffer(data, size, NULL, &res, &err);
	if (rc != 0 && !err.msg[0])
		abort(); /* a failed check must say what failed */
	if (rc == 0 && (!res.export_id[0] || !res.files))
		abort();
	return 0;
}
