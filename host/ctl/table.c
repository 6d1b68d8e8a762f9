/*
 * table.c -- agentrecoverctl's text tables: rows of strings printed with
 * each column as wide as its widest cell (counted in UTF-8 code points),
 * two spaces between columns and nothing after the last cell, plus the
 * rendering of JSON values as cells.
 *
 * How: cells are sanitized copies kept row by row; widths are computed at
 * print time.
 *
 * Never: write a control character that came from the server (a name with
 * an escape sequence must not drive the terminal), or a trailing space.
 */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
  size_t ncols;
  size_t nrows; /* rows in `cells`, the header (when any) being row 0 */
  size_t cap;
  char **cells; /* nrows * ncols */
  int has_header;
};

char *ctl_sanitize(const char *s) {
  if (!s) s = "-";
  size_t n = strlen(s);
  char *o = malloc(n + 1);
  if (!o) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      o[j++] = '?';
    } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
               (unsigned char)s[i + 1] <= 0x9f) {
      o[j++] = '?'; /* U+0080..U+009F: C1 controls (CSI is U+009B) */
      i++;
    } else {
      o[j++] = (char)c;
    }
  }
  o[j] = 0;
  return o;
}

size_t ctl_display_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80) w++;
  return w;
}

ctl_table *ctl_table_new(size_t ncols, const char *const *header) {
  if (ncols == 0) return NULL;
  ctl_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ncols = ncols;
  if (header) {
    if (ctl_table_add(t, header) != 0) {
      ctl_table_free(t);
      return NULL;
    }
    t->has_header = 1;
  }
  return t;
}

int ctl_table_add(ctl_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
    if (!c) return -1;
    t->cells = c;
    t->cap = cap;
  }
  char **row = t->cells + t->nrows * t->ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    row[i] = ctl_sanitize(cells[i]);
    if (!row[i]) {
      while (i--) free(row[i]);
      return -1;
    }
  }
  t->nrows++;
  return 0;
}

size_t ctl_table_rows(const ctl_table *t) {
  return t->nrows - (t->has_header ? 1 : 0);
}

void ctl_table_print(const ctl_table *t, FILE *f) {
  size_t *w = calloc(t->ncols, sizeof *w);
  if (!w) return;
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t c = 0; c < t->ncols; c++) {
      size_t cw = ctl_display_width(t->cells[r * t->ncols + c]);
      if (cw > w[c]) w[c] = cw;
    }
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      const char *cell = t->cells[r * t->ncols + c];
      fputs(cell, f);
      if (c + 1 < t->ncols) {
        size_t pad = w[c] - ctl_display_width(cell) + 2;
        while (pad--) fputc(' ', f);
      }
    }
    fputc('\n', f);
  }
  free(w);
}

void ctl_table_free(ctl_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  free(t);
}

char *ctl_json_cell(const cJSON *v) {
  char buf[64];
  if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v)) return strdup("-");
  if (cJSON_IsString(v)) return strdup(v->valuestring ? v->valuestring : "");
  if (cJSON_IsTrue(v)) return strdup("true");
  if (cJSON_IsFalse(v)) return strdup("false");
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (isfinite(d) && floor(d) == d && fabs(d) < 9007199254740992.0)
      snprintf(buf, sizeof buf, "%.0f", d);
    else
      snprintf(buf, sizeof buf, "%.15g", d);
    return strdup(buf);
  }
  return cJSON_PrintUnformatted(v);
}

char *ctl_header_of(const char *key) {
  char *h = strdup(key ? key : "");
  if (!h) return NULL;
  for (char *p = h; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  return h;
}
