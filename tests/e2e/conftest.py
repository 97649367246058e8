"""Shared fixtures: a real `rxgate mcp` process driven by the official MCP Python client."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def rxgate_bin() -> str:
    path = os.environ.get("RXGATE_BIN")
    if not path:
        target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
        path = os.path.join(target, "release", "rxgate")
    if not os.path.exists(path):
        pytest.exit(f"rxgate binary not found at {path}: build it with `cargo build --release -p rxgate`", 2)
    return path


@pytest.fixture(scope="session")
def server_params():
    from mcp import StdioServerParameters

    env = dict(os.environ)
    env.setdefault("RUST_LOG", "warn")
    return StdioServerParameters(command=rxgate_bin(), args=["mcp"], env=env, cwd=str(ROOT))
