/* envelope_int.h - what the envelope parser (envelope.c) and the array
 * splitter (envelope_split.c) share; nothing else includes it. */
#ifndef CUSTOS_INGEST_ENVELOPE_INT_H
#define CUSTOS_INGEST_ENVELOPE_INT_H

#include <yajl/yajl_parse.h>

#include "common/error.h"

/* Sets err to "<prefix>invalid JSON at byte N: <yajl's reason>" for a
 * parse yajl refused (its own grammar or UTF-8 error); returns CU_EINVAL. */
int env_json_error(yajl_handle h, const char *prefix, struct cu_err *err);

#endif
