"""Suite-wide settings."""
from __future__ import annotations

import logging

# aiosmtpd logs every connection at INFO from its own thread, sometimes after pytest has
# closed the stream it captured; its chatter says nothing the email tests assert.
logging.getLogger("mail.log").setLevel(logging.WARNING)
