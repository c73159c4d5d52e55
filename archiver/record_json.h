/* record_json.h - a record as JSON for people and programs (`custos show
 * --json`, GET /v1/records/{seq}): every field by name, timestamps in ms,
 * the original payload as text when it is UTF-8 (else base64). */
#ifndef CUSTOS_ARCHIVER_RECORD_JSON_H
#define CUSTOS_ARCHIVER_RECORD_JSON_H

#include <jansson.h>

#include "archiver/record.h"
#include "archiver/store.h"

/* Returns a new JSON object for the entry (a stub gives seq, deleted:true,
 * leaf_hash, deletion_seq), or NULL on allocation failure / bad bytes. */
json_t *rec_entry_to_json(const struct store_entry *e);

/* Parses a source's JSON (a Matrix event, a Threema file descriptor) for
 * the fields of its record. A member that appears twice in one object, at
 * any depth, keeps its LAST value: what Python's json (Synapse) and
 * JavaScript's JSON.parse (Matrix clients) show, so the record shows what
 * the conversation's participants saw. *dups is set to 1 when that
 * happened, and the caller flags the record REC_F_DUP_KEYS; the payload
 * keeps the bytes as received, both values included. flags as for
 * json_loadb; NULL on invalid JSON. */
json_t *rec_json_load(const char *text, size_t len, size_t flags, int *dups);

#endif
