/*
 * service.h -- the host's domain operations: users, exchange accounts,
 * trading pairs and agents.  Both front ends -- the HTTP admin API
 * (api.c) and the Telegram bot (telegram/commands.c) -- call these and
 * nothing else to change or read state, so there is one validation (the
 * input policy of validate.h), one strategy registry (strategies.h), one
 * audit trail (every operation that changes something is recorded with its
 * actor and result) and one mapping of library codes to outcomes.
 *
 * Outcomes: every operation fills an arec_svc_result whose `status` is an
 * HTTP-like code the API answers as is and the bot turns into a sentence:
 *   200 done, 201 created, 202 accepted (will happen later: lock service
 *   down, another pod will run it), 400 bad input (`field` names it),
 *   403 not allowed for this actor, 404 not found (also: not the actor's),
 *   409 conflicts with the current state, 422 refused by the agent type
 *   (the reason in `message`), 503 unavailable (retry), 500 internal.
 * `message` is human text without secrets or database internals; for 500
 * and 503 the detail is logged with `request_id`, which the message names.
 * `field` uses the admin API's JSON names ("id", "user_id", "name",
 * "strategy", "params", "exchange", "api_key", "api_secret", "exchange_id",
 * "symbol", "balance", "to", "limit", "after", "mode", "risk",
 * "risk.max_position", "risk.max_daily_loss", "days").  Every function returns 0
 * when the status is 2xx, else a negative AREC_E* code (the cause;
 * AREC_EINVAL for 400 and 403).
 *
 * Audit: every operation that may change something records one event
 * (audit_events: actor, action, agent_id, user_id, result "201" or
 * "404 agent not found", request_id) and logs one INFO line "audit" with
 * the same fields, whatever its outcome (400 and 403 included); reads
 * record nothing.  Actions: user.upsert, exchange.add, exchange.remove,
 * pair.add, agent.create, agent.assign, agent.unassign, agent.start,
 * agent.stop, agent.enable, agent.disable, agent.migrate, agent.delete,
 * agents.stop_all.
 *
 * Actors: an API caller with the admin token, an API caller with the read
 * token (every mutating operation answers 403), or a Telegram user (every
 * operation is scoped to that user's own agents, accounts and pairs: other
 * users' objects answer 404).
 *
 * Threads: an arec_svc is thread-safe; every function may be called from
 * any thread concurrently.  Functions never block longer than the admin
 * pool's call deadline per database call.
 */
#ifndef AREC_HOST_SERVICE_H
#define AREC_HOST_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "store.h" /* arec_host_exchange, arec_host_audit */

typedef struct arec_svc arec_svc;

typedef enum arec_svc_actor_kind {
  AREC_ACTOR_API_ADMIN = 0, /* "api:admin" */
  AREC_ACTOR_API_READ = 1,  /* "api:read": GET routes only */
  AREC_ACTOR_API_OPEN = 2,  /* "api:none": ADMIN_AUTH=none */
  AREC_ACTOR_TELEGRAM = 3   /* "telegram:<user id>" */
} arec_svc_actor_kind;

typedef struct arec_svc_actor {
  arec_svc_actor_kind kind;
  long long user_id;       /* AREC_ACTOR_TELEGRAM: the sender */
  const char *request_id;  /* the front end's request id (may be NULL) */
} arec_svc_actor;

typedef struct arec_svc_result {
  int status;
  char field[32];        /* 400: the field at fault ("" otherwise) */
  char message[256];
  char request_id[24];   /* set for 500/503 (and whenever the actor gave
                            one) */
} arec_svc_result;

typedef struct arec_svc_options {
  arec_pg *pg;                 /* the administrative pool (statement
                                  timeout); borrowed, outlives the svc */
  arec_repository *repo;       /* a repository over that pool, for the
                                  arec_agent_* administration; owned by
                                  the svc (freed with it) */
  arec_manager *mgr;           /* start/stop/migrate, registered types;
                                  borrowed */
  struct arec_host_store *store; /* users, accounts, pairs, audit;
                                    borrowed */
  const char *pod;             /* this pod's name */
  int pod_live;                /* this pod may run live agents
                                  (TRADING_MODE=live) */
  arec_log_fn log;
  void *log_userdata;
} arec_svc_options;

int arec_svc_new(arec_svc **out, const arec_svc_options *opts);
void arec_svc_free(arec_svc *svc);

/* ------------------------------------------------------------ users */
/* 201 (created or renamed). */
int arec_svc_user_upsert(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, const char *name,
                         arec_svc_result *res);
/* 200 with *out_name (may be NULL; free()) or 404.  Not audited. */
int arec_svc_user_get(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, char **out_name,
                      arec_svc_result *res);

/* --------------------------------------------------- exchange accounts */
/* exchange must be a supported exchange ("binance"); keys are stored
 * encrypted and never echoed.  201; 503 when no AGENT_SECRETS_KEY is
 * configured. */
int arec_svc_exchange_add(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, const char *exchange,
                          const char *api_key, const char *api_secret,
                          int testnet, long long *out_id,
                          arec_svc_result *res);
/* Refused (409, naming the agent) while an agent of the user that is
 * wanted or still running trades a pair on it.  Removes its pairs too. */
int arec_svc_exchange_remove(arec_svc *svc, const arec_svc_actor *who,
                             long long user_id, long long exchange_id,
                             arec_svc_result *res);
/* The user's exchange accounts (never their keys).  200; free(*out).
 * Not audited. */
int arec_svc_exchange_list(arec_svc *svc, const arec_svc_actor *who,
                           long long user_id, arec_host_exchange **out,
                           size_t *out_n, arec_svc_result *res);
/* The supported exchange names, static, NULL-terminated. */
const char *const *arec_svc_exchanges(void);

/* ------------------------------------------------------------- pairs */
/* exchange_id 0: the user's newest account (404 when it has none). 201;
 * 409 when the user has the pair already. */
int arec_svc_pair_add(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, long long exchange_id,
                      const char *symbol, long long *out_id,
                      arec_svc_result *res);

/* ------------------------------------------------------------ agents */
typedef struct arec_svc_agent_new {
  const char *id;        /* NULL: random */
  long long user_id;
  const char *strategy;  /* must be a registered type (400 field
                            "strategy") */
  const char *name;      /* <= 200 characters, no control characters */
  const char *params;    /* JSON object text or NULL: "risk" validated
                            (400 "risk", "risk.max_position",
                            "risk.max_daily_loss"; trading/params.h) */
  const char *mode;      /* "paper" / "live" (400 "mode"), or NULL: the
                            params' "mode", else this pod's TRADING_MODE.
                            Written into the params; a live agent
                            requires the capability "live" (only
                            TRADING_MODE=live pods run it). */
} arec_svc_agent_new;

int arec_svc_agent_create(arec_svc *svc, const arec_svc_actor *who,
                          const arec_svc_agent_new *spec, char *out_id,
                          size_t out_len, arec_svc_result *res);
/* The owner must have a trading pair for the symbol (409 otherwise).  The
 * symbol is normalised (upper case).  201. */
int arec_svc_agent_assign(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, const char *symbol,
                          double budget, arec_svc_result *res);
int arec_svc_agent_unassign(arec_svc *svc, const arec_svc_actor *who,
                            const char *agent_id, const char *symbol,
                            arec_svc_result *res);
/* 200 running here (*out_pod = this pod; the message says "live orders"
 * or "paper trading", the agent's mode), 202 wish recorded and another
 * pod will run it (*out_pod = that pod when known) or the lock service is
 * down or the start failed for now and is retried (message says which),
 * 409 no symbols/disabled, 422 refused (reason), 400 unknown strategy. */
int arec_svc_agent_start(arec_svc *svc, const arec_svc_actor *who,
                         const char *agent_id, char *out_pod,
                         size_t out_len, arec_svc_result *res);
int arec_svc_agent_stop(arec_svc *svc, const arec_svc_actor *who,
                        const char *agent_id, arec_svc_result *res);
int arec_svc_agent_set_active(arec_svc *svc, const arec_svc_actor *who,
                              const char *agent_id, int active,
                              arec_svc_result *res);
/* 202 (the handover happens at the owner's next pass). */
int arec_svc_agent_migrate(arec_svc *svc, const arec_svc_actor *who,
                           const char *agent_id, const char *to_pod,
                           arec_svc_result *res);
/* A user's stop (the runner closes its positions as it stops), then the
 * soft delete: get and list answer 404 / leave it out, its state history
 * stays, its id stays taken. */
int arec_svc_agent_delete(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, arec_svc_result *res);
/* Stops every wanted agent of the user; *out_n how many. */
int arec_svc_stop_all(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, size_t *out_n,
                      arec_svc_result *res);

/* Reads (no audit).  Records freed with arec_agent_records_free(). */
int arec_svc_agent_get(arec_svc *svc, const arec_svc_actor *who,
                       const char *agent_id, arec_agent_record **out,
                       arec_svc_result *res);
int arec_svc_agent_list(arec_svc *svc, const arec_svc_actor *who,
                        const arec_agent_filter *filter,
                        arec_agent_record **out, size_t *out_n,
                        arec_svc_result *res);

/* The mode an agent record's params say: 1 live, 0 paper (also when the
 * params do not say). */
int arec_svc_agent_is_live(const arec_agent_record *a);

/* ------------------------------------------- trader reports (reads) */
/* Computed from the memory of the user's agents (host/trading/memory.h),
 * owner-scoped like every read (a Telegram user: their own only; another
 * user_id answers 404).  Not audited.  Free every *out with free(). */

/* One agent's money in one quote asset ("USDT" of "BTC/USDT"). */
typedef struct arec_svc_balance {
  char agent_id[AREC_AGENT_ID_MAX + 1];
  char quote[24];
  int live;          /* the agent's mode */
  double budget;     /* assigned */
  double cash;       /* quote cash of its symbols now */
  double positions;  /* open positions at their last price */
} arec_svc_balance;
/* Rows by agent id, then quote asset. */
int arec_svc_balance_list(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, arec_svc_balance **out,
                          size_t *out_n, arec_svc_result *res);

/* One fill. */
typedef struct arec_svc_fill {
  int64_t t_ms;      /* wall clock, ms */
  char agent_id[AREC_AGENT_ID_MAX + 1];
  char symbol[48];
  char side[8];      /* "BUY" / "SELL" */
  double qty, price, fee; /* fee in the quote asset */
} arec_svc_fill;
/* The user's last `limit` (1..200, 400 "limit") fills, newest first (each
 * symbol's memory keeps its last 50). */
int arec_svc_trades(arec_svc *svc, const arec_svc_actor *who,
                    long long user_id, unsigned int limit,
                    arec_svc_fill **out, size_t *out_n, arec_svc_result *res);

/* Realised PnL of one UTC day in one quote asset. */
typedef struct arec_svc_day {
  char date[12];     /* "YYYY-MM-DD" */
  char quote[24];
  double realized;   /* fees included */
  double fees;
  unsigned int trades;
} arec_svc_day;
/* The last `days` (1..90, 400 "days") UTC days, today first, every day
 * listed (0 when it had no fill) for each quote asset the user's agents
 * trade. */
int arec_svc_daily(arec_svc *svc, const arec_svc_actor *who,
                   long long user_id, unsigned int days, arec_svc_day **out,
                   size_t *out_n, arec_svc_result *res);

/* One symbol over all of the user's agents. */
typedef struct arec_svc_perf {
  char symbol[48];
  char quote[24];
  double realized;   /* fees included */
  double open;       /* open positions at their last price vs. entry */
  double fees;
  double position;   /* base units held */
  unsigned long long trades;
} arec_svc_perf;
/* Rows by realised PnL, best first. */
int arec_svc_performance(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, arec_svc_perf **out,
                         size_t *out_n, arec_svc_result *res);

/* The agent types registered on this pod (arec_strings_free). */
int arec_svc_strategies(arec_svc *svc, char ***out, size_t *out_n);

/* ------------------------------------------------------------- audit */
/* One recorded event: the store's row (store.h), its time as RFC 3339 UTC
 * text, actor "api:admin", "api:read", "api:none" or "telegram:<id>",
 * action "agent.create", "exchange.add", ..., agent_id NULL and user_id 0
 * when none, result "200", "404 agent not found", ... (no secret). */
typedef arec_host_audit arec_svc_event;

/* Events with id > after, oldest first, at most limit (1..1000).  Free
 * with arec_svc_events_free(*out, *out_n). */
int arec_svc_audit_list(arec_svc *svc, const arec_svc_actor *who,
                        long long after, unsigned int limit,
                        arec_svc_event **out, size_t *out_n,
                        arec_svc_result *res);
void arec_svc_events_free(arec_svc_event *events, size_t n);
/* Which events arec_svc_audit_query() lists. */
typedef struct arec_svc_audit_filter {
  long long after;     /* id > after (>= 0) */
  long long before;    /* > 0: id < before (0: no bound) */
  unsigned int limit;  /* 1..1000 */
  const char *action;  /* NULL: any; else [a-z0-9_.]{1,64} ("action") */
  int newest_first;    /* 1: ids descending (page on with before) */
} arec_svc_audit_filter;
/* As audit_list with the filter (a Telegram user still sees only its own
 * events); 400 naming "after", "before", "limit" or "action". */
int arec_svc_audit_query(arec_svc *svc, const arec_svc_actor *who,
                         const arec_svc_audit_filter *filter,
                         arec_svc_event **out, size_t *out_n,
                         arec_svc_result *res);

/* ------------------------------------------------------- for the bot */
/* The administrative repository (roles, reads).  Borrowed. */
arec_repository *arec_svc_repository(arec_svc *svc);
/* The bot's update offset (0 when never stored). */
int arec_svc_bot_offset_get(arec_svc *svc, long long *out);
/* Stores the offset only while `lease` is still the current holder of its
 * role, in one statement fenced by the role's fence: 0, AREC_EFENCED. */
int arec_svc_bot_offset_set(arec_svc *svc, const arec_role_lease *lease,
                            long long offset);

#endif
