/*
 * sqlstate.c -- what a failed statement's SQLSTATE means to the library:
 * the AREC_E* code (two readings: the repository's, where a transient
 * server condition must never look like an answer, and the public query
 * interface's, as agentrecover/pg.h documents it) and a short reason from
 * a fixed table, which is all arec_error_last() shows of a server error.
 *
 * Must never: return text that came from the server (it may quote values).
 */
#include <string.h>

#include "pg/pg_internal.h"

static int is(const char *st, const char *code) { return !strcmp(st, code); }
static int cls(const char *st, const char *c) { return !strncmp(st, c, 2); }

int arec__pg_map_sqlstate(const char *st, int public_api) {
  if (!st || strlen(st) != 5)
    return AREC_EBACKEND;
  if (is(st, "23505"))
    return AREC_EEXIST;
  if (is(st, "23503"))
    return AREC_ENOTFOUND;
  if (cls(st, "22") || is(st, "23514") || is(st, "23502"))
    return AREC_EINVAL;
  if (cls(st, "08") || is(st, "57P01") || is(st, "57P02") || is(st, "57P03") ||
      is(st, "53300"))
    return AREC_EUNAVAILABLE;
  /* statement timeout (or a cancel), serialization failure, deadlock, lock
   * timeout: the statement did not take effect; trying again may work. */
  if (is(st, "57014"))
    return public_api ? AREC_ECONFLICT : AREC_ETIMEDOUT;
  if (cls(st, "40") || is(st, "55P03"))
    return public_api ? AREC_ECONFLICT : AREC_EUNAVAILABLE;
  return AREC_EBACKEND;
}

typedef struct reason {
  const char *code; /* a SQLSTATE, or a class "XX" */
  const char *text;
} reason;

static const reason CODES[] = {
    {"23505", "unique violation"},
    {"23503", "foreign key violation"},
    {"23514", "check violation"},
    {"23502", "not-null violation"},
    {"23P01", "exclusion violation"},
    {"22P02", "invalid text representation"},
    {"22003", "numeric value out of range"},
    {"22001", "string data right truncation"},
    {"22021", "character not in repertoire"},
    {"22007", "invalid datetime format"},
    {"22008", "datetime field overflow"},
    {"22012", "division by zero"},
    {"22023", "invalid parameter value"},
    {"22032", "invalid json text"},
    {"2202E", "array subscript error"},
    {"40001", "serialization failure"},
    {"40P01", "deadlock detected"},
    {"55P03", "lock not available (lock timeout)"},
    {"57014", "query canceled (statement timeout)"},
    {"57P01", "server shutting down"},
    {"57P02", "server crash shutdown"},
    {"57P03", "server cannot connect now"},
    {"53300", "too many connections"},
    {"42P01", "undefined table"},
    {"42703", "undefined column"},
    {"42883", "undefined function"},
    {"42601", "syntax error"},
    {"42501", "insufficient privilege"},
    {"42P07", "relation already exists"},
    {"42710", "object already exists"},
    {"42804", "datatype mismatch"},
    {"42P18", "indeterminate datatype"},
    {"25P02", "in failed transaction"},
    {"25001", "active transaction"},
    {"0A000", "feature not supported"},
    {"P0001", "raise exception"},
    {"XX000", "internal error"},
};

static const reason CLASSES[] = {
    {"08", "connection exception"},
    {"22", "data exception"},
    {"23", "integrity constraint violation"},
    {"25", "invalid transaction state"},
    {"40", "transaction rollback"},
    {"42", "syntax error or access rule violation"},
    {"53", "insufficient resources"},
    {"54", "program limit exceeded"},
    {"55", "object not in prerequisite state"},
    {"57", "operator intervention"},
    {"58", "system error"},
    {"P0", "PL/pgSQL error"},
    {"XX", "internal error"},
};

const char *arec__pg_sqlstate_reason(const char *st) {
  if (!st || !*st)
    return "server error";
  for (size_t i = 0; i < sizeof CODES / sizeof *CODES; i++)
    if (is(st, CODES[i].code))
      return CODES[i].text;
  for (size_t i = 0; i < sizeof CLASSES / sizeof *CLASSES; i++)
    if (cls(st, CLASSES[i].code))
      return CLASSES[i].text;
  return "server error";
}
