"""The container image holds everything the dashboard needs (deploy/Dockerfile), checked without Docker.

No Docker engine runs here or in CI, so the image is never built. What it would hold is known, though: the
files its COPY instructions take from the repository, and the packages requirements.txt installs. These
tests lay out the image's /app from the Dockerfile's own COPY lines in a temporary folder, start
`streamlit run app.py` there (nothing of the repository on the path) and open every page through Streamlit's
websocket protocol: each must draw without an exception and show what it shows here. A file the app reads
but the Dockerfile leaves out (the national figures, the page icon) fails them.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import json
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.load import ROOT, Server
from benchmarks.protocol import PAGES, _connect, _cookies, _http_get, _script_run, rerun_message, run_sync

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
APP_SOURCES = ("app.py", "analysis", "dashboard", "pages")

# Besides its title, what each page shows only when the files it reads are in the image.
SHOWN_WITH_ITS_FILES: dict[str, str] = {
    "national": "Open Government Licence",       # data/reference: NHS England's published figures
    "survey": "respondents",                      # data/sample/survey
    "methods": "PHQ-9",                           # data/sample/reference: the data dictionary
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, the rest of the line), continuation lines joined, comments
    dropped."""
    lines: list[str] = []
    for raw in dockerfile.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + stripped
        else:
            lines.append(stripped)
    parsed = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        parsed.append((keyword.upper(), rest.strip()))
    return parsed


def ignored_by(context: Path) -> Callable[[str], bool]:
    """Whether a path (relative to ``context``, with ``/``) is left out of the build by ``context/.dockerignore``:
    a pattern matches the path or a folder it is in; ``**/`` matches at any depth (Docker's rules, less ``!``)."""
    ignore = context / ".dockerignore"
    patterns = [line.strip().strip("/") for line in (ignore.read_text().splitlines() if ignore.exists() else [])
                if line.strip() and not line.strip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "an exception (!) in .dockerignore: teach this test"

    def ignored(relative: str) -> bool:
        parts = relative.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        for pattern in patterns:
            if pattern.startswith("**/"):
                if any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts):
                    return True
            elif any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
                return True
        return False

    return ignored


def lay_out_image(dockerfile: Path, context: Path, into: Path) -> Path:
    """Copy what the Dockerfile's COPY lines take from ``context`` to where they put it, under ``into``
    standing for the image's root, leaving out what ``.dockerignore`` keeps from the build; returns the last
    WORKDIR (where its CMD runs)."""
    ignored = ignored_by(context)
    workdir = Path("/")
    for keyword, rest in instructions(dockerfile):
        args = shlex.split(rest)
        if keyword == "WORKDIR":
            workdir = workdir / args[0]
        elif keyword in ("COPY", "ADD"):
            paths = [a for a in args if not a.startswith("--")]
            assert not any(a.startswith("--from") for a in args), "a multi-stage COPY: teach this test"
            *sources, target = paths
            destination = into / (workdir / target).relative_to("/")
            for source in sources:
                origin = context / source
                assert origin.exists() and not ignored(source.strip("/")), (
                    f"the Dockerfile copies {source}, which is not in the build context")
                if origin.is_dir():
                    shutil.copytree(origin, destination, dirs_exist_ok=True, ignore=lambda folder, names: [
                        n for n in names if ignored((Path(folder) / n).relative_to(context).as_posix())])
                else:
                    goes_in = target.endswith("/") or target in (".", "./") or len(sources) > 1
                    final = destination / origin.name if goes_in else destination
                    final.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, final)
    return into / workdir.relative_to("/")


def test_the_layout_follows_copy_lines(tmp_path):
    """The helper itself: files, directories and `.` targets land where Docker puts them."""
    context = tmp_path / "context"
    (context / "pkg").mkdir(parents=True)
    (context / "pkg" / "a.py").write_text("x = 1\n")
    (context / "top.txt").write_text("top\n")
    (context / "cfg.toml").write_text("[a]\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nWORKDIR /app\nCOPY top.txt .\nCOPY pkg ./pkg\n"
                          "COPY cfg.toml \\\n     ./conf/cfg.toml\n")
    (context / "pkg" / "__pycache__").mkdir()
    (context / "pkg" / "__pycache__" / "a.pyc").write_text("")
    (context / "pkg" / "secret.toml").write_text("")
    (context / ".dockerignore").write_text("# comment\npkg/secret.toml\n**/__pycache__\n")
    app = lay_out_image(dockerfile, context, tmp_path / "image")
    assert app == tmp_path / "image" / "app"
    assert sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()) == [
        "conf/cfg.toml", "pkg/a.py", "top.txt"]
    (context / ".dockerignore").write_text("top.txt\n")  # a COPY of what the build never sees fails the build
    with pytest.raises(AssertionError, match="not in the build context"):
        lay_out_image(dockerfile, context, tmp_path / "again")


def test_the_build_never_sees_secrets_or_a_workshop_data_set():
    ignored = ignored_by(ROOT)
    assert ignored(".streamlit/secrets.toml") and ignored("deploy/workshop-data/room.csv") and ignored(".git/HEAD")
    assert not ignored(".streamlit/config.toml") and not ignored("data/reference/nhs_tt_measures.parquet")


@pytest.fixture(scope="module")
def image_server(tmp_path_factory):
    app = lay_out_image(DOCKERFILE, ROOT, tmp_path_factory.mktemp("image"))
    env = {"PYTHONPATH": "", "PYTHONSAFEPATH": "1"}  # nothing of the repository on the path: the image's files only
    with Server(ROOT / "test-artifacts" / "image-files-streamlit.log", cwd=app, env=env) as server:
        yield app, server


async def _open_page(base: str, page: str) -> tuple[list[str], list[str], bool]:
    status, headers = await _http_get(f"{base}/{'' if page == 'overview' else page}", "", 120)
    assert status == 200, f"{page}: HTTP {status}"
    ws = await _connect(base, _cookies(headers))
    try:
        run = await _script_run(ws, rerun_message(page, ""), 120)
    finally:
        await ws.close()
    return run.texts, run.exceptions, run.page_not_found


def test_every_page_draws_from_the_images_files_alone(image_server):
    app, server = image_server
    assert not (app / "tests").exists() and not (app / "benchmarks").exists()  # the image, not the repository

    async def every_page():
        return {page: await _open_page(server.url, page) for page in PAGES}

    for page, (texts, exceptions, not_found) in run_sync(every_page()).items():
        assert not not_found, f"{page}: not found"
        assert exceptions == [], f"{page}: {exceptions[0][:400] if exceptions else ''}"
        wanted = [PAGES[page]] + ([SHOWN_WITH_ITS_FILES[page]] if page in SHOWN_WITH_ITS_FILES else [])
        for text in wanted:
            assert any(text in t for t in texts), f"{page}: {text!r} is not on the page served from the image's files"
    log = (ROOT / "test-artifacts" / "image-files-streamlit.log").read_text()
    assert "Traceback" not in log and "FileNotFoundError" not in log


def _third_party_imports() -> set[str]:
    """Top-level modules the app's own code imports, other than its own packages and the standard library."""
    own = {"analysis", "dashboard", "pages", "app"}
    found: set[str] = set()
    for source in APP_SOURCES:
        for path in ([ROOT / source] if source.endswith(".py") else sorted((ROOT / source).rglob("*.py"))):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {name for name in found - own if name not in sys.stdlib_module_names}


def test_requirements_install_every_package_the_app_imports():
    """The image installs requirements.txt only: every third-party module the app's code imports must come
    from a distribution pinned there (importlib.metadata says which distribution provides a module)."""
    pinned = {re.split(r"[=<>!~\[ ]", line.strip())[0].lower().replace("_", "-")
              for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.strip().startswith("#")}
    provides = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"streamlit", "pandas", "plotly"} <= imports  # the scan sees the app's imports
    missing = {module: provides.get(module) for module in imports
               if not {d.lower().replace("_", "-") for d in provides.get(module, [])} & pinned}
    assert missing == {}, f"imported by the app but not installed by requirements.txt: {missing}"


def test_the_image_serves_the_app_from_its_workdir_on_the_port_it_exposes():
    parsed = instructions(DOCKERFILE)
    command = json.loads(next(rest for keyword, rest in reversed(parsed) if keyword == "CMD"))  # the exec form
    exposed = [rest.split("/")[0] for keyword, rest in parsed if keyword == "EXPOSE"]
    assert command[:3] == ["streamlit", "run", "app.py"]
    assert command[command.index("--server.port") + 1] in exposed


def test_the_compose_file_runs_this_image_as_a_room_would_want_it():
    """deploy/compose.yaml: the app built from deploy/Dockerfile, secrets mounted where the image's app reads them,
    the room's layout one section at a time by default, nginx given the rendered configuration for `app:<port>`."""
    import yaml

    from dashboard import state

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    assert (ROOT / "deploy" / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DOCKERFILE
    workdir = next(rest for keyword, rest in reversed(instructions(DOCKERFILE)) if keyword == "WORKDIR")
    targets = {volume.split(":")[1] for volume in app["volumes"]}
    assert f"{workdir}/.streamlit/secrets.toml" in targets  # where `streamlit run app.py` in WORKDIR reads them
    assert re.fullmatch(r"\$\{PAGE_LAYOUT:-(\w+)\}", app["environment"]["PAGE_LAYOUT"]).group(1) == state.LAYOUT_SECTIONS
    exposed = next(rest for keyword, rest in instructions(DOCKERFILE) if keyword == "EXPOSE")
    assert app["expose"] == [exposed]
    config = next(v for v in nginx["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro")).split(":")[0]
    assert f"server app:{exposed}" in (ROOT / "deploy" / config).read_text()
