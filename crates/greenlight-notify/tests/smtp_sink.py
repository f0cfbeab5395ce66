"""An SMTP server for the notification tests and benchmark (aiosmtpd).

Listens on 127.0.0.1 on a free port and prints that port on the first line of its output
when it is ready. Writes every message it accepts to FOLDER as NNNNNN.eml (the bytes as
received) and NNNNNN.json (the envelope, and the headers and MIME parts as Python's own
`email` package reads them: a parser independent of the one that wrote the mail). Both files
are written before the server answers 250, so a sender that got its 250 finds them.

Recipients whose local part starts with `refused` get 550 (a permanent refusal), `later`
get 451 (a temporary one). With --no-files, messages are counted but not written (for the
benchmark). Exits when its standard input closes, so it never outlives the test that
started it.

    python smtp_sink.py FOLDER [--no-files]
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder, write_files):
        self.folder = folder
        self.write_files = write_files
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("refused"):
            return "550 5.1.1 no such mailbox here"
        if local.startswith("later"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        if not self.write_files:
            return "250 Message accepted for delivery"
        name = os.path.join(self.folder, f"{self.count:06d}")
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append(
                {"content_type": part.get_content_type(), "content": part.get_content()}
            )
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in message.items()],
            "raw_headers": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace"),
            "parts": parts,
        }
        write(name + ".eml", raw)
        # The .json last: its presence says the message is complete.
        write(name + ".json", json.dumps(record, indent=1).encode())
        return "250 Message accepted for delivery"


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--no-files", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    sink = Sink(args.folder, not args.no_files)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.greenlight.test"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)

    stop = asyncio.Event()

    def watch_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
