"""A real SMTP server on loopback for the tests (aiosmtpd, Debian's python3-aiosmtpd).

Usage: smtp_server.py PORT [CERT KEY]. With a certificate it offers STARTTLS.
Prints "ready" once listening, then one JSON line per message received
(mail_from, rcpt_tos, the message text, and whether the session was TLS). It stops
when its stdin closes (the test ended) or after two minutes.
"""
import json
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Print:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": envelope.content.decode("utf8", "replace"),
            "tls": session.ssl is not None,
        }), flush=True)
        return "250 OK"


def main():
    port = int(sys.argv[1])
    tls = None
    if len(sys.argv) > 3:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    controller = Controller(Print(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=False)
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(120)
    controller.stop()


if __name__ == "__main__":
    main()
