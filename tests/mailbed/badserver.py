#!/usr/bin/python3
"""A misbehaving mail server for the TLS check's tests (tests/mailbed).

    badserver.py CERTDIR PORTSFILE PIDFILE

Listens on 127.0.0.1, one random free port per behaviour, and writes
"BAD_<NAME>_PORT=N" lines to PORTSFILE once every socket listens. Each
behaviour is one way a server can go wrong (SMTP unless the name says):

  NOSTARTTLS   EHLO lists no STARTTLS
  REFUSE       STARTTLS offered, then answered "454 TLS not available"
  GARBAGE      the greeting is not SMTP at all
  GREET421     "421 ... Service not available" as the greeting
  SILENT       accepts the connection and never says anything
  DROP         accepts the connection and closes it at once
  STALL        STARTTLS accepted, then the TLS handshake is never answered
  INJECT       answers, inside TLS, commands sent in plain text with
               STARTTLS (the CVE-2011-0411 flaw)
  PLAINTEXT    sends another line right after its STARTTLS reply
  FAKESTARTTLS accepts STARTTLS, then takes the ClientHello for a command
               and answers it in plain text ("500 5.5.2 Error: bad syntax")
  IMAPINJECT   an IMAP server with the same flaw as INJECT
  POP3NOSTLS   a POP3 server whose CAPA lists no STLS
  SIEVEINJECT  a ManageSieve server with the INJECT flaw, which (like older
               servers) does not repeat its capabilities after STARTTLS
  LEGACY       TLS at once (like 465), but only TLS 1.0 and 1.1, preferring
               NULL-SHA (no encryption) with static RSA key exchange
  ALERT        TLS at once, every ClientHello refused with a handshake_failure
               alert (as a server with no certificate for the name)

Replies without end, each sent as fast as the client reads until it goes
away (the bounds of a reply, docs/tls.md):

  ENDLESS220   a greeting of "220-" continuation lines that never ends
  ENDLESSLINE  a greeting that is one line never ended: "220 xxxx..."
  IMAPENDLESS  an IMAP server answering CAPABILITY with untagged "* " lines
               that never end
  POP3ENDLESS  a POP3 server whose CAPA list never ends
  SIEVEENDLESS a ManageSieve greeting of capability lines that never ends
  DRIP         "220 " and then one byte every 100 ms, never a line end

The TLS certificate is the cert module's good ECDSA chain from CERTDIR.
"""
import os
import warnings
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"


def lines(conn, buf):
    """Yields (line, buf) as lines arrive; buf holds what is still unread."""
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.rstrip(b"\r").decode("latin-1"), buf
        data = conn.recv(4096)
        if not data:
            return
        buf += data


def smtp_session(conn, tls_ctx, behaviour):
    send = conn.sendall
    if behaviour == "GARBAGE":
        send(b"HTTP/1.1 400 Bad Request\r\nServer: not-smtp\r\n\r\n")
        return
    if behaviour == "GREET421":
        send(b"421 4.3.2 bad.example Service not available, closing channel\r\n")
        return
    send(b"220 bad.example ESMTP badserver\r\n")
    buf = b""
    gen = lines(conn, buf)
    for line, buf in gen:
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            if behaviour == "NOSTARTTLS":
                send(b"250-bad.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            else:
                send(b"250-bad.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        elif verb == "STARTTLS":
            if behaviour == "REFUSE":
                send(b"454 4.7.0 TLS not available due to local problem\r\n")
                continue
            if behaviour == "FAKESTARTTLS":
                send(b"220 2.0.0 Ready to start TLS\r\n")
                conn.recv(4096)
                send(b"500 5.5.2 Error: bad syntax\r\n")
                time.sleep(2)  # closing at once could reset the connection before it is read
                return
            if behaviour == "PLAINTEXT":
                send(b"220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected plain text\r\n")
            else:
                send(b"220 2.0.0 Ready to start TLS\r\n")
            if behaviour == "STALL":
                time.sleep(60)
                return
            tls = tls_ctx.wrap_socket(conn, server_side=True)
            # The flaw: keep what was read before the handshake and answer it.
            pending = buf if behaviour == "INJECT" else b""
            return smtp_in_tls(tls, pending)
        elif verb == "QUIT":
            send(b"221 2.0.0 Bye\r\n")
            return
        elif verb == "NOOP":
            send(b"250 2.0.0 Ok\r\n")
        else:
            send(b"502 5.5.2 Error: command not recognized\r\n")


def smtp_in_tls(tls, pending):
    for line, _ in lines(tls, pending):
        verb = line.split(" ", 1)[0].upper()
        if verb == "QUIT":
            tls.sendall(b"221 2.0.0 Bye\r\n")
            tls.close()
            return
        if verb == "NOOP":
            tls.sendall(b"250 2.0.0 Ok\r\n")
        elif verb == "EHLO":
            tls.sendall(b"250-bad.example\r\n250 PIPELINING\r\n")
        else:
            tls.sendall(b"502 5.5.2 Error: command not recognized\r\n")


def imap_session(conn, tls_ctx, behaviour):
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] badserver ready\r\n")
    for line, buf in lines(conn, b""):
        tag, _, rest = line.partition(" ")
        cmd = rest.split(" ", 1)[0].upper()
        if cmd == "CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag.encode() + b" OK done\r\n")
        elif cmd == "STARTTLS":
            conn.sendall(tag.encode() + b" OK Begin TLS negotiation now\r\n")
            tls = tls_ctx.wrap_socket(conn, server_side=True)
            for line2, _ in lines(tls, buf):  # the flaw: buf is kept
                tag2, _, rest2 = line2.partition(" ")
                cmd2 = rest2.split(" ", 1)[0].upper()
                if cmd2 == "LOGOUT":
                    tls.sendall(b"* BYE logging out\r\n" + tag2.encode() + b" OK done\r\n")
                    tls.close()
                    return
                tls.sendall(tag2.encode() + b" OK " + cmd2.encode() + b" done\r\n")
            return
        elif cmd == "LOGOUT":
            conn.sendall(b"* BYE\r\n" + tag.encode() + b" OK done\r\n")
            return
        else:
            conn.sendall(tag.encode() + b" OK done\r\n")


def sieve_session(conn, tls_ctx, behaviour):
    conn.sendall(b'"IMPLEMENTATION" "badserver"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK "ready"\r\n')
    for line, buf in lines(conn, b""):
        if line.upper().startswith("STARTTLS"):
            conn.sendall(b'OK "Begin TLS negotiation now."\r\n')
            tls = tls_ctx.wrap_socket(conn, server_side=True)
            for line2, _ in lines(tls, buf):  # the flaw: buf is kept
                cmd, _, arg = line2.partition(" ")
                if cmd.upper() == "LOGOUT":
                    tls.sendall(b'OK "Logout completed."\r\n')
                    tls.close()
                    return
                if cmd.upper() == "NOOP" and arg:
                    tls.sendall(b"OK (TAG " + arg.encode() + b') "Done"\r\n')
                else:
                    tls.sendall(b'OK "Done"\r\n')
            return
        conn.sendall(b'NO "unknown command"\r\n')


def pop3_session(conn, tls_ctx, behaviour):
    conn.sendall(b"+OK badserver POP3 ready\r\n")
    for line, _ in lines(conn, b""):
        cmd = line.split(" ", 1)[0].upper()
        if cmd == "CAPA":
            conn.sendall(b"+OK Capability list follows\r\nUSER\r\nTOP\r\n.\r\n")
        elif cmd == "QUIT":
            conn.sendall(b"+OK bye\r\n")
            return
        else:
            conn.sendall(b"-ERR unknown command\r\n")


def stream_forever(conn, line):
    """Sends line over and over until the client goes away (sendall fails)."""
    chunk = line * (65536 // len(line))
    while True:
        conn.sendall(chunk)


def read_line(conn):
    """Reads until the end of the client's first command line."""
    buf = b""
    while b"\n" not in buf:
        data = conn.recv(4096)
        if not data:
            raise OSError("client closed")
        buf += data


def endless_session(conn, behaviour):
    if behaviour == "ENDLESS220":
        stream_forever(conn, b"220-bad.example says more and more and more\r\n")
    elif behaviour == "ENDLESSLINE":
        conn.sendall(b"220 ")
        stream_forever(conn, b"x")
    elif behaviour == "IMAPENDLESS":
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] badserver ready\r\n")
        read_line(conn)
        stream_forever(conn, b"* OK and more untagged data\r\n")
    elif behaviour == "POP3ENDLESS":
        conn.sendall(b"+OK badserver POP3 ready\r\n")
        read_line(conn)
        conn.sendall(b"+OK Capability list follows\r\n")
        stream_forever(conn, b"X-MORE\r\n")
    elif behaviour == "SIEVEENDLESS":
        stream_forever(conn, b'"X-MORE" "and more"\r\n')
    elif behaviour == "DRIP":
        conn.sendall(b"220 ")
        while True:
            time.sleep(0.1)
            conn.sendall(b"x")


def serve(sock, behaviour, tls_ctx):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=session, args=(conn, behaviour, tls_ctx), daemon=True).start()


def session(conn, behaviour, tls_ctx):
    try:
        conn.settimeout(120)
        if behaviour == "SILENT":
            time.sleep(60)
        elif behaviour == "DROP":
            pass
        elif behaviour == "IMAPINJECT":
            imap_session(conn, tls_ctx, behaviour)
        elif behaviour == "POP3NOSTLS":
            pop3_session(conn, tls_ctx, behaviour)
        elif behaviour == "SIEVEINJECT":
            sieve_session(conn, tls_ctx, behaviour)
        elif behaviour in ENDLESS:
            endless_session(conn, behaviour)
        elif behaviour == "ALERT":
            ALERT_CTX.wrap_socket(conn, server_side=True)  # raises: the alert was sent
        elif behaviour == "LEGACY":
            tls = LEGACY_CTX.wrap_socket(conn, server_side=True)
            tls.sendall(b"220 legacy.example ESMTP\r\n")
            smtp_in_tls(tls, b"")
        else:
            smtp_session(conn, tls_ctx, behaviour)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


ENDLESS = ["ENDLESS220", "ENDLESSLINE", "IMAPENDLESS", "POP3ENDLESS", "SIEVEENDLESS", "DRIP"]
BEHAVIOURS = ["NOSTARTTLS", "REFUSE", "GARBAGE", "GREET421", "SILENT", "DROP", "STALL",
              "INJECT", "PLAINTEXT", "IMAPINJECT", "POP3NOSTLS", "SIEVEINJECT", "LEGACY",
              "ALERT", "FAKESTARTTLS"] + ENDLESS
LEGACY_CTX = None
ALERT_CTX = None


def legacy_context(certdir):
    """An old server's TLS: 1.0 and 1.1 only, the NULL cipher (no
    encryption at all) first, RSA key exchange. (Debian's OpenSSL 3 has no
    3DES or RC4 left to misconfigure.)"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("NULL-SHA:AES128-SHA:@SECLEVEL=0")
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.load_cert_chain(os.path.join(certdir, "fullchain.pem"),
                        os.path.join(certdir, "leaf-rsa.key"))
    return ctx


def alert_context(certdir):
    """A server that answers every ClientHello with a fatal alert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certdir, "fullchain-ecdsa.pem"),
                        os.path.join(certdir, "leaf-ecdsa.key"))
    ctx.sni_callback = lambda sock, name, context: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    return ctx


def main():
    global LEGACY_CTX, ALERT_CTX
    certdir, portsfile, pidfile = sys.argv[1:4]
    LEGACY_CTX = legacy_context(certdir)
    ALERT_CTX = alert_context(certdir)
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ctx.load_cert_chain(os.path.join(certdir, "fullchain-ecdsa.pem"),
                            os.path.join(certdir, "leaf-ecdsa.key"))
    socks = {}
    for name in BEHAVIOURS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, 0))  # the kernel picks a free port
        s.listen(16)
        socks[name] = s
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    tmp = portsfile + ".tmp"
    with open(tmp, "w") as f:
        for name, s in socks.items():
            f.write("BAD_%s_PORT=%d\n" % (name, s.getsockname()[1]))
    os.rename(tmp, portsfile)
    for name, s in socks.items():
        threading.Thread(target=serve, args=(s, name, tls_ctx), daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
