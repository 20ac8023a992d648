#!/usr/bin/python3
"""A stand-in primary on 127.0.0.1 (TCP) that misbehaves, for what a real
Knot never does:

  standin.py PORTFILE unsigned   answers every message NOERROR (queries with
                                 AA and no records), never signed: an
                                 update "applied" by someone without the key
  standin.py PORTFILE drip       sends an answer's length, then one byte a
                                 second, forever

It binds a free port, writes it to PORTFILE and serves until killed.
"""
import os
import socket
import sys
import threading
import time


def question_end(msg):
    """Offset after the first question (or zone) entry."""
    i = 12
    while i < len(msg) and msg[i] != 0:
        i += 1 + msg[i]
    return i + 1 + 4


def read_message(conn):
    head = conn.recv(2, socket.MSG_WAITALL)
    if len(head) < 2:
        return None
    n = int.from_bytes(head, "big")
    return conn.recv(n, socket.MSG_WAITALL)


def unsigned(conn):
    while True:
        msg = read_message(conn)
        if not msg or len(msg) < 12:
            return
        opcode = (msg[2] >> 3) & 0x0F
        flags = 0x80 | (opcode << 3) | 0x04  # QR, the opcode, AA
        answer = msg[0:2] + bytes([flags, 0]) + b"\x00\x01\x00\x00\x00\x00\x00\x00"
        answer += msg[12:question_end(msg)]
        conn.sendall(len(answer).to_bytes(2, "big") + answer)


def drip(conn):
    read_message(conn)
    conn.sendall(b"\x01\x00")
    while True:
        conn.sendall(b"\x00")
        time.sleep(1)


def serve(conn, mode):
    try:
        mode(conn)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    portfile, mode = sys.argv[1], {"unsigned": unsigned, "drip": drip}[sys.argv[2]]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
