"""Telephony layer of the hotline intake: SIP lines, call recording, speech recognition.

It knows nothing about cases: finished calls go to an ICallSink (telephony.interfaces) that the
intake app implements.
"""
