"""Builds the pinned Go tools of ``hack/<module>/`` into the user cache.

Each wrapper module pins one upstream release in its committed go.mod/go.sum. Its binaries land in
``<cache>/bin/<module>-<version>-<hash of go.mod, go.sum and flags>/``, so a changed pin or flag
builds anew while a fresh clone on a warm machine reuses what is there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ragline_dev import paths
from ragline_dev.progress import step


@dataclass(frozen=True)
class GoTool:
    """Binaries built from one wrapper module under ``hack/``."""

    module: str
    version: str
    packages: dict[str, str]
    ldflags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def module_dir(self) -> Path:
        """The wrapper module's folder."""
        return paths.HACK_DIR / self.module

    def _key(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            digest.update((self.module_dir / name).read_bytes())
        digest.update(" ".join(self.ldflags).encode())
        digest.update(" ".join(f"{k}={v}" for k, v in sorted(self.packages.items())).encode())
        return digest.hexdigest()[:10]

    def bin_dir(self) -> Path:
        """The cache folder these binaries live in."""
        override = os.environ.get(f"RAGLINE_{self.module.upper()}_BIN_DIR")
        if override:
            return Path(override)
        return paths.cache_dir() / "bin" / f"{self.module}-{self.version}-{self._key()}"

    def path(self, binary: str) -> Path:
        """The path of one built binary."""
        return self.bin_dir() / binary

    def installed(self) -> bool:
        """Tell whether every binary is already built."""
        return all(self.path(name).exists() for name in self.packages)

    def install(self) -> None:
        """Build the binaries unless the cache has them."""
        if self.installed():
            return
        if shutil.which("go") is None:
            raise RuntimeError("building the local control plane needs Go 1.26 on PATH")
        target = self.bin_dir()
        target.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CGO_ENABLED": "0",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=readonly",
        }
        for binary, package in self.packages.items():
            if self.path(binary).exists():
                continue
            with step(f"Building {binary} {self.version} (Go; the first build takes minutes)"):
                partial = target / f".{binary}.partial"
                subprocess.run(
                    [
                        "go",
                        "build",
                        "-trimpath",
                        "-ldflags",
                        " ".join(self.ldflags),
                        "-o",
                        str(partial),
                        package,
                    ],
                    cwd=self.module_dir,
                    env=env,
                    check=True,
                )
                partial.rename(self.path(binary))


K8S_VERSION = "v1.36.3"
K8S_BUILD_DATE = "2026-07-22T18:07:38Z"  # the release tag's time, as the Go module proxy reports it
_K8S_MAJOR, _K8S_MINOR = K8S_VERSION.lstrip("v").split(".")[:2]


def _k8s_version_ldflags() -> tuple[str, ...]:
    values = {
        "gitVersion": K8S_VERSION,
        "gitMajor": _K8S_MAJOR,
        "gitMinor": _K8S_MINOR,
        "gitTreeState": "clean",
        "buildDate": K8S_BUILD_DATE,
    }
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return ("-s", "-w", *flags)


CONTROL_PLANE = GoTool(
    module="controlplane",
    version=K8S_VERSION,
    packages={
        name: f"k8s.io/kubernetes/cmd/{name}"
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
    },
    ldflags=_k8s_version_ldflags(),
)

ETCD = GoTool(
    module="etcd",
    version="v3.6.16",
    packages={"etcd": "go.etcd.io/etcd/server/v3"},
    ldflags=("-s", "-w"),
)

KWOK = GoTool(
    module="kwok",
    version="v0.8.0",
    packages={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
    ldflags=("-s", "-w", "-X sigs.k8s.io/kwok/pkg/consts.Version=0.8.0"),
)

HELM = GoTool(
    module="helm",
    version="v3.21.4",
    packages={"helm": "helm.sh/helm/v3/cmd/helm"},
    ldflags=(
        "-s",
        "-w",
        "-X helm.sh/helm/v3/internal/version.version=v3.21.4",
        "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        # Without these, `helm template` and `helm lint` assume Kubernetes 1.20.
        f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor={_K8S_MAJOR}",
        f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor={_K8S_MINOR}",
        f"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor={_K8S_MAJOR}",
        f"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor={_K8S_MINOR}",
    ),
)

ALL_TOOLS = (ETCD, CONTROL_PLANE, KWOK, HELM)
