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
from typing import Optional

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
    """Registers one SIP line at start, keeps it registered, stops its phone at shutdown."""

    def __init__(self, line: SipLine, reactor, clock=None, reregister_interval_s: float = 60.0):
        self.line = line
        self.name = f"line-{line.config.name}"
        self.reactor = reactor
        self.clock = clock or reactor
        self.interval = reregister_interval_s
        self._watchdog: Optional[task.LoopingCall] = None
        self._busy = False
        self.failures = 0

    def startService(self):
        """Register in a thread; the Deferred fails (start-up fails loudly) if it cannot."""
        Service.startService(self)
        d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self.line.start)
        self.ready = defer.Deferred()

        def started(_):
            self._watchdog = task.LoopingCall(self.check)
            self._watchdog.clock = self.clock
            self._watchdog.start(self.interval, now=False).addErrback(
                lambda f: log.error("watchdog stopped: %s", f.getErrorMessage()))
            self.ready.callback(self.line)

        def failed(f):
            log.error("line %s failed to start: %s", self.line.config.name, f.getErrorMessage())
            self.ready.errback(f)
        d.addCallbacks(started, failed)
        return self.ready

    def check(self):
        """Watchdog tick: re-register (or restart a phone pyVoIP gave up on); a failure is
        logged and retried at the next tick."""
        if self._busy:
            return None
        self._busy = True
        d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                      self.line.reregister)

        def done(ok):
            self._busy = False
            if not ok:
                self.failures += 1
                log.warning("line %s: re-registration refused", self.line.config.name)
            return ok

        def failed(f):
            self._busy = False
            self.failures += 1
            log.warning("line %s: re-registration failed: %s", self.line.config.name,
                        f.getErrorMessage())
            return False
        return d.addCallbacks(done, failed)

    def stopService(self):
        """Stop the watchdog and the phone (hangs up calls, deregisters)."""
        Service.stopService(self)
        if self._watchdog is not None and self._watchdog.running:
            self._watchdog.stop()
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                         self.line.stop)


class TelephonyService(MultiService):
    """All lines of a deployment, the ASR pool and the recording retention."""

    def __init__(self, config: TelephonyConfig, sink, engine=None, *, reactor, clock=None,
                 prompts_factory=PromptSet):
        MultiService.__init__(self)
        self.config = config
        self.reactor = reactor
        self.clock = clock or reactor
        if engine is None:
            engine = make_engine(config.asr.engine, config.asr.model_path, config.asr.url)
        self.engine = engine
        self.pool = TranscriptionPool(engine, workers=config.asr.workers or None,
                                      max_streams=config.asr.max_streams or None)
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
            LineService(line, reactor, self.clock,
                        config.timeouts.reregister_interval_s).setServiceParent(self)
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
