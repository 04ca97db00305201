#!/usr/bin/env python3
"""Test-support endpoint that accepts TCP connections and never answers (a "black hole"), as a
firewall that drops replies or a hung proxy would. Test code only; never shipped.

Usage: black_hole.py   Prints "READY <port>" once it listens on 127.0.0.1 (a free port).
Every accepted connection is held open, unread, until the process ends.
"""

import os
import signal
import socket
import sys


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdout.write(f"READY {s.getsockname()[1]}\n")
    sys.stdout.flush()
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)


if __name__ == "__main__":
    main()
