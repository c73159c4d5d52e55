/* jsonlist.c - versioned JSON list files. */
#include "common/jsonlist.h"

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/fileio.h"

int jsonlist_load(const char *path, const char *member, size_t max_bytes, size_t max_entries,
		  json_t **root, json_t **arr, struct cu_err *err)
{
	json_error_t jerr;
	struct buf b;
	int rc;

	*root = NULL;
	*arr = NULL;
	buf_init(&b, max_bytes);
	rc = fio_read_file(path, &b, err);
	if (rc == CU_ENOTFOUND) {
		cu_err_clear(err);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	*root = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	*arr = json_object_get(*root, member);
	if (!json_is_array(*arr) || json_integer_value(json_object_get(*root, "version")) != 1) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: expected {\"version\": 1, \"%s\": [...]}", path,
				member);
		goto out;
	}
	if (json_array_size(*arr) > max_entries)
		rc = cu_err_set(err, CU_ETOOBIG, "%s: more than %zu %s", path, max_entries, member);
out:
	if (rc) {
		json_decref(*root);
		*root = NULL;
		*arr = NULL;
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_release(&b);
	return rc;
}
