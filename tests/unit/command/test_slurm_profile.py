"""`ncdss install-profile`: rendering, overwrite protection, status-command detection, and that
Snakemake finds the installed profile as `--profile slurm` and merges it with profiles/default."""

from __future__ import annotations

import ast
import re
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake_executor_plugin_slurm.partitions import read_partition_file

from ncdss_core import slurm_profile
from ncdss_core.slurm_profile import install_main, render

REPO = Path(__file__).resolve().parents[3]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def fake_sacct(bin_dir: Path, rc: int, message: str) -> None:
    """A `sacct` on PATH that prints `message` to stderr and exits with `rc`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "sacct"
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit {rc}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def no_sacct(monkeypatch, tmp_path):
    """A PATH without sacct or scontrol (sh is still found for the fake scripts)."""
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def installed(config_home: Path) -> dict:
    return yaml.safe_load((config_home / "snakemake" / "slurm" / "config.yaml").read_text())


def test_render_fills_and_drops_marked_lines():
    template = "a: 1\nb: <x>  # ncdss:x\nc: <y>  # ncdss:y\n# keep: <x>\n"
    assert render(template, {"x": '"v"', "y": None}) == 'a: 1\nb: "v"\n# keep: <x>\n'
    with pytest.raises(slurm_profile.ProfileError):
        render("b: <z>  # ncdss:z\n", {"x": "1"})


def test_installs_rendered_profile_with_partition_and_account(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + "/bin:/usr/bin")
    fake_sacct(tmp_path / "bin", 0, "")
    home = tmp_path / "config"
    assert install_main(["--partition", "all", "--account", "001", "--config-home", str(home)]) == 0
    profile = installed(home)
    assert profile["executor"] == "slurm"
    # sacct works here, so the plugin's default sacct polling is kept
    assert profile["slurm-status-command"] == "sacct"
    resources = profile["default-resources"]
    # Snakemake evaluates resource strings as Python: `all` must stay the string "all"
    assert ast.literal_eval(resources["slurm_partition"]) == "all"
    assert ast.literal_eval(resources["slurm_account"]) == "001"
    # per-rule resources belong to profiles/default; they would be replaced wholesale here
    assert "set-resources" not in profile and "set-threads" not in profile
    assert "TEMPLATE" not in (home / "snakemake" / "slurm" / "config.yaml").read_text()


def test_squeue_and_no_account_when_accounting_is_disabled(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + "/bin:/usr/bin")
    fake_sacct(tmp_path / "bin", 1, "Slurm accounting storage is disabled")
    home = tmp_path / "config"
    assert install_main(["--partition", "debug", "--config-home", str(home)]) == 0
    profile = installed(home)
    assert profile["slurm-status-command"] == "squeue"
    assert "slurm_account" not in profile["default-resources"]
    assert "accounting storage is disabled" in capsys.readouterr().err
    # an account cannot work there: the plugin validates it with sacctmgr
    assert install_main(["--account", "lab", "--config-home", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()


def test_squeue_when_sacct_is_missing_and_explicit_choice_wins(tmp_path, no_sacct):
    home = tmp_path / "config"
    assert install_main(["--config-home", str(home)]) == 0
    profile = installed(home)
    assert profile["slurm-status-command"] == "squeue"
    assert "slurm_partition" not in profile["default-resources"]  # the cluster's default partition
    home2 = tmp_path / "config2"
    assert install_main(["--status-command", "sacct", "--init-seconds", "5", "--config-home", str(home2)]) == 0
    assert installed(home2)["slurm-status-command"] == "sacct"
    assert installed(home2)["slurm-init-seconds-before-status-checks"] == 5


def test_refuses_to_overwrite_a_different_profile_without_force(tmp_path, no_sacct, capsys):
    home = tmp_path / "config"
    args = ["--partition", "debug", "--config-home", str(home)]
    assert install_main(args) == 0
    target = home / "snakemake" / "slurm" / "config.yaml"
    first = target.read_text()
    assert install_main(args) == 0  # same content: nothing to do
    assert target.read_text() == first
    assert install_main(["--partition", "gpu", "--config-home", str(home)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text() == first
    target.write_text("executor: local\n")  # a user's own edits are not silently lost either
    assert install_main(args) == 2
    assert install_main([*args, "--force"]) == 0
    assert target.read_text() == first


def test_default_config_home_is_xdg(tmp_path, no_sacct, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert install_main(["--", "--partition", "debug"]) == 0
    assert installed(tmp_path / "xdg")["default-resources"]["slurm_partition"] == "'debug'"


def test_snakemake_finds_installed_profile_and_merges_profiles_default(tmp_path, no_sacct):
    """`snakemake --profile slurm` as users type it: the installed profile (XDG_CONFIG_HOME) plus
    the workflow's profiles/default, without the two replacing each other's resources."""
    home = tmp_path / "xdg"
    assert install_main(["--partition", "debug", "--config-home", str(home)]) == 0
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "PATH": os.pathsep.join(["/usr/bin", "/bin"])}
    done = subprocess.run(
        [SNAKEMAKE, "--profile", "slurm", "-s", str(REPO / "Snakefile"), "--directory", str(work),
         "--configfile", str(REPO / "tests" / "configs" / "tiny.yaml"), "-n"],
        cwd=work, capture_output=True, text=True, timeout=300, env=env,
    )
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert re.search(r"Using profiles? slurm and workflow specific profile \S*profiles/default", text), text
    assert "slurm_partition=debug" in text  # from the installed profile's default-resources
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "default-resources" not in default  # it would replace the installed profile's block


def rule_blocks() -> dict[str, str]:
    """rule name -> its text, for every rule in rules/*.smk."""
    blocks = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^\s*rule (\w+):", text, re.MULTILINE)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")]):
            blocks[name] = text[start:end]
    return blocks


def test_default_profile_covers_every_rule_and_gpu_rules_are_the_network_rules():
    profile = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert profile["rerun-triggers"] == ["mtime", "params", "input", "software-env"]
    assert "default-resources" not in profile  # would replace the installed profile's partition/account
    resources, threads = profile["set-resources"], profile["set-threads"]
    blocks = rule_blocks()
    assert blocks, "no rules found"
    missing = sorted(set(blocks) - set(resources) - {"all"})
    assert not missing, f"rules without resources in profiles/default: {missing}"
    assert not sorted(set(resources) - set(blocks)), "profiles/default lists rules that do not exist"
    assert not sorted(set(threads) - set(blocks)), "profiles/default sets threads of rules that do not exist"
    for rule, block in blocks.items():
        if rule == "all":
            continue
        # the profile is the one place for threads and resources
        assert not re.search(r"^\s*(threads|resources):", block, re.MULTILINE), f"{rule} sets its own"
        res = resources[rule]
        assert res.get("mem_mb", 0) > 0 and res.get("runtime", 0) > 0, rule
        assert isinstance(threads.get(rule), int) and threads[rule] >= 1, rule
        # the rules that train or run a network are the ones with the torch environment
        wants_gpu = "envs/torch.yaml" in block
        assert res.get("gpu", 0) == (1 if wants_gpu else 0), f"{rule}: gpu={res.get('gpu')}"
        if wants_gpu:  # a group would add its jobs' GPUs into one multi-GPU request
            assert not re.search(r"^\s*group:", block, re.MULTILINE), f"GPU rule {rule} is grouped"


def test_gpu_partition_writes_a_partition_config_instead_of_one_partition(tmp_path, no_sacct, capsys):
    home = tmp_path / "config"
    profile_dir = home / "snakemake" / "slurm"
    assert install_main(["--gpu-partition", "gpu", "--config-home", str(home)]) == 2  # needs --partition
    assert "--partition" in capsys.readouterr().err
    assert install_main(["--partition", "cpu", "--gpu-partition", "gpu", "--config-home", str(home)]) == 0
    profile = installed(home)
    # an explicit slurm_partition would bypass the plugin's per-job choice
    assert "slurm_partition" not in profile["default-resources"]
    assert profile["slurm-partition-config"] == "partitions.yaml"  # resolved in the profile directory
    limits = {p.name: p.limits.max_gpu for p in read_partition_file(profile_dir / "partitions.yaml")}
    assert limits["cpu"] == 0 and limits["gpu"] >= 1
    # back to a single partition: the stale partition file goes too
    assert install_main(["--partition", "cpu", "--config-home", str(home), "--force"]) == 0
    assert not (profile_dir / "partitions.yaml").exists()
    assert "slurm-partition-config" not in installed(home)


def test_warns_when_squeue_polling_outlives_min_job_age(tmp_path, monkeypatch, capsys):
    """The plugin falls back to sacct (and hangs without accounting) if MinJobAge < 3 x init seconds."""
    bin_dir = tmp_path / "bin"
    fake_sacct(bin_dir, 1, "Slurm accounting storage is disabled")
    scontrol = bin_dir / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'MinJobAge               = 60 sec'\n")
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + "/bin:/usr/bin")
    assert install_main(["--init-seconds", "40", "--config-home", str(tmp_path / "a")]) == 0
    assert "MinJobAge=60 s < 3 x --init-seconds (40)" in capsys.readouterr().err
    assert install_main(["--init-seconds", "10", "--config-home", str(tmp_path / "b")]) == 0
    assert "MinJobAge" not in capsys.readouterr().err


def test_cli_as_users_type_it(tmp_path, no_sacct):
    from ncdss_core.cli import main as cli

    assert cli(["install-profile", "--partition", "debug", "--config-home", str(tmp_path)]) == 0
    assert installed(tmp_path)["default-resources"]["slurm_partition"] == "'debug'"


def test_cli_with_separator(tmp_path, no_sacct):
    from ncdss_core.cli import main as cli

    assert cli(["install-profile", "--", "--partition", "debug", "--config-home", str(tmp_path)]) == 0
    assert installed(tmp_path)["default-resources"]["slurm_partition"] == "'debug'"
