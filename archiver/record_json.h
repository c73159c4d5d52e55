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

#endif
