"""The single source of truth for the database tables.

Reports are kept exactly as received and never rewritten; what the system decided about a report
lives beside it in `report_decisions`; a case has an append-only history in `case_events`.
Every change here needs an Alembic migration in intake/migrations/versions (a test compares the
migrated schema with this module).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on every dialect.

    SQLite has no time zones and PostgreSQL's timestamptz would return the session's zone; storing
    naive UTC makes both behave the same and keeps comparisons in SQL correct.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


# A report exactly as a channel delivered it. One row per (channel, external_id): the unique
# constraint makes intake idempotent across retries and across service nodes.
reports = sa.Table(
    "reports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("caller", sa.String(64)),
    sa.Column("address", sa.Text),
    sa.Column("street_hint", sa.String(64)),
    sa.Column("code_hint", sa.String(5)),
    sa.Column("lng", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("stored_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "external_id"),
)
sa.Index("ix_reports_received_at", reports.c.received_at)

# What the system decided about one report, written in the same transaction as the report.
# outcome: opened | merged | out_of_scope | emergency. Lists are JSON.
report_decisions = sa.Table(
    "report_decisions", metadata,
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("code", sa.String(5)),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("abstain", sa.Boolean, nullable=False),
    sa.Column("candidates", sa.JSON, nullable=False),
    sa.Column("out_of_scope", sa.Boolean, nullable=False),
    sa.Column("agency", sa.String(64)),
    sa.Column("emergency", sa.Boolean, nullable=False),
    sa.Column("classification_reasons", sa.JSON, nullable=False),
    sa.Column("street", sa.String(64)),
    sa.Column("community", sa.String(12)),
    sa.Column("grid", sa.String(15)),
    sa.Column("places", sa.JSON, nullable=False),
    sa.Column("location_reasons", sa.JSON, nullable=False),
    sa.Column("duplicate_outcome", sa.String(16), nullable=False),
    sa.Column("duplicate_score", sa.Float),
    sa.Column("duplicate_reasons", sa.JSON, nullable=False),
    sa.Column("department_id", sa.String(64)),
    sa.Column("routing_level", sa.String(16)),
    sa.Column("routing_reasons", sa.JSON, nullable=False),
    sa.Column("needs_review", sa.Boolean, nullable=False),
    sa.Column("audit_sampled", sa.Boolean, nullable=False),
    sa.Column("tokens", sa.Text, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
)
sa.Index("ix_report_decisions_case_id", report_decisions.c.case_id)
sa.Index("ix_report_decisions_needs_review", report_decisions.c.needs_review)

# A case: one problem at one place. The number citizens are told comes from the database
# (the primary key's sequence). status follows the closed loop (routing.workflow).
cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(20), unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("code", sa.String(5), nullable=False),
    # The classifier's runner-up codes for the citizens' reports in the case (duplicate matching).
    sa.Column("alternative_codes", sa.JSON, nullable=False),
    sa.Column("street", sa.String(64)),
    sa.Column("community", sa.String(12)),
    sa.Column("grid", sa.String(15)),
    sa.Column("places", sa.JSON, nullable=False),
    sa.Column("tokens", sa.Text, nullable=False),
    sa.Column("department_id", sa.String(64)),
    sa.Column("level", sa.String(16)),
    sa.Column("emergency", sa.Boolean, nullable=False),
    sa.Column("hot", sa.Boolean, nullable=False),
    sa.Column("inspector_confirmed", sa.Boolean, nullable=False),
    sa.Column("report_count", sa.Integer, nullable=False),
    sa.Column("callers", sa.JSON, nullable=False),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("recurrence_of", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("last_report_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    # The closed loop (routing.workflow): a department's request waiting for the dispatcher
    # (return | extension | park) and, while parked, the state to resume to.
    sa.Column("pending_request", sa.String(16)),
    sa.Column("resume_status", sa.String(16)),
)
# Candidate lookup for duplicates goes by place and time, never a scan.
sa.Index("ix_cases_grid_last_report_at", cases.c.grid, cases.c.last_report_at)
sa.Index("ix_cases_community_last_report_at", cases.c.community, cases.c.last_report_at)
sa.Index("ix_cases_street_last_report_at", cases.c.street, cases.c.last_report_at)
# Recurrence: closed cases at the same grid, by when they were closed.
sa.Index("ix_cases_grid_closed_at", cases.c.grid, cases.c.closed_at)
sa.Index("ix_cases_status_opened_at", cases.c.status, cases.c.opened_at)
sa.Index("ix_cases_code", cases.c.code)

# Which reports a case holds. A report belongs to at most one case.
# role: origin (opened it) | duplicate (a citizen's report merged in) | confirmation (an inspector's).
case_reports = sa.Table(
    "case_reports", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("joined_at", UTCDateTime, nullable=False),
)
sa.Index("ix_case_reports_case_id", case_reports.c.case_id)

# The named spots (gazetteer places: a market, a compound, a road...) a case's reports mention, with
# the case's latest report time copied in, so duplicates are found by place name and time through
# one index even when the case has no grid (a road-only description).
case_places = sa.Table(
    "case_places", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("place", sa.String(64), primary_key=True),
    sa.Column("last_report_at", UTCDateTime, nullable=False),
)
sa.Index("ix_case_places_place_last_report_at", case_places.c.place, case_places.c.last_report_at)

# The append-only history of a case: who did what, when and why. Rows are never updated.
case_events = sa.Table(
    "case_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)
sa.Index("ix_case_events_case_id_at", case_events.c.case_id, case_events.c.at)

# People and systems that call the API. role is one of intake.auth.ROLES; a department user
# belongs to one department (config/departments.yaml id) and sees only its cases.
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("department_id", sa.String(64)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime),
)

# Bearer tokens: only a SHA-256 of the token is stored, so a copy of the database gives no access.
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)
sa.Index("ix_api_tokens_user_id", api_tokens.c.user_id)

# Browser sessions of the consoles: only a SHA-256 of the cookie's value is stored (as for tokens).
# csrf_token is the per-session secret the pages send back in X-CSRF-Token on every unsafe request;
# a session ends at expires_at or when signed out (revoked_at).
console_sessions = sa.Table(
    "console_sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)
sa.Index("ix_console_sessions_user_id", console_sessions.c.user_id)

# Photos attached to a case (a department's result, an inspector's verification), checked for type
# and size on upload and kept in the database so every node serves them. Rows are never updated;
# the upload is also recorded in the case's history (photo_added) with who and when.
case_photos = sa.Table(
    "case_photos", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("content_type", sa.String(32), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
)
sa.Index("ix_case_photos_case_id", case_photos.c.case_id)

# One review of one report's classification: an operator confirming or correcting what the machine
# proposed at intake, or a shift chief's or auditor's audit override. Append-only: rows are never
# updated or deleted. A report's newest row holds its final code; the rows before it are the trail.
# old_* is the classification the reviewer saw (the machine's, or the previous review's); a NULL
# code with out_of_scope true means "not city management" and agency says whose it is.
# kind: confirm | correct (operator) | override (shift_chief, auditor). model_version is the
# classifier that made the decision under review (copied so the trail reads on its own).
classification_reviews = sa.Table(
    "classification_reviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("reviewer", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("old_code", sa.String(5)),
    sa.Column("old_out_of_scope", sa.Boolean, nullable=False),
    sa.Column("old_agency", sa.String(64)),
    sa.Column("new_code", sa.String(5)),
    sa.Column("new_out_of_scope", sa.Boolean, nullable=False),
    sa.Column("new_agency", sa.String(64)),
    sa.Column("reason", sa.Text),
    # The case whose code this review changed (through a 'code_corrected' case event), if any.
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
)
# A report's trail in order, and "is this report reviewed yet" for the queue, through one index.
sa.Index("ix_classification_reviews_report_id_id", classification_reviews.c.report_id, classification_reviews.c.id)
sa.Index("ix_classification_reviews_at", classification_reviews.c.at)
# The audit queue selects the sampled decisions beside the ones below the threshold.
sa.Index("ix_report_decisions_audit_sampled", report_decisions.c.audit_sampled)

# One row that every intake transaction locks first, on every node sharing the database, so the
# duplicate check and the case it opens are one atomic step: two nodes cannot both open a case
# for the same problem. Classification happens before, outside the lock.
intake_lock = sa.Table(
    "intake_lock", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.Integer, nullable=False),
)

# Messages to citizens waiting for the outbound gateway (an outbox: the SMS gateway sends pending
# rows and marks them sent). kind: receipt (the case number, written in the intake transaction) |
# result (the result note, written when the case is closed), one per reporter | reply (the SMS
# gateway's answer to a status query; case_id NULL when the number asked about is unknown) |
# survey (the satisfaction question after a result). The SMPP gateway's state: queued -> sending
# -> sent -> delivered, or failed; attempts and next_try_at pace the retries (throttling, link down).
outbound_messages = sa.Table(
    "outbound_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id")),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("state", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_try_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", UTCDateTime),
)
sa.Index("ix_outbound_messages_case_id", outbound_messages.c.case_id)
sa.Index("ix_outbound_messages_sent_at_created_at", outbound_messages.c.sent_at, outbound_messages.c.created_at)
# The SMPP gateway's queue: due messages by state and time.
sa.Index("ix_outbound_messages_state_next_try_at", outbound_messages.c.state, outbound_messages.c.next_try_at)

# A citizen's satisfaction with a closed case (满意度回访): one answer per case.
# answer: satisfied | basically_satisfied | dissatisfied.
case_satisfaction = sa.Table(
    "case_satisfaction", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("answer", sa.String(24), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# A citizen's whole SMS as it came in over SMPP (the parts of a long one joined), stored before the
# SMSC is answered and never dropped: raw keeps the user data as received, text is NULL and error
# says why when it could not be decoded. kind: report | query (a status query) | survey (an answer
# to the satisfaction survey) | undecodable. state: received (stored, not yet handled: handled
# again after a restart) | done.
sms_inbound_messages = sa.Table(
    "sms_inbound_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("link", sa.String(32), nullable=False),
    sa.Column("source", sa.String(21), nullable=False),
    sa.Column("destination", sa.String(21), nullable=False),
    sa.Column("data_coding", sa.Integer, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id")),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("handled_at", UTCDateTime),
)
sa.Index("ix_sms_inbound_messages_state_received_at", sms_inbound_messages.c.state, sms_inbound_messages.c.received_at)

# Every deliver_sm PDU with a citizen's text (a whole message or one part), stored before it is
# answered. dedup_key (a hash of sender, number, coding and user data, with a time bucket) makes a
# retransmitted PDU find its first copy: one row per (link, dedup_key). Parts of a long message wait
# here with message_id NULL until all have arrived, so they survive a restart.
sms_inbound_pdus = sa.Table(
    "sms_inbound_pdus", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("link", sa.String(32), nullable=False),
    sa.Column("dedup_key", sa.String(80), nullable=False),
    sa.Column("source", sa.String(21), nullable=False),
    sa.Column("destination", sa.String(21), nullable=False),
    sa.Column("data_coding", sa.Integer, nullable=False),
    sa.Column("concat_ref", sa.Integer),
    sa.Column("concat_total", sa.Integer, nullable=False),
    sa.Column("concat_seq", sa.Integer, nullable=False),
    sa.Column("user_data", sa.LargeBinary, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("sms_inbound_messages.id")),
    sa.UniqueConstraint("link", "dedup_key"),
)
sa.Index("ix_sms_inbound_pdus_link_source_concat_ref", sms_inbound_pdus.c.link, sms_inbound_pdus.c.source,
         sms_inbound_pdus.c.concat_ref)

# One submit_sm the SMSC accepted for an outgoing message (one row per part), with the SMSC's
# message id so its delivery receipt finds the message. receipt_state: NULL until a receipt comes,
# then DELIVRD, UNDELIV, EXPIRED ...
sms_submits = sa.Table(
    "sms_submits", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("outbound_id", sa.Integer, sa.ForeignKey("outbound_messages.id"), nullable=False),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("link", sa.String(32), nullable=False),
    sa.Column("smsc_message_id", sa.String(65), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("receipt_state", sa.String(16)),
    sa.Column("receipt_at", UTCDateTime),
    sa.UniqueConstraint("outbound_id", "part"),
)
sa.Index("ix_sms_submits_link_smsc_message_id", sms_submits.c.link, sms_submits.c.smsc_message_id)

# Phone calls answered by the telephony layer (intake.channels.phone), one row per call whatever
# happened, written before anything else is tried so no recording is ever lost. The row is
# written when the call is answered (state in_progress, intake_status in_call: a node that died
# mid-call leaves that trace) and completed when it ends. state and asr_status are
# telephony.interfaces' vocabularies; intake_status says where the call stands for
# intake: no_report (silent, hung up in the greeting, a status query) | awaiting_asr (every ASR
# slot was busy: transcribed later) | awaiting_transcription (the manual queue: engine none, ASR
# failed or heard nothing) | reported (report_id set) | intake_failed (the pipeline raised;
# intake_error says why; an operator may submit the transcript again). words: JSON
# [[word, confidence, start_s, end_s], ...]. recording_deleted_at: retention removed the WAV.
calls = sa.Table(
    "calls", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False, unique=True),
    sa.Column("line", sa.String(64), nullable=False),
    sa.Column("hotline", sa.String(16), nullable=False),
    sa.Column("caller", sa.String(64)),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=False),
    sa.Column("wav_path", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("menu", sa.String(16), nullable=False),
    sa.Column("asr_status", sa.String(16), nullable=False),
    sa.Column("engine", sa.String(32), nullable=False),
    sa.Column("dtmf", sa.String(64), nullable=False),
    sa.Column("frames_received", sa.Integer, nullable=False),
    sa.Column("frames_lost", sa.Integer, nullable=False),
    sa.Column("transcript", sa.Text),
    sa.Column("words", sa.JSON, nullable=False),
    sa.Column("transcript_source", sa.String(16)),
    sa.Column("transcribed_by", sa.String(64)),
    sa.Column("intake_status", sa.String(24), nullable=False),
    sa.Column("intake_error", sa.Text),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id")),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("stored_at", UTCDateTime, nullable=False),
    sa.Column("recording_deleted_at", UTCDateTime),
)
# The call list by state or queue, newest first; retention finds old recordings by start time.
sa.Index("ix_calls_intake_status_started_at", calls.c.intake_status, calls.c.started_at)
sa.Index("ix_calls_state_started_at", calls.c.state, calls.c.started_at)
sa.Index("ix_calls_started_at", calls.c.started_at)
sa.Index("ix_calls_report_id", calls.c.report_id)
