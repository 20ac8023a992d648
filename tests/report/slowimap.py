#!/usr/bin/env python3
"""A misbehaving IMAPS server for `report fetch` (tests/report/fetch.sh).

    slowimap.py PORTFILE CERT KEY MODE

Listens on 127.0.0.1, on a port the kernel picks and writes to PORTFILE
once listening (so no other process can take it between a check and
the bind), with TLS (CERT: the chain, KEY: its key, made
by the test CA) and speaks just enough IMAP for libcurl: CAPABILITY,
LOGIN, EXAMINE, SELECT, UID SEARCH, UID FETCH. One mailbox with one
message (UID 1, 600 bytes). What it does wrong, by MODE:

    greeting   drips its greeting, 2 bytes a second
    fetch      answers everything at once, then drips the message, 2 bytes
               a second: within curl's old low-speed limit (1 byte/s), so
               only a deadline on the whole FETCH ends it
    search     answers UID SEARCH with UIDs no server can have (0 and 2^32)

Serves connections one after another until killed.
"""
import os
import socket
import ssl
import sys
import threading
import time

PORTFILE, CERT, KEY, MODE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
HEADER = b"From: reports@receiver.example\r\nSubject: slow\r\n\r\n"
MESSAGE = HEADER + b"x" * (598 - len(HEADER)) + b"\r\n"


def drip(conn, data):
    for i in range(0, len(data), 2):
        conn.sendall(data[i:i + 2])
        time.sleep(1)


def answer(conn, tag, command):
    verb = command.split(b" ", 1)[0].upper()
    rest = command[len(verb) + 1:].upper()
    if verb == b"CAPABILITY":
        conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
    elif verb == b"LOGIN":
        conn.sendall(tag + b" OK logged in\r\n")
    elif verb in (b"EXAMINE", b"SELECT"):
        conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag + b" OK done\r\n")
    elif verb == b"UID" and rest.startswith(b"SEARCH"):
        uids = b"0 4294967296" if MODE == "search" else b"1"
        conn.sendall(b"* SEARCH " + uids + b"\r\n" + tag + b" OK done\r\n")
    elif verb == b"UID" and rest.startswith(b"FETCH") and b"BODY" in rest:
        head = b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(MESSAGE)
        conn.sendall(head)
        drip(conn, MESSAGE + b")\r\n" + tag + b" OK done\r\n")
    elif verb == b"UID" and rest.startswith(b"FETCH"):
        conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % len(MESSAGE) + tag + b" OK done\r\n")
    elif verb == b"LOGOUT":
        conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
        return False
    else:
        conn.sendall(tag + b" BAD unknown\r\n")
    return True


def serve(conn):
    try:
        greeting = b"* OK slowimap ready\r\n"
        if MODE == "greeting":
            drip(conn, greeting)
        else:
            conn.sendall(greeting)
        for line in conn.makefile("rb"):
            tag, _, command = line.rstrip(b"\r\n").partition(b" ")
            if not answer(conn, tag, command):
                break
    except (OSError, ssl.SSLError):
        pass  # the client gave up: that is the point
    finally:
        conn.close()


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    server = socket.create_server(("127.0.0.1", 0))
    with open(PORTFILE + ".tmp", "w") as out:
        out.write(str(server.getsockname()[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)  # the reader never sees half a number
    while True:
        raw, _ = server.accept()
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
