"""runtime.egress: which URLs and addresses outgoing calls may reach, and that a call reaches the address
that was checked (pinned, TLS verified for the name), without following redirects or reading the answer."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime import egress
from runtime.egress import EgressPolicy, EgressRefused, address_refusal, check_url, parse_allowed_hosts

STRICT = EgressPolicy()
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def _refusal(url: str, policy: EgressPolicy = STRICT) -> str:
    with pytest.raises(EgressRefused) as caught:
        check_url(url, policy)
    return caught.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # loopback, private, link-local (the metadata address), shared, multicast, unspecified, reserved
        ("https://127.0.0.1/hook", "a loopback address"),
        ("https://127.255.0.7/hook", "a loopback address"),
        ("https://[::1]/hook", "a loopback address"),
        ("https://localhost/hook", "a loopback address"),
        ("https://api.localhost/hook", "a loopback address"),
        ("https://10.1.2.3/hook", "a private address"),
        ("https://172.16.0.1/hook", "a private address"),
        ("https://172.31.255.254/hook", "a private address"),
        ("https://192.168.1.1/hook", "a private address"),
        ("https://[fc00::1]/hook", "a private address"),
        ("https://[fd12:3456::1]/hook", "a private address"),
        ("https://[fec0::1]/hook", "a private address"),
        ("https://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("https://169.254.1.1/hook", "a link-local address"),
        ("https://[fe80::1]/hook", "a link-local address"),
        ("https://100.64.0.1/hook", "a carrier-grade NAT address"),
        ("https://100.127.255.254/hook", "a carrier-grade NAT address"),
        ("https://224.0.0.1/hook", "a multicast address"),
        ("https://239.255.255.250/hook", "a multicast address"),
        ("https://[ff02::1]/hook", "a multicast address"),
        ("https://[ff0e::1]/hook", "a multicast address"),
        ("https://0.0.0.0/hook", "an unspecified address"),
        ("https://[::]/hook", "an unspecified address"),
        ("https://255.255.255.255/hook", "a reserved address"),
        ("https://240.0.0.1/hook", "a reserved address"),
        ("https://0.1.2.3/hook", "a reserved address"),
        ("https://192.0.2.1/hook", "a reserved address"),
        ("https://198.18.0.1/hook", "a reserved address"),
        ("https://[2001:db8::1]/hook", "a reserved address"),
        ("https://[2001::1]/hook", "a reserved address"),  # Teredo
        ("https://[64:ff9b:1::1]/hook", "a reserved address"),  # NAT64 local use
        # IPv6 forms of IPv4 addresses: judged by the IPv4 address they carry
        ("https://[::ffff:127.0.0.1]/hook", "a loopback address"),
        ("https://[::ffff:7f00:1]/hook", "a loopback address"),
        ("https://[0:0:0:0:0:ffff:a9fe:a9fe]/hook", "a link-local address"),
        ("https://[::ffff:10.0.0.1]/hook", "a private address"),
        ("https://[::127.0.0.1]/hook", "a loopback address"),  # IPv4-compatible
        ("https://[::8.8.8.8]/hook", "a reserved address"),  # IPv4-compatible, even of a public address
        ("https://[64:ff9b::127.0.0.1]/hook", "a loopback address"),  # NAT64
        ("https://[64:ff9b::a9fe:a9fe]/hook", "a link-local address"),
        ("https://[2002:7f00:1::1]/hook", "a loopback address"),  # 6to4 of 127.0.0.1
        ("https://[2002:c0a8:101::1]/hook", "a private address"),  # 6to4 of 192.168.1.1
        # numeric tricks: any numeric host but the standard dotted quad
        ("https://2130706433/hook", "a numeric host in a non-standard form"),
        ("https://0x7f000001/hook", "a numeric host in a non-standard form"),
        ("https://0X7F000001/hook", "a numeric host in a non-standard form"),
        ("https://127.1/hook", "a numeric host in a non-standard form"),
        ("https://127.0.1/hook", "a numeric host in a non-standard form"),
        ("https://0x7f.0.0.1/hook", "a numeric host in a non-standard form"),
        ("https://1.2.3.4.5/hook", "a numeric host in a non-standard form"),
        ("https://0/hook", "a numeric host in a non-standard form"),
        ("https://017700000001/hook", "a numeric host in a non-standard form"),
        # the URL itself
        ("https://user:pass@shop.example.com/hook", "user info in the URL"),
        ("https://user@shop.example.com/hook", "user info in the URL"),
        ("http://shop.example.com/hook", "plain http is not allowed, use https"),
        ("ftp://shop.example.com/hook", "only https URLs are accepted"),
        ("gopher://shop.example.com:70/", "only https URLs are accepted"),
        ("file:///etc/passwd", "only https URLs are accepted"),
        ("https://shop.example.com:25/hook", "port 25 is not allowed"),
        ("https://shop.example.com:22/hook", "port 22 is not allowed"),
        ("https://shop.example.com:6667/hook", "port 6667 is not allowed"),
        ("https://shop.example.com:0/hook", "port 0 is not allowed"),
        ("https://[fe80::1%25eth0]/hook", "not a valid host"),
        ("https://127.0.0.1%2e/hook", "not a valid host"),
        ("https://sh op.example.com/hook", "not a valid host"),
        ("https:///hook", "not a valid host"),
        ("https://" + "a" * 64 + ".example.com/hook", "not a valid host"),
        ("https://shop.example.com/" + "a" * egress.MAX_URL_LENGTH, "longer than"),
    ],
)
def test_each_trick_is_refused_with_our_reason(url: str, reason: str) -> None:
    assert reason in _refusal(url)


def test_leading_zero_octets_never_pass() -> None:
    # httpx refuses this spelling outright; pydantic's URL type turns it into 127.0.0.1 first: both refused.
    assert _refusal("https://0177.0.0.1/hook").startswith("refused:")
    assert _refusal("https://127.0.0.1/hook") == "refused: a loopback address"


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/hooks/waybill",
        "https://SHOP.Example.COM./hooks",
        "https://shop.example.com:8443/hooks?x=1",
        "https://münchen.example/hooks",
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]:8443/hook",
        "https://[::ffff:93.184.216.34]/hook",  # mapped public IPv4: that address is reached
        "https://[64:ff9b::5db8:d822]/hook",  # NAT64 of a public address
        "https://[2002:5db8:d822::1]/hook",  # 6to4 of a public address
        "https://shop.example.com:8080/hook",
    ],
)
def test_public_https_urls_pass(url: str) -> None:
    target = check_url(url, STRICT)
    assert not target.internal
    assert target.host == target.host.lower()
    assert not target.host.endswith(".")


def test_plain_http_only_when_allowed() -> None:
    assert "plain http" in _refusal("http://shop.example.com/hook")
    target = check_url("http://shop.example.com/hook", EgressPolicy(allow_http=True))
    assert (target.scheme, target.port) == ("http", 80)
    # Allowing http allows no address.
    assert "a loopback address" in _refusal("http://127.0.0.1:9000/hook", EgressPolicy(allow_http=True))


def test_the_allow_list_lets_listed_internal_hosts_through_and_nothing_else() -> None:
    policy = EgressPolicy.build(allow_http=True, allowed_internal_hosts="hooks.internal:8080, 127.0.0.1, [::1]:9000")
    assert check_url("http://hooks.internal:8080/h", policy).internal
    assert check_url("http://HOOKS.internal.:8080/h", policy).internal
    assert not check_url("http://hooks.internal:8081/h", policy).internal  # the port is part of the entry
    assert check_url("http://127.0.0.1:5555/h", policy).internal  # a bare host: any port
    assert check_url("http://[::1]:9000/h", policy).internal
    assert "a loopback address" in _refusal("http://[::1]:9001/h", policy)
    # Other spellings of a listed address are not the listed host.
    assert "non-standard" in _refusal("http://127.1:5555/h", policy)
    assert "a loopback address" in _refusal("http://[::ffff:127.0.0.1]:5555/h", policy)
    assert "a private address" in _refusal("http://10.0.0.7/h", policy)
    # Listing a host does not allow plain http to it.
    strict_http = EgressPolicy.build(allowed_internal_hosts="hooks.internal")
    assert "plain http" in _refusal("http://hooks.internal/h", strict_http)
    assert check_url("https://hooks.internal/h", strict_http).internal


@pytest.mark.parametrize("text", ["hooks:notaport", "hooks:0", "hooks:70000", "[::1", "[::1]x", "bad host", "a..b"])
def test_a_malformed_allow_list_entry_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="allowed internal host"):
        parse_allowed_hosts(text)


def test_the_default_allow_list_is_empty() -> None:
    assert parse_allowed_hosts("") == ()
    assert parse_allowed_hosts(" , ") == ()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.20.0.1", "a private address"),
        ("192.168.0.1", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("224.0.0.251", "a multicast address"),
        ("ff05::2", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("255.255.255.255", "a reserved address"),
        ("203.0.113.9", "a reserved address"),
        ("::ffff:169.254.169.254", "a link-local address"),
        ("64:ff9b::10.0.0.1", "a private address"),
        ("2002:a00:1::", "a private address"),
        (PUBLIC_V4, None),
        (PUBLIC_V6, None),
        ("::ffff:93.184.216.34", None),
    ],
)
def test_address_refusal_names_the_kind(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


def _answers(*by_call: list[str]) -> tuple[list[tuple[str, int]], object]:
    """A stand-in resolver giving each call the next list of answers (the last one again after)."""
    calls: list[tuple[str, int]] = []
    remaining = list(by_call)

    async def lookup(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return calls, lookup


async def test_a_name_is_refused_when_any_answer_is_not_public(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, lookup = _answers([PUBLIC_V4, "10.0.0.1"])
    monkeypatch.setattr(egress, "lookup", lookup)
    with pytest.raises(EgressRefused) as caught:
        await egress.check_url_resolved("https://shop.example.com/hook", STRICT)
    assert caught.value.reason == "refused: resolves to a private address"
    assert not caught.value.permanent  # DNS may be fixed: a delivery tries again
    assert calls == [("shop.example.com", 443)]


async def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(egress, "lookup", nothing)
    with pytest.raises(EgressRefused, match="does not resolve"):
        await egress.check_url_resolved("https://shop.example.com/hook", STRICT)
    _, empty = _answers([])
    monkeypatch.setattr(egress, "lookup", empty)
    with pytest.raises(EgressRefused, match="does not resolve"):
        await egress.check_url_resolved("https://shop.example.com/hook", STRICT)


async def test_a_resolver_that_hangs_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hangs(host: str, port: int) -> list[str]:
        await asyncio.sleep(60)
        return [PUBLIC_V4]

    monkeypatch.setattr(egress, "lookup", hangs)
    monkeypatch.setattr(egress, "RESOLVE_TIMEOUT_S", 0.05)
    with pytest.raises(EgressRefused, match="does not resolve"):
        await egress.check_url_resolved("https://shop.example.com/hook", STRICT)


async def test_an_allow_listed_host_is_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, lookup = _answers(["127.0.0.1"])
    monkeypatch.setattr(egress, "lookup", lookup)
    policy = EgressPolicy.build(allowed_internal_hosts="hooks.internal")
    assert (await egress.check_url_resolved("https://hooks.internal/h", policy)).internal
    assert calls == []


async def test_the_real_resolver_answers_numeric_hosts_as_addresses() -> None:
    # Why numeric spellings are refused before any lookup: the system resolver turns them into addresses.
    assert await egress.lookup("2130706433", 443) == ["127.0.0.1"]
    assert await egress.lookup("127.1", 443) == ["127.0.0.1"]


# --- the call: pinned, no redirects, the answer's body unread ---------------------------------------


async def test_the_call_goes_to_the_checked_address_with_the_name_for_host_and_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, lookup = _answers([PUBLIC_V4, PUBLIC_V6])
    monkeypatch.setattr(egress, "lookup", lookup)
    async with respx.mock(assert_all_mocked=True) as mock:
        route = mock.post(f"https://{PUBLIC_V4}:8443/hooks/waybill?x=1").respond(204)
        async with (
            egress.make_client() as client,
            egress.stream(
                client,
                "POST",
                "https://Shop.Example.com:8443/hooks/waybill?x=1",
                STRICT,
                content=b"{}",
                headers={"X-Waybill-Event-Id": "e-1"},
            ) as resp,
        ):
            assert resp.status_code == 204
    request = route.calls.last.request
    assert request.headers["host"] == "shop.example.com:8443"
    assert request.extensions["sni_hostname"] == "shop.example.com"
    assert request.headers["x-waybill-event-id"] == "e-1"
    assert len(calls) == 1  # resolved once for the call


async def test_the_name_is_resolved_again_at_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # Public when saved, loopback when called (DNS rebinding): refused before any connection.
    calls, lookup = _answers([PUBLIC_V4], ["127.0.0.1"])
    monkeypatch.setattr(egress, "lookup", lookup)
    await egress.check_url_resolved("https://shop.example.com/hook", STRICT)
    async with respx.mock(assert_all_called=False) as mock:
        anything = mock.route().respond(200)
        async with egress.make_client() as client:
            with pytest.raises(EgressRefused) as caught:
                async with egress.stream(client, "POST", "https://shop.example.com/hook", STRICT, content=b"{}"):
                    pass
    assert caught.value.reason == "refused: resolves to a loopback address"
    assert not anything.called
    assert len(calls) == 2


async def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lookup = _answers([PUBLIC_V4])
    monkeypatch.setattr(egress, "lookup", lookup)
    async with respx.mock(assert_all_called=False) as mock:
        mock.post(f"https://{PUBLIC_V4}/hook").respond(302, headers={"Location": "http://169.254.169.254/latest"})
        metadata = mock.route(host="169.254.169.254").respond(200)
        async with (
            egress.make_client() as client,
            egress.stream(client, "POST", "https://shop.example.com/hook", STRICT) as resp,
        ):
            assert resp.status_code == 302
    assert not metadata.called


class _Body(httpx.AsyncByteStream):
    """An answer's body that records whether anyone read it."""

    def __init__(self) -> None:
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        yield b"internal secrets"


async def test_the_answer_body_is_not_read_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lookup = _answers([PUBLIC_V4])
    monkeypatch.setattr(egress, "lookup", lookup)
    body = _Body()
    async with respx.mock() as mock:
        mock.post(f"https://{PUBLIC_V4}/hook").mock(return_value=httpx.Response(500, stream=body))
        async with (
            egress.make_client() as client,
            egress.stream(client, "POST", "https://shop.example.com/hook", STRICT) as resp,
        ):
            assert resp.status_code == 500
    assert body.read is False


def test_failure_reasons_never_quote_the_remote_end() -> None:
    banner = "illegal status line: bytearray(b'SSH-2.0-OpenSSH_9.2p1')"
    request = httpx.Request("POST", f"https://{PUBLIC_V4}/hook")
    cases = {
        httpx.RemoteProtocolError(banner, request=request): "not an HTTP answer",
        httpx.ReadTimeout(banner, request=request): "timeout",
        httpx.ConnectError(banner, request=request): "connection failed",
        httpx.ReadError(banner, request=request): "connection lost",
    }
    for exc, reason in cases.items():
        assert egress.failure_reason(exc) == reason


def test_the_client_follows_no_redirect_and_no_proxy_from_the_environment() -> None:
    client = egress.make_client()
    assert client.follow_redirects is False
    assert client.trust_env is False


# --- TLS is verified for the name while the connection goes to the pinned address ---------------


def _tls_pair(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``name`` only (signed by a throwaway CA), and a client
    context that trusts that CA."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "egress test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


@asynccontextmanager
async def _tls_listener(context: ssl.SSLContext) -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTPS server on 127.0.0.1 answering 204; yields its port and the Host headers it received."""
    hosts: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("host:"):
                    hosts.append(line.split(":", 1)[1].strip())
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (ssl.SSLError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], hosts
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return _tls_pair(tmp_path, "shop.example.com")


async def test_tls_is_verified_for_the_name_at_the_pinned_address(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_ctx, client_ctx = tls
    async with _tls_listener(server_ctx) as (port, hosts):
        loopback = ipaddress.ip_address("127.0.0.1")
        async with httpx.AsyncClient(verify=client_ctx, trust_env=False) as client:
            # The name the certificate is for: verified, though the connection goes to the address.
            good = check_url(f"https://shop.example.com:{port}/hook", STRICT)
            resp = await client.send(egress.pinned_request(client, "POST", good, loopback, content=b"{}"))
            assert resp.status_code == 204
            assert hosts == [f"shop.example.com:{port}"]
            # Another name at the same address: the certificate does not match it, nothing is sent.
            other = check_url(f"https://other.example.com:{port}/hook", STRICT)
            with pytest.raises(httpx.ConnectError):
                await client.send(egress.pinned_request(client, "POST", other, loopback, content=b"{}"))
            assert len(hosts) == 1
