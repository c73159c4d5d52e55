/* jsonlist.c - versioned JSON list files. */
#include "common/jsonlist.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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
	/* the lists are tokens.json and sources.json: secrets files */
	rc = fio_read_secret(path, &b, 0, err);
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

int jsonlist_save(const char *path, const char *member, json_t *arr, struct cu_err *err)
{
	json_t *root = json_object();
	char *text = NULL, *t2;
	size_t len;
	int rc = 0;

	if (!root || !arr || json_object_set_new(root, "version", json_integer(1)) ||
	    json_object_set(root, member, arr)) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	len = text ? strlen(text) : 0;
	t2 = text ? realloc(text, len + 2) : NULL;
	if (!t2) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	text = t2;
	text[len++] = '\n'; /* a final newline keeps the file pleasant to look at */
	text[len] = '\0';
	rc = fio_atomic_replace(path, text, len, 0600, err);
out:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(arr);
	json_decref(root);
	return rc;
}

int jsonlist_lock(const char *lock_path, int *fd_out, struct cu_err *err)
{
	int fd, e;

	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cu_err_errno(err, errno, "open %s", lock_path);
	if (flock(fd, LOCK_EX) != 0) {
		e = errno;
		close(fd);
		return cu_err_errno(err, e, "lock %s", lock_path);
	}
	*fd_out = fd;
	return 0;
}
