"""The seams of the telephony layer: what it hands to the intake app, and what an ASR engine is.

telephony/ knows nothing about cases. It answers calls, records and transcribes them, and hands
each finished call to an `ICallSink` that the intake app implements. All sink methods are called
on the reactor thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from zope.interface import Attribute, Interface

# Call outcomes (CallRecord.state). Each call ends in exactly one of them.
STATE_COMPLETED = "completed"                  # described the problem and heard the case number
STATE_HANGUP_IN_GREETING = "hangup_in_greeting"  # hung up before choosing from the menu
STATE_HANGUP_IN_RECORDING = "hangup_in_recording"  # hung up while or after describing: audio kept
STATE_SILENT = "silent"                        # the line was open but nobody spoke
STATE_RTP_TIMEOUT = "rtp_timeout"              # the caller's audio stopped arriving
STATE_STATUS_GIVEN = "status_given"            # menu 2: heard the status of a case
STATE_FAILED = "failed"                        # an internal error; the recording is still kept

CALL_STATES = (STATE_COMPLETED, STATE_HANGUP_IN_GREETING, STATE_HANGUP_IN_RECORDING, STATE_SILENT,
               STATE_RTP_TIMEOUT, STATE_STATUS_GIVEN, STATE_FAILED)

# Transcription outcomes (CallRecord.asr_status).
ASR_DONE = "done"              # transcribed while the caller spoke
ASR_QUEUED = "asr_queued"      # every ASR slot was busy: transcribed later, see transcript_ready
ASR_NONE = "no_asr"            # engine "none": queued for manual transcription
ASR_FAILED = "asr_failed"      # the engine raised; the recording is kept for a retry

# Menu choices (CallRecord.menu).
MENU_REPORT = "report"         # 1
MENU_STATUS = "status"         # 2
MENU_OPERATOR = "operator"     # 0 (no transfer in pyVoIP 1.6.8: a message is recorded instead)
MENU_NONE = "none"             # no choice made (hung up early or silent)


@dataclass(frozen=True)
class Word:
    """One recognised word with the engine's confidence (0..1) and its times in seconds."""
    word: str
    conf: float
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    """What an engine heard: the text and the words it is made of."""
    text: str = ""
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class CallInfo:
    """What is known when a call is answered."""
    call_id: str
    line: str           # the SIP line's name in config
    hotline: str        # 12345, 12319, 110
    caller: str         # caller's number from P-Asserted-Identity, else From
    started_at: float   # POSIX time the call was answered


@dataclass(frozen=True)
class CallRecord:
    """A finished call as handed to the intake app.

    wav_path holds 16-bit 8 kHz mono audio of everything the caller said from the answer to
    the end of the description (or the hang-up). words are (word, conf, start, end) tuples.
    """
    call_id: str
    line: str
    hotline: str
    caller: str
    started_at: float
    ended_at: float
    wav_path: str
    duration_s: float
    state: str
    transcript: str = ""
    words: tuple[tuple[str, float, float, float], ...] = ()
    engine: str = "none"
    dtmf: str = ""
    menu: str = MENU_NONE
    asr_status: str = ASR_NONE
    frames_received: int = 0
    frames_lost: int = 0
    extra: dict = field(default_factory=dict, compare=False, hash=False)


class ICallSink(Interface):
    """Implemented by the intake app; receives calls from the telephony layer."""

    def call_started(call_info):
        """A call was answered (a CallInfo). Return value ignored."""

    def partial_transcript(call_id, text):
        """The running transcript of a call changed (for the live event stream)."""

    def call_finished(record):
        """A call's recording ended (a CallRecord).

        Returns a Deferred firing with the case number to speak to the caller (a string of
        digits) or None to speak none. Called for every call, whatever its state, so that no
        recording is lost; the state says whether a case should be opened.
        """

    def case_status(number):
        """Return a Deferred firing with a short status text (Chinese) for case `number`.

        The telephony layer speaks it with espeak-ng at run time (see prompts.synthesize).
        """

    def transcript_ready(record):
        """A call that ended without a transcript (asr_queued) has now been transcribed.

        `record` is the same CallRecord with transcript, words and asr_status filled in.
        """


class IRecognizerStream(Interface):
    """One caller's audio being recognised. Fed from one thread at a time, never two."""

    def accept(pcm):
        """Feed 16-bit 8 kHz audio; return the current partial text ("" if none)."""

    def finish():
        """No more audio: return the final Transcript. The stream cannot be used afterwards."""


class IASREngine(Interface):
    """A speech recogniser: vosk in-process, vosk-server over websocket, or none."""

    name = Attribute("Short engine name recorded in CallRecord.engine")
    available = Attribute("False when the engine cannot transcribe (engine 'none')")

    def open_stream(sample_rate):
        """Start recognising a new stream of 16-bit mono audio at `sample_rate` Hz."""

    def close():
        """Release models and connections."""
