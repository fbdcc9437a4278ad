"""smtp_reject.py - an aiosmtpd handler for the mail tests: a Maildir sink that refuses some
recipients, permanently (550) when the address starts with "reject", for now (451) when it
starts with "later". Used as: python3 -m aiosmtpd -c smtp_reject.RejectingMailbox DIR."""
from aiosmtpd.handlers import Mailbox


class RejectingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 No such user here"
        if address.startswith("later"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"
