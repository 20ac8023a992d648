/* The mail that carries an aggregate report (RFC 9990 section 5 / RFC
 * 7489 section 7.2.1.1): its composition, and its hand-over to the local
 * sendmail or to an SMTP server through libcurl (loaded on first use). */
#include "report/send_internal.h"
#include "core/lazy_curl.h"
#include "core/lazy_openssl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long sendmail or the SMTP server may take to accept one report. */
enum { SEND_TIMEOUT_MS = 300 * 1000, SEND_CONNECT_TIMEOUT_S = 30 };

/* RFC 5322 date-time in UTC, without the locale strftime would follow. */
void report_send_append_date(ms_buf *out, int64_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    ms_buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void append_utc_day(ms_buf *out, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    ms_buf_printf(out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* FNV-1a: a short, stable tag of the destination for the Message-ID, so
 * each destination's copy has its own and a resend has the same. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void append_base64_lines(ms_buf *out, const unsigned char *data, size_t len)
{
    unsigned char line[80];
    for (size_t i = 0; i < len; i += 57) {
        int n = EVP_EncodeBlock(line, data + i, (int)(len - i < 57 ? len - i : 57));
        ms_buf_append(out, (const char *)line, (size_t)n);
        ms_buf_puts(out, "\r\n");
    }
}

/* Text of the operator's (the organisation's name) on one line: control
 * characters dropped, so it cannot end the line or the part. */
void report_send_append_one_line(ms_buf *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p >= 0x20 && *p != 0x7F)
            ms_buf_append(out, (const char *)p, 1);
}

void report_send_mail_compose(const report_send_mail *m, ms_buf *out)
{
    static const char boundary[] = "=_mailsec_aggregate_report";
    ms_buf_printf(out, "From: %s\r\nTo: %s\r\nDate: ", m->from, m->to);
    report_send_append_date(out, m->date);
    ms_buf_printf(out, "\r\nMessage-ID: <%s.%016llx@%s>\r\n", m->report_id,
                  (unsigned long long)fnv1a(m->to), m->receiver);
    ms_buf_printf(out, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n",
                  m->policy_domain, m->receiver, m->report_id);
    ms_buf_printf(out, "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                       "This is a DMARC aggregate report (RFC 9990) in MIME format.\r\n\r\n"
                       "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n\r\n"
                       "DMARC aggregate report from ",
                  boundary, boundary);
    report_send_append_one_line(out, m->org_name);
    ms_buf_printf(out, " for %s, ", m->policy_domain);
    append_utc_day(out, m->begin);
    ms_buf_printf(out, " (UTC).\r\nReport-ID: %s\r\n\r\n", m->report_id);
    ms_buf_printf(out, "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
                       "Content-Disposition: attachment; filename=\"%s\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n",
                  boundary, m->file_name, m->file_name);
    append_base64_lines(out, m->gz, m->gz_len);
    ms_buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* ---- sendmail ----------------------------------------------------------- */

/* Writes the message to the pipe within the deadline. SIGPIPE (sendmail
 * gone) is blocked for this thread and dropped after: the library does not
 * change the process's signal handling. */
static int write_all(int fd, const char *data, size_t len, int64_t deadline)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int ok = 1;
    while (ok && len > 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int64_t left = deadline - ms_monotonic_ms();
        if (left <= 0 || poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
            ok = left > 0 && errno == EINTR;
            continue;
        }
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            ok = 0;
        } else if (n > 0) {
            data += n;
            len -= (size_t)n;
        }
    }
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/* The child's exit status, waiting until the deadline, then killed. */
static int wait_child(pid_t pid, int64_t deadline, int *timed_out)
{
    int status = 0;
    *timed_out = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return status;
        if (ms_monotonic_ms() >= deadline) {
            *timed_out = 1;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return status;
        }
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

ms_status report_send_sendmail(const char *path, const char *from, const ms_buf *message,
                               char **why)
{
    *why = NULL;
    int fds[2];
    /* close-on-exec: other children of the process do not hold the pipe
     * open (the child's stdin is a dup2, without the flag) */
    if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        *why = ms_asprintf("pipe: %s", strerror(errno));
        return MS_ERR_IO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *why = ms_asprintf("fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return MS_ERR_IO;
    }
    if (pid == 0) {
        /* recipients from To: (-t), a lone "." is not the end (-oi), the
         * envelope sender is the reporting address (-f) */
        if (dup2(fds[0], 0) < 0)
            _exit(127);
        /* sendmail starts with no signal blocked, whatever the calling
         * thread blocks (the milter's report sender blocks them all) */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(path, path, "-oi", "-t", "-f", from, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    int64_t deadline = ms_monotonic_ms() + SEND_TIMEOUT_MS;
    int wrote = write_all(fds[1], message->data, message->len, deadline);
    close(fds[1]);
    int timed_out;
    int status = wait_child(pid, deadline, &timed_out);
    if (timed_out)
        *why = ms_asprintf("%s did not finish within %d s", path, SEND_TIMEOUT_MS / 1000);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        *why = ms_asprintf("%s could not be run", path);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        *why = ms_asprintf("%s failed (%s %d)", path, WIFEXITED(status) ? "exit status" : "signal",
                           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else if (!wrote)
        *why = ms_asprintf("%s did not read the whole message", path);
    return *why == NULL ? MS_OK : MS_ERR_IO;
}

/* ---- SMTP --------------------------------------------------------------- */

typedef struct upload {
    const ms_buf *message;
    size_t sent;
} upload;

static size_t read_message(char *buf, size_t size, size_t nitems, void *arg)
{
    upload *u = arg;
    size_t left = u->message->len - u->sent, n = size * nitems < left ? size * nitems : left;
    memcpy(buf, u->message->data + u->sent, n);
    u->sent += n;
    return n;
}

ms_status report_send_smtp(const char *smtp, const char *from, const char *to,
                           const ms_buf *message, char **why)
{
    *why = NULL;
    if (ms_lazy_load(&ms_curl_lib) != MS_OK) {
        *why = ms_strdup(ms_lazy_error(&ms_curl_lib));
        return MS_ERR_IO;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    char *url = ms_asprintf("smtp://%s", smtp);
    char *mail_from = ms_asprintf("<%s>", from), *rcpt = ms_asprintf("<%s>", to);
    struct curl_slist *rcpts = rcpt ? curl_slist_append(NULL, rcpt) : NULL;
    upload u = {message, 0};
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (h != NULL && url != NULL && mail_from != NULL && rcpts != NULL) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
        curl_easy_setopt(h, CURLOPT_READDATA, &u);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)SEND_CONNECT_TIMEOUT_S);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)SEND_TIMEOUT_MS);
        rc = curl_easy_perform(h);
    }
    if (rc != CURLE_OK)
        *why = ms_asprintf("SMTP to %s: %s", smtp, curl_easy_strerror(rc));
    curl_slist_free_all(rcpts);
    if (h != NULL)
        curl_easy_cleanup(h);
    curl_global_cleanup();
    free(url);
    free(mail_from);
    free(rcpt);
    return rc == CURLE_OK ? MS_OK : MS_ERR_IO;
}
