"""Buyer messages: mailboxes (IMAP or Maildir, SMTP for replies), the Amazon relay
parser, threads with Amazon's 24-hour reply clock, search and sending.

Modules: ``models`` (the shared types), ``parse`` (raw email → :class:`ParsedEmail`),
``rules`` (Amazon's messaging rules for replies), ``imap`` / ``maildir`` / ``smtp``
(transports), ``repo`` (threads and messages in the vault), ``clock`` (the reply
clock), ``inbox_service`` (reads and thread writes), ``service`` (mailbox accounts,
fetch and send), ``mail_job`` (the periodic fetch).  No Qt here.
"""
