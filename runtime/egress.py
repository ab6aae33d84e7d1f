"""Outgoing calls to URLs that someone outside the platform chose (a shop's webhook endpoint, later others):
the address policy, and a resolve-and-pin helper for httpx so the address checked is the address called.

A URL is accepted when
- its scheme is ``https`` (``http`` only when the policy allows it: development and the sandbox);
- it carries no user info (``user:pass@``) and its port is not one of the ports browsers refuse
  (``BAD_PORTS``: other protocols an HTTP request could be smuggled into);
- its host is a name or a canonical address: numeric hosts in any other spelling (``2130706433``,
  ``0x7f000001``, ``127.1``, ``0177.0.0.1``) are refused outright, since the system resolver would turn them
  into addresses that a check on the written text never saw;
- every address it names or resolves to is public (``address_refusal``);
- or, instead of the last two, it names a host on the operator's allow-list of internal receivers.

The check runs twice: when the URL is saved (``check_url_resolved``) and again on every call (``stream``),
which resolves the name once, refuses if any answer is not public, and connects to the exact address it
checked (the request goes to the address, with the ``Host`` header and, for https, the TLS server name set to
the real name, so the certificate is verified for that name). A name that resolved to a public address
when saved and to ``127.0.0.1`` later (DNS rebinding) is refused at the call. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# WHATWG Fetch's "bad ports": every browser refuses them because they speak other protocols (SMTP, IRC,
# SIP, NFS...) into which a POST could be smuggled. Port 0 cannot be connected to.
BAD_PORTS = frozenset(
    {0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
     109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
     526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
     3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)  # fmt: skip
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_URL_LENGTH = 2048
# The lookup's own bound: a resolver that hangs must not hold a request or a job for the whole timeout.
RESOLVE_TIMEOUT_S = 5.0

# Ranges the standard library (3.11) still calls global but that must not be reached, each for a reason:
# NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address that a gateway would connect to, judged by
# that address; IPv4-compatible (::/96) is deprecated and routes nowhere public; 64:ff9b:1::/48 is NAT64's
# local-use prefix (RFC 8215), not global (later Pythons agree).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)

# A host whose last label is a number is an IPv4 address to URL parsers and to the system resolver (WHATWG
# URL "ends in a number"; glibc's inet_aton takes 1 to 4 parts in decimal, octal or hex).
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class EgressRefused(Exception):
    """A URL or an address the policy refuses. ``reason`` is ours, short, and safe to store and show
    (``refused: resolves to a private address``). ``permanent``: the URL itself is refused, so trying again
    cannot help; otherwise what the name resolves to was refused, which may change."""

    def __init__(self, reason: str, *, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class AllowedHost:
    host: str  # lower case, no trailing dot; an address in its canonical form
    port: int | None  # None: any port

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and (self.port is None or self.port == port)


@dataclass(frozen=True)
class EgressPolicy:
    allow_http: bool = False
    # Internal receivers the operator trusts: sent to by name, without the address check or pinning.
    allowed_internal: tuple[AllowedHost, ...] = ()

    @classmethod
    def build(cls, *, allow_http: bool = False, allowed_internal_hosts: str = "") -> EgressPolicy:
        return cls(allow_http=allow_http, allowed_internal=parse_allowed_hosts(allowed_internal_hosts))

    def is_internal(self, host: str, port: int) -> bool:
        return any(a.matches(host, port) for a in self.allowed_internal)


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks that need no lookup."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA), lower case, no trailing dot, no brackets
    port: int
    address: IPAddress | None  # the URL names an address rather than a name
    internal: bool  # on the operator's allow-list

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _canonical_host(raw: str) -> str:
    host = raw.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def parse_allowed_hosts(text: str) -> tuple[AllowedHost, ...]:
    """``host[:port]`` entries, comma-separated (``hooks.internal:8080, 10.0.0.7, [fd00::7]:9000``).
    Raises ValueError on a malformed entry, so a typo stops the process at start rather than allowing
    nothing (or something else) quietly."""
    found = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        if entry.startswith("["):
            host, bracket, rest = entry[1:].partition("]")
            port_text = rest.removeprefix(":") if rest else ""
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"allowed internal host {entry!r}: expected [address]:port")
        elif entry.count(":") == 1:
            host, port_text = entry.split(":")
        else:
            host, port_text = entry, ""
        host = _canonical_host(host)
        if not host or not (_is_address(host) or all(_LABEL.fullmatch(label) for label in host.split("."))):
            raise ValueError(f"allowed internal host {entry!r}: not a host name or address")
        if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ValueError(f"allowed internal host {entry!r}: not a port")
        found.append(AllowedHost(host, int(port_text) if port_text else None))
    return tuple(found)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, when it is one of the translation forms."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why an outgoing call must not reach ``ip`` ("a loopback address"...), or None if it is public.

    Mostly the standard library's judgement (``is_global`` follows IANA's special-purpose registries: private,
    documentation, benchmarking, reserved and broadcast ranges, Teredo...), named by kind, plus what 3.11 gets
    wrong for this purpose: multicast (``is_global`` is true for 224.0.0.0/4 and ff0e::/16), site-local
    fec0::/10, shared address space 100.64.0.0/10, and the IPv6 forms that carry an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if ip.is_unspecified:
            return "an unspecified address"
        if ip.is_loopback:
            return "a loopback address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_refusal(embedded)
            if inner is not None:
                return inner
            if ip in _IPV4_COMPATIBLE:
                return "a reserved address"  # deprecated form; nothing public is reached through it
            return None
        if ip in _NAT64_LOCAL:
            return "a reserved address"
        if ip.is_site_local:
            return "a private address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a carrier-grade NAT address"
    if _is_private(ip):
        return "a private address"
    if not ip.is_global or ip.is_reserved:
        return "a reserved address"
    return None


_PRIVATE_V4 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
_PRIVATE_V6 = (ipaddress.IPv6Network("fc00::/7"),)


def _is_private(ip: IPAddress) -> bool:
    """RFC 1918 and unique-local (the stdlib's ``is_private`` also covers documentation and other ranges,
    which are reported as reserved)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in _PRIVATE_V4)
    return any(ip in net for net in _PRIVATE_V6)


def check_url(url: str, policy: EgressPolicy) -> Target:
    """The checks that need no lookup: scheme, user info, port, host spelling, an address written in the URL,
    the allow-list. Raises EgressRefused (permanent) with our reason."""
    if len(url) > MAX_URL_LENGTH:
        raise EgressRefused(f"refused: longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise EgressRefused("refused: not a valid URL") from exc
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS:
        raise EgressRefused("refused: only https URLs are accepted")
    if scheme == "http" and not policy.allow_http:
        raise EgressRefused("refused: plain http is not allowed, use https")
    if parsed.userinfo:
        raise EgressRefused("refused: user info in the URL")
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if port in BAD_PORTS or not 0 < port < 65536:
        raise EgressRefused(f"refused: port {port} is not allowed")
    raw = parsed.raw_host.decode("ascii", "replace")
    if not raw or "%" in raw or any(c.isspace() for c in raw):
        raise EgressRefused("refused: not a valid host")
    host = raw.lower().rstrip(".")
    address: IPAddress | None = None
    if ":" in host:  # httpx hands an IPv6 literal over without its brackets
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise EgressRefused("refused: not a valid host") from exc
        host = str(address)
    else:
        labels = host.split(".")
        if _NUMERIC_LABEL.fullmatch(labels[-1]):
            try:
                address = ipaddress.IPv4Address(host)  # strict: four decimal parts, no leading zeros
            except ValueError as exc:
                raise EgressRefused("refused: a numeric host in a non-standard form") from exc
        elif len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise EgressRefused("refused: not a valid host")
    internal = policy.is_internal(host, port)
    if not internal:
        if is_localhost_name(host):
            raise EgressRefused("refused: a loopback address")
        if address is not None:
            reason = address_refusal(address)
            if reason is not None:
                raise EgressRefused(f"refused: {reason}")
    return Target(url=parsed, scheme=scheme, host=host, port=port, address=address, internal=internal)


def is_localhost_name(host: str) -> bool:
    """``localhost`` and ``*.localhost`` always name the loopback interface (RFC 6761), whatever DNS says."""
    return host == "localhost" or host.endswith(".localhost")


async def lookup(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host``, in its order of preference. One place, so tests can
    stand in for DNS (answers that change between two calls)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


async def resolve(target: Target) -> IPAddress | None:
    """The address to connect to: the URL's own, or the first of the name's addresses once every one of them
    is public. None for an allow-listed internal host (sent to by name). Raises EgressRefused (not permanent)
    when the name does not resolve or any answer is not public."""
    if target.internal:
        return None
    if target.address is not None:
        return target.address
    try:
        answers = await asyncio.wait_for(lookup(target.host, target.port), RESOLVE_TIMEOUT_S)
    except (OSError, UnicodeError, TimeoutError) as exc:
        raise EgressRefused("refused: the host does not resolve", permanent=False) from exc
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError as exc:
            raise EgressRefused("refused: the host resolves to something that is not an address") from exc
        reason = address_refusal(ip)
        if reason is not None:
            # Any answer, not only the first: a client (or a retry) could connect to any of them.
            raise EgressRefused(f"refused: resolves to {reason}", permanent=False)
        addresses.append(ip)
    if not addresses:
        raise EgressRefused("refused: the host does not resolve", permanent=False)
    return addresses[0]


async def check_url_resolved(url: str, policy: EgressPolicy) -> Target:
    """Everything ``stream`` will check, for saving a URL: the URL, then its name's addresses."""
    target = check_url(url, policy)
    await resolve(target)
    return target


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    target: Target,
    address: IPAddress | None,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> httpx.Request:
    """A request to ``address`` (the one checked) that the server and TLS see as being for ``target.host``.
    ``address`` None (an allow-listed internal host): to the URL as written."""
    all_headers = dict(headers or {})
    extensions: dict[str, str] = {}
    url = target.url
    if address is not None:
        url = url.copy_with(host=str(address))
        all_headers["Host"] = target.host_header
        if target.scheme == "https" and target.address is None:
            extensions["sni_hostname"] = target.host  # verify the certificate for the name, not the address
    return client.build_request(
        method,
        url,
        content=content,
        headers=all_headers,
        timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
        extensions=extensions,
    )


@asynccontextmanager
async def stream(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    policy: EgressPolicy,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> AsyncIterator[httpx.Response]:
    """Check ``url``, resolve it once, call the address checked, never follow a redirect. Yields the response
    with its body unread (read it only if you need it; it is closed on exit). Raises EgressRefused before any
    connection when the policy refuses, httpx.HTTPError when the call fails (``failure_reason`` names it)."""
    target = check_url(url, policy)
    address = await resolve(target)
    request = pinned_request(client, method, target, address, content=content, headers=headers, timeout_s=timeout_s)
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        yield response
    finally:
        await response.aclose()


def failure_reason(exc: httpx.HTTPError) -> str:
    """A short reason of ours for a failed call. Never the exception's text: the parser's errors quote what
    the remote end sent (an SSH banner, a Redis error), which is exactly what must not be stored."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "not an HTTP answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "connection lost"
    return "request failed"


def make_client(*, timeout: float = 10.0, max_connections: int = 100) -> httpx.AsyncClient:
    """The client for calls through ``stream``. No proxy from the environment (``trust_env``: a proxy would
    resolve the name itself and undo the pinning), no redirects, and no kept-alive connections: a pooled
    connection is keyed by address, so one opened (and TLS-verified) for one name could otherwise carry a
    request for another name on the same address. No request-id header either: it is ours, not theirs."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
        follow_redirects=False,
        trust_env=False,
    )
