"""`rxgate serve` answers the official MCP Python client over Streamable HTTP at /mcp, with a
bearer token from `rxgate token`, on both protocol eras: 2025-11-25 (initialize handshake)
and 2026-07-28 (stateless, per-request `server/discover`). Without a token the client is
refused with 401 and told where the protected-resource metadata is."""

import asyncio
import os
import subprocess
import tempfile

import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import ROOT, rxgate_bin

CONTRACT_TOOLS = {"ddi_check", "allergy_check", "halal_filter", "barcode_verify", "generic_suggest", "stock_check"}

# "legacy" forces the initialize handshake (the client offers 2025-11-25); a version string
# pins the stateless 2026-07-28 protocol.
MODES = {"2025-11-25": "legacy", "2026-07-28": "2026-07-28"}


@pytest.fixture(scope="module")
def server():
    """A real `rxgate serve` on a free port with a fresh data dir; yields (url, data_dir)."""
    data_dir = tempfile.mkdtemp(prefix="rxgate-e2e-")
    env = dict(os.environ, RXGATE_DATA_DIR=data_dir, RUST_LOG="warn")
    env.pop("RXGATE_JWT_SECRET", None)
    proc = subprocess.Popen(
        [rxgate_bin(), "serve", "--addr", "127.0.0.1:0"],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("rxgate listening on "), f"unexpected first line from rxgate serve: {line!r}"
        yield line.removeprefix("rxgate listening on "), data_dir
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "rxgate serve did not shut down cleanly on SIGTERM"


def token(data_dir, role, sub="e2e"):
    out = subprocess.run(
        [rxgate_bin(), "token", "--role", role, "--sub", sub, "--ttl", "10m"],
        env=dict(os.environ, RXGATE_DATA_DIR=data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


async def with_client(url, bearer, mode, fn):
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {bearer}"}) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client:
            return await fn(client)


@pytest.mark.parametrize("protocol", sorted(MODES))
def test_an_agent_lists_the_tools_and_checks_an_interaction_over_http(server, protocol):
    url, data_dir = server

    async def go(client):
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert CONTRACT_TOOLS <= set(tools)

        result = await client.call_tool("ddi_check", {"drugs": ["amlodipine", "clarithromycin"]})
        assert not result.is_error, result.content
        out = result.structured_content
        jsonschema.validate(out, tools["ddi_check"].output_schema)
        assert out["highest_severity"] in ("major", "contraindicated")
        assert len(out["knowledge"]["hash"]) == 64
        assert result.content[0].type == "text" and result.content[0].text.strip()

    asyncio.run(with_client(url, token(data_dir, "agent"), MODES[protocol], go))


def test_a_client_that_probes_gets_the_newest_protocol_and_a_legacy_one_its_handshake(server):
    url, data_dir = server

    async def negotiated(client):
        return client.protocol_version, client.server_info.name if client.server_info else None

    # "auto" probes `server/discover` first: only a server that answers it gets 2026-07-28.
    assert asyncio.run(with_client(url, token(data_dir, "agent"), "auto", negotiated)) == ("2026-07-28", "rxgate")
    # The initialize handshake is answered with the version the client offered.
    assert asyncio.run(with_client(url, token(data_dir, "agent"), "legacy", negotiated)) == ("2025-11-25", "rxgate")


def test_without_a_token_the_client_is_told_where_the_metadata_is(server):
    url, _ = server
    response = httpx2.post(
        f"{url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"' in response.headers["www-authenticate"]
    metadata = httpx2.get(f"{url}/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["resource"] == f"{url}/mcp"


def test_a_scanner_token_may_not_use_the_tools(server):
    url, data_dir = server
    response = httpx2.post(
        f"{url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {token(data_dir, 'device')}", "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
