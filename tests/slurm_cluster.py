"""A real single-node Slurm on loopback for tests: munge, slurmctld, slurmd and fake GPUs.

Usage:
    with SlurmCluster(gpus=2) as cluster:   # raises SlurmUnavailable (-> skip) when it cannot
        ... sbatch / snakemake --profile slurm ...

What it does (the recipe for a single-node Slurm on loopback, as tested on Debian 12):
- installs the Debian packages if missing (needs root and apt-get);
- writes /etc/slurm/slurm.conf and gres.conf (only if absent or written by this module before);
- starts whichever of munged, slurmctld, slurmd is not already running, and waits for the node;
- on exit cancels the jobs it knows of (all jobs when it started slurmctld itself, else the jobs
  under the directories passed to `cancel_jobs_under`) and stops ONLY the daemons it started,
  by pid file, after checking /proc/<pid>/comm;
- then leaves the machine as it found it (`MachineState`): every file and directory it or the
  daemons wrote outside the test's own directories is restored from a copy taken before (or removed
  when it was absent), and the packages it installed are purged. A slurm.conf left behind would point
  at a controller that is gone, and the Slurm executor plugin, which runs `scontrol show config`
  when it is imported, would then make every later `snakemake` call wait for it.
If slurmctld and slurmd are already running (someone else's cluster), they are reused as they are
and nothing is restored.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
MARKER = "# written by ncdss tests/slurm_cluster.py"
ETC = Path("/etc/slurm")
STATE = Path("/var/lib/slurm")
LOGS = Path("/var/log/slurm")
FAKE_GPU_DIR = STATE / "fakegpu"
PARTITION = "debug"
LOCK = Path("/run/ncdss-slurm-test.lock")  # one test cluster per machine at a time
GPU_PARTITION = "gpu"  # the same node again, to test routing GPU jobs to a partition of their own


class SlurmUnavailable(Exception):
    """A local Slurm cannot be brought up here; the message says why (used as the skip reason)."""


@dataclass(frozen=True)
class Daemon:
    name: str  # /proc/<pid>/comm
    binary: str
    pid_file: Path


MUNGED = Daemon("munged", "/usr/sbin/munged", Path("/run/munge/munged.pid"))
SLURMCTLD = Daemon("slurmctld", "/usr/sbin/slurmctld", Path("/run/slurmctld.pid"))
SLURMD = Daemon("slurmd", "/usr/sbin/slurmd", Path("/run/slurmd.pid"))


def _run(args: list[str], timeout: float = 60, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def running_pid(daemon: Daemon) -> int | None:
    """The daemon's pid if its pid file names a live process with the right name."""
    try:
        pid = int(daemon.pid_file.read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm == daemon.name and _alive(pid) else None


def _alive(pid: int) -> bool:
    """A live process (a zombie that nobody reaped yet does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _wait(predicate, timeout: float, interval: float = 0.25) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ensure_installed(log=print) -> None:
    """apt-get install the minimal Slurm set when a binary is missing."""
    needed = [MUNGED.binary, SLURMCTLD.binary, SLURMD.binary, "/usr/bin/sbatch"]
    if all(os.access(b, os.X_OK) for b in needed):
        return
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable("Slurm is not installed and apt-get is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    log("installing " + " ".join(PACKAGES))
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        # a fresh image may have no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env, timeout=300)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SlurmUnavailable(f"apt-get install {' '.join(PACKAGES)} failed: {done.stderr.strip()[-500:]}")
    if not all(os.access(b, os.X_OK) for b in needed):
        raise SlurmUnavailable("apt-get install finished but the Slurm binaries are still missing")


# Everything a bring-up writes outside the test's directories: the package's and our config, the
# daemons' state, logs, pid files and the munge key, and the lock of this module.
WRITTEN_PATHS = (ETC, Path("/etc/munge"), STATE, LOGS, Path("/run/munge"), SLURMCTLD.pid_file,
                 SLURMD.pid_file)


def installed_packages() -> set[str]:
    """Debian packages installed now (empty where there is no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return set()
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"],
                          capture_output=True, text=True, timeout=60)
    return {line.split()[0] for line in done.stdout.splitlines() if line.endswith(" installed")}


class MachineState:
    """A copy of WRITTEN_PATHS and the package list, taken before a bring-up, put back after it."""

    def __init__(self, log=print):
        self.log = log
        self._backup = Path(tempfile.mkdtemp(prefix="ncdss-slurm-state-"))
        self.packages = installed_packages()
        self.existed: dict[Path, bool] = {}
        for index, path in enumerate(WRITTEN_PATHS):
            self.existed[path] = path.exists() or path.is_symlink()
            if self.existed[path]:
                copy = self._backup / str(index)
                if path.is_dir() and not path.is_symlink():
                    shutil.copytree(path, copy, symlinks=True)
                else:
                    shutil.copy2(path, copy, follow_symlinks=False)

    def restore(self) -> None:
        """Put every path back as it was, purge the packages installed since, and put the paths back
        once more (the package scripts may write some). The paths go first: slurmctld's removal
        script asks a controller for its jobs whenever a slurm.conf names one."""
        self._restore_paths()
        self._purge_new_packages()
        self._restore_paths()
        shutil.rmtree(self._backup, ignore_errors=True)

    def _purge_new_packages(self) -> None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # the package scripts remove the users `slurm` and `munge`, which fails while a process of
        # theirs (a daemon's last child) is still exiting
        _wait(lambda: _run(["pgrep", "-u", "slurm,munge"], check=False).returncode != 0, timeout=30)
        for attempt in range(3):
            new = sorted(installed_packages() - self.packages)
            if not new:
                break
            self.log("purging the packages installed for the test: " + " ".join(new))
            done = subprocess.run(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", *new],
                                  capture_output=True, text=True, env=env, timeout=600)
            if done.returncode != 0:
                self.log(f"apt-get purge failed ({done.returncode}): {done.stdout.strip()[-1500:]}\n"
                         f"{done.stderr.strip()[-500:]}")
                time.sleep(5)
        # triggers a failed run left pending (man-db's index) are run, so every package is installed again
        subprocess.run(["dpkg", "--configure", "--pending"], capture_output=True, text=True, env=env, timeout=600)

    def _restore_paths(self) -> None:
        for index, path in enumerate(WRITTEN_PATHS):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                path.unlink()
            if self.existed[path]:
                copy = self._backup / str(index)
                if copy.is_dir():
                    shutil.copytree(copy, path, symlinks=True)
                else:
                    shutil.copy2(copy, path, follow_symlinks=False)


def fingerprint() -> dict[str, object]:
    """What a bring-up and its tear-down must leave unchanged: the installed packages, and the tree
    (names, modes, sizes) of every path a bring-up writes."""
    return {"packages": sorted(installed_packages()),
            **{str(path): _tree(path) for path in (*WRITTEN_PATHS, LOCK)}}


def _tree(path: Path) -> object:
    """A comparable description of a file or directory tree (None when absent)."""
    if not (path.exists() or path.is_symlink()):
        return None
    if path.is_symlink() or not path.is_dir():
        st = path.lstat()
        return (st.st_mode, st.st_size)
    return {str(p.relative_to(path)): (p.lstat().st_mode, p.lstat().st_size if p.is_file() else 0)
            for p in sorted(path.rglob("*"))}


def _ours_or_absent(path: Path) -> bool:
    return not path.exists() or MARKER in path.read_text(errors="replace")


def slurm_conf(node: str, cpus: int, memory_mb: int, gpus: int) -> str:
    # SlurmdParameters=config_overrides: the node is what this file says, not what slurmd detects,
    # so rules that ask for more CPUs or memory than this small machine has are still scheduled
    # (task/none and proctrack/linuxproc enforce neither).
    lines = [
        MARKER,
        "ClusterName=ncdsstest",
        f"SlurmctldHost={node}(127.0.0.1)",
        "SlurmUser=slurm",
        "AuthType=auth/munge",
        "CryptoType=crypto/munge",
        f"StateSaveLocation={STATE}/slurmctld",
        f"SlurmdSpoolDir={STATE}/slurmd",
        f"SlurmctldPidFile={SLURMCTLD.pid_file}",
        f"SlurmdPidFile={SLURMD.pid_file}",
        f"SlurmctldLogFile={LOGS}/slurmctld.log",
        f"SlurmdLogFile={LOGS}/slurmd.log",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerParameters=sched_interval=2",
        "SlurmdParameters=config_overrides",
        "ReturnToService=2",
        # squeue shows finished jobs for MinJobAge seconds: the plugin's squeue polling and this
        # test's checks of recorded job ids both rely on it
        "MinJobAge=600",
        "MailProg=/bin/true",
        "DefMemPerCPU=512",
        "GresTypes=gpu",
        f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:{gpus} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName={GPU_PARTITION} Nodes=ALL MaxTime=INFINITE State=UP",
    ]
    return "\n".join(lines) + "\n"


def gres_conf(node: str, gpus: int) -> str:
    # Slurm only hands out GPUs backed by a device file; symlinks to /dev/null pass that check
    # and give jobs CUDA_VISIBLE_DEVICES as on a real GPU node.
    files = f"{FAKE_GPU_DIR}/gpu0" if gpus == 1 else f"{FAKE_GPU_DIR}/gpu[0-{gpus - 1}]"
    return f"{MARKER}\nAutoDetect=off\nNodeName={node} Name=gpu File={files}\n"


@dataclass
class SlurmCluster:
    gpus: int = 2
    cpus: int = 16
    memory_mb: int = 256000
    log: object = print
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    started: list[Daemon] = field(default_factory=list)
    owns_controller: bool = False
    partition: str = PARTITION  # the default partition
    partitions: list[str] = field(default_factory=list)
    _cancel_dirs: list[Path] = field(default_factory=list)
    machine: MachineState | None = None  # what to put back on exit (None: someone else's cluster)

    # -- bring-up ---------------------------------------------------------------------------
    def __enter__(self) -> "SlurmCluster":
        if os.name != "posix" or not Path("/proc").is_dir():
            raise SlurmUnavailable("needs Linux")
        if os.geteuid() != 0:
            raise SlurmUnavailable("needs root (to install Slurm and start munged/slurmctld/slurmd)")
        # a second test run on the same machine would reuse, then lose, this run's daemons
        self._lock_existed = LOCK.exists()
        self._lock = open(LOCK, "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock_existed = True  # the other run's lock file, not ours to remove
            raise SlurmUnavailable(f"another Slurm test is running on this machine (holds {LOCK})")
        try:
            self._start()
        except SlurmUnavailable:
            self._leave()
            raise
        except Exception as error:
            diagnostics = self.diagnostics()
            self._leave()
            raise RuntimeError(f"local Slurm did not come up: {error}\n{diagnostics}") from error
        return self

    def _start(self) -> None:
        controller_up = running_pid(SLURMCTLD) is not None
        node_up = running_pid(SLURMD) is not None
        if controller_up and node_up:
            self.log("reusing the running Slurm daemons (they will be left running)")
            self._use_existing()
            return
        self.machine = MachineState(self.log)
        ensure_installed(self.log)
        conf, gres = ETC / "slurm.conf", ETC / "gres.conf"
        if not controller_up and not (_ours_or_absent(conf) and _ours_or_absent(gres)):
            raise SlurmUnavailable(f"{conf} exists and was not written by this test; not touching it")
        if not controller_up:
            ETC.mkdir(parents=True, exist_ok=True)
            FAKE_GPU_DIR.mkdir(parents=True, exist_ok=True)
            for i in range(self.gpus):
                link = FAKE_GPU_DIR / f"gpu{i}"
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to("/dev/null")
            conf.write_text(slurm_conf(self.node, self.cpus, self.memory_mb, self.gpus))
            gres.write_text(gres_conf(self.node, self.gpus))
            # old node state (say an INVAL node from another gres count) must not carry over
            for sub in ("slurmctld", "slurmd"):
                shutil.rmtree(STATE / sub, ignore_errors=True)
        for path in (STATE / "slurmctld", STATE / "slurmd", LOGS):
            path.mkdir(parents=True, exist_ok=True)
            shutil.chown(path, "slurm", "slurm")
        self._start_munge()
        if not controller_up:
            self._start_daemon(SLURMCTLD, [SLURMCTLD.binary])
            self.owns_controller = True
        if not node_up:
            self._start_daemon(SLURMD, [SLURMD.binary])
        if not _wait(self._node_ready, timeout=60):
            raise RuntimeError(f"node {self.node} did not become idle within 60 s")
        self._use_existing()

    def _start_munge(self) -> None:
        if running_pid(MUNGED) is not None:
            return
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            _run(["mungekey", "--create", f"--keyfile={key}"])
            shutil.chown(key, "munge", "munge")
            key.chmod(0o600)
        run_dir = MUNGED.pid_file.parent
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        self._start_daemon(MUNGED, ["runuser", "-u", "munge", "--", MUNGED.binary])
        if not _wait(lambda: _run(["sh", "-c", "munge -n | unmunge"], check=False).returncode == 0, 10):
            raise RuntimeError("munge does not answer (munge -n | unmunge)")

    def _start_daemon(self, daemon: Daemon, command: list[str]) -> None:
        daemon.pid_file.unlink(missing_ok=True)
        _run(command, timeout=60)  # each daemonises and writes its pid file
        if not _wait(lambda: running_pid(daemon) is not None, timeout=20):
            raise RuntimeError(f"{daemon.name} did not start (no live pid in {daemon.pid_file})")
        self.started.append(daemon)
        self.log(f"started {daemon.name} (pid {running_pid(daemon)})")

    def _node_ready(self) -> bool:
        done = _run(["sinfo", "-h", "-N", "-o", "%N %T"], check=False, timeout=20)
        states = dict(line.split()[:2] for line in done.stdout.splitlines() if len(line.split()) >= 2)
        return states.get(self.node, "").rstrip("*") in {"idle", "mixed", "allocated"}

    def _use_existing(self) -> None:
        if not _wait(self._node_ready, timeout=30):
            raise SlurmUnavailable(f"the running Slurm has no usable node {self.node}")
        done = _run(["sinfo", "-h", "-o", "%P"], timeout=20)
        partitions = [p.strip() for p in done.stdout.split()]
        default = [p.rstrip("*") for p in partitions if p.endswith("*")]
        self.partitions = [p.rstrip("*") for p in partitions]
        self.partition = default[0] if default else self.partitions[0]

    # -- queries ----------------------------------------------------------------------------
    def gpu_count(self) -> int:
        done = _run(["sinfo", "-h", "-n", self.node, "-o", "%G"], timeout=20)
        for item in done.stdout.strip().split(","):
            parts = item.split("(")[0].split(":")
            if parts[0] == "gpu" and parts[-1].isdigit():
                return int(parts[-1])
        return 0

    def jobs(self) -> dict[str, dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge s):
        id -> state, partition, comment, workdir."""
        done = _run(["squeue", "--states=all", "-h", "-o", "%i|%T|%P|%k|%Z"], timeout=30)
        out = {}
        for line in done.stdout.splitlines():
            job_id, state, partition, comment, workdir = (line.split("|", 4) + [""] * 4)[:5]
            out[job_id.strip()] = {"state": state, "partition": partition, "comment": comment,
                                   "workdir": workdir, "gpus": 0}
        # GPUs asked for (--gpus=N shows as tres-per-job gres:gpu:N)
        done = _run(["squeue", "--states=all", "-h", "-O", "JobID:30,tres-per-job:200"], timeout=30)
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in out:
                for item in parts[1].split(","):
                    fields = item.split(":")
                    if "gpu" in fields and fields[-1].isdigit():
                        out[parts[0]]["gpus"] = int(fields[-1])
        return out

    def diagnostics(self) -> str:
        parts = []
        for command in (["sinfo", "-N", "-l"], ["scontrol", "show", "node"], ["squeue", "--states=all"]):
            try:
                done = _run(command, check=False, timeout=10)
                parts.append(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
            except Exception as error:  # diagnostics must never raise
                parts.append(f"$ {' '.join(command)}: {error}")
        for name in ("slurmctld.log", "slurmd.log"):
            try:
                tail = (LOGS / name).read_text(errors="replace").splitlines()[-25:]
                parts.append(f"--- {LOGS / name} (tail)\n" + "\n".join(tail))
            except OSError:
                pass
        return "\n".join(parts)

    # -- tear-down --------------------------------------------------------------------------
    def cancel_jobs_under(self, directory: Path) -> None:
        """On exit, cancel jobs whose working directory is under `directory` (ours on a shared Slurm)."""
        self._cancel_dirs.append(Path(directory).resolve())

    def cancel_leftovers(self) -> None:
        try:
            jobs = self.jobs()
        except Exception:
            return
        active = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}
        mine = [
            job_id for job_id, job in jobs.items()
            if job["state"] in active and (
                self.owns_controller
                or any(Path(job["workdir"]).is_relative_to(d) for d in self._cancel_dirs if job["workdir"])
            )
        ]
        if not mine:
            return
        self.log(f"cancelling leftover jobs {' '.join(mine)}")
        _run(["scancel", *mine], check=False, timeout=30)
        _wait(lambda: not any(self.jobs().get(j, {}).get("state") in active for j in mine), timeout=30, interval=1)

    def __exit__(self, *exc) -> None:
        try:
            self.cancel_leftovers()
        finally:
            self._leave()

    def _leave(self) -> None:
        """Stop what we started, put back what we wrote, release the lock."""
        try:
            self._stop_started()
        finally:
            try:
                if self.machine is not None:
                    self.machine.restore()
            finally:
                if not self._lock_existed:
                    LOCK.unlink(missing_ok=True)
                self._lock.close()

    def _stop_started(self) -> None:
        # slurmd first (it must not be left without a controller), munged last
        for daemon in sorted(self.started, key=[SLURMD, SLURMCTLD, MUNGED].index):
            pid = running_pid(daemon)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            if not _wait(lambda: not _alive(pid), timeout=10):
                if running_pid(daemon) == pid:
                    os.kill(pid, signal.SIGKILL)
                    _wait(lambda: not _alive(pid), timeout=5)
            self.log(f"stopped {daemon.name} (pid {pid})")
        self.started.clear()
