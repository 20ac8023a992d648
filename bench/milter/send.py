#!/usr/bin/python3
"""send.py HOST PORT COUNT CONCURRENCY MESSAGE: sends COUNT copies of the
MESSAGE file over SMTP from CONCURRENCY threads, one SMTP session per
message (connect, MAIL, RCPT, DATA, QUIT, as smtp-source -s or swaks in a
loop do), and prints one JSON line: messages sent, failures, seconds,
messages per second, and the session latency percentiles in milliseconds."""
import json
import smtplib
import sys
import threading
import time


def main():
    host, port, count, conc, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    with open(path, "rb") as f:
        message = f.read()
    latencies, failures, lock = [], [0], threading.Lock()
    left = [count]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            start = time.monotonic()
            try:
                with smtplib.SMTP(host, port, timeout=60) as s:
                    s.sendmail("sender@dkimtest.example", ["rcpt@bench.invalid"], message)
                ok = True
            except (smtplib.SMTPException, OSError):
                ok = False
            took = (time.monotonic() - start) * 1000
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    failures[0] += 1

    begin = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - begin
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))], 1) if latencies else None

    print(json.dumps({"sent": len(latencies), "failed": failures[0], "seconds": round(seconds, 2),
                      "msgs_per_s": round(len(latencies) / seconds, 1) if seconds else None,
                      "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": pct(100)}))


if __name__ == "__main__":
    main()
