/* fuzz_xmpp.c - stanzas with expat (ingest/xmpp.h). The input is used
 * twice: as a stanza on its own (xmpp_parse_stanza: never crashes, a
 * failure names its reason), and wrapped as the stanza of a hook document
 * (xmpp_parse_hook: every stanza, parsed or not, becomes a record whose
 * payload is exactly the input). Also fed as a raw hook body. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/xmpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xmpp_stanza s;
	struct xmpp_batch b;
	struct cu_err err;
	json_t *doc;
	char *text;
	int rc;

	rc = xmpp_parse_stanza((const char *)data, size, &s);
	if (rc != 0 && !s.error[0])
		abort();
	xmpp_stanza_release(&s);

	/* As a raw hook body: refusals must say why. */
	cu_err_clear(&err);
	if (xmpp_parse_hook((const char *)data, size, "fuzz", NULL, &b, &err) == 0)
		xmpp_batch_release(&b);
	else if (!err.msg[0])
		abort();

	/* As the stanza of a well-formed hook document (only UTF-8 can be a
	 * JSON string). */
	doc = json_pack("{s:i, s:s, s:[{s:s, s:s, s:s%}]}", "v", 1, "host", "example.org", "items", "id", "x",
			"direction", "in", "stanza", (const char *)data, size);
	/* (a NUL byte cannot travel in the module's JSON either) */
	if (!doc || size == 0 || size > XMPP_MAX_STANZA || memchr(data, '\0', size))
		goto out;
	text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		goto out;
	cu_err_clear(&err);
	if (xmpp_parse_hook(text, strlen(text), "fuzz", "00", &b, &err) != 0)
		abort();
	if (b.n != 1 || b.m[0].in.rec.f[RF_PAYLOAD].len != size ||
	    memcmp(b.m[0].in.rec.f[RF_PAYLOAD].ptr, data, size) != 0)
		abort();
	xmpp_batch_release(&b);
	free(text);
out:
	json_decref(doc);
	return 0;
}
