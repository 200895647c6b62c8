#!/usr/bin/env python3
"""A real SMTP server for SegHub's tests (aiosmtpd), three listeners on 127.0.0.1:

- PORT:   submission with STARTTLS and AUTH (PLAIN, LOGIN), AUTH only after STARTTLS;
- PORT+1: implicit TLS (SMTPS) with AUTH;
- PORT+2: plain, no TLS offered, AUTH offered in clear (which SegHub must never use).

Every accepted message is written to DIR/inbox/<n>.eml with DIR/inbox/<n>.json beside it (envelope sender and
recipients, the authenticated user, whether the session was encrypted, the listener). Recipients choose faults, so
that parallel tests do not disturb each other: a local part starting with `reject550` is refused at RCPT with 550,
`tempfail` gets 451 at the end of DATA, `stall` gets no answer after DATA for an hour, and `slowok` is stored at once but answered 250 only after 5 s.

Usage: smtp_server.py DIR PORT USER PASSWORD   (normally run by scripts/dev/smtp.sh)
"""
import asyncio
import json
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

DIR, PORT, USER, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
INBOX = os.path.join(DIR, "inbox")
os.makedirs(INBOX, exist_ok=True)
counter = [0]
lock = threading.Lock()


class Handler:
    def __init__(self, listener):
        self.listener = listener

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject550"):
            return "550 5.1.1 <%s>: no such mailbox here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        first = (envelope.rcpt_tos or [""])[0].lower()
        if first.startswith("tempfail"):
            return "451 4.3.0 try again later"
        if first.startswith("stall"):
            await asyncio.sleep(3600)
        with lock:
            counter[0] += 1
            name = "%d-%06d" % (int(time.time() * 1000), counter[0])
        with open(os.path.join(INBOX, name + ".eml.part"), "wb") as out:
            out.write(envelope.original_content or envelope.content)
        meta = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "authUser": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
            "tls": bool(session.ssl) or (server.transport is not None and server.transport.get_extra_info("ssl_object") is not None),
            "listener": self.listener,
        }
        with open(os.path.join(INBOX, name + ".json"), "w") as out:
            json.dump(meta, out)
        os.rename(os.path.join(INBOX, name + ".eml.part"), os.path.join(INBOX, name + ".eml"))
        if first.startswith("slowok"):
            # Stored, but the answer comes late: a window in which the sender has sent and not yet heard back.
            await asyncio.sleep(5)
        return "250 2.0.0 queued as %s" % name


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER and auth_data.password == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def context():
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem"))
    return tls


controllers = [
    Controller(Handler("starttls"), hostname="127.0.0.1", port=PORT, tls_context=context(), require_starttls=False,
               authenticator=authenticator, auth_require_tls=True, auth_exclude_mechanism=["CRAM-MD5"]),
    Controller(Handler("smtps"), hostname="127.0.0.1", port=PORT + 1, ssl_context=context(), server_hostname="localhost",
               authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["CRAM-MD5"]),
    Controller(Handler("plain"), hostname="127.0.0.1", port=PORT + 2, authenticator=authenticator, auth_require_tls=False,
               auth_exclude_mechanism=["CRAM-MD5"]),
]
for controller in controllers:
    controller.start()
with open(os.path.join(DIR, "ready"), "w") as out:
    out.write("ready\n")
print("listening on 127.0.0.1:%d (STARTTLS), %d (SMTPS), %d (plain)" % (PORT, PORT + 1, PORT + 2), flush=True)
try:
    threading.Event().wait()
except KeyboardInterrupt:
    pass
finally:
    for controller in controllers:
        controller.stop()
