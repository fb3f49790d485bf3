"""A private SIP setup on 127.0.0.1: kamailio (registrar + proxy) and SIPp callers.

Used by `hotline demo` (to place a few real calls to the demo's lines) and by the test and
benchmark harness (telephony.testing re-exports everything here). Nothing listens beyond
127.0.0.1. The programs come from scripts/setup-telephony.sh (Debian: kamailio, sip-tester).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from typing import Callable, Optional

from telephony.audio import linear16_to_ulaw

KAMAILIO_CFG = """\
#!KAMAILIO
# Minimal registrar + proxy for tests: no auth, locations in memory.
debug=1
log_stderror=yes
fork=yes
children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
modparam("usrloc", "db_mode", 0)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    # why: pyVoIP 1.6.8 silently drops an INVITE whose Supported header is empty
    remove_hf("Supported");
    if (is_method("OPTIONS") && uri==myself && $rU==$null) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("REGISTER")) {{ save("location"); exit; }}
    if (has_totag()) {{
        loose_route();
        t_relay();
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}
"""


class ToolMissing(RuntimeError):
    """A required program is not installed; the message says how to get it."""


def require_tools(*names: str) -> None:
    """Raise ToolMissing naming every missing program (installed by setup-telephony.sh)."""
    missing = [n for n in names if not shutil.which(n)]
    if missing:
        raise ToolMissing(f"missing {', '.join(missing)}: run scripts/setup-telephony.sh "
                          f"(Debian packages kamailio, sip-tester, espeak-ng, sox)")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sip_options_ok(port: int, timeout_s: float = 0.3) -> bool:
    """Send an OPTIONS to 127.0.0.1:port; True if any SIP reply comes back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout_s)
        lp = s.getsockname()[1]
        cid = uuid.uuid4().hex
        msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{cid[:12]}\r\n"
               f"From: <sip:probe@127.0.0.1:{lp}>;tag={cid[:8]}\r\n"
               f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {cid}\r\nCSeq: 1 OPTIONS\r\n"
               f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        try:
            s.sendto(msg.encode(), ("127.0.0.1", port))
            data = s.recv(4096)
            return data.startswith(b"SIP/2.0")
        except (socket.timeout, OSError):
            return False


def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.05,
             what: str = "condition") -> None:
    """Poll `condition` until true; raise TimeoutError naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:.1f} s waiting for {what}")
        time.sleep(interval_s)


class Kamailio:
    """A private kamailio (registrar + proxy) on 127.0.0.1:port, run in the foreground."""

    def __init__(self, workdir: str, port: int):
        self.workdir, self.port = workdir, port
        os.makedirs(workdir, exist_ok=True)
        self.cfg = os.path.join(workdir, "kamailio.cfg")
        with open(self.cfg, "w") as f:
            f.write(KAMAILIO_CFG.format(port=port))
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(workdir, "kamailio.log")

    def check_config(self) -> None:
        """Run `kamailio -c` on the generated config; raise with its output if it fails."""
        r = subprocess.run(["kamailio", "-c", "-f", self.cfg], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"kamailio rejected {self.cfg}:\n{r.stderr[-2000:]}")

    def start(self, timeout_s: float = 10.0) -> None:
        """Start and wait until it answers OPTIONS."""
        rundir = os.path.join(self.workdir, "run")
        os.makedirs(rundir, exist_ok=True)
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            ["kamailio", "-f", self.cfg, "-DD", "-E", "-Y", rundir, "-m", "64", "-M", "8"],
            stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: self.proc.poll() is None and sip_options_ok(self.port), timeout_s,
                     what=f"kamailio on port {self.port}")
        except TimeoutError:
            self.stop()
            with open(self.log_path) as f:
                raise RuntimeError(f"kamailio did not start:\n{f.read()[-2000:]}")

    def stop(self) -> None:
        """Terminate it (its in-memory registrations are lost, as in a real restart)."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
            self._log.close()

    def restart(self) -> None:
        """Stop and start again."""
        self.stop()
        self.start()


def write_ulaw(pcm16: bytes, out_path: str) -> None:
    """Raw mu-law file for SIPp's rtp_stream (which would play a WAV header as audio)."""
    with open(out_path, "wb") as f:
        f.write(linear16_to_ulaw(pcm16))


def uac_scenario(*, dtmf_pcaps: tuple[str, ...] = (), dtmf_gap_ms: int = 400,
                 audio: Optional[str] = None, pause_before_ms: int = 300,
                 pause_after_ms: int = 8000, caller: str = "13800138000",
                 pai: Optional[str] = None, send_bye: bool = True,
                 audio_first: bool = False) -> str:
    """A SIPp caller: INVITE offering PCMU + telephone-event, ACK, DTMF digits (RFC 2833
    pcaps), an audio stream (raw mu-law file; before the digits if audio_first), a pause,
    then BYE."""
    pai_line = f"      P-Asserted-Identity: <sip:{pai}@[local_ip]>\n" if pai else ""
    steps = [f'  <pause milliseconds="{pause_before_ms}"/>']
    stream = f'  <nop><action><exec rtp_stream="{audio},1,0"/></action></nop>'
    if audio and audio_first:
        # why: a real phone keeps sending (silent) audio while the caller presses keys
        steps.append(stream)
    for p in dtmf_pcaps:
        steps.append(f'  <nop><action><exec play_pcap_audio="{p}"/></action></nop>')
        steps.append(f'  <pause milliseconds="{dtmf_gap_ms}"/>')
    if audio and not audio_first:
        steps.append(stream)
    steps.append(f'  <pause milliseconds="{pause_after_ms}"/>')
    media = "\n".join(steps)
    bye = """
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 2 BYE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
""" if send_bye else ""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]hl[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
{pai_line}      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{media}{bye}
</scenario>
"""


class Sipp:
    """Runs SIPp with a scenario file against the private kamailio."""

    def __init__(self, workdir: str, kamailio_port: int):
        self.workdir, self.kamailio_port = workdir, kamailio_port

    def start(self, scenario_xml: str, service: str, calls: int = 1, rate: int = 50,
              name: str = "uac", timeout_s: float = 60.0) -> subprocess.Popen:
        """Start SIPp in the background (`calls` calls, at most `calls` at once)."""
        path = os.path.join(self.workdir, f"{name}.xml")
        with open(path, "w") as f:
            f.write(scenario_xml)
        sip_port, media_port = free_udp_port(), _free_even_port()
        self.log_path = os.path.join(self.workdir, f"{name}.out")
        self._out = open(self.log_path, "w")
        cmd = ["sipp", f"127.0.0.1:{self.kamailio_port}", "-sf", path, "-s", service,
               "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(sip_port),
               "-mp", str(media_port), "-m", str(calls), "-l", str(calls), "-r", str(rate),
               "-nostdin", "-timeout", f"{int(timeout_s)}s", "-timeout_error",
               "-trace_err", "-error_file", os.path.join(self.workdir, f"{name}.err")]
        return subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                cwd=self.workdir)

    def run(self, *args, **kwargs) -> int:
        """Start SIPp and wait for it; returns its exit code (0: every call succeeded)."""
        p = self.start(*args, **kwargs)
        try:
            return p.wait(kwargs.get("timeout_s", 60.0) + 10)
        finally:
            if p.poll() is None:
                p.kill()
            self._out.close()


def _free_even_port() -> int:
    # why: SIPp uses media_port (RTP) and media_port+2 for its streams; keep it even and free
    for _ in range(50):
        p = free_udp_port()
        if p % 2 == 0 and p < 65000:
            return p
    return 40000


def dtmf_pcap(key: str, path: str) -> str:
    """Write a pcap holding one RFC 2833 telephone event (any of 0-9 * # A-D) for SIPp's
    play_pcap_audio: 8 packets 20 ms apart, the first with the marker bit, the last three
    with the end bit (SIPp ships only digits 0-9; menus also need '#')."""
    import struct
    event = "0123456789*#ABCD".index(key)

    def checksum(header: bytes) -> int:
        total = sum(struct.unpack("!10H", header))
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(10):
        end = i >= 7
        duration = min(i, 7) * 320 + 320 if end else i * 320
        rtp = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, 1000 + min(i, 7),
                          160000, 0x1234ABCD)
        rtp += struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        usec = 20000 * min(i, 7) + (i - 7 if end else 0) * 40
        out.append(struct.pack("<IIII", 1000, usec, len(frame), len(frame)) + frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))
    return path
