/*
 * v1load: a fan-out load generator for Parley's parley.v1 WebSocket protocol.
 *
 * N receivers and 1 sender connect to ws://127.0.0.1:PORT/ws, offering the subprotocol
 * parley.v1 and one bearer token (all connections are sessions of one user). Each waits for
 * "welcome", sends "resume" and waits for "resumed" (and, for a room other than lobby,
 * creates or joins it). Once every connection is ready and --settle has passed, the sender
 * posts "send" commands whose text is "seq=<n> ts=<CLOCK_MONOTONIC ns> xxx...". Every member
 * connection receives each message as an "event"; receivers record the latency (receipt
 * minus ts) and a bitmap of the seqs seen (duplicates, reordering, losses).
 *
 * One thread, epoll, non-blocking sockets, libc only. SHA-1 and base64 are implemented here.
 * The last line of stdout is a JSON object (see README.md).
 *
 *     cc -O2 -Wall -Wextra -o v1load v1load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MAX_HTTP_HEAD (16 * 1024)  /* largest 101 response head accepted */
#define MAX_MESSAGE (16u << 20)    /* largest server message accepted */
#define READ_CHUNK (256 * 1024)    /* bytes read per recv() */
#define MAX_EVENTS 1024
#define TIMER_ID UINT64_MAX        /* epoll id of the rate-mode timerfd */
#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ------------------------------------------------------------------ configuration */

static struct {
    struct in_addr addr;
    char host[64];
    int port;
    const char *path, *token, *room;
    long receivers, msgs; /* msgs 0: not given */
    long size, window;
    double rate, duration; /* 0: not given */
    long settle_ms, drain_ms, timeout_s, concurrency, connect_timeout_ms;
    int quiet;
} cfg = {.port = 8080, .path = "/ws", .room = "lobby", .receivers = 100, .size = 100,
         .window = 16, .settle_ms = 1000, .drain_ms = 5000, .timeout_s = 60,
         .concurrency = 200, .connect_timeout_ms = 10000};

/* ------------------------------------------------------------------ small helpers */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf_t;

typedef struct { /* a growable array of latency samples, in microseconds */
    uint32_t *v;
    size_t n, cap;
} samples_t;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("v1load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die("out of memory (%zu bytes)", n);
    return q;
}

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2; /* at most ~64 doublings */
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(buf_t *b, const void *d, size_t n) {
    if (!n) return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_free(buf_t *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void sample_add(samples_t *s, int64_t ns) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    int64_t us = ns < 0 ? 0 : ns / 1000;
    s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t rng_state; /* xorshift64*: mask keys, handshake keys, run id, pivots */

static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* The k-th smallest (0-based) of a[0..n), by quickselect with a three-way partition (many
 * samples are equal). Reorders a. Each pass shrinks [lo, hi) or returns. */
static uint32_t kth(uint32_t *a, size_t n, size_t k) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t p = a[lo + rnd() % (hi - lo)], t;
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < p) { t = a[i]; a[i++] = a[lt]; a[lt++] = t; }
            else if (a[i] > p) { t = a[i]; a[i] = a[--gt]; a[gt] = t; }
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return p;
    }
    return a[k];
}

/* Nearest-rank percentile in ms (0 when there are no samples). */
static double pct_ms(samples_t *s, int pct) {
    if (s->n == 0) return 0;
    size_t rank = (s->n * (size_t)pct + 99) / 100; /* ceil(pct/100 * n), >= 1 */
    return kth(s->v, s->n, rank - 1) / 1000.0;
}

static double max_ms(const samples_t *s) {
    uint32_t m = 0;
    for (size_t i = 0; i < s->n; i++) if (s->v[i] > m) m = s->v[i];
    return m / 1000.0;
}

/* ------------------------------------------------------------------ SHA-1 and base64 */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void sha1(const void *data, size_t n, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha1_block(h, p + i);
    unsigned char tail[128] = {0}; /* the rest, 0x80, zeros, the bit length (big-endian) */
    size_t r = n - i, tl = r + 9 <= 64 ? 64 : 128;
    memcpy(tail, p + i, r);
    tail[r] = 0x80;
    for (int j = 0; j < 8; j++) tail[tl - 1 - j] = (unsigned char)(((uint64_t)n * 8) >> (8 * j));
    sha1_block(h, tail);
    if (tl == 128) sha1_block(h, tail + 64);
    for (int j = 0; j < 20; j++) out[j] = (unsigned char)(h[j / 4] >> (24 - 8 * (j % 4)));
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = 0;
}

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 characters. */
static void accept_for(const char *key, char out[29]) {
    char cat[128];
    unsigned char d[20];
    int n = snprintf(cat, sizeof cat, "%s%s", key, GUID);
    sha1(cat, (size_t)n, d);
    base64(d, 20, out);
}

/* ------------------------------------------------------------------ state */

enum state { S_IDLE, S_CONNECTING, S_HTTP, S_WELCOME, S_RESUME, S_JOIN, S_READY, S_CLOSED };

typedef struct {
    int fd, want_out, frag_op, member; /* member: the welcome says we are in --room */
    long idx; /* idx == cfg.receivers: the sender */
    enum state st;
    int64_t t_open;
    char key[32]; /* the Sec-WebSocket-Key sent */
    buf_t in;     /* bytes of an incomplete frame (or response head), kept between reads */
    buf_t out;    /* bytes not written yet */
    buf_t frag;   /* a fragmented message being put back together */
    uint64_t *bits; /* seqs received */
    size_t words;
    int64_t max_seq;
} conn_t;

static struct {
    long opened, failed, connect_errors, handshake_errors, handshake_timeouts, ready,
        ready_receivers, dropped, server_closes, protocol_errors, pings, other_frames, errors,
        foreign;
    uint64_t sent, received, dup, reordered, sender_received, sender_dup;
    int64_t t_start, t_ready, t_first_send, t_last_send, t_last_delivery, t_progress;
    int timed_out, interrupted, drained;
    char first_error[300];
} st;

static conn_t *conns;
static long nconns, setup_inflight;
static int epfd = -1, timer_fd = -1, sending_done;
static buf_t scratch; /* where recv() writes, after the connection's carried bytes */
static samples_t lat, sender_lat, hs_lat;
static samples_t lag;     /* per read with deliveries: kernel arrival -> our recvmsg() */
static samples_t arr_lat; /* receivers: ts in the text -> kernel arrival of the read's data */
static int64_t rt_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC, for the kernel's timestamps */
static int64_t arrived;   /* kernel arrival (monotonic) of the newest segment read; 0: unknown */
static char run_id[17]; /* makes every cid unique: the server dedups cids per user for good */
static volatile sig_atomic_t stop_signal;

static void record_error(const char *fmt, ...) {
    if (st.first_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.first_error, sizeof st.first_error, fmt, ap);
    va_end(ap);
}

static int is_sender(const conn_t *c) { return c->idx == cfg.receivers; }

/* ------------------------------------------------------------------ connections */

static void set_out_interest(conn_t *c, int want) {
    if (c->want_out == want) return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = (uint64_t)c->idx};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

/* Ends a connection: a failure while setting up, a drop once ready. counter: the cause. */
static void conn_end(conn_t *c, long *counter, const char *fmt, ...) {
    if (c->st == S_CLOSED) return;
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    record_error("conn %ld: %s", c->idx, msg);
    if (counter) (*counter)++;
    if (c->st == S_READY) st.dropped++;
    else { st.failed++; setup_inflight--; }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->st = S_CLOSED;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->frag);
    if (is_sender(c)) sending_done = 1;
}

/* Writes what is pending; 0, or -1 when the connection ended. */
static int conn_flush(conn_t *c) {
    size_t off = 0;
    while (off < c->out.len) { /* each pass writes bytes, or leaves */
        ssize_t w = send(c->fd, c->out.p + off, c->out.len - off, MSG_NOSIGNAL);
        if (w > 0) { off += (size_t)w; continue; }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (w < 0 && errno == EINTR) continue;
        conn_end(c, NULL, "send: %s", w < 0 ? strerror(errno) : "wrote nothing");
        return -1;
    }
    memmove(c->out.p, c->out.p + off, c->out.len - off);
    c->out.len -= off;
    set_out_interest(c, c->out.len > 0);
    return 0;
}

/* Appends one final, masked client frame (RFC 6455 5.2) to c->out. */
static void ws_frame(conn_t *c, int op, const void *data, size_t n) {
    unsigned char h[14], mk[4];
    size_t hl = 0;
    h[hl++] = (unsigned char)(0x80 | op);
    int ext = n < 126 ? 0 : n < 65536 ? 2 : 8; /* bytes of extended length */
    h[hl++] = (unsigned char)(0x80 | (ext == 0 ? n : ext == 2 ? 126 : 127));
    for (int i = ext - 1; i >= 0; i--) h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
    uint32_t m = (uint32_t)rnd();
    memcpy(mk, &m, 4);
    buf_reserve(&c->out, hl + 4 + n);
    unsigned char *dst = c->out.p + c->out.len;
    memcpy(dst, h, hl);
    memcpy(dst + hl, mk, 4);
    dst += hl + 4;
    const unsigned char *src = data;
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ mk[i & 3];
    c->out.len += hl + 4 + n;
}

static void ws_text(conn_t *c, const char *s) { ws_frame(c, 0x1, s, strlen(s)); }

static void conn_open(conn_t *c) {
    setup_inflight++;
    c->t_open = now_ns();
    c->max_seq = -1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { conn_end(c, &st.connect_errors, "socket: %s", strerror(errno)); return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* arrival times */
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port), .sin_addr = cfg.addr};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        conn_end(c, &st.connect_errors, "connect: %s", strerror(errno));
        return;
    }
    c->st = S_CONNECTING;
    c->want_out = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)c->idx};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    unsigned char raw[16];
    for (int i = 0; i < 16; i += 8) { uint64_t r = rnd(); memcpy(raw + i, &r, 8); }
    base64(raw, 16, c->key);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Protocol: parley.v1\r\nAuthorization: Bearer %s\r\n\r\n",
                     cfg.path, cfg.host, cfg.port, c->key, cfg.token);
    buf_add(&c->out, req, (size_t)n);
}

static void conn_ready(conn_t *c) {
    c->st = S_READY;
    setup_inflight--;
    st.ready++;
    if (!is_sender(c)) st.ready_receivers++;
}

/* ------------------------------------------------------------------ the 101 response */

/* Copies a header value into a NUL-terminated buffer (truncated), without spaces around. */
static void header_value(const char *v, const char *end, char *out, size_t cap) {
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(out, v, n);
    out[n] = 0;
}

/* Checks the response head in p[0..n). Returns its length, 0 when incomplete, -1 when the
 * connection ended (refused or invalid). */
static long on_http(conn_t *c, const char *p, size_t n) {
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end) {
        if (n <= MAX_HTTP_HEAD) return 0;
        conn_end(c, &st.handshake_errors, "response head over 16 KiB");
        return -1;
    }
    const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    if (eol - p < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
        const char *body = end + 4;
        int blen = (int)(n - (size_t)(body - p)) > 120 ? 120 : (int)(n - (size_t)(body - p));
        conn_end(c, &st.handshake_errors, "handshake refused: %.*s %.*s", (int)(eol - p), p, blen, body);
        return -1;
    }
    char expect[29], val[256];
    accept_for(c->key, expect);
    int up = 0, co = 0, acc = 0, proto = 0, ext = 0;
    for (const char *line = eol + 2; line < end + 2;) { /* one header line per pass */
        const char *le = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (colon) {
            header_value(colon + 1, le, val, sizeof val);
            size_t nl = (size_t)(colon - line);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(line, name, nl) == 0)
            if (IS("upgrade")) up = strcasecmp(val, "websocket") == 0;
            else if (IS("connection")) co = strcasestr(val, "upgrade") != NULL;
            else if (IS("sec-websocket-accept")) acc = strcmp(val, expect) == 0;
            else if (IS("sec-websocket-protocol")) proto = strcmp(val, "parley.v1") == 0;
            else if (IS("sec-websocket-extensions")) ext = 1;
#undef IS
        }
        line = le + 2;
    }
    const char *bad = !up ? "no Upgrade: websocket" : !co ? "no Connection: upgrade"
                    : !acc ? "wrong Sec-WebSocket-Accept" : !proto ? "subprotocol parley.v1 not echoed"
                    : ext ? "an extension that was not offered" : NULL;
    if (bad) { conn_end(c, &st.handshake_errors, "bad 101: %s", bad); return -1; }
    st.opened++;
    sample_add(&hs_lat, now_ns() - c->t_open);
    c->st = S_WELCOME;
    return (long)(end + 4 - p);
}

/* ------------------------------------------------------------------ messages */

/* Parses decimal digits at *p (< end); 0 when there are none. */
static int parse_u64(const unsigned char **p, const unsigned char *end, uint64_t *out) {
    const unsigned char *q = *p;
    uint64_t v = 0;
    int digits = 0;
    for (; q < end && *q >= '0' && *q <= '9' && digits < 19; q++, digits++) v = v * 10 + (*q - '0');
    *p = q;
    *out = v;
    return digits > 0;
}

/* A message event of ours: s points at "seq=". */
static void on_delivery(conn_t *c, const unsigned char *s, const unsigned char *end, int64_t t) {
    const unsigned char *q = s + 4;
    uint64_t seq, ts;
    if (!parse_u64(&q, end, &seq) || end - q < 4 || memcmp(q, " ts=", 4) != 0) { st.foreign++; return; }
    q += 4;
    if (!parse_u64(&q, end, &ts) || seq >= st.sent || (int64_t)ts > t) { st.foreign++; return; }
    size_t w = (size_t)(seq >> 6);
    if (w >= c->words) {
        size_t nw = c->words ? c->words * 2 : 256;
        if (nw <= w) nw = w + 1;
        c->bits = xrealloc(c->bits, nw * sizeof *c->bits);
        memset(c->bits + c->words, 0, (nw - c->words) * sizeof *c->bits);
        c->words = nw;
    }
    uint64_t bit = 1ULL << (seq & 63);
    int sender = is_sender(c);
    if (c->bits[w] & bit) { if (sender) st.sender_dup++; else st.dup++; return; }
    c->bits[w] |= bit;
    st.t_progress = t;
    if (sender) {
        st.sender_received++;
        sample_add(&sender_lat, t - (int64_t)ts);
        return;
    }
    if ((int64_t)seq < c->max_seq) st.reordered++;
    else c->max_seq = (int64_t)seq;
    st.received++;
    st.t_last_delivery = t;
    sample_add(&lat, t - (int64_t)ts);
    if (arrived) sample_add(&arr_lat, arrived - (int64_t)ts);
}

#define HAS(lit) (memmem(p, n, lit, sizeof(lit) - 1) != NULL)

/* Whether a welcome lists --room with "member":true. Room objects hold no nested object,
 * so the room's fields end at the next '}'. Names are compared without regard to case. */
static int welcome_member(const unsigned char *p, size_t n) {
    char key[64];
    size_t kl = (size_t)snprintf(key, sizeof key, "\"name\":\"%s\"", cfg.room);
    for (size_t i = 0; i + kl <= n; i++) { /* bounded by n */
        if (strncasecmp((const char *)p + i, key, kl) != 0) continue;
        const unsigned char *end = memchr(p + i, '}', n - i);
        size_t span = end ? (size_t)(end - (p + i)) : n - i;
        return memmem(p + i, span, "\"member\":true", 13) != NULL;
    }
    return 0;
}

/* The first "seq=" in p[0..n). Found by its '=', which is rare in the server's JSON: memchr
 * is several times faster than memmem, and this runs for every delivery. */
static const unsigned char *find_seq(const unsigned char *p, size_t n) {
    const unsigned char *end = p + n, *q = p + 3;
    while (n >= 4 && q < end && (q = memchr(q, '=', (size_t)(end - q))) != NULL) { /* q grows */
        if (memcmp(q - 3, "seq", 3) == 0) return q - 3;
        q++;
    }
    return NULL;
}

/* One complete text message. Returns -1 when the connection ended. */
static int on_message(conn_t *c, const unsigned char *p, size_t n, int64_t t) {
    if (c->st == S_READY) {
        const unsigned char *s = find_seq(p, n);
        if (s) { on_delivery(c, s, p + n, t); return 0; }
    }
    if (HAS("\"type\":\"error\"")) {
        if (c->st == S_JOIN && HAS("\"re\":\"c\"") && HAS("\"conflict\"")) { st.other_frames++; return 0; }
        st.errors++;
        if (c->st != S_READY) {
            conn_end(c, &st.handshake_errors, "error during setup: %.*s", (int)(n > 160 ? 160 : n), p);
            return -1;
        }
        record_error("conn %ld: %.*s", c->idx, (int)(n > 200 ? 200 : n), p);
        return 0;
    }
    st.other_frames++;
    if (c->st == S_WELCOME && HAS("\"type\":\"welcome\"")) {
        c->member = strcasecmp(cfg.room, "lobby") == 0 || welcome_member(p, n);
        ws_text(c, "{\"type\":\"resume\",\"id\":\"r\",\"rooms\":{}}");
        c->st = S_RESUME;
    } else if (c->st == S_RESUME && HAS("\"type\":\"resumed\"")) {
        if (c->member) { conn_ready(c); return 0; }
        /* Create the room (a conflict when it exists is fine), then join it. Only the sender,
         * which connects alone first, should get here: a join, even a no-op one, sends a
         * "room" notice to every other connection of the user. */
        char cmd[160];
        snprintf(cmd, sizeof cmd, "{\"type\":\"create\",\"id\":\"c\",\"room\":\"%s\"}", cfg.room);
        ws_text(c, cmd);
        snprintf(cmd, sizeof cmd, "{\"type\":\"join\",\"id\":\"j\",\"room\":\"%s\"}", cfg.room);
        ws_text(c, cmd);
        c->st = S_JOIN;
    } else if (c->st == S_JOIN && HAS("\"type\":\"ok\"") && HAS("\"re\":\"j\"")) {
        conn_ready(c);
    }
    return 0;
}

/* Parses the frames in p[0..n). Returns the bytes used (a partial frame is left), -1 when
 * the connection ended. */
static long on_frames(conn_t *c, const unsigned char *p, size_t n, int64_t t) {
    size_t off = 0;
    while (n - off >= 2) { /* one frame per pass; off only grows */
        const unsigned char *f = p + off;
        int fin = f[0] & 0x80, op = f[0] & 0x0f;
        uint64_t len = f[1] & 0x7f;
        size_t hl = 2;
        const char *bad = NULL;
        if (len == 126) {
            if (n - off < 4) break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (n - off < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i];
            hl = 10;
        }
        if (f[0] & 0x70) bad = "reserved bits set";
        else if (f[1] & 0x80) bad = "masked server frame";
        else if (len > MAX_MESSAGE) bad = "frame too large";
        else if (op >= 0x8 && (!fin || len > 125)) bad = "bad control frame";
        else if (op == 0x0 && !c->frag_op) bad = "continuation without a start";
        else if ((op == 0x1 || op == 0x2) && c->frag_op) bad = "new message inside a fragmented one";
        else if ((op > 0x2 && op < 0x8) || op > 0xA) bad = "unknown opcode";
        if (bad) { st.protocol_errors++; conn_end(c, NULL, "protocol error: %s", bad); return -1; }
        if (n - off - hl < len) break;
        const unsigned char *pl = f + hl;
        off += hl + (size_t)len;
        if (op == 0x9) { /* ping: pong with the same payload */
            st.pings++;
            ws_frame(c, 0xA, pl, (size_t)len);
            if (conn_flush(c) < 0) return -1;
        } else if (op == 0x8) { /* close: answer with the same code, then hang up */
            unsigned code = len >= 2 ? (unsigned)pl[0] << 8 | pl[1] : 1005;
            st.server_closes++;
            ws_frame(c, 0x8, pl, len >= 2 ? 2 : 0);
            send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT); /* best effort */
            conn_end(c, NULL, "closed by the server: %u %.*s", code, (int)(len > 2 ? len - 2 : 0), pl + 2);
            return -1;
        } else if (op == 0xA) {
            /* unsolicited pong: nothing to do */
        } else if (!fin || op == 0x0) { /* a fragment */
            if (op != 0x0) c->frag_op = op;
            if (c->frag.len + len > MAX_MESSAGE) {
                st.protocol_errors++;
                conn_end(c, NULL, "protocol error: message too large");
                return -1;
            }
            buf_add(&c->frag, pl, (size_t)len);
            if (fin) {
                int text = c->frag_op == 0x1;
                c->frag_op = 0;
                if (text && on_message(c, c->frag.p, c->frag.len, t) < 0) return -1;
                if (!text) st.other_frames++;
                c->frag.len = 0;
            }
        } else if (op == 0x1) {
            if (on_message(c, pl, (size_t)len, t) < 0) return -1;
        } else {
            st.other_frames++; /* binary: parley.v1 never sends it */
        }
    }
    if (c->out.len && conn_flush(c) < 0) return -1; /* replies to welcome, resumed */
    return (long)off;
}

/* Moves c's carried bytes to the start of scratch, with room for a read after them. */
static size_t stage(conn_t *c) {
    scratch.len = 0;
    buf_reserve(&scratch, c->in.len + READ_CHUNK);
    if (c->in.len) memcpy(scratch.p, c->in.p, c->in.len);
    return c->in.len;
}

/* Parses scratch[0..n) for c and carries what is left over. */
static void parse_input(conn_t *c, size_t n, int64_t t) {
    size_t off = 0;
    if (c->st == S_HTTP) {
        long h = on_http(c, (const char *)scratch.p, n);
        if (h < 0) return;
        if (h == 0) { c->in.len = 0; buf_add(&c->in, scratch.p, n); return; }
        off = (size_t)h;
    }
    long used = on_frames(c, scratch.p + off, n - off, t);
    if (used < 0) return;
    off += (size_t)used;
    c->in.len = 0;
    buf_add(&c->in, scratch.p + off, n - off);
}

static void on_event(conn_t *c, uint32_t events) {
    if (c->st == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { conn_end(c, &st.connect_errors, "connect: %s", strerror(err)); return; }
        c->st = S_HTTP;
    }
    if ((events & EPOLLOUT) && conn_flush(c) < 0) return;
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    size_t carry = stage(c);
    struct iovec iov = {.iov_base = scratch.p + carry, .iov_len = scratch.cap - carry};
    union { char buf[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    ssize_t r = recvmsg(c->fd, &mh, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (r <= 0) {
        conn_end(c, r == 0 && c->st != S_READY ? &st.handshake_errors : NULL,
                 "%s", r == 0 ? "connection closed without a close frame" : strerror(errno));
        return;
    }
    int64_t t = now_ns();
    arrived = 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); /* the arrival of the newest segment read */
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        arrived = (int64_t)ts.tv_sec * NS + ts.tv_nsec - rt_offset;
    }
    uint64_t before = st.received + st.sender_received;
    parse_input(c, carry + (size_t)r, t);
    if (arrived && st.received + st.sender_received > before) sample_add(&lag, t - arrived);
}

/* ------------------------------------------------------------------ the sender */

static long planned(void) { /* messages to send; 0: until -d runs out (window mode) */
    if (cfg.msgs) return cfg.msgs;
    if (cfg.rate > 0) return (long)(cfg.rate * cfg.duration);
    return 0;
}

/* Sends what the window or the schedule allows, in one write. */
static void pump(int64_t t) {
    conn_t *s = &conns[cfg.receivers];
    if (sending_done) return;
    if (s->st != S_READY) { sending_done = 1; return; }
    uint64_t target, plan = (uint64_t)planned();
    int64_t t0 = st.t_first_send ? st.t_first_send : t;
    if (cfg.rate > 0) target = (uint64_t)((double)(t - t0) * cfg.rate / 1e9) + 1;
    else if (!cfg.msgs && t - t0 >= (int64_t)(cfg.duration * 1e9)) { sending_done = 1; return; }
    else target = st.sender_received + (uint64_t)cfg.window;
    if (plan && target > plan) target = plan;
    static char *msg;
    size_t cap = (size_t)cfg.size + 256;
    if (!msg) msg = xrealloc(NULL, cap);
    int head = snprintf(msg, cap, "{\"type\":\"send\",\"room\":\"%s\",\"text\":\"", cfg.room);
    for (; st.sent < target; st.sent++) { /* bounded by target */
        int64_t now = now_ns();
        if (!st.t_first_send) st.t_first_send = t0 = now;
        int n = head + snprintf(msg + head, cap - (size_t)head, "seq=%" PRIu64 " ts=%" PRId64 " ",
                                st.sent, now);
        if (n - head < cfg.size) { /* pad the text with x to -s bytes */
            memset(msg + n, 'x', (size_t)(cfg.size - (n - head)));
            n = head + (int)cfg.size;
        }
        n += snprintf(msg + n, cap - (size_t)n, "\",\"cid\":\"%s-%" PRIu64 "\"}", run_id, st.sent);
        ws_frame(s, 0x1, msg, (size_t)n);
        st.t_last_send = st.t_progress = now;
    }
    if (s->out.len) conn_flush(s);
    if (plan && st.sent >= plan) sending_done = 1;
    if (cfg.rate > 0 && !sending_done) { /* wake up when the next message is due */
        int64_t due = t0 + (int64_t)((double)st.sent * 1e9 / cfg.rate);
        struct itimerspec its = {.it_value = {.tv_sec = due / NS, .tv_nsec = due % NS}};
        timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    }
}

/* ------------------------------------------------------------------ report */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void report(double cpu_total, double cpu_phase, int64_t t_send_start, int64_t t_end) {
    uint64_t expected = (uint64_t)st.ready_receivers * st.sent;
    double wall = (double)(t_end - st.t_start) / 1e9;
    int64_t t0 = st.t_first_send;
    double span = st.t_last_delivery > t0 ? (double)(st.t_last_delivery - t0) / 1e9 : 0;
    double send_span = st.t_last_send > t0 ? (double)(st.t_last_send - t0) / 1e9 : 0;
    double phase = t_send_start ? (double)(t_end - t_send_start) / 1e9 : 0;
    double dps = span > 0 ? (double)st.received / span : 0;
    double p50 = pct_ms(&lat, 50), p90 = pct_ms(&lat, 90), p99 = pct_ms(&lat, 99), mx = max_ms(&lat);
    double s50 = pct_ms(&sender_lat, 50), s99 = pct_ms(&sender_lat, 99);
    double g50 = pct_ms(&lag, 50), g99 = pct_ms(&lag, 99), gmax = max_ms(&lag);
    double a50 = pct_ms(&arr_lat, 50), a90 = pct_ms(&arr_lat, 90), a99 = pct_ms(&arr_lat, 99);
    double amax = max_ms(&arr_lat);
    double h50 = pct_ms(&hs_lat, 50), h99 = pct_ms(&hs_lat, 99);
    double open_all = st.t_ready ? (double)(st.t_ready - st.t_start) / 1e9 : 0;
    printf("v1load fanout-v1: %ld receivers + 1 sender on %s:%d%s, room %s, %ld-byte texts\n",
           cfg.receivers, cfg.host, cfg.port, cfg.path, cfg.room, cfg.size);
    printf("  connections: %ld ready, %ld failed, %ld dropped, open_all %.2f s"
           " (101 p50 %.2f ms, p99 %.2f ms)\n",
           st.ready, st.failed, st.dropped, open_all, h50, h99);
    printf("  sent %" PRIu64 " (%s), received %" PRIu64 "/%" PRIu64 ", missing %" PRIu64 ", dup %" PRIu64
           ", reordered %" PRIu64 ", sender got %" PRIu64 "\n",
           st.sent, cfg.rate > 0 ? "rate" : "window", st.received, expected, expected - st.received, st.dup,
           st.reordered, st.sender_received);
    printf("  %.0f deliveries/s over %.3f s; latency ms p50 %.3f p90 %.3f p99 %.3f max %.3f\n", dps, span,
           p50, p90, p99, mx);
    printf("  to kernel arrival ms p50 %.3f p90 %.3f p99 %.3f max %.3f; waiting in our sockets"
           " (arrival -> read) p50 %.3f p99 %.3f max %.3f\n", a50, a90, a99, amax, g50, g99, gmax);
    printf("  client CPU %.2f s = %.1f%% of %.2f s wall (%.1f%% while sending); errors %ld,"
           " protocol errors %ld, other frames %ld%s%s\n",
           cpu_total, wall > 0 ? 100 * cpu_total / wall : 0, wall, phase > 0 ? 100 * cpu_phase / phase : 0,
           st.errors, st.protocol_errors, st.other_frames,
           st.timed_out ? ", TIMED OUT" : st.interrupted ? ", INTERRUPTED" : "",
           st.drained ? ", stopped by --drain" : "");
    if (st.first_error[0]) printf("  first error: %s\n", st.first_error);
    printf("{\"mode\":\"fanout-v1\",\"host\":\"%s\",\"port\":%d,\"path\":", cfg.host, cfg.port);
    json_str(cfg.path);
    printf(",\"run_id\":\"%s\",\"room\":\"%s\",\"size\":%ld,\"conns\":%ld,\"receivers\":%ld"
           ",\"receivers_ready\":%ld",
           run_id, cfg.room, cfg.size, nconns, cfg.receivers, st.ready_receivers);
    printf(",\"msgs_planned\":%ld,\"msgs_sent\":%" PRIu64 ",\"window\":%ld,\"rate\":%g", planned(), st.sent,
           cfg.rate > 0 ? 0 : cfg.window, cfg.rate);
    printf(",\"expected\":%" PRIu64 ",\"received\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"dup\":%" PRIu64
           ",\"reordered\":%" PRIu64 ",\"foreign\":%ld",
           expected, st.received, expected - st.received, st.dup, st.reordered, st.foreign);
    printf(",\"sender_expected\":%" PRIu64 ",\"sender_received\":%" PRIu64 ",\"sender_lost\":%" PRIu64
           ",\"sender_dup\":%" PRIu64,
           st.sent, st.sender_received, st.sent - st.sender_received, st.sender_dup);
    printf(",\"deliveries_per_s\":%.1f,\"span_s\":%.4f,\"send_span_s\":%.4f", dps, span, send_span);
    printf(",\"lat_ms_p50\":%.3f,\"lat_ms_p90\":%.3f,\"lat_ms_p99\":%.3f,\"lat_ms_max\":%.3f",
           p50, p90, p99, mx);
    printf(",\"sender_lat_ms_p50\":%.3f,\"sender_lat_ms_p99\":%.3f", s50, s99);
    printf(",\"arrival_lat_ms_p50\":%.3f,\"arrival_lat_ms_p90\":%.3f,\"arrival_lat_ms_p99\":%.3f"
           ",\"arrival_lat_ms_max\":%.3f", a50, a90, a99, amax);
    printf(",\"client_lag_ms_p50\":%.3f,\"client_lag_ms_p99\":%.3f,\"client_lag_ms_max\":%.3f",
           g50, g99, gmax);
    printf(",\"opened\":%ld,\"ready\":%ld,\"failed\":%ld,\"connect_errors\":%ld,\"handshake_errors\":%ld"
           ",\"handshake_timeouts\":%ld,\"dropped\":%ld,\"server_closes\":%ld",
           st.opened, st.ready, st.failed, st.connect_errors, st.handshake_errors, st.handshake_timeouts,
           st.dropped, st.server_closes);
    printf(",\"protocol_errors\":%ld,\"pings\":%ld,\"other_frames\":%ld,\"errors\":%ld", st.protocol_errors,
           st.pings, st.other_frames, st.errors);
    printf(",\"open_all_s\":%.3f,\"hs_ms_p50\":%.3f,\"hs_ms_p99\":%.3f", open_all, h50, h99);
    printf(",\"timed_out\":%s,\"interrupted\":%s,\"drained\":%s,\"wall_s\":%.3f,\"client_cpu_s\":%.3f"
           ",\"client_cpu_pct\":%.1f,\"send_phase_s\":%.3f,\"send_phase_cpu_pct\":%.1f,\"first_error\":",
           st.timed_out ? "true" : "false", st.interrupted ? "true" : "false",
           st.drained ? "true" : "false", wall, cpu_total, wall > 0 ? 100 * cpu_total / wall : 0, phase,
           phase > 0 ? 100 * cpu_phase / phase : 0);
    if (st.first_error[0]) json_str(st.first_error);
    else fputs("null", stdout);
    puts("}");
    fflush(stdout);
}

/* ------------------------------------------------------------------ self-test */

/* Appends an unmasked server frame. */
static void server_frame(buf_t *b, int fin, int op, const char *s, size_t n) {
    unsigned char h[10];
    size_t hl = 0;
    h[hl++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n < 126) h[hl++] = (unsigned char)n;
    else if (n < 65536) { h[hl++] = 126; h[hl++] = (unsigned char)(n >> 8); h[hl++] = (unsigned char)n; }
    else { h[hl++] = 127; for (int i = 7; i >= 0; i--) h[hl++] = (unsigned char)((uint64_t)n >> (8 * i)); }
    buf_add(b, h, hl);
    buf_add(b, s, n);
}

static int selftest(void) {
    int fails = 0;
    struct { const char *in; const char *hex; } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", /* two padding blocks */
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char d[20];
        char hex[41];
        sha1(v[i].in, strlen(v[i].in), d);
        for (int j = 0; j < 20; j++) sprintf(hex + 2 * j, "%02x", d[j]);
        if (strcmp(hex, v[i].hex)) { printf("FAIL sha1(\"%s\") = %s\n", v[i].in, hex); fails++; }
    }
    char *million = xrealloc(NULL, 1000000), acc[29], hex[41];
    unsigned char d[20];
    memset(million, 'a', 1000000);
    sha1(million, 1000000, d);
    free(million);
    for (int j = 0; j < 20; j++) sprintf(hex + 2 * j, "%02x", d[j]);
    if (strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f")) {
        printf("FAIL sha1(a x 1e6)\n");
        fails++;
    }
    accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc); /* RFC 6455 section 1.3 */
    if (strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) { printf("FAIL accept %s\n", acc); fails++; }
    /* percentiles against a sort */
    samples_t s = {0};
    size_t counts[5000] = {0}; /* the expected answers, by counting */
    for (int i = 0; i < 100001; i++) sample_add(&s, (int64_t)(rnd() % 5000) * 1000000);
    for (size_t i = 0; i < s.n; i++) counts[s.v[i] / 1000]++;
    int pcts[] = {50, 90, 99, 100};
    for (int k = 0; k < 4; k++) {
        size_t rank = (s.n * (size_t)pcts[k] + 99) / 100, seen = 0, want = 0;
        for (size_t b = 0; b < 5000; b++) { seen += counts[b]; if (seen >= rank) { want = b; break; } }
        double got = pct_ms(&s, pcts[k]);
        if (got != (double)want) { printf("FAIL p%d %.3f != %zu\n", pcts[k], got, want); fails++; }
    }
    free(s.v);
    /* frames: 7-, 16- and 64-bit lengths, a fragmented message, fed in odd-sized chunks */
    conn_t fake[2] = {{.fd = -1, .idx = 0, .st = S_READY, .max_seq = -1},
                      {.fd = -1, .idx = 1, .st = S_READY}};
    conns = fake;
    cfg.receivers = 1;
    st.sent = 10;
    buf_t in = {0};
    char text[70000];
    int64_t t = now_ns();
    int sizes[] = {20, 300, 66000};
    for (int i = 0; i < 3; i++) {
        int n = snprintf(text, sizeof text, "{\"type\":\"event\",\"text\":\"seq=%d ts=%" PRId64 " ", i, t);
        memset(text + n, 'x', (size_t)sizes[i]);
        n += sizes[i];
        n += snprintf(text + n, sizeof text - (size_t)n, "\"}");
        server_frame(&in, 1, 0x1, text, (size_t)n);
    }
    int n = snprintf(text, sizeof text, "{\"type\":\"event\",\"text\":\"seq=5 ts=%" PRId64 " xx\"}", t);
    server_frame(&in, 0, 0x1, text, 10);
    server_frame(&in, 0, 0x0, text + 10, 5);
    server_frame(&in, 1, 0x0, text + 15, (size_t)n - 15);
    server_frame(&in, 1, 0x1, text, (size_t)n);               /* a duplicate */
    server_frame(&in, 1, 0x1, "{\"type\":\"ack\"}", 14);        /* another frame */
    n = snprintf(text, sizeof text, "{\"text\":\"seq=4 ts=%" PRId64 "\"}", t);
    server_frame(&in, 1, 0x1, text, (size_t)n);               /* out of order */
    for (size_t off = 0, chunk = 1; off < in.len; off += chunk, chunk = chunk * 3 % 7919 + 1) {
        if (chunk > in.len - off) chunk = in.len - off;
        size_t carry = stage(&fake[0]);
        memcpy(scratch.p + carry, in.p + off, chunk);
        parse_input(&fake[0], carry + chunk, t + 1000);
    }
    if (st.received != 5 || st.dup != 1 || st.reordered != 1 || st.other_frames != 1 ||
        st.protocol_errors ||
        fake[0].st != S_READY || fake[0].in.len) {
        printf("FAIL frames: received %" PRIu64 " dup %" PRIu64 " reordered %" PRIu64 " other %ld\n",
               st.received, st.dup, st.reordered, st.other_frames);
        fails++;
    }
    buf_free(&in);
    printf("selftest: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fputs("usage: v1load --token T [-p PORT] [--host 127.0.0.1] [--path /ws] [--room lobby]\n"
          "              [-n RECEIVERS (100)] [-m MSGS] [-d SECONDS] [-s BYTES (100)]\n"
          "              [-w WINDOW (16) | --rate MSGS_PER_S] [--settle MS (1000)] [--drain MS (5000)]\n"
          "              [--timeout S (60)] [--connect-concurrency K (200)]\n"
          "              [--connect-timeout MS (10000)]\n"
          "              [--quiet] | --selftest\n", stderr);
    exit(2);
}

static long num(const char *s, long lo, long hi, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) die("%s must be an integer from %ld to %ld", what, lo, hi);
    return v;
}

static void parse_args(int argc, char **argv) {
    enum { O_HOST = 256, O_PATH, O_TOKEN, O_ROOM, O_RATE, O_SETTLE, O_DRAIN, O_TIMEOUT, O_CONC,
           O_CTO, O_QUIET, O_SELF };
    static const struct option opts[] = {
        {"port", 1, 0, 'p'}, {"host", 1, 0, O_HOST}, {"path", 1, 0, O_PATH}, {"token", 1, 0, O_TOKEN},
        {"room", 1, 0, O_ROOM}, {"receivers", 1, 0, 'n'}, {"msgs", 1, 0, 'm'}, {"duration", 1, 0, 'd'},
        {"size", 1, 0, 's'}, {"window", 1, 0, 'w'}, {"rate", 1, 0, O_RATE}, {"settle", 1, 0, O_SETTLE},
        {"drain", 1, 0, O_DRAIN}, {"timeout", 1, 0, O_TIMEOUT}, {"connect-concurrency", 1, 0, O_CONC},
        {"connect-timeout", 1, 0, O_CTO}, {"quiet", 0, 0, O_QUIET}, {"selftest", 0, 0, O_SELF},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    const char *host = "127.0.0.1";
    char *end;
    while ((o = getopt_long(argc, argv, "p:n:m:d:s:w:h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': cfg.port = (int)num(optarg, 1, 65535, "--port"); break;
        case 'n': cfg.receivers = num(optarg, 0, 1000000, "-n"); break;
        case 'm': cfg.msgs = num(optarg, 1, 1000000000, "-m"); break;
        case 's': cfg.size = num(optarg, 1, 1000000, "-s"); break;
        case 'w': cfg.window = num(optarg, 1, 1000000, "-w"); break;
        case 'd':
            cfg.duration = strtod(optarg, &end);
            if (*end || !(cfg.duration > 0 && cfg.duration < 1e6)) die("-d must be positive seconds");
            break;
        case O_RATE:
            cfg.rate = strtod(optarg, &end);
            if (*end || !(cfg.rate > 0 && cfg.rate < 1e8)) die("--rate must be a positive number");
            break;
        case O_HOST: host = optarg; break;
        case O_PATH: cfg.path = optarg; break;
        case O_TOKEN: cfg.token = optarg; break;
        case O_ROOM: cfg.room = optarg; break;
        case O_SETTLE: cfg.settle_ms = num(optarg, 0, 3600000, "--settle"); break;
        case O_DRAIN: cfg.drain_ms = num(optarg, 1, 3600000, "--drain"); break;
        case O_TIMEOUT: cfg.timeout_s = num(optarg, 1, 86400, "--timeout"); break;
        case O_CONC: cfg.concurrency = num(optarg, 1, 1000000, "--connect-concurrency"); break;
        case O_CTO: cfg.connect_timeout_ms = num(optarg, 1, 3600000, "--connect-timeout"); break;
        case O_QUIET: cfg.quiet = 1; break;
        case O_SELF: exit(selftest());
        default: usage();
        }
    }
    if (optind != argc) usage();
    if (!cfg.token) die("--token is required");
    /* loopback only: 127.x.x.x or localhost */
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &cfg.addr) != 1 || (ntohl(cfg.addr.s_addr) >> 24) != 127)
        die("refusing host '%s': only 127.x.x.x or localhost", host);
    snprintf(cfg.host, sizeof cfg.host, "%s", host);
    /* no escaping is needed below: check what goes into headers and JSON */
    size_t tl = strlen(cfg.token);
    if (tl < 1 || tl > 512) die("--token must have 1 to 512 characters");
    for (size_t i = 0; i < tl; i++)
        if (!isgraph((unsigned char)cfg.token[i])) die("--token has a bad character");
    size_t rl = strlen(cfg.room);
    if (rl < 1 || rl > 40 || !isalnum((unsigned char)cfg.room[0])) die("--room: 1 to 40 of [A-Za-z0-9_-]");
    for (size_t i = 0; i < rl; i++)
        if (!isalnum((unsigned char)cfg.room[i]) && cfg.room[i] != '_' && cfg.room[i] != '-')
            die("--room: bad name");
    if (cfg.path[0] != '/' || strlen(cfg.path) > 200) die("--path must start with /");
    for (const char *q = cfg.path; *q; q++)
        if (!isgraph((unsigned char)*q)) die("--path has a bad character");
    if (cfg.rate > 0 && !cfg.msgs && !cfg.duration) die("--rate needs -m or -d");
    if (!cfg.msgs && !cfg.duration) cfg.msgs = 1000;
    if (cfg.rate > 0 && planned() < 1) die("--rate x -d is less than one message");
}

static void on_signal(int sig) { stop_signal = sig; }

int main(int argc, char **argv) {
    st.t_start = now_ns(); /* wall time and getrusage both count from the start */
    if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state)
        rng_state = (uint64_t)now_ns() ^ (uint64_t)getpid();
    rng_state |= 1;
    struct timespec rt, mono; /* CLOCK_REALTIME - CLOCK_MONOTONIC, read back to back */
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    rt_offset = ((int64_t)rt.tv_sec - mono.tv_sec) * NS + (rt.tv_nsec - mono.tv_nsec);
    parse_args(argc, argv);
    snprintf(run_id, sizeof run_id, "%016" PRIx64, rnd());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    nconns = cfg.receivers + 1;
    conns = xrealloc(NULL, (size_t)nconns * sizeof *conns);
    memset(conns, 0, (size_t)nconns * sizeof *conns);
    for (long i = 0; i < nconns; i++) { conns[i].idx = i; conns[i].fd = -1; }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    if (cfg.rate > 0) {
        timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_ID};
        if (timer_fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, timer_fd, &ev) < 0)
            die("timerfd: %s", strerror(errno));
    }
    enum { P_SETUP, P_SETTLE, P_SEND } phase = P_SETUP;
    struct epoll_event evs[MAX_EVENTS];
    long next_open = 0;
    int64_t t_send_start = 0, last_scan = 0;
    double cpu_send_start = 0;
    int fatal = 0;
    int64_t deadline = st.t_start + cfg.timeout_s * NS;
    for (;;) { /* ends on completion, --drain, --timeout, a signal, or a failed sender */
        int64_t t = now_ns();
        if (t >= deadline) { st.timed_out = 1; break; }
        if (stop_signal) { st.interrupted = 1; break; }
        /* the sender first, alone (it joins --room for everyone), then the receivers */
        conn_t *snd = &conns[cfg.receivers];
        if (next_open == 0) { conn_open(snd); next_open = 1; }
        if (snd->st == S_CLOSED) next_open = nconns; /* no sender: open nothing more */
        while (next_open < nconns && snd->st == S_READY && setup_inflight < cfg.concurrency)
            conn_open(&conns[next_open++ - 1]); /* receivers 0 .. N-1 */
        if (setup_inflight > 0 && t - last_scan > 100 * 1000000LL) { /* handshake timeouts */
            last_scan = t;
            for (long i = 0; i < nconns; i++) {
                conn_t *c = &conns[i];
                if (c->st > S_IDLE && c->st < S_READY && t - c->t_open > cfg.connect_timeout_ms * 1000000LL)
                    conn_end(c, &st.handshake_timeouts, "not ready after %ld ms", cfg.connect_timeout_ms);
            }
        }
        if (phase == P_SETUP && next_open == nconns && setup_inflight == 0) {
            st.t_ready = t;
            if (!cfg.quiet)
                fprintf(stderr, "v1load: %ld/%ld ready in %.2f s\n", st.ready, nconns,
                        (double)(t - st.t_start) / 1e9);
            if (conns[cfg.receivers].st != S_READY) { fatal = 1; break; }
            phase = P_SETTLE;
        }
        if (phase == P_SETTLE && t - st.t_ready >= cfg.settle_ms * 1000000LL) {
            phase = P_SEND;
            t_send_start = st.t_progress = t;
            cpu_send_start = cpu_s();
        }
        if (phase == P_SEND) {
            pump(t);
            uint64_t expected = (uint64_t)st.ready_receivers * st.sent;
            if (sending_done && st.sender_received == st.sent && st.received == expected) break;
            if (now_ns() - st.t_progress > cfg.drain_ms * 1000000LL) { st.drained = 1; break; }
        }
        int n = epoll_wait(epfd, evs, MAX_EVENTS, 50);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == TIMER_ID) {
                uint64_t expirations;
                if (read(timer_fd, &expirations, sizeof expirations) < 0) { /* spurious: pump decides */ }
                continue;
            }
            conn_t *c = &conns[evs[i].data.u64];
            if (c->st != S_CLOSED && c->fd >= 0) on_event(c, evs[i].events);
        }
    }
    int64_t t_end = now_ns();
    double cpu_end = cpu_s();
    for (long i = 0; i < nconns; i++) { /* best-effort close frames, then hang up */
        conn_t *c = &conns[i];
        if (c->fd < 0) continue;
        c->out.len = 0;
        ws_frame(c, 0x8, "\x03\xe8", 2);
        send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(c->fd);
    }
    report(cpu_end, t_send_start ? cpu_end - cpu_send_start : 0, t_send_start, t_end);
    if (fatal) fprintf(stderr, "v1load: the sender did not get ready: %s\n", st.first_error);
    return st.timed_out || st.interrupted ? 3 : fatal ? 1 : 0;
}
