"""Driver-wide settings: the analogue of HTTP.sys's registry parameters (KB 820129) plus our own bounds.

Responsibility: the values, their documented defaults and ranges, and validation of a settings object. It must not
apply them: the engine reads them when it parses, routes and buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from httpsys._core.canonical import UrlSettings
from httpsys._core.timers import DEFAULT_SECONDS
from httpsys._core.verbosity import Verbosity503


@dataclass(frozen=True, slots=True)
class DriverSettings:
    """Settings of one driver instance (registry parameters and the bounds reliability §2.5 asks for)."""

    max_field_length: int = 16384  # MaxFieldLength, 64..65534
    max_request_bytes: int = 16384  # MaxRequestBytes, 256..16777216
    url: UrlSettings = field(default_factory=UrlSettings)
    max_connections: int = 0  # MaxConnections; 0: RLIMIT_NOFILE minus headroom, resolved by the driver
    # HttpServiceConfigIPListenList: the local addresses listeners bind; empty = every address (0.0.0.0 and ::).
    ip_listen_list: tuple[str, ...] = ()
    disable_server_header: int = 0  # DisableServerHeader 0..2
    pipeline_depth: int = 16  # parsed-but-unanswered requests per connection before reading stops
    body_buffer: int = 64 * 1024  # request body bytes read ahead of the application per request
    send_buffer: int = 256 * 1024  # response bytes BUFFER_DATA may leave queued before the send completes
    # Driver-wide IdleConnection / HeaderWait (HttpServiceConfigTimeout): used until a connection's first
    # request is routed; afterwards its URL group's values apply.
    idle_connection_timeout: int = DEFAULT_SECONDS
    header_wait_timeout: int = DEFAULT_SECONDS
    default_503_verbosity: Verbosity503 = Verbosity503.BASIC  # for groups with no bound queue
    uri_enable_cache: bool = True  # UriEnableCache
    uri_max_uri_bytes: int = 262144  # UriMaxUriBytes
    uri_scavenger_period: int = 120  # UriScavengerPeriod, seconds
    error_log_dir: str | None = (
        None  # ErrorLoggingDir; None: HTTPERR events stay in memory (Driver.error_log)
    )
    error_log_truncate_size: int = 1024 * 1024  # ErrorLogFileTruncateSize, >= 1 MiB
    # EnableHttp2Cleartext: HTTP/2 with prior knowledge on plaintext ports (the client preface picks it; decision 0022)
    http2_cleartext: bool = False
    # EnableHttp2Tls: ALPN offers h2 on TLS ports (on by default, as HTTP.sys; a binding's DISABLE_HTTP2 flag too)
    http2_tls: bool = True

    def validated(self) -> DriverSettings:
        """The settings with every value clamped to its documented range, as HTTP.sys reads the registry."""
        field_len = min(max(self.max_field_length, 64), 65534)
        request_bytes = min(max(self.max_request_bytes, 256), 16777216)
        if request_bytes < field_len:
            field_len = request_bytes
        url = replace(self.url, max_url_length=field_len)
        return replace(self, max_field_length=field_len, max_request_bytes=request_bytes, url=url)
