"""The OpenAPI 3.1 document served at /api/v1/openapi.json (kept beside the handlers it describes)."""
from __future__ import annotations

from intake.validation import API_CHANNELS

_ERROR = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string"}, "field": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}}}

_REPORT_IN = {
    "type": "object", "additionalProperties": False, "required": ["channel", "external_id", "text"],
    "properties": {
        "channel": {"type": "string", "enum": list(API_CHANNELS)},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 128,
                        "description": "the channel's own id; (channel, external_id) makes intake idempotent"},
        "text": {"type": "string", "minLength": 1, "maxLength": 4000},
        "received_at": {"type": "string", "format": "date-time",
                        "description": "default: now; without an offset, read in the deployment's time zone"},
        "caller": {"type": "string", "maxLength": 64},
        "address": {"type": "string", "maxLength": 500, "description": "事发位置 as the sender wrote it"},
        "street": {"type": "string", "description": "official or short street/town name"},
        "code": {"type": "string", "pattern": "^[0-9]{5}$",
                 "description": "matter code; authoritative when the channel is inspector"},
        "lng": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
    }}

_INTAKE_OUT = {"type": "object", "properties": {
    "report_id": {"type": "integer"},
    "outcome": {"type": "string", "enum": ["opened", "merged", "out_of_scope", "emergency"]},
    "case": {"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "number": {"type": "string"}}},
    "duplicate_of": {"type": ["integer", "null"]},
    "classification": {"type": "object"}, "location": {"type": "object"},
    "department": {"type": ["string", "null"]}, "needs_review": {"type": "boolean"},
    "reasons": {"type": "array", "items": {"type": "string"}}, "replayed": {"type": "boolean"}}}

_CASE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string"}, "status": {"type": "string"},
    "code": {"type": "string"}, "name": {"type": ["string", "null"]}, "street": {"type": ["string", "null"]},
    "community": {"type": ["string", "null"]}, "grid": {"type": ["string", "null"]},
    "department": {"type": ["string", "null"]}, "emergency": {"type": "boolean"}, "hot": {"type": "boolean"},
    "report_count": {"type": "integer"}, "channels": {"type": "array", "items": {"type": "string"}},
    "reports": {"type": "array", "items": {"type": "object"}},
    "history": {"type": "array", "items": {"type": "object"}}}}


def _err(desc):
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document() -> dict:
    """The whole document as a dict."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline intake API", "version": "1",
                 "description": "Citizen reports from 12345, 12319, 110 transfers, SMS, web and inspectors "
                                "become classified, located, deduplicated cases (GB/T 47678.5-2026)."},
        "paths": {
            "/api/v1/reports": {"post": {
                "summary": "Take a report", "operationId": "postReport",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ReportIn"}}}},
                "responses": {
                    "201": {"description": "stored and decided", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/IntakeResult"}}}},
                    "200": {"description": "a retry: the first answer, nothing new created",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntakeResult"}}}},
                    "400": _err("invalid input; `field` names what was wrong"),
                    "413": _err("body too large"), "415": _err("not JSON")}}},
            "/api/v1/reports/{report_id}": {"get": {
                "summary": "A report as received, with the decisions about it", "operationId": "getReport",
                "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the report"}, "400": _err("bad id"), "404": _err("no such report")}}},
            "/api/v1/cases": {"get": {
                "summary": "Cases, filtered and paged", "operationId": "listCases",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "street", "in": "query", "schema": {"type": "string"}},
                    {"name": "code", "in": "query", "schema": {"type": "string"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": {"description": "a page of cases", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"total": {"type": "integer"}, "limit": {"type": "integer"},
                                                     "offset": {"type": "integer"},
                                                     "next_offset": {"type": ["integer", "null"]},
                                                     "items": {"type": "array", "items": {"$ref": "#/components/schemas/Case"}}}}}}},
                              "400": _err("bad filter")}}},
            "/api/v1/cases/{case_id}": {"get": {
                "summary": "A case by id or number, with its reports and history", "operationId": "getCase",
                "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the case", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Case"}}}}, "404": _err("no such case")}}},
            # Phone calls (intake/http/calls_api.py).
            "/api/v1/calls": {"get": {
                "summary": "Phone calls, newest first; waiting=true: the manual transcription queue",
                "operationId": "listCalls",
                "parameters": [
                    {"name": "state", "in": "query", "schema": {"type": "string", "enum": [
                        "in_progress", "completed", "hangup_in_greeting", "hangup_in_recording", "silent",
                        "rtp_timeout", "status_given", "failed"]}},
                    {"name": "waiting", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": {"description": "a page of calls (caller masked for roles that must not see it)"},
                              "400": _err("bad filter"), "403": _err("role may not list calls")}}},
            "/api/v1/calls/{call_id}": {"get": {
                "summary": "A call: state, recording, transcript with word confidences, its report and case",
                "operationId": "getCall",
                "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the call"}, "403": _err("not this role's call"),
                              "404": _err("no such call")}}},
            "/api/v1/calls/{call_id}/recording": {"get": {
                "summary": "The call's recording (16-bit 8 kHz mono WAV); operator, shift chief, auditor",
                "operationId": "getCallRecording",
                "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the WAV", "content": {"audio/wav": {
                    "schema": {"type": "string", "format": "binary"}}}},
                              "403": _err("role may not listen"), "404": _err("no such call or no recording"),
                              "410": _err("deleted by the retention rule")}}},
            "/api/v1/calls/{call_id}/events": {"get": {
                "summary": "Server-sent events: `partial` transcripts while the caller speaks, then one `final`",
                "operationId": "getCallEvents",
                "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "text/event-stream; each event's data is JSON",
                                      "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                              "404": _err("no such call")}}},
            "/api/v1/calls/{call_id}/transcript": {"post": {
                "summary": "An operator's transcription of a queued call: runs the intake pipeline",
                "operationId": "postCallTranscript",
                "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "required": ["text"],
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 4000}}}}}},
                "responses": {"201": {"description": "the intake answer (as POST /api/v1/reports) with call_id",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntakeResult"}}}},
                              "400": _err("no text"), "403": _err("operators only"), "404": _err("no such call"),
                              "409": _err("the call already has its report")}}},
            "/api/v1/health": {"get": {"summary": "Liveness", "operationId": "health",
                                       "responses": {"200": {"description": "up"}}}},
        },
        "components": {"schemas": {"Error": _ERROR, "ReportIn": _REPORT_IN, "IntakeResult": _INTAKE_OUT,
                                   "Case": _CASE}},
    }


def complete(doc: dict, routes) -> dict:
    """Add every routed operation the static document does not describe yet, from the handler's
    docstring and path parameters, so the served document never misses a route."""
    import re
    paths = doc.setdefault("paths", {})
    for method, _regex, handler, pattern in routes:
        if not pattern.startswith("/api/"):
            continue
        ops = paths.setdefault(pattern, {})
        if method.lower() in ops:
            continue
        summary = (getattr(handler, "__doc__", None) or "").strip().splitlines()
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"\{(\w+)\}", pattern)]
        op = {"summary": summary[0] if summary else f"{method} {pattern}",
              "responses": {"200": {"description": "OK (JSON)"}, "400": _err("invalid input"),
                            "401": _err("no or invalid token"), "403": _err("role may not do this"),
                            "404": _err("not found")}}
        if params:
            op["parameters"] = params
        if method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        ops[method.lower()] = op
    return doc
