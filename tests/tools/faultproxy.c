/*
 * faultproxy.c -- a small TCP fault proxy for the chaos suite.
 *
 *   faultproxy LISTEN_PORT TARGET_PORT CONTROL_PORT
 *
 * Forwards 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.  A line sent to
 * 127.0.0.1:CONTROL_PORT changes the mode for every connection, current and
 * new, and is answered "ok <mode>\n":
 *   pass          forward both ways (the default)
 *   blackhole     accept, read and drop everything, answer nothing
 *   delay <ms>    forward each chunk <ms> after it arrived
 *   reset         reset every connection (RST) and every new one
 * One thread, one poll() loop; it never forwards to anything but loopback.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <fcntl.h>

#define MAXC 256
#define CHUNK 16384

enum mode { PASS, BLACKHOLE, DELAY, RESET };

typedef struct chunk {
  struct chunk *next;
  long long due;
  size_t len, off;
  char data[];
} chunk;

typedef struct side {
  int fd;
  chunk *head, *tail; /* data waiting to be written TO this fd */
} side;

typedef struct conn {
  side a, b; /* a = client, b = target */
} conn;

static enum mode mode = PASS;
static long long delay_ms = 0;
static conn conns[MAXC];
static int nconns = 0;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 128)) {
    perror("faultproxy: bind/listen");
    exit(1);
  }
  return fd;
}

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static void rst_close(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

static void free_side(side *s) {
  while (s->head) {
    chunk *c = s->head;
    s->head = c->next;
    free(c);
  }
  s->tail = NULL;
}

static void drop_conn(int i, int rst) {
  conn *c = &conns[i];
  if (rst) {
    rst_close(c->a.fd);
    rst_close(c->b.fd);
  } else {
    close(c->a.fd);
    close(c->b.fd);
  }
  free_side(&c->a);
  free_side(&c->b);
  conns[i] = conns[--nconns];
}

static void enqueue(side *to, const char *buf, size_t n) {
  chunk *c = malloc(sizeof *c + n);
  if (!c)
    return;
  c->next = NULL;
  c->due = now_ms() + (mode == DELAY ? delay_ms : 0);
  c->len = n;
  c->off = 0;
  memcpy(c->data, buf, n);
  if (to->tail)
    to->tail->next = c;
  else
    to->head = c;
  to->tail = c;
}

/* Writes what is due to `s`.  -1 when the peer is gone. */
static int flush_side(side *s) {
  long long t = now_ms();
  while (s->head && s->head->due <= t) {
    chunk *c = s->head;
    ssize_t w = send(s->fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (w < 0)
      return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    c->off += (size_t)w;
    if (c->off < c->len)
      return 0;
    s->head = c->next;
    if (!s->head)
      s->tail = NULL;
    free(c);
  }
  return 0;
}

static void control(int cfd) {
  char line[128] = {0};
  ssize_t n = recv(cfd, line, sizeof line - 1, 0);
  if (n <= 0)
    return;
  line[strcspn(line, "\r\n")] = 0;
  if (!strcmp(line, "pass"))
    mode = PASS;
  else if (!strcmp(line, "blackhole"))
    mode = BLACKHOLE;
  else if (!strncmp(line, "delay ", 6))
    mode = DELAY, delay_ms = atoll(line + 6);
  else if (!strcmp(line, "reset")) {
    mode = RESET;
    while (nconns > 0)
      drop_conn(0, 1);
  } else {
    dprintf(cfd, "error unknown command\n");
    return;
  }
  dprintf(cfd, "ok %s\n", line);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: faultproxy LISTEN_PORT TARGET_PORT CONTROL_PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int target = atoi(argv[2]);
  int lfd = listen_on(atoi(argv[1])), cfd = listen_on(atoi(argv[3]));
  for (;;) {
    struct pollfd p[2 + 2 * MAXC];
    int np = 0;
    p[np++] = (struct pollfd){lfd, POLLIN, 0};
    p[np++] = (struct pollfd){cfd, POLLIN, 0};
    for (int i = 0; i < nconns; i++) {
      p[np++] = (struct pollfd){conns[i].a.fd,
                                (short)(POLLIN | (conns[i].a.head ? POLLOUT : 0)), 0};
      p[np++] = (struct pollfd){conns[i].b.fd,
                                (short)(POLLIN | (conns[i].b.head ? POLLOUT : 0)), 0};
    }
    poll(p, (nfds_t)np, mode == DELAY ? 5 : 200);
    if (p[1].revents & POLLIN) {
      int c = accept(cfd, NULL, NULL);
      if (c >= 0) {
        control(c);
        close(c);
      }
    }
    for (int i = nconns - 1; i >= 0; i--) {
      short ra = p[2 + 2 * i].revents, rb = p[3 + 2 * i].revents;
      conn *c = &conns[i];
      char buf[CHUNK];
      int dead = 0;
      if (ra & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = recv(c->a.fd, buf, sizeof buf, 0);
        if (n <= 0)
          dead = 1;
        else if (mode != BLACKHOLE)
          enqueue(&c->b, buf, (size_t)n);
      }
      if (!dead && (rb & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = recv(c->b.fd, buf, sizeof buf, 0);
        if (n <= 0)
          dead = 1;
        else if (mode != BLACKHOLE)
          enqueue(&c->a, buf, (size_t)n);
      }
      if (!dead && (flush_side(&c->a) || flush_side(&c->b)))
        dead = 1;
      if (dead)
        drop_conn(i, 0);
    }
    if (p[0].revents & POLLIN) {
      int a = accept(lfd, NULL, NULL);
      if (a >= 0) {
        int b = (mode == RESET || nconns == MAXC) ? -1 : dial(target);
        if (b < 0) {
          rst_close(a);
        } else {
          fcntl(a, F_SETFL, O_NONBLOCK);
          conns[nconns++] = (conn){{a, NULL, NULL}, {b, NULL, NULL}};
        }
      }
    }
  }
}
