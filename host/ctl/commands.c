/*
 * commands.c -- what each agentrecoverctl command asks agentrecoverd and
 * how it prints the answer: a table (known columns for pods, agents,
 * symbols and audit events; the answer's own keys otherwise) or, with
 * --json, the server's JSON document (for paged lists, the items of every
 * page concatenated into one array).
 *
 * How: a command builds its path from validated arguments, each segment
 * and query value percent-escaped once more, calls the client, parses the
 * answer with cJSON and renders it.  Lists follow the keyset cursor `next`
 * page by page until it is null, the page is empty, or --limit is reached.
 *
 * Never: put an unescaped argument into a URL, loop on a cursor the server
 * repeats, or print a partial list as if it were complete (a failed page
 * fails the command and prints nothing on stdout).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "table.h"

typedef struct col {
  const char *header;
  const char *key;
  int join_symbols; /* the names of the "symbols" array, comma-separated */
} col;

static const col POD_COLS[] = {{"NAME", "name", 0},
                               {"INCARNATION", "incarnation", 0},
                               {"LEASE_UNTIL", "lease_until", 0},
                               {"AGENTS", "agents", 0}};
static const col AGENT_COLS[] = {
    {"ID", "id", 0},           {"USER_ID", "user_id", 0},
    {"NAME", "name", 0},       {"STRATEGY", "strategy", 0},
    {"ACTIVE", "is_active", 0}, {"TRADING", "is_trading", 0},
    {"RUNNING_ON", "running_on", 0}, {"FENCE", "fence", 0},
    {"SYMBOLS", "symbols", 1}, {"UPDATED_AT", "updated_at", 0}};
static const col SYMBOL_COLS[] = {{"SYMBOL", "symbol", 0},
                                  {"BUDGET", "budget", 0},
                                  {"BALANCE", "balance", 0},
                                  {"FENCE", "fence", 0},
                                  {"UPDATED_AT", "updated_at", 0}};
static const col AUDIT_COLS[] = {{"ID", "id", 0},         {"TIME", "time", 0},
                                 {"ACTOR", "actor", 0},   {"ACTION", "action", 0},
                                 {"AGENT_ID", "agent_id", 0},
                                 {"USER_ID", "user_id", 0},
                                 {"RESULT", "result", 0}};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static int oom(void) {
  fprintf(stderr, "agentrecoverctl: out of memory\n");
  return CTL_EXIT_FAIL;
}

/* ------------------------------------------------------------ rendering */
/* "BTC/USDT,ETH/USDT" from an agent's symbols array; "-" when empty. */
static char *join_symbols(const cJSON *arr) {
  size_t len = 1;
  const cJSON *s;
  cJSON_ArrayForEach(s, arr) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "symbol");
    if (cJSON_IsString(n)) len += strlen(n->valuestring) + 1;
  }
  char *out = malloc(len + 1);
  if (!out) return NULL;
  out[0] = 0;
  cJSON_ArrayForEach(s, arr) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "symbol");
    if (!cJSON_IsString(n)) continue;
    if (out[0]) strcat(out, ",");
    strcat(out, n->valuestring);
  }
  if (!out[0]) strcpy(out, "-");
  return out;
}

static char *cell_of(const cJSON *obj, const col *c) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, c->key);
  return c->join_symbols ? join_symbols(v) : ctl_json_cell(v);
}

/* One row per element of `arr` under the given columns. */
static int print_cols(const cJSON *arr, const col *cols, size_t n) {
  const char *head[16];
  char *cells[16];
  for (size_t i = 0; i < n; i++) head[i] = cols[i].header;
  ctl_table *t = ctl_table_new(n, head);
  if (!t) return oom();
  const cJSON *o;
  cJSON_ArrayForEach(o, arr) {
    size_t k = 0;
    for (; k < n && (cells[k] = cell_of(o, &cols[k])) != NULL; k++) {
    }
    int rc = k == n ? ctl_table_add(t, (const char *const *)cells) : -1;
    while (k--) free(cells[k]);
    if (rc) {
      ctl_table_free(t);
      return oom();
    }
  }
  ctl_table_print(t, stdout);
  ctl_table_free(t);
  return 0;
}

/* Objects with the answer's own keys as columns, in the order they first
 * appear; a list with plain values (strings) is one NAME column, objects
 * showing their "name". */
static int print_generic(const cJSON *arr) {
  const char *keys[16];
  size_t nk = 0;
  int plain = 0;
  const cJSON *o, *f;
  cJSON_ArrayForEach(o, arr) {
    if (!cJSON_IsObject(o)) plain = 1;
    cJSON_ArrayForEach(f, o) {
      size_t i = 0;
      if (!f->string) continue;
      while (i < nk && strcmp(keys[i], f->string) != 0) i++;
      if (i == nk && nk < 16) keys[nk++] = f->string;
    }
  }
  if (plain || nk == 0) {
    static const col name_col[] = {{"NAME", "name", 0}};
    ctl_table *t = ctl_table_new(1, (const char *const[]){"NAME"});
    int rc = t ? 0 : oom();
    cJSON_ArrayForEach(o, arr) {
      if (rc) break;
      char *cell = cJSON_IsObject(o) ? cell_of(o, name_col) : ctl_json_cell(o);
      const char *row[1] = {cell};
      if (!cell || ctl_table_add(t, row) != 0) rc = oom();
      free(cell);
    }
    if (!rc) ctl_table_print(t, stdout);
    ctl_table_free(t);
    return rc;
  }
  col cols[16];
  char *heads[16];
  size_t built = 0;
  for (; built < nk; built++) {
    heads[built] = ctl_header_of(keys[built]);
    if (!heads[built]) break;
    cols[built] = (col){heads[built], keys[built], 0};
  }
  int rc = built < nk ? oom() : print_cols(arr, cols, nk);
  for (size_t i = 0; i < built; i++) free(heads[i]);
  return rc;
}

/* An answer that is one object (start, stop, migrate): one row. */
static int print_object_row(cJSON *obj) {
  cJSON *arr = cJSON_CreateArray();
  if (!arr) return oom();
  cJSON *ref = cJSON_CreateObjectReference(obj->child);
  if (!ref) {
    cJSON_Delete(arr);
    return oom();
  }
  cJSON_AddItemToArray(arr, ref);
  int rc = print_generic(arr);
  cJSON_Delete(arr); /* deletes the reference, not obj's children */
  return rc;
}

/* The server's document as it came, one line. */
static void print_raw(const ctl_reply *r) {
  fwrite(r->body, 1, r->len, stdout);
  if (r->len == 0 || r->body[r->len - 1] != '\n') fputc('\n', stdout);
}

/* ------------------------------------------------------------------ calls */
/* One call whose answer must be JSON: *doc (cJSON_Delete it) and *r. */
static int call_json(ctl_client *c, const char *method, const char *path,
                     const char *body, cJSON **doc, ctl_reply *r) {
  *doc = NULL;
  int rc = ctl_client_call(c, method, path, body, r);
  if (rc) return rc;
  *doc = cJSON_ParseWithLength(r->body, r->len);
  if (!*doc) {
    ctl_client_error(c, "%s %s: the answer is not JSON", method, path);
    ctl_reply_free(r);
    return CTL_EXIT_FAIL;
  }
  return 0;
}

/* The list in an answer: the document when it is an array, else its member
 * `key`, else its first array member; NULL when there is none. */
static cJSON *list_of(cJSON *doc, const char *key) {
  if (cJSON_IsArray(doc)) return doc;
  cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key);
  if (cJSON_IsArray(a)) return a;
  cJSON_ArrayForEach(a, doc) if (cJSON_IsArray(a)) return a;
  return NULL;
}

/* "/api/PREFIX/<escaped id>[SUFFIX]" (malloc'd). */
static char *agent_path(ctl_client *c, const char *prefix, const char *id,
                        const char *suffix) {
  char *e = ctl_client_escape(c, id);
  if (!e) return NULL;
  size_t n = strlen(prefix) + strlen(e) + strlen(suffix) + 1;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s%s%s", prefix, e, suffix);
  free(e);
  return p;
}

/* The cursor `next` of a page as a string (malloc'd), NULL when the list
 * ends there. *bad is set when it is neither a string, a number nor null. */
static char *cursor_of(const cJSON *doc, int *bad) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(doc, "next");
  *bad = 0;
  if (!n || cJSON_IsNull(n)) return NULL;
  if (cJSON_IsString(n) && n->valuestring[0]) return strdup(n->valuestring);
  if (cJSON_IsNumber(n)) return ctl_json_cell(n);
  *bad = 1;
  return NULL;
}

/* GETs `route` page after page from o->after into `all` (up to o->limit
 * items; with filter_user only the items of o->user).  *more: the cursor
 * to continue from when the limit stopped it before the end, else NULL. */
static int fetch_pages(ctl_client *c, const char *route, const char *key,
                       const ctl_opts *o, int filter_user, cJSON *all,
                       char **more) {
  *more = NULL;
  char *after = o->after ? strdup(o->after) : NULL;
  if (o->after && !after) return oom();
  int rc = 0, total = 0;
  for (;;) {
    int page = CTL_PAGE_SIZE;
    if (o->limit && !filter_user && o->limit - total < page)
      page = o->limit - total;
    char path[512];
    int n = snprintf(path, sizeof path, "%s?limit=%d", route, page);
    if (after) {
      char *e = ctl_client_escape(c, after);
      if (!e) {
        rc = oom();
        break;
      }
      n += snprintf(path + n, sizeof path - (size_t)n, "&after=%s", e);
      free(e);
    }
    if (filter_user)
      snprintf(path + n, sizeof path - (size_t)n, "&user_id=%lld", o->user);
    cJSON *doc;
    ctl_reply r;
    if ((rc = call_json(c, "GET", path, NULL, &doc, &r)) != 0) break;
    ctl_reply_free(&r);
    cJSON *items = list_of(doc, key);
    int bad = 0, got = 0;
    char *next = cursor_of(doc, &bad);
    if (!items || bad) {
      ctl_client_error(c, "GET %s: the answer has no \"%s\" list or a bad "
                          "\"next\"", path, key);
      rc = CTL_EXIT_FAIL;
    }
    while (!rc && items && items->child) {
      cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
      got++;
      const cJSON *uid = cJSON_GetObjectItemCaseSensitive(it, "user_id");
      if ((filter_user && (!cJSON_IsNumber(uid) ||
                           uid->valuedouble != (double)o->user)) ||
          (o->limit && total == o->limit)) {
        cJSON_Delete(it);
        continue;
      }
      cJSON_AddItemToArray(all, it);
      total++;
    }
    cJSON_Delete(doc);
    if (!rc && next && after && strcmp(next, after) == 0) {
      ctl_client_error(c, "GET %s: the server repeated the cursor", path);
      rc = CTL_EXIT_FAIL;
    }
    free(after);
    after = next;
    if (rc || !after || got == 0) break;
    if (o->limit && total == o->limit) {
      *more = after;
      after = NULL;
      break;
    }
  }
  free(after);
  return rc;
}

/* -------------------------------------------------------------- commands */
int ctl_cmd_pods(ctl_client *c, const ctl_opts *o) {
  cJSON *doc;
  ctl_reply r;
  int rc = call_json(c, "GET", "/api/pods", NULL, &doc, &r);
  if (rc) return rc;
  if (o->json) {
    print_raw(&r);
  } else {
    const cJSON *pods = list_of(doc, "pods");
    rc = pods ? print_cols(pods, POD_COLS, NCOLS(POD_COLS)) : print_generic(doc);
  }
  cJSON_Delete(doc);
  ctl_reply_free(&r);
  return rc;
}

static int print_list(const ctl_opts *o, cJSON *all, const col *cols,
                      size_t n) {
  if (!o->json) return print_cols(all, cols, n);
  char *s = cJSON_PrintUnformatted(all);
  if (!s) return oom();
  puts(s);
  free(s);
  return 0;
}

int ctl_cmd_agents(ctl_client *c, const ctl_opts *o) {
  cJSON *all = cJSON_CreateArray();
  char *more = NULL;
  if (!all) return oom();
  ctl_opts p = *o;
  p.after = NULL;
  int rc = fetch_pages(c, "/api/agents", "agents", &p, o->user > 0, all, &more);
  if (!rc) rc = print_list(o, all, AGENT_COLS, NCOLS(AGENT_COLS));
  free(more);
  cJSON_Delete(all);
  return rc;
}

int ctl_cmd_agent(ctl_client *c, const ctl_opts *o, const char *id) {
  char *path = agent_path(c, "/api/agents/", id, "");
  if (!path) return oom();
  cJSON *doc;
  ctl_reply r;
  int rc = call_json(c, "GET", path, NULL, &doc, &r);
  free(path);
  if (rc) return rc;
  if (o->json) {
    print_raw(&r);
  } else {
    /* the fields, one "key  value" line each, then the symbols */
    ctl_table *t = ctl_table_new(2, NULL);
    const cJSON *f, *syms = cJSON_GetObjectItemCaseSensitive(doc, "symbols");
    if (!t) rc = oom();
    cJSON_ArrayForEach(f, doc) {
      if (rc || !f->string) break;
      int is_syms = f == syms;
      char *v = is_syms ? join_symbols(f) : ctl_json_cell(f);
      const char *row[2] = {f->string, v};
      if (!v || ctl_table_add(t, row) != 0) rc = oom();
      free(v);
    }
    if (!rc) ctl_table_print(t, stdout);
    ctl_table_free(t);
    if (!rc && cJSON_GetArraySize(syms) > 0) {
      fputc('\n', stdout);
      rc = print_cols(syms, SYMBOL_COLS, NCOLS(SYMBOL_COLS));
    }
  }
  cJSON_Delete(doc);
  ctl_reply_free(&r);
  return rc;
}

/* A POST whose answer is one object, printed as one row. */
static int post_action(ctl_client *c, const ctl_opts *o, const char *path,
                       const char *body) {
  cJSON *doc;
  ctl_reply r;
  int rc = call_json(c, "POST", path, body, &doc, &r);
  if (rc) return rc;
  if (o->json)
    print_raw(&r);
  else if (cJSON_IsObject(doc) && doc->child)
    rc = print_object_row(doc);
  cJSON_Delete(doc);
  ctl_reply_free(&r);
  return rc;
}

int ctl_cmd_start(ctl_client *c, const ctl_opts *o, const char *id) {
  char *path = agent_path(c, "/api/agents/start/", id, "");
  if (!path) return oom();
  int rc = post_action(c, o, path, NULL);
  free(path);
  return rc;
}

int ctl_cmd_stop(ctl_client *c, const ctl_opts *o, const char *id) {
  char *path = agent_path(c, "/api/agents/stop/", id, "");
  if (!path) return oom();
  int rc = post_action(c, o, path, NULL);
  free(path);
  return rc;
}

int ctl_cmd_migrate(ctl_client *c, const ctl_opts *o, const char *id,
                    const char *pod) {
  char *path = agent_path(c, "/api/agents/", id, "/migrate");
  cJSON *b = cJSON_CreateObject();
  char *body = b && cJSON_AddStringToObject(b, "to", pod)
                   ? cJSON_PrintUnformatted(b)
                   : NULL;
  cJSON_Delete(b);
  int rc = path && body ? post_action(c, o, path, body) : oom();
  free(body);
  free(path);
  return rc;
}

int ctl_cmd_audit(ctl_client *c, const ctl_opts *o) {
  cJSON *all = cJSON_CreateArray();
  char *more = NULL;
  if (!all) return oom();
  int rc = fetch_pages(c, "/api/audit", "events", o, 0, all, &more);
  if (!rc) rc = print_list(o, all, AUDIT_COLS, NCOLS(AUDIT_COLS));
  if (!rc && more && !o->json) {
    char *safe = ctl_sanitize(more);
    fprintf(stderr, "agentrecoverctl: more events may follow: "
                    "agentrecoverctl audit --after %s\n",
            safe ? safe : "");
    free(safe);
  }
  free(more);
  cJSON_Delete(all);
  return rc;
}

int ctl_cmd_strategies(ctl_client *c, const ctl_opts *o) {
  cJSON *doc;
  ctl_reply r;
  int rc = call_json(c, "GET", "/api/strategies", NULL, &doc, &r);
  if (rc) return rc;
  if (o->json) {
    print_raw(&r);
  } else {
    const cJSON *list = list_of(doc, "strategies");
    if (list) {
      rc = print_generic(list);
    } else {
      ctl_client_error(c, "GET /api/strategies: the answer has no list");
      rc = CTL_EXIT_FAIL;
    }
  }
  cJSON_Delete(doc);
  ctl_reply_free(&r);
  return rc;
}
