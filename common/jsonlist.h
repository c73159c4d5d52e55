/* jsonlist.h - the small versioned JSON files custos keeps its lists in
 * (tokens.json, sources.json): {"version": 1, "<member>": [ {...}, ... ]}. */
#ifndef CUSTOS_COMMON_JSONLIST_H
#define CUSTOS_COMMON_JSONLIST_H

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"

/* Reads path (at most max_bytes) and returns in *root the parsed document
 * and in *arr its member array of at most max_entries elements. A missing
 * file is an empty list: 0 with *root and *arr NULL. The file's bytes are
 * wiped from memory after parsing (the lists may hold secrets). */
int jsonlist_load(const char *path, const char *member, size_t max_bytes, size_t max_entries,
		  json_t **root, json_t **arr, struct cu_err *err) CU_MUST_CHECK;

/* Writes {"version": 1, "<member>": arr} to path atomically (mode 0600,
 * temp file + rename), indented, with a final newline. Takes the
 * reference to arr. The text is wiped from memory afterwards. */
int jsonlist_save(const char *path, const char *member, json_t *arr, struct cu_err *err) CU_MUST_CHECK;

/* Opens and flock()s lock_path exclusively; the lock serialises the
 * read-modify-write of a list file between processes. Release with close(). */
int jsonlist_lock(const char *lock_path, int *fd_out, struct cu_err *err) CU_MUST_CHECK;

#endif
