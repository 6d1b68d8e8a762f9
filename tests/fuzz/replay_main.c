/*
 * replay_main.c -- the corpus replayer of the fuzz targets: a main() that
 * feeds every file it is given (or every regular file of every directory
 * it is given, in name order) to LLVMFuzzerTestOneInput, once, the way
 * libFuzzer would run a single input.  Linked with a fuzz target and built
 * with gcc or clang + ASan/UBSan but without the fuzzer engine, so `make
 * check` replays the seeds and every saved crash input fast.
 *
 * Fails (exit 1) when an input cannot be read or when there is no input at
 * all; a crash is the sanitizer's (or the target's own abort()).  Never
 * writes anything.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole of regular file path in an exact-size buffer (so ASan sees a
 * read past the input's end), its size in *len; NULL when it cannot be
 * read. */
static uint8_t *read_input(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  struct stat st;
  uint8_t *buf = NULL;
  if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
    *len = (size_t)st.st_size;
    buf = malloc(*len ? *len : 1);
    if (buf && fread(buf, 1, *len, f) != *len) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

static int replay_file(const char *path) {
  size_t len = 0;
  uint8_t *in = read_input(path, &len);
  if (!in) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    return -1;
  }
  LLVMFuzzerTestOneInput(in, len);
  free(in);
  return 0;
}

static int skip_name(const struct dirent *d) {
  return d->d_name[0] != '.';
}

int main(int argc, char **argv) {
  size_t n = 0;
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such input %s\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (replay_file(argv[i]) != 0)
        return 1;
      n++;
      continue;
    }
    struct dirent **names = NULL;
    int k = scandir(argv[i], &names, skip_name, alphasort);
    if (k < 0) {
      fprintf(stderr, "replay: cannot list %s\n", argv[i]);
      return 1;
    }
    int rc = 0;
    for (int j = 0; j < k; j++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
      if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (replay_file(path) != 0)
          rc = 1;
        else
          n++;
      }
      free(names[j]);
    }
    free(names);
    if (rc)
      return 1;
  }
  if (n == 0) {
    fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  printf("   %s: %zu inputs replayed, no crash\n", argv[0], n);
  return 0;
}
