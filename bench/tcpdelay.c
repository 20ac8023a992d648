/* tcpdelay: a TCP relay that holds every piece of data DELAY_MS in each
 * direction, so that servers on loopback answer as if they were a network
 * away (a round trip of twice DELAY_MS). It measures how much of a tool's
 * work on many ports overlaps when waiting, not CPU, sets the pace.
 *
 *   tcpdelay DELAY_MS LISTEN_PORT:TARGET_PORT...
 *
 * Listens on 127.0.0.1:LISTEN_PORT for each pair, connects each accepted
 * client to 127.0.0.1:TARGET_PORT, and passes bytes and the end of the
 * stream on in order, each DELAY_MS after it arrived. Prints the number of
 * connections relayed on SIGTERM/SIGINT. Loopback only, by design; one
 * thread, poll. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
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

#include "delay.h"

enum { MAX_LISTEN = 16, MAX_RELAYS = 512, CHUNK = 16384 };

/* Bytes read from one side, to be written to the other when due; len 0
 * is the end of the stream. */
typedef struct chunk {
    struct chunk *next;
    long long due_us;
    size_t len;
    unsigned char data[];
} chunk;

/* One direction of a relay: reads from `from`, holds, writes to `to`. */
typedef struct direction {
    int from, to;
    int read_done;   /* end of stream or error seen on `from` */
    int write_done;  /* the end was passed on */
    chunk *head, *tail;
} direction;

typedef struct relay {
    int in_use;
    direction dir[2]; /* 0: client to server, 1: server to client */
} relay;

static int listen_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = loopback(port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0) {
        perror("tcpdelay: listen");
        exit(2);
    }
    return fd;
}

/* Small writes go out at once: the relay's own timing, not Nagle's. */
static void no_delay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void enqueue(direction *d, const unsigned char *data, size_t len, long long due_us)
{
    chunk *c = malloc(sizeof *c + len);
    if (c == NULL) {
        perror("tcpdelay: malloc");
        exit(2);
    }
    c->next = NULL;
    c->due_us = due_us;
    c->len = len;
    memcpy(c->data, data, len);
    if (d->tail)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
}

static void relay_close(relay *r)
{
    for (int i = 0; i < 2; i++) {
        while (r->dir[i].head) {
            chunk *c = r->dir[i].head;
            r->dir[i].head = c->next;
            free(c);
        }
    }
    close(r->dir[0].from);
    close(r->dir[0].to);
    memset(r, 0, sizeof *r);
}

/* Writes what is due; the loopback buffers take a handshake whole, so a
 * blocking write is fine here. */
static void flush_due(relay *r, long long t)
{
    for (int i = 0; i < 2; i++) {
        direction *d = &r->dir[i];
        while (d->head && d->head->due_us <= t) {
            chunk *c = d->head;
            if (c->len == 0) {
                shutdown(d->to, SHUT_WR);
                d->write_done = 1;
            } else if (write(d->to, c->data, c->len) != (ssize_t)c->len) {
                d->write_done = d->read_done = 1; /* the peer is gone */
            }
            d->head = c->next;
            if (d->head == NULL)
                d->tail = NULL;
            free(c);
        }
    }
    if (r->dir[0].write_done && r->dir[1].write_done)
        relay_close(r);
}

static void accept_one(int listen_fd, int target_port, relay *relays, unsigned long *count)
{
    int client = accept(listen_fd, NULL, NULL);
    if (client < 0)
        return;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(target_port);
    relay *r = NULL;
    for (int i = 0; i < MAX_RELAYS && r == NULL; i++)
        if (!relays[i].in_use)
            r = &relays[i];
    if (r == NULL || server < 0 || connect(server, (struct sockaddr *)&a, sizeof a) != 0) {
        close(client);
        if (server >= 0)
            close(server);
        return;
    }
    no_delay(client);
    no_delay(server);
    r->in_use = 1;
    r->dir[0] = (direction){.from = client, .to = server};
    r->dir[1] = (direction){.from = server, .to = client};
    (*count)++;
}

static void read_one(direction *d, long long delay_us)
{
    static unsigned char buf[CHUNK];
    ssize_t n = read(d->from, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        d->read_done = 1;
        n = 0; /* passes the end on, in its turn */
    }
    enqueue(d, buf, (size_t)n, now_us() + delay_us);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tcpdelay DELAY_MS LISTEN_PORT:TARGET_PORT...\n");
        return 2;
    }
    long long delay_us = atoll(argv[1]) * 1000;
    int listen_fd[MAX_LISTEN], target[MAX_LISTEN], listeners = 0;
    for (int i = 2; i < argc && listeners < MAX_LISTEN; i++) {
        int from, to;
        if (sscanf(argv[i], "%d:%d", &from, &to) != 2) {
            fprintf(stderr, "tcpdelay: %s: expected LISTEN_PORT:TARGET_PORT\n", argv[i]);
            return 2;
        }
        listen_fd[listeners] = listen_loopback(from);
        target[listeners++] = to;
    }
    stop_on_signals();
    signal(SIGPIPE, SIG_IGN);

    static relay relays[MAX_RELAYS];
    static struct pollfd fds[MAX_LISTEN + 2 * MAX_RELAYS];
    static direction *owner[MAX_LISTEN + 2 * MAX_RELAYS];
    unsigned long count = 0;
    while (!stop) {
        long long t = now_us(), wait_us = 50000;
        int n = 0;
        for (int i = 0; i < listeners; i++)
            fds[n++] = (struct pollfd){listen_fd[i], POLLIN, 0};
        for (int i = 0; i < MAX_RELAYS; i++) {
            if (!relays[i].in_use)
                continue;
            flush_due(&relays[i], t);
            for (int k = 0; relays[i].in_use && k < 2; k++) {
                direction *d = &relays[i].dir[k];
                if (d->head && d->head->due_us - t < wait_us)
                    wait_us = d->head->due_us - t;
                if (!d->read_done) {
                    owner[n] = d;
                    fds[n++] = (struct pollfd){d->from, POLLIN, 0};
                }
            }
        }
        if (poll(fds, (nfds_t)n, (int)((wait_us + 999) / 1000)) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (i < listeners)
                accept_one(fds[i].fd, target[i], relays, &count);
            else
                read_one(owner[i], delay_us);
        }
    }
    printf("tcpdelay: %lu connections\n", count);
    return 0;
}
