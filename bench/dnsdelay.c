/* dnsdelay: a UDP DNS relay that holds every answer for a fixed time, to
 * measure how much of a tool's DNS work happens in parallel.
 *
 *   dnsdelay LISTEN_PORT UPSTREAM_PORT DELAY_MS
 *
 * Listens on 127.0.0.1:LISTEN_PORT, forwards each query to
 * 127.0.0.1:UPSTREAM_PORT, and sends the answer back DELAY_MS after the
 * query arrived. Prints one line per query as it arrives, "query MS NAME"
 * (MS: the monotonic clock in milliseconds, NAME: the question's name), so
 * a benchmark can count a run's queries and see their rounds; prints the
 * total on SIGTERM/SIGINT. Loopback only, by design. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "delay.h"

enum { MAX_PENDING = 4096, MAX_MSG = 65535 };

typedef struct pending {
    int in_use;
    uint16_t our_id, their_id;
    struct sockaddr_in client;
    long long due_ms;         /* when the answer may go out */
    unsigned char *answer;    /* held until due */
    size_t answer_len;
} pending;

static long long now_ms(void) { return now_us() / 1000; }

/* The question's name of the query in pkt, dotted, into out ("?" when the
 * packet holds none we can read: compression pointers are not expected in a
 * question). */
static void question_name(const unsigned char *pkt, size_t len, char *out, size_t size)
{
    size_t pos = 12, o = 0;
    while (pos < len && pkt[pos] != 0 && pkt[pos] <= 63 && pos + 1 + pkt[pos] <= len) {
        for (size_t i = 1; i <= pkt[pos] && o + 2 < size; i++) {
            unsigned char ch = pkt[pos + i];
            out[o++] = ch > 32 && ch < 127 ? (char)ch : '?';
        }
        if (o + 2 < size)
            out[o++] = '.';
        pos += 1 + pkt[pos];
    }
    if (o == 0)
        out[o++] = '?';
    out[o] = '\0';
}

static int bind_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("dnsdelay: bind");
        exit(2);
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dnsdelay LISTEN_PORT UPSTREAM_PORT DELAY_MS\n");
        return 2;
    }
    int listen_port = atoi(argv[1]), upstream_port = atoi(argv[2]);
    long long delay = atoll(argv[3]);
    stop_on_signals();
    int client_fd = bind_loopback(listen_port);
    int upstream_fd = bind_loopback(0);
    struct sockaddr_in upstream = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
    upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    static pending table[MAX_PENDING];
    static unsigned char buf[MAX_MSG];
    uint16_t next_id = 1;
    unsigned long queries = 0;
    while (!stop) {
        long long t = now_ms(), wait = 50;
        for (int i = 0; i < MAX_PENDING; i++) {
            pending *p = &table[i];
            if (!p->in_use || p->answer == NULL)
                continue;
            if (p->due_ms <= t) {
                sendto(client_fd, p->answer, p->answer_len, 0, (struct sockaddr *)&p->client,
                       sizeof p->client);
                free(p->answer);
                memset(p, 0, sizeof *p);
            } else if (p->due_ms - t < wait) {
                wait = p->due_ms - t;
            }
        }
        struct pollfd fds[2] = {{client_fd, POLLIN, 0}, {upstream_fd, POLLIN, 0}};
        if (poll(fds, 2, (int)wait) < 0 && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(client_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
            int slot = next_id % MAX_PENDING;
            if (n >= 12 && !table[slot].in_use) {
                pending *p = &table[slot];
                p->in_use = 1;
                p->their_id = (uint16_t)(buf[0] << 8 | buf[1]);
                p->our_id = next_id;
                p->client = from;
                p->due_ms = now_ms() + delay;
                buf[0] = (unsigned char)(next_id >> 8);
                buf[1] = (unsigned char)next_id;
                sendto(upstream_fd, buf, (size_t)n, 0, (struct sockaddr *)&upstream, sizeof upstream);
                queries++;
                char name[256];
                question_name(buf, (size_t)n, name, sizeof name);
                printf("query %lld %s\n", now_ms(), name);
                fflush(stdout);
            }
            next_id++;
        }
        if (fds[1].revents & POLLIN) {
            ssize_t n = recv(upstream_fd, buf, sizeof buf, 0);
            if (n >= 12) {
                uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
                pending *p = &table[id % MAX_PENDING];
                if (p->in_use && p->our_id == id && p->answer == NULL &&
                    (p->answer = malloc((size_t)n)) != NULL) {
                    buf[0] = (unsigned char)(p->their_id >> 8);
                    buf[1] = (unsigned char)p->their_id;
                    memcpy(p->answer, buf, (size_t)n);
                    p->answer_len = (size_t)n;
                }
            }
        }
    }
    printf("dnsdelay: %lu queries\n", queries);
    return 0;
}
