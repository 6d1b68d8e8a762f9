/*
 * update.c -- one getUpdates answer's updates, handled (see update.h):
 * range checks, the private-chat rule, the fenced offset written before
 * an update is handled, the command run and its reply handed to a port.
 *
 * How: arec_tg_classify looks at the JSON only (no side effect), checking
 * every number it converts; arec_tg_handle_update stores update_id + 1
 * through the offset port and only on success acts: a non-private chat
 * gets the private-chat request once (bounded set of chat ids), a private
 * command goes to arec_tg_command with a delete callback bound to this
 * message.
 * Never: handle an update whose offset write failed or was fenced; call
 * the service for a non-private update; log a message's text or a name.
 */
#include "telegram/update.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telegram/commands.h"

#define NAME_CHARS 64

/* ------------------------------------------------------------- chat set */
int arec_tg_chatset_add(arec_tg_chatset *s, long long id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->ids[i] == id) return 0;
  if (s->n < AREC_TG_CHATSET_MAX) {
    s->ids[s->n++] = id;
  } else {
    s->ids[s->next] = id;
    s->next = (s->next + 1) % AREC_TG_CHATSET_MAX;
  }
  return 1;
}

/* --------------------------------------------------------------- numbers */
int arec_tg_json_int(const cJSON *v, long long *out) {
  if (!cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) return 0;
  *out = (long long)d;
  return 1;
}

/* Copies a display name: control characters become spaces, invalid UTF-8
 * bytes '?', at most NAME_CHARS characters. */
static void copy_name(char *dst, size_t cap, const char *src) {
  size_t n = 0, chars = 0;
  const unsigned char *p = (const unsigned char *)src;
  while (*p && chars < NAME_CHARS && n + 5 < cap) {
    size_t len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3
                 : (*p >> 3) == 30 ? 4 : 0;
    for (size_t i = 1; i < len; i++)
      if ((p[i] & 0xC0) != 0x80) len = 0;
    if (!len) {
      dst[n++] = '?';
      p++;
    } else if (len == 1) {
      dst[n++] = (*p < 0x20 || *p == 0x7F) ? ' ' : (char)*p;
      p++;
    } else if (len == 2 && p[0] == 0xC2 && p[1] < 0xA0) { /* C1 controls */
      dst[n++] = ' ';
      p += 2;
    } else {
      memcpy(dst + n, p, len);
      n += len;
      p += len;
    }
    chars++;
  }
  dst[n] = 0;
}

static const cJSON *item(const cJSON *o, const char *k) {
  return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static int is_str(const cJSON *v, const char *s) {
  return cJSON_IsString(v) && v->valuestring && !strcmp(v->valuestring, s);
}

/* ------------------------------------------------------------- classify */
void arec_tg_classify(const cJSON *u, arec_tg_msg *m) {
  memset(m, 0, sizeof *m);
  m->kind = AREC_TG_MALFORMED;
  if (!arec_tg_json_int(item(u, "update_id"), &m->update_id) || m->update_id < 0) {
    m->why = "update_id";
    return;
  }
  const cJSON *msg = item(u, "message");
  if (!cJSON_IsObject(msg)) {
    m->kind = AREC_TG_IGNORED; /* edits, channel posts, member changes ... */
    return;
  }
  const cJSON *chat = item(msg, "chat"), *from = item(msg, "from");
  const cJSON *text = item(msg, "text");
  if (cJSON_IsString(text) && text->valuestring) m->text = text->valuestring;
  if (!arec_tg_json_int(item(chat, "id"), &m->chat_id) || m->chat_id == 0) {
    m->why = "chat.id";
    m->chat_id = 0;
    return;
  }
  if (!arec_tg_json_int(item(msg, "message_id"), &m->message_id)) {
    m->why = "message_id";
    return;
  }
  long long uid = 0;
  int has_from = item(msg, "from") != NULL;
  if (has_from && !arec_tg_json_int(item(from, "id"), &uid)) {
    m->why = "from.id";
    return;
  }
  int anon = uid == AREC_TG_ANON_ADMIN || uid == AREC_TG_CHANNEL_BOT ||
             uid == AREC_TG_SERVICE_USER;
  if (!is_str(item(chat, "type"), "private") || item(msg, "sender_chat") ||
      anon || !has_from || cJSON_IsTrue(item(from, "is_bot"))) {
    m->kind = AREC_TG_NOT_PRIVATE;
    return;
  }
  if (uid <= 0 || uid != m->chat_id) {
    m->why = "from.id";  /* a private chat's id is its user's id */
    return;
  }
  m->user_id = uid;
  if (!m->text) {
    m->kind = AREC_TG_IGNORED; /* photos, stickers, ... */
    return;
  }
  const cJSON *nm = item(from, "username");
  if (!cJSON_IsString(nm) || !nm->valuestring || !*nm->valuestring)
    nm = item(from, "first_name");
  if (cJSON_IsString(nm) && nm->valuestring)
    copy_name(m->name, sizeof m->name, nm->valuestring);
  m->kind = AREC_TG_PRIVATE;
}

/* --------------------------------------------------------------- handle */
static void hlog(arec_tg_handler *h, arec_log_level lvl, const char *msg,
                 long long update_id, const char *why) {
  if (!h->log) return;
  char id[24];
  snprintf(id, sizeof id, "%lld", update_id);
  arec_log_field f[2] = {{"update_id", id, AREC_LOG_NUMBER},
                         {"why", why ? why : "", AREC_LOG_STRING}};
  h->log(h->log_userdata, lvl, msg, update_id >= 0 ? f : f + 1,
         update_id >= 0 ? 2 : 1);
}

typedef struct del_ctx {
  arec_tg_handler *h;
  const arec_tg_msg *m;
} del_ctx;

static int del_cb(void *ud) {
  del_ctx *d = ud;
  if (!d->h->ports.delete_message) return AREC_EINVAL;
  int rc = d->h->ports.delete_message(d->h->ports.ud, d->m->chat_id,
                                      d->m->message_id);
  if (rc) hlog(d->h, AREC_LOG_WARN, "telegram message with secrets not deleted",
               d->m->update_id, arec_strerror(rc));
  return rc;
}

int arec_tg_handle_update(arec_tg_handler *h, const cJSON *u) {
  arec_tg_msg m;
  arec_tg_classify(u, &m);
  if (m.kind == AREC_TG_MALFORMED && !strcmp(m.why, "update_id")) {
    hlog(h, AREC_LOG_WARN, "telegram update skipped", -1,
         "update_id missing or out of range");
    return 0;
  }
  if (m.update_id < h->offset) return 0;
  int rc = h->ports.offset_set(h->ports.ud, m.update_id + 1);
  if (rc) return rc;
  h->offset = m.update_id + 1;
  switch (m.kind) {
  case AREC_TG_MALFORMED:
    hlog(h, AREC_LOG_WARN, "telegram update skipped", m.update_id, m.why);
    return 0;
  case AREC_TG_IGNORED:
    return 0;
  case AREC_TG_NOT_PRIVATE:
    if (m.text && m.text[0] == '/' && arec_tg_chatset_add(h->told, m.chat_id)) {
      hlog(h, AREC_LOG_INFO, "telegram command outside a private chat refused",
           m.update_id, "not a private chat");
      h->ports.reply(h->ports.ud, m.chat_id, AREC_TG_PRIVATE_ONLY);
    }
    return 0;
  case AREC_TG_PRIVATE:
    break;
  }
  if (m.text[0] != '/') return 0;
  del_ctx d = {h, &m};
  arec_tg_cmd_ctx c = {h->svc, h->pod, m.user_id, m.name, h->allowed,
                       h->nallowed, del_cb, &d};
  char *reply = NULL;
  rc = arec_tg_command(&c, m.text, &reply);
  if (rc) return rc == AREC_ENOMEM ? 0 : rc; /* offset stored: not retried */
  h->ports.reply(h->ports.ud, m.chat_id, reply);
  free(reply);
  return 0;
}

int arec_tg_handle_updates(arec_tg_handler *h, const cJSON *result) {
  if (!cJSON_IsArray(result)) {
    hlog(h, AREC_LOG_WARN, "telegram getUpdates answer skipped", -1,
         "result is not a list");
    return 0;
  }
  const cJSON *u;
  cJSON_ArrayForEach(u, result) {
    int rc = arec_tg_handle_update(h, u);
    if (rc) return rc;
  }
  return 0;
}
