"""The Dockerfile's image can build and run what this build builds, checked without a daemon: its
build stage installs the package of every pkg-config module the CMake build asks for, and its
runtime stage installs (or pulls in as dependencies) the package of every shared library the three
binaries link. A library added to the build and forgotten in the image fails here, not at
`docker build` or at the container's first start.
    python3 tests/stack/image_test.py <build dir>"""
import os
import re
import subprocess
import sys
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build")
BINARIES = ["limiter/limiter", "gateway/gateway", "analytics-worker/analytics-worker"]
# In every Debian image already (Priority: required / essential): never listed.
BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libselinux1",
        "libpcre2-8-0", "libsystemd0", "libcap2", "libgcrypt20", "libgpg-error0", "liblz4-1",
        "libcrypt1", "libudev1", "libtinfo6", "libacl1", "libattr1", "libbz2-1.0"}


def stages():
    """The packages each stage of the Dockerfile installs with apt-get, in order."""
    text = open(os.path.join(REPO, "Dockerfile")).read().replace("\\\n", " ")
    found = []
    for stage in re.split(r"^FROM ", text, flags=re.M)[1:]:
        packages = set()
        for run in re.findall(r"apt-get install ([^&\n]*)", stage):
            packages |= {w for w in run.split() if not w.startswith("-")}
        found.append(packages)
    return found


def closure(packages):
    """The packages and everything they depend on, recursively (apt-cache)."""
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                          *sorted(packages)], capture_output=True, text=True, check=True).stdout
    names = set(packages)
    for line in out.splitlines():
        m = re.match(r"\s+(?:\|)?(?:Pre)?Depends: <?([^>\s]+)>?", line)
        if m:
            names.add(m.group(1).split(":")[0])
        elif line and not line.startswith(" "):
            names.add(line.strip().split(":")[0])
    return names


def package_of(path):
    p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:  # a library reached through a symlinked directory (/lib -> /usr/lib)
        p = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
    if p.returncode != 0:
        alternative = path.replace("/usr/lib/", "/lib/", 1) if path.startswith("/usr/lib/") else \
            path.replace("/lib/", "/usr/lib/", 1)
        p = subprocess.run(["dpkg", "-S", alternative], capture_output=True, text=True)
    return p.stdout.split(":")[0] if p.returncode == 0 else None


class ImageTest(unittest.TestCase):
    def test_the_build_stage_has_every_pkg_config_module_the_build_asks_for(self):
        build_stage = closure(stages()[0])
        modules = set()
        for root, _, files in os.walk(REPO):
            if any(part in root for part in ("/build", "/.cache", "node_modules", "/.git")):
                continue
            for name in files:
                if name == "CMakeLists.txt" or name.endswith(".cmake"):
                    text = open(os.path.join(root, name)).read()
                    for call in re.findall(r"pkg_check_modules\(([^)]*)\)", text):
                        words = call.split()
                        modules |= {w for w in words[1:] if w not in
                                    ("REQUIRED", "IMPORTED_TARGET", "QUIET", "GLOBAL")}
        self.assertTrue(modules)
        missing = {}
        for module in sorted(modules):
            pc = subprocess.run(["pkg-config", "--variable=pcfiledir", module],
                                capture_output=True, text=True).stdout.strip()
            package = package_of(os.path.join(pc, module + ".pc")) if pc else None
            if package is None or package not in build_stage:
                missing[module] = package
        self.assertEqual(missing, {}, "pkg-config modules whose -dev package the build stage "
                                      "does not install")

    def test_the_runtime_stage_has_every_library_the_binaries_link(self):
        runtime = closure(stages()[-1]) | BASE
        missing = {}
        for binary in BINARIES:
            path = os.path.join(BUILD, binary)
            self.assertTrue(os.path.exists(path), path + " is not built")
            ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
            for lib in re.findall(r"=> (/\S+)", ldd):
                package = package_of(lib)
                if package is not None and package not in runtime:
                    missing.setdefault(package, set()).add(os.path.basename(lib))
        self.assertEqual(missing, {}, "libraries the binaries link whose package the image "
                                      "does not install")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
