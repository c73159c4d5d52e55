/* fuzz_idmap_run.c - the duplicate map's run files (archiver/idmap_run.c):
 * the input becomes a run file, which run_load checks; a run it accepts
 * is read through (run_reader) and probed (run_find) with its own keys
 * and with keys it does not hold. A damaged run must be refused or read
 * without reading outside its file or its filter and fence.
 *
 * Input: one mode byte, then the file. Mode bit 0 set: the harness wraps
 * the bytes into a run of a consistent shape (header, entries, filter and
 * fence sizes that match, the contents left as the fuzzer made them, and
 * the checksum trailer computed over them), so that mutations reach the
 * probes instead of stopping at the header or the checksum.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/idmap_run.h"
#include "common/bytes.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir("idmap_run"));
	return 0;
}

/* A run of consistent shape around the fuzzer's bytes: entries, then
 * one filter block, then the fence, all from data, then the checksum
 * (SHA-256 of everything after the header, then of the header). */
static uint8_t *shape(const uint8_t *data, size_t size, size_t *out_len, uint64_t *hi)
{
	uint64_t count = size / (RUN_ENTRY_LEN + 1), nblocks = (count + RUN_BLOCK - 1) / RUN_BLOCK;
	size_t body = RUN_HEADER_LEN + count * RUN_ENTRY_LEN + 64 + nblocks * 8, i;
	size_t len = body + RUN_SUM_LEN;
	struct hash_stream sum;
	uint8_t *f = calloc(1, len);

	if (!f)
		return NULL;
	memcpy(f, "CUSTOSID", 8);
	put_be32(f + 8, 4);
	put_be32(f + 12, RUN_BLOCK);
	put_be64(f + 16, count);
	put_be64(f + 24, 0);
	put_be64(f + 32, count + 1);
	put_be64(f + 40, 1);
	put_be64(f + 48, nblocks);
	for (i = 0; i + RUN_HEADER_LEN < body && i < size; i++)
		f[RUN_HEADER_LEN + i] = data[i];
	if (hash_stream_init(&sum) != 0 ||
	    hash_stream_update(&sum, f + RUN_HEADER_LEN, body - RUN_HEADER_LEN) != 0 ||
	    hash_stream_update(&sum, f, RUN_HEADER_LEN) != 0 || hash_stream_final(&sum, f + body) != 0) {
		hash_stream_free(&sum);
		free(f);
		return NULL;
	}
	*out_len = len;
	*hi = count + 1;
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[700];
	struct cu_err err;
	struct id_run *r = NULL;
	struct run_reader rd;
	struct id_entry e;
	uint8_t *file = NULL, key[IDMAP_KEY_LEN];
	uint64_t hi = 0, seq;
	size_t len;
	FILE *f;
	int n = 0;

	if (size < 1 || size > (1u << 20))
		return 0;
	if (data[0] & 1) {
		file = shape(data + 1, size - 1, &len, &hi);
		if (!file)
			return 0;
	} else {
		len = size - 1;
		if (len >= 40)
			hi = get_be64(data + 1 + 32);
	}
	snprintf(path, sizeof(path), "%s/run-%016llx-%016llx", dir, 0ull, (unsigned long long)hi);
	f = fopen(path, "wb");
	if (!f || fwrite(file ? file : data + 1, 1, len, f) != len || fclose(f) != 0)
		abort();
	free(file);
	cu_err_clear(&err);
	if (run_load(path, &r, &err) == 0) {
		if (run_reader_open(&rd, r, &err) == 0) {
			while (n < 4096 && run_reader_next(&rd, &e, &err) == 1) {
				if (n++ % 7 == 0)
					(void)!run_find(r, e.key, &seq, &err);
			}
			run_reader_close(&rd);
		}
		memset(key, 0xa5, sizeof(key));
		(void)!run_find(r, key, &seq, &err);
		memset(key, 0, sizeof(key));
		(void)!run_find(r, key, &seq, &err);
		run_free(r, 0);
	}
	unlink(path);
	return 0;
}
