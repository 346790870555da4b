"""`ncdss audit` and `ncdss diff`: verify an artifact's history and compare two histories.

Audit walks from an artifact back to the dataset through the inputs recorded in each
provenance.json. At every step it checks that the record itself is unaltered (record digest), that
the artifact's files still have the digests recorded when it was made, and that each input still
has the digest and provenance record the artifact was built from. At the dataset it re-hashes
every image, label and saliency file listed in the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ncdss_core.io.atomic import read_json
from ncdss_core.provenance.record import (
    PROVENANCE,
    artifact_digest,
    code_version,
    directory_manifest,
    file_digest,
    provenance_path_of,
    record_digest,
    resolve,
    working_dir_of,
)


@dataclass
class Node:
    """One artifact of the history: its record, where it sits in the chain, what is wrong with it."""
    key: str                      # input names from the audited artifact, e.g. "model/splits"
    path: Path
    record: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()


EXTERNAL = "external input: no provenance when it was read; its digest is verified above"


def _artifact_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _check_files(node: Node) -> None:
    recorded = node.record["output"]["files"]
    current = directory_manifest(_artifact_dir(node.path))
    for rel in sorted(set(recorded) | set(current)):
        where = _artifact_dir(node.path) / rel
        if rel not in current:
            node.problems.append(f"{where}: file recorded in provenance is missing")
        elif rel not in recorded:
            node.problems.append(f"{where}: file not recorded in provenance (added after the stage ran)")
        elif recorded[rel] != current[rel]:
            node.problems.append(f"{where}: content changed since the stage wrote it "
                                 f"(sha256 {current[rel][:12]}…, recorded {recorded[rel][:12]}…)")


def _check_dataset_manifest(node: Node, base: Path) -> None:
    directory = _artifact_dir(node.path)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return
    manifest = read_json(manifest_path)
    root = resolve(manifest["root"], base)
    for rel, digest in sorted(manifest["files"].items()):
        target = root / rel
        if not target.is_file():
            node.problems.append(f"{target}: dataset file is missing")
        elif file_digest(target) != digest:
            node.problems.append(f"{target}: dataset file changed since it was indexed")
    node.notes.append(f"dataset {manifest['kind']} at {root}: {len(manifest['files'])} files verified")


def _load(path: Path, key: str, seen: dict[str, Node], current_commit: str | None) -> Node:
    prov = provenance_path_of(path)
    resolved = str(prov.resolve()) if prov else str(path.resolve())
    if resolved in seen:  # shared ancestors (the dataset) are checked once
        return Node(key=key, path=path, record=seen[resolved].record, notes=["(checked above)"])
    node = Node(key=key, path=path, record=None)
    seen[resolved] = node
    if prov is None:
        node.problems.append(f"{path}: no {PROVENANCE}; cannot tell what made it")
        return node
    record = read_json(prov)
    node.record = record
    base = working_dir_of(prov, record)
    if record.get("record_digest") != record_digest(record):
        node.problems.append(f"{prov}: the provenance record was edited after it was written "
                             f"(record digest mismatch)")
    _check_files(node)
    if record.get("stage") == "index_dataset":
        _check_dataset_manifest(node, base)
    commit = (record.get("code") or {}).get("git_commit")
    if current_commit and commit and commit != current_commit:
        node.notes.append(f"made by other code: commit {commit[:10]} (now {current_commit[:10]})")
    if (record.get("code") or {}).get("dirty"):
        node.notes.append("made from a checkout with uncommitted changes")
    for name, entry in sorted(record.get("inputs", {}).items()):
        child_path = resolve(entry["path"], base)
        child_key = f"{key}/{name}" if key else name
        if not child_path.exists():
            node.problems.append(f"input {name}: {child_path} no longer exists")
            continue
        if artifact_digest(child_path) != entry["digest"]:
            node.problems.append(f"input {name}: {child_path} changed since this artifact was made")
        if "provenance" not in entry:  # made outside the workflow (a weights file, a list file)
            node.children.append(Node(key=child_key, path=child_path, record=None, notes=[EXTERNAL]))
            continue
        child_prov = provenance_path_of(child_path)
        if entry.get("provenance_digest") is not None and child_prov is not None:
            if read_json(child_prov).get("record_digest") != entry["provenance_digest"]:
                node.problems.append(f"input {name}: the provenance of {child_path} is not the one "
                                     f"this artifact was built from")
        node.children.append(_load(child_path, child_key, seen, current_commit))
    return node


def audit(path: str | Path) -> Node:
    """The verified history of an artifact (directory or a file inside one)."""
    return _load(Path(path), "", {}, code_version().get("git_commit"))


def _short_params(params: dict[str, Any], limit: int = 160) -> str:
    text = ", ".join(f"{k}={v}" for k, v in sorted(_flatten(params).items()))
    return text if len(text) <= limit else text[:limit] + "…"


def format_chain(root: Node, verbose: bool = False) -> str:
    lines: list[str] = []

    def emit(node: Node, depth: int) -> None:
        pad = "  " * depth
        record = node.record or {}
        status = "FAIL" if node.problems else "ok"
        code = record.get("code") or {}
        commit = (code.get("git_commit") or "unknown")[:10] + ("+dirty" if code.get("dirty") else "")
        label = f"{node.key.split('/')[-1]}: " if node.key else ""
        if EXTERNAL in node.notes:
            lines.append(f"{pad}[ok] {label}external file  {node.path}")
            return
        lines.append(f"{pad}[{status}] {label}{record.get('stage', '?')}  {node.path}  (code {commit}, "
                     f"seed {record.get('seed')}, job {record.get('slurm_job_id') or 'local'})")
        if record.get("params") and "(checked above)" not in node.notes:
            params = record["params"]
            lines.append(f"{pad}      params: " + (", ".join(f"{k}={v}" for k, v in
                                                             sorted(_flatten(params).items()))
                                                   if verbose else _short_params(params)))
        if record.get("metrics") and "(checked above)" not in node.notes:
            lines.append(f"{pad}      metrics: {_short_params(record['metrics'])}")
        for note in node.notes:
            lines.append(f"{pad}      note: {note}")
        for problem in node.problems:
            lines.append(f"{pad}      PROBLEM: {problem}")
        for child in node.children:
            emit(child, depth + 1)

    emit(root, 0)
    return "\n".join(lines)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def history(path: str | Path) -> dict[str, dict[str, Any]]:
    """key -> record for every artifact of a history (no verification)."""
    out: dict[str, dict[str, Any]] = {}

    def visit(p: Path, key: str) -> None:
        prov = provenance_path_of(p)
        if prov is None or key in out:
            return
        record = read_json(prov)
        out[key] = record
        base = working_dir_of(prov, record)
        for name, entry in sorted(record.get("inputs", {}).items()):
            visit(resolve(entry["path"], base), f"{key}/{name}" if key else name)

    visit(Path(path), "")
    return out


def diff(a: str | Path, b: str | Path) -> list[str]:
    """What differs between the histories of two artifacts, stage by stage."""
    ha, hb = history(a), history(b)
    lines: list[str] = []
    for key in sorted(set(ha) | set(hb), key=lambda k: (k.count("/"), k)):
        where = key or "(artifact)"
        if key not in hb:
            lines.append(f"{where}: only in A ({ha[key]['stage']})")
            continue
        if key not in ha:
            lines.append(f"{where}: only in B ({hb[key]['stage']})")
            continue
        ra, rb = ha[key], hb[key]
        stage = ra.get("stage")
        if ra.get("stage") != rb.get("stage"):
            lines.append(f"{where}: stage {ra.get('stage')} vs {rb.get('stage')}")
        for section in ("params", "metrics", "libraries", "code", "cpu"):
            fa, fb = _flatten(ra.get(section) or {}), _flatten(rb.get(section) or {})
            for name in sorted(set(fa) | set(fb)):
                if fa.get(name) != fb.get(name):
                    lines.append(f"{where} [{stage}] {section}.{name}: {fa.get(name)!r} -> {fb.get(name)!r}")
        for name in ("seed", "device"):
            if ra.get(name) != rb.get(name):
                lines.append(f"{where} [{stage}] {name}: {ra.get(name)!r} -> {rb.get(name)!r}")
        if ra["output"]["digest"] != rb["output"]["digest"]:
            fa, fb = ra["output"]["files"], rb["output"]["files"]
            changed = sum(1 for f in set(fa) | set(fb) if fa.get(f) != fb.get(f))
            lines.append(f"{where} [{stage}] output: {changed} of {len(set(fa) | set(fb))} files differ")
    return lines
