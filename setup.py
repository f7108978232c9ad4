"""Build hook: the wheel carries cloud-init/ (kept at the top level of the source tree) as the package
data directory kojistack/_cloud_init/, so an installed kojistack generates without a source checkout.
Everything else about the package is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "cloud-init"
PACKAGED = Path("kojistack") / "_cloud_init"  # kojistack/template/payload.py looks here first


class BuildPyWithCloudInit(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        # copy2 keeps the executable bits: the payload's file modes come from them
        shutil.copytree(SOURCE, target, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))


setup(cmdclass={"build_py": BuildPyWithCloudInit})
