"""SMS over SMPP 3.4: the PDU codec and text codings (pure), the Twisted client protocol, the
reconnecting link with its window and submit rate, and the gateway that joins them to intake.

    pdu.py       frames <-> PDU values (no I/O)
    coding.py    GSM 7-bit / Latin-1 / UCS-2, concatenation headers, splitting, delivery receipts
    replies.py   what a citizen's text asks for (status query, survey answer, a report) and the
                 templates of the answers (pure)
    protocol.py  ESMEProtocol: bind, enquire_link, window of outstanding requests, timeouts
    link.py      SMPPLink: one configured link, reconnect with backoff, submit rate, clean unbind
    gateway.py   SmsGateway: deliver_sm -> stored report -> deliver_sm_resp; the outbox -> submit_sm
"""
