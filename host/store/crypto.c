/*
 * crypto.c -- the credential cipher of the host's store: AES-256-GCM
 * (OpenSSL EVP) with a versioned, key-tagged format and associated data
 * binding each value to its row and column.
 *
 * How: seal writes "v2" | key id | nonce (12, RAND_bytes) | ciphertext |
 * tag (16) under the current key with associated data
 * "user_exchanges/<row>/<column>".  open tries a v2 value under each
 * configured key whose id matches (current first), then -- a 0.1 value,
 * or a v2-looking one that did not open -- the whole value as 0.1's
 * nonce | ciphertext | tag without associated data under the current,
 * then the previous key.  The tag check makes a wrong key, a corrupted
 * value or a value moved to another row fail; the failure names the row
 * and column only.
 *
 * Must never: return unverified plaintext, put a key, a ciphertext or a
 * plaintext into an error or log line, or free a plaintext buffer without
 * wiping it.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

void arec__hs_wipe(void *p, size_t n) {
  if (p && n)
    OPENSSL_cleanse(p, n);
}

void arec__hs_secret_free(char *p) {
  if (!p)
    return;
  arec__hs_wipe(p, strlen(p));
  free(p);
}

unsigned char arec__hs_key_id(const unsigned char *key) {
  static const char label[] = "agentrecover key id";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  unsigned char buf[sizeof label - 1 + AREC_HOST_KEY_LEN];
  memcpy(buf, label, sizeof label - 1);
  memcpy(buf + sizeof label - 1, key, AREC_HOST_KEY_LEN);
  int ok = EVP_Digest(buf, sizeof buf, md, &n, EVP_sha256(), NULL) == 1;
  arec__hs_wipe(buf, sizeof buf);
  return ok && n ? md[0] : 0;
}

/* "user_exchanges/<row>/<column>" */
static int ad_text(char *buf, size_t len, long long row, const char *column) {
  int n = snprintf(buf, len, "user_exchanges/%lld/%s", row, column);
  return n > 0 && (size_t)n < len ? n : -1;
}

/* AES-256-GCM over the n bytes at in into out (the nonce given, ad the
 * additional data): encrypting (enc 1) writes the tag, decrypting (enc 0)
 * checks it; 1 ok. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce,
               const unsigned char *ad, int adlen, const unsigned char *in,
               int n, unsigned char *out, unsigned char *tag) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  int ok =
      ctx &&
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AREC__HS_NONCE, NULL) ==
          1 &&
      EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
      (!ad || EVP_CipherUpdate(ctx, NULL, &len, ad, adlen) == 1) &&
      EVP_CipherUpdate(ctx, out, &len, in, n) == 1 &&
      (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AREC__HS_TAG,
                                  tag) == 1) &&
      EVP_CipherFinal_ex(ctx, out + len, &fin) == 1 &&
      (!enc ||
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AREC__HS_TAG, tag) == 1);
  EVP_CIPHER_CTX_free(ctx);
  return ok && len + fin == n;
}

int arec__hs_seal(const arec_host_store *s, long long row, const char *column,
                  const char *plain, unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!s->has_key) {
    arec_error_set("no AGENT_SECRETS_KEY configured: exchange keys cannot be "
                   "stored");
    return AREC_ECRYPTO;
  }
  char ad[96];
  int adlen = ad_text(ad, sizeof ad, row, column);
  size_t n = strlen(plain);
  if (adlen < 0 || n > 65536)
    return AREC_EINVAL;
  size_t total = AREC__HS_HDR + AREC__HS_NONCE + n + AREC__HS_TAG;
  unsigned char *buf = malloc(total);
  if (!buf)
    return AREC_ENOMEM;
  buf[0] = 'v';
  buf[1] = '2';
  buf[2] = s->key_id;
  unsigned char *nonce = buf + AREC__HS_HDR;
  int ok = RAND_bytes(nonce, AREC__HS_NONCE) == 1 &&
           gcm(1, s->key, nonce, (const unsigned char *)ad, adlen,
               (const unsigned char *)plain, (int)n, nonce + AREC__HS_NONCE,
               nonce + AREC__HS_NONCE + n);
  if (!ok) {
    free(buf);
    arec_error_set("encryption of user_exchanges row %lld %s failed", row,
                   column);
    return AREC_ECRYPTO;
  }
  *out = buf;
  *out_len = total;
  return 0;
}

/* Tries one layout under one key; on success *out is the plaintext. */
static int try_open(const unsigned char *key, const unsigned char *body,
                    size_t len, const char *ad, int adlen, char **out) {
  if (len < AREC__HS_NONCE + AREC__HS_TAG)
    return 0;
  size_t n = len - AREC__HS_NONCE - AREC__HS_TAG;
  char *plain = malloc(n + 1);
  if (!plain)
    return -1;
  unsigned char tag[AREC__HS_TAG];
  memcpy(tag, body + AREC__HS_NONCE + n, sizeof tag);
  if (!gcm(0, key, body, (const unsigned char *)ad, adlen,
           body + AREC__HS_NONCE, (int)n, (unsigned char *)plain, tag)) {
    arec__hs_wipe(plain, n + 1);
    free(plain);
    return 0;
  }
  plain[n] = '\0';
  if (strlen(plain) != n) { /* a NUL inside: no credential we wrote */
    arec__hs_wipe(plain, n + 1);
    free(plain);
    return 0;
  }
  *out = plain;
  return 1;
}

int arec__hs_open(const arec_host_store *s, long long row, const char *column,
                  const unsigned char *in, size_t len, char **out,
                  int *out_current) {
  *out = NULL;
  if (out_current)
    *out_current = 0;
  if (!s->has_key) {
    arec_error_set("user_exchanges row %lld %s cannot be decrypted: no "
                   "AGENT_SECRETS_KEY configured",
                   row, column);
    return AREC_ECRYPTO;
  }
  char ad[96];
  int adlen = ad_text(ad, sizeof ad, row, column);
  if (adlen < 0)
    return AREC_EINVAL;
  const unsigned char *keys[2] = {s->key, s->has_prev ? s->prev : NULL};
  const unsigned char ids[2] = {s->key_id, s->prev_id};
  int r;
  if (len >= AREC__HS_HDR + AREC__HS_NONCE + AREC__HS_TAG && in[0] == 'v' &&
      in[1] == '2') {
    for (int k = 0; k < 2; k++) {
      if (!keys[k] || ids[k] != in[2])
        continue;
      r = try_open(keys[k], in + AREC__HS_HDR, len - AREC__HS_HDR, ad, adlen,
                   out);
      if (r < 0)
        return AREC_ENOMEM;
      if (r) {
        if (out_current)
          *out_current = k == 0;
        return 0;
      }
    }
  }
  for (int k = 0; k < 2; k++) { /* 0.1: no header, no associated data */
    if (!keys[k])
      continue;
    r = try_open(keys[k], in, len, NULL, 0, out);
    if (r < 0)
      return AREC_ENOMEM;
    if (r)
      return 0;
  }
  arec_error_set("user_exchanges row %lld %s does not decrypt (wrong "
                 "AGENT_SECRETS_KEY?)",
                 row, column);
  return AREC_ECRYPTO;
}
