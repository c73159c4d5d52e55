/* replay.c - a main() for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line (a
 * directory stands for the files in it). `make fuzz-replay` links each
 * tests/fuzz/fuzz_*.c with this, built like the unit tests (gcc, and
 * ASan+UBSan with SAN=1), so that the committed seeds and regression
 * inputs are replayed by the ordinary test build. Exits 0 when every
 * input ran; a crash or sanitizer report ends the process non-zero. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (64u << 20) /* cap on one input file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, unsigned long *count)
{
	struct stat sb;
	uint8_t *p = NULL;
	FILE *f;
	int rc = 1;

	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size > (off_t)REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	p = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!p || fread(p, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	/* A private copy of exactly the input's size, so that ASan catches
	 * reads past its end as libFuzzer would. */
	LLVMFuzzerTestOneInput(p, (size_t)sb.st_size);
	++*count;
	rc = 0;
out:
	free(p);
	if (f)
		fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, in name order. */
static int run_dir(const char *dir, unsigned long *count)
{
	char **names = NULL, path[4096];
	struct dirent *de;
	size_t n = 0, alloc = 0, i;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open %s\n", dir);
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == alloc) {
			char **q = realloc(names, (alloc = alloc ? alloc * 2 : 32) * sizeof(*names));
			if (!q) {
				rc = 1;
				break;
			}
			names = q;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = 1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = run_file(path, count);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	struct stat sb;
	int i, rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; rc == 0 && i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: %s: no such file\n", argv[i]);
			rc = 1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = run_dir(argv[i], &count);
		} else {
			rc = run_file(argv[i], &count);
		}
	}
	printf("replay: %lu inputs\n", count);
	return rc;
}
