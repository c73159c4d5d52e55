/* lines.c - capped line reader. */
#include "cli/lines.h"

#include <stdlib.h>
#include <string.h>

int lines_init(struct line_reader *r, FILE *f, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->cap = max_line + 1;
	if (r->cap < 65536)
		r->cap = 65536;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -1;
}

void lines_release(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

int lines_next(struct line_reader *r, const char **line, size_t *len)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - (r->buf + r->start));
			r->start += *len + 1;
			r->lineno++;
			return 1;
		}
		if (r->eof) {
			if (r->start == r->end)
				return 0;
			*line = r->buf + r->start; /* last line without newline */
			*len = r->end - r->start;
			r->start = r->end;
			r->lineno++;
			return 1;
		}
		if (r->start > 0) { /* slide the partial line to the front */
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == r->cap) {
			r->lineno++;
			return -2;
		}
		n = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
		r->end += n;
		if (n == 0) {
			if (ferror(r->f))
				return -1;
			r->eof = 1;
		}
	}
}
