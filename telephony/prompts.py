"""Voice prompts: generated with espeak-ng (Mandarin voice `cmn`) and sox, never downloaded.

`generate_prompts` runs at setup time (scripts/setup-telephony.sh) and writes 8 kHz mono 16-bit
WAV files into a git-ignored folder; `PromptSet` loads them into memory when a line starts.
Case status texts are open-ended, so `synthesize` speaks them at run time (a fraction of a second
of espeak-ng on a pyVoIP call thread, never on the reactor).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from typing import Iterable, Optional

from telephony.audio import SAMPLE_RATE, read_wav_linear16

# The fixed prompts every hotline uses. Greetings are per hotline (config: greeting).
PROMPT_TEXTS: dict[str, str] = {
    "menu": "反映问题请按1，查询案件办理进度请按2，人工服务请按0。",
    "record": "请在提示音后说明您要反映的问题和地点，说完请稍候。",
    "operator": "人工座席正忙，请在提示音后留言，说完请稍候。",
    "status_enter": "请输入您的案件编号，以井号键结束。",
    "status_unknown": "没有查到这个案件编号。",
    "case_number": "您的案件编号是",
    "thanks": "感谢您的来电，再见。",
    "silent": "没有听到您的声音，请稍后再拨，再见。",
}
DIGIT_TEXTS = {"0": "零", "1": "幺", "2": "二", "3": "三", "4": "四",
               "5": "五", "6": "六", "7": "七", "8": "八", "9": "九"}
DEFAULT_GREETING = "您好，这里是{hotline}城市服务热线。"


class PromptError(RuntimeError):
    """A prompt could not be generated or loaded; the message names the file or tool."""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise PromptError(f"{tool} not found: run scripts/setup-telephony.sh (Debian package "
                          f"{'espeak-ng' if tool == 'espeak-ng' else tool})")
    return path


def speak_to_wav(text: str, out_path: str, voice: str = "cmn", speed: int = 190) -> None:
    """Speak `text` with espeak-ng and convert it with sox to 8 kHz mono 16-bit WAV."""
    espeak, sox = _require("espeak-ng"), _require("sox")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "speech.wav")
        r = subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", raw, text],
                           capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(raw):
            raise PromptError(f"espeak-ng failed for {out_path}: {r.stderr.strip()}")
        r = subprocess.run([sox, raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                            "-e", "signed-integer", out_path], capture_output=True, text=True)
        if r.returncode != 0:
            raise PromptError(f"sox failed for {out_path}: {r.stderr.strip()}")


def beep_to_wav(out_path: str, seconds: float = 0.3, freq: int = 1000) -> None:
    """A short sine tone marking the start of recording."""
    sox = _require("sox")
    r = subprocess.run([sox, "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", out_path,
                        "synth", str(seconds), "sine", str(freq), "vol", "0.3"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise PromptError(f"sox failed for {out_path}: {r.stderr.strip()}")


def generate_prompts(out_dir: str, hotlines: Iterable[tuple[str, str]] = (),
                     voice: str = "cmn", force: bool = False,
                     texts: Optional[dict[str, str]] = None) -> list[str]:
    """Write every prompt for `voice` into out_dir; hotlines are (number, greeting text) pairs.

    `texts` overrides some prompt texts (tests use short ones to keep calls short). Existing
    files are kept unless force is set (setup is re-runnable). Returns the names written.
    """
    os.makedirs(out_dir, exist_ok=True)
    jobs = dict(PROMPT_TEXTS)
    jobs.update(texts or {})
    jobs.update({f"digit_{d}": t for d, t in DIGIT_TEXTS.items()})
    for number, greeting in hotlines:
        jobs[f"greeting_{number}"] = greeting or DEFAULT_GREETING.format(hotline=number)
    written = []
    for name, text in jobs.items():
        path = os.path.join(out_dir, name + ".wav")
        if force or not os.path.exists(path):
            speak_to_wav(text, path, voice)
            written.append(name)
    beep = os.path.join(out_dir, "beep.wav")
    if force or not os.path.exists(beep):
        beep_to_wav(beep)
        written.append("beep")
    return written


@functools.lru_cache(maxsize=256)
def synthesize(text: str, voice: str = "cmn") -> bytes:
    """Speak a run-time text (a case status) to 16-bit 8 kHz samples; results are cached."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "say.wav")
        speak_to_wav(text, path, voice)
        return read_wav_linear16(path)


class PromptSet:
    """The prompts of one line, loaded into memory as 16-bit 8 kHz samples."""

    REQUIRED = tuple(PROMPT_TEXTS) + tuple(f"digit_{d}" for d in DIGIT_TEXTS) + ("beep",)

    def __init__(self, directory: str, hotline: str, voice: str = "cmn"):
        self.directory = directory
        self.voice = voice
        self.audio: dict[str, bytes] = {}
        missing = []
        for name in self.REQUIRED + (f"greeting_{hotline}",):
            path = os.path.join(directory, name + ".wav")
            if not os.path.exists(path):
                missing.append(name + ".wav")
                continue
            try:
                self.audio[name] = read_wav_linear16(path)
            except (ValueError, EOFError, OSError) as e:
                raise PromptError(f"prompt {path} unreadable: {e}") from e
        if missing:
            raise PromptError(f"prompts missing in {directory}: {', '.join(missing)} "
                              f"(run scripts/setup-telephony.sh)")
        self.audio["greeting"] = self.audio[f"greeting_{hotline}"]

    def get(self, name: str) -> bytes:
        """Samples of a named prompt."""
        return self.audio[name]

    def digits(self, number: str) -> bytes:
        """A case number spoken digit by digit (non-digits are skipped)."""
        return b"".join(self.audio[f"digit_{c}"] for c in number if c.isdigit())
