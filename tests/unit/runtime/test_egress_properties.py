"""Property: no address in a loopback, private, link-local, shared, multicast, unspecified or reserved range is
accepted, however it is spelled in the URL (dotted, one integer, hex, octal, short forms, mixed, IPv6 mapped,
compatible, NAT64, 6to4) or whichever of a name's answers it is."""

from __future__ import annotations

import asyncio
import ipaddress
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from runtime import egress
from runtime.egress import EgressPolicy, EgressRefused, check_url

SPECIAL_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/29",  # the IETF block but its two globally reachable anycast addresses (.9, .10)
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",  # with 255.255.255.255
    )
]
SPECIAL_V6 = [
    ipaddress.IPv6Network(n)
    for n in (
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "2001:db8::/32",
        "2001::/32",
        "100::/64",
        "64:ff9b:1::/48",
    )
]
PUBLIC_V4 = ["93.184.216.34", "8.8.8.8", "1.1.1.1"]
URL_TYPE: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


@st.composite
def special_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    net = draw(st.sampled_from(SPECIAL_V4))
    return net.network_address + draw(st.integers(0, net.num_addresses - 1))


@st.composite
def special_v6(draw: st.DrawFn) -> ipaddress.IPv6Address:
    net = draw(st.sampled_from(SPECIAL_V6))
    return net.network_address + draw(st.integers(0, net.num_addresses - 1))


def _part(value: int, style: str) -> str:
    return {"dec": str(value), "hex": hex(value), "HEX": "0X" + format(value, "X"), "oct": "0" + format(value, "o")}[
        style
    ]


@st.composite
def v4_spelling(draw: st.DrawFn, ip: ipaddress.IPv4Address) -> str:
    """``ip`` as URL parsers and inet_aton read IPv4: 1 to 4 parts, each decimal, hex or octal."""
    n = int(ip)
    octets = list(ip.packed)
    parts = draw(st.sampled_from([1, 2, 3, 4]))
    values = {1: [n], 2: [octets[0], n & 0xFFFFFF], 3: [octets[0], octets[1], n & 0xFFFF], 4: octets}[parts]
    styles = draw(st.lists(st.sampled_from(["dec", "hex", "HEX", "oct"]), min_size=parts, max_size=parts))
    text = ".".join(_part(v, s) for v, s in zip(values, styles, strict=True))
    return text + draw(st.sampled_from(["", "."]))


@st.composite
def v6_form_of_v4(draw: st.DrawFn, ip: ipaddress.IPv4Address) -> str:
    """``ip`` carried in IPv6: mapped, compatible, NAT64 or 6to4, dotted or hex, compressed or not."""
    hi, lo = int(ip) >> 16, int(ip) & 0xFFFF
    form = draw(
        st.sampled_from(
            [
                f"::ffff:{ip}",
                f"::ffff:{hi:x}:{lo:x}",
                f"0:0:0:0:0:ffff:{ip}",
                f"::FFFF:{hi:X}:{lo:X}",
                f"::{ip}",
                f"64:ff9b::{ip}",
                f"64:ff9b::{hi:x}:{lo:x}",
                f"2002:{hi:x}:{lo:x}::1",
                f"2002:{hi:x}:{lo:x}:abcd::",
            ]
        )
    )
    return f"[{form}]"


@st.composite
def v6_spelling(draw: st.DrawFn, ip: ipaddress.IPv6Address) -> str:
    text = draw(st.sampled_from([ip.compressed, ip.exploded, ip.compressed.upper(), ip.exploded.upper()]))
    return f"[{text}]"


@st.composite
def special_host(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["v4", "v4-in-v6", "v6"]))
    if kind == "v4":
        return draw(v4_spelling(draw(special_v4())))
    if kind == "v4-in-v6":
        return draw(v6_form_of_v4(draw(special_v4())))
    return draw(v6_spelling(draw(special_v6())))


@st.composite
def special_url(draw: st.DrawFn) -> str:
    host = draw(special_host())
    port = draw(st.sampled_from(["", ":443", ":8443", ":8080", ":9000"]))
    return f"https://{host}{port}/hooks/waybill"


# The loosest policy short of the allow-list: plain http allowed too.
LOOSE = EgressPolicy(allow_http=True)


def _refused(url: str) -> bool:
    try:
        check_url(url, LOOSE)
    except EgressRefused:
        return True
    return False


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(special_url())
def test_no_spelling_of_a_special_address_is_accepted(url: str) -> None:
    assert _refused(url), url
    # As the API receives it: pydantic's URL type normalises some spellings first (0x7f000001 -> 127.0.0.1).
    try:
        normalised = str(URL_TYPE.validate_python(url))
    except ValidationError:
        return  # refused by the schema already (422)
    assert _refused(normalised), (url, normalised)


@st.composite
def answers_with_a_special_one(draw: st.DrawFn) -> list[str]:
    """What getaddrinfo might answer for a name: public addresses and at least one special one, anywhere."""
    special = draw(
        st.one_of(
            special_v4().map(str),
            special_v6().map(str),
            special_v4().map(lambda ip: f"::ffff:{ip}"),
            special_v4().map(lambda ip: str(ipaddress.IPv6Address(f"64:ff9b::{ip}"))),
        )
    )
    public = draw(st.lists(st.sampled_from(PUBLIC_V4), max_size=3))
    at = draw(st.integers(0, len(public)))
    return [*public[:at], special, *public[at:]]


@settings(max_examples=500, deadline=None)
@given(answers_with_a_special_one(), st.from_regex(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?\.example", fullmatch=True))
def test_no_name_resolving_to_a_special_address_is_accepted(answers: list[str], name: str) -> None:
    async def lookup(host: str, port: int) -> list[str]:
        return answers

    async def check() -> None:
        await egress.check_url_resolved(f"https://{name}/hooks", LOOSE)

    with mock.patch.object(egress, "lookup", lookup), pytest.raises(EgressRefused, match=r"^refused: resolves to "):
        asyncio.run(check())
