/* What the two delaying relays, dnsdelay.c and tcpdelay.c, share: the
 * loop's stop flag, set by SIGTERM and SIGINT, the monotonic clock in
 * microseconds and an address on 127.0.0.1 (both are loopback only, by
 * design). Each includes it (single-file tools: `cc -O2 dnsdelay.c`). */
#ifndef BENCH_DELAY_H
#define BENCH_DELAY_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

/* SIGTERM and SIGINT end the relay's loop (stop), so it prints its totals. */
static void stop_on_signals(void)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

#endif
