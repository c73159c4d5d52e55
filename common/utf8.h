/* utf8.h - the one strict UTF-8 validator (RFC 3629). Every input that can
 * reach an index, a record or an audit entry goes through it: API query
 * and path parameters (api/server.c), search queries (search/query.c),
 * retention texts from the CLI and the API (retention/retention_util.c), and the
 * decoders that need code points (checkpoint notes, the tokenizer).
 *
 * Strict means: shortest form only (no overlongs such as C0 AF for '/'),
 * no UTF-16 surrogates (U+D800..U+DFFF, e.g. ED A0 80), nothing above
 * U+10FFFF (F4 90.. and F5..FF), no truncated or stray continuation bytes.
 * That is exactly what jansson accepts, so a string that passes here can
 * always be put into a JSON document.
 *
 * NUL: U+0000 is valid UTF-8, but every input checked here travels as a C
 * string, where a NUL silently ends the value (the rest would be used by
 * nobody and seen by nobody). utf8_check refuses it unless the caller
 * passes UTF8_ALLOW_NUL.
 *
 * Pure functions, no state: safe from any thread. */
#ifndef CUSTOS_COMMON_UTF8_H
#define CUSTOS_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_ALLOW_NUL 1u /* utf8_check flag: accept U+0000 */

/* Decodes the one sequence at p (n bytes available, n may be 0) into *cp.
 * Returns its length (1..4), or 0 when p does not start with a complete,
 * shortest-form encoding of a Unicode scalar value. */
size_t utf8_decode(const void *p, size_t n, uint32_t *cp);

/* 1 when p[0..n) is valid UTF-8 (see above for NUL); 0 otherwise, with
 * *bad_at (if not NULL) set to the offset of the first bad byte. */
int utf8_check(const void *p, size_t n, unsigned flags, size_t *bad_at);

/* utf8_check(s, strlen(s), 0, NULL) for a C string; NULL is valid. */
int utf8_valid_str(const char *s);

#endif
