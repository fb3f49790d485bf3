"""Channels that deliver reports to the intake pipeline from outside the HTTP API
(phone calls: phone.py; SMS over SMPP: smpp/)."""
