/*
 * days.c -- a trading symbol's realised PnL per UTC day (memory.h): the
 * calendar arithmetic (days since 1970-01-01 <-> "YYYY-MM-DD", proleptic
 * Gregorian, no time zone but UTC) and the bounded, ordered list of day
 * buckets a fill is added to.
 *
 * How: buckets are kept oldest first; a fill of a day not yet listed is
 * inserted in order (a reconcile may apply an older fill late); past
 * AREC_DAYS_MAX buckets the oldest is dropped.  Pure: no I/O, no clock.
 * Must never: reorder or merge two days, grow past AREC_DAYS_MAX.
 */
#include <stdio.h>
#include <string.h>

#include "trading/memory.h"

/* Days from 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int32_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d) {
  z += 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)yoe + era * 400 + (*m <= 2);
}

int32_t arec__utc_day(int64_t t_ms) {
  int64_t s = t_ms >= 0 ? t_ms / 1000 : (t_ms - 999) / 1000;
  return (int32_t)(s >= 0 ? s / 86400 : (s - 86399) / 86400);
}

void arec__utc_day_text(int32_t day, char *out, size_t len) {
  int y;
  unsigned m, d;
  civil_from_days(day, &y, &m, &d);
  snprintf(out, len, "%04d-%02u-%02u", y, m, d);
}

int arec__utc_day_parse(const char *s, int32_t *out) {
  int y, n = 0;
  unsigned m, d;
  if (!s || sscanf(s, "%4d-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10 ||
      s[n] || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
    return -1;
  int32_t z = days_from_civil(y, m, d);
  int y2;
  unsigned m2, d2;
  civil_from_days(z, &y2, &m2, &d2);
  if (y2 != y || m2 != m || d2 != d) return -1; /* 2025-02-30 */
  *out = z;
  return 0;
}

void arec__mem_day_add(arec_sym_mem *m, int64_t t_ms, double realized,
                       double fee) {
  if (t_ms <= 0) return;
  int32_t day = arec__utc_day(t_ms);
  size_t i = m->ndays;
  while (i > 0 && m->days[i - 1].day > day) i--;
  if (i > 0 && m->days[i - 1].day == day) {
    arec_day_pnl *b = &m->days[i - 1];
    b->realized += realized;
    b->fees += fee;
    b->trades++;
    return;
  }
  if (m->ndays == AREC_DAYS_MAX) {
    if (i == 0) return; /* older than every day kept */
    memmove(m->days, m->days + 1, (AREC_DAYS_MAX - 1) * sizeof m->days[0]);
    m->ndays--;
    i--;
  }
  memmove(m->days + i + 1, m->days + i, (m->ndays - i) * sizeof m->days[0]);
  m->ndays++;
  m->days[i].day = day;
  m->days[i].realized = realized;
  m->days[i].fees = fee;
  m->days[i].trades = 1;
}

const arec_day_pnl *arec__mem_day(const arec_sym_mem *m, int32_t day) {
  for (size_t i = m->ndays; i > 0; i--)
    if (m->days[i - 1].day == day) return &m->days[i - 1];
  return NULL;
}
