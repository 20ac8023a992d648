#!/usr/bin/python3
"""mail.py: the messages of the milter's test bed, and what arrived.

  mail.py make CASE FROM [HEADER: VALUE]... > MESSAGE
      a message (CRLF line ends) from FROM to inbox@rcpt.example, with an
      X-Case: CASE field to find it again and the extra fields given
  mail.py mutate body|subject|footer < SIGNED > CHANGED
      what a mailing list or a broken relay does after signing
  mail.py find MAILDIR CASE
      the file of the delivered message with X-Case: CASE, or nothing
  mail.py fields FILE NAME
      every field NAME of the message, unfolded, one per line
  mail.py sessions SERVER PORT CLIENT-IP MAIL-FROM COUNT PID < MESSAGE
      COUNT SMTP sessions at once, each sending MESSAGE and left open; once
      every message is answered, prints "accepted A threads T": the
      sessions whose message was accepted, and the threads of process PID
      (the milter) while they all are still open
"""
import email.parser
import email.policy
import os
import smtplib
import sys


def make(case, sender, extra):
    lines = [
        "From: Test Sender <%s>" % sender,
        "To: <inbox@rcpt.example>",
        "Subject: milter bed case %s" % case,
        "Date: Mon, 07 Dec 2026 00:00:00 +0000",
        "Message-ID: <%s.%d@milterbed.example>" % (case, os.getpid()),
        "X-Case: %s" % case,
    ]
    lines += extra
    body = ["Hello,", "", "this is the %s case of the milter bed." % case, "-- ", "the tests"]
    sys.stdout.buffer.write(("\r\n".join(lines + [""] + body) + "\r\n").encode())


def mutate(kind):
    data = sys.stdin.buffer.read()
    head, _, body = data.partition(b"\r\n\r\n")
    if kind == "body":
        body = body.replace(b"this is", b"THIS WAS", 1)
    elif kind == "subject":
        head = head.replace(b"Subject: milter bed case", b"Subject: changed case", 1)
    elif kind == "footer":
        body += b"-- \r\nlist footer: unsubscribe at lists.mlists.example\r\n"
    sys.stdout.buffer.write(head + b"\r\n\r\n" + body)


def find(maildir, case):
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                head = f.read().split(b"\n\n", 1)[0]
            for line in head.split(b"\n"):
                if line.rstrip(b"\r") == b"X-Case: " + case.encode():
                    print(path)
                    return


def fields(path, name):
    with open(path, "rb") as f:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parse(f, headersonly=True)
    for value in msg.get_all(name, []):
        print(" ".join(str(value).split()))


def threads_of(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def sessions(server, port, client_ip, sender, count, pid):
    message = sys.stdin.buffer.read()
    opened = []
    accepted = 0
    try:
        for _ in range(count):
            smtp = smtplib.SMTP(server, port, timeout=60, source_address=(client_ip, 0))
            opened.append(smtp)
            smtp.ehlo("client.sessions.example")
        for smtp in opened:
            try:
                smtp.sendmail(sender, ["inbox@rcpt.example"], message)
                accepted += 1
            except smtplib.SMTPException:
                pass
        print("accepted %d threads %d" % (accepted, threads_of(pid)))
    finally:
        for smtp in opened:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "mutate":
        mutate(sys.argv[2])
    elif cmd == "find":
        find(sys.argv[2], sys.argv[3])
    elif cmd == "fields":
        fields(sys.argv[2], sys.argv[3])
    elif cmd == "sessions":
        sessions(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7])
    else:
        sys.exit("mail.py: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
