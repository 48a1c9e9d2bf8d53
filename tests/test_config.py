"""Settings: every `serve` option also a `CCSTATS_*` variable and a key of the TOML settings file
(option > variable > file > default), listed in docs/configuration.md; `--root-path` behind a
proxy; CORS off unless origins are set."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from tests.serving import free_port, serving
from typer.testing import CliRunner

from ccstats.app import create_app
from ccstats.cli import app as cli_app
from ccstats.config import ConfigError, Settings, load_settings
from ccstats.storage import Store

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CCSTATS_* variable of the machine leaks into these tests."""
    import os

    for name in [n for n in os.environ if n.startswith("CCSTATS_")]:
        monkeypatch.delenv(name)


def _serve_options() -> dict[str, str]:
    """`serve`'s options: flag -> parameter name."""
    serve = typer.main.get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    return {p.opts[0]: str(p.name) for p in serve.params if p.param_type_name == "option"}


def test_settings_built_in_code_keep_working() -> None:
    settings = Settings(db=":memory:", admin_token="adm_x")
    assert (settings.db, settings.host, settings.port, settings.admin_token) == (
        ":memory:",
        "127.0.0.1",
        8000,
        "adm_x",
    )
    assert (settings.log_format, settings.log_level, settings.root_path) == ("text", "info", "")
    assert settings.cors_origins == [] and settings.forwarded_allow_ips == "127.0.0.1"
    assert "adm_x" not in repr(settings)  # a secret stays out of logs and tracebacks
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]  # frozen


def test_defaults() -> None:
    settings = load_settings()
    assert settings.db == "ccstats.duckdb" and settings.port == 8000
    assert settings.admin_token is None


def test_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCSTATS_PORT", "9001")
    monkeypatch.setenv("CCSTATS_HOST", "0.0.0.0")
    monkeypatch.setenv("CCSTATS_DB", "/data/c.duckdb")
    monkeypatch.setenv("CCSTATS_ADMIN_TOKEN", "adm_env")
    monkeypatch.setenv("CCSTATS_LOG_FORMAT", "json")
    monkeypatch.setenv("CCSTATS_LOG_LEVEL", "warning")
    monkeypatch.setenv("CCSTATS_ROOT_PATH", "/ccstats/")
    monkeypatch.setenv("CCSTATS_CORS_ORIGINS", "https://a.example, https://b.example:8443")
    monkeypatch.setenv("CCSTATS_FORWARDED_ALLOW_IPS", "10.0.0.5")
    monkeypatch.setenv("CCSTATS_JOURNAL", "/data/journal")
    settings = load_settings()
    assert settings.model_dump() == {
        "db": "/data/c.duckdb",
        "host": "0.0.0.0",
        "port": 9001,
        "admin_token": "adm_env",
        "log_format": "json",
        "log_level": "warning",
        "root_path": "/ccstats",  # the trailing slash dropped
        "cors_origins": ["https://a.example", "https://b.example:8443"],
        "forwarded_allow_ips": "10.0.0.5",
        "max_body_bytes": 64 * 1024 * 1024,
        "max_query_body_bytes": 1024 * 1024,
        "journal": "/data/journal",
        "auth_limits": {"per_key": 10, "per_address": 100, "window_s": 300.0},
    }
    monkeypatch.setenv("CCSTATS_CORS_ORIGINS", '["https://c.example"]')  # JSON works too
    assert load_settings().cors_origins == ["https://c.example"]


def test_file_then_variable_then_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "ccstats.toml"
    file.write_text('port = 9100\nhost = "10.1.1.1"\nlog_format = "json"\ncors_origins = ["*"]\n')
    settings = load_settings(file)
    assert (settings.port, settings.host, settings.log_format, settings.cors_origins) == (
        9100,
        "10.1.1.1",
        "json",
        ["*"],
    )
    monkeypatch.setenv("CCSTATS_PORT", "9200")
    assert load_settings(file).port == 9200  # the variable wins over the file
    assert load_settings(file, port=9300, host=None).port == 9300  # the option over both
    assert load_settings(file, port=9300, host=None).host == "10.1.1.1"  # None: not given
    monkeypatch.setenv("CCSTATS_CONFIG", str(file))
    assert load_settings().host == "10.1.1.1"  # the file named by the variable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("port = 70000\n", "port: Input should be less than or equal to 65535"),
        ("prot = 8080\n", "prot: Extra inputs are not permitted"),
        ('log_format = "xml"\n', "log_format: Input should be 'text' or 'json'"),
        (
            'root_path = "ccstats"\n',
            "root_path: Value error, must be empty or a path like /ccstats",
        ),
        ('root_path = "/a b"\n', "root_path: Value error, must be empty or a path like /ccstats"),
        ('cors_origins = ["bi.example.com"]\n', "is not an origin: scheme and host"),
        ("port = \n", "not a TOML file"),
    ],
)
def test_bad_settings_say_what_and_where(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert message in str(caught.value)
    assert str(file) in str(caught.value)


def test_a_missing_settings_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(tmp_path / "nope.toml")


def test_serve_refuses_bad_settings_before_opening_anything(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 1
    assert "no such settings file" in result.stderr
    result = runner.invoke(cli_app, ["serve", "--port", "0", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1
    assert "port: Input should be greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_every_serve_option_is_a_setting_and_every_setting_reachable() -> None:
    options = _serve_options()
    fields = set(Settings.model_fields)
    plural = {"cors_origin": "cors_origins"}
    named = {plural.get(name, name) for flag, name in options.items() if flag != "--config"}
    assert named <= fields, named - fields
    # The admin token is no option (a process list would show it): variable and file only;
    # the authentication limits are three numbers, set by their variables.
    assert fields - named == {"admin_token", "auth_limits"}
    assert "--config" in options


def _doc_table() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    return rows


def test_the_docs_table_lists_every_setting_with_its_option_variable_and_default() -> None:
    rows = _doc_table()
    assert set(rows) == set(Settings.model_fields)
    options = {name: flag for flag, name in _serve_options().items()}
    options["cors_origins"] = options.pop("cors_origin")
    for name, (_, option, variable, default, _) in rows.items():
        assert variable.startswith(f"`CCSTATS_{name.upper()}`"), name
        assert option.startswith(f"`{options[name]}`") if name in options else option == "—"
        value = Settings.model_fields[name].get_default(call_default_factory=True)
        assert default == (f"`{value}`" if value not in (None, "", []) else "none"), name


def test_the_docs_settings_file_example_loads(tmp_path: Path) -> None:
    [example] = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    file = tmp_path / "ccstats.toml"
    file.write_text(example)
    settings = load_settings(file)
    assert settings.model_dump(exclude={"admin_token"}) == {
        **Settings(admin_token=None).model_dump(exclude={"admin_token"}),
        **tomllib.loads(example),
    }


# -- CORS ---------------------------------------------------------------------------------------


def test_cors_is_off_by_default(app_client: TestClient) -> None:
    answer = app_client.get("/v1/metrics", headers={"Origin": "https://bi.example.com"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    preflight = app_client.options(
        "/v1/query",
        headers={"Origin": "https://bi.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_for_the_configured_origins_only(store: Store) -> None:
    settings = Settings(db=":memory:", cors_origins=["https://bi.example.com"])
    client = TestClient(create_app(settings, store))
    preflight = client.options(
        "/v1/query",
        headers={
            "Origin": "https://bi.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://bi.example.com"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    answer = client.get("/v1/metrics", headers={"Origin": "https://bi.example.com"})
    assert answer.headers["access-control-allow-origin"] == "https://bi.example.com"
    assert "X-Request-ID" in answer.headers["access-control-expose-headers"]
    other = client.get("/v1/metrics", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = client.options(
        "/v1/query",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400


# -- a real server under a root path, configured by variables -------------------------------------


def test_serve_under_a_root_path_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "CCSTATS_PORT": str(port),
        "CCSTATS_DB": str(tmp_path / "ccstats.duckdb"),
        "CCSTATS_ROOT_PATH": "/ccstats",
    }
    # The proxy strips /ccstats: requests reach the server without it.
    with serving([], env) as server:
        base = server.base
        assert httpx.get(base + "/v1/metrics").status_code == 200
        schema = httpx.get(base + "/openapi.json").json()
        assert schema["servers"] == [{"url": "/ccstats"}]
        docs = httpx.get(base + "/docs").text
        assert "static/js/docs.js" in docs  # relative: under the root path (it loads openapi.json)
        # A vendor path's error is still in the vendor's shape (Huawei: errorCode/errorMsg).
        missing = httpx.post(base + "/oifde/rest/api/nothing", json={})
        assert missing.status_code == 404
        assert set(missing.json()) == {"errorCode", "errorMsg"}
        # The dashboard's links resolve below the sub-path, as a browser resolves them.
        page = httpx.get(base + "/").text
        links = re.findall(r'(?:src|href)="([^"]+)"', page)
        targets = {urljoin("https://example.com/ccstats/", link) for link in links}
        assert targets and all(t.startswith("https://example.com/ccstats/") for t in targets)
        assert "https://example.com/ccstats/docs" in targets
        assert "https://example.com/ccstats/static/js/main.js" in targets
        scrape = httpx.get(base + "/metrics").text
    assert f"serving {env['CCSTATS_DB']} on http://127.0.0.1:{port}/ccstats" in server.stderr
    assert 'route="/v1/metrics"' in scrape
    assert 'dialect="huawei",method="POST",route="<unmatched>",status="404"' in scrape
