"""The static file responder: answer GET and HEAD for the files of one directory, the way IIS's static file
handler answers on HTTP.sys.

Responsibility: map the cooked URL path below a URL prefix to a file that stays inside the directory (symlinks
leaving it and hidden names are refused), evaluate the conditional headers (If-Match, If-Unmodified-Since,
If-None-Match, If-Modified-Since) against an ETag and Last-Modified made from size and modification time, and
answer with a file-handle data chunk (zero-copy sendfile) under HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES so the
driver answers Range requests (206, multipart/byteranges, 416). Directories give index.html, a listing when
enabled, or 404; a directory URL without its trailing slash is redirected. With a cache TTL, whole files go
with an HTTP_CACHE_POLICY (TimeToLive) so that the driver answers repeated requests from its response cache. It
must not parse Range itself, frame HTTP or decide what is cacheable: the driver does all three.

Example:
    files = StaticFiles("public", listing=True)
    async for request in queue:
        await files.respond(request, segments_below(request.path, depth=0))
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import Literal
from urllib.parse import quote

from httpsys.aio import CachePolicy, Headers, Request

__all__ = [
    "ListingEntry",
    "StaticFiles",
    "content_type",
    "evaluate_preconditions",
    "make_etag",
    "render_listing",
    "segments_below",
]

_CLOSE_AFTER_CANCEL = 1.0  # seconds: the reset connection is gone well before
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW
_ALLOWED_HIDDEN = frozenset({".well-known"})
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')
_PATH_SAFE = "/!$&'()*+,;=:@~-._"

# Types the web needs whatever /etc/mime.types says (mimetypes is the fallback for everything else).
_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".zip": "application/zip",
    ".gz": "application/gzip",
}


def content_type(name: str) -> str:
    """The Content-Type for a file name (text types say UTF-8).

    >>> content_type("a/b/Index.HTML"), content_type("x.unknown-ext")
    ('text/html; charset=utf-8', 'application/octet-stream')
    """
    ext = os.path.splitext(name)[1].lower()
    kind = _TYPES.get(ext) or mimetypes.guess_type("f" + ext, strict=False)[0] or "application/octet-stream"
    if kind.startswith("text/"):
        kind += "; charset=utf-8"
    return kind


def make_etag(st: os.stat_result, weak: bool = False) -> str:
    """An entity tag from the file's size and modification time (nanoseconds)."""
    tag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    return "W/" + tag if weak else tag


def _tags(value: str) -> list[tuple[bool, str]]:
    return [(bool(weak), opaque) for weak, opaque in _ENTITY_TAG.findall(value)]


def _http_date(value: str) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _joined(headers: Headers, name: str) -> str | None:
    values = headers.get_all(name)
    return ", ".join(values) if values else None


def evaluate_preconditions(method: str, headers: Headers, etag: str, mtime: int) -> int:
    """RFC 9110 §13.2.2 for a file that exists: 412, 304, or 200 (go on; Range is the driver's).

    `mtime` is the modification time in whole seconds (what Last-Modified can express).
    """
    weak_ours = etag.startswith("W/")
    opaque_ours = etag[2:] if weak_ours else etag
    opaque_ours = opaque_ours.strip('"')
    if_match = _joined(headers, "if-match")
    if if_match is not None:
        if if_match.strip() != "*" and not any(
            not weak and not weak_ours and opaque == opaque_ours for weak, opaque in _tags(if_match)
        ):
            return 412
    else:
        since = headers.get("if-unmodified-since")
        when = _http_date(since) if since is not None else None
        if when is not None and mtime > when:
            return 412
    if_none_match = _joined(headers, "if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*" or any(
            opaque == opaque_ours for _weak, opaque in _tags(if_none_match)
        ):
            return 304 if method in ("GET", "HEAD") else 412
        return 200
    if method in ("GET", "HEAD"):
        since = headers.get("if-modified-since")
        when = _http_date(since) if since is not None else None
        if when is not None and mtime <= when:
            return 304
    return 200


def segments_below(path: str, depth: int) -> list[str]:
    """The cooked path's segments after the first `depth` ones (the URL prefix's); a trailing '' marks '/'.

    >>> segments_below("/static/css/site.css", 1), segments_below("/static/", 1), segments_below("/static", 1)
    (['css', 'site.css'], [''], [])
    """
    return path.split("/")[1:][depth:]


@dataclass(frozen=True, slots=True)
class ListingEntry:
    name: str
    is_dir: bool
    size: int
    mtime: float


def _display(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "replace")


def _href(name: str) -> str:
    return quote(os.fsencode(name), safe="!$&'()*+,;=:@~-._")


def render_listing(url_path: str, entries: Sequence[ListingEntry], *, parent: bool) -> bytes:
    """The HTML page listing a directory (names escaped, links percent-encoded)."""
    title = html.escape(_display(url_path))
    rows = []
    if parent:
        rows.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
    for entry in entries:
        suffix = "/" if entry.is_dir else ""
        label = html.escape(_display(entry.name)) + suffix
        size = "-" if entry.is_dir else f"{entry.size:,}"
        when = formatdate(entry.mtime, usegmt=True)
        rows.append(
            f'<tr><td><a href="{html.escape(_href(entry.name))}{suffix}">{label}</a></td>'
            f'<td class="size">{size}</td><td>{when}</td></tr>'
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Index of {title}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}td{padding:.2rem 1rem .2rem 0}"
        ".size{text-align:right}</style></head>\n"
        f"<body><h1>Index of {title}</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Last modified</th></tr>\n"
        + "\n".join(rows)
        + "\n</table>\n<p><small>httpsys</small></p></body></html>\n"
    )
    return page.encode("utf-8")


class StaticFiles:
    """Answers GET/HEAD for the files under `root` (see the module docstring for the rules).

    `etag`: "strong" (the default; If-Range can then match) or "weak". `cache_ttl`: seconds for
    `Cache-Control: max-age` and for the driver's response cache (None: neither): a whole file sent for a GET
    goes with HttpCachePolicyTimeToLive `cache_ttl`, so the driver answers later GET and HEAD requests for the
    URL itself, for up to `cache_ttl` seconds, even if the file changes (0: `max-age=0`, nothing cached).
    `hidden`: serve names starting with '.' (otherwise only `.well-known` is served).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        listing: bool = False,
        etag: Literal["strong", "weak"] = "strong",
        cache_ttl: int | None = None,
        index: str = "index.html",
        hidden: bool = False,
    ) -> None:
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"not a directory: {os.fspath(root)!r}")
        self.listing = listing
        self.weak_etags = etag == "weak"
        self.cache_ttl = cache_ttl
        self.cache_policy = CachePolicy.time_to_live(cache_ttl) if cache_ttl else None
        self.index = index
        self.hidden = hidden

    # ----- mapping ---------------------------------------------------------------------------------------
    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def _visible(self, name: str) -> bool:
        return self.hidden or not name.startswith(".") or name in _ALLOWED_HIDDEN

    def locate(self, segments: Sequence[str]) -> str | None:
        """The real path for URL path segments, or None if it would leave the root or is hidden."""
        parts = [s for s in segments if s]
        for part in parts:
            if part in (".", "..") or "/" in part or "\x00" in part or not self._visible(part):
                return None
        real = os.path.realpath(os.path.join(self.root, *parts))
        return real if self._inside(real) else None

    # ----- responding ------------------------------------------------------------------------------------
    def _cache_headers(self) -> list[tuple[str, str]]:
        if self.cache_ttl is None:
            return []
        return [("Cache-Control", f"max-age={self.cache_ttl}")]

    async def respond(self, request: Request, segments: Sequence[str]) -> int:
        """Answer `request` for the path `segments` below the URL prefix; returns the status passed to the
        driver (a 200 may reach the client as 206 or 416: the driver evaluates Range)."""
        method = request.method
        if method not in ("GET", "HEAD"):
            return await self._text(request, 405, "405 Method Not Allowed", [("Allow", "GET, HEAD")])
        slash = bool(segments) and segments[-1] == ""
        real = self.locate(segments)
        if real is None:
            return await self._text(request, 404, "404 Not Found")
        fd, status = _open(real)
        if fd < 0:
            return await self._text(request, status, "403 Forbidden" if status == 403 else "404 Not Found")
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                os.close(fd)
                fd = -1
                if not slash:
                    return await self._redirect_to_directory(request)
                return await self._directory(request, real)
            if not stat.S_ISREG(st.st_mode) or slash:
                return await self._text(request, 404, "404 Not Found")
            owned, fd = fd, -1
            return await self._file(request, owned, st, real)
        finally:
            if fd >= 0:
                os.close(fd)

    async def _file(self, request: Request, fd: int, st: os.stat_result, real: str) -> int:
        """Answer with the open regular file `fd`, which this method owns (and closes)."""
        try:
            return await self._send_file(request, fd, st, real)
        except asyncio.CancelledError:
            # The driver may still be sending from `fd`: cancel the request (its connection is reset) and close
            # the descriptor only after the driver has let go of it, so the number cannot be reused under it.
            request.cancel()
            asyncio.get_running_loop().call_later(_CLOSE_AFTER_CANCEL, os.close, fd)
            fd = -1
            raise
        finally:
            if fd >= 0:
                os.close(fd)

    async def _send_file(self, request: Request, fd: int, st: os.stat_result, real: str) -> int:
        etag = make_etag(st, self.weak_etags)
        mtime = int(st.st_mtime)
        validators = [
            ("ETag", etag),
            ("Last-Modified", formatdate(mtime, usegmt=True)),
            *self._cache_headers(),
        ]
        decision = evaluate_preconditions(request.method, request.headers, etag, mtime)
        if decision == 304:
            await request.respond(304, validators)
            return 304
        if decision == 412:
            return await self._text(request, 412, "412 Precondition Failed")
        headers = [
            ("Content-Type", content_type(real)),
            *validators,
            ("Accept-Ranges", "bytes"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if request.method == "HEAD":
            headers.append(("Content-Length", str(st.st_size)))
            await request.respond(200, headers)
            return 200
        await request.send_file(fd, 200, headers, process_ranges=True, cache=self.cache_policy)
        return 200

    async def _directory(self, request: Request, real: str) -> int:
        index = os.path.realpath(os.path.join(real, self.index))
        if self._inside(index):
            fd, _status = _open(index)
            if fd >= 0:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    return await self._file(request, fd, st, index)
                os.close(fd)
        if not self.listing:
            return await self._text(request, 404, "404 Not Found")
        entries = self._entries(real)
        body = render_listing(request.path, entries, parent=real != self.root)
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return await self._send(request, 200, headers, body)

    def _entries(self, real: str) -> list[ListingEntry]:
        entries: list[ListingEntry] = []
        try:
            scan = list(os.scandir(real))
        except OSError:
            return entries
        for item in scan:
            if not self._visible(item.name):
                continue
            try:
                if item.is_symlink() and not self._inside(os.path.realpath(item.path)):
                    continue
                st = item.stat()
            except OSError:
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if not is_dir and not stat.S_ISREG(st.st_mode):
                continue
            entries.append(ListingEntry(item.name, is_dir, st.st_size, st.st_mtime))
        entries.sort(key=lambda e: (not e.is_dir, e.name))
        return entries

    async def _redirect_to_directory(self, request: Request) -> int:
        location = quote(request.path + "/", safe=_PATH_SAFE, errors="surrogateescape")
        if request.query:
            location += "?" + request.query
        headers = [("Location", location)]
        return await self._text(request, 301, f"301 Moved Permanently: {location}", headers)

    async def _text(
        self, request: Request, status: int, text: str, headers: list[tuple[str, str]] | None = None
    ) -> int:
        return await self._send(
            request,
            status,
            [("Content-Type", "text/plain; charset=utf-8"), *(headers or [])],
            (text + "\n").encode(),
        )

    async def _send(self, request: Request, status: int, headers: list[tuple[str, str]], body: bytes) -> int:
        if request.method == "HEAD":
            await request.respond(status, [*headers, ("Content-Length", str(len(body)))])
        else:
            await request.respond(status, headers, body)
        return status


def _open(path: str) -> tuple[int, int]:
    """(fd, 0), or (-1, 404/403). O_NONBLOCK keeps a FIFO from blocking the loop; O_NOFOLLOW refuses a
    symlink swapped in after `locate` resolved the path."""
    try:
        return os.open(path, _OPEN_FLAGS), 0
    except PermissionError:
        return -1, 403
    except OSError:
        return -1, 404
