"""The parts of `make release` that need more than a shell line: the wheel and sdist built
reproducibly, the version matrix as a Markdown table, and SHA256SUMS.

Two runs on the same commit give byte-identical files: every timestamp is the last commit's
(SOURCE_DATE_EPOCH), file modes are normalised before the build, and the sdist, whose tar and gzip
headers setuptools stamps with the build time, is rewritten with sorted members and fixed headers.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

from .atomic import atomic_path, write_text
from .cards import Card

# Never part of a distribution: outputs, caches, environments, version control.
_NOT_SOURCE = shutil.ignore_patterns("build", "dist", ".venv", ".git", "*.egg-info", "__pycache__",
                                     ".pytest_cache", "*.py[cod]")


def source_date_epoch(repo: Path) -> int:
    """SOURCE_DATE_EPOCH if set, else the last commit's time: what every timestamp becomes."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    out = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%ct"], check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip())


def build_dists(repo: Path, out_dir: Path, epoch: int, python: str = sys.executable) -> list[Path]:
    """The sdist, then the wheel built from it (so the sdist is proven to build one), from a
    clean copy of REPO: no stale `build/lib` or egg-info of the working tree leaks in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfcards-dist-") as tmp:
        source = Path(tmp) / "src"
        shutil.copytree(repo, source, ignore=_NOT_SOURCE)
        _normalise_tree(source, epoch)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
        env.pop("PYTHONPATH", None)
        # cwd outside the repository: its build/ folder would shadow the `build` package
        subprocess.run([python, "-m", "build", "--no-isolation", "--outdir", str(Path(tmp) / "dist"), str(source)],
                       check=True, cwd=tmp, env=env, stdout=subprocess.DEVNULL)
        built = sorted((Path(tmp) / "dist").iterdir())
        written = []
        for path in built:
            target = out_dir / path.name
            if path.name.endswith(".tar.gz"):
                normalise_sdist(path, target, epoch)
            else:
                with atomic_path(target) as t:
                    shutil.copyfile(path, t)
            written.append(target)
    return written


def _normalise_tree(root: Path, epoch: int) -> None:
    """Modes 644/755 whatever the umask of the clone, and every mtime the commit's."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() or os.access(path, os.X_OK):
            path.chmod(0o755)
        else:
            path.chmod(0o644)
        os.utime(path, (epoch, epoch))


def normalise_sdist(source: Path, target: Path, epoch: int) -> None:
    """Rewrite the sdist SOURCE to TARGET with members sorted by name, owned by root, stamped
    EPOCH, in a gzip stream without a name or a time: the same bytes on every run."""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(source, "r:gz") as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info).read() if info.isfile() else None
            members.append((info, data))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in sorted(members, key=lambda m: m[0].name):
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
            info.pax_headers = {}
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw.getvalue())


def checksums(directory: Path, name: str = "SHA256SUMS") -> Path:
    """`sha256sum -c` input for every file of DIRECTORY, sorted by name."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
             for p in sorted(directory.iterdir()) if p.is_file() and p.name != name]
    path = directory / name
    write_text(path, "\n".join(lines) + "\n")
    return path


def matrix_markdown(data: dict, cards: Sequence[Card]) -> str:
    """`tfcards matrix --report` JSON as a Markdown table: per topic (in learning-path order),
    how many of its cards hold on each TensorFlow (passed, or a concept card in range)."""
    topic_of = {card.id: card.topic for card in cards}
    versions: list[str] = data["versions"]
    held: dict[str, list[int]] = {card.topic: [0] * len(versions) for card in cards}
    sizes: dict[str, int] = dict.fromkeys(held, 0)
    for entry in data["cards"]:
        topic = topic_of.get(entry["id"])
        if topic is None:
            raise ValueError(f"the matrix report names card '{entry['id']}', which the deck does not have: "
                             "run the matrix again")
        sizes[topic] += 1
        for i, version in enumerate(versions):
            held[topic][i] += entry["results"][version]["status"] in ("passed", "no-code")
    rows = [["topic"] + [f"TensorFlow {v}" for v in versions], ["---"] * (len(versions) + 1)]
    rows += [[topic] + [f"{n} of {sizes[topic]}" for n in counts] for topic, counts in held.items() if sizes[topic]]
    total = sum(sizes.values())
    rows.append(["**all**"] + [f"**{sum(c[i] for c in held.values())} of {total}**" for i in range(len(versions))])
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return ("# The deck on each TensorFlow release\n\n"
            "Cards that hold, per topic: passed, or a card without code inside its `tensorflow` range. "
            "A card outside its range is skipped, not counted.\n\n" + table + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m generator.release dists|matrix|sums ...`: the steps `make release` runs."""
    parser = argparse.ArgumentParser(prog="python -m generator.release")
    steps = parser.add_subparsers(dest="step", required=True)
    dists = steps.add_parser("dists", help="the sdist and the wheel, reproducibly")
    dists.add_argument("repo", type=Path)
    dists.add_argument("out", type=Path)
    matrix = steps.add_parser("matrix", help="a `tfcards matrix --report` as a Markdown table")
    matrix.add_argument("report", type=Path)
    matrix.add_argument("out", type=Path)
    matrix.add_argument("cards", type=Path, nargs="*", default=[Path("cards")])
    sums = steps.add_parser("sums", help="SHA256SUMS of a directory's files")
    sums.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.step == "dists":
        for path in build_dists(args.repo, args.out, source_date_epoch(args.repo)):
            print(f"wrote {path}")
    elif args.step == "matrix":
        from .load import load_cards

        data = json.loads(args.report.read_text(encoding="utf-8"))
        write_text(args.out, matrix_markdown(data, load_cards(args.cards)))
        print(f"wrote {args.out}")
    else:
        print(f"wrote {checksums(args.directory)}")


if __name__ == "__main__":
    main()
