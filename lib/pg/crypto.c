/*
 * crypto.c -- AES-256-GCM for exchange credentials at rest (OpenSSL EVP).
 * A value is nonce(12, RAND_bytes) || ciphertext || tag(16); decryption
 * verifies the tag, so a wrong key or a corrupted value is AREC_ECRYPTO,
 * never garbage.  Must never put a key or a plaintext into an error string,
 * and wipes plaintext buffers it frees.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"

#define NONCE_LEN 12
#define TAG_LEN 16

int arec__pg_encrypt(const arec_pg *pg, const char *plain, unsigned char **out,
                     size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!pg->has_key) {
    arec_error_set("pg: no secrets key configured");
    return AREC_EINVAL;
  }
  size_t n = strlen(plain);
  unsigned char *buf = malloc(NONCE_LEN + n + TAG_LEN);
  if (!buf)
    return AREC_ENOMEM;
  int ok = RAND_bytes(buf, NONCE_LEN) == 1;
  EVP_CIPHER_CTX *ctx = ok ? EVP_CIPHER_CTX_new() : NULL;
  int len = 0, fin = 0;
  ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
       EVP_EncryptInit_ex(ctx, NULL, NULL, pg->key, buf) == 1 &&
       EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &len, (const unsigned char *)plain,
                         (int)n) == 1 &&
       EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + len, &fin) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                           buf + NONCE_LEN + len + fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    free(buf);
    arec_error_set("pg: encryption failed");
    return AREC_ECRYPTO;
  }
  *out = buf;
  *out_len = NONCE_LEN + (size_t)len + (size_t)fin + TAG_LEN;
  return 0;
}

int arec__pg_decrypt(const arec_pg *pg, const unsigned char *in, size_t len,
                     char **out) {
  *out = NULL;
  if (!pg->has_key) {
    arec_error_set("pg: no secrets key configured");
    return AREC_EINVAL;
  }
  if (len < NONCE_LEN + TAG_LEN) {
    arec_error_set("pg: encrypted value too short");
    return AREC_ECRYPTO;
  }
  size_t n = len - NONCE_LEN - TAG_LEN;
  char *plain = malloc(n + 1);
  if (!plain)
    return AREC_ENOMEM;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int l = 0, fin = 0;
  unsigned char tag[TAG_LEN];
  memcpy(tag, in + NONCE_LEN + n, TAG_LEN);
  int ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
           EVP_DecryptInit_ex(ctx, NULL, NULL, pg->key, in) == 1 &&
           EVP_DecryptUpdate(ctx, (unsigned char *)plain, &l, in + NONCE_LEN,
                             (int)n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
           EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + l, &fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    volatile char *p = plain;
    for (size_t i = 0; i < n + 1; i++)
      p[i] = 0;
    free(plain);
    arec_error_set("pg: cannot decrypt a stored secret (wrong "
                   "AGENT_SECRETS_KEY or corrupted value)");
    return AREC_ECRYPTO;
  }
  plain[l + fin] = 0;
  *out = plain;
  return 0;
}

int arec__pg_decrypt_field(const arec_pg *pg, const char *hex, char **out) {
  *out = NULL;
  if (!hex)
    return 0;
  size_t len = 0;
  unsigned char *raw = PQunescapeBytea((const unsigned char *)hex, &len);
  if (!raw)
    return AREC_ENOMEM;
  int err = arec__pg_decrypt(pg, raw, len, out);
  PQfreemem(raw);
  return err;
}
