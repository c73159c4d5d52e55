/* json_body.h - request bodies as JSON, for the handlers: parsing with
 * duplicate keys refused, and typed optional members of an object. Each
 * function that fails has set r's reply (400, with the error code and
 * message the API documents) and the handler only returns. Request
 * thread; nothing is kept. Nothing outside api/ includes this.
 */
#ifndef CUSTOS_API_JSON_BODY_H
#define CUSTOS_API_JSON_BODY_H

#include <jansson.h>
#include <stddef.h>

struct api_req;

/* The body as any JSON value (owned), or NULL with 400 "bad_json". */
json_t *api_body_json(struct api_req *r);
/* The body as a JSON object (owned); an empty body is {} when
 * allow_empty. NULL with 400 "bad_request" otherwise. */
json_t *api_body_object(struct api_req *r, int allow_empty);

/* Optional members of o. Absent or null leaves the default (NULL, def,
 * no strings); a value of another type is CU_EINVAL with 400
 * "bad_request" naming the key. Strings point into o. */
int api_json_opt_str(struct api_req *r, const json_t *o, const char *key, const char **out);
int api_json_opt_bool(struct api_req *r, const json_t *o, const char *key, int def, int *out);
/* An array of at most max strings into out[0..*n). */
int api_json_opt_strs(struct api_req *r, const json_t *o, const char *key, const char **out, size_t max,
		      size_t *n);

#endif
