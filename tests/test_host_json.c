/*
 * test_host_json.c -- the admin API's strict JSON (host/json.c): exactly
 * one value with nothing but whitespace after it, RFC 8259's number and
 * string grammar, UTF-8, nesting bound, objects with unique keys; integers
 * read only within +-(2^53 - 1) and written exactly ("%lld": 2^53 - 1
 * comes back digit for digit); the field readers' three answers.  No
 * servers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/json.h"
#include "support/runner.h"

static int ok(const char *s) {
  const char *why = NULL;
  return arec_json_check(s, strlen(s), &why) == 0;
}

START_TEST(accepts_rfc_8259) {
  const char *good[] = {
      "{}", "[]", " {\"a\": 1}\n", "0", "-0", "1.5e-3", "-12E+7", "\"x\"",
      "true", "false", "null", "[1, [2, [3]], {\"k\": null}]",
      "\"\\u00e9\\n\\t\\\"\\\\\\/\"",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
      "\r\n\t {\"a\":[]} \t\r\n"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    ck_assert_msg(ok(good[i]), "refused: %s", good[i]);
}
END_TEST

START_TEST(refuses_everything_else) {
  const char *bad[] = {
      "", " ", "{} {}", "{}x", "{} 1", "[1,]", "{\"a\":1,}", "{a:1}",
      "{'a':1}", "+1", "01", "1.", ".5", "1e", "--1", "0x10", "NaN",
      "Infinity", "tru", "nul", "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"",
      "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"", "[1 2]",
      "{\"a\" 1}", "{\"a\":}", "//c\n{}", "{}\x00"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t len = strlen(bad[i]);
    if (i == sizeof bad / sizeof *bad - 1) len = 3; /* a NUL after {} */
    const char *why = NULL;
    ck_assert_msg(arec_json_check(bad[i], len, &why) == -1,
                  "accepted: %s", bad[i]);
    ck_assert_ptr_nonnull(why);
  }
  /* trailing bytes are named as such */
  const char *why = NULL;
  ck_assert_int_eq(arec_json_check("{} x", 4, &why), -1);
  ck_assert_ptr_nonnull(strstr(why, "trailing"));
}
END_TEST

START_TEST(nesting_is_bounded) {
  char deep[200];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  const char *why = NULL;
  ck_assert_int_eq(arec_json_check(deep, 200, &why), -1);
  ck_assert_int_eq(arec_json_check(deep + 40, 120, &why), 0); /* 60 deep */
}
END_TEST

START_TEST(objects_only_with_unique_keys) {
  const char *why = NULL;
  cJSON *j = arec_json_parse_object("[1]", 3, &why);
  ck_assert_ptr_null(j);
  ck_assert_ptr_nonnull(strstr(why, "object"));
  j = arec_json_parse_object("{\"a\":1,\"a\":2}", 13, &why);
  ck_assert_ptr_null(j);
  ck_assert_ptr_nonnull(strstr(why, "twice"));
  j = arec_json_parse_object("{\"a\":1,\"b\":{\"a\":2}}", 19, &why);
  ck_assert_ptr_nonnull(j);
  cJSON_Delete(j);
}
END_TEST

START_TEST(integers_exact_within_2_53) {
  const char *text = "{\"max\": 9007199254740991, \"min\": -9007199254740991,"
                     " \"over\": 9007199254740992, \"far\": 1e300,"
                     " \"frac\": 1.5, \"int_float\": 3.0, \"s\": \"7\","
                     " \"t\": true, \"n\": null}";
  cJSON *j = arec_json_parse_object(text, strlen(text), NULL);
  ck_assert_ptr_nonnull(j);
  long long v = 0;
  ck_assert_int_eq(arec_json_get_int(j, "max", 1, AREC_JSON_INT_MAX, &v), 0);
  ck_assert(v == 9007199254740991LL);
  ck_assert_int_eq(arec_json_get_int(j, "min", -AREC_JSON_INT_MAX, 0, &v), 0);
  ck_assert(v == -9007199254740991LL);
  ck_assert_int_eq(arec_json_get_int(j, "over", 1, AREC_JSON_INT_MAX, &v), -1);
  ck_assert_int_eq(arec_json_get_int(j, "far", 1, AREC_JSON_INT_MAX, &v), -1);
  ck_assert_int_eq(arec_json_get_int(j, "frac", 1, 10, &v), -1);
  ck_assert_int_eq(arec_json_get_int(j, "int_float", 1, 10, &v), 0);
  ck_assert_int_eq(arec_json_get_int(j, "s", 1, 10, &v), -1);
  ck_assert_int_eq(arec_json_get_int(j, "max", 1, 100, &v), -1); /* range */
  ck_assert_int_eq(arec_json_get_int(j, "absent", 1, 10, &v), 1);
  ck_assert_int_eq(arec_json_get_int(j, "n", 1, 10, &v), 1);
  const char *s = NULL;
  ck_assert_int_eq(arec_json_get_string(j, "s", 10, &s), 0);
  ck_assert_str_eq(s, "7");
  ck_assert_int_eq(arec_json_get_string(j, "s", 0, &s), -1);
  ck_assert_int_eq(arec_json_get_string(j, "t", 10, &s), -1);
  int b = 0;
  ck_assert_int_eq(arec_json_get_bool(j, "t", &b), 0);
  ck_assert_int_eq(b, 1);
  ck_assert_int_eq(arec_json_get_bool(j, "s", &b), -1);
  double d = 0;
  ck_assert_int_eq(arec_json_get_number(j, "frac", &d), 0);
  ck_assert(d == 1.5);
  cJSON_Delete(j);
}
END_TEST

START_TEST(integers_in_text) {
  long long v = 0;
  ck_assert_int_eq(arec_json_parse_int("9007199254740991", 1,
                                       AREC_JSON_INT_MAX, &v), 0);
  ck_assert(v == AREC_JSON_INT_MAX);
  ck_assert_int_eq(arec_json_parse_int("-5", -10, 10, &v), 0);
  ck_assert_int_eq(v, -5);
  const char *bad[] = {"", "-", "01", "+1", "1.0", "1e3", " 1", "1 ",
                       "9007199254740992", "99999999999999999999", "0x1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(arec_json_parse_int(bad[i], -AREC_JSON_INT_MAX,
                                      AREC_JSON_INT_MAX, &v) == -1,
                  "accepted \"%s\"", bad[i]);
  ck_assert_int_eq(arec_json_parse_int("0", 1, 10, &v), -1);
  ck_assert_int_eq(arec_json_parse_int(NULL, 1, 10, &v), -1);
}
END_TEST

START_TEST(written_exactly) {
  cJSON *j = cJSON_CreateObject();
  arec_json_add_int(j, "a", 9007199254740991LL);
  arec_json_add_int(j, "b", 1000000000000000LL); /* %g would say 1e+15 */
  arec_json_add_int(j, "c", -42);
  arec_json_add_string_or_null(j, "d", NULL);
  arec_json_add_json_text(j, "e", "{\"iterations\":3}");
  arec_json_add_json_text(j, "f", "not json");
  arec_json_add_time(j, "g", 1767225600123LL);
  arec_json_add_time(j, "h", 0);
  char *txt = cJSON_PrintUnformatted(j);
  ck_assert_str_eq(txt, "{\"a\":9007199254740991,\"b\":1000000000000000,"
                        "\"c\":-42,\"d\":null,\"e\":{\"iterations\":3},"
                        "\"f\":\"not json\",\"g\":\"2026-01-01T00:00:00.123Z\","
                        "\"h\":null}");
  /* and it reads back through the strict parser */
  cJSON *back = arec_json_parse_object(txt, strlen(txt), NULL);
  long long v = 0;
  ck_assert_int_eq(arec_json_get_int(back, "a", 1, AREC_JSON_INT_MAX, &v), 0);
  ck_assert(v == 9007199254740991LL);
  cJSON_Delete(back);
  free(txt);
  cJSON_Delete(j);
}
END_TEST

AREC_TEST_CASE_MAIN("host_json", "strict", 0, arec_test_run(s),
                    accepts_rfc_8259, refuses_everything_else,
                    nesting_is_bounded, objects_only_with_unique_keys,
                    integers_exact_within_2_53, integers_in_text,
                    written_exactly)
