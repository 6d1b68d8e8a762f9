/*
 * log.c -- log line formatting (text and JSON), the stderr sinks, level
 * names, and the manager's internal log helpers.
 *
 * Text: "<RFC 3339 UTC time with ms> <LEVEL> <msg> key=value ...", a value
 * quoted (with \" and \\ escapes) only when it contains a space, a quote,
 * '=', a control character, or is empty; the field types do not change it.
 * JSON: one object per line; a field typed AREC_LOG_NUMBER is written bare
 * when its text is a JSON number (else as a string), AREC_LOG_BOOL as true
 * ("true" or "1") or false.
 * A sink writes one line with one write(2).  Never log a secret: callers
 * pass only ids, names and codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ----------------------------------------------------------------- levels */
static const char *const level_names[] = {[AREC_LOG_DEBUG] = "DEBUG",
                                          [AREC_LOG_INFO] = "INFO",
                                          [AREC_LOG_WARN] = "WARN",
                                          [AREC_LOG_ERROR] = "ERROR"};
#define NLEVELS (sizeof level_names / sizeof level_names[0])

const char *arec_log_level_name(arec_log_level level) {
  return (unsigned)level < NLEVELS ? level_names[level] : "INFO";
}

/* A level's name in any case; "warning" is WARN too. */
int arec_log_level_parse(arec_log_level *out, const char *s) {
  if (!out || !s)
    return AREC_EINVAL;
  for (size_t i = 0; i < NLEVELS; i++)
    if (!strcasecmp(s, level_names[i])) {
      *out = (arec_log_level)i;
      return 0;
    }
  if (strcasecmp(s, "warning"))
    return AREC_EINVAL;
  *out = AREC_LOG_WARN;
  return 0;
}

/* ------------------------------------------------------------ out buffer */
typedef struct obuf {
  char *buf;
  size_t len; /* capacity including NUL */
  size_t pos; /* bytes needed so far */
} obuf;

static void put(obuf *o, const char *s, size_t n) {
  if (o->len > 0 && o->pos + 1 < o->len) {
    size_t room = o->len - 1 - o->pos;
    memcpy(o->buf + o->pos, s, n < room ? n : room);
  }
  o->pos += n;
}

static void puts_(obuf *o, const char *s) { put(o, s, strlen(s)); }

static void putc_(obuf *o, char c) { put(o, &c, 1); }

static void put_time(obuf *o) {
  struct timespec ts;
  struct tm tm;
  char tb[96];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(tb, sizeof tb, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
  puts_(o, tb);
}

static int needs_quote(const char *v) {
  if (!*v)
    return 1;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p == ' ' || *p == '"' || *p == '=' || *p < 0x20 || *p == 0x7f)
      return 1;
  return 0;
}

/* Escapes for both formats: \" \\ \n \r \t, other controls \u00XX. */
static void put_escaped(obuf *o, const char *v) {
  static const char special[] = "\"\\\n\r\t";
  static const char *const escaped[] = {"\\\"", "\\\\", "\\n", "\\r", "\\t"};
  char tmp[8];
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    const char *k = strchr(special, *p);
    if (k) {
      puts_(o, escaped[k - special]);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(tmp, sizeof tmp, "\\u%04x", *p);
      puts_(o, tmp);
    } else {
      putc_(o, (char)*p);
    }
  }
}

size_t arec_log_format(char *buf, size_t len, int json, arec_log_level level,
                       const char *msg, const arec_log_field *fields,
                       size_t nfields) {
  obuf o = {buf, len, 0};
  if (!msg)
    msg = "";
  if (!json) {
    put_time(&o);
    putc_(&o, ' ');
    puts_(&o, arec_log_level_name(level));
    putc_(&o, ' ');
    puts_(&o, msg);
    for (size_t i = 0; i < nfields; i++) {
      const char *k = fields[i].key ? fields[i].key : "";
      const char *v = fields[i].value ? fields[i].value : "";
      putc_(&o, ' ');
      puts_(&o, k);
      putc_(&o, '=');
      if (needs_quote(v)) {
        putc_(&o, '"');
        put_escaped(&o, v);
        putc_(&o, '"');
      } else {
        puts_(&o, v);
      }
    }
  } else {
    puts_(&o, "{\"time\":\"");
    put_time(&o);
    puts_(&o, "\",\"level\":\"");
    puts_(&o, arec_log_level_name(level));
    puts_(&o, "\",\"msg\":\"");
    put_escaped(&o, msg);
    putc_(&o, '"');
    for (size_t i = 0; i < nfields; i++) {
      const char *v = fields[i].value ? fields[i].value : "";
      puts_(&o, ",\"");
      put_escaped(&o, fields[i].key ? fields[i].key : "");
      puts_(&o, "\":");
      if (fields[i].type == AREC_LOG_NUMBER && arec__json_number_valid(v)) {
        puts_(&o, v);
      } else if (fields[i].type == AREC_LOG_BOOL) {
        puts_(&o, strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ? "true"
                                                                 : "false");
      } else {
        putc_(&o, '"');
        put_escaped(&o, v);
        putc_(&o, '"');
      }
    }
    putc_(&o, '}');
  }
  putc_(&o, '\n');
  if (len > 0)
    buf[o.pos < len ? o.pos : len - 1] = '\0';
  return o.pos;
}

/* ------------------------------------------------------------------ sinks */
static void write_line(int json, arec_log_level level, const char *msg,
                       const arec_log_field *fields, size_t nfields) {
  char stackbuf[1024];
  char *buf = stackbuf;
  size_t need = arec_log_format(stackbuf, sizeof stackbuf, json, level, msg,
                                fields, nfields);
  if (need >= sizeof stackbuf) {
    buf = malloc(need + 1);
    if (!buf) {
      buf = stackbuf;
      need = sizeof stackbuf - 1;
      stackbuf[need - 1] = '\n';
    } else {
      arec_log_format(buf, need + 1, json, level, msg, fields, nfields);
    }
  }
  size_t off = 0;
  while (off < need) {
    ssize_t w = write(2, buf + off, need - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  if (buf != stackbuf)
    free(buf);
}

void arec_log_stderr_text(void *userdata, arec_log_level level,
                          const char *msg, const arec_log_field *fields,
                          size_t nfields) {
  (void)userdata;
  write_line(0, level, msg, fields, nfields);
}

void arec_log_stderr_json(void *userdata, arec_log_level level,
                          const char *msg, const arec_log_field *fields,
                          size_t nfields) {
  (void)userdata;
  write_line(1, level, msg, fields, nfields);
}

/* -------------------------------------------------------- manager helpers */
void arec__log(arec_manager *mgr, arec_log_level level, const char *msg,
               const arec_log_field *fields, size_t nfields) {
  if (!mgr->log || level < mgr->log_level)
    return;
  mgr->log(mgr->log_userdata, level, msg, fields, nfields);
}

void arec__logkv(arec_manager *mgr, arec_log_level level, const char *msg,
                 ...) {
  arec_log_field f[8];
  size_t n = 0;
  va_list ap;
  if (!mgr->log || level < mgr->log_level)
    return;
  va_start(ap, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k || n == 8)
      break;
    f[n].type = AREC_LOG_STRING;
    if (*k == '#' || *k == '?')
      f[n].type = *k++ == '#' ? AREC_LOG_NUMBER : AREC_LOG_BOOL;
    f[n].key = k;
    f[n].value = va_arg(ap, const char *);
    n++;
  }
  va_end(ap);
  mgr->log(mgr->log_userdata, level, msg, f, n);
}

void arec_agent_log(arec_agent *agent, arec_log_level level, const char *msg,
                    const arec_log_field *fields, size_t nfields) {
  arec_log_field f[17];
  size_t n = 0;
  if (!agent)
    return;
  f[n].key = "agent_id";
  f[n].type = AREC_LOG_STRING;
  f[n++].value = agent->id;
  for (size_t i = 0; i < nfields && n < 17; i++)
    f[n++] = fields[i];
  arec__log(agent->mgr, level, msg, f, n);
}
