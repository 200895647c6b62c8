"""Reading what the test SMTP server (scripts/dev/smtp.sh) received: DIR/inbox/*.eml with a *.json envelope each.

Messages are parsed with Python's own `email` package, a MIME parser independent of SegHub's writer.
"""
import email
import email.policy
import glob
import json
import os
import re
import time


def messages(inbox, recipient):
    """Every message delivered to `recipient` (by envelope, any letter case), oldest first: (envelope, message); the
    envelope also holds the message's bytes as received under "raw"."""
    found = []
    for path in sorted(glob.glob(os.path.join(inbox, "*.eml"))):
        with open(path[:-4] + ".json") as envelope_file:
            envelope = json.load(envelope_file)
        if recipient.lower() not in [address.lower() for address in envelope.get("rcptTos", [])]:
            continue
        with open(path, "rb") as message_file:
            raw = message_file.read()
        envelope["raw"] = raw  # the bytes as received, e.g. to see a header's encoding
        found.append((envelope, email.message_from_bytes(raw, policy=email.policy.default)))
    return found


def wait_for(inbox, recipient, count=1, seconds=60, subject=None):
    """Waits until at least `count` messages (with `subject` in their Subject, if given) reached `recipient`."""
    deadline = time.time() + seconds
    while True:
        found = [item for item in messages(inbox, recipient) if subject is None or subject in str(item[1]["Subject"])]
        if len(found) >= count:
            return found
        if time.time() > deadline:
            raise TimeoutError(f"{len(found)} of {count} message(s) for {recipient} arrived within {seconds} s")
        time.sleep(0.2)


def parts(message):
    """The text/plain and text/html bodies of a message, decoded."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


def link(message, path):
    """The first link to `path` (e.g. "/reset-password") in the text part, checked to be in the HTML part too."""
    text, html = parts(message)
    match = re.search(r"https?://\S*" + re.escape(path) + r"\S*", text)
    if not match:
        raise ValueError(f"no link to {path} in the message's text part")
    url = match.group(0)
    if url.replace("&", "&amp;") not in html and url not in html:
        raise ValueError(f"the HTML part lacks the link {url}")
    return url
