"""Install it like a tool: the wheel and the sdist (built twice, byte for byte the same), the
wheel installed into a fresh venv building a deck of its own outside the repository, `tfcards new`
and `tfcards templates`, one version everywhere, SHA256SUMS, and the workflows' schema."""
from __future__ import annotations

import configparser
import email.parser
import gzip
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from anki.collection import Collection, ImportAnkiPackageRequest
from click.testing import CliRunner
from pypdf import PdfReader

import generator
from generator import scaffold
from generator.cli import main
from generator.load import load_cards
from generator.release import build_dists, checksums, matrix_markdown

REPO = Path(__file__).resolve().parents[1]
EPOCH = 1_700_000_000  # any fixed commit time
RELEASES = ["2.15.1", "2.16.2", "2.17.1", "2.18.1", "2.19.1", "2.20.0", "2.21.0"]
SECOND_CARD = """
  - id: example-variable-assign
    front: What does `v.assign(5)` return for `v = tf.Variable(1)`?
    back: The variable itself, now holding `5`.
    code: |
      v = tf.Variable(1)
      print(v.assign(5).numpy())
    output: |
      5
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[list[Path], list[Path]]:
    """The sdist and the wheel, built twice from the working tree."""
    out = tmp_path_factory.mktemp("dists")
    return build_dists(REPO, out / "a", EPOCH), build_dists(REPO, out / "b", EPOCH)


def _wheel(built: list[Path]) -> Path:
    return next(p for p in built if p.suffix == ".whl")


def _sdist(built: list[Path]) -> Path:
    return next(p for p in built if p.name.endswith(".tar.gz"))


def _source_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.install
def test_two_builds_give_byte_identical_wheels_and_sdists(dists):
    first, second = dists
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    sdist = _sdist(first).read_bytes()
    assert sdist[4:8] == b"\0\0\0\0"  # gzip header without a time
    with tarfile.open(_sdist(first)) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {m.mtime for m in tar.getmembers()} == {EPOCH}
        assert {(m.uid, m.gid) for m in tar.getmembers()} == {(0, 0)}
    with zipfile.ZipFile(_wheel(first)) as whl:
        assert {i.date_time for i in whl.infolist()} == {time.gmtime(EPOCH)[:6]}


@pytest.mark.install
def test_the_wheel_holds_every_module_and_template_and_its_requirements_say_what_is_proven(dists):
    wheel, sdist = _wheel(dists[0]), _sdist(dists[0])
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        meta = email.parser.Parser().parsestr(
            whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    modules = {f"generator/{p}" for p in _source_files(REPO / "generator") if p.endswith(".py")}
    templates = {f"generator/templates/{p}" for p in _source_files(REPO / "templates")}
    skeleton = {f"generator/skeleton/{p}" for p in _source_files(REPO / "generator" / "skeleton")}
    assert "generator/templates/anki/style.css" in templates and len(skeleton) == len(scaffold.SKELETON)
    assert modules | templates | skeleton <= names
    assert not any(n.startswith("templates/") for n in names)  # inside the package, not beside it
    check = subprocess.run([sys.executable, "-m", "check_wheel_contents", str(wheel)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert meta["Version"] == generator.__version__
    requires = meta.get_all("Requires-Dist")
    assert "tensorflow<2.22,>=2.15.1" in requires
    assert [r for r in requires if "litert" in r] == ['ai-edge-litert>=2.1; extra == "litert"']
    assert "litert" in meta.get_all("Provides-Extra")
    # build_dists built the wheel from the sdist; the sdist keeps the folder authors edit
    with tarfile.open(sdist) as tar:
        members = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {f"templates/{p}" for p in _source_files(REPO / "templates")} <= members


def _fresh_venv(root: Path, wheel: Path) -> Path:
    """A new venv holding the wheel (not editable), its dependencies borrowed from this
    interpreter's site-packages through a .pth file: no TensorFlow downloaded again. (The
    borrowed folder's own .pth files, such as an editable tfcards's, are not run; and
    --ignore-installed installs the wheel even where its version is seen there.)"""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    target = Path(subprocess.run([root / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    shared = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (target / "borrowed.pth").write_text("\n".join(shared) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", "--ignore-installed", str(wheel)], check=True, env=_outside())
    return root


def _outside() -> dict[str, str]:
    """The environment without PYTHONPATH: a checkout on it (and its egg-info) would stand in
    for the installed wheel."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.install
def test_the_installed_wheel_starts_verifies_and_builds_a_deck_outside_the_repository(dists, tmp_path):
    venv = _fresh_venv(tmp_path / "venv", _wheel(dists[0]))
    env = _outside()
    work = tmp_path / "work"
    work.mkdir()

    def tfcards(*args: str, cwd: Path = work) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "tfcards"), *args], cwd=cwd, env=env, capture_output=True, text=True)

    shown = subprocess.run([venv / "bin" / "python", "-c", "import generator.render as r; "
                            "print(r.__file__); print(r.default_templates_dir())"],
                           cwd=work, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    where = shown.stdout.split()
    site = str(venv / "lib")
    assert where[0].startswith(site) and where[1].startswith(site), where  # the wheel's, not the checkout's
    assert tfcards("--version").stdout.split()[-1] == generator.__version__

    assert tfcards("new", "my-deck").returncode == 0
    deck = work / "my-deck"
    with open(deck / "cards" / "first-steps.yaml", "a", encoding="utf-8") as f:
        f.write(SECOND_CARD)  # a two-card deck: the example and one of the author's
    verified = tfcards("verify", "--strict", cwd=deck)
    assert verified.returncode == 0 and "2 passed, 0 failed" in verified.stdout, verified.stdout + verified.stderr
    built = tfcards("build", "--strict", "--format", "all", cwd=deck)  # verdicts cached: no second TensorFlow
    assert built.returncode == 0 and "2 passed, 0 failed" in built.stdout, built.stdout + built.stderr
    apkg, pdf = deck / "build" / "my-deck.apkg", deck / "build" / "my-deck-duplex-a4-3x5-flip-long.pdf"
    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))  # the real Anki imports it
    try:
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(apkg),
                                                         options=col._backend.get_import_anki_package_presets()))
        assert col.note_count() == 2
        assert "my-deck::01 First steps" in {d.name for d in col.decks.all_names_and_ids()}  # numbered: the learning path
    finally:
        col.close()
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "What is the shape of" in text and "return for" in text

    assert tfcards("templates", "restyle").returncode == 0  # the wheel's own copy
    assert {p: (work / "restyle" / p).read_bytes() for p in _source_files(work / "restyle")} == \
           {p: (REPO / "templates" / p).read_bytes() for p in _source_files(REPO / "templates")}


def test_new_writes_a_deck_repository(tmp_path):
    result = CliRunner().invoke(main, ["new", str(tmp_path / "deck")])
    assert result.exit_code == 0, result.output
    deck = tmp_path / "deck"
    assert _source_files(deck) == {".gitignore", "README.md", ".github/workflows/verify.yml",
                                   "cards/deck.yaml", "cards/first-steps.yaml"}
    assert yaml.safe_load((deck / "cards" / "deck.yaml").read_text()) == {"topics": ["first-steps"]}
    assert "/build/" in (deck / ".gitignore").read_text().splitlines()
    readme = (deck / "README.md").read_text()
    assert "tfcards verify --strict" in readme and "tfcards build" in readme and readme.startswith("# deck\n")
    (card,) = load_cards([deck / "cards"])
    assert card.code and card.deck == "deck"
    assert not (deck / "cards" / "first-steps.yaml").read_text().startswith("# yaml-language-server")
    flow = yaml.safe_load((deck / ".github" / "workflows" / "verify.yml").read_text())
    assert flow["jobs"]["verify"]["strategy"]["matrix"]["tensorflow"] == RELEASES
    steps = " ".join(str(s.get("run", "")) for s in flow["jobs"]["verify"]["steps"])
    assert "--strict" in steps and "--report" in steps and "--junit" in steps
    assert flow["jobs"]["merge"]["needs"] == "verify"
    assert "tfcards matrix --merge reports/*.json" in " ".join(str(s.get("run", "")) for s in flow["jobs"]["merge"]["steps"])
    assert f"tfcards=={generator.__version__}" in flow["env"]["TFCARDS"]


def test_new_and_templates_fill_an_empty_directory(tmp_path, monkeypatch):
    (tmp_path / "deck").mkdir()
    monkeypatch.chdir(tmp_path / "deck")
    assert CliRunner().invoke(main, ["new", "."]).exit_code == 0
    assert (tmp_path / "deck" / "cards" / "first-steps.yaml").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != "deck"]  # no temporary left beside it


@pytest.mark.parametrize("command", ["new", "templates"])
def test_new_and_templates_never_write_over_files(tmp_path, command):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my work")
    result = CliRunner().invoke(main, [command, str(target)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "is not empty" in result.output and "mine" in result.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"] and (target / "notes.txt").read_text() == "my work"
    plain = tmp_path / "a-file"
    plain.write_text("x")
    result = CliRunner().invoke(main, [command, str(plain)])
    assert result.exit_code == 2 and plain.read_text() == "x"
    assert result.output.strip().count("\n") == 0 and "is not a directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "mine"]  # no temporary left


def test_templates_writes_the_shipped_templates(tmp_path):
    result = CliRunner().invoke(main, ["templates", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    shipped = _source_files(REPO / "templates")
    assert _source_files(tmp_path / "t") == shipped and "anki/style.css" in shipped
    assert all((tmp_path / "t" / p).read_bytes() == (REPO / "templates" / p).read_bytes() for p in shipped)


def test_a_schema_line_heads_every_new_topic_file(tmp_path, monkeypatch):
    line = "# yaml-language-server: $schema=https://example.org/tfcards-card.schema.json"
    monkeypatch.setattr(scaffold, "SCHEMA_LINE", line)
    assert CliRunner().invoke(main, ["new", str(tmp_path / "deck")]).exit_code == 0
    assert (tmp_path / "deck" / "cards" / "first-steps.yaml").read_text().splitlines()[0] == line
    assert len(load_cards([tmp_path / "deck" / "cards"])) == 1


def test_version_the_changelog_and_setup_cfg_agree():
    newest = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: generator.__version__"
    shown = CliRunner().invoke(main, ["--version"]).output
    assert shown == f"tfcards, version {generator.__version__}\n"
    assert newest == generator.__version__


def _workflows() -> list[Path]:
    return sorted((REPO / ".github" / "workflows").glob("*.yml")) + [REPO / "generator" / "skeleton" / "verify.yml"]


def test_every_workflow_validates_against_githubs_schema(tmp_path):
    files = _workflows()
    assert [p.name for p in files] == ["matrix.yml", "release.yml", "verify.yml"]
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    result = subprocess.run(check + [str(p) for p in files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # a job without runs-on: the check must catch it
    broken.write_text((REPO / ".github" / "workflows" / "release.yml").read_text().replace("runs-on:", "run-on:"))
    assert subprocess.run(check + [str(broken)], capture_output=True).returncode == 1


def test_the_repository_runs_each_release_as_a_job_and_merges_them():
    flow = yaml.safe_load((REPO / ".github" / "workflows" / "matrix.yml").read_text())
    jobs = flow["jobs"]["verify"]["strategy"]["matrix"]["include"]
    assert sorted({j["tensorflow"] for j in jobs}) == RELEASES
    assert flow["jobs"]["merge"]["needs"] == "verify"
    assert "tfcards matrix --merge reports/*.json" in " ".join(str(s.get("run", "")) for s in flow["jobs"]["merge"]["steps"])
    release = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    assert release[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    runs = [s.get("run", "") for s in release["jobs"]["release"]["steps"]]
    assert "make release" in runs and any("gh release create" in r and "build/release/*" in r for r in runs)


def test_checksums_pass_sha256sum_and_catch_a_changed_file(tmp_path):
    for name, text in {"deck.apkg": "a", "deck.pdf": "b"}.items():
        (tmp_path / name).write_text(text)
    sums = checksums(tmp_path)
    assert sums.read_text() == "".join(f"{hashlib.sha256(t.encode()).hexdigest()}  {n}\n"
                                       for n, t in [("deck.apkg", "a"), ("deck.pdf", "b")])
    assert subprocess.run(["sha256sum", "-c", "--quiet", sums.name], cwd=tmp_path).returncode == 0
    (tmp_path / "deck.pdf").write_text("changed")
    assert subprocess.run(["sha256sum", "-c", "--quiet", sums.name], cwd=tmp_path,
                          capture_output=True).returncode == 1


def test_the_matrix_table_counts_what_holds_per_topic(write_cards):
    cards = load_cards([write_cards({"a.yaml": """
        topic: Alpha
        cards:
          - {id: a1, front: q, back: a, code: "print(1)", output: "1"}
          - {id: a2, front: q2, back: a2}
        """})])
    data = {"versions": ["2.15.1", "2.21.0"], "cards": [
        {"id": "a1", "results": {"2.15.1": {"status": "skipped"}, "2.21.0": {"status": "passed"}}},
        {"id": "a2", "results": {"2.15.1": {"status": "no-code"}, "2.21.0": {"status": "no-code"}}}]}
    table = matrix_markdown(data, cards)
    assert "| topic | TensorFlow 2.15.1 | TensorFlow 2.21.0 |" in table
    assert "| Alpha | 1 of 2 | 2 of 2 |" in table
    data["cards"].append({"id": "gone", "results": {}})
    with pytest.raises(ValueError, match="'gone'"):
        matrix_markdown(data, cards)
