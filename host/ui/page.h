/*
 * page.h -- the fleet page, GET /ui: one self-contained HTML document
 * (host/ui/index.html, compiled in) that reads the admin API with the
 * read token the operator types into it.  The document carries no data,
 * so it is served without a token; everything it shows comes from /api/
 * calls that send the token.
 */
#ifndef AREC_HOST_UI_PAGE_H
#define AREC_HOST_UI_PAGE_H

#include "api.h"

/* 1 for the page's paths: "/ui" and "/ui/". */
int arec_host_ui_path(const char *path);

/* Answers a request for the page: GET/HEAD 200 text/html with a
 * Content-Security-Policy that allows exactly the page's own inline script
 * and style (by their SHA-256) and fetches to its own origin, nosniff, no
 * referrer, no framing; another method 405 with Allow: GET. */
void arec_host_ui_serve(const char *method, arec_host_response *out);

/* The Content-Security-Policy value served with the page (static; "" when
 * it could not be computed, then the page answers 500). */
const char *arec_host_ui_csp(void);

/* The embedded document (generated from host/ui/index.html). */
extern const char arec__host_ui_html[];
extern const size_t arec__host_ui_html_len;

#endif
