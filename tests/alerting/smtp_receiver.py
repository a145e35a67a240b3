#!/usr/bin/python3
"""A real SMTP server for the email notifier's tests (aiosmtpd) on 127.0.0.1, a free port.

Prints "PORT <n>" on stdout once listening, then one JSON line per received message:
{"helo", "mail_from", "rcpt_tos", "tls", "login", "raw", "headers": {name: decoded value},
 "parts": [{"type", "charset", "cte", "text"}]}.

  smtp_receiver.py [--tls none|starttls|implicit] [--cert C --key K] [--require-starttls]
                   [--auth USER:PASSWORD] [--auth-require-tls]
"""
import argparse
import asyncio
import email
import email.header
import email.policy
import json
import logging
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def decoded(value):
    return str(email.header.make_header(email.header.decode_header(value)))


class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content.decode("utf-8", "replace")
        msg = email.message_from_bytes(envelope.content, policy=email.policy.compat32)
        headers = {k: decoded(v) for k, v in msg.items()}
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "us-ascii"
            parts.append({
                "type": part.get_content_type(),
                "charset": charset,
                "cte": part.get("Content-Transfer-Encoding", ""),
                "text": payload.decode(charset, "replace"),
            })
        record = {
            "helo": session.host_name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": (session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "login": (session.auth_data.login.decode()
                      if isinstance(session.auth_data, LoginPassword) else None),
            "content_type": msg.get_content_type(),
            "raw": raw,
            "headers": headers,
            "parts": parts,
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", default="none", choices=["none", "starttls", "implicit"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--require-starttls", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--auth-require-tls", action="store_true")
    args = ap.parse_args()
    # The tests provoke TLS and AUTH failures on purpose: keep aiosmtpd's tracebacks quiet.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    kwargs = {"hostname": "receiver.test"}
    if args.tls == "starttls":
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = args.require_starttls
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False: aiosmtpd answers a failure with 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = args.auth_require_tls
    else:
        kwargs["auth_require_tls"] = False

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), **kwargs), "127.0.0.1", 0,
            ssl=context if args.tls == "implicit" else None)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write("PORT %d\n" % port)
        sys.stdout.flush()
        # Ends when the test closes our stdin (or kills us).
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
