"""wrk, the load generator of every benchmark: ``wrk(url, ...)`` measures a route for a duration with a
generated Lua script (method, body, headers); ``wrk_replay(url, requests)`` sends a fixed list of requests
once each (a Lua script reading a request file); ``parse_wrk`` reads the JSON the scripts print.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field

from bench.harness import USER_AGENT, fetch

PERCENTILES = (50, 75, 90, 95, 99)


@dataclass
class WrkResult:
    url: str
    requests: int
    seconds: float
    rps: float
    latency_ms: dict[str, float]  # "p50", "p75", "p90", "p95", "p99", "max", "mean"
    status_errors: int  # responses with HTTP status >= 400
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout

    @property
    def errors(self) -> int:
        return self.status_errors + sum(self.socket_errors.values())


def lua_string(value: str) -> str:
    """A Lua string literal (byte escapes, so any text survives)."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(method: str = "GET", body: str | None = None, headers: dict | None = None) -> str:
    lines = [f"wrk.method = {lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    percentiles = ", ".join(f'"p{p}", latency:percentile({p}) / 1000' for p in PERCENTILES)
    lines.append(f"""
done = function(summary, latency, requests)
  local values = {{"requests", summary.requests, "duration_us", summary.duration,
    "status", summary.errors.status, "connect", summary.errors.connect, "read", summary.errors.read,
    "write", summary.errors.write, "timeout", summary.errors.timeout,
    "mean", latency.mean / 1000, "max", latency.max / 1000, {percentiles}}}
  local parts = {{}}
  for i = 1, #values, 2 do
    parts[#parts + 1] = string.format('"%s": %.3f', values[i], values[i + 1])
  end
  io.write("BENCH_JSON {{" .. table.concat(parts, ", ") .. "}}\\n")
end
""")
    return "\n".join(lines)


def wrk(url: str, *, duration: float = 10, threads: int = 2, connections: int = 32, method: str = "GET",
        body: str | None = None, headers: dict | None = None, expect_status: int | tuple = (200,),
        timeout: str = "10s") -> WrkResult:
    """Measure ``url`` with wrk; refuse to if one request does not answer ``expect_status``."""
    expected = (expect_status,) if isinstance(expect_status, int) else tuple(expect_status)
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    status, _ = fetch(url, method=method, body=body, headers=headers)
    if status not in expected:
        raise RuntimeError(f"{method} {url} answered {status}, expected {expected}; not measuring it")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="ops-bench-", delete=False) as script:
        script.write(wrk_script(method, body, headers))
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", f"--timeout={timeout}",
                   "--latency", "-s", script.name, url]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script.name)
    return parse_wrk(url, completed.stdout, completed.stderr)


@dataclass
class Replay:
    """One request of a fixed list (``wrk_replay``)."""

    method: str
    path: str
    body: str | None = None
    headers: dict = field(default_factory=dict)

    def line(self) -> str:
        fields = [self.method, self.path, self.body or "", *(f"{k}: {v}" for k, v in self.headers.items())]
        if any("\t" in f or "\n" in f or "\r" in f for f in fields):
            raise ValueError(f"a replayed request cannot hold tabs or line breaks: {self.path}")
        return "\t".join(fields)


REPLAY_LUA = r"""
-- Replay a fixed list of requests once: thread k of T takes lines k, k+T, k+2T ... of the file, each of its
-- connections taking the next; when a thread's share is out its idle connections wait (delay), and once
-- every answer is in the thread says so. wrk would sleep out its -d; the harness interrupts it (SIGINT)
-- when every thread is done, so the duration wrk reports is the burst's own.
local file, total_threads = %(file)s, %(threads)d
local threads, next_thread = {}, 0
setup = function(thread)
  thread:set("offset", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end
init = function(args)
  mine, index = {}, 0
  for line in io.lines(file) do
    if index %% total_threads == offset then
      local fields = {}
      for f in (line .. "	"):gmatch("([^	]*)	") do fields[#fields + 1] = f end
      local headers = {}
      for k = 4, #fields do
        local name, value = fields[k]:match("^([^:]+):%%s*(.*)$")
        headers[name] = value
      end
      local body = fields[3] ~= "" and fields[3] or nil
      mine[#mine + 1] = wrk.format(fields[1], fields[2], headers, body)
    end
    index = index + 1
  end
  reserved, sent, answered, failed = 0, 0, 0, 0
  -- wrk calls request() once in its first thread before connecting, to check the script, and never sends
  -- that one: it must not take a request off the list
  checked = offset ~= 0
end
delay = function()  -- before each request: reserve one, or idle while the last answers come in
  if reserved >= #mine then return 3600000 end
  reserved = reserved + 1
  return 0
end
request = function()
  if not checked then
    checked = true
    return wrk.format("GET", "/")
  end
  sent = sent + 1
  return mine[sent]
end
response = function(status, headers, body)
  answered = answered + 1
  if status >= 400 then failed = failed + 1 end
  if answered == #mine then
    -- the harness stops wrk (SIGINT) once every thread said so (not thread:stop(), which in wrk 4.1 stops
    -- every thread, cutting off the answers the others still wait for)
    io.write("REPLAY_THREAD_DONE\n")
    io.flush()
  end
end
%(done)s
"""


def wrk_replay(url: str, requests: list[Replay], *, threads: int = 1, connections: int = 32,
               timeout: str = "30s", max_seconds: float = 900) -> WrkResult:
    """Send each of ``requests`` exactly once with wrk (a Lua script reads them from a file; see
    ``REPLAY_LUA``), and return wrk's numbers over the burst: requests/s over the time until the last
    answer, latency percentiles, errors (status >= 400; a request never answered counts as a timeout).
    One wrk thread by default: with two, wrk 4.1 (Debian) lost the last answers of the second thread in
    this mode; one thread's event loop keeps 32 connections busy far beyond these routes' rates."""
    threads = max(1, min(threads, len(requests)))
    connections = max(threads, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", prefix="ops-bench-replay-", delete=False) as listing:
        listing.write("\n".join(r.line() for r in requests) + "\n")
    done = wrk_script().split("\n", 1)[1].replace(
        '"mean", latency.mean', '"answered", answered_all, "failed", failed_all, "mean", latency.mean').replace(
        "done = function(summary, latency, requests)\n",
        "done = function(summary, latency, requests)\n  answered_all, failed_all = 0, 0\n"
        "  for _, t in ipairs(threads) do\n    answered_all = answered_all + t:get(\"answered\")\n"
        "    failed_all = failed_all + t:get(\"failed\")\n  end\n")
    script_text = REPLAY_LUA % {"file": lua_string(listing.name), "threads": threads, "done": done}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="ops-bench-replay-", delete=False) as script:
        script.write(script_text)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max_seconds:g}s", f"--timeout={timeout}",
               "--latency", "-s", script.name, url]
    lines: list[str] = []
    try:
        with tempfile.TemporaryFile("w+") as errors:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
            finished = 0
            for line in process.stdout:  # until every thread said it is done (or wrk ends by itself)
                lines.append(line)
                if line.startswith("REPLAY_THREAD_DONE"):
                    finished += 1
                    if finished == threads:
                        process.send_signal(signal.SIGINT)  # wrk prints its summary over the time so far
            process.wait(timeout=60)
            errors.seek(0)
            stderr = errors.read()
    finally:
        os.unlink(script.name)
        os.unlink(listing.name)
    stdout = "".join(lines)
    result = parse_wrk(url, stdout, stderr)
    extra = json.loads(next(ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON "))[11:])
    missing = len(requests) - int(extra["answered"])
    if missing > 0:
        result.socket_errors["timeout"] += missing
    return result


def warm(url: str, *, seconds: float = 1, **kwargs) -> None:
    """A short unmeasured run, so every worker has compiled its templates and filled its caches."""
    wrk(url, duration=seconds, connections=4, **kwargs)


def parse_wrk(url: str, stdout: str, stderr: str = "") -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{stdout}\n{stderr}")
    data = json.loads(line[len("BENCH_JSON "):])
    seconds = data["duration_us"] / 1e6
    latency = {f"p{p}": round(data[f"p{p}"], 2) for p in PERCENTILES}
    latency.update(mean=round(data["mean"], 2), max=round(data["max"], 2))
    return WrkResult(url=url, requests=int(data["requests"]), seconds=round(seconds, 2),
                     rps=round(data["requests"] / seconds, 1) if seconds else 0.0, latency_ms=latency,
                     status_errors=int(data["status"]),
                     socket_errors={k: int(data[k]) for k in ("connect", "read", "write", "timeout")})


