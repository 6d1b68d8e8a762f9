/*
 * table.h -- agentrecoverctl's output: aligned text tables and JSON values
 * rendered as table cells, with the server's strings made safe for a
 * terminal.
 */
#ifndef AREC_CTL_TABLE_H
#define AREC_CTL_TABLE_H

#include <stdio.h>

#include <cJSON.h>

typedef struct ctl_table ctl_table;

/* A table of `ncols` columns; `header` (ncols strings) or NULL for none.
 * NULL when out of memory. */
ctl_table *ctl_table_new(size_t ncols, const char *const *header);
/* Appends a row of ncols cells (copied, sanitized; NULL prints "-").
 * 0, or -1 out of memory. */
int ctl_table_add(ctl_table *t, const char *const *cells);
size_t ctl_table_rows(const ctl_table *t);
/* Prints the table: each column as wide as its widest cell, columns two
 * spaces apart, the last column not padded (no trailing spaces). */
void ctl_table_print(const ctl_table *t, FILE *f);
void ctl_table_free(ctl_table *t);

/* A malloc'd copy of s in which control characters (C0, DEL, C1) are '?'.
 * NULL out of memory. */
char *ctl_sanitize(const char *s);
/* Display width of a UTF-8 string: its code points. */
size_t ctl_display_width(const char *s);

/* A JSON value as a cell (malloc'd, unsanitized): strings as they are,
 * integers without a fraction, other numbers in the shortest of %.15g,
 * true/false, "-" for null or a missing value, arrays and objects as
 * compact JSON.  NULL out of memory. */
char *ctl_json_cell(const cJSON *v);

/* An upper-case copy of a JSON key for a header ("running_on" ->
 * "RUNNING_ON"). */
char *ctl_header_of(const char *key);

#endif
