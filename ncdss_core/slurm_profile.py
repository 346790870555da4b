"""`ncdss install-profile`: install the cluster profile template as the user's `slurm` profile.

`snakemake --profile slurm` looks for a directory named `slurm` in the working directory, then in
the user's config directory ($XDG_CONFIG_HOME/snakemake, default ~/.config/snakemake), then in
/etc/xdg/snakemake; never in the workflow's profiles/. So the template in profiles/slurm/ is
rendered with the user's partition, account and status command into
<config-home>/snakemake/slurm/config.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "profiles" / "slurm" / "config.yaml"
PROFILE_NAME = "slurm"
PARTITIONS_FILE = "partitions.yaml"
STATUS_COMMANDS = ("sacct", "squeue")
DEFAULT_INIT_SECONDS = 40
# A template line `key: <name>  # ncdss:name` is filled in, or dropped when the value is None.
_MARKER = re.compile(r"^(?P<body>.*?)\s*#\s*ncdss:(?P<name>[a-z_]+)\s*$")


class ProfileError(Exception):
    """The profile cannot be installed as asked."""


@dataclass(frozen=True)
class Accounting:
    """What `sacct` says about Slurm accounting on this host."""

    enabled: bool | None  # None: sacct is not installed, so nothing is known
    reason: str


def detect_accounting(timeout: float = 20.0) -> Accounting:
    """Run a cheap sacct query. It fails (rc 1, "accounting storage is disabled") without slurmdbd."""
    sacct = shutil.which("sacct")
    if sacct is None:
        return Accounting(None, "sacct is not on PATH")
    try:
        done = subprocess.run(
            [sacct, "--noheader", "-X", "--format=JobIDRaw", "--starttime", "now"],
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return Accounting(False, f"sacct did not answer within {timeout:.0f} s")
    except OSError as error:
        return Accounting(False, f"sacct could not run: {error}")
    message = (done.stderr or done.stdout).strip().splitlines()
    if done.returncode != 0:
        return Accounting(False, f"sacct failed (rc {done.returncode}): {message[0] if message else ''}")
    if any("accounting storage is disabled" in line.lower() for line in message):
        return Accounting(False, "Slurm accounting storage is disabled")
    return Accounting(True, "sacct works")


def choose_status_command(requested: str | None, accounting: Accounting) -> str:
    """sacct where accounting works (the plugin's default); squeue otherwise, since the plugin's
    sacct polling never sees a job end without accounting and the run hangs."""
    if requested is not None:
        return requested
    return "sacct" if accounting.enabled else "squeue"


def yaml_string(value: str) -> str:
    """A YAML scalar that stays a string ("001" would otherwise load as a number)."""
    return json.dumps(value)


def resource_string(value: str) -> str:
    """A string resource for a profile's default-resources. Snakemake evaluates resource values as
    Python expressions, so a partition named `all`, `max` or `input` would become a Python object:
    quote it as a Python literal inside the YAML string."""
    return yaml_string(repr(value))


def partition_config(cpu_partition: str, gpu_partition: str) -> str:
    """The plugin's partition file (--slurm-partition-config): GPU jobs fit only the GPU
    partition; CPU jobs fit both but the plugin ranks a GPU partition lower for them."""
    return (
        "# Written by `ncdss install-profile`: which partition each job goes to (Slurm plugin's\n"
        "# --slurm-partition-config). max_gpu is GPUs per job; 0 = a CPU partition.\n"
        "partitions:\n"
        f"  {yaml_string(cpu_partition)}:\n    max_gpu: 0\n"
        f"  {yaml_string(gpu_partition)}:\n    max_gpu: 64\n"
    )


def render(template: str, values: dict[str, str | None]) -> str:
    """Fill the `# ncdss:<name>` lines of the template with the given text (already formatted as
    YAML); a None value drops its line."""
    out = []
    for line in template.splitlines():
        match = _MARKER.match(line)
        if match is None:
            out.append(line)
            continue
        name = match.group("name")
        if name not in values:
            raise ProfileError(f"template line needs an unknown value {name!r}: {line.strip()}")
        value = values[name]
        if value is None:
            continue
        text = str(value)
        body = match.group("body")
        if f"<{name}>" not in body:
            raise ProfileError(f"template line marked {name!r} has no <{name}> placeholder")
        out.append(body.replace(f"<{name}>", text))
    return "\n".join(out) + "\n"


def default_config_home() -> Path:
    """Where Snakemake (platformdirs) looks for user profiles, minus the `snakemake/` part."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else Path.home() / ".config"


def min_job_age() -> int | None:
    """slurmctld's MinJobAge (how long squeue still shows finished jobs), if scontrol answers."""
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        return None
    try:
        done = subprocess.run([scontrol, "show", "config"], capture_output=True, text=True, timeout=20)
    except (subprocess.TimeoutExpired, OSError):
        return None
    match = re.search(r"^MinJobAge\s*=\s*(\d+)", done.stdout, re.MULTILINE)
    return int(match.group(1)) if match else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ncdss install-profile",
        description="Install profiles/slurm/config.yaml as your `slurm` Snakemake profile, so that "
                    "`snakemake --profile slurm` runs the workflow through Slurm.",
    )
    parser.add_argument("--partition", help="Slurm partition for every job (default: the cluster's default partition)")
    parser.add_argument("--gpu-partition",
                        help="partition for the GPU rules when GPUs live in their own partition; needs "
                             "--partition for the CPU rules (written as the plugin's partitions.yaml)")
    parser.add_argument("--account", help="Slurm account (-A). Leave out on a Slurm without accounting: "
                                          "the plugin checks accounts with sacctmgr, which then fails")
    parser.add_argument("--status-command", choices=STATUS_COMMANDS,
                        help="how job states are polled (default: sacct if `sacct` works here, else squeue)")
    parser.add_argument("--init-seconds", type=int, default=DEFAULT_INIT_SECONDS,
                        help="seconds before a job's first status check (default %(default)s)")
    parser.add_argument("--config-home", type=Path,
                        help="config directory (default: $XDG_CONFIG_HOME or ~/.config); the profile goes to "
                             "<config-home>/snakemake/slurm/config.yaml")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help="overwrite an existing, different profile")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="print the rendered profile instead of installing it")
    return parser


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def strip_template_header(template: str) -> str:
    """Drop the template's leading comment block (it explains the template, not the profile)."""
    lines = template.splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "\n".join(lines[i:]).lstrip("\n") + "\n"


def install(args: argparse.Namespace, log=_log) -> Path | None:
    """Render and write the profile; returns its path (None with --print). Raises ProfileError."""
    if args.init_seconds < 1:
        raise ProfileError("--init-seconds must be at least 1")
    accounting = detect_accounting()
    status = choose_status_command(args.status_command, accounting)
    if args.status_command is None:
        log(f"status command: {status} ({accounting.reason})")
    if args.account and accounting.enabled is False and "disabled" in accounting.reason:
        raise ProfileError(
            f"--account {args.account!r} given, but {accounting.reason}: the Slurm plugin would fail to "
            "validate the account (sacctmgr needs accounting). Leave out --account on this cluster."
        )
    if status == "squeue":
        age = min_job_age()
        if age is not None and age < 3 * args.init_seconds:
            log(f"warning: MinJobAge={age} s < 3 x --init-seconds ({args.init_seconds}); the plugin will "
                "fall back to sacct. Lower --init-seconds or ask for a larger MinJobAge.")
    try:
        template = Path(args.template).read_text()
    except OSError as error:
        raise ProfileError(f"cannot read the profile template: {error}") from error
    partitions = None
    if args.gpu_partition and args.gpu_partition != args.partition:
        if not args.partition:
            raise ProfileError("--gpu-partition needs --partition (the partition of the CPU rules)")
        partitions = partition_config(args.partition, args.gpu_partition)
    # with a partition config an explicit slurm_partition would bypass the plugin's choice
    fixed_partition = args.partition if partitions is None else None
    text = render(strip_template_header(template), {
        "partition_config": None if partitions is None else yaml_string(PARTITIONS_FILE),
        "partition": None if fixed_partition is None else resource_string(fixed_partition),
        "account": None if args.account is None else resource_string(args.account),
        "status_command": yaml_string(status),
        "init_seconds": str(args.init_seconds),
    })
    header = ("# Snakemake profile `slurm`, installed by `ncdss install-profile` from the ncdss template\n"
              "# profiles/slurm/config.yaml. Per-rule resources come from the workflow's profiles/default.\n"
              "# To change partition, account or status command, rerun the installer with --force.\n\n")
    text = header + text
    if args.print_only:
        sys.stdout.write(text)
        if partitions is not None:
            sys.stdout.write(f"\n# --- {PARTITIONS_FILE} (next to config.yaml)\n{partitions}")
        return None

    config_home = Path(args.config_home) if args.config_home else default_config_home()
    target = config_home / "snakemake" / PROFILE_NAME / "config.yaml"
    wanted = {target: text, target.with_name(PARTITIONS_FILE): partitions}
    current = {path: path.read_text() if path.exists() else None for path in wanted}
    if current == wanted:
        log(f"{target} is already up to date")
        return target
    if current[target] is not None and not args.force:
        raise ProfileError(f"{target} exists and differs from the profile to install; "
                           "use --force to overwrite it")
    # Snakemake prefers profile.yaml / profile.v9+.yaml over config.yaml in the same directory.
    for other in sorted(target.parent.glob("profile*.yaml")):
        log(f"warning: {other} exists and takes precedence over config.yaml; remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    for path, content in wanted.items():
        if content is None:
            path.unlink(missing_ok=True)
            continue
        temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        temp.write_text(content)
        os.replace(temp, path)
    log(f"installed {target} (status command {status}"
        f"{', partition ' + args.partition if args.partition else ''}"
        f"{', GPU partition ' + args.gpu_partition if partitions else ''}"
        f"{', account ' + args.account if args.account else ''})")
    if config_home != default_config_home():
        log(f"note: Snakemake reads it only with XDG_CONFIG_HOME={config_home}")
    return target


def install_main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:  # `ncdss install-profile -- --partition x` passes the separator on
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    try:
        install(args)
    except ProfileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(install_main(sys.argv[1:]))
