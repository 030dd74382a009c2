"""Video files: read the duration at upload (and refuse what a browser cannot play), make demo videos.

Both use PyAV (the ``av`` package, which bundles FFmpeg with libx264 and libvpx).
"""
from __future__ import annotations

import colorsys
import hashlib
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from flask_babel import gettext as _

from core.storage import UploadError

# Video codecs browsers play in MP4/WebM. MPEG-4 part 2 is accepted for MP4 only because it is the
# fallback of make_demo_video when the bundled FFmpeg lacks an H.264 encoder (Safari plays it).
PLAYABLE_CODECS = {
    "mp4": {"h264", "hevc", "av1", "mpeg4"},
    "webm": {"vp8", "vp9", "av1"},
}


@dataclass(frozen=True)
class VideoInfo:
    duration_seconds: int
    container: str  # "mp4" or "webm"


def _container_name(fmt_name: str) -> str | None:
    names = set(fmt_name.split(","))
    if "mp4" in names or "mov" in names:
        return "mp4"
    if "webm" in names or "matroska" in names:
        return "webm"
    return None


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Duration (whole seconds, at least 1) and container of a video; UploadError if not playable."""
    unreadable = _("无法读取这个视频：文件已损坏或不是有效的 MP4/WebM 视频。")
    try:
        with av.open(os.fspath(path), mode="r") as container:
            kind = _container_name(container.format.name)
            if kind is None:
                raise UploadError(unreadable)
            if not container.streams.video:
                raise UploadError(_("这个文件里没有视频画面。"))
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in PLAYABLE_CODECS[kind]:
                raise UploadError(_("视频编码 %(codec)s 无法在浏览器中播放，请转为 H.264（MP4）或 VP9（WebM）后再上传。",
                                    codec=codec))
            duration = _duration(container, stream)
            if not _decodes_a_frame(container, stream):
                raise UploadError(unreadable)
    except UploadError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration):
        raise UploadError(unreadable)
    if duration is None or duration <= 0:
        raise UploadError(_("无法读取视频时长：文件可能已损坏。"))
    return VideoInfo(duration_seconds=max(1, round(duration)), container=kind)


def _duration(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    last = None  # no duration in the header (some WebM files): the last packet's end time
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = end if last is None else max(last, end)
    container.seek(0)
    return last


def _decodes_a_frame(container, stream) -> bool:
    container.seek(0)
    for frame in container.decode(stream):
        return frame.width > 0
    return False


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


def make_demo_video(path: str | os.PathLike, seconds: int, label: str, container: str = "mp4",
                    width: int = 160, height: int = 90, fps: int = 12) -> Path:
    """Write a small video: a coloured background (its hue chosen by ``label``) with a bright bar
    sweeping across, ``seconds`` long. MP4 uses H.264 (MPEG-4 part 2 if no H.264 encoder); WebM VP9
    (or VP8). Deterministic for the same arguments. ``label`` also goes into the title metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if container == "mp4":
        codec = "libx264" if has_encoder("libx264") else "mpeg4"
        pix_fmt = "yuv420p"
    elif container == "webm":
        codec = "libvpx-vp9" if has_encoder("libvpx-vp9") else "libvpx"
        pix_fmt = "yuv420p"
    else:
        raise ValueError(f"unknown container {container!r}")
    hue = int(hashlib.sha256(label.encode("utf-8")).hexdigest()[:4], 16) / 0xFFFF
    background = bytes(round(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.8)) + b"\xff"
    bar = bytes(round(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.3, 1.0)) + b"\xff"
    frames = max(1, int(seconds * fps))
    tmp = path.with_name(path.name + ".part")
    try:
        with av.open(str(tmp), mode="w", format=container) as out:
            out.metadata["title"] = label
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            if codec == "libx264":
                stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            elif codec.startswith("libvpx"):
                stream.options = {"deadline": "realtime", "cpu-used": "8", "b": "200k"}
            bar_width = max(4, width // 8)
            for i in range(frames):
                x0 = int((width - bar_width) * (0.5 - 0.5 * math.cos(2 * math.pi * i / max(frames, 2))))
                row = bytearray(background * width)
                row[x0 * 4:(x0 + bar_width) * 4] = bar * bar_width
                image = bytes(row) * height
                frame = av.VideoFrame.from_bytes(image, width, height, format="rgba")
                frame = frame.reformat(format=pix_fmt)
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
