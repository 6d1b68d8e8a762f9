/*
 * test_telegram_role.c -- the bot's poller role and its limits, against the
 * fake Bot API, the real service and real PostgreSQL (Redis only for the
 * manager's agent locks): failover between two bots on one database
 * (the holder killed, the other takes the role after its TTL and goes on
 * from the stored offset without handling any update twice, even when
 * Telegram never got the confirmation); the fenced offset (a holder that
 * lost the role handles nothing); no Redis at all (the bot answers, and a
 * start says it will happen when the lock service returns, the wish
 * recorded); a bounded stop while the Bot API never answers.
 */
#include "test_telegram_fixture.h"
#include "support/runner.h"

/* ------------------------------------------------------------ failover */
START_TEST(poller_failover_continues_from_stored_offset) {
  fix f;
  fix_init(&f, "pod-f", NULL);
  arec_repository *repo = arec_svc_repository(f.svc);
  arec_tg_bot *a = poller_on(&f, "pod-1");
  arec_tg_bot *b = bot_on(&f, "pod-2", NULL);
  ask(&f, 501, "/help", "Commands", NULL, 0);
  ck_assert(!arec_tg_bot_is_poller(b));
  /* from now on Telegram never learns what was confirmed: every poll gets
   * every update again; only the stored offset tells what was handled */
  arec_ftg_ignore_offset(f.tg, 1);
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, 502, "/help");
  ck_assert(arec_ftg_wait(f.tg, 502, mark, "Commands", WAIT, NULL, 0));
  arec_tg_bot_abandon(a); /* kill -9: the role is left behind */
  arec_role_lease probe;
  ck_assert_int_eq(arec_role_claim(repo, AREC_TG_ROLE, "test/probe", ROLE_TTL,
                                   &probe), 0);
  long long t0 = arec_test_now_ms();
  arec_ftg_say(f.tg, 503, "/help");
  ck_assert(arec_ftg_wait(f.tg, 503, mark, "Commands", WAIT, NULL, 0));
  ck_assert(arec_tg_bot_is_poller(b));
  /* not before the abandoned lease could have run out: its last keep was
   * at most TTL/3 before the kill */
  ck_assert_int_ge(arec_test_now_ms() - t0, ROLE_TTL / 2);
  /* more polls, every one returning the old updates too */
  arec_ftg_say(f.tg, 504, "/help");
  ck_assert(arec_ftg_wait(f.tg, 504, mark, "Commands", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, 501, 0, "Commands"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 502, 0, "Commands"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 503, 0, "Commands"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 504, 0, "Commands"), 1);
  arec_ftg_stats st;
  arec_ftg_get_stats(f.tg, &st);
  ck_assert_uint_eq(st.conflicts, 0);
  ck_assert_int_ge(log_count("telegram poller role acquired", "pod-2"), 1);
  bot_done(b);
  arec_tg_bot_free(a);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------- fenced offset */
typedef struct rec_ports {
  arec_svc *svc;
  arec_role_lease *lease;
  int replies, deletes;
} rec_ports;

static int r_offset(void *ud, long long off) {
  rec_ports *p = ud;
  return arec_svc_bot_offset_set(p->svc, p->lease, off);
}
static int r_delete(void *ud, long long chat, long long mid) {
  (void)chat, (void)mid;
  ((rec_ports *)ud)->deletes++;
  return 0;
}
static void r_reply(void *ud, long long chat, const char *text) {
  (void)chat, (void)text;
  ((rec_ports *)ud)->replies++;
}

static int claim(arec_repository *repo, const char *holder, int64_t ttl,
                 arec_role_lease *out) {
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end) {
    if (arec_role_claim(repo, AREC_TG_ROLE, holder, ttl, out) == 1) return 1;
    sleep_ms(50);
  }
  return 0;
}

START_TEST(fenced_offset_holder_handles_nothing) {
  fix f;
  fix_init(&f, "pod-x", NULL);
  arec_repository *repo = arec_svc_repository(f.svc);
  arec_role_lease old, cur;
  ck_assert(claim(repo, "test/old", 300, &old));
  sleep_ms(400); /* its lease runs out ... */
  ck_assert(claim(repo, "test/new", 10000, &cur)); /* ... and another took it */
  ck_assert_uint_gt(cur.fence, old.fence);
  long long before = 0;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &before), 0);
  long long uid = before + 10;
  char js[512];
  snprintf(js, sizeof js,
           "[{\"update_id\":%lld,\"message\":{\"message_id\":5,\"chat\":{\"id\":"
           "9901,\"type\":\"private\"},\"from\":{\"id\":9901,\"first_name\":"
           "\"F\"},\"text\":\"/start\"}},{\"update_id\":%lld,\"message\":{"
           "\"message_id\":6,\"chat\":{\"id\":9901,\"type\":\"private\"},"
           "\"from\":{\"id\":9901},\"text\":\"/add_exchange binance K S\"}}]",
           uid, uid + 1);
  cJSON *ups = cJSON_Parse(js);
  ck_assert_ptr_nonnull(ups);
  arec_tg_chatset *told = calloc(1, sizeof *told);
  rec_ports p = {f.svc, &old, 0, 0};
  arec_tg_handler h = {{&p, r_offset, r_delete, r_reply}, f.svc, "pod-x", NULL,
                       0, told, before, log_sink, NULL};
  ck_assert_int_eq(arec_tg_handle_updates(&h, ups), AREC_EFENCED);
  ck_assert_int_eq(p.replies, 0);
  ck_assert_int_eq(p.deletes, 0);
  ck_assert_int_eq(h.offset, before);
  long long now_off = 0;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &now_off), 0);
  ck_assert_int_eq(now_off, before);
  arec_svc_result res;
  char *name = NULL;
  arec_svc_user_get(f.svc, &g_admin, 9901, &name, &res);
  ck_assert_int_eq(res.status, 404);
  free(name);
  /* the current holder handles both, each after its offset is stored */
  p.lease = &cur;
  ck_assert_int_eq(arec_tg_handle_updates(&h, ups), 0);
  ck_assert_int_eq(p.replies, 2);
  ck_assert_int_eq(p.deletes, 1);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &now_off), 0);
  ck_assert_int_eq(now_off, uid + 2);
  arec_svc_user_get(f.svc, &g_admin, 9901, &name, &res);
  ck_assert_int_eq(res.status, 200);
  free(name);
  /* handled once: the same answer again changes nothing */
  ck_assert_int_eq(arec_tg_handle_updates(&h, ups), 0);
  ck_assert_int_eq(p.replies, 2);
  ck_assert_int_eq(arec_role_release(repo, &cur), 0);
  cJSON_Delete(ups);
  free(told);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------ no Redis */
START_TEST(works_without_redis) {
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", arec_test_free_port());
  fix f;
  fix_init(&f, "pod-r", addr); /* the manager's lock: nobody listens there */
  arec_tg_bot *b = bot_on(&f, "pod-r", NULL);
  char r[8192], id[72], cmd[160];
  ask(&f, 1201, "/help", "Commands", NULL, 0);
  ask(&f, 1201, "/start", "Welcome", NULL, 0);
  ask(&f, 1201, "/add_exchange binance K-nr1 S-nr1", "added", NULL, 0);
  ask(&f, 1201, "/add_pair BTC/USDT", "added", NULL, 0);
  ask(&f, 1201, "/create_agent noop \"No Redis\"", "id=", r, sizeof r);
  ck_assert_int_eq(sscanf(strstr(r, "id=") + 3, "%64[A-Za-z0-9_-]", id), 1);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 10", id);
  ask(&f, 1201, cmd, "10.00", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(&f, 1201, cmd, "will start when the lock service returns", NULL, 0);
  arec_agent_record *rec = NULL;
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_agent_get(f.svc, &g_admin, id, &rec, &res), 0);
  ck_assert_int_eq(rec->is_trading, 1); /* the wish is recorded */
  ck_assert_ptr_null(rec->running_on);
  arec_agent_records_free(rec, 1);
  ck_assert(arec_tg_bot_is_poller(b));
  fix_bot_free(&f, b);
}
END_TEST

/* -------------------------------------------------------- bounded stop */
START_TEST(bounded_stop_when_the_api_never_answers) {
  fix f;
  fix_init(&f, "pod-s", NULL);
  arec_repository *repo = arec_svc_repository(f.svc);
  arec_tg_bot *b = poller_on(&f, "pod-s");
  arec_ftg_hang(f.tg, 1);
  for (int i = 0; i < 5; i++) arec_tg_bot_notify(b, NULL, 42 + i, "queued");
  sleep_ms(100); /* the sender is inside a sendMessage that never returns */
  int64_t t0 = arec_tg_now_ms(), deadline = t0 + 800;
  arec_tg_bot_stop(b, deadline);
  int64_t t1 = arec_tg_now_ms();
  ck_assert_msg(t1 <= deadline + 100, "stop returned %lld ms after its deadline",
                (long long)(t1 - deadline));
  ck_assert(!arec_tg_bot_is_poller(b));
  /* the role was given back at once (not left to expire) */
  arec_role_lease l;
  ck_assert_int_eq(arec_role_claim(repo, AREC_TG_ROLE, "test/after", 5000, &l), 1);
  ck_assert_int_eq(arec_role_release(repo, &l), 0);
  /* a deadline already passed: returns at once */
  arec_tg_bot_stop(b, arec_tg_now_ms());
  arec_ftg_hang(f.tg, 0);
  arec_tg_bot_free(b);
  ck_assert_int_ge(log_count("telegram messages not sent at shutdown", NULL), 1);
  fix_free(&f);
}
END_TEST

AREC_TEST_CASE_MAIN("telegram_role", "role", 120, servers_main(s),
                    poller_failover_continues_from_stored_offset,
                    fenced_offset_holder_handles_nothing, works_without_redis,
                    bounded_stop_when_the_api_never_answers)
