"""Twisted services: one per SIP line, and a MultiService holding them with the ASR pool.

The intake app builds `TelephonyService(config, sink, engine, reactor=reactor)` and adds it to
its application. Everything blocking (registering, stopping pyVoIP) runs in threads; the
watchdog and the recording retention run on the injected clock (twisted.internet.task.Clock in
tests).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Optional

from twisted.application.service import MultiService, Service
from twisted.internet import defer, task, threads
from twisted.python import log as twlog

from telephony.asr import TranscriptionPool, make_engine
from telephony.config import TelephonyConfig
from telephony.line import SinkBridge, SipLine
from telephony.prompts import PromptSet, synthesize

log = logging.getLogger(__name__)

_hook_lock = threading.Lock()
_hook_installed = False


def install_thread_exception_logging() -> None:
    """Log exceptions that escape any thread (pyVoIP's threads would otherwise print them to
    stderr, or lose them); chained to the previous hook."""
    global _hook_installed
    with _hook_lock:
        if _hook_installed:
            return
        previous = threading.excepthook

        def hook(args):
            log.error("uncaught exception in thread %s", getattr(args.thread, "name", "?"),
                      exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
            twlog.msg(f"uncaught exception in thread {getattr(args.thread, 'name', '?')}: "
                      f"{args.exc_type.__name__}: {args.exc_value}")
            if previous not in (None, threading.__excepthook__):
                previous(args)
        threading.excepthook = hook
        _hook_installed = True


def prune_recordings(directory: str, retention_days: int, now: float) -> int:
    """Delete WAV files older than retention_days (0 keeps everything); returns how many."""
    if retention_days <= 0 or not os.path.isdir(directory):
        return 0
    cutoff = now - retention_days * 86400
    removed = 0
    for root, _dirs, files in os.walk(directory):
        for f in files:
            if f.endswith(".wav"):
                p = os.path.join(root, f)
                try:
                    if os.path.getmtime(p) < cutoff:
                        os.remove(p)
                        removed += 1
                except OSError:
                    log.warning("retention: could not remove %s", p)
    return removed


class LineService(Service):
    """Registers one SIP line at start, keeps it registered, stops its phone at shutdown.

    Keeping registered has three parts, all on the injected clock:
    - the periodic refresh, every `reregister_interval_s`;
    - the keepalive (`keepalive_interval_s`, 0 = off): an OPTIONS to the line's own address
      through the registrar (telephony.keepalive). The line registers again at once when the
      registrar says it does not know the line (404: it restarted, or the binding expired),
      when the registrar answers again after not answering (it was down or restarting), or
      when the phone stopped (pyVoIP gave up after failed refreshes);
    - a failed REGISTER is retried after `retry_s`, doubling up to the refresh interval,
      instead of waiting for the next refresh; while the keepalive hears nothing from the
      server no REGISTER is tried (it would only time out holding pyVoIP's receive lock):
      the server's next answer triggers it.

    `run_blocking(fn) -> Deferred` runs the line's blocking methods (default: the reactor's
    thread pool); tests pass a synchronous one. `probe` is the keepalive's OptionsProbe (made
    and listened on the line's address at start when not given).
    """

    def __init__(self, line: SipLine, reactor, clock=None, reregister_interval_s: float = 60.0,
                 *, keepalive_interval_s: float = 0.0, keepalive_timeout_s: float = 1.0,
                 retry_s: float = 2.0, probe=None,
                 run_blocking: Optional[Callable[[Callable], defer.Deferred]] = None):
        self.line = line
        self.name = f"line-{line.config.name}"
        self.reactor = reactor
        self.clock = clock or reactor
        self.interval = reregister_interval_s
        self.keepalive_interval = keepalive_interval_s
        self.keepalive_timeout = keepalive_timeout_s
        self.retry_s = retry_s
        self.probe = probe
        self._run_blocking = run_blocking or (
            lambda fn: threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn))
        self._watchdog: Optional[task.LoopingCall] = None
        self._keepalive: Optional[task.LoopingCall] = None
        self._port = None
        self._retry_call = None
        self._retry_delay = retry_s
        self._busy = False
        self._probing = False
        self.failures = 0
        self.need_register = False
        self.server_answering: Optional[bool] = None
        self.last_probe: Optional[str] = None
        # (clock time, reason, ok) of every REGISTER this service sent: for logs and tests
        self.history: list[tuple[float, str, bool]] = []

    def startService(self):
        """Register in a thread; the Deferred fails (start-up fails loudly) if it cannot."""
        Service.startService(self)
        d = self._run_blocking(self.line.start)
        self.ready = defer.Deferred()

        def started(_):
            self._watchdog = task.LoopingCall(self.check)
            self._watchdog.clock = self.clock
            self._watchdog.start(self.interval, now=False).addErrback(
                lambda f: log.error("watchdog stopped: %s", f.getErrorMessage()))
            if self.keepalive_interval > 0:
                self._start_keepalive()
            self.ready.callback(self.line)

        def failed(f):
            log.error("line %s failed to start: %s", self.line.config.name, f.getErrorMessage())
            self.ready.errback(f)
        d.addCallbacks(started, failed)
        return self.ready

    def _start_keepalive(self) -> None:
        if self.probe is None:
            from telephony.keepalive import OptionsProbe
            c = self.line.config
            self.probe = OptionsProbe(user=c.username, server=(c.server.host, c.server.port),
                                      line_tag=self.line.options_tag, clock=self.clock,
                                      timeout_s=self.keepalive_timeout,
                                      resolve=getattr(self.reactor, "resolve", None))
            self._port = self.reactor.listenUDP(0, self.probe, interface=c.bind_ip)
        self._keepalive = task.LoopingCall(self.keepalive)
        self._keepalive.clock = self.clock
        self._keepalive.start(self.keepalive_interval, now=False).addErrback(
            lambda f: log.error("keepalive stopped: %s", f.getErrorMessage()))

    def check(self):
        """Watchdog tick: the periodic refresh (or restart of a phone pyVoIP gave up on)."""
        return self.register_now("periodic refresh")

    def keepalive(self):
        """Keepalive tick: probe the registrar, act on the answer (see the class docstring)."""
        if self._busy or self._probing:
            return None
        self._probing = True

        def done(outcome):
            self._probing = False
            return self._on_probe(outcome)

        def failed(f):
            self._probing = False
            log.error("line %s: keepalive probe failed: %s", self.line.config.name,
                      f.getErrorMessage())
        return self.probe.probe().addCallbacks(done, failed)

    def _on_probe(self, outcome: str):
        from telephony.keepalive import NO_ANSWER, UNBOUND
        name = self.line.config.name
        was = self.server_answering
        self.last_probe = outcome
        if outcome == NO_ANSWER:
            if was is not False:
                log.warning("line %s: SIP server %s:%s does not answer the keepalive", name,
                            self.line.config.server.host, self.line.config.server.port)
            self.server_answering = False
            return None
        self.server_answering = True
        if was is False:
            reason = "server answers again"
        elif outcome == UNBOUND:
            reason = "server does not know the line"
        elif self.need_register:
            reason = "retry of a failed REGISTER"
        elif not self.line.healthy:
            reason = "phone stopped"
        else:
            return None
        log.warning("line %s: registering again now (%s)", name, reason)
        return self.register_now(reason)

    def register_now(self, reason: str):
        """Send a REGISTER (or restart the phone) in a thread; a failure is counted and
        retried soon. Returns the Deferred (None when one is already under way)."""
        if self._busy or not self.running:
            return None
        self._busy = True
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        d = self._run_blocking(self.line.reregister)

        def done(ok):
            self._busy = False
            self.history.append((self.clock.seconds(), reason, bool(ok)))
            if ok:
                self.need_register = False
                self._retry_delay = self.retry_s
            else:
                self._failed(reason, "refused")
            return ok

        def failed(f):
            self._busy = False
            self.history.append((self.clock.seconds(), reason, False))
            self._failed(reason, f.getErrorMessage())
            return False
        return d.addCallbacks(done, failed)

    def _failed(self, reason: str, why: str) -> None:
        self.failures += 1
        self.need_register = True
        log.warning("line %s: REGISTER (%s) failed: %s", self.line.config.name, reason, why)
        if not self.running:
            return
        if self.keepalive_interval > 0 and self.server_answering is False:
            return        # the keepalive registers as soon as the server answers again
        delay = self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, max(self.retry_s, self.interval))
        self._retry_call = self.clock.callLater(delay, self._retry)

    def _retry(self) -> None:
        self._retry_call = None
        if self.need_register:
            self.register_now("retry of a failed REGISTER")

    def stopService(self):
        """Stop the watchdog, the keepalive and the phone (hangs up calls, deregisters)."""
        Service.stopService(self)
        for loop in (self._watchdog, self._keepalive):
            if loop is not None and loop.running:
                loop.stop()
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        if self._port is not None:
            self._port.stopListening()
            self._port = None
        return self._run_blocking(self.line.stop)


class TelephonyService(MultiService):
    """All lines of a deployment, the ASR pool and the recording retention."""

    def __init__(self, config: TelephonyConfig, sink, engine=None, *, reactor, clock=None,
                 prompts_factory=PromptSet):
        MultiService.__init__(self)
        self.config = config
        self.reactor = reactor
        self.clock = clock or reactor
        if engine is None:
            engine = make_engine(config.asr.engine, config.asr.model_path, config.asr.url,
                                 config.asr.partial_ms)
        self.engine = engine
        self.pool = TranscriptionPool(engine, workers=config.asr.workers or None,
                                      max_streams=config.asr.max_streams or None,
                                      chunk_ms=config.asr.chunk_ms)
        self.bridge = SinkBridge(sink, reactor)
        self.lines: list[SipLine] = []
        for lc in config.lines:
            prompts = prompts_factory(lc.prompts_dir or config.prompts_dir, lc.hotline,
                                      lc.language)
            line = SipLine(lc, prompts=prompts, pool=self.pool, bridge=self.bridge,
                           vad=config.vad, timeouts=config.timeouts,
                           recordings_dir=config.recordings.directory,
                           synthesize=lambda text, v=lc.language: synthesize(text, v))
            self.lines.append(line)
            t = config.timeouts
            LineService(line, reactor, self.clock, t.reregister_interval_s,
                        keepalive_interval_s=t.keepalive_interval_s,
                        keepalive_timeout_s=t.keepalive_timeout_s,
                        retry_s=t.reregister_retry_s).setServiceParent(self)
        self._retention: Optional[task.LoopingCall] = None

    def startService(self):
        """Start every line, the daily retention sweep; log uncaught thread exceptions."""
        install_thread_exception_logging()
        MultiService.startService(self)
        self._retention = task.LoopingCall(self._prune)
        self._retention.clock = self.clock
        self._retention.start(86400, now=True)

    def when_ready(self):
        """A Deferred firing when every line registered, failing with the first line that
        could not (the app should stop with that reason). Call after startService."""
        return defer.gatherResults([s.ready for s in self if isinstance(s, LineService)],
                                   consumeErrors=True)

    def _prune(self):
        return threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), prune_recordings,
            self.config.recordings.directory, self.config.recordings.retention_days, time.time())

    def stopService(self):
        """Stop the lines, then the ASR pool."""
        if self._retention is not None and self._retention.running:
            self._retention.stop()
        d = MultiService.stopService(self)

        def shutdown_pool(result):
            self.pool.shutdown(wait=False)
            return result
        return d.addBoth(shutdown_pool)
