#!/usr/bin/python3
"""smtp-auth.py starttls|tls HOST PORT CAFILE USER PASSWORD

Logs in with AUTH PLAIN, after STARTTLS (submission) or over TLS from the
first byte (submissions), verifying the server's chain against CAFILE.
Exit 0: the server accepted the login (235); 1: it refused it (535 and
other 5xx replies to AUTH); 2: no login was possible (no AUTH offered, no
TLS, connection failed). The reply or the error is printed."""
import smtplib
import ssl
import sys


def main():
    mode, host, port, cafile, user, password = sys.argv[1:7]
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # loopback address; the chain is verified
    try:
        if mode == "tls":
            smtp = smtplib.SMTP_SSL(host, int(port), context=context, timeout=30)
        else:
            smtp = smtplib.SMTP(host, int(port), timeout=30)
            smtp.starttls(context=context)
        with smtp:
            smtp.ehlo("client.example.test")
            if not smtp.has_extn("auth"):
                print("no AUTH offered after TLS")
                return 2
            smtp.user, smtp.password = user, password
            code, reply = smtp.auth("PLAIN", smtp.auth_plain)
            print(code, reply.decode(errors="replace"))
            return 0
    except smtplib.SMTPAuthenticationError as e:
        print(e.smtp_code, e.smtp_error.decode(errors="replace"))
        return 1
    except (OSError, smtplib.SMTPException) as e:
        print(type(e).__name__, e)
        return 2


sys.exit(main())
