/*
 * prepared.c -- prepared statements of the PostgreSQL backend, for its
 * hot reads (the admin reads of an agent and of list pages): each pooled
 * connection keeps up to AREC__PG_PREP_MAX statements, found by their
 * text, named "arec_<pid>_<n>" with n never reused on that connection:
 * a child forked after the parent used the pool shares the parent's
 * sessions but not its cache (Check's fork mode does that), and the pid
 * keeps the names of parent and children apart.  A name the session holds
 * already (SQLSTATE 42P05, a statement prepared by a process that shared
 * the session) is never trusted to mean the same text: that call runs
 * unprepared and the next attempt takes a new name.
 *
 * How: the first use on a connection sends Parse (PQsendPrepare) and waits
 * for it under the call deadline like any statement; later uses send only
 * Bind/Execute (PQsendQueryPrepared), so PostgreSQL parses the text once
 * per connection and, when its generic plan is as good as the custom ones,
 * plans it once too.  The cache lives and dies with the connection (a
 * dropped slot forgets everything; the server forgets with the session).
 * A statement whose plan went stale because a schema change altered its
 * result (SQLSTATE 0A000) is forgotten and run once unprepared.
 *
 * Must never: prepare a text holding several statements, or a statement
 * whose plan depends on the size of an array parameter (a generic plan
 * guesses 10 elements); build SQL from data (texts are the library's own
 * constants, parameters stay parameters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "pg/pg_internal.h"

static arec__pg_prep *find(arec__pg_slot *slot, const char *sql,
                           uint64_t h) {
  for (unsigned int i = 0; i < slot->nprep; i++)
    if (slot->prep[i].hash == h && strcmp(slot->prep[i].sql, sql) == 0)
      return &slot->prep[i];
  return NULL;
}

int arec__pg_prepare(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                     const char *sql, int nparams, const char **name) {
  uint64_t h = arec__hash_str(sql);
  arec__pg_prep *p = find(slot, sql, h);
  *name = NULL;
  if (p) {
    *name = p->name;
    return 0;
  }
  if (slot->nprep == AREC__PG_PREP_MAX)
    return 0;
  char *copy = strdup(sql);
  if (!copy)
    return 0; /* no memory: unprepared */
  char nm[sizeof p->name];
  snprintf(nm, sizeof nm, "arec_%ld_%u", (long)getpid() % 10000000,
           ++slot->prep_seq);
  slot->sqlstate[0] = 0;
  int sent = PQsendPrepare(slot->conn, nm, sql, nparams, NULL);
  int err = arec__pg_collect(pg, slot, deadline, sent, NULL);
  if (err && slot->conn && strcmp(slot->sqlstate, "42P05") == 0) {
    free(copy); /* taken by a process sharing the session: unprepared */
    arec_error_clear();
    return 0;
  }
  if (err || !slot->conn) { /* the slot may have been dropped */
    free(copy);
    return err ? err : AREC_EUNAVAILABLE;
  }
  p = &slot->prep[slot->nprep++];
  p->sql = copy;
  p->hash = h;
  memcpy(p->name, nm, sizeof p->name);
  *name = p->name;
  return 0;
}

int arec__pg_prep_stale(arec__pg_slot *slot, const char *sql) {
  if (strcmp(slot->sqlstate, "0A000") != 0 || !slot->conn)
    return 0;
  arec__pg_prep *p = find(slot, sql, arec__hash_str(sql));
  if (!p)
    return 0;
  free(p->sql);
  *p = slot->prep[--slot->nprep];
  return 1;
}

void arec__pg_prep_clear(arec__pg_slot *slot) {
  for (unsigned int i = 0; i < slot->nprep; i++)
    free(slot->prep[i].sql);
  slot->nprep = 0;
}

int arec__pg_query_prepared(arec_pg *pg, const char *sql, int nparams,
                            const char *const *params, PGresult **out) {
  if (out)
    *out = NULL;
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  const char *name = NULL;
  err = arec__pg_prepare(pg, s, dl, sql, nparams, &name);
  if (!err && name) {
    s->sqlstate[0] = 0;
    int sent = PQsendQueryPrepared(s->conn, name, nparams, params, NULL,
                                   NULL, 0);
    err = arec__pg_collect(pg, s, dl, sent, out);
    if (err && arec__pg_prep_stale(s, sql))
      err = arec__pg_exec(pg, s, dl, sql, nparams, params, NULL, NULL, out);
  } else if (!err) {
    err = arec__pg_exec(pg, s, dl, sql, nparams, params, NULL, NULL, out);
  }
  arec__pg_release(pg, s);
  return err;
}
